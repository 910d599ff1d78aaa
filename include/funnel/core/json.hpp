#pragma once
/// @file json.hpp
/// @brief funnel's JSON conventions: every saved object carries `type` and `version`; loading
/// checks both and reads fields with errors that name the field and what was wrong.
///
/// This is the one strict JSON layer every loader reads through. Untrusted documents are parsed
/// with a nesting bound (json_max_depth), every nlohmann exception becomes a funnel::parse_error,
/// numbers are read strictly (a boolean is not a number, 2^40 is not an int, 1e999 is an error),
/// and untrusted values are never dumped whole into a message (json_preview).

#include <funnel/core/error.hpp>

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace funnel {

/// @brief The JSON value type used throughout funnel.
using json = nlohmann::json;

/// @brief Deepest nesting of arrays and objects a parsed document may have. funnel's own formats
/// nest at most 8 deep (XGBoost's about 6); the bound keeps every recursive walk (parsing,
/// destruction, dumping) far from the stack's limit.
inline constexpr int json_max_depth = 128;

/// @brief A new JSON object `{"type": type, "version": version}` to which a component adds its
/// state.
[[nodiscard]] json json_header(std::string_view type, int version);

/// @brief Checks `j` is an object whose `type` equals `type` and whose `version` is in
/// [1, max_version]; returns the version. @throws parse_error naming `context` and the field.
int check_json_header(const json& j, std::string_view type, int max_version,
                      std::string_view context = "");

/// @brief check_json_header that also accepts the earlier `type` strings a document was written
/// with (`legacy_types`, listed next to each reader), so files of previous releases still load.
/// Every funnel writer writes `"type": "funnel.<module>.<component>"`.
int check_json_header(const json& j, std::string_view type,
                      std::span<const std::string_view> legacy_types, int max_version,
                      std::string_view context = "");

/// @brief `j[key]`, or parse_error "<context>: missing field '<key>'" if absent.
[[nodiscard]] const json& json_field(const json& j, std::string_view key,
                                     std::string_view context = "");

/// @brief A short, bounded description of an untrusted value for error messages: its type and at
/// most 48 characters of its text (`string "abc"`, `number 1.5`, `array of 3`, `object of 2`).
/// Never recurses into the value.
[[nodiscard]] std::string json_preview(const json& v);

namespace detail {
[[noreturn]] void json_type_error(std::string_view context, std::string_view key,
                                  std::string_view expected, const json& v);
[[noreturn]] void json_range_error(std::string_view context, std::string_view key, const json& v,
                                   std::string_view type_name);

template <class T>
struct is_vector : std::false_type {};
template <class T, class A>
struct is_vector<std::vector<T, A>> : std::true_type {};

/// @brief Strict conversion of one value (see json_get).
template <class T>
T json_convert(const json& v, std::string_view context, std::string_view key) {
  if constexpr (std::is_same_v<T, bool>) {
    if (!v.is_boolean()) json_type_error(context, key, "boolean", v);
    return v.get<bool>();
  } else if constexpr (std::is_integral_v<T>) {
    if (v.is_number_unsigned()) {
      const auto u = v.get<std::uint64_t>();
      if (u > static_cast<std::uint64_t>(std::numeric_limits<T>::max())) {
        json_range_error(context, key, v, "integer");
      }
      return static_cast<T>(u);
    }
    if (v.is_number_integer()) {
      const auto i = v.get<std::int64_t>();
      if constexpr (std::is_unsigned_v<T>) {
        if (i < 0 || static_cast<std::uint64_t>(i) >
                         static_cast<std::uint64_t>(std::numeric_limits<T>::max())) {
          json_range_error(context, key, v, "integer");
        }
      } else {
        if (i < static_cast<std::int64_t>(std::numeric_limits<T>::min()) ||
            i > static_cast<std::int64_t>(std::numeric_limits<T>::max())) {
          json_range_error(context, key, v, "integer");
        }
      }
      return static_cast<T>(i);
    }
    if (v.is_number_float()) {
      // 3.0 is accepted as 3 (writers that only have doubles); 3.5, NaN and 1e300 are not.
      // The bounds are powers of two, exact in a double: (double)max() rounds up to 2^digits,
      // which does not fit, so the upper test is strict.
      const double d = v.get<double>();
      const double hi = std::ldexp(1.0, std::numeric_limits<T>::digits);
      const double lo = std::is_signed_v<T> ? -hi : 0.0;
      if (!(d >= lo && d < hi) || std::trunc(d) != d) json_range_error(context, key, v, "integer");
      return static_cast<T>(d);
    }
    json_type_error(context, key, "integer", v);
  } else if constexpr (std::is_floating_point_v<T>) {
    if (!v.is_number()) json_type_error(context, key, "number", v);
    const double d = v.get<double>();
    if constexpr (std::is_same_v<T, float>) {
      if (std::isfinite(d) &&
          std::abs(d) > static_cast<double>(std::numeric_limits<float>::max())) {
        json_range_error(context, key, v, "float");
      }
    }
    return static_cast<T>(d);
  } else if constexpr (std::is_same_v<T, std::string>) {
    if (!v.is_string()) json_type_error(context, key, "string", v);
    return v.get<std::string>();
  } else if constexpr (is_vector<T>::value) {
    if (!v.is_array()) json_type_error(context, key, "array", v);
    T out;
    out.reserve(v.size());
    for (const auto& e : v) out.push_back(json_convert<typename T::value_type>(e, context, key));
    return out;
  } else {
    try {
      return v.get<T>();
    } catch (const nlohmann::json::exception&) {
      json_type_error(context, key, "a value of the expected type", v);
    }
  }
}
}  // namespace detail

/// @brief `j[key]` converted strictly to T: bool only from a boolean; integers only from integral
/// numbers in T's range (3.0 is accepted as 3); floating point from any number (finite in T's
/// range for float); std::string from a string; std::vector<T> element by element. Errors are a
/// parse_error naming the field (e.g. "scaler.mean: wrong type (string \"a\"), expected number").
template <class T>
[[nodiscard]] T json_get(const json& j, std::string_view key, std::string_view context = "") {
  return detail::json_convert<T>(json_field(j, key, context), context, key);
}

/// @brief `v` itself converted strictly to T (see json_get); `what` names it in errors.
template <class T>
[[nodiscard]] T json_as(const json& v, std::string_view what) {
  return detail::json_convert<T>(v, what, "");
}

/// @brief A finite floating-point field. @throws parse_error on a non-number or NaN/infinity
/// (which UBJ and CBOR can carry).
template <class T = double>
[[nodiscard]] T json_get_finite(const json& j, std::string_view key,
                                std::string_view context = "") {
  const T x = json_get<T>(j, key, context);
  if (!std::isfinite(x))
    detail::json_range_error(context, key, json_field(j, key, context), "finite number");
  return x;
}

/// @brief An integer field in [lo, hi]: the check every count that later drives memory or time
/// must pass. @throws parse_error naming the field, the value and the bounds.
template <class T>
[[nodiscard]] T json_get_in(const json& j, std::string_view key, T lo, T hi,
                            std::string_view context = "") {
  const T x = json_get<T>(j, key, context);
  if (x < lo || x > hi) {
    raise<parse_error>("core.json", "{}{}{}: {} is out of range [{}, {}]", context,
                       context.empty() ? "" : ".", key, x, lo, hi);
  }
  return x;
}

/// @brief The key a reader should read: `key` when `j` has it, else `legacy` when `j` has that
/// (the spelling an earlier version wrote, e.g. "n_features" before "num_features"), else `key`
/// (so a missing field is reported under its current name).
[[nodiscard]] inline std::string_view json_key_or_legacy(const json& j, std::string_view key,
                                                         std::string_view legacy) {
  if (!j.is_object() || j.contains(key)) return key;
  return j.contains(legacy) ? legacy : key;
}

/// @brief Parses JSON text with the nesting bound; `source` names the file or buffer in errors.
/// @throws parse_error (never an nlohmann exception).
[[nodiscard]] json parse_json(std::string_view text, std::string_view source);

/// @brief Parses UBJSON (XGBoost's .ubj) with the nesting bound. @throws parse_error.
[[nodiscard]] json parse_ubjson(std::span<const std::uint8_t> bytes, std::string_view source);

/// @brief Reads and parses a JSON file. @throws io_error, parse_error.
[[nodiscard]] json load_json_file(const std::filesystem::path& path);

/// @brief Writes `j` to `path` atomically (see write_file_atomic). `indent` < 0 writes compactly.
/// Floats are written with 17 significant digits (doubles) so values round-trip bit for bit.
void save_json_file(const std::filesystem::path& path, const json& j, int indent = 1);

}  // namespace funnel
