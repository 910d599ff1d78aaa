// Histogram gradient boosting: tree growth (binning and the worker pool: gbdt_bins.cpp).
//
// The per-node work is proportional to the rows in the node and to the bins that exist, not to
// every bin of every feature: histograms hold one slot per real bin of each feature that can
// split (a one-hot feature has two: present and missing), sparse data stores only its present
// values, the smaller child is built and its sibling derived by subtraction, nodes that cannot
// split get no histogram, histogram buffers are reused, rows are partitioned in place as index
// ranges, and lossguide growth picks the best open leaf from a heap.
//
// Threads work on batches of nodes, as XGBoost's hist does: depthwise growth splits a whole level
// at once (lossguide: one node), each step one parallel region of small tasks over every node of
// the batch: the partition by (node, row block), the histograms by (node, feature range), the
// split search by (node, feature chunk). Each task's result depends only on its node and range,
// never on the thread that runs it, and every sum is taken in one fixed order, so a thread count
// grows exactly the trees of any other.
#include <funnel/core/error.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

#include "scoring/gbdt_detail.hpp"

namespace funnel::scoring::detail {
namespace {

/// Histogram work (rows x stored values, plus the slots to clear) from which a node's histogram
/// is built in feature ranges (one per thread) rather than in one task. Low: a small node's
/// build is mostly the clearing of its buffer, and a range's slots are best written by the
/// thread that searches them (slow periods of a VM whose cores exchange cache lines slowly).
constexpr std::size_t min_parallel_work = 4096;
/// Rows per partition task, and histogram slots per split search task (fixed: the tasks, and so
/// the results, are the same for any thread count).
constexpr std::size_t partition_block = 2048;
constexpr std::size_t search_chunk_slots = 1024;
/// Rows per task of the root's gradient sum.
constexpr std::size_t sum_block = 8192;

double threshold_l1(double g, double alpha) {
  if (g > alpha) return g - alpha;
  if (g < -alpha) return g + alpha;
  return 0.0;
}

struct split_candidate {
  double gain = 0.0;  // XGBoost's loss_chg: a float
  std::int32_t feature = -1;
  std::uint32_t bins_left = 0;  // left: the real bins below it (0: none, only missing values)
  bool default_left = false;
  grad_pair left;
  grad_pair right;
};

/// One thread's buffers for the split scan of a feature (a cache line of its own: the scan
/// grows them as it goes).
struct alignas(64) scan_scratch {
  std::vector<std::uint32_t> bin;
  std::vector<double> lg, lh;
  std::vector<float> gain_right, gain_left;
};

constexpr std::size_t no_sibling = std::numeric_limits<std::size_t>::max();

struct node_state {
  std::int32_t id = 0;  // node index in the tree
  std::size_t begin = 0;
  std::size_t end = 0;
  std::size_t depth = 0;
  grad_pair sum;
  float root_gain = 0.0F;  // XGBoost's gain of the node unsplit (with its parent's bounds)
  double lower = -std::numeric_limits<double>::infinity();  // monotone bounds on the weight
  double upper = std::numeric_limits<double>::infinity();
  std::vector<grad_pair> hist;
  split_candidate best;
  // Within a batch: the histogram is built from the rows (`build`), or is the parent's minus
  // that of the batch's node `sibling`; `search`: the node may split and gets a best split.
  bool build = false;
  bool search = false;
  std::size_t sibling = no_sibling;
};

/// A missing-value slot that only holds rounding residue (a node whose rows all have the
/// feature, its missing slot derived by subtraction) counts as empty.
bool empty_slot(const grad_pair& m, const grad_pair& node) {
  constexpr double eps = 1e-9;
  return std::fabs(m.h) <= eps * std::fabs(node.h) &&
         std::fabs(m.g) <= eps * (std::fabs(node.g) + std::fabs(node.h));
}

/// Whether split a is better than b in XGBoost's order (SplitEntry::NeedReplace): the higher
/// gain, then the lower feature index; b may be empty (feature -1).
bool better(const split_candidate& a, const split_candidate& b) {
  return b.feature < 0 || a.gain > b.gain || (a.gain == b.gain && a.feature < b.feature);
}

/// An option as XGBoost holds it (a float parameter), for comparisons and sums in double.
double as_float(double v) {
  return static_cast<double>(static_cast<float>(v));
}

}  // namespace

class tree_grower_impl {
 public:
  tree_grower_impl(const binned_matrix& b, const gbdt_options& o, worker_pool& pool)
      : b_(b),
        o_(o),
        pool_(pool),
        scratch_(pool.size()),
        mcw_(as_float(o.min_child_weight)),
        lambda_(as_float(o.lambda)),
        alpha_(as_float(o.alpha)) {
    const std::size_t stored_per_row =
        b.sparse ? (b.rows == 0 ? 0 : b.entries.size() / b.rows + 1) : b.stored.size();
    work_per_row_ = std::max<std::size_t>(stored_per_row, 1);
    feature_groups();
  }

