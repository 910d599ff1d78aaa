#include <funnel/core/error.hpp>
#include <funnel/core/file.hpp>
#include <funnel/core/libsvm.hpp>
#include <funnel/core/mapped_file.hpp>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <ostream>
#include <stdexcept>
#include <string>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

#include "child_rss.hpp"
#include "funnel_catch.hpp"

TEST_CASE("file: atomic write replaces the whole file and leaves no temporary behind") {
  const auto dir = funnel::test::scratch_dir("file");
  const auto path = dir / "model.bin";
  funnel::write_file_atomic(path, std::string_view("first version"));
  CHECK(funnel::read_file(path) == "first version");
  funnel::write_file_atomic(path, std::string_view("second"));
  CHECK(funnel::read_file(path) == "second");
  std::size_t files = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir)) ++files;
  CHECK(files == 1);
}

TEST_CASE("file: a writer that throws leaves the old file untouched") {
  const auto dir = funnel::test::scratch_dir("file-throw");
  const auto path = dir / "state.json";
  funnel::write_file_atomic(path, std::string_view("old"));
  CHECK_THROWS_AS(funnel::write_file_atomic(path,
                                            [](std::ostream& out) {
                                              out << "half of the new";
                                              throw std::runtime_error("disk on fire");
                                            }),
                  std::runtime_error);
  CHECK(funnel::read_file(path) == "old");
  std::size_t files = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir)) ++files;
  CHECK(files == 1);
}

TEST_CASE("file: unwritable or unreadable paths give io_error naming the path") {
  CHECK_THROWS_WITH(funnel::write_file_atomic("/nonexistent-dir/x/y.bin", std::string_view("x")),
                    ContainsSubstring("/nonexistent-dir/x/y.bin"));
  CHECK_THROWS_AS(funnel::read_file("/nonexistent-dir/none"), funnel::io_error);
}

TEST_CASE("file: read_file and mapped_file see the same bytes; a mapping outlives a replace") {
  const auto dir = funnel::test::scratch_dir("file-map");
  const auto path = dir / "data.bin";
  std::string content(200000, '\0');
  for (std::size_t i = 0; i < content.size(); ++i) content[i] = static_cast<char>(i * 7 % 251);
  funnel::write_file_atomic(path, std::string_view(content));
  CHECK(funnel::read_file(path) == content);
  funnel::mapped_file mapped(path);
  CHECK(mapped.bytes() == content);
  // save() replaces by rename: the mapping keeps the old file's bytes.
  funnel::write_file_atomic(path, std::string_view("new"));
  CHECK(mapped.bytes() == content);
  CHECK(funnel::read_file(path) == "new");
  funnel::mapped_file moved = std::move(mapped);
  CHECK(moved.bytes() == content);
  CHECK(mapped.bytes().empty());  // NOLINT(bugprone-use-after-move): moved-from is empty
  funnel::write_file_atomic(dir / "empty.bin", std::string_view());
  CHECK(funnel::mapped_file(dir / "empty.bin").bytes().empty());
  CHECK(funnel::read_file(dir / "empty.bin").empty());
  CHECK_THROWS_AS(funnel::mapped_file(dir / "missing.bin"), funnel::io_error);
  CHECK_THROWS_WITH(funnel::mapped_file(dir), ContainsSubstring("cannot map"));
}

TEST_CASE("file: temporary files left by a killed writer of the same pid never make a save fail") {
  // A writer killed mid-save leaves "<name>.tmp.<pid>.<n>"; in a container the restarted
  // service often has the same pid, and its counter restarts at 0.
  const auto dir = funnel::test::scratch_dir("file-stale-temp");
  const auto path = dir / "model.json";
  for (int n = 0; n < 2000; ++n) {
    std::ofstream(dir / fmt::format("model.json.tmp.{}.{}", ::getpid(), n)) << "stale";
  }
  funnel::write_file_atomic(path, std::string_view("fresh"));
  CHECK(funnel::read_file(path) == "fresh");
}

namespace {
// Open file descriptors of this process.
std::size_t open_fds() {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) ++n;
  return n;
}
}  // namespace

TEST_CASE("file: read_file bounds a pipe or device by max_bytes and closes its descriptor") {
  // Attack report M8: read_libsvm("/dev/zero") read until std::bad_alloc, and the descriptor
  // leaked with the exception.
  const std::size_t fds = open_fds();
  CHECK_THROWS_AS(funnel::read_file("/dev/zero", std::size_t{1} << 20), funnel::io_error);
  CHECK_THROWS_WITH(funnel::read_file("/dev/zero", std::size_t{1} << 20),
                    ContainsSubstring("'/dev/zero' (a character device) passed the read limit of "
                                      "1048576 bytes"));
  CHECK(open_fds() == fds);
  CHECK(funnel::read_file("/dev/null", 0).empty());

  // A FIFO: bounded by max_bytes, read whole below it.
  const auto dir = funnel::test::scratch_dir("file-fifo");
  const auto fifo = dir / "pipe";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  const std::string payload(3u << 20, 'x');
  // The reader closes the pipe early: the writer then gets EPIPE, not a SIGPIPE that kills us.
  const auto previous = std::signal(SIGPIPE, SIG_IGN);
  auto feed = [&] {
    return std::thread([&] {
      std::ofstream out(fifo, std::ios::binary);
      out.write(payload.data(), static_cast<std::streamsize>(payload.size()));
    });
  };
  {
    auto writer = feed();
    CHECK_THROWS_WITH(funnel::read_file(fifo, std::size_t{1} << 20),
                      ContainsSubstring("(a pipe) passed the read limit of 1048576 bytes"));
    writer.join();
  }
  {
    auto writer = feed();
    CHECK(funnel::read_file(fifo, std::size_t{4} << 20) == payload);
    writer.join();
  }
  {
    auto writer = feed();
    CHECK(funnel::read_file(fifo, payload.size()) == payload);  // exactly at the limit
    writer.join();
  }
  std::signal(SIGPIPE, previous);
  CHECK(open_fds() == fds);

  // A /proc file says its size is 0: it is read to its end, under max_bytes.
  const auto status = funnel::read_file("/proc/self/status");
  CHECK(status.find("Pid:") != std::string::npos);
  CHECK_THROWS_WITH(funnel::read_file("/proc/self/status", 16),
                    ContainsSubstring("(a file that reports size 0) passed the read limit of 16"));

  // A regular file is read whole whatever max_bytes: its size is known before reading.
  const auto path = dir / "big.bin";
  funnel::write_file_atomic(path, std::string_view(payload));
  CHECK(funnel::read_file(path, 1024) == payload);
  CHECK(open_fds() == fds);
}

TEST_CASE("file: the readers stop /dev/zero at read_file's default limit") {
  // The reproducer, 1 GiB of zeros once: the readers pass no max_bytes, so this is the default.
  // In a child process, so that this test's 1 GiB peak does not hide other tests' memory checks.
  CHECK(funnel::default_read_limit == std::size_t{1} << 30);
  const double growth = funnel::test::child_peak_growth_mib([] {
    try {
      (void)funnel::read_libsvm("/dev/zero");
    } catch (const funnel::io_error& e) {
      if (std::string(e.what()).find("'/dev/zero' (a character device) passed the read limit of "
                                     "1073741824 bytes") != std::string::npos) {
        return;
      }
    }
    throw std::runtime_error("no io_error, or another message");
  });
  INFO("peak RSS growth " << growth << " MiB");
  CHECK(growth > 0.0);     // the io_error came, with its message
  CHECK(growth < 1100.0);  // no more than the limit was held (it read until std::bad_alloc)
}
