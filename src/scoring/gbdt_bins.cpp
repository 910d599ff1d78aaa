// Histogram gradient boosting: binning (quantile cuts, the histogram layout, dense or sparse
// row storage) and the worker pool of a fit.
#include <funnel/core/error.hpp>

#include <algorithm>
#include <bit>
#include <chrono>
#include <cmath>
#include <limits>
#include <system_error>

#if defined(__SSE2__)
#include <immintrin.h>
#endif

#include "scoring/gbdt_detail.hpp"

namespace funnel::scoring::detail {
namespace {

constexpr std::size_t max_stored_bins = 256;
/// Column-major bins for partitioning are kept up to this size.
constexpr std::size_t max_partition_bytes = std::size_t{1} << 26;

/// Distinct values a feature may have to be cut without sorting its values.
constexpr std::size_t few_values = 16;

/// The distinct values of `values` in ascending order when there are at most `cap` of them
/// (one pass, no sort: indicator, one-hot and other low-cardinality columns); empty otherwise.
std::vector<float> few_distinct(std::span<const float> values, std::size_t cap) {
  std::vector<float> distinct;
  std::size_t last = 0;  // the value matched last: runs of one value are the common case
  for (const float v : values) {
    if (!distinct.empty() && distinct[last] == v) continue;
    const auto it = std::lower_bound(distinct.begin(), distinct.end(), v);
    last = static_cast<std::size_t>(it - distinct.begin());
    if (it != distinct.end() && *it == v) continue;
    if (distinct.size() == cap) return {};
    distinct.insert(it, v);
  }
  return distinct;
}

/// The cut above the largest value, so every value has a bin below it (XGBoost's: max + |max| +
/// 1e-5, in float arithmetic).
float cut_above(float mx) {
  return mx + (std::fabs(mx) + 1e-5F);
}

// XGBoost 1.7's quantile sketch (src/common/quantile.h: WQuantileSketch, WQSummary), reimplemented
// so that funnel's cuts are XGBoost `hist`'s cuts for the same max_bin: exactly its arithmetic
// (float ranks), its in-queue and its levels, fed the present values in row order with their
// rows' weights (1 without weights; `hist` does not weight by the hessian) as XGBoost feeds them.
// Where the values fit its in-queue (twice its level size: every column of up to 8,194 values) its
// summary is exact and the cuts are those of the sorted values pruned by rank; beyond that the
// levels merge and prune as XGBoost's do.

/// One summary entry: the value and bounds on the ranks of its first and last copy.
struct sketch_entry {
  float rmin;
  float rmax;
  float wmin;  // the copies of the value (its weight)
  float value;
  [[nodiscard]] float rmin_next() const { return rmin + wmin; }
  [[nodiscard]] float rmax_prev() const { return rmax - wmin; }
};
using sketch_summary = std::vector<sketch_entry>;

/// At most `maxsize` entries of `src`, picked at evenly spaced ranks (WQSummary::SetPrune).
void prune(const sketch_summary& src, std::size_t maxsize, sketch_summary& out) {
  if (src.size() <= maxsize) {
    out = src;
    return;
  }
  out.clear();
  const std::size_t last = src.size() - 1;
  const float begin = src[0].rmax;
  const float range = src[last].rmin - src[0].rmax;
  const std::size_t n = maxsize - 1;
  out.push_back(src[0]);
  std::size_t i = 1;
  std::size_t lastidx = 0;
  for (std::size_t k = 1; k < n; ++k) {
    const float dx2 = 2 * ((static_cast<float>(k) * range) / static_cast<float>(n) + begin);
    while (i < last && dx2 >= src[i + 1].rmax + src[i + 1].rmin) ++i;
    if (i == last) break;
    if (dx2 < src[i].rmin_next() + src[i + 1].rmax_prev()) {
      if (i != lastidx) {
        out.push_back(src[i]);
        lastidx = i;
      }
    } else if (i + 1 != lastidx) {
      out.push_back(src[i + 1]);
      lastidx = i + 1;
    }
  }
  if (lastidx != last) out.push_back(src[last]);
}

/// The summary of two summaries' values (WQSummary::SetCombine, then FixError).
void combine(const sketch_summary& sa, const sketch_summary& sb, sketch_summary& out) {
  out.clear();
  if (sa.empty() || sb.empty()) {
    out = sa.empty() ? sb : sa;
    return;
  }
  auto a = sa.begin();
  auto b = sb.begin();
  float aprev_rmin = 0;
  float bprev_rmin = 0;
  while (a != sa.end() && b != sb.end()) {
    if (a->value == b->value) {
      out.push_back({a->rmin + b->rmin, a->rmax + b->rmax, a->wmin + b->wmin, a->value});
      aprev_rmin = a->rmin_next();
      bprev_rmin = b->rmin_next();
      ++a;
      ++b;
    } else if (a->value < b->value) {
      out.push_back({a->rmin + bprev_rmin, a->rmax + b->rmax_prev(), a->wmin, a->value});
      aprev_rmin = a->rmin_next();
      ++a;
    } else {
      out.push_back({b->rmin + aprev_rmin, b->rmax + a->rmax_prev(), b->wmin, b->value});
      bprev_rmin = b->rmin_next();
      ++b;
    }
  }
  for (const float brmax = sb.back().rmax; a != sa.end(); ++a)
    out.push_back({a->rmin + bprev_rmin, a->rmax + brmax, a->wmin, a->value});
  for (const float armax = sa.back().rmax; b != sb.end(); ++b)
    out.push_back({b->rmin + aprev_rmin, b->rmax + armax, b->wmin, b->value});
  float prev_rmin = 0;
  float prev_rmax = 0;
  for (auto& e : out) {
    if (e.rmin < prev_rmin) {
      e.rmin = prev_rmin;
    } else {
      prev_rmin = e.rmin;
    }
    e.rmax = std::max(e.rmax, prev_rmax);
    e.rmax = std::max(e.rmax, e.rmin_next());
    prev_rmax = e.rmax;
  }
}

/// XGBoost's WQuantileSketch for `count` values and accuracy `eps`.
class quantile_sketch {
 public:
  quantile_sketch(std::size_t count, double eps) {
    for (levels_ = 1;; ++levels_) {
      limit_ = std::min(
          count, static_cast<std::size_t>(std::ceil(static_cast<double>(levels_) / eps)) + 1);
      if ((std::size_t{1} << levels_) * limit_ >= count) break;
    }
    queue_.reserve(limit_ * 2);
  }