  tree grow(std::span<const grad_pair> gh, std::vector<std::uint32_t>& rows,
            const std::vector<unsigned char>& used, std::vector<leaf_range>& leaf_rows) {
    gh_ = gh;
    rows_ = &rows;
    features_.clear();
    for (std::size_t f = 0; f < b_.cols; ++f) {
      if (used[f] != 0 && b_.offset[f + 1] != b_.offset[f])
        features_.push_back(static_cast<std::uint32_t>(f));
    }
    search_chunks();
    leaves_ = 1;
    tree t;
    std::vector<node_state> level(1);
    node_state& root = level[0];
    root.end = rows.size();
    root.sum = row_sum(rows);
    t.nodes[0].cover = root.sum.h;
    root.root_gain = side_gain(root.sum, xgb_weight(root.sum, root.lower, root.upper));
    if (may_split(root, 1)) {
      root.hist = acquire();
      root.build = root.search = true;
      build_histograms(level);
      find_splits(level);
    }
    std::vector<node_state> leaves;
    if (o_.growth == growth_policy::depthwise) {
      grow_depthwise(t, std::move(level), leaves);
    } else {
      grow_lossguide(t, std::move(level[0]), leaves);
    }
    for (auto& n : leaves) {
      t.nodes[static_cast<std::size_t>(n.id)].value =
          o_.learning_rate * weight(n.sum, n.lower, n.upper);
      t.nodes[static_cast<std::size_t>(n.id)].cover = n.sum.h;
      leaf_rows.push_back({n.id, n.begin, n.end});
      release(n.hist);
    }
    return t;
  }

 private:
  /// A level at a time: every node of the level that has a split is split in one batch.
  void grow_depthwise(tree& t, std::vector<node_state> level, std::vector<node_state>& leaves) {
    std::vector<node_state> parents;
    std::vector<node_state> children;
    while (!level.empty()) {
      parents.clear();
      for (auto& n : level) (n.best.feature < 0 ? leaves : parents).push_back(std::move(n));
      if (parents.empty()) break;
      split_batch(t, parents, children);
      std::swap(level, children);
    }
  }

  // Best open leaf first: the highest gain, then the lowest node id.
  void grow_lossguide(tree& t, node_state root, std::vector<node_state>& leaves) {
    const auto worse = [](const node_state& a, const node_state& b) {
      return a.best.gain < b.best.gain || (a.best.gain == b.best.gain && a.id > b.id);
    };
    std::vector<node_state> open;
    std::vector<node_state> parent(1);
    std::vector<node_state> children;
    open.push_back(std::move(root));
    while (!open.empty()) {
      std::pop_heap(open.begin(), open.end(), worse);
      node_state n = std::move(open.back());
      open.pop_back();
      if (leaves_ >= max_leaves() || n.best.feature < 0) {
        leaves.push_back(std::move(n));
        continue;
      }
      parent[0] = std::move(n);
      split_batch(t, parent, children);
      for (auto& c : children) {
        open.push_back(std::move(c));
        std::push_heap(open.begin(), open.end(), worse);
      }
    }
  }

  [[nodiscard]] std::size_t max_leaves() const { return o_.max_leaves == 0 ? 31 : o_.max_leaves; }

  /// Whether a node of this depth and size may still split once `leaves` leaves exist.
  [[nodiscard]] bool may_split(const node_state& n, std::size_t leaves) const {
    if (o_.max_depth > 0 && n.depth >= o_.max_depth) return false;
    if (o_.growth == growth_policy::lossguide && leaves >= max_leaves()) return false;
    return n.end - n.begin >= 2;
  }

  // A node without hessian and without lambda (both may be 0) has weight and gain 0, as in
  // XGBoost, not 0/0.
  [[nodiscard]] double weight(const grad_pair& s, double lower, double upper) const {
    if (!(s.h + o_.lambda > 0)) return std::clamp(0.0, lower, upper);
    const double w = -threshold_l1(s.g, o_.alpha) / (s.h + o_.lambda);
    return std::clamp(w, lower, upper);
  }
  /// XGBoost's weight of a node in its split search (SplitEvaluator::CalcWeight): computed in
  /// double, 0 below min_child_weight, rounded to float, clamped to the monotone bounds.
  [[nodiscard]] float xgb_weight(const grad_pair& s, double lower, double upper) const {
    float w = 0.0F;
    if (!(s.h < mcw_ || s.h <= 0.0))
      w = static_cast<float>(-threshold_l1(s.g, alpha_) / (s.h + lambda_));
    if (o_.monotone.empty()) return w;
    return std::clamp(w, static_cast<float>(lower), static_cast<float>(upper));
  }
  /// XGBoost's gain of one side of a split or of a node (SplitEvaluator::CalcGainGivenWeight),
  /// in float: 0 without hessian; T(g)^2 and h + lambda each rounded to float, then divided;
  /// with monotone constraints (on any feature) from the weight: -(2 g w + (h + lambda) w^2).
  [[nodiscard]] float side_gain(const grad_pair& s, float w) const {
    if (s.h <= 0.0) return 0.0F;
    if (o_.monotone.empty()) {
      const double t = threshold_l1(s.g, alpha_);
      return static_cast<float>(t * t) / static_cast<float>(s.h + lambda_);
    }
    const auto g = static_cast<float>(s.g);
    const auto h = static_cast<float>(s.h);
    return -(2.0F * g * w + (h + static_cast<float>(lambda_)) * w * w);
  }
  /// XGBoost's loss change of splitting n into l and r (CalcSplitGain minus the node's gain);
  /// -inf when the weights break feature's monotone constraint `mono`.
  [[nodiscard]] float split_gain(const node_state& n, const grad_pair& l, const grad_pair& r,
                                 int mono) const {
    const float wl = xgb_weight(l, n.lower, n.upper);
    const float wr = xgb_weight(r, n.lower, n.upper);
    const float gain = side_gain(l, wl) + side_gain(r, wr);
    if ((mono > 0 && !(wl <= wr)) || (mono < 0 && !(wl >= wr)))
      return -std::numeric_limits<float>::infinity();
    return gain - n.root_gain;
  }

