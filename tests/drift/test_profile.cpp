// Reference and live profiles: per-feature reservoirs that do not depend on other features
// (issue 18, finding 8), exactness against scipy, and the strict profile loader (issue 19).
#include <funnel/core/error.hpp>
#include <funnel/core/json.hpp>
#include <funnel/drift/monitor.hpp>
#include <funnel/drift/profile.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "drift_fixtures.hpp"
#include "funnel_catch.hpp"

namespace fd = funnel::drift;
using funnel::test::drift::sample;

namespace {

bool same_bits(double a, double b) {
  return std::memcmp(&a, &b, sizeof a) == 0;
}

/// The report of feature "a" after 5,000 live rows when the other feature "b" is `b_kind`.
fd::feature_report report_of_a(fd::feature_kind b_kind, std::size_t reservoir) {
  auto ref = std::make_shared<fd::reference_profile>();
  ref->add_numeric("a", sample(1, 3000, 0.0, 1.0, 0));
  const auto b_ref = sample(2, 3000, 0.0, 4.0, 1.0);  // integer codes 0..3
  if (b_kind == fd::feature_kind::numeric) {
    ref->add_numeric("b", b_ref);
  } else {
    ref->add_categorical("b", b_ref);
  }
  fd::window_options w;
  w.kind = fd::window_options::kind_t::unbounded;
  w.reservoir = reservoir;
  fd::live_profile live(ref, w);
  const auto a = sample(3, 5000, 0.05, 1.0, 0);
  const auto b = sample(4, 5000, 0.0, 4.0, 1.0);
  for (std::size_t i = 0; i < a.size(); ++i) {
    const std::vector<double> row{a[i], b[i]};
    live.observe(std::span<const double>(row));
  }
  return fd::evaluate(*ref, live.window(), live.window_rows()).features[0];
}

funnel::json profile_json() {
  fd::reference_profile p;
  p.add_numeric("x", sample(101, 500, 0.0, 1.0, 0));
  p.add_categorical("c", sample(103, 500, 0.0, 4.0, 1.0));
  return p.to_json();
}

}  // namespace

TEST_CASE(
    "live_profile: a feature's KS is bit-identical whether another feature is numeric or "
    "categorical") {
  const auto with_numeric = report_of_a(fd::feature_kind::numeric, 1024);
  const auto with_categorical = report_of_a(fd::feature_kind::categorical, 1024);
  CHECK(with_numeric.evaluated);
  CHECK(same_bits(with_numeric.statistic, with_categorical.statistic));
  CHECK(same_bits(with_numeric.pvalue, with_categorical.pvalue));
  CHECK(same_bits(with_numeric.wasserstein, with_categorical.wasserstein));
  CHECK(same_bits(with_numeric.psi, with_categorical.psi));
}

TEST_CASE(
    "live_profile: a feature's reservoir does not depend on its position or on the other "
    "features") {
  auto one = std::make_shared<fd::reference_profile>();
  one->add_numeric("a", sample(1, 1000, 0.0, 1.0, 0));
  auto three = std::make_shared<fd::reference_profile>();
  three->add_numeric("z", sample(5, 1000, 0.0, 1.0, 0));
  three->add_numeric("y", sample(6, 1000, 0.0, 1.0, 0));
  three->add_numeric("a", sample(1, 1000, 0.0, 1.0, 0));
  fd::window_options w;
  w.size = 4000;
  w.reservoir = 256;
  fd::live_profile l1(one, w);
  fd::live_profile l3(three, w);
  const auto a = sample(7, 4000, 0.0, 1.0, 0);
  const auto noise = sample(8, 4000, 0.0, 1.0, 0);
  for (std::size_t i = 0; i < a.size(); ++i) {
    const std::vector<double> r1{a[i]};
    const std::vector<double> r3{noise[i], noise[(i * 7) % noise.size()], a[i]};
    l1.observe(std::span<const double>(r1));
    l3.observe(std::span<const double>(r3));
  }
  REQUIRE(l1.window()[0].sample.size() == 256);
  CHECK(l1.window()[0].sample == l3.window()[2].sample);
}

