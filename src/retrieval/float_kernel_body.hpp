#pragma once
// The float kernels (sum of (a_i - b_i)^2, sum of a_i * b_i), written once for any vector width.
// Included by the instruction-set translation units (simd/isa.hpp), each compiled for its set,
// with `V` that set's operations:
//
//   float_name            the kernel's name ("avx2", "avx512")
//   vf                    a vector of `width` floats
//   zero_ps()               all lanes 0
//   load_ps(p)              `width` floats at p
//   load_tail_ps(p, count)  the first `count` (< width) floats at p, zeros after; reads nothing
//                           past p + count (masked loads)
//   sub_ps, add_ps          lane-wise a - b, a + b
//   fmadd_ps(a, b, c)       a * b + c, fused
//   hsum_ps(v)              the sum of the lanes
//
// Four accumulators hide the latency of the fused multiply-adds; the tail is one masked step, so
// any dimension runs without a scalar loop. The bounded L2 kernel looks at its partial sum every
// float_check_every values and stops once it reaches the bound.
#include <cstddef>

#include "retrieval/float_kernels.hpp"

namespace funnel::retrieval::detail {

template <class V, bool L2>
inline typename V::vf float_step(typename V::vf acc, typename V::vf x, typename V::vf y) noexcept {
  if constexpr (L2) {
    const typename V::vf d = V::sub_ps(x, y);
    return V::fmadd_ps(d, d, acc);
  } else {
    return V::fmadd_ps(x, y, acc);
  }
}

template <class V, bool L2, bool Bounded>
float float_sum(const float* a, const float* b, std::size_t n, float bound) noexcept {
  constexpr std::size_t w = V::width;
  typename V::vf acc0 = V::zero_ps();
  typename V::vf acc1 = V::zero_ps();
  typename V::vf acc2 = V::zero_ps();
  typename V::vf acc3 = V::zero_ps();
  auto total = [&] { return V::hsum_ps(V::add_ps(V::add_ps(acc0, acc1), V::add_ps(acc2, acc3))); };
  std::size_t i = 0;
  for (; i + 4 * w <= n; i += 4 * w) {
    acc0 = float_step<V, L2>(acc0, V::load_ps(a + i), V::load_ps(b + i));
    acc1 = float_step<V, L2>(acc1, V::load_ps(a + i + w), V::load_ps(b + i + w));
    acc2 = float_step<V, L2>(acc2, V::load_ps(a + i + 2 * w), V::load_ps(b + i + 2 * w));
    acc3 = float_step<V, L2>(acc3, V::load_ps(a + i + 3 * w), V::load_ps(b + i + 3 * w));
    if constexpr (Bounded) {
      // Every term is >= 0 and float sums are monotone, so a partial sum at or above the bound
      // proves the full one is too; the accumulators are only read, so a sum that stays below
      // the bound is the unbounded kernel's, bit for bit.
      if ((i + 4 * w) % float_check_every == 0) {
        const float partial = total();
        if (partial >= bound) return partial;
      }
    }
  }
  for (; i + w <= n; i += w) acc0 = float_step<V, L2>(acc0, V::load_ps(a + i), V::load_ps(b + i));
  if (i < n)
    acc1 = float_step<V, L2>(acc1, V::load_tail_ps(a + i, n - i), V::load_tail_ps(b + i, n - i));
  return total();
}

template <class V, bool L2>
float float_sum_unbounded(const float* a, const float* b, std::size_t n) noexcept {
  return float_sum<V, L2, false>(a, b, n, 0.0F);
}

/// The kernels of instruction set `V`.
template <class V>
inline constexpr float_kernel float_kernel_of{V::float_name, float_sum_unbounded<V, true>,
                                              float_sum_unbounded<V, false>,
                                              float_sum<V, true, true>};

}  // namespace funnel::retrieval::detail
