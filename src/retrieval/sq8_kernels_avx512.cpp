// The code kernels for AVX-512BW: 64 codes per step. This file is compiled with -mavx512f
// -mavx512bw (CMakeLists.txt) and its kernels only run where sq8.cpp found the CPU has AVX-512BW.
#include "retrieval/sq8_kernels.hpp"

#if defined(__AVX512F__) && defined(__AVX512BW__)
#include <immintrin.h>

#include "retrieval/sq8_kernel_body.hpp"

namespace funnel::retrieval::detail {

namespace avx512 {

struct ops {
  static constexpr const char* name = "avx512bw";
  using vi = __m512i;
  static constexpr std::size_t half = 32;

  static vi zero() noexcept { return _mm512_setzero_si512(); }
  static vi widen(const std::uint8_t* p) noexcept {
    return _mm512_cvtepu8_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
  }
  static vi sub16(vi a, vi b) noexcept { return _mm512_sub_epi16(a, b); }
  static vi madd16(vi a, vi b) noexcept { return _mm512_madd_epi16(a, b); }
  static vi add32(vi a, vi b) noexcept { return _mm512_add_epi32(a, b); }
  // Through memory: GCC 12's 512-bit extracts and reductions pass an undefined register that
  // trips -Wmaybe-uninitialized.
  static std::uint32_t hsum(vi v) noexcept {
    alignas(64) std::uint32_t lanes[16];
    _mm512_store_si512(lanes, v);
    std::uint32_t sum = 0;
    for (const std::uint32_t lane : lanes) sum += lane;
    return sum;
  }
};

}  // namespace avx512

const sq8_kernel* sq8_kernel_avx512() noexcept {
  return &sq8_kernel_of<avx512::ops>;
}

}  // namespace funnel::retrieval::detail

#else

namespace funnel::retrieval::detail {
const sq8_kernel* sq8_kernel_avx512() noexcept {
  return nullptr;
}
}  // namespace funnel::retrieval::detail

#endif
