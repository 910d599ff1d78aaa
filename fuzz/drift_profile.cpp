// Fuzz target: a drift reference profile (drift::reference_profile::from_json), then a live
// profile fed rows and compared with it, a monitor (when the profile ends with the score)
// observing requests through a closing window, the reports' JSON, Prometheus and HTML forms, and
// a save/reload round trip.
#include <funnel/drift/monitor.hpp>
#include <funnel/drift/profile.hpp>

#include <memory>

#include "fuzz_common.hpp"

namespace fd = funnel::drift;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  funnel::fuzz::expect_typed_errors([&] {
    auto profile = fd::reference_profile::from_json(funnel::fuzz::json_of(data, size));
    const std::size_t width = profile.size();
    if (width > 4096) return;
    for (std::size_t f = 0; f < width; ++f) {
      const auto& p = profile.features()[f];
      (void)profile.index_of(p.name);
      for (const double v : {-1e300, -1.0, 0.0, 0.5, 3.0, 1e300}) (void)p.bin_of(v);
      for (std::size_t k = 0; k < p.bins() && k < 64; ++k) (void)p.bin_label(k);
    }
    fd::monitor_options opt;
    opt.window.size = 16;
    opt.window.reservoir = 8;
    opt.min_live_count = 4;
    fd::window_options sliding = opt.window;
    sliding.kind = fd::window_options::kind_t::sliding;
    sliding.slices = 4;
    fd::live_profile live(std::make_shared<const fd::reference_profile>(profile), sliding);
    for (std::size_t r = 0; r < 40; ++r) (void)live.observe(funnel::fuzz::probe_row(width, r));
    const auto report = fd::evaluate(profile, live.window(), live.window_rows(), opt);
    (void)report.to_json();
    (void)report.to_prometheus();
    (void)report.to_html();
    (void)report.drifted();
    funnel::fuzz::expect_typed_errors([&] {
      fd::monitor m(profile, opt);
      if (width == 0) return;
      for (std::size_t r = 0; r < 40; ++r) {
        m.observe(funnel::fuzz::probe_row(width - 1, r), static_cast<float>(r % 7) * 0.1F);
      }
      (void)m.evaluate_now().to_json();
    });
    (void)fd::reference_profile::from_json(profile.to_json());
  });
  return 0;
}
