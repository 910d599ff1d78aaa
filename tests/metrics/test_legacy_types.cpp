#include <funnel/metrics/calibration.hpp>

#include "legacy_types.hpp"

TEST_CASE("calibrators: documents of the previous release (untyped names) still load") {
  const auto dir = funnel::test::module_data("metrics");
  funnel::test::check_legacy_document<funnel::metrics::platt_calibrator>(
      funnel::load_json_file(dir + "legacy_platt_calibrator.json"), "platt_calibrator",
      "funnel.metrics.platt_calibrator", true);
  funnel::test::check_legacy_document<funnel::metrics::isotonic_calibrator>(
      funnel::load_json_file(dir + "legacy_isotonic_calibrator.json"), "isotonic_calibrator",
      "funnel.metrics.isotonic_calibrator", true);
}