  void push(float x, float w) {
    if (w == 0) return;
    if (!queue_.empty() && queue_.back().value == x) {
      queue_.back().weight += w;
      return;
    }
    if (queue_.size() == limit_ * 2) {
      summarize_queue(temp_);
      push_temp();
    }
    queue_.push_back({x, w});
  }

  /// The summary of every value pushed (QuantileSketchTemplate::GetSummary).
  void summary(sketch_summary& out) {
    summarize_queue(out);
    if (level_.empty()) {
      if (out.size() > limit_) {
        prune(out, limit_, temp_);
        out = temp_;
      }
      return;
    }
    prune(out, limit_, level_[0]);
    for (std::size_t l = 1; l < level_.size(); ++l) {
      if (level_[l].empty()) continue;
      if (level_[0].empty()) {
        level_[0] = level_[l];
      } else {
        combine(level_[0], level_[l], out);
        prune(out, limit_, level_[0]);
      }
    }
    out = level_[0];
  }

 private:
  struct queued {
    float value;
    float weight;
  };

  /// The queue's values sorted, equal ones merged (Queue::MakeSummary); empties the queue.
  void summarize_queue(sketch_summary& out) {
    std::sort(queue_.begin(), queue_.end(),
              [](const queued& a, const queued& b) { return a.value < b.value; });
    out.clear();
    float wsum = 0;
    for (std::size_t i = 0; i < queue_.size();) {
      std::size_t j = i + 1;
      float w = queue_[i].weight;
      for (; j < queue_.size() && queue_[j].value == queue_[i].value; ++j) w += queue_[j].weight;
      out.push_back({wsum, wsum + w, w, queue_[i].value});
      wsum += w;
      i = j;
    }
    queue_.clear();
  }

