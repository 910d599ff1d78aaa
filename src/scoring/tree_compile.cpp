// tree_ensemble compilation: the breadth-first fast_node array every walk uses, and the
// perfect-tree copies the SIMD batch kernels take (the kernel is chosen here, at run time).
#include <funnel/core/error.hpp>
#include <funnel/scoring/tree_ensemble.hpp>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <string_view>
#include <vector>

#include "scoring/tree_detail.hpp"
#include "scoring/tree_kernels.hpp"
#include "simd/isa.hpp"

namespace funnel::scoring {

namespace detail {

// tree_kernels.hpp repeats these so the kernel translation units include nothing else.
static_assert(kernel_default_left == fast_default_left && kernel_feature_mask == fast_feature_mask);
static_assert(simd_avx2 == 1 && simd_avx512 == 2);

const perfect_kernel* perfect_kernel_for(std::uint8_t level) noexcept {
  const funnel::detail::isa_kernels* isa = nullptr;
  if (level == simd_avx512) isa = funnel::detail::isa_avx512();
  if (level == simd_avx2) isa = funnel::detail::isa_avx2();
  return isa != nullptr ? isa->trees : nullptr;
}

const perfect_kernel* perfect_kernel_choose() noexcept {
  const funnel::detail::isa_kernels* isa = funnel::detail::isa_from_env("FUNNEL_TREES_KERNEL");
  return isa != nullptr ? isa->trees : nullptr;
}

}  // namespace detail

namespace {

// Smallest float t' such that, for every float x, (x < t') == (double(x) <= t).
float less_equal_to_less(double t) noexcept {
  float f = static_cast<float>(t);
  if (static_cast<double>(f) > t) f = std::nextafter(f, -std::numeric_limits<float>::infinity());
  return std::nextafter(f, std::numeric_limits<float>::infinity());
}

}  // namespace

void tree_ensemble::compile() {
  auto& f = fast_;
  f = {};
  f.roots.reserve(trees_.size());
  std::vector<bool> tree_special;
  tree_special.reserve(trees_.size());
  for (const auto& tr : trees_) {
    tree_special.push_back(false);
    if (!tr.linear.empty()) f.has_linear = true;
    const auto base = static_cast<std::uint32_t>(f.nodes.size());
    f.roots.push_back(base);
    f.groups.push_back(static_cast<std::uint32_t>(tr.group));
    f.depths.push_back(static_cast<std::uint32_t>(tr.depth()));
    // Breadth-first order puts the nodes visited first next to each other.
    std::vector<std::int32_t> order{0};
    std::vector<std::uint32_t> global(tr.nodes.size(), 0);
    for (std::size_t k = 0; k < order.size(); ++k) {
      global[static_cast<std::size_t>(order[k])] = base + static_cast<std::uint32_t>(k);
      const auto& nd = tr.nodes[static_cast<std::size_t>(order[k])];
      if (!nd.is_leaf()) {
        order.push_back(nd.left);
        order.push_back(nd.right);
      }
    }
    for (const auto src : order) {
      const auto& nd = tr.nodes[static_cast<std::size_t>(src)];
      const auto self = global[static_cast<std::size_t>(src)];
      detail::fast_node fn{};
      std::uint8_t kind = 0;
      std::uint32_t cb = 0;
      std::uint32_t cc = 0;
      if (nd.is_leaf()) {
        // A leaf loops onto itself: x < NaN is false and default_left is off, so walking a
        // fixed number of steps per tree stays on the leaf.
        fn.threshold = std::numeric_limits<float>::quiet_NaN();
        fn.feature = 0;
        fn.left = self;
        fn.right = self;
      } else {
        fn.threshold = params_.rule == split_rule::less ? static_cast<float>(nd.threshold)
                                                        : less_equal_to_less(nd.threshold);
        fn.feature = static_cast<std::uint32_t>(nd.feature);
        if (nd.default_left) fn.feature |= detail::fast_default_left;
        fn.left = global[static_cast<std::size_t>(nd.left)];
        fn.right = global[static_cast<std::size_t>(nd.right)];
        // x <= +inf holds for x = +inf too, which no float "<" threshold expresses.
        const bool always_left = params_.rule == split_rule::less_equal && !nd.categorical &&
                                 nd.threshold == std::numeric_limits<double>::infinity();
        if (nd.categorical || nd.zero_is_missing || always_left) {
          fn.feature |= detail::fast_special;
          f.has_special = true;
          tree_special.back() = true;
          kind = static_cast<std::uint8_t>((nd.categorical ? 1 : 0) | (nd.zero_is_missing ? 2 : 0) |
                                           (always_left ? 4 : 0));
          if (nd.categorical) {
            cb = static_cast<std::uint32_t>(f.cat_words.size());
            const std::size_t words = nd.categories.empty() ? 0 : nd.categories.back() / 32 + 1;
            // A bitset only while it is at most a few words per listed category; a sparse split
            // on a large category id (2^24 - 1 alone is 2 MiB of bitset) keeps the sorted list,
            // so memory stays proportional to the categories the file lists.
            if (words <= 4 * nd.categories.size() + 8) {
              f.cat_words.resize(f.cat_words.size() + words, 0);
              for (const auto c : nd.categories) f.cat_words[cb + c / 32] |= 1U << (c % 32);
              cc = static_cast<std::uint32_t>(words);
            } else {
              kind = static_cast<std::uint8_t>(kind | 8);
              f.cat_words.insert(f.cat_words.end(), nd.categories.begin(), nd.categories.end());
              cc = static_cast<std::uint32_t>(nd.categories.size());
            }
          }
        }
      }
      f.nodes.push_back(fn);
      f.leaf_f.push_back(static_cast<float>(nd.value));
      f.leaf_d.push_back(nd.value);
      f.source_node.push_back(src - tr.leaf_index_offset);
      f.special_kind.push_back(kind);
      f.cat_begin.push_back(cb);
      f.cat_count.push_back(cc);
    }
  }
  build_perfect(tree_special);
}

void tree_ensemble::build_perfect(const std::vector<bool>& tree_special) {
  auto& f = fast_;
  const auto T = f.roots.size();
  f.perf_node.assign(T, detail::perfect_npos);
  f.perf_leaf.assign(T, 0);
  f.perf_run_end.assign(T, 0);
  if (f.has_linear) return;  // linear leaves need the source nodes (margins_rows never batches)
  const detail::perfect_kernel* kernel = detail::perfect_kernel_choose();
  if (kernel == nullptr) return;  // the copies would never be used
  const bool need_double = params_.sum == accumulation::float64;
  std::vector<std::uint32_t> cur;
  std::vector<std::uint32_t> next;
  for (std::size_t t = 0; t < T; ++t) {
    const auto d = f.depths[t];
    if (tree_special[t] || d > static_cast<std::uint32_t>(detail::perfect_max_depth)) continue;
    const auto node_off = f.perf_threshold.size();
    const auto leaf_off = f.perf_leaf_f.size();
    f.perf_node[t] = static_cast<std::uint32_t>(node_off);
    f.perf_leaf[t] = static_cast<std::uint32_t>(leaf_off);
    f.perf_threshold.resize(node_off + (std::size_t{1} << d) - 1, 0.0F);
    f.perf_feature.resize(node_off + (std::size_t{1} << d) - 1, 0);
    cur.assign(1, f.roots[t]);
    for (std::uint32_t level = 0; level < d; ++level) {
      next.clear();
      const auto first = node_off + (std::size_t{1} << level) - 1;
      for (std::size_t j = 0; j < cur.size(); ++j) {
        // A compiled leaf has threshold NaN, feature 0 and both children itself: it pads into a
        // subtree whose leaves all hold its value, whichever way a row goes.
        const auto& fn = f.nodes[cur[j]];
        f.perf_threshold[first + j] = fn.threshold;
        f.perf_feature[first + j] = fn.feature;
        next.push_back(fn.left);
        next.push_back(fn.right);
      }
      cur.swap(next);
    }
    for (const auto leaf : cur) {
      f.perf_leaf_f.push_back(f.leaf_f[leaf]);
      if (need_double) f.perf_leaf_d.push_back(f.leaf_d[leaf]);
    }
  }
  if (f.perf_leaf_f.empty()) return;
  // Padding: the kernel loads 16 consecutive entries for levels (and leaf sets) of <= 16 nodes.
  f.perf_threshold.resize(f.perf_threshold.size() + 16, 0.0F);
  f.perf_feature.resize(f.perf_feature.size() + 16, 0);
  f.perf_leaf_f.resize(f.perf_leaf_f.size() + 16, 0.0F);
  if (need_double) f.perf_leaf_d.resize(f.perf_leaf_d.size() + 16, 0.0);
  for (std::size_t t = T; t-- > 0;) {
    if (f.perf_node[t] == detail::perfect_npos) continue;
    f.perf_run_end[t] = static_cast<std::uint32_t>(
        t + 1 < T && f.perf_node[t + 1] != detail::perfect_npos ? f.perf_run_end[t + 1] : t + 1);
  }
  f.simd = kernel->level;
}

const char* tree_ensemble::batch_kernel() const noexcept {
  const detail::perfect_kernel* kernel = detail::perfect_kernel_for(fast_.simd);
  return kernel != nullptr ? kernel->name : "interleaved-16";
}

}  // namespace funnel::scoring