  /// The gradient sum of `rows`: per block of sum_block positions (in parallel), then the
  /// blocks' sums in order (the same sum for any thread count).
  grad_pair row_sum(const std::vector<std::uint32_t>& rows) {
    const std::size_t n = rows.size();
    block_sums_.assign((n + sum_block - 1) / sum_block, grad_pair{});
    pool_.for_each(block_sums_.size(), [&](std::size_t b, std::size_t) {
      grad_pair s;
      for (std::size_t k = b * sum_block; k < std::min(n, (b + 1) * sum_block); ++k) {
        s.g += gh_[rows[k]].g;
        s.h += gh_[rows[k]].h;
      }
      block_sums_[b] = s;
    });
    grad_pair sum;
    for (const auto& s : block_sums_) {
      sum.g += s.g;
      sum.h += s.h;
    }
    return sum;
  }

  /// The stored features in pool.size() contiguous ranges of about equal histogram work (dense:
  /// features; sparse: present values), for building one large histogram on every thread.
  void feature_groups() {
    const std::size_t m = b_.stored.size();
    const std::size_t groups = std::max<std::size_t>(std::min(pool_.size(), m), 1);
    group_first_.assign(1, 0);
    if (groups == 1) {
      group_first_.push_back(m);
      set_group_of();
      return;
    }
    std::vector<std::size_t> work(m, b_.rows);
    if (b_.sparse) {
      std::vector<std::size_t> per_slot(b_.slots + 1, 0);
      for (const auto e : b_.entries) ++per_slot[e];
      for (std::size_t j = 0; j < m; ++j) {
        const std::size_t f = b_.stored[j];
        work[j] = 0;
        for (std::size_t k = b_.offset[f]; k < b_.offset[f + 1]; ++k) work[j] += per_slot[k];
      }
    }
    std::size_t total = 0;
    for (const auto w : work) total += w;
    std::size_t done = 0;
    for (std::size_t j = 0; j < m && group_first_.size() < groups; ++j) {
      done += work[j];
      // Cut after j once this group holds its share, leaving a feature for each later group.
      if (done * groups >= total * group_first_.size() &&
          m - (j + 1) >= groups - group_first_.size())
        group_first_.push_back(j + 1);
    }
    group_first_.push_back(m);
    set_group_of();
  }

  /// Each stored feature's group; sparse: where each row's entries of each group begin.
  void set_group_of() {
    group_of_.assign(b_.stored.size(), 0);
    const std::size_t groups = group_first_.size() - 1;
    for (std::size_t g = 0; g < groups; ++g) {
      for (std::size_t j = group_first_[g]; j < group_first_[g + 1]; ++j) group_of_[j] = g;
    }
    if (!b_.sparse || groups < 2) return;
    // Per row, the position (from the row's first entry) of its first entry in groups 1 ..
    // groups - 1: a group's task reads its part of the row without searching for it.
    group_entry_.resize(b_.rows * (groups - 1));
    for (std::size_t r = 0; r < b_.rows; ++r) {
      const std::uint32_t* first = b_.entries.data() + b_.row_ptr[r];
      const std::uint32_t* last = b_.entries.data() + b_.row_ptr[r + 1];
      const std::uint32_t* e = first;
      for (std::size_t g = 1; g < groups; ++g) {
        e = std::lower_bound(e, last, b_.stored_offset[group_first_[g]]);
        group_entry_[r * (groups - 1) + g - 1] = static_cast<std::uint32_t>(e - first);
      }
    }
  }

