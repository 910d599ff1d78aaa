// Detectors' JSON round trip: a restored detector continues bit for bit, and a corrupt document
// is a typed parse_error naming the field.
#include <funnel/core/error.hpp>
#include <funnel/core/json.hpp>
#include <funnel/drift/detectors.hpp>

#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

#include "funnel_catch.hpp"

namespace fd = funnel::drift;

namespace {

/// A stream with a shift at 600 and a second at 1300, deterministic.
std::vector<double> shifting_stream() {
  std::vector<double> xs;
  std::uint64_t s = 12345;
  for (std::size_t i = 0; i < 2000; ++i) {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    const double u = static_cast<double>(s >> 11) * 0x1.0p-53;
    const double level = i < 600 ? 0.2 : (i < 1300 ? 0.7 : 0.4);
    xs.push_back(level + (u - 0.5) * 0.3);
  }
  return xs;
}

/// Feeds `xs` to `d`; at each of `cuts` restores a copy through JSON (and through a file at the
/// first cut) and checks both continue identically to the end: the same update results, the same
/// state (to_json text) after every value.
template <class D, class Feed>
void check_continues(D d, const std::vector<double>& xs, std::vector<std::size_t> cuts, Feed feed) {
  const auto dir = std::filesystem::temp_directory_path() / "funnel_test_detectors_json";
  std::filesystem::create_directories(dir);
  for (std::size_t cut : cuts) {
    D original = d;
    for (std::size_t i = 0; i < cut; ++i) feed(original, xs[i]);
    D restored = D::from_json(funnel::parse_json(original.to_json().dump(), "doc"));
    if (cut == cuts.front()) {
      original.save(dir / "d.json");
      restored = D::load(dir / "d.json");
    }
    REQUIRE(restored.to_json() == original.to_json());
    for (std::size_t i = cut; i < xs.size(); ++i) {
      const bool a = feed(original, xs[i]);
      const bool b = feed(restored, xs[i]);
      REQUIRE(a == b);
      REQUIRE(restored.to_json().dump() == original.to_json().dump());
    }
  }
  std::filesystem::remove_all(dir);
}

template <class D>
void check_rejects(const funnel::json& good, const std::string& key, const funnel::json& bad,
                   const std::string& names) {
  funnel::json j = good;
  j[key] = bad;
  CHECK_THROWS_AS(D::from_json(j), funnel::parse_error);
  CHECK_THROWS_WITH(D::from_json(j), ContainsSubstring(names));
}

}  // namespace

TEST_CASE("adwin: a restored detector continues bit for bit") {
  const auto xs = shifting_stream();
  auto feed = [](fd::adwin& d, double x) { return d.update(x); };
  check_continues(fd::adwin(), xs, {0, 1, 37, 600, 650, 1301, 1999}, feed);
  check_continues(fd::adwin(fd::adwin_options{0.1, 1, 2, 3, 0}), xs, {5, 700}, feed);
  fd::adwin d;
  std::size_t detections = 0;
  for (double x : xs) detections += d.update(x) ? 1 : 0;
  CHECK(detections >= 1);  // the stream does exercise a cut
}

TEST_CASE("page_hinkley, ddm: a restored detector continues bit for bit") {
  const auto xs = shifting_stream();
  check_continues(
      fd::page_hinkley(fd::page_hinkley_options{30, 0.005, 5.0, 1 - 0.0001, fd::ph_mode::both}), xs,
      {0, 1, 29, 30, 640, 1500}, [](fd::page_hinkley& d, double x) { return d.update(x); });
  check_continues(
      fd::page_hinkley(fd::page_hinkley_options{10, 0.01, 3.0, 0.99, fd::ph_mode::down}), xs,
      {0, 700}, [](fd::page_hinkley& d, double x) { return d.update(x); });
  check_continues(fd::ddm(), xs, {0, 1, 30, 31, 650, 1400},
                  [](fd::ddm& d, double x) { return d.update(x > 0.45); });
}

TEST_CASE("detectors: the documents carry type, version, parameters and infinite extrema") {
  const auto j = fd::page_hinkley().to_json();
  CHECK(j.at("type") == "funnel.drift.page_hinkley");
  CHECK(j.at("version") == 1);
  CHECK(j.at("min_increase") == "inf");
  CHECK(j.at("mode") == "both");
  CHECK(fd::ddm().to_json().at("ps_min") == "inf");
  CHECK(fd::adwin().to_json().at("type") == "funnel.drift.adwin");
}

