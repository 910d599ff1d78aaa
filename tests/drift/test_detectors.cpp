#include <funnel/core/error.hpp>
#include <funnel/drift/detectors.hpp>

#include <string>
#include <vector>

#include "drift_fixtures.hpp"
#include "funnel_catch.hpp"

namespace fd = funnel::drift;
using funnel::test::drift::reference;

namespace {
std::vector<int> stream(const char* name) {
  const auto s = reference().at("river").at(name).get<std::string>();
  std::vector<int> out;
  for (char c : s) out.push_back(c - '0');
  return out;
}
}  // namespace

TEST_CASE("page_hinkley: river's docstring stream detects at index 1006 (value 5)") {
  const auto xs = stream("stream_12345");
  fd::page_hinkley ph;
  std::vector<std::size_t> hits;
  for (std::size_t i = 0; i < xs.size(); ++i) {
    if (ph.update(xs[i])) hits.push_back(i);
  }
  REQUIRE(!hits.empty());
  CHECK(hits.front() == 1006);
  CHECK(xs[1006] == 5);
}

TEST_CASE("ddm: river's docstring stream warns at 1084, drifts at 1334, warns again at 1492") {
  const auto xs = stream("stream_42");
  fd::ddm d;
  std::vector<std::size_t> warnings;
  std::vector<std::size_t> drifts;
  bool print_warning = true;
  for (std::size_t i = 0; i < xs.size(); ++i) {
    d.update(xs[i] == 1);
    if (d.warning_detected() && print_warning) {
      warnings.push_back(i);
      print_warning = false;
    }
    if (d.drift_detected()) {
      drifts.push_back(i);
      print_warning = true;
    }
  }
  REQUIRE(warnings.size() >= 2);
  CHECK(warnings[0] == 1084);
  REQUIRE(!drifts.empty());
  CHECK(drifts[0] == 1334);
  CHECK(warnings[1] == 1492);
}

TEST_CASE("adwin: detects the shift of river's docstring stream shortly after index 1000") {
  const auto xs = stream("stream_12345");
  fd::adwin a;
  std::vector<std::size_t> hits;
  for (std::size_t i = 0; i < xs.size(); ++i) {
    if (a.update(xs[i])) hits.push_back(i);
  }
  REQUIRE(!hits.empty());
  CHECK(hits.front() == 1023);  // river 0.21 docstring: "Change detected at index 1023"
  for (auto h : hits) CHECK(h >= 1000);
  // After the change the window holds only the new regime (mean of range(4, 8) = 5.5).
  CHECK_THAT(a.estimation(), WithinAbs(5.5, 0.2));
}

TEST_CASE("page_hinkley: hand trace with alpha 1, delta 0, threshold 2") {
  // x = 0, 0, 4: means 0, 0, 4/3; dev 0, 0, 8/3; sum_increase 0, 0, 8/3; min 0 -> 8/3 > 2.
  fd::page_hinkley ph(
      {.min_instances = 1, .delta = 0.0, .threshold = 2.0, .alpha = 1.0, .mode = fd::ph_mode::up});
  CHECK_FALSE(ph.update(0));
  CHECK_FALSE(ph.update(0));
  CHECK(ph.update(4));
  CHECK_THAT(ph.increase_statistic(), WithinAbs(8.0 / 3.0, 1e-15));
  CHECK_FALSE(ph.update(0));  // reset after a drift: first value of a new run
  CHECK(ph.count() == 1);
}

TEST_CASE("detectors: constant streams never alarm") {
  fd::adwin a;
  fd::page_hinkley ph;
  fd::ddm d;
  bool any = false;
  for (int i = 0; i < 5000; ++i) {
    any = any || a.update(0.25) || ph.update(0.25) || d.update(i % 4 == 0);
  }
  CHECK_FALSE(any);
}

TEST_CASE("detectors: invalid options are typed errors naming the field") {
  CHECK_THROWS_WITH(fd::adwin({.delta = 0.0}), ContainsSubstring("adwin_options.delta"));
  CHECK_THROWS_WITH(fd::adwin({.clock = 0}), ContainsSubstring("adwin_options.clock"));
  CHECK_THROWS_WITH(fd::adwin({.max_buckets = 0}), ContainsSubstring("adwin_options.max_buckets"));
  CHECK_THROWS_WITH(fd::adwin({.min_window_length = 0}),
                    ContainsSubstring("adwin_options.min_window_length"));
  CHECK_THROWS_WITH(fd::adwin({.grace_period = -1}),
                    ContainsSubstring("adwin_options.grace_period"));
  CHECK_THROWS_AS(fd::adwin({.delta = 0.0}), funnel::invalid_argument);
  CHECK_THROWS_WITH(fd::page_hinkley({.threshold = -1.0}),
                    ContainsSubstring("page_hinkley_options.threshold"));
  CHECK_THROWS_WITH(fd::page_hinkley({.alpha = 1.5}),
                    ContainsSubstring("page_hinkley_options.alpha"));
  CHECK_THROWS_AS(fd::page_hinkley({.threshold = -1.0}), funnel::invalid_argument);
  CHECK_THROWS_WITH(fd::ddm({.warning_threshold = 3.0, .drift_threshold = 2.0}),
                    ContainsSubstring("ddm_options.drift_threshold"));
  CHECK_THROWS_AS(fd::ddm({.warning_threshold = 3.0, .drift_threshold = 2.0}),
                  funnel::invalid_argument);
}

TEST_CASE("page_hinkley, ddm: after a drift the rest of the stream runs as in a fresh detector") {
  const auto ph_xs = stream("stream_12345");
  fd::page_hinkley ph;
  std::size_t i = 0;
  while (i < ph_xs.size() && !ph.update(ph_xs[i])) ++i;
  REQUIRE(i + 1 < ph_xs.size());
  fd::page_hinkley fresh;
  for (std::size_t k = i + 1; k < ph_xs.size(); ++k) {
    INFO("page_hinkley index " << k);
    REQUIRE(ph.update(ph_xs[k]) == fresh.update(ph_xs[k]));
    REQUIRE(ph.count() == fresh.count());
    REQUIRE(ph.increase_statistic() == fresh.increase_statistic());
    REQUIRE(ph.decrease_statistic() == fresh.decrease_statistic());
    if (fresh.drift_detected()) break;  // both reset here; the comparison has made its point
  }

  const auto d_xs = stream("stream_42");
  fd::ddm d;
  i = 0;
  while (i < d_xs.size() && !d.update(d_xs[i] == 1)) ++i;
  REQUIRE(i + 1 < d_xs.size());
  fd::ddm fresh_d;
  for (std::size_t k = i + 1; k < d_xs.size(); ++k) {
    INFO("ddm index " << k);
    REQUIRE(d.update(d_xs[k] == 1) == fresh_d.update(d_xs[k] == 1));
    REQUIRE(d.warning_detected() == fresh_d.warning_detected());
    REQUIRE(d.error_rate() == fresh_d.error_rate());
  }
}
