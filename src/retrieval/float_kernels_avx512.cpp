// The float kernels for AVX-512F: 16 floats per step, the tail in one masked load. This file is
// compiled with -mavx512f (CMakeLists.txt) and its kernels only run where float_kernels.cpp found
// the CPU has AVX-512F.
#include "retrieval/float_kernels.hpp"

#if defined(__AVX512F__)
#include <immintrin.h>

#include "retrieval/float_kernel_body.hpp"

namespace funnel::retrieval::detail {

namespace avx512 {

struct float_ops {
  static constexpr const char* name = "avx512";
  using vf = __m512;
  static constexpr std::size_t width = 16;

  static vf zero() noexcept { return _mm512_setzero_ps(); }
  static vf load(const float* p) noexcept { return _mm512_loadu_ps(p); }
  static vf load_tail(const float* p, std::size_t count) noexcept {
    const auto mask = static_cast<__mmask16>((1U << count) - 1U);
    return _mm512_maskz_loadu_ps(mask, p);
  }
  static vf sub(vf a, vf b) noexcept { return _mm512_sub_ps(a, b); }
  static vf add(vf a, vf b) noexcept { return _mm512_add_ps(a, b); }
  static vf fmadd(vf a, vf b, vf c) noexcept { return _mm512_fmadd_ps(a, b, c); }
  // Through memory (GCC 12's 512-bit extracts and reductions pass an undefined register that
  // trips -Wmaybe-uninitialized), halving as a tree rather than 15 dependent adds.
  static float hsum(vf v) noexcept {
    alignas(64) float lanes[16];
    _mm512_store_ps(lanes, v);
    for (std::size_t half = 8; half > 0; half /= 2) {
      for (std::size_t i = 0; i < half; ++i) lanes[i] += lanes[i + half];
    }
    return lanes[0];
  }
};

}  // namespace avx512

const float_kernel* float_kernel_avx512() noexcept {
  return &float_kernel_of<avx512::float_ops>;
}

}  // namespace funnel::retrieval::detail

#else

namespace funnel::retrieval::detail {
const float_kernel* float_kernel_avx512() noexcept {
  return nullptr;
}
}  // namespace funnel::retrieval::detail

#endif