  /// This tree's features in chunks of about search_chunk_slots histogram slots, one split
  /// search task each.
  void search_chunks() {
    chunk_first_.assign(1, 0);
    std::size_t slots = 0;
    for (std::size_t k = 0; k < features_.size(); ++k) {
      slots += b_.offset[features_[k] + 1] - b_.offset[features_[k]];
      if (slots >= search_chunk_slots || k + 1 == features_.size()) {
        chunk_first_.push_back(k + 1);
        slots = 0;
      }
    }
    // A chunk is searched preferably by the thread that builds the group holding most of its
    // slots (the group of the feature at its middle slot): the slots stay in that thread's cache,
    // and the threads own about equal shares of the search.
    chunk_owner_.resize(chunk_first_.size() - 1);
    for (std::size_t c = 0; c < chunk_owner_.size(); ++c) {
      const std::size_t first = chunk_first_[c];
      const std::size_t last = chunk_first_[c + 1];
      const std::size_t middle =
          (b_.offset[features_[first]] + b_.offset[features_[last - 1] + 1]) / 2;
      std::size_t k = first;
      while (k + 1 < last && b_.offset[features_[k] + 1] <= middle) ++k;
      chunk_owner_[c] = group_of_[static_cast<std::size_t>(b_.column_of[features_[k]])];
    }
  }

  std::vector<grad_pair> acquire() {
    if (free_.empty()) return std::vector<grad_pair>(b_.slots);
    std::vector<grad_pair> h = std::move(free_.back());
    free_.pop_back();
    return h;
  }
  void release(std::vector<grad_pair>& h) {
    if (!h.empty()) free_.push_back(std::move(h));
    h = {};
  }

  /// Sparse rows [from, to) of the node's row array, their values in group g of `groups` (1:
  /// every slot), into h.
  void build_sparse(std::size_t from, std::size_t to, std::size_t g, std::size_t groups,
                    grad_pair* h) const {
    const auto& rows = *rows_;
    const std::size_t* row_ptr = b_.row_ptr.data();
    const std::uint32_t* entries = b_.entries.data();
    const std::uint32_t* split = group_entry_.data();
    const std::size_t stride = groups - 1;
    for (std::size_t k = from; k < to; ++k) {
      const auto r = static_cast<std::size_t>(rows[k]);
      const grad_pair gr = gh_[r];
      const std::uint32_t* e = entries + row_ptr[r];
      const std::uint32_t* last = entries + row_ptr[r + 1];
      if (groups > 1) {
        const std::uint32_t* at = split + r * stride;
        if (g + 1 < groups) last = e + at[g];
        if (g > 0) e += at[g - 1];
      }
      for (; e != last; ++e) {
        h[*e].g += gr.g;
        h[*e].h += gr.h;
      }
    }
  }

  /// Dense rows [from, to) of the node's row array, stored features [first, last), into h.
  void build_dense(std::size_t from, std::size_t to, std::size_t first, std::size_t last,
                   grad_pair* h) const {
    const auto& rows = *rows_;
    const std::size_t m = b_.stored.size();
    const std::uint32_t* off = b_.stored_offset.data();
    constexpr std::size_t ahead = 16;  // rows of a deep node are far apart: fetch them early
    for (std::size_t k = from; k < to; ++k) {
      if (k + ahead < to) {
        const auto next = static_cast<std::size_t>(rows[k + ahead]);
        __builtin_prefetch(b_.bins.data() + next * m + first);
        __builtin_prefetch(gh_.data() + next);
      }
      const auto r = rows[k];
      const grad_pair g = gh_[r];
      const std::uint8_t* bins = b_.bins.data() + static_cast<std::size_t>(r) * m;
      for (std::size_t j = first; j < last; ++j) {
        grad_pair& cell = h[off[j] + bins[j]];
        cell.g += g.g;
        cell.h += g.h;
      }
    }
  }

  /// One histogram task: node `n`'s rows, stored features of group g of `groups` (1: all).
  void build_range(node_state& n, std::size_t g, std::size_t groups) const {
    const std::size_t m = b_.stored.size();
    const std::size_t first = groups == 1 ? 0 : group_first_[g];
    const std::size_t last = groups == 1 ? m : group_first_[g + 1];
    const std::uint32_t lo = first < m ? b_.stored_offset[first] : 0;
    const auto hi = last < m ? b_.stored_offset[last] : static_cast<std::uint32_t>(b_.slots);
    std::fill(n.hist.begin() + lo, n.hist.begin() + hi, grad_pair{});
    if (b_.sparse) {
      build_sparse(n.begin, n.end, g, groups, n.hist.data());
    } else {
      build_dense(n.begin, n.end, first, last, n.hist.data());
    }
  }

