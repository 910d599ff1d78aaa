#pragma once
/// @file schema.hpp
/// @brief The input side of funnel::features: a schema of named typed columns, a columnar batch
/// (training, offline scoring) and a reusable single row (serving) that hosts fill by index.

#include <funnel/core/csv.hpp>
#include <funnel/core/enum_names.hpp>
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

/// @brief Names of column types in JSON and messages (`to_string`, `parse_enum`).
constexpr auto enum_names_of(column_type) {
  return enum_names<column_type, 3>{"column type",
                                    {{{column_type::numeric, "numeric"},
                                      {column_type::string, "string"},
                                      {column_type::integer, "integer"}}}};
}
/// @brief Names of missing policies in JSON and messages (`to_string`, `parse_enum`).
constexpr auto enum_names_of(missing_policy) {
  return enum_names<missing_policy, 2>{
      "missing policy", {{{missing_policy::allow, "allow"}, {missing_policy::error, "error"}}}};
}
using funnel::to_string;

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

/// @brief Largest number of output floats a pipeline (and any one component) may write per row:
/// 2^24 (16,777,216 floats, 64 MiB). Widths are checked against it with overflow-safe sums when a
/// component is built or loaded and when a pipeline lays out its outputs, so a configuration can
/// never make a serving row wider than the buffer it was sized for.
inline constexpr std::size_t max_output_width = std::size_t{1} << 24;

/// @brief A reusable single input row for serving: allocate once per thread from the schema,
/// then per request `clear()`, set every column by index, transform.
///
/// The row knows which columns were set since it was built or last cleared: transforming it with a
/// column not set raises `invalid_argument` naming the column (as a batch with a column never set
/// does), so a value can neither leak from the previous request nor silently become missing.
/// A missing value is set explicitly (`set_missing`, a NaN, `missing_string`, `missing_integer`).
/// `clear()` is O(1) (a generation counter, not a pass over the columns).
///
/// Strings are copied into storage the row owns (each column reuses its capacity, so once a
/// column has held its longest value, setting it does not allocate); the caller's text may die
/// right after `set`. A row is one thread's scratch object: do not set it from several threads.
class row {
 public:
  /// @brief A row for `s` (which must outlive it) with no column set.
  explicit row(const schema& s);

  [[nodiscard]] const schema& get_schema() const noexcept { return *schema_; }

  // hot path (a serving request sets every column)
  /// @brief Sets numeric column `col` (NaN = missing). @throws invalid_argument if `col` is not
  /// numeric, dimension_mismatch if it is out of range.
  void set(std::size_t col, float value) {
    check(col, column_type::numeric);
    num_[col] = value;
    set_gen_[col] = generation_;
  }
  /// @brief Sets string column `col` to a copy of `value` (`missing_string` = missing).
  /// @throws invalid_argument if `col` is not a string column, dimension_mismatch if out of range.
  void set(std::size_t col, std::string_view value) {
    check(col, column_type::string);
    if (is_missing(value)) {
      str_missing_[col] = 1;
    } else {
      text_[col].assign(value.data(), value.size());
      str_missing_[col] = 0;
    }
    set_gen_[col] = generation_;
  }
  /// @brief Sets integer column `col` (`missing_integer` = missing).
  /// @throws invalid_argument if `col` is not an integer column, dimension_mismatch if out of
  /// range.
  void set(std::size_t col, std::int64_t value) {
    check(col, column_type::integer);
    int_[col] = value;
    set_gen_[col] = generation_;
  }
  // end of hot path
  /// @brief Sets column `col` (any type) to missing. @throws dimension_mismatch if out of range.
  void set_missing(std::size_t col);
  /// @brief Starts a new request: every column becomes unset (O(1)); string capacity is kept.
  void clear() noexcept;

  /// @brief True when column `col` was set since the row was built or last cleared.
  [[nodiscard]] bool is_set(std::size_t col) const noexcept { return set_gen_[col] == generation_; }
  /// @brief @throws invalid_argument "column 'x', row N: not set ..." naming the first column not
  /// set since the row was built or last cleared (`row_id` only names the row).
  void check_complete(std::size_t row_id = 0) const;

  // hot path: accessors shared with batch rows; transforms are written once against these.
  [[nodiscard]] float numeric(std::size_t col) const noexcept { return num_[col]; }
  [[nodiscard]] std::string_view string(std::size_t col) const noexcept {
    return str_missing_[col] != 0 ? missing_string : std::string_view(text_[col]);
  }
  [[nodiscard]] std::int64_t integer(std::size_t col) const noexcept { return int_[col]; }

 private:
  void check(std::size_t col, column_type t) const;
  const schema* schema_;
  std::uint64_t generation_ = 1;        // 64 bits: never wraps
  std::vector<std::uint64_t> set_gen_;  // column c is set iff set_gen_[c] == generation_
  std::vector<float> num_;
  std::vector<std::string> text_;  // owned copies of string values
  std::vector<unsigned char> str_missing_;
  std::vector<std::int64_t> int_;
};

/// @brief A columnar, non-owning batch: one span per column, all of the same length.
///
/// Lifetime: a batch copies nothing. The spans passed to `set`, and for string columns the text
/// each `string_view` points at, must stay alive and unchanged for as long as the batch is read
/// (every `fit` / `transform` / `fit_transform` call that takes it). Build string columns from
/// storage you own (as `table` does), never from temporaries such as the `std::vector<std::string>`
/// that `csv_table::strings()` returns by value.
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
  /// @brief Sets string column `col` (the views and their text are not copied: see the class
  /// comment on lifetime). @throws as above.
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
            raise<invalid_argument>("features.schema",
                                    "column '{}', row {}: missing value (NaN) but the "
                                    "column's missing policy is 'error'",
                                    spec.name, row_index);
          }
        } else if (std::isinf(v)) {
          raise<invalid_argument>("features.schema", "column '{}', row {}: non-finite value {}",
                                  spec.name, row_index, v);
        }
        break;
      }
      case column_type::string:
        if (spec.missing == missing_policy::error && is_missing(r.string(c))) {
          raise<invalid_argument>("features.schema",
                                  "column '{}', row {}: missing category but the "
                                  "column's missing policy is 'error'",
                                  spec.name, row_index);
        }
        break;
      case column_type::integer:
        if (spec.missing == missing_policy::error && r.integer(c) == missing_integer) {
          raise<invalid_argument>("features.schema",
                                  "column '{}', row {}: missing category but the "
                                  "column's missing policy is 'error'",
                                  spec.name, row_index);
        }
        break;
    }
  }
}

}  // namespace funnel::features
