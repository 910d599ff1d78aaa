#pragma once
/// @file random.hpp
/// @brief Seeded, portable random numbers: the same seed gives the same stream on every platform
/// and standard library (std:: distributions do not promise that, so funnel has its own).

#include <funnel/core/error.hpp>

#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <utility>

namespace funnel {

/// @brief xoshiro256** (Blackman & Vigna) seeded through splitmix64. Fast, 256-bit state,
/// satisfies std::uniform_random_bit_generator. Not thread-safe: one per thread.
class rng {
 public:
  using result_type = std::uint64_t;

  /// @brief Seeds the generator; any 64-bit seed (including 0) gives a good state.
  explicit rng(std::uint64_t seed = 0x5eed'f00d'cafe'd00dULL) noexcept { reseed(seed); }

  /// @brief Restarts the stream from `seed`.
  void reseed(std::uint64_t seed) noexcept {
    for (auto& s : state_) s = splitmix64(seed);
  }

  static constexpr result_type min() noexcept { return 0; }
  static constexpr result_type max() noexcept { return std::numeric_limits<result_type>::max(); }

  /// @brief Next 64 random bits.
  result_type operator()() noexcept {
    const auto result = rotl(state_[1] * 5, 7) * 9;
    const auto t = state_[1] << 17;
    state_[2] ^= state_[0];
    state_[3] ^= state_[1];
    state_[1] ^= state_[2];
    state_[0] ^= state_[3];
    state_[2] ^= t;
    state_[3] = rotl(state_[3], 45);
    return result;
  }

  /// @brief Uniform double in [0, 1) with 53 random bits.
  double uniform() noexcept { return static_cast<double>((*this)() >> 11) * 0x1.0p-53; }

  /// @brief Uniform double in [lo, hi).
  double uniform(double lo, double hi) noexcept { return lo + (hi - lo) * uniform(); }

  /// @brief Uniform integer in [0, n) without modulo bias (Lemire's method). n must be > 0.
  std::uint64_t below(std::uint64_t n) noexcept {
    __extension__ using u128 =
        unsigned __int128;  // GCC/Clang; __extension__ keeps -Wpedantic quiet
    auto m = static_cast<u128>((*this)()) * n;
    auto low = static_cast<std::uint64_t>(m);
    if (low < n) {
      const std::uint64_t threshold = (0 - n) % n;
      while (low < threshold) {
        m = static_cast<u128>((*this)()) * n;
        low = static_cast<std::uint64_t>(m);
      }
    }
    return static_cast<std::uint64_t>(m >> 64);
  }

  /// @brief Standard normal N(0, 1) by the Marsaglia polar method.
  double normal() noexcept {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    double u = 0;
    double v = 0;
    double s = 0;
    do {
      u = uniform(-1.0, 1.0);
      v = uniform(-1.0, 1.0);
      s = u * u + v * v;
    } while (s >= 1.0 || s == 0.0);
    const double f = std::sqrt(-2.0 * std::log(s) / s);
    spare_ = v * f;
    has_spare_ = true;
    return u * f;
  }

  /// @brief Normal with mean `mu` and standard deviation `sigma`.
  double normal(double mu, double sigma) noexcept { return mu + sigma * normal(); }

  /// @brief Gamma(shape, 1) by Marsaglia & Tsang (2000). A shape that is not finite and > 0 (a
  /// corrupt or hostile statistic) returns NaN at once: no recursion, no endless rejection loop.
  double gamma(double shape) noexcept {
    if (!(shape > 0.0) || !std::isfinite(shape)) return std::numeric_limits<double>::quiet_NaN();
    double boost = 1.0;
    if (shape < 1.0) {
      // Boost: Gamma(a) = Gamma(a + 1) * U^(1/a), the same draws in the same order as before.
      const double u = uniform();
      boost = std::pow(u > 0 ? u : std::numeric_limits<double>::min(), 1.0 / shape);
      shape += 1.0;
    }
    const double d = shape - 1.0 / 3.0;
    const double c = 1.0 / std::sqrt(9.0 * d);
    for (;;) {
      double x = 0;
      double v = 0;
      do {
        x = normal();
        v = 1.0 + c * x;
      } while (v <= 0.0);
      v = v * v * v;
      const double u = uniform();
      if (u < 1.0 - 0.0331 * x * x * x * x) return d * v * boost;
      if (u > 0 && std::log(u) < 0.5 * x * x + d * (1.0 - v + std::log(v))) return d * v * boost;
    }
  }

  /// @brief Beta(a, b) as G_a / (G_a + G_b); a, b > 0.
  double beta(double a, double b) noexcept {
    const double x = gamma(a);
    const double y = gamma(b);
    return x / (x + y);
  }

  /// @brief Bernoulli(p).
  bool bernoulli(double p) noexcept { return uniform() < p; }

  /// @brief Fisher–Yates shuffle (portable, unlike std::shuffle's unspecified algorithm).
  template <class T>
  void shuffle(std::span<T> values) noexcept {
    for (std::size_t i = values.size(); i > 1; --i) {
      const auto j = static_cast<std::size_t>(below(i));
      std::swap(values[i - 1], values[j]);
    }
  }

  /// @brief The complete state of a generator: restoring it continues the stream bit for bit
  /// (checkpoints, e.g. a bandit policy's JSON state).
  struct state_type {
    std::array<std::uint64_t, 4> words{};  ///< xoshiro256** state; never all zero
    double spare = 0.0;                    ///< the normal() pair's cached second value
    bool has_spare = false;                ///< whether `spare` is pending
  };

  /// @brief The generator's complete state.
  [[nodiscard]] state_type state() const noexcept {
    return {{state_[0], state_[1], state_[2], state_[3]}, spare_, has_spare_};
  }

  /// @brief Continues from a state returned by state().
  /// @throws invalid_argument if the xoshiro words are all zero (the one invalid state: the
  /// generator would return 0 forever), which no seeded generator reaches.
  void set_state(const state_type& st) {
    if ((st.words[0] | st.words[1] | st.words[2] | st.words[3]) == 0) {
      raise<invalid_argument>("core.rng", "the four state words are all zero");
    }
    for (std::size_t i = 0; i < 4; ++i) state_[i] = st.words[i];
    spare_ = st.spare;
    has_spare_ = st.has_spare;
  }

  /// @brief A generator for a sub-stream (e.g. one per thread), decorrelated from this one.
  rng split() noexcept { return rng((*this)() ^ 0x9e37'79b9'7f4a'7c15ULL); }

 private:
  static constexpr std::uint64_t rotl(std::uint64_t x, int k) noexcept {
    return (x << k) | (x >> (64 - k));
  }
  static std::uint64_t splitmix64(std::uint64_t& x) noexcept {
    std::uint64_t z = (x += 0x9e37'79b9'7f4a'7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58'476d'1ce4'e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d0'49bb'1331'11ebULL;
    return z ^ (z >> 31);
  }

  std::uint64_t state_[4]{};
  double spare_ = 0.0;
  bool has_spare_ = false;
};

}  // namespace funnel