TEST_CASE("monitor: when the reservoir holds the whole window, KS and W1 equal scipy 1.10") {
  const auto fx = funnel::load_json_file(funnel::test::data("drift/monitor_ks.json"));
  REQUIRE(fx["cases"].size() == 4);
  for (const auto& c : fx["cases"]) {
    const auto& r = c["reference"];
    const auto& l = c["live"];
    const auto ref_values = sample(r[0].get<std::uint64_t>(), r[1].get<std::size_t>(),
                                   r[2].get<double>(), r[3].get<double>(), r[4].get<double>());
    const auto live_values = sample(l[0].get<std::uint64_t>(), l[1].get<std::size_t>(),
                                    l[2].get<double>(), l[3].get<double>(), l[4].get<double>());
    auto p = std::make_shared<fd::reference_profile>();
    p->add_numeric("x", ref_values);  // n <= max_reference_sample: every value is kept
    fd::window_options w;
    w.size = live_values.size();
    w.reservoir = live_values.size();  // the reservoir holds the whole window
    fd::live_profile live(p, w);
    for (double v : live_values) {
      const std::vector<double> row{v};
      live.observe(std::span<const double>(row));
    }
    const auto rep = fd::evaluate(*p, live.window(), live.window_rows());
    INFO("case seeds " << r[0] << ", " << l[0]);
    CHECK(rep.features[0].statistic == c["statistic"].get<double>());
    CHECK(std::fabs(rep.features[0].pvalue - c["pvalue"].get<double>()) <=
          1e-10 * std::max(1e-300, c["pvalue"].get<double>()) + 1e-15);
    CHECK(std::fabs(rep.features[0].wasserstein - c["wasserstein"].get<double>()) <= 1e-12);
  }
}

TEST_CASE("reference_profile: 1e999 in a profile file is a parse_error") {
  const auto text = profile_json().dump();
  const auto dir = funnel::test::scratch_dir("drift-hostile");
  std::string bad = text;
  const std::string key = "\"count\":";
  const auto at = bad.find(key);
  REQUIRE(at != std::string::npos);
  const auto end = bad.find_first_of(",}", at + key.size());
  bad.replace(at + key.size(), end - at - key.size(), "1e999");
  {
    std::ofstream f(dir / "bad.json");
    f << bad;
  }
  CHECK_THROWS_AS(fd::reference_profile::load(dir / "bad.json"), funnel::parse_error);
}

TEST_CASE(
    "reference_profile: negative, non-finite, mistyped or inconsistent counts are "
    "parse_errors naming the field") {
  const auto j = profile_json();
  const auto bad = [&](auto edit) {
    auto k = j;
    edit(k);
    return k;
  };
  CHECK_THROWS_WITH(
      fd::reference_profile::from_json(bad([](auto& k) { k["features"][0]["count"] = -1; })),
      ContainsSubstring("('x')"));
  CHECK_THROWS_AS(
      fd::reference_profile::from_json(bad([](auto& k) { k["features"][0]["missing"] = -1; })),
      funnel::parse_error);
  CHECK_THROWS_WITH(
      fd::reference_profile::from_json(bad([](auto& k) { k["features"][1]["counts"][0] = -1; })),
      ContainsSubstring("('c').counts"));
  CHECK_THROWS_AS(fd::reference_profile::from_json(bad([](auto& k) {
                    k["features"][0]["counts"][0] = std::numeric_limits<double>::infinity();
                  })),
                  funnel::parse_error);
  CHECK_THROWS_AS(fd::reference_profile::from_json(bad([](auto& k) {
                    k["features"][0]["sample"][3] = std::numeric_limits<double>::quiet_NaN();
                  })),
                  funnel::parse_error);
  CHECK_THROWS_AS(
      fd::reference_profile::from_json(bad([](auto& k) { k["features"][0]["count"] = true; })),
      funnel::parse_error);
  CHECK_THROWS_AS(
      fd::reference_profile::from_json(bad([](auto& k) { k["features"][0]["edges"][0] = "0.5"; })),
      funnel::parse_error);
  // Counts that do not add up to `count`, and a huge count the bins do not hold.
  CHECK_THROWS_WITH(
      fd::reference_profile::from_json(bad([](auto& k) { k["features"][0]["count"] = 1e18; })),
      ContainsSubstring("add up"));
  CHECK_THROWS_AS(
      fd::reference_profile::from_json(bad([](auto& k) { k["features"][0]["counts"][0] = 1e300; })),
      funnel::parse_error);
  // Numeric without a sample; a sample longer than the count; categories on a numeric feature.
  CHECK_THROWS_AS(fd::reference_profile::from_json(
                      bad([](auto& k) { k["features"][0]["sample"] = funnel::json::array(); })),
                  funnel::parse_error);
  CHECK_THROWS_AS(fd::reference_profile::from_json(bad(
                      [](auto& k) { k["features"][0]["categories"] = std::vector<double>{1.0}; })),
                  funnel::parse_error);
  CHECK_THROWS_AS(fd::reference_profile::from_json(bad([](auto& k) {
                    k["features"][1]["count"] = 0;
                    for (auto& c : k["features"][1]["counts"]) c = 0;
                  })),
                  funnel::parse_error);
  // The unmodified document loads and round-trips.
  CHECK(fd::reference_profile::from_json(j).to_json() == j);
}

