// Fuzz target: funnel's own tree-ensemble JSON (tree_ensemble::from_json), then use_trees.
#include "use_trees.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  funnel::fuzz::expect_typed_errors([&] {
    const auto m = funnel::scoring::tree_ensemble::from_json(funnel::fuzz::json_of(data, size));
    funnel::fuzz::use_trees(m);
  });
  return 0;
}
