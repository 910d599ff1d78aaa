// Fuzz target: linear contextual bandit state (bandits::linear_bandit::from_json), then
// selections and predictions for contexts of its dimension, updates, a narrower context through
// the checked path, and a save/reload round trip.
#include <funnel/bandits/linear.hpp>

#include <vector>

#include "fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  funnel::fuzz::expect_typed_errors([&] {
    auto m = funnel::bandits::linear_bandit::from_json(funnel::fuzz::json_of(data, size));
    const std::size_t d = m.options().dimension;
    if (d > 4096) return;  // the d x d state per arm is the loader's to bound, not the probe's
    for (std::size_t salt = 0; salt < 3; ++salt) {
      auto x = funnel::fuzz::probe_row(d, salt);
      for (auto& v : x) v = std::isfinite(v) ? std::clamp(v, -10.0F, 10.0F) : 0.0F;
      const auto dec = m.select(x);
      std::vector<double> pred(m.size());
      m.predict(x, pred);
      funnel::fuzz::expect_typed_errors([&] { m.update(dec.arm, x, 1.0); });
    }
    if (d > 0) {
      const auto narrow = funnel::fuzz::probe_row(d - 1, 0);
      funnel::fuzz::expect_typed_errors([&] { (void)m.select(narrow); });
    }
    (void)funnel::bandits::linear_bandit::from_json(m.to_json());
  });
  return 0;
}
