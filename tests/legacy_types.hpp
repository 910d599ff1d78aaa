#pragma once
// Documents written by the previous release (type strings before "funnel.<module>.<component>")
// load, and what they load equals the new round trip.
#include <funnel/core/json.hpp>

#include <string>

#include "funnel_catch.hpp"

namespace funnel::test {

/// The folder of a module's test fixtures, tests/<module>/data.
inline std::string module_data(const std::string& module) {
  return std::string(FUNNEL_TEST_DATA_DIR) + "/../" + module + "/data/";
}

/// `legacy` (a document with the earlier type string `old_type`) loads as T; T writes `new_type`;
/// the new document reads back to the same state; and a current document relabelled with the
/// earlier type still loads to the same state. When `same_version`, the new document differs from
/// the legacy one in its type only.
template <class T>
void check_legacy_document(const json& legacy, const std::string& old_type,
                           const std::string& new_type, bool same_version) {
  REQUIRE(legacy.at("type") == old_type);
  const T loaded = T::from_json(legacy);
  const json current = loaded.to_json();
  CHECK(current.at("type") == new_type);
  CHECK(T::from_json(current).to_json() == current);
  if (same_version) {
    json relabelled = legacy;
    relabelled["type"] = new_type;
    CHECK(current == relabelled);
  }
  json old_label = current;
  old_label["type"] = old_type;
  CHECK(T::from_json(old_label).to_json() == current);
}

}  // namespace funnel::test
