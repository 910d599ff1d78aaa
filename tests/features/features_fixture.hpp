#pragma once
// Shared by the features tests: the scikit-learn fixture (tests/fixtures/features/make_fixtures.py)
// and its input rows as a funnel::features::table.
#include <funnel/features.hpp>

#include <cmath>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "funnel_catch.hpp"

namespace ftest {

namespace ff = funnel::features;

inline const std::vector<std::string> numeric_columns = {
    "funded_amnt", "int_rate", "annual_inc", "revol_util", "total_bal_il", "inq_last_12m", "y"};
inline const std::vector<std::string> string_columns = {"term", "sub_grade", "addr_state",
                                                        "verification_status", "emp_length"};

inline ff::schema input_schema() {
  std::vector<ff::column_spec> cols;
  for (const auto& c : numeric_columns) cols.push_back({c, ff::column_type::numeric});
  for (const auto& c : string_columns) cols.push_back({c, ff::column_type::string});
  return ff::schema(cols);
}

/// The fixture input: schema, table (all 400 rows) and the first n_fit rows as a batch.
struct input {
  ff::schema schema = input_schema();
  funnel::csv_table csv = funnel::read_csv(funnel::test::data("features/input.csv"));
  ff::table table{schema, csv};
  ff::batch all() const { return table.view(); }
  ff::batch head(std::size_t n) const {
    ff::batch b(table.view().get_schema());
    const auto& full = table.view();
    for (std::size_t c = 0; c < schema.size(); ++c) {
      if (schema[c].type == ff::column_type::numeric) {
        b.set(c, full.numeric_column(c).first(n));
      } else {
        b.set(c, full.string_column(c).first(n));
      }
    }
    return b;
  }
  std::span<const float> y() const { return table.view().numeric_column(schema.index("y")); }
};

inline const input& data() {
  static const input d;
  return d;
}

inline const funnel::json& sk() {
  static const funnel::json j = funnel::load_json_file(funnel::test::data("features/sklearn.json"));
  return j;
}

/// sklearn's value (null = NaN) of element i of an output array.
inline double ref(const funnel::json& a, std::size_t i) {
  return a[i].is_null() ? std::nan("") : a[i].get<double>();
}

/// Our float against sklearn's double: both missing, or equal to 1e-6 relative (float32
/// output of a float64 computation).
inline bool close(float got, double want) {
  if (std::isnan(want)) return std::isnan(got);
  return std::fabs(static_cast<double>(got) - want) <= 1e-6 * std::max(1.0, std::fabs(want));
}

inline bool same_bits(float a, float b) {
  std::uint32_t x = 0;
  std::uint32_t y = 0;
  std::memcpy(&x, &a, 4);
  std::memcpy(&y, &b, 4);
  return x == y;
}

}  // namespace ftest
