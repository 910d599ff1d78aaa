#include <funnel/core/error.hpp>
#include <funnel/drift/ks.hpp>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "drift_fixtures.hpp"
#include "funnel_catch.hpp"

namespace fd = funnel::drift;
using funnel::test::drift::reference;
using funnel::test::drift::sample;

namespace {
fd::alternative parse_alt(const std::string& s) {
  if (s == "less") return fd::alternative::less;
  if (s == "greater") return fd::alternative::greater;
  return fd::alternative::two_sided;
}
fd::ks_method parse_method(const std::string& s) {
  if (s == "exact") return fd::ks_method::exact;
  if (s == "asymp") return fd::ks_method::asymptotic;
  return fd::ks_method::automatic;
}
}  // namespace

TEST_CASE("ks_2samp: statistic, location and p-values equal scipy 1.10 on every fixture case") {
  int checked = 0;
  for (const auto& c : reference().at("ks_2samp")) {
    const auto a = sample(c.at("seed_a").get<std::uint64_t>(), c.at("n1").get<std::size_t>(), 0.0,
                          1.0, c.at("grid").get<double>());
    const auto b = sample(c.at("seed_b").get<std::uint64_t>(), c.at("n2").get<std::size_t>(),
                          c.at("shift").get<double>(), c.at("scale").get<double>(),
                          c.at("grid").get<double>());
    fd::ks_options opt;
    opt.alternative = parse_alt(c.at("alternative").get<std::string>());
    opt.method = parse_method(c.at("method").get<std::string>());
    const auto r = fd::ks_2samp(a, b, opt);
    INFO("n1=" << a.size() << " n2=" << b.size()
               << " alt=" << c.at("alternative").get<std::string>()
               << " method=" << c.at("method").get<std::string>() << " grid=" << c.at("grid"));
    CHECK(r.statistic == c.at("statistic").get<double>());
    CHECK(r.location == c.at("location").get<double>());
    CHECK(r.sign == c.at("sign").get<int>());
    const auto& pv = c.at("pvalue");
    if (pv.is_null() || std::isnan(pv.get<double>())) {
      CHECK(std::isnan(r.pvalue));
    } else {
      CHECK_THAT(r.pvalue, WithinAbs(pv.get<double>(), 1e-10));
    }
    ++checked;
  }
  CHECK(checked > 200);
}

TEST_CASE("ks_2samp: identical samples give D = 0 and p = 1") {
  const auto a = sample(7, 500, 0.0, 1.0, 0);
  for (auto alt : {fd::alternative::two_sided, fd::alternative::less, fd::alternative::greater}) {
    const auto r = fd::ks_2samp(a, a, {alt, fd::ks_method::automatic, fd::nan_policy::raise});
    CHECK(r.statistic == 0.0);
    CHECK(r.pvalue == 1.0);
  }
}

TEST_CASE("ks_2samp: an empty sample is a typed error naming the sizes") {
  const std::vector<double> a{1.0, 2.0};
  const std::vector<double> empty;
  CHECK_THROWS_AS(fd::ks_2samp(a, empty), funnel::invalid_argument);
  CHECK_THROWS_WITH(fd::ks_2samp(empty, a), ContainsSubstring("n1 = 0"));
}

TEST_CASE("ks_2samp: NaN raises by default and is dropped under nan_policy::omit") {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const std::vector<double> a{0.1, nan, 0.3, 0.5};
  const std::vector<double> a_clean{0.1, 0.3, 0.5};
  const std::vector<double> b{0.2, 0.4, 0.6, 0.8};
  CHECK_THROWS_WITH(fd::ks_2samp(a, b), ContainsSubstring("position 1"));
  fd::ks_options omit;
  omit.nan_policy = fd::nan_policy::omit;
  const auto r1 = fd::ks_2samp(a, b, omit);
  const auto r2 = fd::ks_2samp(a_clean, b);
  CHECK(r1.statistic == r2.statistic);
  CHECK(r1.pvalue == r2.pvalue);
  const std::vector<double> all_nan{nan, nan};
  CHECK_THROWS_AS(fd::ks_2samp(all_nan, b, omit), funnel::invalid_argument);
}

TEST_CASE("ks_2samp: 'auto' switches to the asymptotic formula above 10,000 per sample") {
  const auto a = sample(11, 10001, 0.0, 1.0, 0);
  const auto b = sample(12, 50, 0.0, 1.0, 0);
  CHECK(fd::ks_2samp(a, b).method_used == fd::ks_method::asymptotic);
  const auto c = sample(13, 10000, 0.0, 1.0, 0);
  CHECK(fd::ks_2samp(c, b).method_used == fd::ks_method::exact);
}

TEST_CASE("ks_2samp_pvalue: exact snaps d to the lattice h / lcm(n1, n2) like scipy") {
  double snapped = 0;
  fd::ks_method used = fd::ks_method::automatic;
  const double p = fd::ks_2samp_pvalue(0.3333333, 3, 6, fd::alternative::two_sided,
                                       fd::ks_method::exact, &used, &snapped);
  CHECK(used == fd::ks_method::exact);
  CHECK(snapped == 2.0 / 6.0);
  CHECK(p > 0.0);
  CHECK(p <= 1.0);
  CHECK_THROWS_AS(fd::ks_2samp_pvalue(0.1, 0, 5, fd::alternative::less, fd::ks_method::exact),
                  funnel::invalid_argument);
}
