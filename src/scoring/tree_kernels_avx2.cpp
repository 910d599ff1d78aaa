// The perfect-tree batch kernel for AVX2: 8 rows per vector, a block of 16 rows as two vectors.
// This file is compiled with -mavx2 (CMakeLists.txt) and only runs where tree_compile.cpp found
// the CPU has AVX2.
#include "scoring/tree_kernels.hpp"

#if defined(__AVX2__)
#include <immintrin.h>

#include "scoring/tree_kernel_body.hpp"

namespace funnel::scoring::detail {

namespace avx2 {

// Gathers use the masked form with an explicit zero pass-through (GCC 12 warns about the
// undefined pass-through register of the unmasked ones).
struct ops {
  static constexpr const char* name = "avx2-perfect-trees";
  static constexpr std::uint8_t level = 1;  // simd_avx2
  static constexpr std::size_t width = 8;
  using vf = __m256;
  using vi = __m256i;

  static vi zero_i() noexcept { return _mm256_setzero_si256(); }
  static vi set1_i(int k) noexcept { return _mm256_set1_epi32(k); }
  static vi add_i(vi a, vi b) noexcept { return _mm256_add_epi32(a, b); }
  static vi and_i(vi a, vi b) noexcept { return _mm256_and_si256(a, b); }
  static vi lane_offsets(std::size_t stride) noexcept {
    const __m256i lanes = _mm256_set_epi32(7, 6, 5, 4, 3, 2, 1, 0);
    return _mm256_mullo_epi32(lanes, _mm256_set1_epi32(static_cast<int>(stride)));
  }
  static vf gather_ps(const float* base, vi idx) noexcept {
    const __m256 all = _mm256_castsi256_ps(_mm256_set1_epi32(-1));
    return _mm256_mask_i32gather_ps(_mm256_setzero_ps(), base, idx, all, 4);
  }
  // <= 8 values: one permute; 16: two permutes and a blend on j >= 8; more: a gather.
  static vf pick_ps(const float* v, std::size_t n, vi j) noexcept {
    if (n <= 8) return _mm256_permutevar8x32_ps(_mm256_loadu_ps(v), j);
    if (n == 16) {
      const __m256 lo = _mm256_permutevar8x32_ps(_mm256_loadu_ps(v), j);
      const __m256 hi = _mm256_permutevar8x32_ps(_mm256_loadu_ps(v + 8), j);
      const __m256i upper = _mm256_cmpgt_epi32(j, _mm256_set1_epi32(7));
      return _mm256_blendv_ps(lo, hi, _mm256_castsi256_ps(upper));
    }
    return gather_ps(v, j);
  }
  static vi pick_u32(const std::uint32_t* v, std::size_t n, vi j) noexcept {
    const auto* p = reinterpret_cast<const __m256i*>(v);
    if (n <= 8) return _mm256_permutevar8x32_epi32(_mm256_loadu_si256(p), j);
    if (n == 16) {
      const __m256i lo = _mm256_permutevar8x32_epi32(_mm256_loadu_si256(p), j);
      const __m256i hi = _mm256_permutevar8x32_epi32(_mm256_loadu_si256(p + 1), j);
      const __m256i upper = _mm256_cmpgt_epi32(j, _mm256_set1_epi32(7));
      return _mm256_blendv_epi8(lo, hi, upper);
    }
    return _mm256_mask_i32gather_epi32(_mm256_setzero_si256(), reinterpret_cast<const int*>(v), j,
                                       _mm256_set1_epi32(-1), 4);
  }
  static vi descend(vi j, vf x, vf t, vi f) noexcept {
    const __m256 lt = _mm256_cmp_ps(x, t, _CMP_LT_OQ);
    const __m256 nan = _mm256_cmp_ps(x, x, _CMP_UNORD_Q);
    // kernel_default_left is the sign bit: an arithmetic shift spreads it over the lane.
    static_assert(kernel_default_left == 1U << 31);
    const __m256 dl = _mm256_castsi256_ps(_mm256_srai_epi32(f, 31));
    const __m256i left = _mm256_castps_si256(_mm256_or_ps(lt, _mm256_and_ps(nan, dl)));
    // 2j + 1 for right, 2j for left (left lanes are -1).
    return _mm256_add_epi32(_mm256_add_epi32(j, j), _mm256_add_epi32(_mm256_set1_epi32(1), left));
  }
  static vf load_ps(const float* p) noexcept { return _mm256_loadu_ps(p); }
  static void store_ps(float* p, vf v) noexcept { _mm256_storeu_ps(p, v); }
  static vf add_ps(vf a, vf b) noexcept { return _mm256_add_ps(a, b); }
  static void store_i(std::uint32_t* p, vi v) noexcept {
    _mm256_store_si256(reinterpret_cast<__m256i*>(p), v);
  }
};

}  // namespace avx2

const perfect_kernel* perfect_kernel_avx2() noexcept {
  return &perfect_kernel_of<avx2::ops>;
}

}  // namespace funnel::scoring::detail

#else

namespace funnel::scoring::detail {
const perfect_kernel* perfect_kernel_avx2() noexcept {
  return nullptr;
}
}  // namespace funnel::scoring::detail

#endif
