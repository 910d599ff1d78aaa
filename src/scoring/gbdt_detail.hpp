#pragma once
// Internals of the GBDT trainer shared by its translation units.
#include <funnel/scoring/gbdt.hpp>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <thread>
#include <utility>
#include <vector>

namespace funnel::scoring::detail {

/// Gradient and hessian of one row (one group) — summed in double like XGBoost's histograms.
struct alignas(16) grad_pair {  // 16-byte aligned: one vector load or streaming store
  double g = 0.0;
  double h = 0.0;
};

class worker_pool;

/// Gradients of every row (and group) at `margins` into `out`, on the pool's threads.
void compute_gradients(const gbdt_options& o, const gbdt_data& d, std::size_t num_groups,
                       std::span<const double> margins, std::span<grad_pair> out,
                       worker_pool& pool);
/// LambdaMART gradients of the queries [first_group, last_group) (`begin` = their first row).
void lambdarank_gradients(const gbdt_options& o, const gbdt_data& d,
                          std::span<const double> margins, std::span<grad_pair> out,
                          std::size_t first_group, std::size_t last_group, std::size_t begin);

/// Quantile cuts per feature (bin b holds cuts[b-1] <= x < cuts[b]) and the binned rows.
///
/// A node histogram holds only the bins that exist: feature f owns slots [offset[f],
/// offset[f+1]): one per real bin, then one for missing values when the training data has any
/// for f. A feature that can never split (no values, or one value and nothing missing) owns no
/// slots and is not stored. Rows are stored dense (one byte per stored feature: the slot within
/// the feature) or, when most values are missing, sparse (the histogram slots of the present
/// values, missing ones implied by the node total), as XGBoost and LightGBM do for sparse data.
struct binned_matrix {
  std::size_t rows = 0;
  std::size_t cols = 0;
  std::vector<std::vector<float>> cuts;
  // Per feature: XGBoost's threshold below every value (HistogramCuts::MinValues), that of a
  // split sending only the missing values left.
  std::vector<float> min_value;
  std::vector<std::uint32_t> offset;       // cols + 1
  std::vector<unsigned char> has_missing;  // per feature: its last slot is the missing slot
  std::size_t slots = 0;
  bool sparse = false;
  std::vector<std::uint32_t> stored;         // the stored features, in order
  std::vector<std::uint32_t> stored_offset;  // offset[stored[j]]
  std::vector<std::int32_t> column_of;       // per feature, its stored column or -1
  std::vector<std::uint8_t> bins;  // dense: rows x stored.size(), the slot within the feature
  // Column-major slots within the feature (stored.size() x rows), for partitioning; empty when
  // too large (then dense reads `bins`, sparse searches the row's entries).
  std::vector<std::uint8_t> columns;
  std::vector<std::size_t> row_ptr;            // sparse: rows + 1
  std::vector<std::uint32_t> entries;          // sparse: slots of present values, ascending per row
  std::vector<std::uint32_t> implied_missing;  // sparse: features whose missing slot is implied

