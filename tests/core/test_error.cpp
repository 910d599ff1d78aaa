#include <funnel/core/error.hpp>

#include <stdexcept>
#include <string>
#include <type_traits>

#include "funnel_catch.hpp"

TEST_CASE("error: message carries the stable id and the formatted detail") {
  try {
    funnel::raise<funnel::parse_error>("scoring.xgboost",
                                       "trees[{}].split_indices[{}] = {} out of range", 3, 7, 120);
    FAIL("raise returned");
  } catch (const funnel::error& e) {
    CHECK(e.id() == "parse_error.scoring.xgboost");
    CHECK(std::string(e.what()) ==
          "[funnel.parse_error.scoring.xgboost] trees[3].split_indices[7] = 120 out of range");
  }
}

namespace {
/// The id and message prefix a kind must produce, checked through the base classes a caller uses.
template <class Error>
void check_kind(const std::string& kind) {
  static_assert(std::is_base_of_v<funnel::error, Error>);
  static_assert(std::is_base_of_v<std::runtime_error, Error>);
  try {
    funnel::raise<Error>("app.where", "detail {}", 42);
    FAIL("raise returned");
  } catch (const std::runtime_error& e) {
    const auto* fe = dynamic_cast<const funnel::error*>(&e);
    REQUIRE(fe != nullptr);
    CHECK(dynamic_cast<const Error*>(&e) != nullptr);
    CHECK(fe->id() == kind + ".app.where");
    CHECK(std::string(e.what()) == "[funnel." + kind + ".app.where] detail 42");
  }
}
}  // namespace

TEST_CASE("error: every kind carries its own id and derives from funnel::error") {
  check_kind<funnel::invalid_argument>("invalid_argument");
  check_kind<funnel::parse_error>("parse_error");
  check_kind<funnel::io_error>("io_error");
  check_kind<funnel::dimension_mismatch>("dimension_mismatch");
  check_kind<funnel::not_fitted>("not_fitted");
  check_kind<funnel::not_found>("not_found");
  check_kind<funnel::unsupported>("unsupported");
  check_kind<funnel::convergence_error>("convergence_error");
  // Kinds are distinct types: a parse_error is not caught as an invalid_argument.
  CHECK_THROWS_AS(([] {
                    try {
                      funnel::raise<funnel::parse_error>("app.x", "a");
                    } catch (const funnel::invalid_argument&) {
                      FAIL("parse_error caught as invalid_argument");
                    }
                  }()),
                  funnel::parse_error);
}

TEST_CASE("error: `where` is <module>.<component> with a module from the fixed list") {
  static_assert(funnel::valid_error_where("core.csv"));
  static_assert(funnel::valid_error_where("scoring.tree_ensemble"));
  static_assert(funnel::valid_error_where("app.ranking_set"));
  CHECK(funnel::valid_error_where("retrieval.hnsw_index"));
  CHECK(funnel::valid_error_where("stats.special_functions"));
  CHECK_FALSE(funnel::valid_error_where("csv"));                   // no module
  CHECK_FALSE(funnel::valid_error_where("drift"));                 // no component
  CHECK_FALSE(funnel::valid_error_where("drift."));                // empty component
  CHECK_FALSE(funnel::valid_error_where("pipeline_config.x"));     // not a module
  CHECK_FALSE(funnel::valid_error_where("scoring.tree.node"));     // three parts
  CHECK_FALSE(funnel::valid_error_where("scoring.TreeEnsemble"));  // not snake_case
  CHECK_FALSE(funnel::valid_error_where("scoring.1tree"));         // starts with a digit
  CHECK_FALSE(funnel::valid_error_where(".csv"));
  CHECK_FALSE(funnel::valid_error_where(""));
}
