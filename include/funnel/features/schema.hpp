#pragma once
/// @file schema.hpp
/// @brief The input side of funnel::features: a schema of named typed columns, a columnar batch
/// (training, offline scoring) and a reusable single row (serving) that hosts fill by index.

#include <funnel/core/csv.hpp>
#include <funnel/core/error.hpp>
#include <funnel/core/json.hpp>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace funnel::features {

/// @brief What a column holds.
enum class column_type {
  numeric,  ///< float; NaN is missing
  string,   ///< categorical text; a string_view whose data() is null is missing
  integer,  ///< categorical int64; `missing_integer` is missing
};

/// @brief What to do with a missing value in a column.
enum class missing_policy {
  allow,  ///< missing values are passed to the transforms, which document what they do with them
  error,  ///< a missing value raises invalid_argument naming the column and the row
};

/// @brief The value that marks a missing integer category (INT64_MIN).
inline constexpr std::int64_t missing_integer = std::numeric_limits<std::int64_t>::min();

/// @brief A missing categorical string: a view with a null data pointer (distinct from "").
inline constexpr std::string_view missing_string{};

/// @brief True when `v` is the missing string (null data pointer), not merely empty.
[[nodiscard]] constexpr bool is_missing(std::string_view v) noexcept {
  return v.data() == nullptr;
}

/// @brief Name of a column type in JSON and messages.
[[nodiscard]] std::string_view to_string(column_type t) noexcept;
/// @brief Name of a missing policy in JSON and messages.
[[nodiscard]] std::string_view to_string(missing_policy p) noexcept;

/// @brief One named, typed column.
struct column_spec {
  std::string name;                                ///< unique within the schema
  column_type type = column_type::numeric;         ///< numeric or categorical
  missing_policy missing = missing_policy::allow;  ///< whether missing values are accepted
  friend bool operator==(const column_spec&, const column_spec&) = default;
};

/// @brief The ordered set of input columns a pipeline reads.
class schema {
 public:
  schema() = default;
  /// @brief @throws invalid_argument on an empty or duplicate column name.
  explicit schema(std::vector<column_spec> columns);

  [[nodiscard]] std::size_t size() const noexcept { return columns_.size(); }
  [[nodiscard]] const column_spec& operator[](std::size_t i) const noexcept { return columns_[i]; }
  [[nodiscard]] const std::vector<column_spec>& columns() const noexcept { return columns_; }

  /// @brief Index of column `name` (resolve once at set-up, then fill rows by index).
  /// @throws not_found naming the column.
  [[nodiscard]] std::size_t index(std::string_view name) const;
  /// @brief Index of column `name`, checking its type. @throws not_found, invalid_argument.
  [[nodiscard]] std::size_t index(std::string_view name, column_type expected,
                                  std::string_view user) const;

  [[nodiscard]] json to_json() const;
  /// @brief @throws parse_error naming the field.
  [[nodiscard]] static schema from_json(const json& j);

  friend bool operator==(const schema&, const schema&) = default;

 private:
  std::vector<column_spec> columns_;
};

/// @brief A reusable single input row for serving: allocate once per thread from the schema,
/// set values by column index, transform, repeat. Setting values never allocates.
class row {
 public:
  /// @brief A row for `s` (which must outlive it) with every value missing.
  explicit row(const schema& s);

  [[nodiscard]] const schema& get_schema() const noexcept { return *schema_; }

  /// @brief Sets numeric column `col`. @throws invalid_argument if `col` is not numeric.
  void set(std::size_t col, float value) {
    check(col, column_type::numeric);
    num_[col] = value;
  }
  /// @brief Sets string column `col` (the text must outlive the transform call).
  /// @throws invalid_argument if `col` is not a string column.
  void set(std::size_t col, std::string_view value) {
    check(col, column_type::string);
    str_[col] = value;
  }
  /// @brief Sets integer column `col`. @throws invalid_argument if `col` is not an integer column.
  void set(std::size_t col, std::int64_t value) {
    check(col, column_type::integer);
    int_[col] = value;
  }
  /// @brief Marks column `col` missing.
  void set_missing(std::size_t col);
  /// @brief Marks every column missing.
  void clear() noexcept;

  // Accessors shared with batch rows: transforms are written once against these.
  [[nodiscard]] float numeric(std::size_t col) const noexcept { return num_[col]; }
  [[nodiscard]] std::string_view string(std::size_t col) const noexcept { return str_[col]; }
  [[nodiscard]] std::int64_t integer(std::size_t col) const noexcept { return int_[col]; }

 private:
  void check(std::size_t col, column_type t) const;
  const schema* schema_;
  std::vector<float> num_;
  std::vector<std::string_view> str_;
  std::vector<std::int64_t> int_;
};

