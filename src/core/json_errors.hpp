#pragma once
// Private helper of funnel's loaders (from_json of models, calibrators, policies, monitors): the
// strict JSON getters of core/json.hpp raise parse_error.core.json, but the vocabulary's error id
// names the component at fault, which is the document's reader, not the JSON layer.
#include <funnel/core/error.hpp>

#include <string_view>
#include <utility>

namespace funnel::detail {

/// Runs `read` (the body of a from_json) and re-raises a parse_error with the id
/// parse_error.core.json as parse_error under `where` (the loader's `<module>.<component>`), with
/// the same message. Other errors, and parse_errors the body already raised under its own id,
/// pass through unchanged.
template <class Read>
auto json_errors_as(std::string_view where, Read&& read) {
  try {
    return std::forward<Read>(read)();
  } catch (const parse_error& e) {
    constexpr std::string_view json_id = "parse_error.core.json";
    if (e.id() != json_id) throw;
    // what() is "[funnel.<id>] <message>".
    const std::string_view what = e.what();
    raise<parse_error>(where, "{}",
                       what.substr(std::string_view("[funnel.] ").size() + json_id.size()));
  }
}

}  // namespace funnel::detail
