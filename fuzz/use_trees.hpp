#pragma once
// What every tree-ensemble fuzz target does with a model that loaded: score and predict rows of
// its exact width (single rows, batches, leaves, SHAP), a narrower row through the checked paths,
// a save/reload round trip, and the importances. Every one of these must be safe on any model a
// loader accepted.

#include <funnel/scoring/tree_ensemble.hpp>
#include <funnel/scoring/treeshap.hpp>

#include <algorithm>
#include <vector>

#include "fuzz_common.hpp"

namespace funnel::fuzz {

inline void use_trees(const scoring::tree_ensemble& m) {
  const std::size_t width = width_of(m);
  const std::size_t groups = m.num_groups();
  if (width > max_probe_width || groups > max_probe_width) return;
  for (std::size_t salt = 0; salt < 3; ++salt) {
    const auto row = probe_row(width, salt);
    (void)m.score(row);
    (void)m.predict(row);
    std::vector<float> out(groups);
    m.predict(row, out);
    m.margins(row, out);
    (void)m.score_unchecked(row);
    m.margins_unchecked(row, out);
  }
  constexpr std::size_t rows = 17;  // more than one interleaved block of 16
  std::vector<float> batch;
  for (std::size_t r = 0; r < rows; ++r) {
    const auto row = probe_row(width, r);
    batch.insert(batch.end(), row.begin(), row.end());
  }
  const matrix_view view(batch.data(), rows, width);
  std::vector<float> out(rows * std::max<std::size_t>(groups, 1));
  m.score_batch(view, std::span<float>(out.data(), rows));
  m.predict_batch(view, std::span<float>(out.data(), rows * groups));
  m.margins_batch(view, std::span<float>(out.data(), rows * groups));
  std::vector<std::int32_t> leaves(rows * m.num_trees());
  m.predict_leaf_batch(view, leaves);
  for (const auto t : {scoring::importance_type::weight, scoring::importance_type::gain,
                       scoring::importance_type::total_cover}) {
    (void)m.importance(t);
  }
  // A row narrower than the model through the checked path: a typed error, never a read past it.
  if (width > 0) {
    const auto narrow = probe_row(width - 1, 0);
    std::vector<float> g(groups);
    expect_typed_errors([&] { m.margins(narrow, g); });
    expect_typed_errors([&] { (void)m.score(narrow); });
  }
  expect_typed_errors([&] {
    const scoring::tree_explainer shap(m);
    if (shap.output_size() > max_probe_width) return;
    std::vector<double> phi(shap.output_size());
    shap.contributions(row_view(batch.data(), width), phi);
  });
  // What a model saves, it loads again.
  expect_typed_errors([&] { (void)scoring::tree_ensemble::from_json(m.to_json()); });
}

}  // namespace funnel::fuzz
