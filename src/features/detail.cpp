// The category set's JSON and labels, category counting, column resolution (the lookups on the
// per-row path stay inline in detail.hpp).
#include <funnel/features/detail.hpp>

namespace funnel::features::detail {

std::vector<double> get_finite_numbers(const json& j, std::string_view key, std::string_view ctx) {
  auto out = json_get<std::vector<double>>(j, key, ctx);
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (!std::isfinite(out[i])) {
      raise<parse_error>("features.category_set", "{}.{}[{}]: not a finite number", ctx, key, i);
    }
  }
  return out;
}

std::string category_set::label(std::size_t i) const {
  if (i == known()) return "<missing>";
  return type == column_type::integer ? std::to_string(ints[i]) : strings[i];
}

json category_set::to_json() const {
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

namespace {
/// @brief The "categories" array of a category set, as T values, strictly increasing.
template <class T>
std::vector<T> sorted_categories(const json& j, std::string_view ctx) {
  auto v = json_get<std::vector<T>>(j, "categories", ctx);
  if (!std::is_sorted(v.begin(), v.end()) || std::adjacent_find(v.begin(), v.end()) != v.end()) {
    raise<parse_error>("features.category_set", "{}.categories: not strictly increasing", ctx);
  }
  return v;
}
}  // namespace

category_set category_set::from_json(const json& j, std::string_view ctx) {
  category_set s;
  const auto kind = json_get<std::string>(j, "kind", ctx);
  if (kind == "integer") {
    s.type = column_type::integer;
    s.ints = sorted_categories<std::int64_t>(j, ctx);
  } else if (kind == "string") {
    s.type = column_type::string;
    s.strings = sorted_categories<std::string>(j, ctx);
  } else {
    raise<parse_error>("features.category_set",
                       "{}.kind: expected 'string' or 'integer', found '{}'", ctx, kind);
  }
  s.has_missing = json_get<bool>(j, "missing", ctx);
  return s;
}

category_stats count_categories(const batch& b, std::size_t col, std::span<const float> target) {
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

std::size_t categorical_index(const schema& s, std::string_view name, std::string_view user) {
  const std::size_t i = s.index(name);
  if (s[i].type == column_type::numeric) {
    raise<invalid_argument>("features.schema",
                            "{}: column '{}' is numeric, expected a "
                            "categorical (string or integer) column",
                            user, name);
  }
  return i;
}

}  // namespace funnel::features::detail