/// @brief A columnar, non-owning batch: one span per column, all of the same length.
class batch {
 public:
  /// @brief An empty batch for `s` (which must outlive it); set every column before use.
  explicit batch(const schema& s);

  [[nodiscard]] const schema& get_schema() const noexcept { return *schema_; }
  /// @brief Number of rows (0 until a column is set).
  [[nodiscard]] std::size_t rows() const noexcept { return rows_; }

  /// @brief Sets numeric column `col`. @throws invalid_argument (wrong type),
  /// dimension_mismatch (length differs from columns already set), both naming the column.
  void set(std::size_t col, std::span<const float> values);
  /// @brief Sets string column `col`. @throws as above.
  void set(std::size_t col, std::span<const std::string_view> values);
  /// @brief Sets integer column `col`. @throws as above.
  void set(std::size_t col, std::span<const std::int64_t> values);

  /// @brief @throws invalid_argument naming the first column never set.
  void check_complete() const;

  [[nodiscard]] std::span<const float> numeric_column(std::size_t col) const noexcept {
    return num_[col];
  }
  [[nodiscard]] std::span<const std::string_view> string_column(std::size_t col) const noexcept {
    return str_[col];
  }
  [[nodiscard]] std::span<const std::int64_t> integer_column(std::size_t col) const noexcept {
    return int_[col];
  }

  /// @brief A view of row `i` with the same accessors as `row`.
  class row_ref {
   public:
    row_ref(const batch& b, std::size_t i) noexcept : b_(&b), i_(i) {}
    [[nodiscard]] float numeric(std::size_t col) const noexcept { return b_->num_[col][i_]; }
    [[nodiscard]] std::string_view string(std::size_t col) const noexcept {
      return b_->str_[col][i_];
    }
    [[nodiscard]] std::int64_t integer(std::size_t col) const noexcept { return b_->int_[col][i_]; }

   private:
    const batch* b_;
    std::size_t i_;
  };
  [[nodiscard]] row_ref at(std::size_t i) const noexcept { return {*this, i}; }

 private:
  void check_set(std::size_t col, column_type t, std::size_t n);
  const schema* schema_;
  std::size_t rows_ = 0;
  std::vector<unsigned char> is_set_;
  std::vector<std::span<const float>> num_;
  std::vector<std::span<const std::string_view>> str_;
  std::vector<std::span<const std::int64_t>> int_;
};

/// @brief A batch that owns its data (read from CSV, or built in tests). Not copyable: its
/// batch views its own storage.
class table {
 public:
  /// @brief Reads every schema column from `csv` by name.
  /// @throws not_found (column absent), parse_error (file:line and column for a bad number).
  table(const schema& s, const csv_table& csv);
  table(const table&) = delete;
  table& operator=(const table&) = delete;

  [[nodiscard]] const features::batch& view() const noexcept { return batch_; }
  [[nodiscard]] std::size_t rows() const noexcept { return batch_.rows(); }

 private:
  std::unique_ptr<schema> schema_;
  std::vector<std::vector<float>> num_;
  std::vector<std::vector<std::string>> text_;
  std::vector<std::vector<std::string_view>> str_;
  std::vector<std::vector<std::int64_t>> int_;
  features::batch batch_;
};

/// @brief Checks every value of a row against the schema's policies.
/// @throws invalid_argument "column 'x', row N: ..." for NaN under policy error, for +-Inf in a
/// numeric column, and for a missing categorical under policy error.
template <class Row>
void validate(const schema& s, const Row& r, std::size_t row_index) {
  for (std::size_t c = 0; c < s.size(); ++c) {
    const column_spec& spec = s[c];
    switch (spec.type) {
      case column_type::numeric: {
        const float v = r.numeric(c);
        if (std::isnan(v)) {
          if (spec.missing == missing_policy::error) {
            raise<invalid_argument>("features",
                                    "column '{}', row {}: missing value (NaN) but the "
                                    "column's missing policy is 'error'",
                                    spec.name, row_index);
          }
        } else if (std::isinf(v)) {
          raise<invalid_argument>("features", "column '{}', row {}: non-finite value {}", spec.name,
                                  row_index, v);
        }
        break;
      }
      case column_type::string:
        if (spec.missing == missing_policy::error && is_missing(r.string(c))) {
          raise<invalid_argument>("features",
                                  "column '{}', row {}: missing category but the "
                                  "column's missing policy is 'error'",
                                  spec.name, row_index);
        }
        break;
      case column_type::integer:
        if (spec.missing == missing_policy::error && r.integer(c) == missing_integer) {
          raise<invalid_argument>("features",
                                  "column '{}', row {}: missing category but the "
                                  "column's missing policy is 'error'",
                                  spec.name, row_index);
        }
        break;
    }
  }
}

}  // namespace funnel::features
