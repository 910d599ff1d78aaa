// Fuzz target: XGBoost UBJSON models (funnel::scoring::parse_xgboost_ubj), then use_trees.
#include <funnel/scoring/xgboost.hpp>

#include "use_trees.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  funnel::fuzz::expect_typed_errors([&] {
    const auto m = funnel::scoring::parse_xgboost_ubj(funnel::fuzz::bytes_of(data, size), "fuzz");
    funnel::fuzz::use_trees(m);
  });
  return 0;
}
