#pragma once
// Shared by funnel's fuzz targets (fuzz/<name>.cpp). The rule of every target: bad input may end
// in a funnel::error and nothing else; any other exception, a sanitizer report, a hang or an
// out-of-memory is a finding. A loaded object is then USED (scored, searched, selected from),
// because a crash after a successful load is the worst kind: it reaches the serving path.

#include <funnel/core/error.hpp>
#include <funnel/core/json.hpp>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <string_view>
#include <vector>

namespace funnel::fuzz {

/// Widths above this are not probed (the probe row itself would be the allocation).
inline constexpr std::size_t max_probe_width = std::size_t{1} << 20;

/// The input as text.
inline std::string_view text_of(const std::uint8_t* data, std::size_t size) noexcept {
  return {reinterpret_cast<const char*>(data), size};
}

/// The input as bytes.
inline std::span<const std::uint8_t> bytes_of(const std::uint8_t* data, std::size_t size) noexcept {
  return {data, size};
}

/// The input as a JSON document through funnel's strict layer (throws parse_error only).
inline json json_of(const std::uint8_t* data, std::size_t size) {
  return parse_json(text_of(data, size), "fuzz input");
}

/// A deterministic probe row: ordinary values, zeros, negatives, huge values and NaN (missing),
/// varied by `salt` so a few rows walk different branches.
inline std::vector<float> probe_row(std::size_t width, std::size_t salt) {
  static constexpr float values[] = {0.0F,  1.0F,   -1.0F,
                                     0.5F,  3.0F,   -7.25F,
                                     1e30F, -1e30F, std::numeric_limits<float>::quiet_NaN(),
                                     42.0F, 1e-6F};
  constexpr std::size_t n = sizeof(values) / sizeof(values[0]);
  std::vector<float> row(width);
  for (std::size_t i = 0; i < width; ++i) row[i] = values[(i * 7 + salt * 3) % n];
  return row;
}

/// The same as doubles.
inline std::vector<double> probe_row_double(std::size_t width, std::size_t salt) {
  const auto f = probe_row(width, salt);
  return {f.begin(), f.end()};
}

/// The model's input width.
template <class M>
std::size_t width_of(const M& m) {
  return static_cast<std::size_t>(m.num_features());
}

/// Runs `f`; a funnel::error is the expected result of bad input and is swallowed, anything else
/// propagates (and so crashes the fuzzer).
template <class F>
void expect_typed_errors(F&& f) {
  try {
    f();
  } catch (const funnel::error&) {
  }
}

}  // namespace funnel::fuzz

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);
