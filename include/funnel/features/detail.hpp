#pragma once
/// @file detail.hpp
/// @brief Internals shared by the components: a JSON array helper over core's strict layer, a
/// sorted category set with allocation-free lookup, and category counting over a batch.

#include <funnel/features/schema.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace funnel::features::detail {

inline constexpr std::size_t npos = static_cast<std::size_t>(-1);

/// @brief The output names of a component written as a pattern rather than one by one: names
/// `base[0]` .. `base[n-1]` (the hashing components, whose widths can be large).
struct output_family {
  std::string base;   ///< e.g. "hash(a,b)" or "a^b"
  std::size_t n = 0;  ///< number of outputs
};

/// @brief A JSON array of finite numbers (fitted values, edges), read through core's strict layer
/// (json_get): a boolean, a string, null or a non-finite value is a parse_error naming the field.
std::vector<double> get_finite_numbers(const json& j, std::string_view key, std::string_view ctx);

/// @brief Text of an integer category without allocation.
struct int_text {
  char buf[24];
  std::size_t len;
  explicit int_text(std::int64_t v) noexcept {
    len = static_cast<std::size_t>(std::to_chars(buf, buf + sizeof buf, v).ptr - buf);
  }
  [[nodiscard]] std::string_view view() const noexcept { return {buf, len}; }
};

/// @brief The sorted categories of one column (bytewise for strings, which is also Python's
/// code-point order for UTF-8, so the order matches scikit-learn's). A missing value, when it
/// was seen, is the last category.
struct category_set {
  column_type type = column_type::string;
  std::vector<std::string> strings;  ///< sorted, when type == string
  std::vector<std::int64_t> ints;    ///< sorted, when type == integer
  bool has_missing = false;

  [[nodiscard]] std::size_t known() const noexcept {
    return type == column_type::integer ? ints.size() : strings.size();
  }
  [[nodiscard]] std::size_t size() const noexcept { return known() + (has_missing ? 1 : 0); }

  // hot path
  /// @brief Index of row `r`'s value in column `col`, or npos when unseen. No allocation.
  template <class Row>
  [[nodiscard]] std::size_t find(const Row& r, std::size_t col) const noexcept {
    if (type == column_type::integer) {
      const std::int64_t v = r.integer(col);
      if (v == missing_integer) return has_missing ? ints.size() : npos;
      const auto it = std::lower_bound(ints.begin(), ints.end(), v);
      return it != ints.end() && *it == v ? static_cast<std::size_t>(it - ints.begin()) : npos;
    }
    const std::string_view v = r.string(col);
    if (is_missing(v)) return has_missing ? strings.size() : npos;
    const auto it =
        std::lower_bound(strings.begin(), strings.end(), v,
                         // compare(), not <: clang 14 rejects the rewritten <=> of a string
                         // and a string_view in this template with libstdc++ 12
                         [](const std::string& a, std::string_view b) { return a.compare(b) < 0; });
    return it != strings.end() && *it == v ? static_cast<std::size_t>(it - strings.begin()) : npos;
  }

  /// @brief The category's text for output names ("<missing>" for the missing category).
  [[nodiscard]] std::string label(std::size_t i) const;

  [[nodiscard]] json to_json() const;
  /// @brief @throws parse_error naming the field (categories not strictly increasing, a kind
  /// other than 'string' or 'integer').
  static category_set from_json(const json& j, std::string_view ctx);
  friend bool operator==(const category_set&, const category_set&) = default;
};

/// @brief Every category of column `col` in `b` with its count and (when `target` is given)
/// its target sum; index i of counts/sums matches category i of `set`.
struct category_stats {
  category_set set;
  std::vector<double> counts;
  std::vector<double> sums;
};

/// @brief Counts the categories of a categorical column (and sums `target` per category when it
/// is given); missing values, if any, are the last category.
category_stats count_categories(const batch& b, std::size_t col,
                                std::span<const float> target = {});

/// @brief Resolves a categorical input column by name. @throws not_found, invalid_argument.
std::size_t categorical_index(const schema& s, std::string_view name, std::string_view user);

/// @brief Appends the hashing token "name=value" of row `r`'s column `col` to `h`; false when
/// the value is missing.
template <class Hash, class Row>
bool hash_token(Hash& h, const Row& r, std::size_t col, std::string_view name,
                column_type type) noexcept {
  if (type == column_type::integer) {
    const std::int64_t v = r.integer(col);
    if (v == missing_integer) return false;
    h.update(name);
    h.update("=");
    h.update(int_text(v).view());
    return true;
  }
  const std::string_view v = r.string(col);
  if (is_missing(v)) return false;
  h.update(name);
  h.update("=");
  h.update(v);
  return true;
}

}  // namespace funnel::features::detail