  /// The histograms of the batch's nodes marked `build`, from their rows: one task per node, or
  /// per feature group for a large node; each slot is summed over the node's rows in order.
  void build_histograms(std::vector<node_state>& nodes) {
    struct task {
      std::size_t node, group, groups, work;
    };
    std::vector<task> tasks;
    const std::size_t split_groups = group_first_.size() - 1;
    for (std::size_t i = 0; i < nodes.size(); ++i) {
      if (!nodes[i].build) continue;
      const std::size_t work = (nodes[i].end - nodes[i].begin) * work_per_row_ + b_.slots;
      const std::size_t groups = work >= min_parallel_work ? split_groups : 1;
      for (std::size_t g = 0; g < groups; ++g) tasks.push_back({i, g, groups, work / groups});
    }
    // Largest first, so the threads finish together.
    std::stable_sort(tasks.begin(), tasks.end(),
                     [](const task& a, const task& b) { return a.work > b.work; });
    // A feature group's slots preferably on the same thread each time (its split search too).
    owner_.resize(tasks.size());
    for (std::size_t k = 0; k < tasks.size(); ++k)
      owner_[k] = tasks[k].groups > 1 ? tasks[k].group : k;
    pool_.for_each_owned(owner_, [&](std::size_t k, std::size_t) {
      build_range(nodes[tasks[k].node], tasks[k].group, tasks[k].groups);
    });
  }

  /// The best split of one feature from its histogram slots into `best`, as XGBoost 1.7's hist
  /// chooses it (HistEvaluator::EnumerateSplit): first the forward pass, every real bin left
  /// of the split in turn with the missing values right (threshold: the bin's upper bound);
  /// then, when the node has missing values for the feature, the backward pass from the top,
  /// the missing values left (threshold: the lower bound of the lowest bin right of the split,
  /// so after empty bins the higher cut). Gains are XGBoost's floats (see side_gain); a
  /// candidate replaces the feature's best only when strictly better, so among equal gains the
  /// first in that order wins. `scratch` is the calling thread's.
  void feature_split(const node_state& n, std::uint32_t f, split_candidate& best,
                     scan_scratch& sc) const {
    const std::size_t nb = b_.real_bins(f);
    const grad_pair* h = n.hist.data() + b_.offset[f];
    grad_pair miss = b_.has_missing[f] != 0 ? h[nb] : grad_pair{};
    if (empty_slot(miss, n.sum)) miss = {};
    const bool has_missing = miss.h != 0.0 || miss.g != 0.0;
    const double mcw = mcw_;
    // The candidates: each non-empty bin (and bin 0) as the last bin left, with the left sums.
    // After an empty bin the forward candidate is that of the bin before (an equal gain never
    // wins); `next`: the non-empty bin after the last candidate (nb: none).
    sc.bin.clear();
    sc.lg.clear();
    sc.lh.clear();
    grad_pair left;
    std::size_t next = nb;
    for (std::size_t bin = 0; bin < nb; ++bin) {
      if (bin > 0 && h[bin].h == 0.0 && h[bin].g == 0.0) continue;
      left.g += h[bin].g;
      left.h += h[bin].h;
      // The right side only shrinks from here: once too light, it stays too light.
      if (n.sum.h - left.h < mcw && miss.h >= 0.0) {
        next = bin;
        break;
      }
      if (bin + 1 == nb && !has_missing) break;
      sc.bin.push_back(static_cast<std::uint32_t>(bin));
      sc.lg.push_back(left.g);
      sc.lh.push_back(left.h);
    }
    const std::size_t count = sc.bin.size();
    sc.gain_right.resize(count);
    sc.gain_left.resize(count);
    const int mono = o_.monotone.empty() ? 0 : o_.monotone[f];
    if (o_.monotone.empty() && alpha_ == 0.0) {
      plain_gains(n, miss, has_missing, sc);
    } else {
      for (std::size_t k = 0; k < count; ++k) {
        for (const bool missing_left : {false, true}) {
          if (missing_left && !has_missing) continue;
          const grad_pair l = missing_left ? grad_pair{sc.lg[k] + miss.g, sc.lh[k] + miss.h}
                                           : grad_pair{sc.lg[k], sc.lh[k]};
          const grad_pair r{n.sum.g - l.g, n.sum.h - l.h};
          (missing_left ? sc.gain_left : sc.gain_right)[k] = split_gain(n, l, r, mono);
        }
      }
    }
    split_candidate own;  // this feature's best (XGBoost's per-feature SplitEntry)
    const auto consider = [&](const grad_pair& l, float gain, bool missing_left,
                              std::size_t bins_left) {
      const grad_pair r{n.sum.g - l.g, n.sum.h - l.h};
      if (!(l.h >= mcw && r.h >= mcw)) return;
      if (std::isinf(gain) || !(gain > own.gain)) return;
      own = {gain,
             static_cast<std::int32_t>(f),
             static_cast<std::uint32_t>(bins_left),
             missing_left,
             l,
             r};
    };
    for (std::size_t k = 0; k < count; ++k)
      consider({sc.lg[k], sc.lh[k]}, sc.gain_right[k], false, sc.bin[k] + 1);
    if (has_missing) {
      for (std::size_t k = count; k-- > 0;) {
        const std::size_t right = k + 1 < count ? sc.bin[k + 1] : next;
        if (right < nb)
          consider({sc.lg[k] + miss.g, sc.lh[k] + miss.h}, sc.gain_left[k], true, right);
      }
      // Last, only the missing values left (threshold: below the smallest value). When bin 0 is
      // empty, the candidate of bin 0 above was this split already.
      if (h[0].h != 0.0 || h[0].g != 0.0)
        consider(miss, split_gain(n, miss, {n.sum.g - miss.g, n.sum.h - miss.h}, mono), true, 0);
    }
    if (own.feature >= 0 && better(own, best)) best = own;
  }

