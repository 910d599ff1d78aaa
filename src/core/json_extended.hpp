#pragma once
// Private helpers shared by loaders of streaming state (drift detectors, the sequential test):
// doubles that may be infinite, and parameters validated by a constructor.
#include <funnel/core/error.hpp>
#include <funnel/core/json.hpp>

#include <cmath>
#include <limits>
#include <string>
#include <string_view>
#include <utility>

namespace funnel::detail {

/// A double that may be infinite (running extrema, interval ends): a number, or the string
/// "inf" / "-inf".
inline json extended_to_json(double v) {
  if (std::isinf(v)) return v > 0 ? json("inf") : json("-inf");
  return json(v);
}

/// Reads what extended_to_json wrote. @throws parse_error naming the field on anything else.
inline double get_extended(const json& j, std::string_view key, std::string_view ctx) {
  const json& v = json_field(j, key, ctx);
  if (v.is_string()) {
    const auto& s = v.get_ref<const std::string&>();
    if (s == "inf") return std::numeric_limits<double>::infinity();
    if (s == "-inf") return -std::numeric_limits<double>::infinity();
    raise<parse_error>("core.json", "{}.{}: expected a number, \"inf\" or \"-inf\", found {}", ctx,
                       key, json_preview(v));
  }
  return json_get_finite<double>(j, key, ctx);
}

/// Runs `make` (a constructor on parameters read from a document) and turns its
/// invalid_argument into the parse_error a loader throws.
template <class Make>
auto construct_from_json(std::string_view where, Make&& make) {
  try {
    return std::forward<Make>(make)();
  } catch (const invalid_argument& e) {
    raise<parse_error>(where, "parameters: {}", e.what());
  }
}

}  // namespace funnel::detail
