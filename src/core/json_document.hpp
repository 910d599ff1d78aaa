#pragma once
// Private helper of funnel's loaders (from_json of models, calibrators, policies, monitors,
// detectors): one description of a kind of document serves its writer's header and its reader's
// checks, and the reader's errors carry the component's id.
#include <funnel/core/enum_names.hpp>
#include <funnel/core/error.hpp>
#include <funnel/core/json.hpp>

#include <fmt/format.h>

#include <concepts>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "core/json_extended.hpp"

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

/// Marks a field list's double that may be infinite (running extrema): written as a number or
/// "inf" / "-inf" (extended_to_json), read back by get_extended.
struct extended_double {};

/// `O` or `const O`: the options a fields() list takes, for its writer or its reader.
template <class T, class O>
concept same_as_options = std::same_as<std::remove_const_t<T>, O>;

/// One field list serves a component's writer and its reader: a function template
/// `fields(io, options)` calls `io("key", o.key)` per field, chained, with `(key, value, lo, hi)`
/// for an integer the reader must bound. field_writer writes the fields into a JSON object
/// (enums by name); field_reader reads them back strictly.
class field_writer {
 public:
  explicit field_writer(json& j) noexcept : j_(&j) {}
  template <class T>
  field_writer& operator()(std::string_view key, const T& v) {
    if constexpr (std::is_enum_v<T>) {
      (*j_)[std::string(key)] = std::string(to_string(v));
    } else {
      (*j_)[std::string(key)] = v;
    }
    return *this;
  }
  template <class T, class Lo, class Hi>
  field_writer& operator()(std::string_view key, const T& v, Lo /*lo*/, Hi /*hi*/) {
    return (*this)(key, v);
  }
  field_writer& operator()(std::string_view key, const double& v, extended_double /*tag*/) {
    (*j_)[std::string(key)] = extended_to_json(v);
    return *this;
  }

 private:
  json* j_;
};

/// Reads what a field_writer wrote from `j` (context `ctx` in messages): floating point must be
/// finite, a bounded integer within its bounds, an enum one of its names (parse_error under
/// `where`); other types as json_get.
class field_reader {
 public:
  field_reader(const json& j, std::string_view where, std::string_view ctx) noexcept
      : j_(&j), where_(where), ctx_(ctx) {}
  template <class T>
  field_reader& operator()(std::string_view key, T& v) {
    if constexpr (std::is_enum_v<T>) {
      v = parse_enum<T>(json_get<std::string>(*j_, key, ctx_), where_,
                        fmt::format("{}.{}", ctx_, key));
    } else if constexpr (std::is_floating_point_v<T>) {
      v = json_get_finite<T>(*j_, key, ctx_);
    } else {
      v = json_get<T>(*j_, key, ctx_);
    }
    return *this;
  }
  template <class T, class Lo, class Hi>
  field_reader& operator()(std::string_view key, T& v, Lo lo, Hi hi) {
    v = json_get_in<T>(*j_, key, static_cast<T>(lo), static_cast<T>(hi), ctx_);
    return *this;
  }
  field_reader& operator()(std::string_view key, double& v, extended_double /*tag*/) {
    v = get_extended(*j_, key, ctx_);
    return *this;
  }

 private:
  const json* j_;
  std::string_view where_;
  std::string_view ctx_;
};

}  // namespace funnel::detail
