// The float kernels for AVX2 + FMA: 8 floats per step. This file is compiled with -mavx2 -mfma
// (CMakeLists.txt) and its kernels only run where float_kernels.cpp found the CPU has both.
#include "retrieval/float_kernels.hpp"

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>

#include "retrieval/float_kernel_body.hpp"

namespace funnel::retrieval::detail {

namespace avx2 {

struct float_ops {
  static constexpr const char* name = "avx2";
  using vf = __m256;
  static constexpr std::size_t width = 8;

  static vf zero() noexcept { return _mm256_setzero_ps(); }
  static vf load(const float* p) noexcept { return _mm256_loadu_ps(p); }
  static vf load_tail(const float* p, std::size_t count) noexcept {
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(count)), lane);
    return _mm256_maskload_ps(p, mask);
  }
  static vf sub(vf a, vf b) noexcept { return _mm256_sub_ps(a, b); }
  static vf add(vf a, vf b) noexcept { return _mm256_add_ps(a, b); }
  static vf fmadd(vf a, vf b, vf c) noexcept { return _mm256_fmadd_ps(a, b, c); }
  static float hsum(vf v) noexcept {
    const __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    const __m128 t = _mm_add_ps(s, _mm_movehl_ps(s, s));
    return _mm_cvtss_f32(_mm_add_ss(t, _mm_movehdup_ps(t)));
  }
};

}  // namespace avx2

const float_kernel* float_kernel_avx2() noexcept {
  return &float_kernel_of<avx2::float_ops>;
}

}  // namespace funnel::retrieval::detail

#else

namespace funnel::retrieval::detail {
const float_kernel* float_kernel_avx2() noexcept {
  return nullptr;
}
}  // namespace funnel::retrieval::detail

#endif
