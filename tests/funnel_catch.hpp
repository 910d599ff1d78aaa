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
inline auto ContainsSubstring(const std::string& text) {
  return Catch::Matchers::Contains(text);
}
#endif
using Catch::Matchers::WithinAbs;
using Catch::Matchers::WithinRel;

#include <funnel/core/random.hpp>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace funnel::test {
/// Committed fixtures (tests/data).
inline std::filesystem::path data_dir() {
  return FUNNEL_TEST_DATA_DIR;
}
inline std::filesystem::path data(const std::string& name) {
  return data_dir() / name;
}
/// A fresh, empty scratch folder for one test.
inline std::filesystem::path scratch_dir(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() / ("funnel-test-" + name);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}
/// `text` after 1..max_edits random edits (each overwrites or inserts one character), for
/// parser fuzz tests: characters from `alphabet` (a parser's own syntax) or, with `any_byte`,
/// arbitrary bytes. Deterministic for a seeded `r`.
inline std::string mutated(std::string text, funnel::rng& r, std::string_view alphabet,
                           std::uint64_t max_edits, bool any_byte) {
  const auto edits = 1 + r.below(max_edits);
  for (std::uint64_t e = 0; e < edits; ++e) {
    const auto at = static_cast<std::size_t>(r.below(text.size()));
    const char c = !any_byte ? alphabet[r.below(alphabet.size())] : static_cast<char>(r.below(256));
    if (r.bernoulli(0.5)) {
      text[at] = c;
    } else {
      text.insert(text.begin() + static_cast<std::ptrdiff_t>(at), c);
    }
  }
  return text;
}
}  // namespace funnel::test
