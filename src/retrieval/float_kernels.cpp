#include "retrieval/float_kernels.hpp"

#include <array>
#include <cstdlib>

#include "simd/isa.hpp"

namespace funnel::retrieval::detail {

namespace {

// The portable kernels: eight independent partial sums (the compiler keeps them in two SSE
// registers on x86-64), folded pairwise at the end.
constexpr std::size_t lanes = 8;

float fold(std::array<float, lanes> acc) noexcept {
  for (std::size_t half = lanes / 2; half > 0; half /= 2) {
    for (std::size_t l = 0; l < half; ++l) acc[l] += acc[l + half];
  }
  return acc[0];
}

template <bool L2, bool Bounded>
float sum_portable(const float* a, const float* b, std::size_t n, float bound) noexcept {
  std::array<float, lanes> acc{};
  std::size_t i = 0;
  for (; i + lanes <= n; i += lanes) {
    for (std::size_t l = 0; l < lanes; ++l) {
      if constexpr (L2) {
        const float d = a[i + l] - b[i + l];
        acc[l] += d * d;
      } else {
        acc[l] += a[i + l] * b[i + l];
      }
    }
    if constexpr (Bounded) {  // as float_kernel_body.hpp: partial sums only grow
      if ((i + lanes) % float_check_every == 0) {
        const float partial = fold(acc);
        if (partial >= bound) return partial;
      }
    }
  }
  for (std::size_t l = 0; i < n; ++i, ++l) {
    if constexpr (L2) {
      const float d = a[i] - b[i];
      acc[l] += d * d;
    } else {
      acc[l] += a[i] * b[i];
    }
  }
  return fold(acc);
}

template <bool L2>
float sum_portable_unbounded(const float* a, const float* b, std::size_t n) noexcept {
  return sum_portable<L2, false>(a, b, n, 0.0F);
}

}  // namespace

namespace {
const funnel::detail::kernel_list<float_kernel>& float_list() noexcept {
  static const funnel::detail::kernel_list<float_kernel> list(
      {"portable", sum_portable_unbounded<true>, sum_portable_unbounded<false>,
       sum_portable<true, true>},
      &funnel::detail::isa_kernels::floats);
  return list;
}
}  // namespace

std::span<const float_kernel> float_kernels() noexcept {
  return float_list().kernels();
}

const float_kernel& float_best() noexcept {
  static const float_kernel& best = float_list().chosen("FUNNEL_FLOAT_KERNEL", "avx2");
  return best;
}

}  // namespace funnel::retrieval::detail
