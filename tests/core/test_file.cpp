#include <funnel/core/error.hpp>
#include <funnel/core/file.hpp>
#include <funnel/core/mapped_file.hpp>

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
