#pragma once
/// @file mapped_file.hpp
/// @brief A whole file mapped read-only into memory (see file.hpp for reading and atomic writing).

#include <cstddef>
#include <filesystem>
#include <string_view>

namespace funnel {

/// @brief A whole file mapped read-only into memory (shared with every process that maps it, its
/// pages read in ahead of use). Move-only; the mapping ends with the object. The file must not be
/// changed in place while mapped (a shrinking file makes reads past its new end fault); replacing
/// it by rename, as `write_file_atomic` does, is safe: the mapping keeps the old file.
class mapped_file {
 public:
  /// @brief Maps `path`. @throws io_error naming the file and the OS reason.
  explicit mapped_file(const std::filesystem::path& path);
  ~mapped_file();
  mapped_file(mapped_file&& other) noexcept;
  mapped_file& operator=(mapped_file&& other) noexcept;
  mapped_file(const mapped_file&) = delete;
  mapped_file& operator=(const mapped_file&) = delete;

  /// @brief The file's bytes (empty for an empty file).
  [[nodiscard]] std::string_view bytes() const noexcept { return {data_, size_}; }

 private:
  const char* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace funnel
