#include <funnel/core/error.hpp>
#include <funnel/drift/stats.hpp>
#include <funnel/stats/special_functions.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "drift_fixtures.hpp"
#include "funnel_catch.hpp"

namespace fd = funnel::drift;
using funnel::test::drift::reference;
using funnel::test::drift::sample;

TEST_CASE("chi2_contingency: statistic and p-value equal scipy with and without Yates") {
  for (const auto& c : reference().at("chi2_contingency")) {
    const auto table = c.at("table").get<std::vector<std::vector<double>>>();
    const bool corr = c.at("correction").get<bool>();
    const auto r = fd::chi2_contingency(table, corr);
    INFO(c.dump());
    CHECK(r.dof == c.at("dof").get<std::size_t>());
    CHECK_THAT(r.statistic, WithinRel(c.at("statistic").get<double>(), 1e-12) ||
                                WithinAbs(c.at("statistic").get<double>(), 1e-12));
    CHECK_THAT(r.pvalue, WithinAbs(c.at("pvalue").get<double>(), 1e-10));
  }
}

TEST_CASE("chisquare: goodness of fit equals scipy.stats.chisquare") {
  for (const auto& c : reference().at("chisquare")) {
    const auto o = c.at("observed").get<std::vector<double>>();
    const auto e = c.at("expected").get<std::vector<double>>();
    const auto r = fd::chisquare(o, e);
    CHECK_THAT(r.statistic, WithinRel(c.at("statistic").get<double>(), 1e-12));
    CHECK_THAT(r.pvalue, WithinAbs(c.at("pvalue").get<double>(), 1e-10));
  }
}

TEST_CASE(
    "stats::chi_square_sf (the chi-square tests' p-value): equals scipy.stats.chi2.sf from df 1 to "
    "1000") {
  for (const auto& c : reference().at("chi2_sf")) {
    const double x = c.at("x").get<double>();
    const double df = c.at("df").get<double>();
    INFO("df=" << df << " x=" << x);
    CHECK_THAT(funnel::stats::chi_square_sf(x, df), WithinAbs(c.at("sf").get<double>(), 1e-12));
  }
}

TEST_CASE("chi2_contingency: a category absent from both samples is dropped, not an error") {
  const auto with_empty = fd::chi2_contingency({{10, 0, 20, 30}, {15, 0, 25, 20}});
  const auto without = fd::chi2_contingency({{10, 20, 30}, {15, 25, 20}});
  CHECK(with_empty.statistic == without.statistic);
  CHECK(with_empty.dof == 2);
  CHECK_THROWS_AS(fd::chi2_contingency({{1, 2}, {3}}), funnel::dimension_mismatch);
  CHECK_THROWS_AS(fd::chi2_contingency({{0, 0}, {0, 0}}), funnel::invalid_argument);
  CHECK_THROWS_AS(fd::chi2_contingency({{1, -2}, {3, 4}}), funnel::invalid_argument);
}

TEST_CASE("chi2_two_sample: identical category frequencies give statistic 0 and p-value 1") {
  const std::vector<double> a{10, 20, 30};
  const auto r = fd::chi2_two_sample(a, a);
  CHECK(r.statistic == 0.0);
  CHECK(r.pvalue == 1.0);
}

TEST_CASE("jensen_shannon: equals scipy.spatial.distance.jensenshannon in nats and bits") {
  for (const auto& c : reference().at("jensenshannon")) {
    const auto p = c.at("p").get<std::vector<double>>();
    const auto q = c.at("q").get<std::vector<double>>();
    CHECK_THAT(fd::jensen_shannon(p, q), WithinAbs(c.at("distance").get<double>(), 1e-14));
    CHECK_THAT(fd::jensen_shannon(p, q, 2.0),
               WithinAbs(c.at("distance_base2").get<double>(), 1e-14));
  }
  const std::vector<double> p{1, 2};
  const std::vector<double> q{1, 2, 3};
  CHECK_THROWS_AS(fd::jensen_shannon(p, q), funnel::dimension_mismatch);
  const std::vector<double> zero{0, 0};
  CHECK_THROWS_WITH(fd::jensen_shannon(zero, p), ContainsSubstring("p is empty"));
}

