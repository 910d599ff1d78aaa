#pragma once
// Shared helpers for the drift tests: the fixture file and the sample generator that
// tests/fixtures/drift/make_fixtures.py also implements (so samples need not be stored).
#include <funnel/core/json.hpp>

#include <cmath>
#include <cstdint>
#include <vector>

#include "funnel_catch.hpp"

namespace funnel::test::drift {

inline const funnel::json& reference() {
  static const funnel::json j =
      funnel::load_json_file(funnel::test::data("drift/scipy_reference.json"));
  return j;
}

inline std::vector<double> sample(std::uint64_t seed, std::size_t n, double shift, double scale,
                                  double grid) {
  std::uint64_t s = seed;
  std::vector<double> out;
  out.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    s += 0x9E3779B97F4A7C15ULL;
    std::uint64_t z = s;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    z = z ^ (z >> 31);
    const double u = static_cast<double>(z >> 11) * 0x1.0p-53;
    double v = shift + scale * u;
    if (grid > 0) v = std::floor(v * grid) / grid;
    out.push_back(v);
  }
  return out;
}

}  // namespace funnel::test::drift
