#pragma once
/// @file csv.hpp
/// @brief RFC 4180 CSV reading with a header, quoting, missing values, named columns and errors
/// that name the file, line and column.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace funnel {

/// @brief How a CSV file is read.
struct csv_options {
  char delimiter = ',';  ///< field separator (',' or '\t' ...)
  bool header = true;    ///< first record names the columns; otherwise columns are "0", "1", ...
  /// Cell texts (after unquoting) read as missing. Quoted cells are never missing unless listed.
  std::vector<std::string> missing = {"", "NA", "NaN", "nan", "N/A", "null"};
  /// Most fields the first record (the header) may have; later records must have exactly as
  /// many as it. Memory per record is bounded by this, not by the line's length.
  std::size_t max_columns = 100'000;
};

/// @brief A parsed CSV table: cells as text, with typed column accessors.
class csv_table {
 public:
  /// @brief The file (or buffer name) this table came from, for error messages.
  [[nodiscard]] const std::string& source() const noexcept { return source_; }
  [[nodiscard]] const std::vector<std::string>& columns() const noexcept { return columns_; }
  [[nodiscard]] std::size_t rows() const noexcept { return lines_.size(); }
  [[nodiscard]] std::size_t cols() const noexcept { return columns_.size(); }

  /// @brief Index of the column called `name`. @throws not_found naming the file and the column.
  [[nodiscard]] std::size_t column_index(std::string_view name) const;
  /// @brief True when a column called `name` exists.
  [[nodiscard]] bool has_column(std::string_view name) const noexcept;

  /// @brief The text of cell (row, col) after unquoting (unchecked). The view points into the
  /// table's one text buffer: valid while this table object lives unchanged (moving the table
  /// may move a short buffer, so take views after the move).
  [[nodiscard]] std::string_view cell(std::size_t row, std::size_t col) const noexcept {
    const std::size_t i = row * columns_.size() + col;
    const std::size_t begin = i == 0 ? 0 : static_cast<std::size_t>(ends_[i - 1] >> 1);
    return std::string_view(text_).substr(begin, static_cast<std::size_t>(ends_[i] >> 1) - begin);
  }
  /// @brief True when cell (row, col) is one of csv_options::missing (unquoted).
  [[nodiscard]] bool is_missing(std::size_t row, std::size_t col) const noexcept {
    return (ends_[row * columns_.size() + col] & 1U) != 0;
  }
  /// @brief 1-based line in the source where data row `row` starts.
  [[nodiscard]] std::size_t line_of(std::size_t row) const noexcept { return lines_[row]; }

  /// @brief Column `col` as doubles; missing cells (the texts in csv_options::missing) are NaN.
  /// A cell is a decimal number: an optional '+' or '-', digits with an optional '.', an optional
  /// exponent, spaces around it ignored. A number too small for a double reads as its correctly
  /// rounded value (0, -0 or a denormal).
  /// @throws parse_error naming file, line, column and the cell (at most its first 40 bytes):
  /// "file:line: column 'x': 'abc' is not a number"; a NaN spelling not listed as missing
  /// ("NAN", "nan(1)", a quoted "nan") is not a number either; "'inf' is not a finite number"
  /// for an infinity; "out of the range of a double" beyond +-1.8e308.
  [[nodiscard]] std::vector<double> numeric(std::size_t col) const;
  [[nodiscard]] std::vector<double> numeric(std::string_view name) const {
    return numeric(column_index(name));
  }
  /// @brief Column `col` as strings (missing cells are empty strings; check is_missing).
  [[nodiscard]] std::vector<std::string> strings(std::size_t col) const;
  [[nodiscard]] std::vector<std::string> strings(std::string_view name) const {
    return strings(column_index(name));
  }

 private:
  friend csv_table parse_csv(std::string_view, std::string_view, const csv_options&);
  std::string source_;
  std::vector<std::string> columns_;
  // Every cell's text (unquoted), back to back in row-major order, and per cell its end offset
  // in text_ shifted left once, the low bit set when the cell is missing: 8 bytes per cell
  // besides its text (a std::string and a flag per cell cost 56x the file for empty cells).
  std::string text_;
  std::vector<std::uint64_t> ends_;
  std::vector<std::size_t> lines_;  // source line of each row
};

/// @brief Parses CSV text; `source` names it in errors.
/// @throws parse_error on an unterminated quote, a stray quote, a record with the wrong number of
/// fields, a first record with more than max_columns fields, duplicate or empty header names, or
/// an empty input (each naming source and line); invalid_argument for a bad delimiter or
/// max_columns = 0.
[[nodiscard]] csv_table parse_csv(std::string_view text, std::string_view source,
                                  const csv_options& options = {});

/// @brief Reads and parses a CSV file. @throws io_error, parse_error.
[[nodiscard]] csv_table read_csv(const std::filesystem::path& path,
                                 const csv_options& options = {});

}  // namespace funnel
