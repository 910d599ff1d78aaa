// The kernels for AVX2 (with FMA): every module's kernel body instantiated with this instruction
// set's vector operations. This file is compiled with -mavx2 -mfma -ffp-contract=off
// (CMakeLists.txt), and its kernels only run where isa_available() found the CPU has the set
// (simd/isa.hpp).
#include "simd/isa.hpp"

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>

#include "retrieval/float_kernel_body.hpp"
#include "retrieval/sq8_kernel_body.hpp"
#include "scoring/tree_kernel_body.hpp"

namespace funnel::detail {

namespace avx2 {

struct ops {
  static constexpr const char* sq8_name = "avx2";
  static constexpr const char* trees_name = "avx2-perfect-trees";
  static constexpr const char* float_name = "avx2";
  static constexpr std::uint8_t level = 1;  // scoring::detail::simd_avx2
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
    // scoring::detail::kernel_default_left is the sign bit: an arithmetic shift spreads it over the
    // lane.
    static_assert(scoring::detail::kernel_default_left == 1U << 31);
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
  // 8-bit codes: `half` bytes are widened to 16-bit words per load.
  static constexpr std::size_t half = 16;

  static vi widen(const std::uint8_t* p) noexcept {
    return _mm256_cvtepu8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  }
  static vi sub16(vi a, vi b) noexcept { return _mm256_sub_epi16(a, b); }
  static vi madd16(vi a, vi b) noexcept { return _mm256_madd_epi16(a, b); }
  static std::uint32_t hsum(vi v) noexcept {
    const __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    const __m128i t = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
    const __m128i u = _mm_add_epi32(t, _mm_shuffle_epi32(t, 0xB1));
    return static_cast<std::uint32_t>(_mm_cvtsi128_si32(u));
  }
  // float distances
  static vf zero_ps() noexcept { return _mm256_setzero_ps(); }
  static vf load_tail_ps(const float* p, std::size_t count) noexcept {
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(count)), lane);
    return _mm256_maskload_ps(p, mask);
  }
  static vf sub_ps(vf a, vf b) noexcept { return _mm256_sub_ps(a, b); }
  static vf fmadd_ps(vf a, vf b, vf c) noexcept { return _mm256_fmadd_ps(a, b, c); }
  static float hsum_ps(vf v) noexcept {
    const __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    const __m128 t = _mm_add_ps(s, _mm_movehl_ps(s, s));
    return _mm_cvtss_f32(_mm_add_ss(t, _mm_movehdup_ps(t)));
  }
};

constexpr isa_kernels table{"avx2", &retrieval::detail::sq8_kernel_of<ops>,
                            &scoring::detail::perfect_kernel_of<ops>,
                            &retrieval::detail::float_kernel_of<ops>};

}  // namespace avx2

const isa_kernels* isa_avx2() noexcept {
  return &avx2::table;
}

}  // namespace funnel::detail

#else

namespace funnel::detail {
const isa_kernels* isa_avx2() noexcept {
  return nullptr;
}
}  // namespace funnel::detail

#endif
