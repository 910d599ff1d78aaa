#include <funnel/core/error.hpp>
#include <funnel/core/file.hpp>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <random>
#include <sstream>
#include <unistd.h>

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
  std::ifstream in(path, std::ios::binary);
  if (!in)
    raise<io_error>("core.read_file", "cannot open '{}' for reading: {}", path.string(),
                    os_reason());
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) raise<io_error>("core.read_file", "error while reading '{}'", path.string());
  return std::move(buffer).str();
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
