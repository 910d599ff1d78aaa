#pragma once
/// @file vecs.hpp
/// @brief Readers for the `.fvecs` / `.ivecs` / `.bvecs` formats of the ANN benchmark sets
/// (SIFT, GIST, Deep1B: each record is a little-endian int32 dimension followed by that many
/// float32 / int32 / uint8 values), and atomic writers for fvecs and ivecs.

#include <funnel/core/views.hpp>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <span>
#include <string_view>
#include <vector>

namespace funnel {

/// @brief An owning row-major matrix of int32 (ivecs: ground-truth neighbour ids).
struct int_matrix {
  std::vector<std::int32_t> values;  ///< rows * cols values, row-major
  std::size_t rows = 0;
  std::size_t cols = 0;
  /// @brief Row `i` (unchecked).
  [[nodiscard]] std::span<const std::int32_t> row(std::size_t i) const noexcept {
    return {values.data() + i * cols, cols};
  }
  friend bool operator==(const int_matrix&, const int_matrix&) = default;
};

/// @brief How a vecs file is read.
struct vecs_options {
  /// Read at most this many records (the first ones), e.g. 10,000 of SIFT's 1,000,000 base vectors.
  std::size_t max_rows = std::numeric_limits<std::size_t>::max();
  /// A record whose dimension exceeds this is rejected as corrupt rather than trusted.
  std::size_t max_dim = std::size_t{1} << 20;
};

/// @brief Parses fvecs bytes into a rows x dim matrix; `source` names them in errors. Empty input
/// gives a 0 x 0 matrix.
/// @throws parse_error ("parse_error.fvecs", naming `source`, the record and its byte offset) when
/// a record is truncated, a dimension is not positive or exceeds options.max_dim, or a record's
/// dimension differs from the first record's.
[[nodiscard]] matrix parse_fvecs(std::string_view bytes, std::string_view source,
                                 const vecs_options& options = {});
/// @brief Reads an fvecs file. @throws io_error, parse_error as parse_fvecs.
[[nodiscard]] matrix read_fvecs(const std::filesystem::path& path,
                                const vecs_options& options = {});

/// @brief Parses ivecs bytes. @throws parse_error ("parse_error.ivecs") as parse_fvecs.
[[nodiscard]] int_matrix parse_ivecs(std::string_view bytes, std::string_view source,
                                     const vecs_options& options = {});
/// @brief Reads an ivecs file. @throws io_error, parse_error as parse_ivecs.
[[nodiscard]] int_matrix read_ivecs(const std::filesystem::path& path,
                                    const vecs_options& options = {});

/// @brief Parses bvecs bytes (uint8 components) into a float matrix.
/// @throws parse_error ("parse_error.bvecs") as parse_fvecs.
[[nodiscard]] matrix parse_bvecs(std::string_view bytes, std::string_view source,
                                 const vecs_options& options = {});
/// @brief Reads a bvecs file. @throws io_error, parse_error as parse_bvecs.
[[nodiscard]] matrix read_bvecs(const std::filesystem::path& path,
                                const vecs_options& options = {});

/// @brief Writes `m` as fvecs, atomically (see write_file_atomic).
/// @throws invalid_argument when m has rows but zero columns or more than INT32_MAX columns
/// (fvecs cannot represent them); io_error.
void write_fvecs(const std::filesystem::path& path, const matrix_view& m);

/// @brief Writes `m` as ivecs, atomically. @throws invalid_argument, io_error as write_fvecs.
void write_ivecs(const std::filesystem::path& path, const int_matrix& m);

}  // namespace funnel