  /// The gains of the candidates without monotone constraints or L1 (both missing sides), in
  /// loops without branches (vectorised divisions, the arithmetic of side_gain).
  void plain_gains(const node_state& n, grad_pair miss, bool has_missing, scan_scratch& sc) const {
    const std::size_t count = sc.bin.size();
    const double* __restrict lg = sc.lg.data();
    const double* __restrict lh = sc.lh.data();
    float* __restrict gr = sc.gain_right.data();
    float* __restrict gm = sc.gain_left.data();
    const double sum_g = n.sum.g;
    const double sum_h = n.sum.h;
    const double lambda = lambda_;
    const float root = n.root_gain;
    const auto side = [lambda](double g, double h) {
      const float q = static_cast<float>(g * g) / static_cast<float>(h + lambda);
      return h > 0.0 ? q : 0.0f;
    };
    for (std::size_t k = 0; k < count; ++k) {  // missing values right
      gr[k] = (side(lg[k], lh[k]) + side(sum_g - lg[k], sum_h - lh[k])) - root;
    }
    if (!has_missing) return;
    for (std::size_t k = 0; k < count; ++k) {  // missing values left
      const double l_g = lg[k] + miss.g;
      const double l_h = lh[k] + miss.h;
      gm[k] = (side(l_g, l_h) + side(sum_g - l_g, sum_h - l_h)) - root;
    }
  }

  /// Feature f's slots of node n made ready for its split search: derived from the parent's
  /// (held by n) minus the sibling's when n was not built, and (sparse) the missing slot as the
  /// node total minus the present values.
  void prepare_feature(node_state& n, const node_state* sibling, std::uint32_t f) const {
    grad_pair* h = n.hist.data() + b_.offset[f];
    const std::size_t nb = b_.real_bins(f);
    const bool implied = b_.sparse && b_.has_missing[f] != 0;
    // The present values' slots (and the missing slot unless it is implied), in one pass with
    // the sum of the present values.
    const std::size_t count = implied ? nb : b_.offset[f + 1] - b_.offset[f];
    grad_pair present;
    if (sibling != nullptr) {
      const grad_pair* s = sibling->hist.data() + b_.offset[f];
      for (std::size_t k = 0; k < count; ++k) {
        h[k].g -= s[k].g;
        h[k].h -= s[k].h;
        present.g += h[k].g;
        present.h += h[k].h;
      }
    } else if (implied) {
      for (std::size_t k = 0; k < nb; ++k) {
        present.g += h[k].g;
        present.h += h[k].h;
      }
    }
    if (implied) h[nb] = {n.sum.g - present.g, n.sum.h - present.h};
  }

  /// The best split of every node of the batch marked `search`, in tasks of (node, feature
  /// chunk) whose bests are then taken in chunk order; histograms no longer needed go back to
  /// the pool.
  void find_splits(std::vector<node_state>& nodes) {
    tasks_.clear();
    for (std::size_t i = 0; i < nodes.size(); ++i) {
      nodes[i].best = split_candidate{};
      if (!nodes[i].search) continue;
      for (std::size_t c = 0; c + 1 < chunk_first_.size(); ++c) tasks_.emplace_back(i, c);
    }
    bests_.assign(tasks_.size(), split_candidate{});
    owner_.resize(tasks_.size());
    for (std::size_t k = 0; k < tasks_.size(); ++k) owner_[k] = chunk_owner_[tasks_[k].second];
    pool_.for_each_owned(owner_, [&](std::size_t k, std::size_t t) {
      const auto [i, c] = tasks_[k];
      node_state& n = nodes[i];
      const node_state* sibling = n.sibling < nodes.size() ? &nodes[n.sibling] : nullptr;
      split_candidate best;  // here, not in bests_ (shared cache lines) until the end
      for (std::size_t j = chunk_first_[c]; j < chunk_first_[c + 1]; ++j) {
        prepare_feature(n, sibling, features_[j]);
        feature_split(n, features_[j], best, scratch_[t]);
      }
      bests_[k] = best;
    });
    for (std::size_t k = 0; k < tasks_.size(); ++k) {
      split_candidate& best = nodes[tasks_[k].first].best;
      const split_candidate& b = bests_[k];
      if (b.feature >= 0 && better(b, best)) best = b;
    }
    // XGBoost's test of a split (CPUExpandEntry::IsValid): a gain over 1e-6 and at least gamma,
    // both children with hessian.
    const double gamma = as_float(o_.min_split_gain);
    for (auto& n : nodes) {
      const auto& s = n.best;
      if (s.feature >= 0 &&
          (!(s.gain > as_float(1e-6)) || s.gain < gamma || s.left.h == 0.0 || s.right.h == 0.0))
        n.best.feature = -1;
      if (n.best.feature < 0) release(n.hist);
      n.build = n.search = false;
      n.sibling = no_sibling;
    }
  }

