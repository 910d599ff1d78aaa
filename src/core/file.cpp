#include <funnel/core/error.hpp>
#include <funnel/core/file.hpp>
#include <funnel/core/mapped_file.hpp>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <random>
#include <sstream>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <utility>

namespace funnel {
namespace {

std::string os_reason() {
  return std::strerror(errno);
}

/// A per-process random salt: a pid is not unique across pid namespaces sharing a volume, nor
/// across restarts (a container's service often gets the same pid every time).
std::uint64_t process_salt() {
  static const std::uint64_t salt = [] {
    std::uint64_t s =
        static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
    try {
      std::random_device rd;
      s ^= (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
    } catch (...) {  // no entropy source: the clock alone still differs between restarts
    }
    return s;
  }();
  return salt;
}

/// Unique per process and call, so concurrent writers of the same path never share a temp file;
/// the salt keeps a killed writer's leftover (same pid, counter restarted) out of the way.
std::filesystem::path temp_path_for(const std::filesystem::path& path) {
  static std::atomic<unsigned long> counter{0};
  auto name = path.filename().string();
  name += fmt::format(".tmp.{}.{}.{:08x}", ::getpid(), counter.fetch_add(1),
                      static_cast<std::uint32_t>(process_salt()));
  return path.parent_path() / name;
}

void fsync_directory(const std::filesystem::path& dir) {
  const auto d = dir.empty() ? std::filesystem::path(".") : dir;
  const int fd = ::open(d.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) return;  // best effort: some filesystems do not allow opening directories
  (void)::fsync(fd);
  ::close(fd);
}

}  // namespace

std::string read_file(const std::filesystem::path& path) {
  // One read() into a string of the file's size: a stream copy of a large file costs several times
  // the read itself.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    raise<io_error>("core.read_file", "cannot open '{}' for reading: {}", path.string(),
                    os_reason());
  }
  std::string bytes;
  struct stat st {};
  if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
    bytes.reserve(static_cast<std::size_t>(st.st_size));
  char chunk[1 << 16];
  for (;;) {
    const std::size_t room = bytes.capacity() - bytes.size();
    const std::size_t at = bytes.size();
    ssize_t n = 0;
    if (room > 0) {
      bytes.resize(at + room);
      n = ::read(fd, bytes.data() + at, room);
      bytes.resize(at + static_cast<std::size_t>(std::max<ssize_t>(n, 0)));
    } else {
      n = ::read(fd, chunk, sizeof chunk);
      if (n > 0) bytes.append(chunk, static_cast<std::size_t>(n));
    }
    if (n == 0) break;
    if (n < 0 && errno != EINTR) {
      const auto reason = os_reason();
      ::close(fd);
      raise<io_error>("core.read_file", "error while reading '{}': {}", path.string(), reason);
    }
  }
  ::close(fd);
  return bytes;
}

mapped_file::mapped_file(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    raise<io_error>("core.mapped_file", "cannot open '{}' for reading: {}", path.string(),
                    os_reason());
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    const auto reason = errno != 0 ? os_reason() : std::string("not a regular file");
    ::close(fd);
    raise<io_error>("core.mapped_file", "cannot map '{}': {}", path.string(), reason);
  }
  size_ = static_cast<std::size_t>(st.st_size);
  if (size_ > 0) {
    void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
    if (p == MAP_FAILED) {
      const auto reason = os_reason();
      ::close(fd);
      raise<io_error>("core.mapped_file", "cannot map '{}': {}", path.string(), reason);
    }
    data_ = static_cast<const char*>(p);
  }
  ::close(fd);  // the mapping keeps the file
}

mapped_file::~mapped_file() {
  if (data_ != nullptr) ::munmap(const_cast<char*>(data_), size_);
}

mapped_file::mapped_file(mapped_file&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}

mapped_file& mapped_file::operator=(mapped_file&& other) noexcept {
  if (this != &other) {
    if (data_ != nullptr) ::munmap(const_cast<char*>(data_), size_);
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

void write_file_atomic(const std::filesystem::path& path, std::string_view bytes) {
  // O_EXCL never reuses a file; a name taken anyway (a leftover) just moves on to the next one.
  auto tmp = temp_path_for(path);
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  for (int attempt = 0; fd < 0 && errno == EEXIST && attempt < 64; ++attempt) {
    tmp = temp_path_for(path);
    fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  }
  if (fd < 0) {
    raise<io_error>("core.write_file_atomic", "cannot create temporary file '{}' for '{}': {}",
                    tmp.string(), path.string(), os_reason());
  }
  auto fail = [&](std::string_view what) {
    const auto reason = os_reason();
    ::close(fd);
    ::unlink(tmp.c_str());
    raise<io_error>("core.write_file_atomic", "{} '{}' failed: {} (the previous file is untouched)",
                    what, path.string(), reason);
  };
  const char* p = bytes.data();
  std::size_t left = bytes.size();
  while (left > 0) {
    const auto n = ::write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail("writing");
    }
    p += n;
    left -= static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) fail("syncing");
  if (::close(fd) != 0) {
    const auto reason = os_reason();
    ::unlink(tmp.c_str());
    raise<io_error>("core.write_file_atomic", "closing '{}' failed: {}", tmp.string(), reason);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const auto reason = os_reason();
    ::unlink(tmp.c_str());
    raise<io_error>("core.write_file_atomic", "renaming '{}' to '{}' failed: {}", tmp.string(),
                    path.string(), reason);
  }
  fsync_directory(path.parent_path());
}

void write_file_atomic(const std::filesystem::path& path,
                       const std::function<void(std::ostream&)>& writer) {
  // Content is produced in memory first, so a throwing writer never creates a file at all.
  std::ostringstream out(std::ios::binary);
  writer(out);
  if (!out)
    raise<io_error>("core.write_file_atomic", "stream error while producing content for '{}'",
                    path.string());
  write_file_atomic(path, std::move(out).str());
}

}  // namespace funnel