TEST_CASE("wasserstein_1: equals scipy.stats.wasserstein_distance including ties") {
  for (const auto& c : reference().at("wasserstein")) {
    const auto a = sample(c.at("seed_a").get<std::uint64_t>(), c.at("n1").get<std::size_t>(), 0.0,
                          1.0, c.at("grid").get<double>());
    const auto b = sample(c.at("seed_b").get<std::uint64_t>(), c.at("n2").get<std::size_t>(),
                          c.at("shift").get<double>(), 1.0, c.at("grid").get<double>());
    CHECK_THAT(fd::wasserstein_1(a, b), WithinRel(c.at("distance").get<double>(), 1e-12));
  }
}

TEST_CASE("wasserstein_1: empty sample and NaN are typed errors; omit drops NaN") {
  const std::vector<double> a{1, 2, 3};
  const std::vector<double> empty;
  CHECK_THROWS_AS(fd::wasserstein_1(a, empty), funnel::invalid_argument);
  const std::vector<double> with_nan{1, std::nan(""), 3};
  CHECK_THROWS_WITH(fd::wasserstein_1(a, with_nan), ContainsSubstring("position 1"));
  const std::vector<double> clean{1, 3};
  CHECK(fd::wasserstein_1(a, with_nan, fd::nan_policy::omit) == fd::wasserstein_1(a, clean));
  CHECK(fd::wasserstein_1(a, a) == 0.0);
}

TEST_CASE("quantile_edges: equal numpy.quantile (linear) at the deciles") {
  for (const auto& c : reference().at("quantiles")) {
    const auto a = sample(c.at("seed").get<std::uint64_t>(), c.at("n").get<std::size_t>(), 0.0, 1.0,
                          c.at("grid").get<double>());
    auto s = a;
    std::sort(s.begin(), s.end());
    const auto qs = c.at("q").get<std::vector<double>>();
    const auto vs = c.at("values").get<std::vector<double>>();
    for (std::size_t i = 0; i < qs.size(); ++i) CHECK(fd::quantile_sorted(s, qs[i]) == vs[i]);
  }
}

TEST_CASE("psi: hand-computed value on two 3-bin histograms") {
  // r = (0.5, 0.3, 0.2), l = (0.3, 0.3, 0.4):
  // (0.3-0.5) ln(0.3/0.5) + 0 + (0.4-0.2) ln(0.4/0.2) = 0.2 ln(5/3) + 0.2 ln 2.
  const std::vector<double> r{50, 30, 20};
  const std::vector<double> l{3, 3, 4};
  CHECK_THAT(fd::psi(r, l), WithinAbs(0.2 * std::log(5.0 / 3.0) + 0.2 * std::log(2.0), 1e-15));
}

TEST_CASE("psi: empty bins are floored at epsilon instead of giving infinity") {
  const std::vector<double> r{100, 0};
  const std::vector<double> l{50, 50};
  // l = (0.5, 0.5), r = (1, 1e-4): (0.5-1) ln 0.5 + (0.5-1e-4) ln(0.5/1e-4)
  const double expected = -0.5 * std::log(0.5) + (0.5 - 1e-4) * std::log(0.5 / 1e-4);
  CHECK_THAT(fd::psi(r, l), WithinAbs(expected, 1e-13));
  CHECK(std::isfinite(fd::psi(r, l, 1e-6)));
  CHECK(fd::psi(r, l, 1e-6) > fd::psi(r, l));
}

TEST_CASE("psi_samples: identical samples give 0, shifted samples cross the 0.25 threshold") {
  const auto a = sample(21, 5000, 0.0, 1.0, 0);
  CHECK(fd::psi_samples(a, a) == 0.0);
  const auto b = sample(22, 5000, 0.5, 1.0, 0);
  const double v = fd::psi_samples(a, b);
  CHECK(v > 0.25);
  CHECK(fd::psi_verdict(v) == fd::verdict::drift);
  CHECK(fd::psi_verdict(0.1) == fd::verdict::warning);
  CHECK(fd::psi_verdict(0.0999) == fd::verdict::stable);
}

