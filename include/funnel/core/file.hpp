#pragma once
/// @file file.hpp
/// @brief Whole-file reading and atomic writing: a crash or a full disk never leaves a torn file.

#include <filesystem>
#include <functional>
#include <iosfwd>
#include <string>
#include <string_view>

namespace funnel {

/// @brief Reads a whole file as bytes. @throws io_error naming the file and the OS reason.
[[nodiscard]] std::string read_file(const std::filesystem::path& path);

/// @brief Writes `bytes` to `path` atomically: a temporary file in the same directory is written,
/// flushed and fsync'ed, then renamed over `path` (and the directory fsync'ed). Readers see either
/// the old file or the new one, never a mix. @throws io_error; the old file is then untouched.
void write_file_atomic(const std::filesystem::path& path, std::string_view bytes);

/// @brief As above, with the content produced by `writer` into a stream; if `writer` throws,
/// the temporary file is removed, `path` is untouched and the exception propagates.
void write_file_atomic(const std::filesystem::path& path,
                       const std::function<void(std::ostream&)>& writer);

}  // namespace funnel
