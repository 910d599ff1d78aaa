#pragma once
// The rule every trainer applies to the feature names it keeps on its model: the names key the
// model's columns (serving binds a pipeline by them), so none is empty and none repeats.
#include <funnel/core/error.hpp>

#include <set>
#include <span>
#include <string>
#include <string_view>

namespace funnel::scoring::detail {

/// @throws invalid_argument under `where` naming the first empty or repeated name.
inline void check_unique_names(std::span<const std::string> names, std::string_view where) {
  std::set<std::string_view> seen;
  for (std::size_t f = 0; f < names.size(); ++f) {
    if (names[f].empty() || !seen.insert(names[f]).second) {
      raise<invalid_argument>(where, "feature_names[{}] = '{}' is empty or appears twice", f,
                              names[f]);
    }
  }
}

}  // namespace funnel::scoring::detail