  /// temp_ into the levels, merging upwards while a level overflows (PushTemp).
  void push_temp() {
    for (std::size_t l = 1;; ++l) {
      if (level_.size() < l + 1) level_.resize(l + 1);
      if (level_[l].empty()) {
        prune(temp_, limit_, level_[l]);
        return;
      }
      prune(temp_, limit_, level_[0]);
      combine(level_[0], level_[l], temp_);
      if (temp_.size() <= limit_) {
        level_[l] = temp_;
        return;
      }
      level_[l].clear();
    }
  }

  std::size_t levels_ = 1;
  std::size_t limit_ = 0;
  std::vector<queued> queue_;
  std::vector<sketch_summary> level_;  // level_[0]: scratch, as in XGBoost
  sketch_summary temp_;
};

/// Quantile cuts of one feature from its present values in row order and their rows' weights
/// (empty: all 1): XGBoost 1.7 `hist`'s cuts
/// for max_bin = `max_bins` (HostSketchContainer: its sketch, pruned to 8 x max_bin entries, then
/// to max_bin + 1; each entry's value but the first and the last is a cut, then the cut above
/// the maximum), so a feature with up to max_bins distinct values has one bin per value. At most
/// `cap` bins: a feature with 256 bins and missing values has no room for its missing slot, so
/// its two highest bins become one (the only departure from XGBoost). Few distinct values are
/// found without the sketch (the same cuts: every value but the smallest starts a bin).
std::vector<float> quantile_cuts(std::span<const float> values, std::span<const float> weights,
                                 std::size_t max_bins, std::size_t cap) {
  std::vector<float> cuts;
  // Weighted: only values of positive weight count (XGBoost pushes weight 0 nowhere), but all
  // size the sketch.
  std::vector<float> weighed;
  std::span<const float> counted = values;
  if (!weights.empty()) {
    for (std::size_t k = 0; k < values.size(); ++k) {
      if (weights[k] > 0) weighed.push_back(values[k]);
    }
    counted = weighed;
  }
  if (counted.empty()) return cuts;
  if (auto distinct = few_distinct(counted, std::min(few_values, max_bins)); !distinct.empty()) {
    cuts.assign(distinct.begin() + 1, distinct.end());
    cuts.push_back(cut_above(distinct.back()));
    return cuts;
  }
  const std::size_t n = values.size();
  const std::size_t n_bins = std::max<std::size_t>(std::min(max_bins, n), 1);
  quantile_sketch sketch(n, 1.0 / (static_cast<float>(n_bins) * 8.0F));
  for (std::size_t k = 0; k < n; ++k) sketch.push(values[k], weights.empty() ? 1.0F : weights[k]);
  sketch_summary out;
  sketch.summary(out);
  sketch_summary reduced;
  const std::size_t intermediate = std::min(n, max_bins * 8);
  prune(out, intermediate, reduced);
  const std::size_t bins = std::min(intermediate, max_bins);
  prune(reduced, bins + 1, out);
  for (std::size_t i = 1; i < std::min(out.size(), bins); ++i) {
    if (cuts.empty() || out[i].value > cuts.back()) cuts.push_back(out[i].value);
  }
  cuts.push_back(cut_above(out.back().value));
  while (cuts.size() > cap) cuts.erase(cuts.end() - 2);
  return cuts;
}

/// The first infinite feature value seen (by row, then feature) in a part of the data.
struct infinite_value {
  std::size_t row = std::numeric_limits<std::size_t>::max();
  std::size_t feature = 0;
  float value = 0;
  void note(std::size_t r, std::size_t f, float v) {
    if (r < row || (r == row && f < feature)) *this = {r, f, v};
  }
};

/// Throws naming the first infinite value of `parts`, if any: it would have no bin (above every
/// cut, it was binned as missing), so it is rejected, as XGBoost does.
void reject_infinite(const std::vector<infinite_value>& parts) {
  infinite_value first;
  for (const auto& p : parts) first.note(p.row, p.feature, p.value);
  if (first.row == std::numeric_limits<std::size_t>::max()) return;
  raise<invalid_argument>("scoring.gbdt",
                          "training data: feature {} of row {} is {}; features must be finite "
                          "(NaN or absent: missing)",
                          first.feature, first.row, first.value);
}

/// The threshold below every value of weight > 0 (XGBoost's min - |min| - 1e-5: the split that
/// sends only missing values left).
float below_values(std::span<const float> values, std::span<const float> weights) {
  float lowest = std::numeric_limits<float>::infinity();
  for (std::size_t k = 0; k < values.size(); ++k) {
    if (weights.empty() || weights[k] > 0) lowest = std::min(lowest, values[k]);
  }
  if (std::isinf(lowest) && lowest > 0) return 1e-5F;
  return lowest - std::fabs(lowest) - 1e-5F;
}

/// Feature f's present count, missing flag, lowest threshold and cuts from its present values
/// (and their row weights, empty = all 1) in row order, which it then frees.
void cut_feature(binned_matrix& b, std::size_t f, std::vector<float>& values,
                 std::vector<float>& value_weights, std::size_t sketch_bins,
                 std::vector<std::size_t>& present) {
  present[f] = values.size();
  b.has_missing[f] = values.size() < b.rows ? 1 : 0;
  b.min_value[f] = below_values(values, value_weights);
  b.cuts[f] = quantile_cuts(values, value_weights, sketch_bins, max_stored_bins - b.has_missing[f]);
  values = {};
  value_weights = {};
}

/// Slots per feature (0 for one that cannot split) and the histogram layout.
void lay_out(binned_matrix& b) {
  b.offset.assign(b.cols + 1, 0);
  for (std::size_t f = 0; f < b.cols; ++f) {
    const std::size_t nb = b.real_bins(f);
    const bool splittable = nb >= 2 || (nb == 1 && b.has_missing[f] != 0);
    const std::size_t slots = splittable ? nb + (b.has_missing[f] != 0 ? 1 : 0) : 0;
    b.offset[f + 1] = b.offset[f] + static_cast<std::uint32_t>(slots);
  }
  b.slots = b.offset[b.cols];
}

/// The stored features and the storage choice (see binned_matrix), from the present counts.
void choose_storage(binned_matrix& b, const std::vector<std::size_t>& present,
                    bin_storage storage) {
  std::size_t total = 0;
  b.column_of.assign(b.cols, -1);
  for (std::size_t f = 0; f < b.cols; ++f) {
    if (b.offset[f + 1] == b.offset[f]) continue;
    total += present[f];
    b.column_of[f] = static_cast<std::int32_t>(b.stored.size());
    b.stored.push_back(static_cast<std::uint32_t>(f));
    b.stored_offset.push_back(b.offset[f]);
  }
  const std::size_t m = b.stored.size();
  b.sparse =
      storage == bin_storage::automatic ? total * 2 < b.rows * m : storage == bin_storage::sparse;
  if (!b.sparse) b.bins.resize(b.rows * m);
  if (!b.sparse) return;
  b.row_ptr.reserve(b.rows + 1);
  b.row_ptr.push_back(0);
  b.entries.reserve(total);
  for (const auto f : b.stored) {
    if (b.has_missing[f] != 0) b.implied_missing.push_back(f);
  }
}

/// Finds a value's slot within its feature (upper_bound over the feature's cuts; NaN: the
/// missing slot, cuts.size()) without branching on the value: a binary search's branches follow
/// no pattern and were a quarter of a fit of agaricus. Features with up to 8 cuts compare against
/// all 8 (padded with NaN, which no comparison reaches), the others search branch-free.
class slot_finder {
 public:
  explicit slot_finder(const binned_matrix& b) {
    first_.reserve(b.stored.size() + 1);
    for (const auto f : b.stored) {
      first_.push_back(static_cast<std::uint32_t>(cuts_.size()));
      count_.push_back(static_cast<std::uint32_t>(b.cuts[f].size()));
      cuts_.insert(cuts_.end(), b.cuts[f].begin(), b.cuts[f].end());
      if (b.cuts[f].size() <= short_cuts)
        cuts_.resize(cuts_.size() + short_cuts - b.cuts[f].size(),
                     std::numeric_limits<float>::quiet_NaN());
    }
  }
  /// The slot of `v` within stored feature j.
  [[nodiscard]] std::uint8_t operator()(std::size_t j, float v) const {
    const float* cuts = cuts_.data() + first_[j];
    const std::uint32_t n = count_[j];
    std::uint32_t below = 0;  // cuts <= v
    if (n <= short_cuts) {
#if defined(__SSE2__)
      const __m128 x = _mm_set1_ps(v);
      const int le = _mm_movemask_ps(_mm_cmple_ps(_mm_loadu_ps(cuts), x)) |
                     (_mm_movemask_ps(_mm_cmple_ps(_mm_loadu_ps(cuts + 4), x)) << 4);
      // The cuts ascend (padding: never <= v), so the set bits are the low `below` ones.
      below = static_cast<std::uint32_t>(std::countr_one(static_cast<unsigned>(le)));
#else
      for (std::size_t k = 0; k < short_cuts; ++k) below += cuts[k] <= v ? 1U : 0U;
#endif
    } else {
      const float* base = cuts;
      for (std::uint32_t len = n; len > 1;) {
        const std::uint32_t half = len / 2;
        base = base[half] <= v ? base + half : base;
        len -= half;
      }
      below = static_cast<std::uint32_t>(base - cuts) + (*base <= v ? 1U : 0U);
    }
    return static_cast<std::uint8_t>(std::isnan(v) ? n : below);
  }

