// funnel::stats Kolmogorov distributions against scipy 1.10 (fixtures of tests/data/drift, which
// the two-sample KS test of the drift module shares).
#include <funnel/core/error.hpp>
#include <funnel/core/json.hpp>
#include <funnel/drift/ks.hpp>
#include <funnel/stats/kolmogorov.hpp>

#include <cmath>

#include "funnel_catch.hpp"

namespace fs = funnel::stats;

namespace {
const funnel::json& reference() {
  static const funnel::json j =
      funnel::load_json_file(funnel::test::data("drift/scipy_reference.json"));
  return j;
}
}  // namespace

TEST_CASE("kstwo: survival function and CDF equal scipy.stats.kstwo across all algorithm regions") {
  for (const auto& c : reference().at("kstwo")) {
    const auto n = c.at("n").get<std::size_t>();
    const double x = c.at("x").get<double>();
    INFO("n=" << n << " x=" << x);
    CHECK_THAT(fs::kstwo_sf(x, n), WithinAbs(c.at("sf").get<double>(), 1e-10));
    CHECK_THAT(fs::kstwo_cdf(x, n), WithinAbs(c.at("cdf").get<double>(), 1e-10));
  }
}

TEST_CASE("smirnov: one-sided survival function equals scipy.special.smirnov") {
  for (const auto& c : reference().at("smirnov")) {
    const int n = c.at("n").get<int>();
    const double x = c.at("x").get<double>();
    INFO("n=" << n << " x=" << x);
    CHECK_THAT(fs::smirnov_sf(n, x), WithinAbs(c.at("sf").get<double>(), 1e-12));
  }
}

TEST_CASE("kstwo_sf: n = 0 is a typed error; x outside (1/2n, 1) is clamped as scipy does") {
  CHECK_THROWS_AS(fs::kstwo_sf(0.5, 0), funnel::invalid_argument);
  CHECK_THROWS_WITH(fs::kstwo_cdf(0.5, 0),
                    ContainsSubstring("[funnel.invalid_argument.stats.kstwo] n must be >= 1"));
  CHECK(fs::kstwo_sf(0.001, 100) == 1.0);
  CHECK(fs::kstwo_sf(1.5, 100) == 0.0);
  CHECK(std::isnan(fs::kstwo_sf(std::nan(""), 10)));
}

TEST_CASE("kstwo: the drift names kept for 0.2 are the stats functions") {
  double (*sf)(double, std::size_t) = &funnel::drift::kstwo_sf;
  double (*cdf)(double, std::size_t) = &funnel::drift::kstwo_cdf;
  double (*smirnov)(int, double) = &funnel::drift::smirnov_sf;
  CHECK(sf == &fs::kstwo_sf);
  CHECK(cdf == &fs::kstwo_cdf);
  CHECK(smirnov == &fs::smirnov_sf);
}
