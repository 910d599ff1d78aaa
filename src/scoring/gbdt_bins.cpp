// Histogram gradient boosting: binning (quantile cuts, the histogram layout, dense or sparse
// row storage) and the worker pool of a fit.
#include <algorithm>
#include <chrono>
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

/// Row i's bins: dense, into `bins`, or sparse, appended to `entries` (the slots of its present
/// values) without branches on missing values (they follow no pattern); and into `columns`.
void store_row(binned_matrix& b, std::size_t i, std::span<const float> row,
               std::vector<std::uint32_t>& entries) {
  const std::size_t m = b.stored.size();
  std::size_t out = entries.size();
  if (b.sparse) entries.resize(out + m);
  for (std::size_t j = 0; j < m; ++j) {
    const std::size_t f = b.stored[j];
    const float v = row[f];
    const auto& cuts = b.cuts[f];
    const bool present = !std::isnan(v);
    // upper_bound of NaN is the end: the missing slot, cuts.size().
    const auto bin =
        static_cast<std::uint8_t>(std::upper_bound(cuts.begin(), cuts.end(), v) - cuts.begin());
    if (b.sparse) {
      entries[out] = b.offset[f] + bin;
      out += present ? 1 : 0;
    } else {
      b.bins[i * m + j] = bin;
    }
    if (!b.columns.empty()) b.columns[j * b.rows + i] = bin;
  }
  if (b.sparse) entries.resize(out);
}

/// All rows of `x` into the storage chosen, in chunks of rows on the pool's threads (sparse:
/// the first chunk's entries straight into `b`, each other chunk's then appended in order).
void store_rows(binned_matrix& b, matrix_view x, worker_pool& pool) {
  std::vector<std::vector<std::uint32_t>> entries(pool.size());
  std::vector<std::vector<std::size_t>> ends(pool.size());  // sparse: per row, in its chunk
  const std::size_t used =
      pool.chunks(b.rows, 1024, [&](std::size_t c, std::size_t first, std::size_t last) {
        auto& out = c == 0 ? b.entries : entries[c];
        auto& end = c == 0 ? b.row_ptr : ends[c];
        for (std::size_t i = first; i < last; ++i) {
          store_row(b, i, x.row(i), out);
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
        if (!std::isnan(row[f])) values[f - first].push_back(row[f]);
      }
    }
    for (std::size_t f = first; f < last; ++f) {
      b.has_missing[f] = values[f - first].size() < b.rows ? 1 : 0;
      present[f] = values[f - first].size();
      b.cuts[f] = quantile_cuts(values[f - first], real_bins);
      values[f - first] = {};
    }
  });
  lay_out(b);
  choose_storage(b, present, storage);
  store_rows(b, x, pool);
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
    store_row(b, i, row, b.entries);
    for (const auto f : r.indices) row[f] = std::numeric_limits<float>::quiet_NaN();
  }
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
  for (std::size_t t = 1; t < std::max<std::size_t>(threads, 1); ++t)
    workers_.emplace_back([this, t] { loop(t); });
}

worker_pool::~worker_pool() {
  stop_.store(true);
  generation_.fetch_add(1);
  generation_.notify_all();
  for (auto& w : workers_) w.join();
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