TEST_CASE(
    "reference_profile: any leaf replaced by a hostile value is a funnel error or a usable "
    "profile") {
  const auto j = profile_json();
  std::vector<funnel::json::json_pointer> all;
  const auto walk = [&](const auto& self, const funnel::json& v,
                        const funnel::json::json_pointer& at) -> void {
    if (v.is_object()) {
      for (const auto& [k, x] : v.items()) self(self, x, at / k);
    } else if (v.is_array()) {
      for (std::size_t i = 0; i < v.size(); ++i) self(self, v[i], at / i);
    } else {
      all.push_back(at);
    }
  };
  walk(walk, j, funnel::json::json_pointer());
  const std::vector<funnel::json> hostile = {
      funnel::json(-1),      funnel::json(1e300),
      funnel::json(true),    funnel::json("x"),
      funnel::json(nullptr), funnel::json(std::numeric_limits<double>::quiet_NaN()),
      funnel::json::array()};
  std::size_t rejected = 0;
  for (const auto& ptr : all) {
    for (const auto& v : hostile) {
      auto k = j;
      k[ptr] = v;
      try {
        const auto p =
            std::make_shared<const fd::reference_profile>(fd::reference_profile::from_json(k));
        // Loaded: a window over it and an evaluation work.
        fd::window_options w;
        w.kind = fd::window_options::kind_t::unbounded;
        fd::live_profile live(p, w);
        for (int i = 0; i < 200; ++i) {
          const std::vector<double> row{i / 200.0, static_cast<double>(i % 4)};
          live.observe(std::span<const double>(row));
        }
        (void)fd::evaluate(*p, live.window(), live.window_rows());
      } catch (const funnel::error&) {
        ++rejected;
      }
    }
  }
  CHECK(rejected > all.size() * 3);
}

TEST_CASE("profiles: huge bins or slices are invalid_argument before any work") {
  fd::reference_profile p;
  fd::profile_options po;
  po.bins = std::size_t{1} << 40;
  CHECK_THROWS_AS(p.add_numeric("x", sample(1, 100, 0, 1, 0), po), funnel::invalid_argument);
  po.bins = 10;
  po.max_reference_sample = 0;
  CHECK_THROWS_AS(p.add_numeric("x", sample(1, 100, 0, 1, 0), po), funnel::invalid_argument);
  p.add_numeric("x", sample(1, 100, 0, 1, 0));
  auto ref = std::make_shared<const fd::reference_profile>(p);
  fd::window_options w;
  w.kind = fd::window_options::kind_t::sliding;
  w.size = std::size_t{1} << 40;
  w.slices = std::size_t{1} << 39;
  CHECK_THROWS_AS(fd::live_profile(ref, w), funnel::invalid_argument);
}
