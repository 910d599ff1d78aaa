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
#include <limits>
#include <memory>
#include <random>
#include <sstream>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <utility>
#include <vector>

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

/// An open file descriptor, closed when it leaves scope, exceptions included.
class unique_fd {
 public:
  explicit unique_fd(int fd) noexcept : fd_(fd) {}
  ~unique_fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  unique_fd(const unique_fd&) = delete;
  unique_fd& operator=(const unique_fd&) = delete;
  [[nodiscard]] int get() const noexcept { return fd_; }

 private:
  int fd_;
};

/// What a file whose size cannot be checked first is, for read_file's message.
const char* kind_of(bool known, const struct stat& st) noexcept {
  if (!known) return "a file whose kind is unknown";
  if (S_ISFIFO(st.st_mode)) return "a pipe";
  if (S_ISCHR(st.st_mode)) return "a character device";
  if (S_ISSOCK(st.st_mode)) return "a socket";
  if (S_ISBLK(st.st_mode)) return "a block device";
  if (S_ISREG(st.st_mode)) {
    return st.st_size == 0 ? "a file that reports size 0" : "a file that grew while read";
  }
  return "not a regular file";
}

void fsync_directory(const std::filesystem::path& dir) {
  const auto d = dir.empty() ? std::filesystem::path(".") : dir;
  const int fd = ::open(d.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) return;  // best effort: some filesystems do not allow opening directories
  (void)::fsync(fd);
  ::close(fd);
}

}  // namespace

std::string read_file(const std::filesystem::path& path, std::size_t max_bytes) {
  const unique_fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    raise<io_error>("core.read_file", "cannot open '{}' for reading: {}", path.string(),
                    os_reason());
  }
  struct stat st {};
  const bool known = ::fstat(fd.get(), &st) == 0;
  const std::size_t size =
      known && S_ISREG(st.st_mode) && st.st_size > 0 ? static_cast<std::size_t>(st.st_size) : 0;
  const std::size_t limit = std::max(max_bytes, size);
  // Reads into `to` until it is full or the file ends; returns the bytes read.
  auto fill = [&](char* to, std::size_t room) {
    std::size_t got = 0;
    while (got < room) {
      const ssize_t n = ::read(fd.get(), to + got, room - got);
      if (n == 0) break;
      if (n < 0) {
        if (errno == EINTR) continue;
        raise<io_error>("core.read_file", "error while reading '{}': {}", path.string(),
                        os_reason());
      }
      got += static_cast<std::size_t>(n);
    }
    return got;
  };
  // A regular file: one read() into a string of its size (+ 1 byte, to see the end), the common
  // case; a stream copy of a large file costs several times the read itself.
  std::string bytes;
  if (size > 0) {
    bytes.resize(size + 1);
    bytes.resize(fill(bytes.data(), size + 1));
    if (bytes.size() <= size) return bytes;
  }
  // Anything else, or a regular file that grew: blocks of doubling size, never more than one
  // byte past the limit in all (so /dev/zero stops there, holding no more than the limit), then
  // joined.
  const std::size_t most = limit == std::numeric_limits<std::size_t>::max() ? limit : limit + 1;
  std::vector<std::pair<std::unique_ptr<char[]>, std::size_t>> blocks;  // not zero-filled
  std::size_t total = bytes.size();
  std::size_t block = std::size_t{1} << 16;
  auto check_limit = [&] {
    if (total > limit) {
      raise<io_error>("core.read_file",
                      "'{}' ({}) passed the read limit of {} bytes; read_file(path, max_bytes) "
                      "reads more, then the reader's parse_* form",
                      path.string(), kind_of(known, st), limit);
    }
  };
  check_limit();  // a regular file that grew, with max_bytes at most its size
  while (total < most) {
    const std::size_t room = std::min(block, most - total);
    auto b = std::make_unique_for_overwrite<char[]>(room);
    const std::size_t got = fill(b.get(), room);
    total += got;
    if (got > 0) blocks.emplace_back(std::move(b), got);
    check_limit();
    if (got < room) break;  // the file ended inside this block
    block = std::min(block * 2, std::size_t{1} << 26);
  }
  bytes.reserve(total);
  for (const auto& [b, n] : blocks) bytes.append(b.get(), n);
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