 private:
  static constexpr std::size_t short_cuts = 8;
  std::vector<float> cuts_;
  std::vector<std::uint32_t> first_;
  std::vector<std::uint32_t> count_;
};

/// fn(f, row[f]) for each f in [first, last) whose value is not NaN, in order: the NaN test four
/// values at a time, then a loop over the present ones (mostly-missing rows: one-hot, indicators).
template <typename Fn>
void for_each_present(const float* row, std::size_t first, std::size_t last, const Fn& fn) {
  std::size_t f = first;
#if defined(__SSE2__)
  for (; f + 4 <= last; f += 4) {
    const __m128 v = _mm_loadu_ps(row + f);
    auto present = static_cast<unsigned>(_mm_movemask_ps(_mm_cmpord_ps(v, v)));
    for (; present != 0; present &= present - 1) {
      const auto k = f + static_cast<std::size_t>(std::countr_zero(present));
      fn(k, row[k]);
    }
  }
#endif
  for (; f < last; ++f) {
    if (!std::isnan(row[f])) fn(f, row[f]);
  }
}

/// Row i's bins: dense, into `bins`, or sparse, appended to `entries` (the slots of its present
/// values).
void store_row(binned_matrix& b, const slot_finder& slot, std::size_t i, std::span<const float> row,
               std::vector<std::uint32_t>& entries) {
  if (b.sparse) {
    for_each_present(row.data(), 0, b.cols, [&](std::size_t f, float v) {
      const std::int32_t j = b.column_of[f];
      if (j >= 0) entries.push_back(b.offset[f] + slot(static_cast<std::size_t>(j), v));
    });
    return;
  }
  const std::size_t m = b.stored.size();
  std::uint8_t* bins = b.bins.data() + i * m;
  for (std::size_t j = 0; j < m; ++j) bins[j] = slot(j, row[b.stored[j]]);
}

/// All rows of `x` into the storage chosen, in chunks of rows on the pool's threads (sparse:
/// the first chunk's entries straight into `b`, each other chunk's then appended in order).
void store_rows(binned_matrix& b, matrix_view x, worker_pool& pool) {
  std::vector<std::vector<std::uint32_t>> entries(pool.size());
  std::vector<std::vector<std::size_t>> ends(pool.size());  // sparse: per row, in its chunk
  const slot_finder slot(b);
  const std::size_t used =
      pool.chunks(b.rows, 1024, [&](std::size_t c, std::size_t first, std::size_t last) {
        auto& out = c == 0 ? b.entries : entries[c];
        auto& end = c == 0 ? b.row_ptr : ends[c];
        for (std::size_t i = first; i < last; ++i) {
          store_row(b, slot, i, x.row(i), out);
          if (b.sparse) end.push_back(out.size());
        }
      });
  if (!b.sparse) return;
  for (std::size_t c = 1; c < used; ++c) {
    const std::size_t base = b.entries.size();
    for (const auto e : ends[c]) b.row_ptr.push_back(base + e);
    b.entries.insert(b.entries.end(), entries[c].begin(), entries[c].end());
    entries[c] = {};
  }
}

/// Column-major bins too, for partitioning from one contiguous column, while they are small:
/// transposed from the dense rows in blocks (reads and writes both stay in cache), or from the
/// sparse entries onto columns of missing slots (only the present values are written).
void fill_columns(binned_matrix& b) {
  const std::size_t m = b.stored.size();
  if (b.rows * m > max_partition_bytes) return;
  b.columns.resize(b.rows * m);
  if (!b.sparse) {
    constexpr std::size_t block = 64;
    for (std::size_t first = 0; first < b.rows; first += block) {
      const std::size_t last = std::min(b.rows, first + block);
      for (std::size_t j = 0; j < m; ++j) {
        std::uint8_t* column = b.columns.data() + j * b.rows;
        for (std::size_t i = first; i < last; ++i) column[i] = b.bins[i * m + j];
      }
    }
    return;
  }
  std::vector<std::uint32_t> column_of_slot(b.slots);
  for (std::size_t j = 0; j < m; ++j) {
    const std::size_t f = b.stored[j];
    std::fill_n(b.columns.begin() + static_cast<std::ptrdiff_t>(j * b.rows), b.rows,
                static_cast<std::uint8_t>(b.real_bins(f)));
    for (std::size_t s = b.offset[f]; s < b.offset[f + 1]; ++s)
      column_of_slot[s] = static_cast<std::uint32_t>(j);
  }
  for (std::size_t i = 0; i < b.rows; ++i) {
    for (std::size_t k = b.row_ptr[i]; k < b.row_ptr[i + 1]; ++k) {
      const std::size_t j = column_of_slot[b.entries[k]];
      b.columns[j * b.rows + i] = static_cast<std::uint8_t>(b.entries[k] - b.stored_offset[j]);
    }
  }
}

}  // namespace

std::size_t binned_matrix::local_slot(std::uint32_t r, std::size_t f) const {
  const auto col = static_cast<std::size_t>(column_of[f]);
  if (!columns.empty()) return columns[col * rows + r];
  if (!sparse) return bins[static_cast<std::size_t>(r) * stored.size() + col];
  const auto* first = entries.data() + row_ptr[r];
  const auto* last = entries.data() + row_ptr[r + 1];
  const auto* it = std::lower_bound(first, last, offset[f]);
  if (it != last && *it < offset[f] + real_bins(f)) return *it - offset[f];
  return real_bins(f);
}

binned_matrix bin_features(matrix_view x, std::size_t max_bins, worker_pool& pool,
                           bin_storage storage, std::span<const float> weights) {
  binned_matrix b;
  b.rows = x.rows();
  b.cols = x.cols();
  b.has_missing.assign(b.cols, 0);
  b.cuts.resize(b.cols);
  b.min_value.resize(b.cols);
  std::vector<std::size_t> present(b.cols);
  const std::size_t sketch_bins = std::min(max_bins, max_stored_bins);
  // Per range of features (one per thread): their present values, row by row, then the cuts;
  // and the first infinite value in the range.
  std::vector<infinite_value> infinite(pool.size());
  pool.chunks(b.cols, 1, [&](std::size_t c, std::size_t first, std::size_t last) {
    std::vector<std::vector<float>> values(last - first);
    std::vector<std::vector<float>> value_weights(weights.empty() ? 0 : last - first);
    std::vector<float> unweighted;
    for (std::size_t i = 0; i < b.rows; ++i) {
      for_each_present(x.row(i).data(), first, last, [&](std::size_t f, float v) {
        if (std::isinf(v)) infinite[c].note(i, f, v);
        values[f - first].push_back(v);
        if (!weights.empty()) value_weights[f - first].push_back(weights[i]);
      });
    }
    for (std::size_t f = first; f < last; ++f) {
      cut_feature(b, f, values[f - first], weights.empty() ? unweighted : value_weights[f - first],
                  sketch_bins, present);
    }
  });
  reject_infinite(infinite);
  lay_out(b);
  choose_storage(b, present, storage);
  store_rows(b, x, pool);
  fill_columns(b);
  return b;
}

binned_matrix bin_features(const csr_matrix& x, std::size_t max_bins, worker_pool& pool,
                           bin_storage storage, std::span<const float> weights) {
  binned_matrix b;
  b.rows = x.rows();
  b.cols = x.cols;
  b.cuts.resize(b.cols);
  b.min_value.resize(b.cols);
  std::vector<std::vector<float>> values(b.cols);
  std::vector<std::vector<float>> value_weights(weights.empty() ? 0 : b.cols);
  std::vector<infinite_value> infinite(1);
  for (std::size_t i = 0; i < b.rows; ++i) {
    for (std::size_t k = x.row_ptr[i]; k < x.row_ptr[i + 1]; ++k) {
      const float v = x.values[k];
      if (std::isnan(v)) continue;
      if (std::isinf(v)) infinite[0].note(i, x.indices[k], v);
      values[x.indices[k]].push_back(v);
      if (!weights.empty()) value_weights[x.indices[k]].push_back(weights[i]);
    }
  }
  reject_infinite(infinite);
  const std::size_t sketch_bins = std::min(max_bins, max_stored_bins);
  std::vector<std::size_t> present(b.cols);
  b.has_missing.assign(b.cols, 0);
  pool.chunks(b.cols, 1, [&](std::size_t, std::size_t first, std::size_t last) {
    std::vector<float> unweighted;
    for (std::size_t f = first; f < last; ++f)
      cut_feature(b, f, values[f], weights.empty() ? unweighted : value_weights[f], sketch_bins,
                  present);
  });
  lay_out(b);
  choose_storage(b, present, storage);
  const slot_finder slot(b);
  std::vector<float> row;
  if (!b.sparse) row.assign(b.cols, std::numeric_limits<float>::quiet_NaN());
  for (std::size_t i = 0; i < b.rows; ++i) {
    const auto r = x.row(i);
    if (b.sparse) {  // only the stored entries (indices ascend, so do their slots)
      for (std::size_t k = 0; k < r.indices.size(); ++k) {
        const std::size_t f = r.indices[k];
        const float v = r.values[k];
        if (b.column_of[f] < 0 || std::isnan(v)) continue;
        const auto j = static_cast<std::size_t>(b.column_of[f]);
        const std::uint8_t bin = slot(j, v);
        b.entries.push_back(b.offset[f] + bin);
      }
      b.row_ptr.push_back(b.entries.size());
      continue;
    }
    // Dense storage (most values present): the row expanded, the rest missing.
    for (std::size_t k = 0; k < r.indices.size(); ++k) row[r.indices[k]] = r.values[k];
    store_row(b, slot, i, row, b.entries);
    for (const auto f : r.indices) row[f] = std::numeric_limits<float>::quiet_NaN();
  }
  fill_columns(b);
  return b;
}

namespace {

/// How long a waiting thread spins before it sleeps: longer than the serial gaps between the
/// parallel regions of a tree (lossguide's heap and bookkeeping between nodes included: 50 us
/// let the worker sleep and be woken ~160 times per fit of the ranking data, 200 us ~17; each
/// wake-up costs its latency, and the core can go to another process meanwhile), short enough
/// to leave a loaded machine's cores to others.
constexpr auto spin_time = std::chrono::microseconds(200);

void pause() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

/// Spins until done() or spin_time has passed; returns done().
template <typename Done>
bool spin_until(const Done& done) {
  const auto start = std::chrono::steady_clock::now();
  for (;;) {
    for (int k = 0; k < 32; ++k) {
      if (done()) return true;
      pause();
    }
    if (std::chrono::steady_clock::now() - start > spin_time) return done();
  }
}

}  // namespace

worker_pool::worker_pool(std::size_t threads)
    : queues_(std::make_unique<queue[]>(std::max<std::size_t>(threads, 1))) {
  try {
    for (std::size_t t = 1; t < std::max<std::size_t>(threads, 1); ++t)
      workers_.emplace_back([this, t] { loop(t); });
  } catch (const std::system_error& e) {  // the system refused a thread: stop those started
    const std::size_t started = workers_.size();
    stop();
    raise<invalid_argument>("scoring.gbdt",
                            "threads {}: the system refused to start thread {} ({}); ask for fewer",
                            threads, started + 1, e.what());
  }
}

worker_pool::~worker_pool() {
  stop();
}

void worker_pool::stop() {
  stop_.store(true);
  generation_.fetch_add(1);
  generation_.notify_all();
  for (auto& w : workers_) w.join();
  workers_.clear();
}

void worker_pool::work(std::size_t thread) {
  for (std::size_t i = next_.fetch_add(1, std::memory_order_relaxed); i < count_;
       i = next_.fetch_add(1, std::memory_order_relaxed)) {
    (*fn_)(i, thread);
  }
}

void worker_pool::for_each(std::size_t n, const std::function<void(std::size_t, std::size_t)>& fn) {
  if (workers_.empty() || n <= 1) {
    for (std::size_t i = 0; i < n; ++i) fn(i, 0);
    return;
  }
  fn_ = &fn;
  count_ = n;
  next_.store(0, std::memory_order_relaxed);
  open_.store(true);
  // seq_cst with the workers' sleepers_ increment and re-check: a worker about to sleep either
  // sees the new generation or is counted here and woken.
  generation_.fetch_add(1);
  if (sleepers_.load() > 0) generation_.notify_all();
  work(0);
  // Close the region (seq_cst with a worker's inside_ increment and open_ check: it is either
  // counted here or stays out), then wait for the workers still running a task.
  open_.store(false);
  if (spin_until([this] { return inside_.load() == 0; })) return;
  caller_asleep_.store(true);
  for (std::uint32_t k = inside_.load(); k != 0; k = inside_.load()) inside_.wait(k);
  caller_asleep_.store(false, std::memory_order_relaxed);
}

void worker_pool::for_each_owned(std::span<const std::size_t> owner,
                                 const std::function<void(std::size_t, std::size_t)>& fn) {
  const std::size_t n = owner.size();
  if (workers_.empty() || n <= 1) {
    for (std::size_t i = 0; i < n; ++i) fn(i, 0);
    return;
  }
  const std::size_t threads = size();
  own_first_.assign(threads + 1, 0);
  for (const auto o : owner) ++own_first_[o % threads + 1];
  for (std::size_t t = 0; t < threads; ++t) {
    own_first_[t + 1] += own_first_[t];
    queues_[t].next.store(0, std::memory_order_relaxed);
  }
  own_.resize(n);
  // The counters serve as fill cursors first.
  for (std::size_t i = 0; i < n; ++i)
    own_[own_first_[owner[i] % threads] + queues_[owner[i] % threads].next++] = i;
  for (std::size_t t = 0; t < threads; ++t) queues_[t].next.store(0, std::memory_order_relaxed);
  // One call per thread (a thread that comes late finds nothing left): its own list, then the
  // others' in turn.
  for_each(threads, [&](std::size_t, std::size_t thread) {
    for (std::size_t q = 0; q < threads; ++q) {
      const std::size_t t = (thread + q) % threads;
      const std::size_t first = own_first_[t];
      const std::size_t count = own_first_[t + 1] - first;
      auto& next = queues_[t].next;
      for (std::size_t i = next.fetch_add(1, std::memory_order_relaxed); i < count;
           i = next.fetch_add(1, std::memory_order_relaxed))
        fn(own_[first + i], thread);
    }
  });
}

std::size_t worker_pool::chunks(
    std::size_t n, std::size_t min_chunk,
    const std::function<void(std::size_t, std::size_t, std::size_t)>& fn) {
  const std::size_t count =
      std::clamp<std::size_t>(n / std::max<std::size_t>(min_chunk, 1), 1, size());
  const std::size_t chunk = (n + count - 1) / count;
  for_each(count, [&](std::size_t c, std::size_t) {
    fn(c, std::min(n, c * chunk), std::min(n, (c + 1) * chunk));
  });
  return count;
}

void worker_pool::loop(std::size_t index) {
  std::uint32_t seen = 0;
  for (;;) {
    if (!spin_until([&] { return generation_.load(std::memory_order_acquire) != seen; })) {
      sleepers_.fetch_add(1);
      if (generation_.load() == seen) generation_.wait(seen);
      sleepers_.fetch_sub(1, std::memory_order_relaxed);
      continue;
    }
    seen = generation_.load();
    if (stop_.load()) return;
    inside_.fetch_add(1);
    if (open_.load()) work(index);
    if (inside_.fetch_sub(1) == 1 && caller_asleep_.load()) inside_.notify_one();
  }
}

}  // namespace funnel::scoring::detail
