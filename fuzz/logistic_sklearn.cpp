// Fuzz target: scikit-learn LogisticRegression exported as JSON
// (from_sklearn_json), then use_logistic.
#include "use_logistic.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  funnel::fuzz::expect_typed_errors([&] {
    funnel::fuzz::use_logistic(
        funnel::scoring::from_sklearn_json(funnel::fuzz::json_of(data, size)));
  });
  return 0;
}
