// tree_ensemble evaluation: the one-row paths (8 trees interleaved), the batch paths (blocks of
// 16 rows, through a SIMD kernel where one was chosen), the reference evaluator and transforms.
#include <funnel/core/error.hpp>
#include <funnel/scoring/tree_ensemble.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <thread>
#include <type_traits>
#include <vector>

#include "core/csr_check.hpp"
#include "scoring/tree_detail.hpp"
#include "scoring/tree_kernels.hpp"

namespace funnel::scoring {

namespace {

// Groups summed at once on the one-row paths (a stack buffer); more groups go in chunks.
constexpr std::size_t group_chunk = 64;

}  // namespace

// ------------------------------------------------------------------------------- evaluation

std::uint32_t tree_ensemble::special_step(std::uint32_t node, float x) const noexcept {
  const auto& n = fast_.nodes[node];
  const bool dl = (n.feature & detail::fast_default_left) != 0;
  if (std::isnan(x)) return dl ? n.left : n.right;
  const auto kind = fast_.special_kind[node];
  if ((kind & 1) == 0) {
    const auto xd = static_cast<double>(x);
    if ((kind & 2) != 0 && xd >= -detail::zero_threshold && xd <= detail::zero_threshold)
      return dl ? n.left : n.right;
    if ((kind & 4) != 0) return n.left;
    return x < n.threshold ? n.left : n.right;
  }
  std::uint32_t cat = 0;
  if (params_.rule == split_rule::less) {
    if (x < 0.0F || x >= static_cast<float>(detail::max_category)) return n.left;
    cat = static_cast<std::uint32_t>(static_cast<std::int32_t>(x));
  } else {
    if (x <= -1.0F || x >= 2147483648.0F) return n.left;
    cat = static_cast<std::uint32_t>(static_cast<std::int64_t>(x));
  }
  if ((kind & 8) != 0) {
    const auto* first = fast_.cat_words.data() + fast_.cat_begin[node];
    return std::binary_search(first, first + fast_.cat_count[node], cat) ? n.right : n.left;
  }
  const auto word = cat / 32;
  if (word >= fast_.cat_count[node]) return n.left;
  return (fast_.cat_words[fast_.cat_begin[node] + word] >> (cat % 32)) & 1U ? n.right : n.left;
}

namespace {

// Walks `N` rows through one tree together, `depth` steps each: the loads of different rows are
// independent, so the CPU overlaps their cache misses (the interleaving idea of QuickScorer and
// of Vespa's fast_forest, without their bit vectors).
template <std::size_t N, bool Special, class Self>
inline void walk_chains(const Self& self, const detail::fast_node* nodes, std::uint32_t depth,
                        const float* const* rows, std::uint32_t* idx) noexcept {
  for (std::uint32_t d = 0; d < depth; ++d) {
    for (std::size_t r = 0; r < N; ++r) {
      const auto& n = nodes[idx[r]];
      const std::uint32_t f = n.feature;
      const float x = rows[r][f & detail::fast_feature_mask];
      if constexpr (Special) {
        if ((f & detail::fast_special) != 0) {
          idx[r] = self.special_step_public(idx[r], x);
          continue;
        }
      }
      const bool left =
          (x < n.threshold) | (std::isnan(x) & ((f & detail::fast_default_left) != 0));
      // Arithmetic select: a data-dependent branch here mispredicts half the time.
      const std::uint32_t mask = 0U - static_cast<std::uint32_t>(left);
      idx[r] = n.right ^ ((n.left ^ n.right) & mask);
    }
  }
}

// N rows through one tree (batch path).
template <std::size_t N, bool Special, class Self>
inline void walk_rows(const Self& self, const detail::fast_node* nodes, std::uint32_t root,
                      std::uint32_t depth, const float* const* rows, std::uint32_t* idx) noexcept {
  for (std::size_t r = 0; r < N; ++r) idx[r] = root;
  walk_chains<N, Special>(self, nodes, depth, rows, idx);
}

}  // namespace

// Accessor used by the walk template (keeps special_step private to users).
struct tree_ensemble_access {
  const tree_ensemble& e;
  [[nodiscard]] std::uint32_t special_step_public(std::uint32_t node, float x) const noexcept;
};

std::uint32_t tree_ensemble_access::special_step_public(std::uint32_t node,
                                                        float x) const noexcept {
  return e.special_step(node, x);
}

// One block of up to 16 rows through every tree, accumulating in Acc (float or double, the
// model's summation type) in tree order.
template <bool Special, class Acc>
void tree_ensemble::margins_block(const float* rows, std::size_t stride, std::size_t count,
                                  Acc* out, bool perfect) const noexcept {
  constexpr std::size_t block = 16;
  const tree_ensemble_access acc{*this};
  const auto groups = params_.num_groups;
  const float* ptr[block];
  std::uint32_t idx[block];
  for (std::size_t r = 0; r < count; ++r) ptr[r] = rows + r * stride;
  const auto* nodes = fast_.nodes.data();
  const Acc* leaf = nullptr;
  if constexpr (std::is_same_v<Acc, float>) {
    leaf = fast_.leaf_f.data();
  } else {
    leaf = fast_.leaf_d.data();
  }
  const detail::perfect_kernel* kernel = perfect ? detail::perfect_kernel_for(fast_.simd) : nullptr;
  const detail::perfect_forest view{fast_.perf_threshold.data(), fast_.perf_feature.data(),
                                    fast_.perf_leaf_f.data(),    fast_.perf_leaf_d.data(),
                                    fast_.perf_node.data(),      fast_.perf_leaf.data(),
                                    fast_.depths.data(),         fast_.groups.data()};
  for (std::size_t t = 0; t < fast_.roots.size(); ++t) {
    if (kernel != nullptr && fast_.perf_node[t] != detail::perfect_npos) {
      const std::size_t end = fast_.perf_run_end[t];
      if constexpr (std::is_same_v<Acc, float>) {
        kernel->block_f32(view, t, end, rows, stride, out, groups);
      } else {
        kernel->block_f64(view, t, end, rows, stride, out, groups);
      }
      t = end - 1;
      continue;
    }
    const auto g = fast_.groups[t];
    if (count == block) {
      walk_rows<block, Special>(acc, nodes, fast_.roots[t], fast_.depths[t], ptr, idx);
    } else {
      for (std::size_t r = 0; r < count; ++r) {
        walk_rows<1, Special>(acc, nodes, fast_.roots[t], fast_.depths[t], ptr + r, idx + r);
      }
    }
    for (std::size_t r = 0; r < count; ++r) out[r * groups + g] += leaf[idx[r]];
  }
}

std::uint32_t tree_ensemble::walk(std::size_t t, const float* row) const noexcept {
  const tree_ensemble_access acc{*this};
  std::uint32_t idx = 0;
  const float* rows[1] = {row};
  idx = fast_.roots[t];
  if (fast_.has_special) {
    walk_chains<1, true>(acc, fast_.nodes.data(), fast_.depths[t], rows, &idx);
  } else {
    walk_chains<1, false>(acc, fast_.nodes.data(), fast_.depths[t], rows, &idx);
  }
  return idx;
}

namespace {

template <class T, class R>
T linear_or_leaf(const tree& tr, std::size_t node, const R* row) noexcept {
  const auto& nd = tr.nodes[node];
  if (tr.linear.empty()) return static_cast<T>(nd.value);
  const auto& lin = tr.linear[node];
  double out = lin.constant;
  for (std::size_t k = 0; k < lin.features.size(); ++k) {
    const auto x = static_cast<double>(row[lin.features[k]]);
    if (std::isnan(x)) return static_cast<T>(nd.value);
    out += x * lin.coeffs[k];
  }
  return static_cast<T>(out);
}

template <class T>
std::size_t reference_leaf(const tree& tr, const T* row, split_rule rule) noexcept {
  std::size_t i = 0;
  while (!tr.nodes[i].is_leaf()) {
    const auto& n = tr.nodes[i];
    i = static_cast<std::size_t>(next_node(n, static_cast<double>(row[n.feature]), rule));
  }
  return i;
}

}  // namespace

void tree_ensemble::margins_rows(matrix_view rows, std::size_t first, std::size_t count,
                                 float* out) const noexcept {
  const auto groups = params_.num_groups;
  constexpr std::size_t block = 16;
  if (fast_.has_linear) {
    for (std::size_t r = 0; r < count; ++r) {
      margins_unchecked(rows.row(first + r), std::span<float>(out + r * groups, groups));
    }
    return;
  }
  const bool f32 = params_.sum == accumulation::float32;
  // The kernel addresses a block's values with 32-bit offsets lane * stride + feature.
  const bool perfect_ok = fast_.simd != detail::simd_none &&
                          rows.stride() <= (std::size_t{0x7FFFFFFF} - params_.num_features) / block;
  std::array<double, block * 8> dbuf{};
  std::vector<double> dheap;
  for (std::size_t b = 0; b < count; b += block) {
    const auto n = std::min(block, count - b);
    const bool perfect = perfect_ok && n == block;
    const float* base = rows.data() + (first + b) * rows.stride();
    float* o = out + b * groups;
    // The block's running sums start at the base margins, in the accumulation type.
    const auto walk = [&](auto* acc, const auto& base_margins) {
      for (std::size_t r = 0; r < n; ++r) {
        for (std::size_t g = 0; g < groups; ++g) acc[r * groups + g] = base_margins[g];
      }
      if (fast_.has_special) {
        margins_block<true>(base, rows.stride(), n, acc, perfect);
      } else {
        margins_block<false>(base, rows.stride(), n, acc, perfect);
      }
    };
    if (f32) {
      walk(o, base_f_);
      continue;
    }
    double* d = dbuf.data();
    if (n * groups > dbuf.size()) {
      dheap.resize(n * groups);
      d = dheap.data();
    }
    walk(d, base_d_);
    for (std::size_t k = 0; k < n * groups; ++k) o[k] = static_cast<float>(d[k] / average_divisor_);
  }
}

// Margins of groups [first, first + count) (count <= group_chunk) for one row, walking only the
// trees of those groups, in tree order: the same sums, in the same order, as the full paths.
template <class Acc>
void tree_ensemble::group_margins(const float* row, std::size_t first, std::size_t count,
                                  float* out) const noexcept {
  std::array<Acc, group_chunk> acc{};
  for (std::size_t g = 0; g < count; ++g) {
    if constexpr (std::is_same_v<Acc, float>) {
      acc[g] = base_f_[first + g];
    } else {
      acc[g] = base_d_[first + g];
    }
  }
  for (std::size_t t = 0; t < trees_.size(); ++t) {
    const std::size_t g = fast_.groups[t];
    if (g < first || g - first >= count) continue;
    if (fast_.has_linear) {
      const auto& tr = trees_[t];
      acc[g - first] += linear_or_leaf<Acc>(tr, reference_leaf(tr, row, params_.rule), row);
    } else if constexpr (std::is_same_v<Acc, float>) {
      acc[g - first] += fast_.leaf_f[walk(t, row)];
    } else {
      acc[g - first] += fast_.leaf_d[walk(t, row)];
    }
  }
  for (std::size_t g = 0; g < count; ++g) {
    if constexpr (std::is_same_v<Acc, float>) {
      out[g] = acc[g];
    } else {
      out[g] = static_cast<float>(acc[g] / average_divisor_);
    }
  }
}

namespace {
// group_margins' accumulation type for this model: linear leaves and LightGBM sum in double.
template <class F>
void with_accumulator(bool f64, F&& f) {
  if (f64) {
    f(double{});
  } else {
    f(float{});
  }
}
}  // namespace

void tree_ensemble::margins_unchecked(row_view row, std::span<float> out) const noexcept {
  const auto groups = params_.num_groups;
  const bool f64 = fast_.has_linear || params_.sum == accumulation::float64;
  if (fast_.has_linear || (f64 && groups > group_chunk)) {
    for (std::size_t first = 0; first < groups; first += group_chunk) {
      const auto count = std::min(group_chunk, groups - first);
      with_accumulator(f64, [&](auto zero) {
        group_margins<decltype(zero)>(row.data(), first, count, out.data() + first);
      });
    }
    return;
  }
  if (!f64) {
    for (std::size_t g = 0; g < groups; ++g) out[g] = base_f_[g];
    if (fast_.has_special) {
      row_sum<true>(row.data(), out.data(), fast_.leaf_f.data());
    } else {
      row_sum<false>(row.data(), out.data(), fast_.leaf_f.data());
    }
    return;
  }
  std::array<double, group_chunk> acc{};
  for (std::size_t g = 0; g < groups; ++g) acc[g] = base_d_[g];
  if (fast_.has_special) {
    row_sum<true>(row.data(), acc.data(), fast_.leaf_d.data());
  } else {
    row_sum<false>(row.data(), acc.data(), fast_.leaf_d.data());
  }
  for (std::size_t g = 0; g < groups; ++g) out[g] = static_cast<float>(acc[g] / average_divisor_);
}

// One row through the trees, 8 trees at a time: their walks are independent chains of loads, so
// the CPU overlaps them; leaves are then added in tree order (the order XGBoost sums in).
template <bool Special, class Acc>
void tree_ensemble::row_sum(const float* row, Acc* out, const Acc* leaf) const noexcept {
  constexpr std::size_t lanes = 8;
  const tree_ensemble_access acc{*this};
  const auto* nodes = fast_.nodes.data();
  const auto T = fast_.roots.size();
  const float* ptr[lanes] = {row, row, row, row, row, row, row, row};
  std::uint32_t idx[lanes];
  std::size_t t = 0;
  const bool one_group = params_.num_groups == 1;
  for (; t + lanes <= T; t += lanes) {
    std::uint32_t depth = 0;
    for (std::size_t k = 0; k < lanes; ++k) {
      idx[k] = fast_.roots[t + k];
      depth = std::max(depth, fast_.depths[t + k]);
    }
    walk_chains<lanes, Special>(acc, nodes, depth, ptr, idx);
    if (one_group) {
      Acc s = out[0];
      for (std::size_t k = 0; k < lanes; ++k) s += leaf[idx[k]];
      out[0] = s;
    } else {
      for (std::size_t k = 0; k < lanes; ++k) out[fast_.groups[t + k]] += leaf[idx[k]];
    }
  }
  for (; t < T; ++t) {
    idx[0] = fast_.roots[t];
    walk_chains<1, Special>(acc, nodes, fast_.depths[t], ptr, idx);
    out[fast_.groups[t]] += leaf[idx[0]];
  }
}

namespace {

/// The output-size check of the entry points that take an output span (one slot per group, or
/// per tree for predict_leaf).
void check_slots(std::size_t slots, std::size_t expected, const char* what, const char* per) {
  if (slots != expected) {
    raise<dimension_mismatch>("scoring.tree_ensemble",
                              "{}: output has {} slots, the model has {} {}", what, slots, expected,
                              per);
  }
}

}  // namespace

void tree_ensemble::margins(std::span<const double> row, std::span<double> out) const {
  const auto groups = params_.num_groups;
  if (row.size() != params_.num_features) check_row(row.size(), "margins");
  check_slots(out.size(), groups, "margins", "groups");
  for (std::size_t g = 0; g < groups; ++g) out[g] = base_d_[g];
  if (params_.sum == accumulation::float32) {
    // XGBoost semantics: the row is converted to float and sums are float.
    for (std::size_t g = 0; g < groups; ++g) {
      float s = base_f_[g];
      for (const auto& tr : trees_) {
        if (static_cast<std::size_t>(tr.group) != g) continue;
        s += static_cast<float>(
            linear_or_leaf<double>(tr, reference_leaf(tr, row.data(), params_.rule), row.data()));
      }
      out[g] = static_cast<double>(s);
    }
    return;
  }
  for (const auto& tr : trees_) {
    const auto leaf = reference_leaf(tr, row.data(), params_.rule);
    out[static_cast<std::size_t>(tr.group)] += linear_or_leaf<double>(tr, leaf, row.data());
  }
  for (std::size_t g = 0; g < groups; ++g) out[g] /= average_divisor_;
}

void tree_ensemble::margins_reference(row_view row, std::span<float> out) const {
  const auto groups = params_.num_groups;
  if (row.size() != params_.num_features) check_row(row.size(), "margins_reference");
  check_slots(out.size(), groups, "margins_reference", "groups");
  if (params_.sum == accumulation::float32) {
    for (std::size_t g = 0; g < groups; ++g) out[g] = base_f_[g];
    for (const auto& tr : trees_) {
      const auto leaf = reference_leaf(tr, row.data(), params_.rule);
      out[static_cast<std::size_t>(tr.group)] += linear_or_leaf<float>(tr, leaf, row.data());
    }
    return;
  }
  std::vector<double> acc(base_d_);
  for (const auto& tr : trees_) {
    const auto leaf = reference_leaf(tr, row.data(), params_.rule);
    acc[static_cast<std::size_t>(tr.group)] += linear_or_leaf<double>(tr, leaf, row.data());
  }
  for (std::size_t g = 0; g < groups; ++g) out[g] = static_cast<float>(acc[g] / average_divisor_);
}

void tree_ensemble::check_row(std::size_t width, const char* what) const {
  raise<dimension_mismatch>("scoring.tree_ensemble",
                            "{}: row has {} values, the model has {} features", what, width,
                            params_.num_features);
}

float tree_ensemble::score_unchecked(row_view row) const noexcept {
  float m = 0.0F;
  if (params_.num_groups == 1) {
    margins_unchecked(row, std::span<float>(&m, 1));
  } else {
    with_accumulator(fast_.has_linear || params_.sum == accumulation::float64,
                     [&](auto zero) { group_margins<decltype(zero)>(row.data(), 0, 1, &m); });
  }
  return m;
}

float tree_ensemble::score(row_view row) const {
  if (row.size() != params_.num_features) [[unlikely]]
    check_row(row.size(), "score");
  return score_unchecked(row);
}

void tree_ensemble::margins(row_view row, std::span<float> out) const {
  if (row.size() != params_.num_features) check_row(row.size(), "margins");
  check_slots(out.size(), params_.num_groups, "margins", "groups");
  margins_unchecked(row, out);
}

score_scale tree_ensemble::scale() const noexcept {
  switch (params_.transform) {
    case output_transform::identity:
      return score_scale::raw;
    case output_transform::sigmoid:
      return score_scale::log_odds;
    case output_transform::exp:
      return score_scale::log;
    case output_transform::softmax:
    case output_transform::argmax:
      return score_scale::multiclass_logits;
  }
  return score_scale::raw;
}

namespace {
template <class T>
void apply_transform(output_transform tr, double scale, std::span<T> m) noexcept {
  switch (tr) {
    case output_transform::identity:
      return;
    case output_transform::sigmoid:
      for (auto& v : m) {
        if constexpr (std::is_same_v<T, float>) {
          v = 1.0F / (1.0F + std::exp(-static_cast<float>(scale) * v));
        } else {
          v = 1.0 / (1.0 + std::exp(-scale * v));
        }
      }
      return;
    case output_transform::exp:
      for (auto& v : m) v = std::exp(v);
      return;
    case output_transform::softmax: {
      if (m.empty()) return;
      T mx = m[0];
      for (auto v : m) mx = std::max(mx, v);
      double sum = 0.0;
      for (auto& v : m) {
        v = std::exp(v - mx);
        sum += static_cast<double>(v);
      }
      for (auto& v : m) v = static_cast<T>(v / static_cast<T>(sum));
      return;
    }
    case output_transform::argmax: {
      if (m.empty()) return;
      std::size_t best = 0;
      for (std::size_t k = 1; k < m.size(); ++k) {
        if (m[k] > m[best]) best = k;
      }
      for (auto& v : m) v = static_cast<T>(best);
      return;
    }
  }
}
}  // namespace

void tree_ensemble::transform(std::span<float> m) const noexcept {
  apply_transform(params_.transform, params_.sigmoid_scale, m);
}
void tree_ensemble::transform(std::span<double> m) const noexcept {
  apply_transform(params_.transform, params_.sigmoid_scale, m);
}

float tree_ensemble::predict_unchecked(row_view row) const noexcept {
  const auto groups = params_.num_groups;
  std::array<float, group_chunk> buf{};
  if (groups <= group_chunk) {
    margins_unchecked(row, std::span<float>(buf.data(), groups));
    transform(std::span<float>(buf.data(), groups));
    return buf[0];
  }
  // More groups than the stack buffer: walk them in chunks (each tree still walked once per
  // pass), reproducing apply_transform's arithmetic in the same order.
  const bool f64 = fast_.has_linear || params_.sum == accumulation::float64;
  const auto chunk = [&](std::size_t first) {
    const auto count = std::min(group_chunk, groups - first);
    with_accumulator(f64, [&](auto zero) {
      group_margins<decltype(zero)>(row.data(), first, count, buf.data());
    });
    return count;
  };
  switch (params_.transform) {
    case output_transform::softmax: {
      float mx = 0.0F;
      float m0 = 0.0F;
      for (std::size_t first = 0; first < groups; first += group_chunk) {
        const auto count = chunk(first);
        if (first == 0) mx = m0 = buf[0];
        for (std::size_t k = 0; k < count; ++k) mx = std::max(mx, buf[k]);
      }
      double sum = 0.0;
      for (std::size_t first = 0; first < groups; first += group_chunk) {
        const auto count = chunk(first);
        for (std::size_t k = 0; k < count; ++k) sum += static_cast<double>(std::exp(buf[k] - mx));
      }
      return std::exp(m0 - mx) / static_cast<float>(sum);
    }
    case output_transform::argmax: {
      std::size_t best = 0;
      float best_value = 0.0F;
      for (std::size_t first = 0; first < groups; first += group_chunk) {
        const auto count = chunk(first);
        for (std::size_t k = 0; k < count; ++k) {
          if ((first == 0 && k == 0) || buf[k] > best_value) {
            best = first + k;
            best_value = buf[k];
          }
        }
      }
      return static_cast<float>(best);
    }
    default: {
      with_accumulator(
          f64, [&](auto zero) { group_margins<decltype(zero)>(row.data(), 0, 1, buf.data()); });
      transform(std::span<float>(buf.data(), 1));  // element-wise transforms
      return buf[0];
    }
  }
}

float tree_ensemble::predict(row_view row) const {
  if (row.size() != params_.num_features) [[unlikely]]
    check_row(row.size(), "predict");
  return predict_unchecked(row);
}

void tree_ensemble::predict_unchecked(row_view row, std::span<float> out) const noexcept {
  margins_unchecked(row, out);
  transform(out.first(params_.num_groups));
}

void tree_ensemble::predict(row_view row, std::span<float> out) const {
  if (row.size() != params_.num_features) check_row(row.size(), "predict");
  check_slots(out.size(), params_.num_groups, "predict", "groups");
  predict_unchecked(row, out);
}

void tree_ensemble::predict_leaf(row_view row, std::span<std::int32_t> out) const {
  if (row.size() != params_.num_features) check_row(row.size(), "predict_leaf");
  check_slots(out.size(), trees_.size(), "predict_leaf", "trees");
  for (std::size_t t = 0; t < fast_.roots.size(); ++t)
    out[t] = fast_.source_node[walk(t, row.data())];
}

namespace {
void check_batch(const tree_ensemble& e, matrix_view rows, std::size_t out_size,
                 std::size_t per_row, const char* what) {
  if (rows.cols() != e.num_features() && rows.rows() > 0) {
    raise<dimension_mismatch>("scoring.tree_ensemble",
                              "{}: rows have {} columns, the model has {} features", what,
                              rows.cols(), e.num_features());
  }
  if (out_size != rows.rows() * per_row) {
    raise<dimension_mismatch>("scoring.tree_ensemble", "{}: output has {} slots, expected {} x {}",
                              what, out_size, rows.rows(), per_row);
  }
}
}  // namespace

void tree_ensemble::score_batch(matrix_view rows, std::span<float> out) const {
  check_batch(*this, rows, out.size(), 1, "score_batch");
  if (params_.num_groups == 1) {
    margins_rows(rows, 0, rows.rows(), out.data());
    return;
  }
  std::vector<float> all(rows.rows() * params_.num_groups);
  margins_rows(rows, 0, rows.rows(), all.data());
  for (std::size_t r = 0; r < rows.rows(); ++r) out[r] = all[r * params_.num_groups];
}

namespace {
// Runs fn(first, count) over `n` rows split into one contiguous range per thread (at most one
// thread per 256 rows; the calling thread alone when that is one).
template <class Fn>
void split_rows(std::size_t n, unsigned threads, const Fn& fn) {
  const std::size_t t =
      std::max(1U, std::min<unsigned>(threads, static_cast<unsigned>((n + 255) / 256)));
  if (t <= 1) {
    fn(std::size_t{0}, n);
    return;
  }
  std::vector<std::thread> pool;
  const auto per = (n + t - 1) / t;
  for (std::size_t b = 0; b < n; b += per) pool.emplace_back(fn, b, std::min(per, n - b));
  for (auto& th : pool) th.join();
}
}  // namespace

void tree_ensemble::margins_batch(matrix_view rows, std::span<float> out, unsigned threads) const {
  check_batch(*this, rows, out.size(), params_.num_groups, "margins_batch");
  split_rows(rows.rows(), threads, [&](std::size_t first, std::size_t count) {
    margins_rows(rows, first, count, out.data() + first * params_.num_groups);
  });
}

void tree_ensemble::predict_batch(matrix_view rows, std::span<float> out, unsigned threads) const {
  margins_batch(rows, out, threads);
  const auto g = params_.num_groups;
  for (std::size_t r = 0; r < rows.rows(); ++r) transform(out.subspan(r * g, g));
}

void tree_ensemble::margins_batch(const csr_matrix& rows, std::span<float> out, float absent,
                                  unsigned threads) const {
  constexpr std::string_view where = "scoring.tree_ensemble";
  funnel::detail::check_csr(rows, where, "margins_batch rows");
  const std::size_t f = params_.num_features;
  const std::size_t g = params_.num_groups;
  if (rows.cols > f) {
    raise<dimension_mismatch>(
        where, "margins_batch: rows have {} columns, the model has {} features", rows.cols, f);
  }
  if (out.size() != rows.rows() * g) {
    raise<dimension_mismatch>(where, "margins_batch: output has {} slots, expected {} x {}",
                              out.size(), rows.rows(), g);
  }
  // Rows per dense block: about 1 MB of floats, a multiple of the kernels' 16 rows.
  const std::size_t block = std::clamp<std::size_t>(
      (std::size_t{1} << 18) / std::max<std::size_t>(f, 1) / 16 * 16, 16, 256);
  split_rows(rows.rows(), threads, [&](std::size_t first, std::size_t count) {
    std::vector<float> dense(block * f, absent);
    auto scatter = [&](std::size_t b, std::size_t m, bool reset) {
      for (std::size_t r = 0; r < m; ++r) {
        const auto row = rows.row(b + r);
        float* d = dense.data() + r * f;
        for (std::size_t k = 0; k < row.indices.size(); ++k) {
          d[row.indices[k]] = reset ? absent : row.values[k];
        }
      }
    };
    for (std::size_t b = first; b < first + count; b += block) {
      const std::size_t m = std::min(block, first + count - b);
      scatter(b, m, false);
      margins_rows(matrix_view(dense.data(), m, f), 0, m, out.data() + b * g);
      scatter(b, m, true);  // only what was written goes back to `absent`
    }
  });
}

void tree_ensemble::predict_batch(const csr_matrix& rows, std::span<float> out, float absent,
                                  unsigned threads) const {
  margins_batch(rows, out, absent, threads);
  const auto g = params_.num_groups;
  for (std::size_t r = 0; r < rows.rows(); ++r) transform(out.subspan(r * g, g));
}

void tree_ensemble::predict_leaf_batch(matrix_view rows, std::span<std::int32_t> out) const {
  check_batch(*this, rows, out.size(), trees_.size(), "predict_leaf_batch");
  for (std::size_t r = 0; r < rows.rows(); ++r) {
    const auto leaves = out.subspan(r * trees_.size(), trees_.size());
    for (std::size_t t = 0; t < fast_.roots.size(); ++t)
      leaves[t] = fast_.source_node[walk(t, rows.row(r).data())];
  }
}

}  // namespace funnel::scoring
