#pragma once
#include <string>
// Catch2 2.13 (Debian) and Catch2 3 (Conan) both work: pick the include that exists and bring
// the matchers and Approx into the same names for both.
#if __has_include(<catch2/catch_all.hpp>)
#include <catch2/catch_all.hpp>
using Catch::Approx;
using Catch::Matchers::ContainsSubstring;
#else
#include <catch2/catch.hpp>
/// Catch2 3's name for the substring matcher, on Catch2 2.
inline auto ContainsSubstring(const std::string& text) { return Catch::Matchers::Contains(text); }
#endif
using Catch::Matchers::WithinAbs;
using Catch::Matchers::WithinRel;

#include <filesystem>
#include <string>

namespace funnel::test {
/// Committed fixtures (tests/data).
inline std::filesystem::path data_dir() { return FUNNEL_TEST_DATA_DIR; }
inline std::filesystem::path data(const std::string& name) { return data_dir() / name; }
/// A fresh, empty scratch folder for one test.
inline std::filesystem::path scratch_dir(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() / ("funnel-test-" + name);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}
}  // namespace funnel::test
