#pragma once
/// @file json.hpp
/// @brief funnel's JSON conventions: every saved object carries `type` and `version`; loading
/// checks both and reads fields with errors that name the field and what was wrong.

#include <funnel/core/error.hpp>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>
#include <string_view>

namespace funnel {

/// @brief The JSON value type used throughout funnel.
using json = nlohmann::json;

/// @brief A new JSON object `{"type": type, "version": version}` to which a component adds its
/// state.
[[nodiscard]] json json_header(std::string_view type, int version);

/// @brief Checks `j` is an object whose `type` equals `type` and whose `version` is in
/// [1, max_version]; returns the version. @throws parse_error naming `context` and the field.
int check_json_header(const json& j, std::string_view type, int max_version,
                      std::string_view context = "");

/// @brief `j[key]`, or parse_error "<context>: missing field '<key>'" if absent.
[[nodiscard]] const json& json_field(const json& j, std::string_view key,
                                     std::string_view context = "");

/// @brief `j[key]` converted to T, with a parse_error naming the field when missing or of the
/// wrong type (e.g. "scaler.mean: expected array of number, found string").
template <class T>
[[nodiscard]] T json_get(const json& j, std::string_view key, std::string_view context = "") {
  const json& v = json_field(j, key, context);
  try {
    return v.get<T>();
  } catch (const nlohmann::json::exception& e) {
    raise<parse_error>("json", "{}{}{}: wrong type ({}): {}", context, context.empty() ? "" : ".",
                       key, v.type_name(), e.what());
  }
}

/// @brief Parses JSON text; `source` names the file or buffer in errors. @throws parse_error.
[[nodiscard]] json parse_json(std::string_view text, std::string_view source);

/// @brief Reads and parses a JSON file. @throws io_error, parse_error.
[[nodiscard]] json load_json_file(const std::filesystem::path& path);

/// @brief Writes `j` to `path` atomically (see write_file_atomic). `indent` < 0 writes compactly.
/// Floats are written with 17 significant digits (doubles) so values round-trip bit for bit.
void save_json_file(const std::filesystem::path& path, const json& j, int indent = 1);

}  // namespace funnel
