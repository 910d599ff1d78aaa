// Histogram gradient boosting: binning (quantile cuts, the histogram layout, dense or sparse
// row storage) and the worker pool of a fit.
#include <algorithm>
#include <cmath>
#include <limits>

#include "scoring/gbdt_detail.hpp"

namespace funnel::scoring::detail {
namespace {

constexpr std::size_t max_stored_bins = 256;
/// Column-major bins for partitioning are kept up to this size.
constexpr std::size_t max_partition_bytes = std::size_t{1} << 26;

/// Quantile cuts of one feature from its non-missing values (sorted here).
std::vector<float> quantile_cuts(std::vector<float>& values, std::size_t real_bins) {
  std::sort(values.begin(), values.end());
  std::vector<float> cuts;
  if (values.empty()) return cuts;
  std::size_t distinct = 1;
  for (std::size_t i = 1; i < values.size() && distinct <= real_bins; ++i)
    distinct += values[i] != values[i - 1] ? 1 : 0;
  if (distinct <= real_bins) {
    for (std::size_t i = 1; i < values.size(); ++i) {
      if (values[i] != values[i - 1]) cuts.push_back(values[i]);
    }
  } else {
    for (std::size_t k = 1; k < real_bins; ++k) {
      const float q = values[k * values.size() / real_bins];
      if (q > values.front() && (cuts.empty() || q > cuts.back())) cuts.push_back(q);
    }
  }
  // The last cut lies above the maximum so every value has a bin below it.
  const float mx = values.back();
  cuts.push_back(
      std::nextafter(mx + std::fabs(mx) * 1e-6F, std::numeric_limits<float>::infinity()));
  return cuts;
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
  // Column-major bins too, for partitioning from one contiguous column, while they are small.
  if (b.rows * m <= max_partition_bytes) {
    b.columns.resize(b.rows * m);
    for (std::size_t j = 0; j < m; ++j) {
      std::fill_n(b.columns.begin() + static_cast<std::ptrdiff_t>(j * b.rows), b.rows,
                  static_cast<std::uint8_t>(b.real_bins(b.stored[j])));
    }
  }
  if (!b.sparse) return;
  b.row_ptr.reserve(b.rows + 1);
  b.row_ptr.push_back(0);
  b.entries.reserve(total);
  for (const auto f : b.stored) {
    if (b.has_missing[f] != 0) b.implied_missing.push_back(f);
  }
}

/// Row i's bins into the storage chosen, without branches on missing values (they follow no
/// pattern). Sparse: rows in order, into `entries` sized for every present value plus one.
void store_row(binned_matrix& b, std::size_t i, std::span<const float> row) {
  const std::size_t m = b.stored.size();
  std::size_t out = b.sparse ? b.row_ptr.back() : 0;
  for (std::size_t j = 0; j < m; ++j) {
    const std::size_t f = b.stored[j];
    const float v = row[f];
    const auto& cuts = b.cuts[f];
    const bool present = !std::isnan(v);
    // upper_bound of NaN is the end: the missing slot, cuts.size().
    const auto bin =
        static_cast<std::uint8_t>(std::upper_bound(cuts.begin(), cuts.end(), v) - cuts.begin());
    if (b.sparse) {
      b.entries[out] = b.offset[f] + bin;
      out += present ? 1 : 0;
    } else {
      b.bins[i * m + j] = bin;
    }
    if (!b.columns.empty()) b.columns[j * b.rows + i] = bin;
  }
  if (b.sparse) b.row_ptr.push_back(out);
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
                           bin_storage storage) {
  binned_matrix b;
  b.rows = x.rows();
  b.cols = x.cols();
  b.has_missing.assign(b.cols, 0);
  b.cuts.resize(b.cols);
  std::vector<std::size_t> present(b.cols);
  const std::size_t real_bins = std::min(max_bins, max_stored_bins) - 1;
  // Per range of features (one per thread): their present values, row by row, then the cuts.
  pool.chunks(b.cols, 1, [&](std::size_t, std::size_t first, std::size_t last) {
    std::vector<std::vector<float>> values(last - first);
    for (std::size_t i = 0; i < b.rows; ++i) {
      const auto row = x.row(i);
      for (std::size_t f = first; f < last; ++f) {
        if (std::isnan(row[f])) {
          b.has_missing[f] = 1;
        } else {
          values[f - first].push_back(row[f]);
        }
      }
    }
    for (std::size_t f = first; f < last; ++f) {
      present[f] = values[f - first].size();
      b.cuts[f] = quantile_cuts(values[f - first], real_bins);
      values[f - first] = {};
    }
  });
  lay_out(b);
  choose_storage(b, present, storage);
  if (b.sparse) {  // entries are appended in row order
    std::size_t total = 0;
    for (const auto f : b.stored) total += present[f];
    b.entries.resize(total + 1);
    for (std::size_t i = 0; i < b.rows; ++i) store_row(b, i, x.row(i));
    b.entries.resize(total);
  } else {
    pool.chunks(b.rows, 4096, [&](std::size_t, std::size_t first, std::size_t last) {
      for (std::size_t i = first; i < last; ++i) store_row(b, i, x.row(i));
    });
  }
  return b;
}

binned_matrix bin_features(const csr_matrix& x, std::size_t max_bins, worker_pool& pool,
                           bin_storage storage) {
  binned_matrix b;
  b.rows = x.rows();
  b.cols = x.cols;
  b.cuts.resize(b.cols);
  std::vector<std::vector<float>> values(b.cols);
  for (std::size_t k = 0; k < x.nonzeros(); ++k) {
    if (!std::isnan(x.values[k])) values[x.indices[k]].push_back(x.values[k]);
  }
  const std::size_t real_bins = std::min(max_bins, max_stored_bins) - 1;
  std::vector<std::size_t> present(b.cols);
  b.has_missing.assign(b.cols, 0);
  pool.chunks(b.cols, 1, [&](std::size_t, std::size_t first, std::size_t last) {
    for (std::size_t f = first; f < last; ++f) {
      present[f] = values[f].size();
      b.has_missing[f] = present[f] < b.rows ? 1 : 0;
      b.cuts[f] = quantile_cuts(values[f], real_bins);
      values[f] = {};
    }
  });
  lay_out(b);
  choose_storage(b, present, storage);
  std::vector<float> row;
  if (!b.sparse) row.assign(b.cols, std::numeric_limits<float>::quiet_NaN());
  for (std::size_t i = 0; i < b.rows; ++i) {
    const auto r = x.row(i);
    if (b.sparse) {  // only the stored entries (indices ascend, so do their slots)
      for (std::size_t k = 0; k < r.indices.size(); ++k) {
        const std::size_t f = r.indices[k];
        const float v = r.values[k];
        if (b.column_of[f] < 0 || std::isnan(v)) continue;
        const auto& cuts = b.cuts[f];
        const auto bin =
            static_cast<std::uint8_t>(std::upper_bound(cuts.begin(), cuts.end(), v) - cuts.begin());
        b.entries.push_back(b.offset[f] + bin);
        if (!b.columns.empty())
          b.columns[static_cast<std::size_t>(b.column_of[f]) * b.rows + i] = bin;
      }
      b.row_ptr.push_back(b.entries.size());
      continue;
    }
    // Dense storage (most values present): the row expanded, the rest missing.
    for (std::size_t k = 0; k < r.indices.size(); ++k) row[r.indices[k]] = r.values[k];
    store_row(b, i, row);
    for (const auto f : r.indices) row[f] = std::numeric_limits<float>::quiet_NaN();
  }
  return b;
}

worker_pool::worker_pool(std::size_t threads) {
  for (std::size_t t = 1; t < std::max<std::size_t>(threads, 1); ++t)
    workers_.emplace_back([this, t] { loop(t); });
}

worker_pool::~worker_pool() {
  {
    const std::lock_guard lock(m_);
    stop_ = true;
  }
  start_.notify_all();
  for (auto& w : workers_) w.join();
}

void worker_pool::run(const std::function<void(std::size_t)>& task) {
  if (workers_.empty()) {
    task(0);
    return;
  }
  {
    const std::lock_guard lock(m_);
    task_ = &task;
    pending_ = workers_.size();
    ++generation_;
  }
  start_.notify_all();
  task(0);
  std::unique_lock lock(m_);
  done_.wait(lock, [this] { return pending_ == 0; });
  task_ = nullptr;
}

std::size_t worker_pool::chunks(
    std::size_t n, std::size_t min_chunk,
    const std::function<void(std::size_t, std::size_t, std::size_t)>& fn) {
  const std::size_t count =
      std::clamp<std::size_t>(n / std::max<std::size_t>(min_chunk, 1), 1, size());
  const std::size_t chunk = (n + count - 1) / count;
  if (count == 1) {
    fn(0, 0, n);
    return 1;
  }
  run([&](std::size_t t) {
    if (t < count) fn(t, std::min(n, t * chunk), std::min(n, (t + 1) * chunk));
  });
  return count;
}

void worker_pool::loop(std::size_t index) {
  std::size_t seen = 0;
  for (;;) {
    const std::function<void(std::size_t)>* task = nullptr;
    {
      std::unique_lock lock(m_);
      start_.wait(lock, [&] { return stop_ || generation_ != seen; });
      if (stop_) return;
      seen = generation_;
      task = task_;
    }
    (*task)(index);
    {
      const std::lock_guard lock(m_);
      --pending_;
    }
    done_.notify_one();
  }
}

}  // namespace funnel::scoring::detail
