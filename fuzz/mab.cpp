// Fuzz target: multi-armed bandit state (bandits::mab::from_json), then selections, propensities,
// a slate, rewards, a replica merged back, and a save/reload round trip.
#include <funnel/bandits/mab.hpp>

#include <algorithm>
#include <vector>

#include "fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  funnel::fuzz::expect_typed_errors([&] {
    auto m = funnel::bandits::mab::from_json(funnel::fuzz::json_of(data, size));
    for (int i = 0; i < 4; ++i) {
      const auto d = m.select();
      funnel::fuzz::expect_typed_errors([&] { m.update(d.arm, i % 2 == 0 ? 1.0 : 0.0); });
    }
    std::vector<double> p(m.size());
    m.propensities(p);
    const std::size_t k = std::min<std::size_t>(m.size(), 3);
    std::vector<funnel::bandits::decision> slate(k);
    m.select_slate(k, slate);
    funnel::fuzz::expect_typed_errors([&] {
      auto r = m.replica(7);
      (void)r.select();
      m.merge(r);
    });
    (void)m.arms();
    (void)funnel::bandits::mab::from_json(m.to_json());
  });
  return 0;
}
