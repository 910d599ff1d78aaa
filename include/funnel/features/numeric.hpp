#pragma once
/// @file numeric.hpp
/// @brief Numeric components: `numeric_column` (one input column through a chain of steps,
/// optionally with a missing-indicator output) and `interaction` (two columns combined).

#include <funnel/features/detail.hpp>
#include <funnel/features/steps.hpp>

#include <cmath>
#include <limits>
#include <string>
#include <utility>
#include <vector>

namespace funnel::features {

/// @brief One numeric input column through a chain of steps (impute, then clip, then scale ...),
/// each fitted on the output of the previous ones. Output: the final value (NaN when still
/// missing), then optionally a 0/1 indicator of "the raw input was missing".
///
/// A step that turns a present value into NaN (log1p of x <= -1) is an error naming the column
/// and the row: it never silently becomes "missing".
class numeric_column {
 public:
  static constexpr std::string_view type_name = "funnel.features.numeric_column";

  numeric_column() = default;
  /// @brief `column` through `steps`; `missing_indicator` adds the "<output>_missing" output.
  numeric_column(std::string column, std::vector<numeric_step> steps,
                 bool missing_indicator = false, std::string output = {})
      : column_(std::move(column)),
        output_(output.empty() ? column_ : std::move(output)),
        steps_(std::move(steps)),
        indicator_(missing_indicator) {}

  /// @brief Resolves the input column. @throws not_found, invalid_argument (not numeric).
  void bind(const schema& s) { col_ = s.index(column_, column_type::numeric, type_name); }

  /// @brief Fits every step in order. @throws invalid_argument when a step that needs data sees
  /// no non-missing value (an empty or all-missing column), naming the column and the step.
  void fit(const batch& b, std::span<const float> /*target*/) {
    const auto in = b.numeric_column(col_);
    std::vector<double> cur(in.begin(), in.end());
    std::vector<double> present;
    for (std::size_t k = 0; k < steps_.size(); ++k) {
      present.clear();
      for (double x : cur) {
        if (!std::isnan(x)) present.push_back(x);
      }
      if (present.empty() && needs_data(steps_[k])) {
        raise<invalid_argument>("features.numeric_column",
                                "column '{}': step {} ({}) cannot be "
                                "fitted: no non-missing values among {} rows",
                                column_, k, step_name(steps_[k]), in.size());
      }
      std::visit([&](auto& s) { s.fit(present); }, steps_[k]);
      for (std::size_t i = 0; i < cur.size(); ++i) {
        cur[i] = std::visit([&](const auto& s) { return s.apply(cur[i]); }, steps_[k]);
      }
    }
    fitted_ = true;
  }

  [[nodiscard]] bool fitted() const noexcept { return fitted_; }
  [[nodiscard]] std::size_t width() const noexcept { return indicator_ ? 2 : 1; }
  void append_output_names(std::vector<std::string>& names) const {
    names.push_back(output_);
    if (indicator_) names.push_back(output_ + "_missing");
  }
  [[nodiscard]] const std::string& column() const noexcept { return column_; }
  [[nodiscard]] const std::vector<numeric_step>& steps() const noexcept { return steps_; }

  /// @brief Writes width() values at `out`. @throws invalid_argument when a step maps a present
  /// value to NaN (naming column, row, step).
  template <class Row>
  void transform_row(const Row& r, std::size_t row_index, float* out) const {
    const float raw = r.numeric(col_);
    double x = raw;
    for (const auto& step : steps_) {
      const double y = std::visit([x](const auto& s) { return s.apply(x); }, step);
      if (std::isnan(y) && !std::isnan(x)) {
        raise<invalid_argument>("features.numeric_column",
                                "column '{}', row {}: step {} maps {} "
                                "to NaN (outside its domain)",
                                column_, row_index, step_name(step), x);
      }
      x = y;
    }
    out[0] = static_cast<float>(x);
    if (indicator_) out[1] = std::isnan(raw) ? 1.0F : 0.0F;
  }

