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
inline std::vector<double> get_finite_numbers(const json& j, std::string_view key,
                                              std::string_view ctx) {
  auto out = json_get<std::vector<double>>(j, key, ctx);
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (!std::isfinite(out[i])) {
      raise<parse_error>("features.category_set", "{}.{}[{}]: not a finite number", ctx, key, i);
    }
  }
  return out;
}

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
  [[nodiscard]] std::string label(std::size_t i) const {
    if (i == known()) return "<missing>";
    return type == column_type::integer ? std::to_string(ints[i]) : strings[i];
  }

  [[nodiscard]] json to_json() const {
    json j;
    j["kind"] = std::string(to_string(type));
    if (type == column_type::integer) {
      j["categories"] = ints;
    } else {
      j["categories"] = strings;
    }
    j["missing"] = has_missing;
    return j;
  }

  static category_set from_json(const json& j, std::string_view ctx) {
    category_set s;
    const auto kind = json_get<std::string>(j, "kind", ctx);
    if (kind == "integer") {
      s.type = column_type::integer;
      s.ints = json_get<std::vector<std::int64_t>>(j, "categories", ctx);
      if (!std::is_sorted(s.ints.begin(), s.ints.end()) ||
          std::adjacent_find(s.ints.begin(), s.ints.end()) != s.ints.end()) {
        raise<parse_error>("features.category_set", "{}.categories: not strictly increasing", ctx);
      }
    } else if (kind == "string") {
      s.type = column_type::string;
      s.strings = json_get<std::vector<std::string>>(j, "categories", ctx);
      if (!std::is_sorted(s.strings.begin(), s.strings.end()) ||
          std::adjacent_find(s.strings.begin(), s.strings.end()) != s.strings.end()) {
        raise<parse_error>("features.category_set", "{}.categories: not strictly increasing", ctx);
      }
    } else {
      raise<parse_error>("features.category_set",
                         "{}.kind: expected 'string' or 'integer', found '{}'", ctx, kind);
    }
    s.has_missing = json_get<bool>(j, "missing", ctx);
    return s;
  }
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
inline category_stats count_categories(const batch& b, std::size_t col,
                                       std::span<const float> target = {}) {
  category_stats out;
  out.set.type = b.get_schema()[col].type;
  std::pair<double, double> miss{0.0, 0.0};  // count, target sum
  // Missing values are tallied apart; the others per key, in the map's (sorted) order.
  const auto tally = [&](auto column, auto missing, auto& keys) {
    std::map<typename decltype(column)::value_type, std::pair<double, double>> m;
    for (std::size_t i = 0; i < column.size(); ++i) {
      auto& e = missing(column[i]) ? miss : m[column[i]];
      e.first += 1.0;
      if (!target.empty()) e.second += static_cast<double>(target[i]);
    }
    for (const auto& [k, e] : m) {
      keys.emplace_back(k);
      out.counts.push_back(e.first);
      out.sums.push_back(e.second);
    }
  };
  if (out.set.type == column_type::integer) {
    tally(
        b.integer_column(col), [](std::int64_t v) { return v == missing_integer; }, out.set.ints);
  } else {
    tally(
        b.string_column(col), [](std::string_view v) { return is_missing(v); }, out.set.strings);
  }
  if (miss.first > 0) {
    out.set.has_missing = true;
    out.counts.push_back(miss.first);
    out.sums.push_back(miss.second);
  }
  return out;
}

/// @brief Resolves a categorical input column by name. @throws not_found, invalid_argument.
inline std::size_t categorical_index(const schema& s, std::string_view name,
                                     std::string_view user) {
  const std::size_t i = s.index(name);
  if (s[i].type == column_type::numeric) {
    raise<invalid_argument>("features.schema",
                            "{}: column '{}' is numeric, expected a "
                            "categorical (string or integer) column",
                            user, name);
  }
  return i;
}

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
