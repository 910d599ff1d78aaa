#pragma once
/// @file idx.hpp
/// @brief Reader for the IDX format of MNIST and Fashion-MNIST (`*-images-idx3-ubyte.gz`,
/// `*-labels-idx1-ubyte.gz`), gzipped or plain: the standard image sets of ann-benchmarks.

#include <funnel/core/views.hpp>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string_view>
#include <vector>

namespace funnel {

/// @brief An IDX array of unsigned bytes: its dimensions (big-endian uint32 in the file) and its
/// elements in row-major order.
struct idx_array {
  std::vector<std::uint32_t> dims;  ///< e.g. {10000, 28, 28} for idx3 images
  std::vector<std::uint8_t> data;   ///< product(dims) elements
};

/// @brief Parses IDX bytes, gunzipping them first when they start with the gzip magic. Only the
/// unsigned-byte element type (0x08) is read: that is what (Fashion-)MNIST use.
/// @throws parse_error ("parse_error.idx", naming `source` and the byte offset) for a bad magic
/// number (the first two bytes must be zero), an unknown element type code, zero dimensions, a
/// header shorter than its dimension count announces, a payload shorter or longer than the
/// dimensions announce, and dimensions whose product overflows; parse_error ("parse_error.gzip")
/// for a truncated or corrupt gzip stream; unsupported ("unsupported.idx") for a valid element
/// type other than unsigned byte. A gzipped file is inflated no further than its header
/// announces (header + product of the dimensions bytes): more is "trailing bytes" at once, so a
/// small file cannot expand into gigabytes.
[[nodiscard]] idx_array parse_idx(std::string_view bytes, std::string_view source);

/// @brief Reads an IDX file (gzipped or plain). @throws io_error, parse_error, unsupported.
[[nodiscard]] idx_array read_idx(const std::filesystem::path& path);

/// @brief Reads an IDX image file (at least 2 dimensions) as a matrix with one row per image and
/// one column per pixel (28 x 28 images give 784 columns), each pixel multiplied by `scale`
/// (1/255 maps pixels to [0, 1]).
/// @throws as read_idx; dimension_mismatch ("dimension_mismatch.idx") for a 1-dimensional file.
[[nodiscard]] matrix read_idx_images(const std::filesystem::path& path, float scale = 1.0F);

/// @brief Reads an IDX label file (exactly 1 dimension).
/// @throws as read_idx; dimension_mismatch ("dimension_mismatch.idx") for more dimensions.
[[nodiscard]] std::vector<std::uint8_t> read_idx_labels(const std::filesystem::path& path);

/// @brief Images and their labels, read together.
struct idx_dataset {
  matrix images;                     ///< one row per image
  std::vector<std::uint8_t> labels;  ///< one per image
};

/// @brief Reads an image file and its label file and checks they describe the same items.
/// @throws as read_idx_images and read_idx_labels; dimension_mismatch when the counts differ.
[[nodiscard]] idx_dataset read_idx_dataset(const std::filesystem::path& images,
                                           const std::filesystem::path& labels, float scale = 1.0F);

}  // namespace funnel
