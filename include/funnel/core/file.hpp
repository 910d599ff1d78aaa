#pragma once
/// @file file.hpp
/// @brief Whole-file reading and atomic writing: a crash or a full disk never leaves a torn file.

#include <cstddef>
#include <filesystem>
#include <functional>
#include <iosfwd>
#include <string>
#include <string_view>

namespace funnel {

/// @brief read_file's default bound on what it reads from a file of unknown size: 1 GiB.
inline constexpr std::size_t default_read_limit = std::size_t{1} << 30;

/// @brief Reads a whole file as bytes.
///
/// A regular file is read whole, whatever its size: that size is known before reading. Anything
/// else has no size to check first (a pipe, a character device such as /dev/zero, a socket, a
/// /proc or /sys file that reports size 0) and is read up to `max_bytes`; one byte more is an
/// io_error, so /dev/zero cannot take all the memory. A regular file that grows while read is
/// bounded by max(its size at open, max_bytes) likewise. Every reader (`read_csv`,
/// `read_libsvm`, `load_json_file`, ...) uses the default; to read more from a pipe, call
/// `read_file(path, max_bytes)` and the reader's `parse_*` form.
/// @throws io_error naming the file and the OS reason, or the limit that was passed.
[[nodiscard]] std::string read_file(const std::filesystem::path& path,
                                    std::size_t max_bytes = default_read_limit);

/// @brief Writes `bytes` to `path` atomically: a temporary file in the same directory is written,
/// flushed and fsync'ed, then renamed over `path` (and the directory fsync'ed). Readers see either
/// the old file or the new one, never a mix. @throws io_error; the old file is then untouched.
void write_file_atomic(const std::filesystem::path& path, std::string_view bytes);

/// @brief As above, with the content produced by `writer` into a stream; if `writer` throws,
/// the temporary file is removed, `path` is untouched and the exception propagates.
void write_file_atomic(const std::filesystem::path& path,
                       const std::function<void(std::ostream&)>& writer);

}  // namespace funnel
