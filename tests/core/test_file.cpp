#include <funnel/core/error.hpp>
#include <funnel/core/file.hpp>

#include <fstream>
#include <ostream>
#include <unistd.h>

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
