#include <funnel/core/error.hpp>

#include "funnel_catch.hpp"

TEST_CASE("error: message carries the stable id and the formatted detail") {
  try {
    funnel::raise<funnel::parse_error>("xgboost", "trees[{}].split_indices[{}] = {} out of range",
                                       3, 7, 120);
    FAIL("raise returned");
  } catch (const funnel::error& e) {
    CHECK(e.id() == "parse_error.xgboost");
    CHECK(std::string(e.what()) ==
          "[funnel.parse_error.xgboost] trees[3].split_indices[7] = 120 out of range");
  }
}

TEST_CASE("error: every kind derives from funnel::error and std::runtime_error") {
  CHECK_THROWS_AS(funnel::raise<funnel::invalid_argument>("x", "a"), funnel::error);
  CHECK_THROWS_AS(funnel::raise<funnel::io_error>("x", "a"), std::runtime_error);
  CHECK_THROWS_AS(funnel::raise<funnel::dimension_mismatch>("x", "a"), funnel::dimension_mismatch);
  CHECK_THROWS_AS(funnel::raise<funnel::not_fitted>("x", "a"), funnel::not_fitted);
  CHECK_THROWS_AS(funnel::raise<funnel::not_found>("x", "a"), funnel::not_found);
  CHECK_THROWS_AS(funnel::raise<funnel::unsupported>("x", "a"), funnel::unsupported);
  CHECK_THROWS_AS(funnel::raise<funnel::convergence_error>("x", "a"), funnel::convergence_error);
  try {
    funnel::raise<funnel::not_fitted>("standard_scaler", "transform before fit");
  } catch (const funnel::error& e) {
    CHECK(e.id() == "not_fitted.standard_scaler");
  }
}
