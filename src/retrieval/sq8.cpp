#include "retrieval/sq8.hpp"

#include <funnel/core/error.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>
#include <cstring>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define FUNNEL_SQ8_X86 1
#else
#define FUNNEL_SQ8_X86 0
#endif

namespace funnel::retrieval::detail {

namespace {

// The kernels sum in 32-bit lanes and fold into 64 bits after every block: a lane gains at most
// 2 * 255^2 per step, so a block of 16,384 bytes keeps even the sum of all lanes below 2^31.
constexpr std::size_t block_bytes = 16384;

std::uint64_t l2_portable(const std::uint8_t* a, const std::uint8_t* b,
                          std::size_t bytes) noexcept {
  std::uint64_t total = 0;
  for (std::size_t begin = 0; begin < bytes; begin += block_bytes) {
    const std::size_t end = std::min(bytes, begin + block_bytes);
    std::uint32_t sum = 0;
    for (std::size_t i = begin; i < end; ++i) {
      const int d = static_cast<int>(a[i]) - static_cast<int>(b[i]);
      sum += static_cast<std::uint32_t>(d * d);
    }
    total += sum;
  }
  return total;
}

std::uint64_t dot_portable(const std::uint8_t* a, const std::uint8_t* b,
                           std::size_t bytes) noexcept {
  std::uint64_t total = 0;
  for (std::size_t begin = 0; begin < bytes; begin += block_bytes) {
    const std::size_t end = std::min(bytes, begin + block_bytes);
    std::uint32_t sum = 0;
    for (std::size_t i = begin; i < end; ++i) {
      sum += static_cast<std::uint32_t>(a[i]) * static_cast<std::uint32_t>(b[i]);
    }
    total += sum;
  }
  return total;
}

#if FUNNEL_SQ8_X86
// AVX2: 32 codes per step, widened to 16-bit words; vpmaddwd squares (or multiplies) and adds
// pairs into 32-bit lanes.
#define FUNNEL_AVX2 __attribute__((target("avx2")))

FUNNEL_AVX2 inline std::uint64_t hsum_avx2(__m256i v) noexcept {
  const __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  const __m128i t = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
  const __m128i u = _mm_add_epi32(t, _mm_shuffle_epi32(t, 0xB1));
  return static_cast<std::uint32_t>(_mm_cvtsi128_si32(u));
}

template <bool L2>
FUNNEL_AVX2 std::uint64_t sum_avx2(const std::uint8_t* a, const std::uint8_t* b,
                                   std::size_t bytes) noexcept {
  std::uint64_t total = 0;
  for (std::size_t begin = 0; begin < bytes; begin += block_bytes) {
    const std::size_t end = std::min(bytes, begin + block_bytes);
    __m256i acc0 = _mm256_setzero_si256();
    __m256i acc1 = _mm256_setzero_si256();
    for (std::size_t i = begin; i < end; i += 32) {
      const __m256i a0 =
          _mm256_cvtepu8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(a + i)));
      const __m256i b0 =
          _mm256_cvtepu8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b + i)));
      const __m256i a1 =
          _mm256_cvtepu8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(a + i + 16)));
      const __m256i b1 =
          _mm256_cvtepu8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b + i + 16)));
      if constexpr (L2) {
        const __m256i d0 = _mm256_sub_epi16(a0, b0);
        const __m256i d1 = _mm256_sub_epi16(a1, b1);
        acc0 = _mm256_add_epi32(acc0, _mm256_madd_epi16(d0, d0));
        acc1 = _mm256_add_epi32(acc1, _mm256_madd_epi16(d1, d1));
      } else {
        // 255 * 255 * 2 overflows a signed 16x16->32 pair sum only past 2^31: it does not.
        acc0 = _mm256_add_epi32(acc0, _mm256_madd_epi16(a0, b0));
        acc1 = _mm256_add_epi32(acc1, _mm256_madd_epi16(a1, b1));
      }
    }
    total += hsum_avx2(_mm256_add_epi32(acc0, acc1));
  }
  return total;
}

std::uint64_t l2_avx2(const std::uint8_t* a, const std::uint8_t* b, std::size_t bytes) noexcept {
  return sum_avx2<true>(a, b, bytes);
}
std::uint64_t dot_avx2(const std::uint8_t* a, const std::uint8_t* b, std::size_t bytes) noexcept {
  return sum_avx2<false>(a, b, bytes);
}

// AVX-512BW: 64 codes per step, the same arithmetic in 512-bit registers.
#define FUNNEL_AVX512BW __attribute__((target("avx512f,avx512bw")))

