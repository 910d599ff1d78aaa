#include <funnel/core/random.hpp>
#include <funnel/features/categorical.hpp>

namespace funnel::features {

std::vector<std::uint32_t> make_folds(std::size_t n, std::uint32_t k, std::uint64_t seed) {
  if (k < 2 || k > n) {
    raise<invalid_argument>("features.make_folds", "need 2 <= k <= n, got k = {}, n = {}", k, n);
  }
  std::vector<std::uint32_t> f(n);
  for (std::size_t i = 0; i < n; ++i) f[i] = static_cast<std::uint32_t>(i % k);
  rng g(seed);
  g.shuffle(std::span<std::uint32_t>(f));
  return f;
}

}  // namespace funnel::features
