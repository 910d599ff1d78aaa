#pragma once
/// @file libsvm.hpp
/// @brief Reader for the libsvm / svmlight sparse text format
/// (`<label> [qid:<id>] <index>:<value> ... [# comment]`), the format of XGBoost's and LightGBM's
/// demo data and of most learning-to-rank sets.

#include <funnel/core/views.hpp>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string_view>
#include <vector>

namespace funnel {

/// @brief How a libsvm file is read.
struct libsvm_options {
  /// Minimum column count of the result: a test file read with the training file's width has
  /// the same columns even if its highest features never occur. The result has
  /// max(min_cols, highest index + 1) columns.
  std::size_t min_cols = 0;
};

/// @brief A parsed libsvm file: sparse features, one label per row and, for ranking data, one
/// query id per row.
struct libsvm_data {
  /// Indices are kept as written (XGBoost's convention): a file whose indices start at 1 has an
  /// empty column 0, and no index is shifted.
  csr_matrix features;
  std::vector<float> labels;        ///< one per row
  std::vector<std::uint64_t> qids;  ///< one per row when the file has `qid:`, otherwise empty
};

/// @brief Parses libsvm text; `source` names it in errors. Blank and comment-only lines are
/// skipped; `#` starts a comment anywhere on a line; CRLF line ends are accepted.
/// @throws parse_error ("parse_error.libsvm", "<source>:<line>: ...") for a label that is not a
/// finite number (NaN and infinity spellings included) or beyond a float, a token without ':', an
/// index that is not a non-negative integer (or exceeds 2^32 - 2), a value that is not a finite
/// number, indices that do not strictly ascend within a row (a duplicate index is named as such), a
/// `qid` that is not a non-negative integer or not directly after the label, and rows with and
/// without `qid` mixed in one file. A label or value too small for a float reads as its correctly
/// rounded value (0, -0 or a denormal), as XGBoost reads it. Messages show at most 40 bytes of a
/// token.
[[nodiscard]] libsvm_data parse_libsvm(std::string_view text, std::string_view source,
                                       const libsvm_options& options = {});

/// @brief Reads and parses a libsvm file. @throws io_error, parse_error.
[[nodiscard]] libsvm_data read_libsvm(const std::filesystem::path& path,
                                      const libsvm_options& options = {});

}  // namespace funnel