template <bool L2>
FUNNEL_AVX512BW std::uint64_t sum_avx512(const std::uint8_t* a, const std::uint8_t* b,
                                         std::size_t bytes) noexcept {
  std::uint64_t total = 0;
  for (std::size_t begin = 0; begin < bytes; begin += block_bytes) {
    const std::size_t end = std::min(bytes, begin + block_bytes);
    __m512i acc0 = _mm512_setzero_si512();
    __m512i acc1 = _mm512_setzero_si512();
    for (std::size_t i = begin; i < end; i += 64) {
      const __m512i a0 =
          _mm512_cvtepu8_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(a + i)));
      const __m512i b0 =
          _mm512_cvtepu8_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + i)));
      const __m512i a1 =
          _mm512_cvtepu8_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(a + i + 32)));
      const __m512i b1 =
          _mm512_cvtepu8_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + i + 32)));
      if constexpr (L2) {
        const __m512i d0 = _mm512_sub_epi16(a0, b0);
        const __m512i d1 = _mm512_sub_epi16(a1, b1);
        acc0 = _mm512_add_epi32(acc0, _mm512_madd_epi16(d0, d0));
        acc1 = _mm512_add_epi32(acc1, _mm512_madd_epi16(d1, d1));
      } else {
        acc0 = _mm512_add_epi32(acc0, _mm512_madd_epi16(a0, b0));
        acc1 = _mm512_add_epi32(acc1, _mm512_madd_epi16(a1, b1));
      }
    }
    // Through memory: GCC 12's 512-bit extracts and reductions pass an undefined register that
    // trips -Wmaybe-uninitialized.
    alignas(64) std::uint32_t lanes[16];
    _mm512_store_si512(lanes, _mm512_add_epi32(acc0, acc1));
    std::uint32_t sum = 0;
    for (const std::uint32_t lane : lanes) sum += lane;
    total += sum;
  }
  return total;
}

std::uint64_t l2_avx512(const std::uint8_t* a, const std::uint8_t* b, std::size_t bytes) noexcept {
  return sum_avx512<true>(a, b, bytes);
}
std::uint64_t dot_avx512(const std::uint8_t* a, const std::uint8_t* b, std::size_t bytes) noexcept {
  return sum_avx512<false>(a, b, bytes);
}
#endif

struct kernel_table {
  std::array<sq8_kernel, 3> all{};
  std::size_t count = 0;
  kernel_table() {
    all[count++] = {"portable", l2_portable, dot_portable};
#if FUNNEL_SQ8_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") != 0) all[count++] = {"avx2", l2_avx2, dot_avx2};
    if (__builtin_cpu_supports("avx512bw") != 0) all[count++] = {"avx512bw", l2_avx512, dot_avx512};
#endif
  }
};

const kernel_table& kernels() noexcept {
  static const kernel_table table;
  return table;
}

}  // namespace

std::span<const sq8_kernel> sq8_kernels() noexcept {
  return {kernels().all.data(), kernels().count};
}

const sq8_kernel& sq8_best() noexcept {
  static const sq8_kernel& best = [] {
    const auto all = sq8_kernels();
    const char* e = std::getenv("FUNNEL_SQ8_KERNEL");
    if (e != nullptr && std::string_view(e) == "portable") return all.front();
    return all.back();
  }();
  return best;
}

sq8_codec::sq8_codec(std::vector<float> offset, float scale) : offset_(std::move(offset)) {
  constexpr std::string_view where = "retrieval.sq8";
  if (offset_.empty()) raise<invalid_argument>(where, "no dimensions");
  for (std::size_t d = 0; d < offset_.size(); ++d) {
    if (!std::isfinite(offset_[d])) {
      raise<invalid_argument>(where, "offset {} at dimension {} is not finite", offset_[d], d);
    }
  }
  if (!std::isfinite(scale) || !(scale > 0.0F) || !std::isfinite(1.0F / scale)) {
    raise<invalid_argument>(where, "scale {} must be finite and > 0", scale);
  }
  scale_ = scale;
  inv_scale_ = 1.0F / scale;
}

void sq8_codec::encode(const float* x, std::uint8_t* out) const noexcept {
  const std::size_t n = dim();
  for (std::size_t d = 0; d < n; ++d) {
    const float c = std::nearbyint((x[d] - offset_[d]) * inv_scale_);
    out[d] = static_cast<std::uint8_t>(std::clamp(c, 0.0F, 255.0F));
  }
  std::memset(out + n, 0, stride() - n);
}

float sq8_codec::offset_dot(const std::uint8_t* code) const noexcept {
  double sum = 0.0;
  for (std::size_t d = 0; d < offset_.size(); ++d) {
    sum += static_cast<double>(offset_[d]) * static_cast<double>(code[d]);
  }
  return static_cast<float>(sum);
}

}  // namespace funnel::retrieval::detail