TEST_CASE("psi_samples: live values beyond the reference range go to the end bins") {
  std::vector<double> ref;
  for (int i = 0; i < 100; ++i) ref.push_back(i);
  const auto edges = fd::quantile_edges(ref, 10);
  REQUIRE(edges.size() == 9);
  CHECK(fd::bin_index(edges, -1e9) == 0);
  CHECK(fd::bin_index(edges, 1e9) == 9);
  const std::vector<double> live{-5, -6, 200, 300};
  const auto h = fd::histogram(edges, live);
  CHECK(h.front() == 2);
  CHECK(h.back() == 2);
}

TEST_CASE("quantile_edges: heavy ties collapse duplicate edges; bad input is a typed error") {
  std::vector<double> ref(100, 1.0);
  ref[99] = 2.0;
  CHECK(fd::quantile_edges(ref, 10).size() == 1);
  const std::vector<double> empty;
  CHECK_THROWS_AS(fd::quantile_edges(empty, 10), funnel::invalid_argument);
  const std::vector<double> nan{1.0, std::nan("")};
  CHECK_THROWS_WITH(fd::quantile_edges(nan, 10), ContainsSubstring("position 1"));
  CHECK_THROWS_AS(fd::quantile_edges(ref, 1), funnel::invalid_argument);
}

TEST_CASE("psi: mismatched and empty histograms are typed errors") {
  const std::vector<double> a{1, 2};
  const std::vector<double> b{1, 2, 3};
  const std::vector<double> z{0, 0};
  CHECK_THROWS_AS(fd::psi(a, b), funnel::dimension_mismatch);
  CHECK_THROWS_WITH(fd::psi(z, a), ContainsSubstring("reference histogram is empty"));
  const std::vector<double> neg{1, -1};
  CHECK_THROWS_WITH(fd::psi(a, neg), ContainsSubstring("live[1]"));
}

TEST_CASE("hellinger: 0 for equal, 1 for disjoint, hand value otherwise") {
  const std::vector<double> p{1, 1, 0};
  const std::vector<double> q{0, 0, 5};
  CHECK(fd::hellinger(p, p) == 0.0);
  CHECK_THAT(fd::hellinger(p, q), WithinAbs(1.0, 1e-15));
  const std::vector<double> u{1, 3};
  const std::vector<double> v{3, 1};
  // sqrt(0.5 * 2 * (sqrt(.25) - sqrt(.75))^2) = |0.5 - sqrt(0.75)|
  CHECK_THAT(fd::hellinger(u, v), WithinAbs(std::sqrt(0.75) - 0.5, 1e-15));
}

TEST_CASE(
    "histogram statistics: NaN counts, empty histograms and size mismatches are typed errors") {
  const std::vector<double> ok{1, 2, 3};
  const std::vector<double> nan_counts{1, std::nan(""), 3};
  const std::vector<double> zero{0, 0, 0};
  const std::vector<double> two{1, 2};
  CHECK_THROWS_WITH(fd::hellinger(ok, nan_counts), ContainsSubstring("q[1]"));
  CHECK_THROWS_WITH(fd::hellinger(zero, ok), ContainsSubstring("p is empty"));
  CHECK_THROWS_AS(fd::hellinger(ok, two), funnel::dimension_mismatch);
  CHECK_THROWS_WITH(fd::jensen_shannon(nan_counts, ok), ContainsSubstring("p[1]"));
  CHECK_THROWS_WITH(fd::psi(ok, nan_counts), ContainsSubstring("live[1]"));
  CHECK_THROWS_AS(fd::chi2_two_sample(ok, two), funnel::dimension_mismatch);
  CHECK(fd::jensen_shannon(ok, ok) == 0.0);
  CHECK(fd::psi(ok, ok) == 0.0);
}

TEST_CASE("psi_samples: NaNs are excluded from both samples (reported as missing by monitors)") {
  const auto a = sample(31, 1000, 0.0, 1.0, 0);
  auto b = a;
  b.push_back(std::nan(""));
  b.push_back(std::nan(""));
  CHECK(fd::psi_samples(a, b) == 0.0);
  const std::vector<double> all_nan{std::nan("")};
  CHECK_THROWS_AS(fd::psi_samples(a, all_nan), funnel::invalid_argument);
}
