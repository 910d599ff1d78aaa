#include <funnel/core/error.hpp>
#include <funnel/core/json.hpp>
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpedantic"  // core/random.hpp's unsigned __int128
#include <funnel/core/random.hpp>
#pragma GCC diagnostic pop
#include <funnel/experiments/sequential.hpp>
#include <funnel/experiments/statistics.hpp>

#include <cmath>
#include <string>

#include "funnel_catch.hpp"

using namespace funnel::experiments;

namespace {
const funnel::json& ref() {
  static const auto j =
      funnel::load_json_file(funnel::test::data("experiments/scipy_reference.json"));
  return j;
}
alternative alt_of(const std::string& s) {
  if (s == "greater") return alternative::greater;
  if (s == "less") return alternative::less;
  return alternative::two_sided;
}
// The brief: statistics to 1e-12 relative, p-values to 1e-10 absolute.
void check_result(const test_result& r, const funnel::json& c) {
  CHECK_THAT(r.statistic, WithinRel(c.at("statistic").get<double>(), 1e-12));
  CHECK_THAT(r.p_value, WithinAbs(c.at("p_value").get<double>(), 1e-10));
}
}  // namespace

TEST_CASE("statistics: two-proportion z-test equals the scipy reference (pooled and unpooled)") {
  for (const auto& c : ref().at("ztest")) {
    INFO(c.dump());
    const auto r = two_proportion_ztest(c["xa"], c["na"], c["xb"], c["nb"], alt_of(c["alt"]),
                                        c["pooled"].get<bool>());
    check_result(r, c);
  }
}

TEST_CASE("statistics: Welch's t-test equals scipy ttest_ind_from_stats and ttest_ind") {
  for (const auto& c : ref().at("welch_stats")) {
    INFO(c.dump());
    const sample_summary a{c["a"][0], c["a"][1], c["a"][2]};
    const sample_summary b{c["b"][0], c["b"][1], c["b"][2]};
    check_result(welch_ttest(a, b, alt_of(c["alt"])), c);
  }
  for (const auto& c : ref().at("welch_samples")) {
    const auto a = c["a"].get<std::vector<double>>();
    const auto b = c["b"].get<std::vector<double>>();
    check_result(welch_ttest(a, b), c);
  }
}

TEST_CASE(
    "statistics: chi-square independence equals scipy chi2_contingency with and without Yates") {
  for (const auto& c : ref().at("chi_square")) {
    INFO(c.dump());
    std::vector<double> flat;
    const auto& t = c["table"];
    for (const auto& row : t)
      for (const auto& x : row) flat.push_back(x.get<double>());
    const auto r = chi_square_independence(flat, t.size(), t[0].size(), c["yates"].get<bool>());
    check_result(r, c);
    CHECK(r.df == c["df"].get<double>());
  }
}

TEST_CASE("statistics: goodness of fit and SRM equal scipy chisquare") {
  for (const auto& c : ref().at("goodness_of_fit")) {
    const auto obs = c["observed"].get<std::vector<double>>();
    const auto w = c["weights"].get<std::vector<double>>();
    check_result(chi_square_goodness_of_fit(obs, w), c);
    const auto srm = srm_check(obs, w);
    CHECK(srm.mismatch == (c["p_value"].get<double>() < 0.001));
  }
  const std::vector<double> skewed{50600, 49400};
  const std::vector<double> half{0.5, 0.5};
  CHECK(srm_check(skewed, half).mismatch);  // a 1.2% imbalance on 100k units is an SRM
}

TEST_CASE("statistics: absolute and relative lift intervals equal the reference") {
  for (const auto& c : ref().at("lift")) {
    const sample_summary a{c["a"][0], c["a"][1], c["a"][2]};
    const sample_summary b{c["b"][0], c["b"][1], c["b"][2]};
    const auto abs = absolute_lift(a, b, c["confidence"]);
    const auto rel = relative_lift(a, b, c["confidence"]);
    const auto ea = c["absolute"].get<std::vector<double>>();
    const auto er = c["relative"].get<std::vector<double>>();
    CHECK_THAT(abs.estimate, WithinRel(ea[0], 1e-12));
    CHECK_THAT(abs.lower, WithinRel(ea[1], 1e-12));
    CHECK_THAT(abs.upper, WithinRel(ea[2], 1e-12));
    CHECK_THAT(abs.std_error, WithinRel(ea[3], 1e-12));
    CHECK_THAT(rel.estimate, WithinRel(er[0], 1e-12));
    CHECK_THAT(rel.lower, WithinRel(er[1], 1e-12));
    CHECK_THAT(rel.upper, WithinRel(er[2], 1e-12));
    CHECK_THAT(rel.std_error, WithinRel(er[3], 1e-12));
  }
}