  /// Stable partition of each parent's rows, those going left first, into mids_ (each parent's
  /// middle). Tasks of (parent, block of rows) sort their rows into left and right lists
  /// (without branches), then write them back in order: the same row order for any thread
  /// count.
  void partition_batch(const std::vector<node_state>& parents) {
    struct task {
      std::size_t node, from, to, left = 0, right = 0, left_to = 0, right_to = 0, thread = 0;
    };
    std::vector<task> tasks;
    for (std::size_t i = 0; i < parents.size(); ++i) {
      for (std::size_t k = parents[i].begin; k < parents[i].end; k += partition_block)
        tasks.push_back({i, k, std::min(k + partition_block, parents[i].end)});
    }
    auto& rows = *rows_;
    if (left_.size() < rows.size()) {
      left_.resize(rows.size());
      right_.resize(rows.size());
    }
    pool_.for_each(tasks.size(), [&](std::size_t k, std::size_t thread) {
      classify(parents, tasks[k]);
      tasks[k].thread = thread;
    });
    mids_.assign(parents.size(), 0);
    for (const auto& t : tasks) mids_[t.node] += t.left;
    std::vector<std::size_t> left_at(parents.size());
    std::vector<std::size_t> right_at(parents.size());
    for (std::size_t i = 0; i < parents.size(); ++i) {
      left_at[i] = parents[i].begin;
      right_at[i] = mids_[i] += parents[i].begin;
    }
    for (auto& t : tasks) {
      t.left_to = std::exchange(left_at[t.node], left_at[t.node] + t.left);
      t.right_to = std::exchange(right_at[t.node], right_at[t.node] + t.right);
    }
    // Each thread first writes back the blocks it sorted (their lists are in its cache).
    owner_.resize(tasks.size());
    for (std::size_t k = 0; k < tasks.size(); ++k) owner_[k] = tasks[k].thread;
    pool_.for_each_owned(owner_, [&](std::size_t k, std::size_t) {
      const task& t = tasks[k];
      std::copy_n(left_.begin() + static_cast<std::ptrdiff_t>(t.from), t.left,
                  rows.begin() + static_cast<std::ptrdiff_t>(t.left_to));
      std::copy_n(right_.begin() + static_cast<std::ptrdiff_t>(t.from), t.right,
                  rows.begin() + static_cast<std::ptrdiff_t>(t.right_to));
    });
  }

  /// Rows [t.from, t.to) of parent t.node into left_ and right_ at t.from; their counts into t.
  template <typename Task>
  void classify(const std::vector<node_state>& parents, Task& t) {
    const auto& s = parents[t.node].best;
    const auto f = static_cast<std::size_t>(s.feature);
    const std::size_t nb = b_.real_bins(f);
    const bool search = b_.sparse && b_.columns.empty();
    const auto column = static_cast<std::size_t>(b_.column_of[f]);
    // Row r's bin is col[r * stride]: the column-major copy or the row-major rows.
    const bool by_column = !b_.columns.empty();
    const std::size_t stride = by_column ? 1 : b_.stored.size();
    const std::uint8_t* col =
        by_column ? b_.columns.data() + column * b_.rows : b_.bins.data() + column;
    const auto& rows = *rows_;
    std::uint32_t* left = left_.data() + t.from;
    std::uint32_t* right = right_.data() + t.from;
    std::size_t nl = 0;
    std::size_t nr = 0;
    // Left: a real bin below s.bins_left, or the missing slot (nb >= s.bins_left) when missing
    // values go left; in integer arithmetic, as the compiler would otherwise branch on the
    // (random) bins.
    const std::size_t bins_left = s.bins_left;
    const std::size_t missing_left = s.default_left ? 1 : 0;
    const auto put = [&](std::uint32_t r, std::size_t slot) {
      const std::size_t goes_left = static_cast<std::size_t>(slot < bins_left) |
                                    (static_cast<std::size_t>(slot == nb) & missing_left);
      left[nl] = r;
      right[nr] = r;
      nl += goes_left;
      nr += 1 - goes_left;
    };
    if (search) {
      for (std::size_t k = t.from; k < t.to; ++k) put(rows[k], b_.local_slot(rows[k], f));
    } else if (stride == 1) {
      for (std::size_t k = t.from; k < t.to; ++k) put(rows[k], col[rows[k]]);
    } else {
      for (std::size_t k = t.from; k < t.to; ++k)
        put(rows[k], col[static_cast<std::size_t>(rows[k]) * stride]);
    }
    t.left = nl;
    t.right = nr;
  }

