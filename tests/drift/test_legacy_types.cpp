#include <funnel/drift/profile.hpp>

#include "legacy_types.hpp"

TEST_CASE("reference_profile: documents of the previous release (drift.reference_profile) load") {
  const auto dir = funnel::test::module_data("drift");
  const auto legacy = funnel::load_json_file(dir + "legacy_reference_profile.json");
  funnel::test::check_legacy_document<funnel::drift::reference_profile>(
      legacy, "drift.reference_profile", "funnel.drift.reference_profile", true);
  auto current = legacy;
  current["type"] = "funnel.drift.reference_profile";
  CHECK(funnel::drift::reference_profile::from_json(legacy) ==
        funnel::drift::reference_profile::from_json(current));
}
