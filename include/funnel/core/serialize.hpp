#pragma once
/// @file serialize.hpp
/// @brief One way to save and load funnel's own files: `save_json(obj, path)` writes
/// `obj.to_json()` atomically (write_file_atomic) and `load_json<T>(path)` reads the file back
/// through `T::from_json`. Every model, policy, monitor and detector's member `save(path)` and
/// static `load(path)` is a one-line call to these.

#include <funnel/core/json.hpp>

#include <concepts>
#include <filesystem>

namespace funnel {

/// @brief A type with funnel's JSON round trip: `json to_json() const` and
/// `static T from_json(const json&)` (the document carries `type` and `version`, see json.hpp).
template <class T>
concept JsonSerializable = requires(const T& t, const json& j) {
  { t.to_json() } -> std::convertible_to<json>;
  { T::from_json(j) } -> std::same_as<T>;
};

/// @brief Writes `value.to_json()` to `path` atomically (a crash leaves the previous file or the
/// new one, never a torn file). `indent` < 0 writes compactly (large models), >= 0 pretty-prints
/// (small human-readable state). @throws io_error.
template <JsonSerializable T>
void save_json(const T& value, const std::filesystem::path& path, int indent = -1) {
  save_json_file(path, value.to_json(), indent);
}

/// @brief Reads `path` and returns `T::from_json` of it. @throws io_error (unreadable file),
/// parse_error (malformed JSON or a document `T` rejects, naming the field).
template <JsonSerializable T>
[[nodiscard]] T load_json(const std::filesystem::path& path) {
  return T::from_json(load_json_file(path));
}

}  // namespace funnel
