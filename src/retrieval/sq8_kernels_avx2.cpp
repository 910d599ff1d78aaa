// The code kernels for AVX2: 32 codes per step. This file is compiled with -mavx2 (CMakeLists.txt)
// and its kernels only run where sq8.cpp found the CPU has AVX2.
#include "retrieval/sq8_kernels.hpp"

#if defined(__AVX2__)
#include <immintrin.h>

#include "retrieval/sq8_kernel_body.hpp"

namespace funnel::retrieval::detail {

namespace avx2 {

struct ops {
  static constexpr const char* name = "avx2";
  using vi = __m256i;
  static constexpr std::size_t half = 16;

  static vi zero() noexcept { return _mm256_setzero_si256(); }
  static vi widen(const std::uint8_t* p) noexcept {
    return _mm256_cvtepu8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  }
  static vi sub16(vi a, vi b) noexcept { return _mm256_sub_epi16(a, b); }
  static vi madd16(vi a, vi b) noexcept { return _mm256_madd_epi16(a, b); }
  static vi add32(vi a, vi b) noexcept { return _mm256_add_epi32(a, b); }
  static std::uint32_t hsum(vi v) noexcept {
    const __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    const __m128i t = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
    const __m128i u = _mm_add_epi32(t, _mm_shuffle_epi32(t, 0xB1));
    return static_cast<std::uint32_t>(_mm_cvtsi128_si32(u));
  }
};

}  // namespace avx2

const sq8_kernel* sq8_kernel_avx2() noexcept {
  return &sq8_kernel_of<avx2::ops>;
}

}  // namespace funnel::retrieval::detail

#else

namespace funnel::retrieval::detail {
const sq8_kernel* sq8_kernel_avx2() noexcept {
  return nullptr;
}
}  // namespace funnel::retrieval::detail

#endif
