// Histogram gradient boosting: tree growth (binning and the worker pool: gbdt_bins.cpp).
//
// The per-node work is proportional to the rows in the node and to the bins that exist, not to
// every bin of every feature: histograms hold one slot per real bin of each feature that can
// split (a one-hot feature has two: present and missing), sparse data stores only its present
// values, the smaller child is built and its sibling derived by subtraction, nodes that cannot
// split get no histogram, histogram buffers are reused, rows are partitioned in place as index
// ranges, and lossguide growth picks the best open leaf from a heap.
#include <funnel/core/error.hpp>

#include <algorithm>
#include <cmath>
#include <limits>

#include "scoring/gbdt_detail.hpp"

namespace funnel::scoring::detail {
namespace {

/// Histogram work (row x stored values) below which a node is built on one thread.
constexpr std::size_t min_parallel_work = 65536;
/// Rows below which a partition, and histogram slots below which a split search, run on one
/// thread.
constexpr std::size_t min_parallel_rows = 4096;
constexpr std::size_t min_parallel_slots = 4096;

double threshold_l1(double g, double alpha) {
  if (g > alpha) return g - alpha;
  if (g < -alpha) return g + alpha;
  return 0.0;
}

struct split_candidate {
  double gain = 0.0;
  std::int32_t feature = -1;
  std::uint32_t bin = 0;  // left = bins <= bin
  bool default_left = false;
  grad_pair left;
  grad_pair right;
};

/// One thread's buffers for the split scan of a feature.
struct scan_scratch {
  std::vector<std::uint32_t> bin;
  std::vector<double> lg, lh, gain_right, gain_left;
};

struct node_state {
  std::int32_t id = 0;  // node index in the tree
  std::size_t begin = 0;
  std::size_t end = 0;
  std::size_t depth = 0;
  grad_pair sum;
  double lower = -std::numeric_limits<double>::infinity();  // monotone bounds on the weight
  double upper = std::numeric_limits<double>::infinity();
  std::vector<grad_pair> hist;
  split_candidate best;
};

/// A missing-value slot that only holds rounding residue (a node whose rows all have the
/// feature, its missing slot derived by subtraction) counts as empty.
bool empty_slot(const grad_pair& m, const grad_pair& node) {
  constexpr double eps = 1e-9;
  return std::fabs(m.h) <= eps * std::fabs(node.h) &&
         std::fabs(m.g) <= eps * (std::fabs(node.g) + std::fabs(node.h));
}

}  // namespace

class tree_grower_impl {
 public:
  tree_grower_impl(const binned_matrix& b, const gbdt_options& o, worker_pool& pool)
      : b_(b),
        o_(o),
        pool_(pool),
        partial_(pool.size() - 1),
        bests_(pool.size()),
        scratch_(pool.size()),
        sides_(pool.size()) {
    const std::size_t stored_per_row =
        b.sparse ? (b.rows == 0 ? 0 : b.entries.size() / b.rows + 1) : b.stored.size();
    work_per_row_ = std::max<std::size_t>(stored_per_row, 1);
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
    leaves_ = 1;
    tree t;
    node_state root;
    root.end = rows.size();
    for (const auto r : rows) {
      root.sum.g += gh[r].g;
      root.sum.h += gh[r].h;
    }
    t.nodes[0].cover = root.sum.h;
    if (may_split(root, 1)) {
      root.hist = acquire();
      build_hist(root.begin, root.end, root.sum, root.hist);
      find_split(root);
    }
    std::vector<node_state> leaves;
    if (o_.growth == growth_policy::depthwise) {
      grow_depthwise(t, std::move(root), leaves);
    } else {
      grow_lossguide(t, std::move(root), leaves);
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
  void grow_depthwise(tree& t, node_state root, std::vector<node_state>& leaves) {
    std::vector<node_state> level;
    std::vector<node_state> next;
    level.push_back(std::move(root));
    while (!level.empty()) {
      next.clear();
      for (auto& n : level) {
        if (n.best.feature < 0) {
          leaves.push_back(std::move(n));
          continue;
        }
        auto [l, r] = split(t, n);
        next.push_back(std::move(l));
        next.push_back(std::move(r));
      }
      std::swap(level, next);
    }
  }

  // Best open leaf first: the highest gain, then the lowest node id.
  void grow_lossguide(tree& t, node_state root, std::vector<node_state>& leaves) {
    const auto worse = [](const node_state& a, const node_state& b) {
      return a.best.gain < b.best.gain || (a.best.gain == b.best.gain && a.id > b.id);
    };
    std::vector<node_state> open;
    open.push_back(std::move(root));
    while (!open.empty()) {
      std::pop_heap(open.begin(), open.end(), worse);
      node_state n = std::move(open.back());
      open.pop_back();
      if (leaves_ >= max_leaves() || n.best.feature < 0) {
        leaves.push_back(std::move(n));
        continue;
      }
      auto [l, r] = split(t, n);
      open.push_back(std::move(l));
      std::push_heap(open.begin(), open.end(), worse);
      open.push_back(std::move(r));
      std::push_heap(open.begin(), open.end(), worse);
    }
  }

  [[nodiscard]] std::size_t max_leaves() const { return o_.max_leaves == 0 ? 31 : o_.max_leaves; }

  /// Whether a node of this depth and size may still split once `leaves` leaves exist.
  [[nodiscard]] bool may_split(const node_state& n, std::size_t leaves) const {
    if (o_.max_depth > 0 && n.depth >= o_.max_depth) return false;
    if (o_.growth == growth_policy::lossguide && leaves >= max_leaves()) return false;
    return n.end - n.begin >= 2;
  }

  [[nodiscard]] double weight(const grad_pair& s, double lower, double upper) const {
    const double w = -threshold_l1(s.g, o_.alpha) / (s.h + o_.lambda);
    return std::clamp(w, lower, upper);
  }
  [[nodiscard]] double gain_of(const grad_pair& s) const {
    const double t = threshold_l1(s.g, o_.alpha);
    return t * t / (s.h + o_.lambda);
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

  /// Sparse rows [from, to) of the node's row array into h.
  void build_sparse(std::size_t from, std::size_t to, grad_pair* h) const {
    const auto& rows = *rows_;
    for (std::size_t k = from; k < to; ++k) {
      const auto r = rows[k];
      const grad_pair g = gh_[r];
      const std::uint32_t* e = b_.entries.data() + b_.row_ptr[r];
      const std::uint32_t* last = b_.entries.data() + b_.row_ptr[r + 1];
      for (; e != last; ++e) {
        h[*e].g += g.g;
        h[*e].h += g.h;
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

  /// The histogram of rows [begin, end) whose gradients sum to `sum`, into `hist`. Dense rows:
  /// one range of features per thread, each its own slots (the same sums as one thread); sparse
  /// rows: one range of rows per thread, per-thread histograms summed in a fixed order.
  void build_hist(std::size_t begin, std::size_t end, const grad_pair& sum,
                  std::vector<grad_pair>& hist) {
    const std::size_t n = end - begin;
    if (b_.stored.empty()) return;  // nothing can split
    if (!b_.sparse) {
      const std::size_t m = b_.stored.size();
      const std::size_t wanted = std::max<std::size_t>(n * m / min_parallel_work, 1);
      pool_.chunks(m, (m + wanted - 1) / wanted,
                   [&](std::size_t, std::size_t first, std::size_t last) {
                     const auto lo = static_cast<std::ptrdiff_t>(b_.stored_offset[first]);
                     const auto hi = static_cast<std::ptrdiff_t>(
                         last < m ? b_.stored_offset[last] : static_cast<std::uint32_t>(b_.slots));
                     std::fill(hist.begin() + lo, hist.begin() + hi, grad_pair{});
                     build_dense(begin, end, first, last, hist.data());
                   });
      return;
    }
    const std::size_t used =
        pool_.chunks(n, std::max(min_parallel_work, 2 * b_.slots) / work_per_row_,
                     [&](std::size_t t, std::size_t from, std::size_t to) {
                       auto& h = t == 0 ? hist : partial_[t - 1];
                       h.assign(b_.slots, grad_pair{});
                       build_sparse(begin + from, begin + to, h.data());
                     });
    for (std::size_t t = 1; t < used; ++t) {  // fixed order: deterministic for a thread count
      const auto& p = partial_[t - 1];
      for (std::size_t k = 0; k < hist.size(); ++k) {
        hist[k].g += p[k].g;
        hist[k].h += p[k].h;
      }
    }
    for (const auto f : b_.implied_missing) {  // sparse: missing = node total - present
      grad_pair present;
      for (std::size_t k = b_.offset[f]; k < b_.missing_slot(f); ++k) {
        present.g += hist[k].g;
        present.h += hist[k].h;
      }
      hist[b_.missing_slot(f)] = {sum.g - present.g, sum.h - present.h};
    }
  }

  /// The best split of one feature from its histogram slots into `best`; `scratch` is the
  /// calling thread's.
  void feature_split(const node_state& n, std::uint32_t f, double parent_gain,
                     split_candidate& best, scan_scratch& scratch) const {
    const std::size_t nb = b_.real_bins(f);
    const grad_pair* h = n.hist.data() + b_.offset[f];
    grad_pair miss = b_.has_missing[f] != 0 ? h[nb] : grad_pair{};
    if (empty_slot(miss, n.sum)) miss = {};
    const bool has_missing = miss.h != 0.0 || miss.g != 0.0;
    const int mono = o_.monotone.empty() ? 0 : o_.monotone[f];
    if (mono == 0 && o_.alpha == 0.0) {
      plain_split(n, f, parent_gain, miss, best, scratch);
      return;
    }
    grad_pair left;
    // Split after `bin`; the last position (every real bin left) only separates present from
    // missing values, which is all a one-valued feature (e.g. libsvm indicator) can tell. After
    // an empty bin the candidates are those of the bin before (an equal gain never wins), so
    // only bin 0 (where missing-left first separates missing from present) is scanned empty.
    for (std::size_t bin = 0; bin < nb; ++bin) {
      if (bin > 0 && h[bin].h == 0.0 && h[bin].g == 0.0) continue;
      left.g += h[bin].g;
      left.h += h[bin].h;
      // The right side only shrinks from here: once too light, it stays too light.
      if (n.sum.h - left.h < o_.min_child_weight && miss.h >= 0.0) break;
      const bool last = bin + 1 == nb;
      if (last && !has_missing) break;
      for (const bool missing_left : {false, true}) {
        if (missing_left && (!has_missing || last)) continue;
        grad_pair l = left;
        if (missing_left) {
          l.g += miss.g;
          l.h += miss.h;
        }
        const grad_pair r{n.sum.g - l.g, n.sum.h - l.h};
        if (l.h < o_.min_child_weight || r.h < o_.min_child_weight) continue;
        if (mono != 0) {
          const double wl = weight(l, n.lower, n.upper);
          const double wr = weight(r, n.lower, n.upper);
          if ((mono > 0 && wl > wr) || (mono < 0 && wl < wr)) continue;
        }
        const double gain = gain_of(l) + gain_of(r) - parent_gain;
        if (gain > best.gain + 1e-12) {
          // No missing values seen: default to the left (XGBoost's choice in that case).
          best = {gain,
                  static_cast<std::int32_t>(f),
                  static_cast<std::uint32_t>(bin),
                  missing_left || !has_missing,
                  l,
                  r};
        }
      }
    }
  }

  /// feature_split without monotone constraints or L1 (T(g) = g), in three passes: the
  /// candidates (the same ones, in the same order), their gains in loops without branches
  /// (vectorised divisions, the same arithmetic), then the first best in order.
  void plain_split(const node_state& n, std::uint32_t f, double parent_gain, grad_pair miss,
                   split_candidate& best, scan_scratch& sc) const {
    const std::size_t nb = b_.real_bins(f);
    const grad_pair* h = n.hist.data() + b_.offset[f];
    const bool has_missing = miss.h != 0.0 || miss.g != 0.0;
    const double mcw = o_.min_child_weight;
    const double lambda = o_.lambda;
    sc.bin.clear();
    sc.lg.clear();
    sc.lh.clear();
    grad_pair left;
    for (std::size_t bin = 0; bin < nb; ++bin) {
      if (bin > 0 && h[bin].h == 0.0 && h[bin].g == 0.0) continue;
      left.g += h[bin].g;
      left.h += h[bin].h;
      if (n.sum.h - left.h < mcw && miss.h >= 0.0) break;
      if (bin + 1 == nb && !has_missing) break;
      sc.bin.push_back(static_cast<std::uint32_t>(bin));
      sc.lg.push_back(left.g);
      sc.lh.push_back(left.h);
    }
    const std::size_t count = sc.bin.size();
    sc.gain_right.resize(count);
    sc.gain_left.resize(count);
    const double* __restrict lg = sc.lg.data();
    const double* __restrict lh = sc.lh.data();
    double* __restrict gr = sc.gain_right.data();
    double* __restrict gm = sc.gain_left.data();
    const double sum_g = n.sum.g;
    const double sum_h = n.sum.h;
    for (std::size_t k = 0; k < count; ++k) {  // missing values right
      const double rg = sum_g - lg[k];
      const double rh = sum_h - lh[k];
      gr[k] = lg[k] * lg[k] / (lh[k] + lambda) + rg * rg / (rh + lambda) - parent_gain;
    }
    for (std::size_t k = 0; k < count && has_missing; ++k) {  // missing values left
      const double l_g = lg[k] + miss.g;
      const double l_h = lh[k] + miss.h;
      const double rg = sum_g - l_g;
      const double rh = sum_h - l_h;
      gm[k] = l_g * l_g / (l_h + lambda) + rg * rg / (rh + lambda) - parent_gain;
    }
    for (std::size_t k = 0; k < count; ++k) {
      for (const bool missing_left : {false, true}) {
        // Every real bin left only separates present from missing: one side of it, not two.
        if (missing_left && (!has_missing || sc.bin[k] + 1 == nb)) continue;
        const grad_pair l =
            missing_left ? grad_pair{lg[k] + miss.g, lh[k] + miss.h} : grad_pair{lg[k], lh[k]};
        const grad_pair r{sum_g - l.g, sum_h - l.h};
        if (l.h < mcw || r.h < mcw) continue;
        const double gain = missing_left ? gm[k] : gr[k];
        if (!(gain > best.gain + 1e-12)) continue;
        best = {gain, static_cast<std::int32_t>(f), sc.bin[k], missing_left || !has_missing, l, r};
      }
    }
  }

  /// Features per thread in one node's split search (all of them: one thread).
  [[nodiscard]] std::size_t search_chunk() const {
    const std::size_t slots_per_feature = b_.slots / std::max<std::size_t>(features_.size(), 1) + 1;
    return min_parallel_slots / slots_per_feature + 1;
  }

  void find_split(node_state& n) {
    n.best = split_candidate{};
    const double parent_gain = gain_of(n.sum);
    // Features in contiguous ranges, one per thread, then the ranges' bests in order.
    const std::size_t used = pool_.chunks(
        features_.size(), search_chunk(), [&](std::size_t t, std::size_t from, std::size_t to) {
          bests_[t] = split_candidate{};
          for (std::size_t k = from; k < to; ++k)
            feature_split(n, features_[k], parent_gain, bests_[t], scratch_[t]);
        });
    for (std::size_t t = 0; t < used; ++t) {
      if (bests_[t].feature >= 0 && (n.best.feature < 0 || bests_[t].gain > n.best.gain + 1e-12))
        n.best = bests_[t];
    }
    if (n.best.feature >= 0 && !(n.best.gain > o_.min_split_gain)) n.best.feature = -1;
  }

  /// One node's split search on the calling thread (what find_split does with one range).
  void find_split_here(node_state& n, scan_scratch& scratch) const {
    n.best = split_candidate{};
    const double parent_gain = gain_of(n.sum);
    for (const auto f : features_) feature_split(n, f, parent_gain, n.best, scratch);
    if (n.best.feature >= 0 && !(n.best.gain > o_.min_split_gain)) n.best.feature = -1;
  }

  /// Both children's split searches: when each alone would run on one thread (narrow data),
  /// side by side on two; the same splits as one after the other.
  void find_splits(node_state& l, node_state& r) {
    if (pool_.size() < 2 || features_.size() / search_chunk() >= 2 ||
        b_.slots < min_parallel_slots / 4) {
      find_split(l);
      find_split(r);
      return;
    }
    pool_.run([&](std::size_t t) {
      if (t < 2) find_split_here(t == 0 ? l : r, scratch_[t]);
    });
  }

  /// Stable partition of the node's rows, those going left first; returns the middle. Each
  /// thread sorts a contiguous chunk into its left and right lists (without branches), then the
  /// lists are written back in order: the same rows order for any thread count.
  std::size_t partition(const node_state& n) {
    const auto& s = n.best;
    const auto f = static_cast<std::size_t>(s.feature);
    const std::size_t nb = b_.real_bins(f);
    const bool search = b_.sparse && b_.columns.empty();
    const auto column = static_cast<std::size_t>(b_.column_of[f]);
    // Row r's bin is col[r * stride]: the column-major copy or the row-major rows.
    const bool by_column = !b_.columns.empty();
    const std::size_t stride = by_column ? 1 : b_.stored.size();
    const std::uint8_t* col =
        by_column ? b_.columns.data() + column * b_.rows : b_.bins.data() + column;
    auto& rows = *rows_;
    const std::size_t used = pool_.chunks(
        n.end - n.begin, min_parallel_rows, [&](std::size_t t, std::size_t from, std::size_t to) {
          auto& [left, right] = sides_[t];
          left.resize(to - from);
          right.resize(to - from);
          std::size_t nl = 0;
          std::size_t nr = 0;
          for (std::size_t k = n.begin + from; k < n.begin + to; ++k) {
            const std::uint32_t r = rows[k];
            const std::size_t slot =
                search ? b_.local_slot(r, f) : col[static_cast<std::size_t>(r) * stride];
            const bool goes_left = slot == nb ? s.default_left : slot <= s.bin;
            left[nl] = r;
            right[nr] = r;
            nl += goes_left ? 1 : 0;
            nr += goes_left ? 0 : 1;
          }
          left.resize(nl);
          right.resize(nr);
        });
    auto out = rows.begin() + static_cast<std::ptrdiff_t>(n.begin);
    for (std::size_t t = 0; t < used; ++t)
      out = std::copy(sides_[t].first.begin(), sides_[t].first.end(), out);
    const auto mid = static_cast<std::size_t>(out - rows.begin());
    for (std::size_t t = 0; t < used; ++t)
      out = std::copy(sides_[t].second.begin(), sides_[t].second.end(), out);
    return mid;
  }

  /// The two children of `n` with their rows, sums, bounds and (when they may split) their
  /// histograms and best splits; `n`'s histogram goes to the larger child or back to the pool.
  std::pair<node_state, node_state> split(tree& t, node_state& n) {
    const auto& s = n.best;
    const auto f = static_cast<std::size_t>(s.feature);
    const std::size_t mid = partition(n);
    const double wl = weight(s.left, n.lower, n.upper);
    const double wr = weight(s.right, n.lower, n.upper);
    const auto [li, ri] =
        t.expand(n.id, s.feature, static_cast<double>(b_.cuts[f][s.bin]), s.default_left,
                 o_.learning_rate * wl, o_.learning_rate * wr, s.gain, s.left.h, s.right.h);
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
    l.lower = r.lower = n.lower;
    l.upper = r.upper = n.upper;
    const int mono = o_.monotone.empty() ? 0 : o_.monotone[f];
    if (mono != 0) {
      const double middle = (wl + wr) / 2.0;
      (mono > 0 ? l.upper : l.lower) = middle;
      (mono > 0 ? r.lower : r.upper) = middle;
    }
    const bool split_l = may_split(l, leaves_);
    const bool split_r = may_split(r, leaves_);
    if (!split_l && !split_r) {
      release(n.hist);
      return {std::move(l), std::move(r)};
    }
    // Histogram subtraction: build the smaller child, derive its sibling from the parent.
    const bool left_smaller = (l.end - l.begin) <= (r.end - r.begin);
    node_state& small = left_smaller ? l : r;
    node_state& large = left_smaller ? r : l;
    small.hist = acquire();
    build_hist(small.begin, small.end, small.sum, small.hist);
    large.hist = std::move(n.hist);
    for (std::size_t k = 0; k < large.hist.size(); ++k) {
      large.hist[k].g -= small.hist[k].g;
      large.hist[k].h -= small.hist[k].h;
    }
    if (split_l && split_r) {
      find_splits(l, r);
      return {std::move(l), std::move(r)};
    }
    for (auto [child, may] : {std::pair{&l, split_l}, std::pair{&r, split_r}}) {
      if (may) {
        find_split(*child);
      } else {
        release(child->hist);
      }
    }
    return {std::move(l), std::move(r)};
  }

  const binned_matrix& b_;
  const gbdt_options& o_;
  worker_pool& pool_;
  std::vector<std::vector<grad_pair>> partial_;  // per extra thread
  std::vector<std::vector<grad_pair>> free_;     // histogram buffers for reuse
  std::vector<split_candidate> bests_;           // per thread
  std::vector<scan_scratch> scratch_;            // per thread
  std::vector<std::pair<std::vector<std::uint32_t>, std::vector<std::uint32_t>>>
      sides_;                            // per thread: rows going left, right
  std::vector<std::uint32_t> features_;  // this tree's features that can split
  std::size_t work_per_row_ = 1;
  std::span<const grad_pair> gh_;
  std::vector<std::uint32_t>* rows_ = nullptr;
  std::size_t leaves_ = 1;
};

tree_grower::tree_grower(const binned_matrix& b, const gbdt_options& o, worker_pool& pool)
    : impl_(std::make_unique<tree_grower_impl>(b, o, pool)) {}

tree_grower::~tree_grower() = default;

tree tree_grower::grow(std::span<const grad_pair> gh, std::vector<std::uint32_t>& rows,
                       const std::vector<unsigned char>& used, std::vector<leaf_range>& leaves) {
  return impl_->grow(gh, rows, used, leaves);
}

}  // namespace funnel::scoring::detail