  /// The two children of `n` (rows [n.begin, mid)) with their rows, sums and bounds, appended
  /// to `children`.
  void add_children(tree& t, node_state& n, std::size_t mid, std::vector<node_state>& children) {
    const auto& s = n.best;
    const auto f = static_cast<std::size_t>(s.feature);
    const double wl = weight(s.left, n.lower, n.upper);
    const double wr = weight(s.right, n.lower, n.upper);
    const auto [li, ri] = t.expand(
        n.id, s.feature,
        static_cast<double>(s.bins_left == 0 ? b_.min_value[f] : b_.cuts[f][s.bins_left - 1]),
        s.default_left, o_.learning_rate * wl, o_.learning_rate * wr, s.gain, s.left.h, s.right.h);
    ++leaves_;
    node_state l;
    node_state r;
    l.id = li;
    r.id = ri;
    l.begin = n.begin;
    l.end = r.begin = mid;
    r.end = n.end;
    l.depth = r.depth = n.depth + 1;
    l.sum = s.left;
    r.sum = s.right;
    // As XGBoost: the children's gains with the parent's bounds (ApplyTreeSplit).
    l.root_gain = side_gain(s.left, xgb_weight(s.left, n.lower, n.upper));
    r.root_gain = side_gain(s.right, xgb_weight(s.right, n.lower, n.upper));
    l.lower = r.lower = n.lower;
    l.upper = r.upper = n.upper;
    const int mono = o_.monotone.empty() ? 0 : o_.monotone[f];
    if (mono != 0) {
      // XGBoost's bound: the mean of the float weights, in float (TreeEvaluator::AddSplit).
      const float middle =
          (xgb_weight(s.left, n.lower, n.upper) + xgb_weight(s.right, n.lower, n.upper)) / 2.0F;
      (mono > 0 ? l.upper : l.lower) = middle;
      (mono > 0 ? r.lower : r.upper) = middle;
    }
    children.push_back(std::move(l));
    children.push_back(std::move(r));
  }

  /// Splits every parent (in order: the tree's node ids) into `children`, with their
  /// histograms and best splits when they may split. Histogram subtraction: the smaller child
  /// is built, its sibling takes the parent's histogram and subtracts it in the split search.
  void split_batch(tree& t, std::vector<node_state>& parents, std::vector<node_state>& children) {
    children.clear();
    partition_batch(parents);
    for (std::size_t i = 0; i < parents.size(); ++i) {
      node_state& n = parents[i];
      add_children(t, n, mids_[i], children);
      const std::size_t li = children.size() - 2;
      node_state& l = children[li];
      node_state& r = children[li + 1];
      l.search = may_split(l, leaves_);
      r.search = may_split(r, leaves_);
      if (!l.search && !r.search) {
        release(n.hist);
        continue;
      }
      const bool left_smaller = (l.end - l.begin) <= (r.end - r.begin);
      node_state& small = left_smaller ? l : r;
      node_state& large = left_smaller ? r : l;
      small.hist = acquire();
      small.build = true;
      if (large.search) {
        large.hist = std::move(n.hist);
        large.sibling = left_smaller ? li : li + 1;
      }
      release(n.hist);
    }
    build_histograms(children);
    find_splits(children);
  }

  const binned_matrix& b_;
  const gbdt_options& o_;
  worker_pool& pool_;
  std::vector<std::vector<grad_pair>> free_;  // histogram buffers for reuse
  std::vector<scan_scratch> scratch_;         // per thread
  std::vector<std::size_t> group_first_;      // feature groups: stored feature ranges
  std::vector<std::size_t> chunk_first_;      // split search chunks: ranges of features_
  std::vector<std::pair<std::size_t, std::size_t>> tasks_;  // split search: (node, chunk)
  std::vector<split_candidate> bests_;                      // per split search task
  std::vector<std::uint32_t> left_, right_;                 // partition scratch
  std::vector<std::size_t> mids_;                           // partition: each parent's middle
  std::vector<grad_pair> block_sums_;                       // the root's sum, per block
  std::vector<std::size_t> owner_;          // per task of a region: the thread it is meant for
  std::vector<std::size_t> chunk_owner_;    // per split search chunk: its feature group
  std::vector<std::size_t> group_of_;       // per stored feature: its group
  std::vector<std::uint32_t> group_entry_;  // sparse: see set_group_of
  std::vector<std::uint32_t> features_;     // this tree's features that can split
  std::size_t work_per_row_ = 1;
  std::span<const grad_pair> gh_;
  std::vector<std::uint32_t>* rows_ = nullptr;
  std::size_t leaves_ = 1;
  double mcw_;  // min_child_weight, lambda and alpha as XGBoost's float parameters
  double lambda_;
  double alpha_;
};

tree_grower::tree_grower(const binned_matrix& b, const gbdt_options& o, worker_pool& pool)
    : impl_(std::make_unique<tree_grower_impl>(b, o, pool)) {}

tree_grower::~tree_grower() = default;

tree tree_grower::grow(std::span<const grad_pair> gh, std::vector<std::uint32_t>& rows,
                       const std::vector<unsigned char>& used, std::vector<leaf_range>& leaves) {
  return impl_->grow(gh, rows, used, leaves);
}

}  // namespace funnel::scoring::detail
