#pragma once
/// @file serialize.hpp
/// @brief One way to save and load funnel's own files: `save_json(obj, path)` writes
/// `obj.to_json()` atomically (write_file_atomic) and `load_json<T>(path)` reads the file back
/// through `T::from_json`. A model, policy, monitor or detector gets its member `save(path)` and
/// static `load(path)` from these, by deriving from `json_file_io<T>`.

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

/// @brief The file members of a type `T` with the JSON round trip (JsonSerializable), written
/// once: `T` derives from `json_file_io<T>` and gets `save(path)` (save_json, `Indent` as its
/// indent: -1 compact, >= 0 pretty-printed) and static `load(path)` (load_json<T>).
///
/// @code
/// class ddm : public funnel::json_file_io<ddm, 1> {
///  public:
///   [[nodiscard]] json to_json() const;
///   [[nodiscard]] static ddm from_json(const json& j);
/// };
/// ddm::load("ddm.json").save("copy.json");
/// @endcode
template <class T, int Indent = -1>
class json_file_io {
 public:
  /// @brief Atomic save of to_json() (see save_json). @throws io_error.
  void save(const std::filesystem::path& path) const {
    save_json(static_cast<const T&>(*this), path, Indent);
  }
  /// @brief Loads a file written by save(). @throws io_error, parse_error naming the field.
  [[nodiscard]] static T load(const std::filesystem::path& path) { return load_json<T>(path); }
  /// It holds nothing, so it never makes a defaulted comparison of `T` differ.
  friend bool operator==(const json_file_io&, const json_file_io&) = default;

 protected:
  json_file_io() = default;
};

}  // namespace funnel