  [[nodiscard]] std::size_t real_bins(std::size_t f) const { return cuts[f].size(); }
  [[nodiscard]] std::size_t missing_slot(std::size_t f) const { return offset[f + 1] - 1; }
  /// Feature f's slot within the feature for row r (real_bins(f) = missing).
  [[nodiscard]] std::size_t local_slot(std::uint32_t r, std::size_t f) const;
};

/// How rows are stored: chosen from the share of missing values, or forced (tests).
enum class bin_storage { automatic, dense, sparse };

class worker_pool;

/// XGBoost's threshold below the `values` of positive weight (`weights` empty: all 1):
/// min - |min| - 1e-5 in float (1e-5 without such values).
float below_values(std::span<const float> values, std::span<const float> weights);

/// The bins of `x`, on the pool's threads (the same bins for any thread count): XGBoost `hist`'s
/// cuts for max_bin = `max_bins`, its sketch weighted by the rows' `weights` (empty = all 1).
binned_matrix bin_features(matrix_view x, std::size_t max_bins, worker_pool& pool,
                           bin_storage storage = bin_storage::automatic,
                           std::span<const float> weights = {});
/// The same from CSR rows (entries not stored, or NaN, are missing): the same bins as from the
/// dense matrix with NaN for those entries.
binned_matrix bin_features(const csr_matrix& x, std::size_t max_bins, worker_pool& pool,
                           bin_storage storage = bin_storage::automatic,
                           std::span<const float> weights = {});

/// Threads kept for a whole fit, started once and woken per parallel region. A region is a
/// list of tasks handed out in order to whichever thread asks first, the caller included; it
/// ends when its tasks are done and no worker is inside it, so a worker that the system has not
/// scheduled yet (a loaded machine) delays nothing: the caller runs the tasks itself. Between
/// regions the workers spin for a short while (a region follows within microseconds during a
/// tree), then sleep on a futex.
class worker_pool {
 public:
  explicit worker_pool(std::size_t threads);
  worker_pool(const worker_pool&) = delete;
  worker_pool& operator=(const worker_pool&) = delete;
  ~worker_pool();
  [[nodiscard]] std::size_t size() const { return workers_.size() + 1; }
  /// fn(i, t) for every i in [0, n) on thread t (0: the caller) of [0, size()); a task's result
  /// must not depend on t, only its scratch space may.
  void for_each(std::size_t n, const std::function<void(std::size_t, std::size_t)>& fn);
  /// for_each(owner.size(), fn), each thread taking first the tasks i with owner[i] equal to
  /// its index modulo size() (whose data its cache holds, e.g. histogram slots it wrote), in
  /// order, then those left in the other threads' lists: the same results, less traffic between
  /// the cores (a thread takes its own tasks through a counter on a cache line of its own).
  void for_each_owned(std::span<const std::size_t> owner,
                      const std::function<void(std::size_t, std::size_t)>& fn);
  /// Splits [0, n) into contiguous chunks of at least `min_chunk` (at most size() of them, the
  /// same for the same n) and calls fn(c, begin, end) for chunk c; returns the chunk count.
  std::size_t chunks(std::size_t n, std::size_t min_chunk,
                     const std::function<void(std::size_t, std::size_t, std::size_t)>& fn);

 private:
  void loop(std::size_t index);
  void work(std::size_t thread);
  void stop();  // wakes and joins the workers
  std::vector<std::thread> workers_;
  // The open region: its tasks, the next one to hand out, their count.
  const std::function<void(std::size_t, std::size_t)>* fn_ = nullptr;
  alignas(64) std::atomic<std::size_t> next_{0};  // a cache line of its own: taken per task
  alignas(64) std::size_t count_ = 0;
  std::atomic<bool> open_{false};
  std::atomic<std::uint32_t> generation_{0};  // bumped to open a region
  std::atomic<std::uint32_t> inside_{0};      // workers inside the region
  std::atomic<std::uint32_t> sleepers_{0};    // workers asleep on generation_
  std::atomic<bool> caller_asleep_{false};    // the caller asleep on inside_
  std::atomic<bool> stop_{false};
  // for_each_owned: each thread's tasks, thread t's at own_[own_first_[t] ..
  // own_first_[t + 1]), and per thread the next of them to hand out.
  struct alignas(64) queue {
    std::atomic<std::size_t> next{0};
  };
  std::unique_ptr<queue[]> queues_;
  std::vector<std::size_t> own_;
  std::vector<std::size_t> own_first_;
};

/// Each leaf of a grown tree and its rows: [begin, end) of the row index array.
struct leaf_range {
  std::int32_t leaf = 0;
  std::size_t begin = 0;
  std::size_t end = 0;
};

class tree_grower_impl;

/// Grows trees on a binned matrix; keeps its histogram buffers and scratch space between trees.
class tree_grower {
 public:
  tree_grower(const binned_matrix& b, const gbdt_options& o, worker_pool& pool);
  tree_grower(const tree_grower&) = delete;
  tree_grower& operator=(const tree_grower&) = delete;
  ~tree_grower();
  /// One tree on `rows` (reordered: each leaf's rows end up contiguous, see `leaves`) with
  /// gradients `gh`, splitting only on features with used[f]; leaf values include the
  /// learning rate.
  tree grow(std::span<const grad_pair> gh, std::vector<std::uint32_t>& rows,
            const std::vector<unsigned char>& used, std::vector<leaf_range>& leaves);

 private:
  std::unique_ptr<tree_grower_impl> impl_;
};

}  // namespace funnel::scoring::detail
