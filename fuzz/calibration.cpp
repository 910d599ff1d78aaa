// Fuzz target: score calibrators (metrics::platt_calibrator / isotonic_calibrator ::from_json;
// the document's type picks which one accepts it), then predictions over the whole line
// including infinities and NaN, and a save/reload round trip.
#include <funnel/metrics/calibration.hpp>

#include <limits>

#include "fuzz_common.hpp"

namespace {
template <class C>
void use(const C& c) {
  constexpr double inf = std::numeric_limits<double>::infinity();
  for (const double s : {-inf, -1e300, -1.0, 0.0, 1e-300, 0.25, 0.5, 1.0, 1e300, inf,
                         std::numeric_limits<double>::quiet_NaN()}) {
    (void)c.predict(s);
  }
  (void)C::from_json(c.to_json());
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  funnel::fuzz::expect_typed_errors([&] {
    const auto j = funnel::fuzz::json_of(data, size);
    funnel::fuzz::expect_typed_errors(
        [&] { use(funnel::metrics::platt_calibrator::from_json(j)); });
    funnel::fuzz::expect_typed_errors(
        [&] { use(funnel::metrics::isotonic_calibrator::from_json(j)); });
  });
  return 0;
}
