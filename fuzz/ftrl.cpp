// Fuzz target: FTRL learner state (ftrl_logistic::from_json), then predictions, a few updates,
// the exported logistic model, and a save/reload round trip.
#include <funnel/scoring/logistic_ftrl.hpp>

#include "use_logistic.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  funnel::fuzz::expect_typed_errors([&] {
    auto f = funnel::scoring::ftrl_logistic::from_json(funnel::fuzz::json_of(data, size));
    const std::size_t width = f.options().num_features;
    std::vector<std::uint32_t> idx;
    for (std::size_t i = 0; i < std::min<std::size_t>(width, 4); ++i) {
      idx.push_back(static_cast<std::uint32_t>(i));
    }
    if (width > 4) idx.push_back(static_cast<std::uint32_t>(width - 1));
    const std::vector<float> val(idx.size(), 1.0F);
    const funnel::sparse_row_view x{idx, val};
    (void)f.predict(x);
    for (int k = 0; k < 4; ++k) (void)f.update(x, k % 2);
    (void)f.weight(0);
    (void)f.intercept();
    funnel::fuzz::expect_typed_errors([&] { funnel::fuzz::use_logistic(f.to_model()); });
    (void)funnel::scoring::ftrl_logistic::from_json(f.to_json());
  });
  return 0;
}
