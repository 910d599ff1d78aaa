#pragma once
// What the logistic fuzz targets do with a model that loaded: margins and probabilities of dense
// rows of its exact width, a sparse row, a batch, a narrower row through the checked paths, and a
// save/reload round trip.

#include <funnel/scoring/logistic.hpp>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "fuzz_common.hpp"

namespace funnel::fuzz {

inline void use_logistic(const scoring::logistic_model& m) {
  const std::size_t width = width_of(m);
  if (width > max_probe_width) return;
  for (std::size_t salt = 0; salt < 3; ++salt) {
    const auto row = probe_row(width, salt);
    (void)m.score(row);
    (void)m.predict(row);
    (void)m.score_unchecked(row);
  }
  std::vector<std::uint32_t> idx;
  std::vector<float> val;
  for (std::size_t i = 0; i < std::min<std::size_t>(width, 5); ++i) {
    idx.push_back(
        static_cast<std::uint32_t>(i * (width / 5 + 1) < width ? i * (width / 5 + 1) : i));
  }
  std::sort(idx.begin(), idx.end());
  idx.erase(std::unique(idx.begin(), idx.end()), idx.end());
  val.assign(idx.size(), 0.5F);
  const sparse_row_view sparse{idx, val};
  expect_typed_errors([&] { m.check_row(sparse); });
  (void)m.score(sparse);
  constexpr std::size_t rows = 5;
  std::vector<float> batch;
  for (std::size_t r = 0; r < rows; ++r) {
    const auto row = probe_row(width, r);
    batch.insert(batch.end(), row.begin(), row.end());
  }
  std::vector<float> out(rows);
  m.score_batch(matrix_view(batch.data(), rows, width), out);
  if (width > 0) {
    const auto narrow = probe_row(width - 1, 0);
    expect_typed_errors([&] { m.check_row(narrow); });
  }
  expect_typed_errors([&] { (void)scoring::logistic_model::from_json(m.to_json()); });
}

}  // namespace funnel::fuzz
