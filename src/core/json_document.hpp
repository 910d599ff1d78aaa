#pragma once
// Private helper of funnel's loaders (from_json of models, calibrators, policies, monitors,
// detectors): one description of a kind of document serves its writer's header and its reader's
// checks, and the reader's errors carry the component's id.
#include <funnel/core/error.hpp>
#include <funnel/core/json.hpp>

#include <span>
#include <string_view>
#include <utility>

namespace funnel::detail {

/// One kind of JSON document: its `type` string "funnel.<module>.<component>", whose tail
/// "<module>.<component>" is the id of the reader's errors; the newest version this build writes
/// (and reads, from 1); and the `type` string earlier releases wrote for it, if it changed.
struct document_kind {
  std::string_view type;
  int version = 1;
  std::string_view legacy_type = {};

  /// "<module>.<component>": the error id of the document's reader.
  [[nodiscard]] constexpr std::string_view id() const noexcept {
    return type.substr(std::string_view("funnel.").size());
  }
  /// "<component>": how messages name the document.
  [[nodiscard]] constexpr std::string_view component() const noexcept {
    return type.substr(type.rfind('.') + 1);
  }
  /// {"type": type, "version": version}, to which the writer adds its state.
  [[nodiscard]] json header() const { return json_header(type, version); }
};

/// Runs `read` and re-raises a parse_error with the id parse_error.core.json (the strict getters
/// of core/json.hpp) under `where`, with the same message: the vocabulary's error id names the
/// component at fault, which is the document's reader, not the JSON layer. Other errors, and
/// parse_errors the body already raised under its own id, pass through unchanged.
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

/// The body of a from_json: checks `j`'s header against `kind` (its type or the legacy one, a
/// version in [1, kind.version]) and returns read(version), whose JSON field errors carry
/// kind.id() (json_errors_as).
template <class Read>
auto read_document(const json& j, const document_kind& kind, Read&& read) {
  return json_errors_as(kind.id(), [&] {
    const std::span<const std::string_view> legacy(&kind.legacy_type,
                                                   kind.legacy_type.empty() ? 0 : 1);
    const int version = check_json_header(j, kind.type, legacy, kind.version, kind.component());
    return std::forward<Read>(read)(version);
  });
}

}  // namespace funnel::detail
