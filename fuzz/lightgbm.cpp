// Fuzz target: LightGBM text models (funnel::scoring::parse_lightgbm), then use_trees.
#include <funnel/scoring/lightgbm.hpp>

#include "use_trees.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  funnel::fuzz::expect_typed_errors([&] {
    const auto m = funnel::scoring::parse_lightgbm(funnel::fuzz::text_of(data, size), "fuzz");
    funnel::fuzz::use_trees(m);
  });
  return 0;
}
