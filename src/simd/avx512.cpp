// The kernels for AVX-512 (F and BW): every module's kernel body instantiated with this instruction
// set's vector operations. This file is compiled with -mavx512f -mavx512bw -ffp-contract=off
// (CMakeLists.txt), and its kernels only run where isa_available() found the CPU has the set
// (simd/isa.hpp).
#include "simd/isa.hpp"

#if defined(__AVX512F__) && defined(__AVX512BW__)
#include <immintrin.h>

#include "retrieval/float_kernel_body.hpp"
#include "retrieval/sq8_kernel_body.hpp"
#include "scoring/tree_kernel_body.hpp"

namespace funnel::detail {

namespace avx512 {

struct ops {
  static constexpr const char* sq8_name = "avx512bw";
  static constexpr const char* trees_name = "avx512-perfect-trees";
  static constexpr const char* float_name = "avx512";
  static constexpr std::uint8_t level = 2;  // scoring::detail::simd_avx512
  static constexpr std::size_t width = 16;
  static constexpr __mmask16 all = 0xFFFF;
  using vf = __m512;
  using vi = __m512i;

  static vi zero_i() noexcept { return _mm512_setzero_si512(); }
  static vi set1_i(int k) noexcept { return _mm512_set1_epi32(k); }
  static vi add_i(vi a, vi b) noexcept { return _mm512_add_epi32(a, b); }
  static vi and_i(vi a, vi b) noexcept { return _mm512_and_si512(a, b); }
  static vi lane_offsets(std::size_t stride) noexcept {
    const __m512i lanes = _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
    return _mm512_mullo_epi32(lanes, _mm512_set1_epi32(static_cast<int>(stride)));
  }
  static vf gather_ps(const float* base, vi idx) noexcept {
    return _mm512_mask_i32gather_ps(_mm512_setzero_ps(), all, idx, base, 4);
  }
  // <= 16 values: one permute; 32: a two-register permute; more: a gather.
  static vf pick_ps(const float* v, std::size_t n, vi j) noexcept {
    if (n <= 16) return _mm512_maskz_permutexvar_ps(all, j, _mm512_loadu_ps(v));
    if (n == 32) return _mm512_permutex2var_ps(_mm512_loadu_ps(v), j, _mm512_loadu_ps(v + 16));
    return gather_ps(v, j);
  }
  static vi pick_u32(const std::uint32_t* v, std::size_t n, vi j) noexcept {
    if (n <= 16) return _mm512_maskz_permutexvar_epi32(all, j, _mm512_loadu_si512(v));
    if (n == 32) {
      return _mm512_permutex2var_epi32(_mm512_loadu_si512(v), j, _mm512_loadu_si512(v + 16));
    }
    return _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), all, j, v, 4);
  }
  static vi descend(vi j, vf x, vf t, vi f) noexcept {
    const __mmask16 lt = _mm512_cmp_ps_mask(x, t, _CMP_LT_OQ);
    const __mmask16 nan = _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q);
    const __mmask16 dl = _mm512_test_epi32_mask(
        f, _mm512_set1_epi32(static_cast<int>(scoring::detail::kernel_default_left)));
    const auto right = static_cast<__mmask16>(~(lt | (nan & dl)));
    j = _mm512_add_epi32(j, j);
    return _mm512_mask_add_epi32(j, right, j, _mm512_set1_epi32(1));
  }
  static vf load_ps(const float* p) noexcept { return _mm512_loadu_ps(p); }
  static void store_ps(float* p, vf v) noexcept { _mm512_storeu_ps(p, v); }
  static vf add_ps(vf a, vf b) noexcept { return _mm512_add_ps(a, b); }
  static void store_i(std::uint32_t* p, vi v) noexcept { _mm512_store_si512(p, v); }
  // 8-bit codes: `half` bytes are widened to 16-bit words per load.
  static constexpr std::size_t half = 32;

  static vi widen(const std::uint8_t* p) noexcept {
    return _mm512_cvtepu8_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
  }
  static vi sub16(vi a, vi b) noexcept { return _mm512_sub_epi16(a, b); }
  static vi madd16(vi a, vi b) noexcept { return _mm512_madd_epi16(a, b); }
  // Through memory: GCC 12's 512-bit extracts and reductions pass an undefined register that
  // trips -Wmaybe-uninitialized.
  static std::uint32_t hsum(vi v) noexcept {
    alignas(64) std::uint32_t lanes[16];
    _mm512_store_si512(lanes, v);
    std::uint32_t sum = 0;
    for (const std::uint32_t lane : lanes) sum += lane;
    return sum;
  }
  // float distances
  static vf zero_ps() noexcept { return _mm512_setzero_ps(); }
  static vf load_tail_ps(const float* p, std::size_t count) noexcept {
    const auto mask = static_cast<__mmask16>((1U << count) - 1U);
    return _mm512_maskz_loadu_ps(mask, p);
  }
  static vf sub_ps(vf a, vf b) noexcept { return _mm512_sub_ps(a, b); }
  static vf fmadd_ps(vf a, vf b, vf c) noexcept { return _mm512_fmadd_ps(a, b, c); }
  // Through memory (GCC 12's 512-bit extracts and reductions pass an undefined register that
  // trips -Wmaybe-uninitialized), halving as a tree rather than 15 dependent adds.
  static float hsum_ps(vf v) noexcept {
    alignas(64) float lanes[16];
    _mm512_store_ps(lanes, v);
    for (std::size_t half = 8; half > 0; half /= 2) {
      for (std::size_t i = 0; i < half; ++i) lanes[i] += lanes[i + half];
    }
    return lanes[0];
  }
};

constexpr isa_kernels table{"avx512", &retrieval::detail::sq8_kernel_of<ops>,
                            &scoring::detail::perfect_kernel_of<ops>,
                            &retrieval::detail::float_kernel_of<ops>};

}  // namespace avx512

const isa_kernels* isa_avx512() noexcept {
  return &avx512::table;
}

}  // namespace funnel::detail

#else

namespace funnel::detail {
const isa_kernels* isa_avx512() noexcept {
  return nullptr;
}
}  // namespace funnel::detail

#endif
