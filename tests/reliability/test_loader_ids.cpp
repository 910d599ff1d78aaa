// Error ids of funnel's own documents: a field of the wrong type, in any document funnel writes,
// raises parse_error under the id of the reader at fault (`parse_error.<module>.<component>`,
// docs/design.md), not the JSON layer's `parse_error.core.json`. Every top-level field of every
// document is tried.
#include <funnel/drift/detectors.hpp>
#include <funnel/experiments/sequential.hpp>
#include <funnel/scoring/tree_ensemble.hpp>
#include <funnel/scoring/xgboost.hpp>

#include <functional>
#include <string>
#include <vector>

#include "../../fuzz/samples.hpp"
#include "funnel_catch.hpp"

namespace samples = funnel::samples;
using funnel::json;

namespace {

struct document {
  std::string id;                         ///< the id its reader raises, without "parse_error."
  json valid;                             ///< a document funnel wrote
  std::function<void(const json&)> read;  ///< the reader (T::from_json)
};

template <class T>
document doc(std::string id, const T& value) {
  return {std::move(id), value.to_json(), [](const json& j) { (void)T::from_json(j); }};
}

std::vector<document> every_document() {
  namespace fd = funnel::drift;
  std::vector<document> all;
  all.push_back(doc("scoring.logistic_model", samples::logistic()));
  all.push_back(doc("scoring.ftrl_logistic", samples::ftrl()));
  all.push_back(doc("scoring.tree_ensemble", funnel::scoring::load_xgboost(funnel::test::data(
                                                 "trees/xgb/agaricus_logistic.json"))));
  all.push_back(doc("bandits.mab", samples::mab(funnel::bandits::policy_kind::ucb1)));
  all.push_back(
      doc("bandits.linear_bandit", samples::linear(funnel::bandits::linear_kind::lin_ucb)));
  all.push_back(doc("drift.reference_profile", samples::drift_profile()));
  all.push_back(doc("drift.adwin", fd::adwin()));
  all.push_back(doc("drift.page_hinkley", fd::page_hinkley()));
  all.push_back(doc("drift.ddm", fd::ddm()));
  all.push_back(doc("experiments.msprt", funnel::experiments::msprt(1.0)));
  all.push_back(doc("metrics.platt_calibrator", samples::platt()));
  all.push_back(doc("metrics.isotonic_calibrator", samples::isotonic()));
  all.push_back(doc("retrieval.als_model", samples::als()));
  all.push_back(doc("retrieval.popularity_model", samples::popularity()));
  all.push_back(doc("retrieval.covisitation_model", samples::covisitation()));
  all.push_back({"features.pipeline", samples::features_fitted().to_json(),
                 [](const json& j) { (void)funnel::features::any_pipeline::from_json(j); }});
  return all;
}

}  // namespace

TEST_CASE("loader ids: a wrong-typed field raises parse_error under the reader's own id") {
  for (const auto& d : every_document()) {
    INFO(d.id);
    REQUIRE(d.valid.is_object());
    REQUIRE_NOTHROW(d.read(d.valid));
    for (const auto& [key, value] : d.valid.items()) {
      INFO(key);
      json broken = d.valid;
      // A value of the wrong type for this field: an object, which no field that is not one
      // accepts (a number or "inf" text is valid where a double may be infinite), else a number.
      broken[key] = value.is_object() ? json(12345) : json{{"not", "a value of this field"}};
      try {
        d.read(broken);
        FAIL_CHECK("accepted a wrong-typed field");
      } catch (const funnel::parse_error& e) {
        CHECK(e.id() == "parse_error." + d.id);
      }
    }
  }
}

TEST_CASE("loader ids: text that is not JSON at all stays the JSON layer's error") {
  try {
    (void)funnel::parse_json("{\"type\": ", "truncated");
    FAIL("accepted truncated JSON");
  } catch (const funnel::parse_error& e) {
    CHECK(e.id() == "parse_error.core.json");
  }
}
