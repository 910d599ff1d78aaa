#pragma once
// The code kernels (sums over the bytes of two codes of |a - b|^2 or a . b), written once for any
// vector width. Included by the instruction-set translation units (simd/isa.hpp), each compiled
// for its set, with `V` that set's operations:
//
//   sq8_name            the kernel's name ("avx2", "avx512bw")
//   vi                  a vector of 16-bit words / 32-bit lanes
//   half                codes widened by one load (16 for AVX2, 32 for AVX-512)
//   zero_i()            all lanes 0
//   widen(p)            `half` bytes at p, zero-extended to 16-bit words
//   sub16(a, b)         word-wise a - b
//   madd16(a, b)        pairs of word products summed into 32-bit lanes (vpmaddwd)
//   add_i(a, b)         lane-wise 32-bit sum
//   hsum(v)             the sum of the 32-bit lanes
//
// Codes are widened to 16-bit words; vpmaddwd squares (or multiplies) and adds pairs into 32-bit
// lanes, two accumulators per step. Only templates over `V` live here: each instruction set's
// instantiations are its own symbols.
#include <cstddef>
#include <cstdint>

#include "retrieval/sq8_kernels.hpp"

namespace funnel::retrieval::detail {

template <class V, bool L2>
std::uint64_t sq8_sum(const std::uint8_t* a, const std::uint8_t* b, std::size_t bytes) noexcept {
  std::uint64_t total = 0;
  for (std::size_t begin = 0; begin < bytes; begin += sq8_block_bytes) {
    const std::size_t end = bytes - begin < sq8_block_bytes ? bytes : begin + sq8_block_bytes;
    typename V::vi acc0 = V::zero_i();
    typename V::vi acc1 = V::zero_i();
    for (std::size_t i = begin; i < end; i += 2 * V::half) {
      const typename V::vi a0 = V::widen(a + i);
      const typename V::vi b0 = V::widen(b + i);
      const typename V::vi a1 = V::widen(a + i + V::half);
      const typename V::vi b1 = V::widen(b + i + V::half);
      if constexpr (L2) {
        const typename V::vi d0 = V::sub16(a0, b0);
        const typename V::vi d1 = V::sub16(a1, b1);
        acc0 = V::add_i(acc0, V::madd16(d0, d0));
        acc1 = V::add_i(acc1, V::madd16(d1, d1));
      } else {
        // 255 * 255 * 2 overflows a signed 16x16->32 pair sum only past 2^31: it does not.
        acc0 = V::add_i(acc0, V::madd16(a0, b0));
        acc1 = V::add_i(acc1, V::madd16(a1, b1));
      }
    }
    total += V::hsum(V::add_i(acc0, acc1));
  }
  return total;
}

/// The kernel pair of instruction set `V`.
template <class V>
inline constexpr sq8_kernel sq8_kernel_of{V::sq8_name, sq8_sum<V, true>, sq8_sum<V, false>};

}  // namespace funnel::retrieval::detail
