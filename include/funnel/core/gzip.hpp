#pragma once
/// @file gzip.hpp
/// @brief gzip decompression (and compression) of whole buffers through zlib, with typed errors
/// for truncated or corrupt streams. zlib stays a private dependency of funnel::funnel.

#include <cstddef>
#include <limits>
#include <string>
#include <string_view>

namespace funnel {

/// @brief True when `bytes` starts with the gzip magic number (1f 8b).
[[nodiscard]] bool is_gzip(std::string_view bytes) noexcept;

/// @brief Decompresses a gzip stream (several concatenated members are read as one, like gunzip).
/// The CRC-32 and length trailer of each member are checked. `source` names the data in errors.
/// @throws parse_error ("parse_error.gzip") naming `source` and the compressed byte offset when the
/// stream is corrupt, truncated or has trailing garbage; invalid_argument when the output would
/// exceed `max_output` bytes (a guard against decompression bombs).
[[nodiscard]] std::string gunzip(std::string_view bytes, std::string_view source,
                                 std::size_t max_output = std::numeric_limits<std::size_t>::max());

/// @brief The first `n` decompressed bytes of a gzip stream (fewer when the stream holds fewer),
/// inflating no further: lets a reader check a header before it decides how much output to
/// allow. The CRC-32 trailer is not checked (the whole stream is not read).
/// @throws parse_error when the stream is corrupt before `n` bytes are out.
[[nodiscard]] std::string gunzip_prefix(std::string_view bytes, std::string_view source,
                                        std::size_t n);

/// @brief Compresses `bytes` as one gzip member (level 0..9, default 6).
/// @throws invalid_argument for a level outside 0..9.
[[nodiscard]] std::string gzip(std::string_view bytes, int level = 6);

}  // namespace funnel
