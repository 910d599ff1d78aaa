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

/// @brief numeric_column's options.
struct numeric_column_options {
  bool missing_indicator = false;  ///< add the "<output>_missing" output (1 when the raw input
                                   ///< was missing)
  std::string output = {};         ///< the output's name; empty = the column's name
};

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
  /// @brief `column` through `steps`.
  numeric_column(std::string column, std::vector<numeric_step> steps,
                 const numeric_column_options& options = {})
      : column_(std::move(column)),
        output_(options.output.empty() ? column_ : options.output),
        steps_(std::move(steps)),
        indicator_(options.missing_indicator) {}

  /// @brief Resolves the input column. @throws not_found, invalid_argument (not numeric).
  void bind(const schema& s) { col_ = s.index(column_, column_type::numeric, type_name); }

  /// @brief Fits every step in order. @throws invalid_argument when a step that needs data sees
  /// no non-missing value (an empty or all-missing column), naming the column and the step.
  void fit(const batch& b, std::span<const float> /*target*/);

  [[nodiscard]] bool fitted() const noexcept { return fitted_; }
  [[nodiscard]] std::size_t width() const noexcept { return indicator_ ? 2 : 1; }
  void append_output_names(std::vector<std::string>& names) const;
  [[nodiscard]] const std::string& column() const noexcept { return column_; }
  [[nodiscard]] const std::vector<numeric_step>& steps() const noexcept { return steps_; }
  [[nodiscard]] numeric_column_options options() const {
    return {.missing_indicator = indicator_, .output = output_};
  }

  [[nodiscard]] json to_json() const;
  /// @brief @throws parse_error naming the field.
  static numeric_column from_json(const json& j);

  // hot path
  /// @brief Writes width() values at `out`. @throws invalid_argument when a step maps a present
  /// value to NaN (naming column, row, step).
  template <class Row>
  void transform_row(const Row& r, std::size_t row_index, float* out) const {
    const float raw = r.numeric(col_);
    double x = raw;
    for (const auto& step : steps_) {
      const double y = std::visit([x](const auto& s) { return s.apply(x); }, step);
      if (std::isnan(y) && !std::isnan(x)) raise_domain(row_index, step, x);
      x = y;
    }
    out[0] = static_cast<float>(x);
    if (indicator_) out[1] = std::isnan(raw) ? 1.0F : 0.0F;
  }

 private:
  [[noreturn]] void raise_domain(std::size_t row_index, const numeric_step& step, double x) const;

  std::string column_;
  std::string output_;
  std::vector<numeric_step> steps_;
  bool indicator_ = false;
  bool fitted_ = false;
  std::size_t col_ = detail::npos;
};

/// @brief How an `interaction` combines its two columns.
enum class interaction_op { product, sum, difference, ratio };

/// @brief interaction's options.
struct interaction_options {
  interaction_op op = interaction_op::product;  ///< how the two columns combine
};

/// @brief a*b, a+b, a-b or a/b of two raw numeric columns. NaN when either input is missing;
/// a/0 is NaN (missing), documented rather than infinite so a scorer sees "missing".
class interaction {
 public:
  static constexpr std::string_view type_name = "funnel.features.interaction";
  interaction() = default;
  interaction(std::string a, std::string b, const interaction_options& options = {})
      : a_(std::move(a)), b_(std::move(b)), op_(options.op) {}
  [[nodiscard]] interaction_options options() const noexcept { return {.op = op_}; }

  void bind(const schema& s);
  void fit(const batch&, std::span<const float>) noexcept { fitted_ = true; }
  [[nodiscard]] bool fitted() const noexcept { return fitted_; }
  [[nodiscard]] std::size_t width() const noexcept { return 1; }
  void append_output_names(std::vector<std::string>& names) const;
  [[nodiscard]] json to_json() const;
  /// @brief @throws parse_error naming the field.
  static interaction from_json(const json& j);

  // hot path
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

 private:
  std::string a_;
  std::string b_;
  interaction_op op_ = interaction_op::product;
  bool fitted_ = false;
  std::size_t ia_ = detail::npos;
  std::size_t ib_ = detail::npos;
};

}  // namespace funnel::features