TEST_CASE("statistics: power, sample size and MDE equal the reference") {
  for (const auto& c : ref().at("power")) {
    INFO(c.dump());
    const auto k = c["kind"].get<std::string>();
    const auto a = c["args"].get<std::vector<double>>();
    const double expected = c["value"];
    double got = 0;
    if (k == "power_means") got = power_two_means(a[0], a[1], a[2], a[3]);
    if (k == "n_means") got = sample_size_two_means(a[0], a[1], a[2], a[3]);
    if (k == "mde_means") got = mde_two_means(a[0], a[1], a[2], a[3]);
    if (k == "power_props") got = power_two_proportions(a[0], a[1], a[2], a[3]);
    if (k == "n_props") got = sample_size_two_proportions(a[0], a[1], a[2], a[3]);
    if (k == "mde_props") got = mde_two_proportions(a[0], a[1], a[2], a[3]);
    CHECK_THAT(got, WithinRel(expected, k == "mde_props" ? 1e-10 : 1e-12));
  }
  // Round trip: the sample size for an effect gives back the requested power.
  const double n = sample_size_two_means(0.3, 1.7, 0.05, 0.8);
  CHECK_THAT(power_two_means(0.3, 1.7, n, 0.05), WithinAbs(0.8, 1e-4));
}

TEST_CASE("statistics: CUPED equals the numpy/scipy reference and shrinks variance") {
  const auto& c = ref().at("cuped");
  const auto y_a = c["y_a"].get<std::vector<double>>();
  const auto x_a = c["x_a"].get<std::vector<double>>();
  const auto y_b = c["y_b"].get<std::vector<double>>();
  const auto x_b = c["x_b"].get<std::vector<double>>();
  const auto r = cuped(y_a, x_a, y_b, x_b);
  CHECK_THAT(r.theta, WithinRel(c["theta"].get<double>(), 1e-12));
  check_result(r.test, c);
  CHECK_THAT(r.variance_ratio, WithinRel(c["variance_ratio"].get<double>(), 1e-12));
  CHECK(r.variance_ratio < 0.5);
  CHECK(r.test.p_value < c["raw_p_value"].get<double>());
}

TEST_CASE("statistics: bad input gets typed errors naming the problem") {
  CHECK_THROWS_AS(two_proportion_ztest(11, 10, 5, 10), funnel::invalid_argument);
  CHECK_THROWS_WITH(two_proportion_ztest(0, 10, 0, 10), ContainsSubstring("zero standard error"));
  const std::vector<double> one{1.0};
  const std::vector<double> two{1.0, NAN};
  CHECK_THROWS_AS(welch_ttest(one, one), funnel::invalid_argument);
  CHECK_THROWS_WITH(welch_ttest(two, two), ContainsSubstring("values[1]"));
  const std::vector<double> table{1, 2, 3};
  CHECK_THROWS_AS(chi_square_independence(table, 2, 2), funnel::dimension_mismatch);
  const std::vector<double> zero_row{0, 0, 3, 4};
  CHECK_THROWS_WITH(chi_square_independence(zero_row, 2, 2), ContainsSubstring("expected count"));
  const std::vector<double> neg{-1, 2};
  const std::vector<double> w{1, 1};
  CHECK_THROWS_WITH(srm_check(neg, w), ContainsSubstring("observed[0]"));
  CHECK_THROWS_AS(sample_size_two_means(0.0, 1.0), funnel::invalid_argument);
  CHECK_THROWS_AS(relative_lift({10, 0.0, 1.0}, {10, 1.0, 1.0}), funnel::invalid_argument);
  CHECK_THROWS_AS(msprt(0.0), funnel::invalid_argument);
  CHECK_THROWS_WITH(msprt(0.01, {.alpha = 1.0}), ContainsSubstring("msprt_options.alpha"));
}

TEST_CASE("mSPRT: likelihood ratio equals the reference formula") {
  for (const auto& c : ref().at("msprt")) {
    CHECK_THAT(msprt_likelihood_ratio(c["theta_hat"], c["v"], c["tau2"]),
               WithinRel(c["value"].get<double>(), 1e-12));
  }
}

TEST_CASE(
    "mSPRT: peeking after every unit keeps false positives below alpha; real effects are found") {
  // A/A tests peeked at after every pair of units: a fixed-horizon test would reject far more
  // often than alpha; the always-valid p-value must not (checked on 200 simulated experiments).
  funnel::rng g(7);
  int false_positives = 0;
  int covered = 0;
  const int experiments = 200;
  for (int e = 0; e < experiments; ++e) {
    msprt m(0.01, {.alpha = 0.05});
    for (int i = 0; i < 500; ++i) {
      m.add_a(g.normal());
      m.add_b(g.normal());
      m.look();
    }
    if (m.rejected()) ++false_positives;
    if (m.lower() <= 0.0 && 0.0 <= m.upper()) ++covered;
  }
  CHECK(false_positives <= 0.05 * experiments + 6);  // binomial slack (sd ~ 3)
  CHECK(covered >= 0.95 * experiments - 6);
  msprt m(0.01, {.alpha = 0.05});
  for (int i = 0; i < 3000; ++i) {
    m.add_a(g.normal());
    m.add_b(g.normal(0.3, 1.0));
    m.look();
  }
  CHECK(m.rejected());
  CHECK(m.lower() > 0.0);
  CHECK(m.upper() > 0.3);
}