  [[nodiscard]] json to_json() const {
    json j = json_header(type_name, 1);
    j["column"] = column_;
    j["output"] = output_;
    j["missing_indicator"] = indicator_;
    j["fitted"] = fitted_;
    json st = json::array();
    for (const auto& s : steps_) st.push_back(step_to_json(s));
    j["steps"] = std::move(st);
    return j;
  }
  /// @brief @throws parse_error naming the field.
  static numeric_column from_json(const json& j) {
    check_json_header(j, type_name, 1);
    numeric_column c;
    const std::string ctx = "numeric_column";
    c.column_ = json_get<std::string>(j, "column", ctx);
    c.output_ = json_get<std::string>(j, "output", ctx);
    c.indicator_ = json_get<bool>(j, "missing_indicator", ctx);
    c.fitted_ = json_get<bool>(j, "fitted", ctx);
    const json& st = json_field(j, "steps", ctx);
    if (!st.is_array())
      raise<parse_error>("features.numeric_column", "numeric_column.steps: expected an array");
    for (std::size_t k = 0; k < st.size(); ++k) {
      c.steps_.push_back(
          step_from_json(st[k], fmt::format("numeric_column '{}'.steps[{}]", c.column_, k)));
    }
    return c;
  }

 private:
  std::string column_;
  std::string output_;
  std::vector<numeric_step> steps_;
  bool indicator_ = false;
  bool fitted_ = false;
  std::size_t col_ = detail::npos;
};

/// @brief How an `interaction` combines its two columns.
enum class interaction_op { product, sum, difference, ratio };

/// @brief a*b, a+b, a-b or a/b of two raw numeric columns. NaN when either input is missing;
/// a/0 is NaN (missing), documented rather than infinite so a scorer sees "missing".
class interaction {
 public:
  static constexpr std::string_view type_name = "funnel.features.interaction";
  interaction() = default;
  interaction(std::string a, std::string b, interaction_op op = interaction_op::product)
      : a_(std::move(a)), b_(std::move(b)), op_(op) {}

  void bind(const schema& s) {
    ia_ = s.index(a_, column_type::numeric, type_name);
    ib_ = s.index(b_, column_type::numeric, type_name);
  }
  void fit(const batch&, std::span<const float>) noexcept { fitted_ = true; }
  [[nodiscard]] bool fitted() const noexcept { return fitted_; }
  [[nodiscard]] std::size_t width() const noexcept { return 1; }
  void append_output_names(std::vector<std::string>& names) const {
    static constexpr const char* sym[] = {"*", "+", "-", "/"};
    names.push_back(a_ + sym[static_cast<int>(op_)] + b_);
  }
  template <class Row>
  void transform_row(const Row& r, std::size_t /*row_index*/, float* out) const noexcept {
    const double a = r.numeric(ia_);
    const double b = r.numeric(ib_);
    double v = 0.0;
    switch (op_) {
      case interaction_op::product:
        v = a * b;
        break;
      case interaction_op::sum:
        v = a + b;
        break;
      case interaction_op::difference:
        v = a - b;
        break;
      case interaction_op::ratio:
        v = b == 0.0 ? std::numeric_limits<double>::quiet_NaN() : a / b;
        break;
    }
    out[0] = static_cast<float>(v);
  }
  [[nodiscard]] json to_json() const {
    json j = json_header(type_name, 1);
    j["a"] = a_;
    j["b"] = b_;
    j["op"] = std::string(op_names[static_cast<int>(op_)]);
    j["fitted"] = fitted_;
    return j;
  }
  static interaction from_json(const json& j) {
    check_json_header(j, type_name, 1);
    interaction c;
    c.a_ = json_get<std::string>(j, "a", "interaction");
    c.b_ = json_get<std::string>(j, "b", "interaction");
    const auto op = json_get<std::string>(j, "op", "interaction");
    bool found = false;
    for (int i = 0; i < 4; ++i) {
      if (op == op_names[i]) {
        c.op_ = static_cast<interaction_op>(i);
        found = true;
      }
    }
    if (!found)
      raise<parse_error>("features.interaction", "interaction.op: unknown operation '{}'", op);
    c.fitted_ = json_get<bool>(j, "fitted", "interaction");
    return c;
  }

 private:
  static constexpr std::string_view op_names[] = {"product", "sum", "difference", "ratio"};
  std::string a_;
  std::string b_;
  interaction_op op_ = interaction_op::product;
  bool fitted_ = false;
  std::size_t ia_ = detail::npos;
  std::size_t ib_ = detail::npos;
};

}  // namespace funnel::features