TEST_CASE("adwin: corrupt documents are parse_errors naming the field") {
  fd::adwin d;
  for (int i = 0; i < 300; ++i) d.update(i % 7 * 0.1);
  const auto good = d.to_json();
  REQUIRE(good.at("rows").size() >= 3);
  check_rejects<fd::adwin>(good, "delta", 1.5, "delta");
  check_rejects<fd::adwin>(good, "delta", "x", "adwin.delta");
  check_rejects<fd::adwin>(good, "clock", 0, "adwin.clock");
  check_rejects<fd::adwin>(good, "max_buckets", 100000, "adwin.max_buckets");
  check_rejects<fd::adwin>(good, "grace_period", -1, "adwin.grace_period");
  check_rejects<fd::adwin>(good, "width", 3.0, "adwin.width");
  check_rejects<fd::adwin>(good, "tick", -1, "adwin.tick");
  check_rejects<fd::adwin>(good, "drift", 1, "adwin.drift");
  check_rejects<fd::adwin>(good, "rows", funnel::json::array(), "adwin.rows");
  check_rejects<fd::adwin>(good, "rows", funnel::json::array({1}), "adwin.rows[0]");
  {
    funnel::json j = good;
    j["rows"][1]["total"].push_back(1.0);  // totals and variances disagree
    CHECK_THROWS_WITH(fd::adwin::from_json(j), ContainsSubstring("adwin.rows[1]"));
    j = good;
    for (int k = 0; k < 6; ++k) {  // more buckets than max_buckets
      j["rows"][0]["total"].push_back(0.0);
      j["rows"][0]["var"].push_back(0.0);
    }
    CHECK_THROWS_AS(fd::adwin::from_json(j), funnel::parse_error);
    j = good;
    j["rows"].back()["total"] = funnel::json::array();
    j["rows"].back()["var"] = funnel::json::array();
    CHECK_THROWS_AS(fd::adwin::from_json(j), funnel::parse_error);
    j = good;
    j["rows"][0]["var"] = funnel::json::array();
    for (std::size_t k = 0; k < good["rows"][0]["total"].size(); ++k)
      j["rows"][0]["var"].push_back(-1.0);
    CHECK_THROWS_AS(fd::adwin::from_json(j), funnel::parse_error);
    j = good;
    j.erase("variance");
    CHECK_THROWS_WITH(fd::adwin::from_json(j), ContainsSubstring("missing field 'variance'"));
    j = good;
    j["type"] = "funnel.drift.ddm";
    CHECK_THROWS_AS(fd::adwin::from_json(j), funnel::parse_error);
    j = good;
    j["version"] = 2;
    CHECK_THROWS_AS(fd::adwin::from_json(j), funnel::parse_error);
  }
  funnel::json j = good;
  j["delta"] = 0.0;  // the constructor's invalid_argument becomes the loader's parse_error
  try {
    (void)fd::adwin::from_json(j);
    FAIL("delta 0 accepted");
  } catch (const funnel::error& e) {
    CHECK(e.id() == "parse_error.drift.adwin");
  }
}

TEST_CASE("page_hinkley, ddm: corrupt documents are parse_errors naming the field") {
  fd::page_hinkley ph;
  for (int i = 0; i < 50; ++i) ph.update(i * 0.1);
  const auto p = ph.to_json();
  check_rejects<fd::page_hinkley>(p, "threshold", 0.0, "threshold");
  check_rejects<fd::page_hinkley>(p, "alpha", 2.0, "alpha");
  check_rejects<fd::page_hinkley>(p, "mode", "sideways", "page_hinkley.mode");
  check_rejects<fd::page_hinkley>(p, "count", -3, "page_hinkley.count");
  check_rejects<fd::page_hinkley>(p, "count", 1e300, "page_hinkley.count");
  check_rejects<fd::page_hinkley>(p, "min_increase", "nan", "page_hinkley.min_increase");
  check_rejects<fd::page_hinkley>(p, "mean", true, "page_hinkley.mean");
  check_rejects<fd::page_hinkley>(p, "min_instances", -1, "page_hinkley.min_instances");
  fd::ddm d;
  for (int i = 0; i < 50; ++i) d.update(i % 3 == 0);
  const auto q = d.to_json();
  check_rejects<fd::ddm>(q, "drift_threshold", 1.0, "drift_threshold");
  check_rejects<fd::ddm>(q, "error_rate", 1.5, "ddm.error_rate");
  check_rejects<fd::ddm>(q, "ps_min", "-infinity", "ddm.ps_min");
  check_rejects<fd::ddm>(q, "warning", "yes", "ddm.warning");
  check_rejects<fd::ddm>(q, "count", 2.5, "ddm.count");
  CHECK_THROWS_AS(fd::ddm::from_json(funnel::json::array()), funnel::parse_error);
  CHECK_THROWS_AS(fd::ddm::load("/nonexistent/funnel/ddm.json"), funnel::io_error);
}
