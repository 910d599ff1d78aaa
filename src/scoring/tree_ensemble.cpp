// Validation, compilation to the fast layout, evaluation and funnel JSON of tree_ensemble.
#include <funnel/core/error.hpp>
#include <funnel/core/json.hpp>
#include <funnel/scoring/tree_ensemble.hpp>

#include <algorithm>
#include <array>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <limits>
#include <set>
#include <string_view>
#include <thread>
#include <type_traits>

#if (defined(__GNUC__) || defined(__clang__)) && defined(__x86_64__)
#define FUNNEL_TREES_AVX512 1
#include <immintrin.h>
#endif

namespace funnel::scoring {

namespace {

constexpr int max_tree_depth = 512;
constexpr std::uint32_t max_category = 1U << 24;  // XGBoost's bound (largest exact float integer)
constexpr double zero_threshold = static_cast<double>(1e-35F);  // LightGBM kZeroThreshold
// Groups summed at once on the one-row paths (a stack buffer); more groups go in chunks.
constexpr std::size_t group_chunk = 64;

// Smallest float t' such that, for every float x, (x < t') == (double(x) <= t).
float less_equal_to_less(double t) noexcept {
  float f = static_cast<float>(t);
  if (static_cast<double>(f) > t) f = std::nextafter(f, -std::numeric_limits<float>::infinity());
  return std::nextafter(f, std::numeric_limits<float>::infinity());
}

bool in_categories(const std::vector<std::uint32_t>& cats, std::uint32_t c) noexcept {
  return std::binary_search(cats.begin(), cats.end(), c);
}

}  // namespace

std::int32_t next_node(const tree_node& n, double x, split_rule rule) noexcept {
  if (std::isnan(x)) return n.default_left ? n.left : n.right;
  if (n.categorical) {
    std::uint32_t cat = 0;
    if (rule == split_rule::less) {
      // XGBoost: negative or beyond 2^24 is an invalid category and goes left.
      const float xf = static_cast<float>(x);
      if (xf < 0.0F || xf >= static_cast<float>(max_category)) return n.left;
      cat = static_cast<std::uint32_t>(static_cast<std::int32_t>(xf));
    } else {
      // LightGBM truncates toward zero first; only values <= -1 are negative categories.
      if (x <= -1.0 || x >= 2147483648.0) return n.left;
      cat = static_cast<std::uint32_t>(static_cast<std::int64_t>(x));
    }
    return in_categories(n.categories, cat) ? n.right : n.left;
  }
  if (n.zero_is_missing && x >= -zero_threshold && x <= zero_threshold) {
    return n.default_left ? n.left : n.right;
  }
  if (rule == split_rule::less) {
    return static_cast<float>(x) < static_cast<float>(n.threshold) ? n.left : n.right;
  }
  return x <= n.threshold ? n.left : n.right;
}

// ---------------------------------------------------------------------------------------- tree

tree tree::leaf_only(double value, double cover, std::int32_t group) {
  tree t;
  t.nodes[0].value = value;
  t.nodes[0].cover = cover;
  t.group = group;
  return t;
}

std::pair<std::int32_t, std::int32_t> tree::expand(std::int32_t node, std::int32_t feature,
                                                   double threshold, bool default_left,
                                                   double left_value, double right_value,
                                                   double gain, double left_cover,
                                                   double right_cover) {
  if (node < 0 || static_cast<std::size_t>(node) >= nodes.size() ||
      !nodes[static_cast<std::size_t>(node)].is_leaf()) {
    raise<invalid_argument>("tree", "expand: node {} is not a leaf of this tree ({} nodes)", node,
                            nodes.size());
  }
  const auto l = static_cast<std::int32_t>(nodes.size());
  tree_node left;
  left.value = left_value;
  left.cover = left_cover;
  tree_node right;
  right.value = right_value;
  right.cover = right_cover;
  nodes.push_back(left);
  nodes.push_back(right);
  auto& n = nodes[static_cast<std::size_t>(node)];
  n.left = l;
  n.right = l + 1;
  n.feature = feature;
  n.threshold = threshold;
  n.default_left = default_left;
  n.gain = gain;
  if (!linear.empty()) linear.resize(nodes.size());
  return {l, l + 1};
}

std::pair<std::int32_t, std::int32_t> tree::expand_categorical(
    std::int32_t node, std::int32_t feature, std::vector<std::uint32_t> right_categories,
    bool default_left, double left_value, double right_value, double gain, double left_cover,
    double right_cover) {
  auto children = expand(node, feature, 0.0, default_left, left_value, right_value, gain,
                         left_cover, right_cover);
  auto& n = nodes[static_cast<std::size_t>(node)];
  std::sort(right_categories.begin(), right_categories.end());
  right_categories.erase(std::unique(right_categories.begin(), right_categories.end()),
                         right_categories.end());
  n.categorical = true;
  n.categories = std::move(right_categories);
  return children;
}

int tree::depth() const {
  std::vector<int> d(nodes.size(), 0);
  int best = 0;
  std::vector<std::int32_t> stack{0};
  while (!stack.empty()) {
    const auto i = static_cast<std::size_t>(stack.back());
    stack.pop_back();
    best = std::max(best, d[i]);
    const auto& n = nodes[i];
    if (!n.is_leaf()) {
      d[static_cast<std::size_t>(n.left)] = d[i] + 1;
      d[static_cast<std::size_t>(n.right)] = d[i] + 1;
      stack.push_back(n.left);
      stack.push_back(n.right);
    }
  }
  return best;
}

// ------------------------------------------------------------------------------- validation

namespace {

// Strings a model keeps are written back into JSON (to_json, to_xgboost_json), whose writer
// rejects invalid UTF-8: a model that loaded must also save.
bool valid_utf8(std::string_view s) noexcept {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t len = 0;
    std::uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    }
    if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1FU;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0FU;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07U;
    } else {
      return false;
    }
    if (i + len > s.size()) return false;
    for (std::size_t k = 1; k < len; ++k) {
      const auto d = static_cast<unsigned char>(s[i + k]);
      if ((d & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (d & 0x3FU);
    }
    const std::uint32_t min_cp[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min_cp[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += len;
  }
  return true;
}

void check_text(std::string_view s, std::string_view what, std::size_t index) {
  if (!valid_utf8(s)) {
    raise<parse_error>("tree_ensemble", "{}[{}] is not valid UTF-8", what, index);
  }
}

void validate_features(const ensemble_header& p) {
  check_text(p.objective, "objective", 0);
  check_text(p.source_version, "source_version", 0);
  for (std::size_t i = 0; i < p.feature_names.size(); ++i) {
    check_text(p.feature_names[i], "feature_names", i);
  }
  for (std::size_t i = 0; i < p.feature_types.size(); ++i) {
    check_text(p.feature_types[i], "feature_types", i);
  }
  if (!p.feature_names.empty()) {
    if (p.feature_names.size() != p.num_features) {
      raise<parse_error>("tree_ensemble", "feature_names has {} names for num_features = {}",
                         p.feature_names.size(), p.num_features);
    }
    std::set<std::string_view> seen;
    for (std::size_t i = 0; i < p.feature_names.size(); ++i) {
      if (p.feature_names[i].empty()) {
        raise<parse_error>("tree_ensemble", "feature_names[{}] is empty", i);
      }
      if (!seen.insert(p.feature_names[i]).second) {
        raise<parse_error>("tree_ensemble", "feature_names[{}] = '{}' appears twice", i,
                           p.feature_names[i]);
      }
    }
  }
  if (!p.feature_types.empty() && p.feature_types.size() != p.num_features) {
    raise<parse_error>("tree_ensemble", "feature_types has {} entries for num_features = {}",
                       p.feature_types.size(), p.num_features);
  }
}

void validate(ensemble_header& p, const std::vector<tree>& trees) {
  if (p.num_groups == 0) raise<parse_error>("tree_ensemble", "num_groups must be >= 1");
  // Every output needs a tree or a base margin of its own: the count that sizes per-group
  // buffers is then backed by the model's own content, never by a lone number in a file.
  const auto group_bound = std::max({std::size_t{1}, trees.size(), p.base_margin.size()});
  if (p.num_groups > group_bound) {
    raise<parse_error>("tree_ensemble",
                       "num_groups = {} exceeds what the model holds ({} trees, {} base margins)",
                       p.num_groups, trees.size(), p.base_margin.size());
  }
  if (p.num_features >= (std::size_t{1} << 30)) {
    raise<parse_error>("tree_ensemble", "num_features = {} is too large", p.num_features);
  }
  if (p.base_margin.size() == 1 && p.num_groups > 1) {
    p.base_margin.assign(p.num_groups, p.base_margin[0]);
  }
  if (p.base_margin.size() != p.num_groups) {
    raise<parse_error>("tree_ensemble", "base_margin has {} values, expected 1 or num_groups = {}",
                       p.base_margin.size(), p.num_groups);
  }
  for (std::size_t g = 0; g < p.base_margin.size(); ++g) {
    if (!std::isfinite(p.base_margin[g])) {
      raise<parse_error>("tree_ensemble", "base_margin[{}] is not finite", g);
    }
  }
  if (!std::isfinite(p.sigmoid_scale))
    raise<parse_error>("tree_ensemble", "sigmoid_scale is not finite");
  validate_features(p);
  if (p.average_output && (trees.size() % p.num_groups) != 0) {
    raise<parse_error>("tree_ensemble", "average_output needs a multiple of num_groups trees");
  }
  for (std::size_t t = 0; t < trees.size(); ++t) {
    const auto& tr = trees[t];
    const auto n = tr.nodes.size();
    if (n == 0) raise<parse_error>("tree_ensemble", "trees[{}] has no nodes", t);
    if (n >= (std::size_t{1} << 30))
      raise<parse_error>("tree_ensemble", "trees[{}] is too large", t);
    if (tr.leaf_index_offset < 0 || static_cast<std::size_t>(tr.leaf_index_offset) > n) {
      raise<parse_error>("tree_ensemble",
                         "trees[{}].leaf_index_offset = {} out of range ({} nodes)", t,
                         tr.leaf_index_offset, n);
    }
    if (tr.group < 0 || static_cast<std::size_t>(tr.group) >= p.num_groups) {
      raise<parse_error>("tree_ensemble", "trees[{}].group = {} out of range (num_groups = {})", t,
                         tr.group, p.num_groups);
    }
    if (!tr.linear.empty() && tr.linear.size() != n) {
      raise<parse_error>("tree_ensemble", "trees[{}].linear has {} entries for {} nodes", t,
                         tr.linear.size(), n);
    }
    for (std::size_t i = 0; i < n; ++i) {
      const auto& nd = tr.nodes[i];
      if (nd.is_leaf()) {
        if (nd.right != -1) {
          raise<parse_error>("tree_ensemble", "trees[{}].nodes[{}]: left is -1 but right is {}", t,
                             i, nd.right);
        }
        if (!std::isfinite(nd.value)) {
          raise<parse_error>("tree_ensemble", "trees[{}].nodes[{}]: leaf value is not finite", t,
                             i);
        }
        if (!tr.linear.empty()) {
          const auto& lin = tr.linear[i];
          if (lin.features.size() != lin.coeffs.size() || !std::isfinite(lin.constant)) {
            raise<parse_error>("tree_ensemble", "trees[{}].nodes[{}]: malformed linear leaf", t, i);
          }
          for (std::size_t k = 0; k < lin.features.size(); ++k) {
            if (lin.features[k] < 0 ||
                static_cast<std::size_t>(lin.features[k]) >= p.num_features ||
                !std::isfinite(lin.coeffs[k])) {
              raise<parse_error>("tree_ensemble",
                                 "trees[{}].nodes[{}]: linear feature {} out of range or bad coeff",
                                 t, i, lin.features[k]);
            }
          }
        }
        continue;
      }
      if (nd.left <= 0 || nd.right <= 0 || static_cast<std::size_t>(nd.left) >= n ||
          static_cast<std::size_t>(nd.right) >= n || nd.left == nd.right ||
          static_cast<std::size_t>(nd.left) == i || static_cast<std::size_t>(nd.right) == i) {
        raise<parse_error>("tree_ensemble",
                           "trees[{}].nodes[{}]: child pointers ({}, {}) invalid ({} nodes)", t, i,
                           nd.left, nd.right, n);
      }
      if (nd.feature < 0 || static_cast<std::size_t>(nd.feature) >= p.num_features) {
        raise<parse_error>("tree_ensemble",
                           "trees[{}].nodes[{}]: split feature {} out of range (num_features = {})",
                           t, i, nd.feature, p.num_features);
      }
      if (nd.categorical) {
        for (std::size_t k = 0; k < nd.categories.size(); ++k) {
          if (nd.categories[k] >= max_category ||
              (k > 0 && nd.categories[k] <= nd.categories[k - 1])) {
            raise<parse_error>("tree_ensemble",
                               "trees[{}].nodes[{}]: categories must be sorted, unique and < 2^24",
                               t, i);
          }
        }
      } else if (std::isnan(nd.threshold)) {
        raise<parse_error>("tree_ensemble", "trees[{}].nodes[{}]: threshold is NaN", t, i);
      }
    }
    // Walk from the root: each reachable node must be reached once (no cycles, no shared
    // children). Unreachable nodes (XGBoost's deleted nodes) are allowed and ignored.
    std::vector<int> depth(n, -1);
    depth[0] = 0;
    std::vector<std::size_t> stack{0};
    while (!stack.empty()) {
      const auto i = stack.back();
      stack.pop_back();
      const auto& nd = tr.nodes[i];
      if (nd.is_leaf()) continue;
      for (const auto c : {nd.left, nd.right}) {
        const auto ci = static_cast<std::size_t>(c);
        if (depth[ci] >= 0) {
          raise<parse_error>(
              "tree_ensemble",
              "trees[{}].nodes[{}]: child {} is reached twice (cycle or shared node)", t, i, c);
        }
        depth[ci] = depth[i] + 1;
        if (depth[ci] > max_tree_depth) {
          raise<parse_error>("tree_ensemble", "trees[{}].nodes[{}]: depth exceeds {}", t, ci,
                             max_tree_depth);
        }
        stack.push_back(ci);
      }
    }
  }
}

}  // namespace

tree_ensemble::tree_ensemble(ensemble_header params, std::vector<tree> trees)
    : params_(std::move(params)), trees_(std::move(trees)) {
  validate(params_, trees_);
  base_f_.resize(params_.num_groups);
  base_d_.resize(params_.num_groups);
  for (std::size_t g = 0; g < params_.num_groups; ++g) {
    base_f_[g] = static_cast<float>(params_.base_margin[g]);
    base_d_[g] = params_.base_margin[g];
  }
  average_divisor_ = params_.average_output && !trees_.empty()
                         ? static_cast<double>(trees_.size() / params_.num_groups)
                         : 1.0;
  compile();
}

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
#ifdef FUNNEL_TREES_AVX512
  // Operations switch (and before/after benchmarks): FUNNEL_TREES_KERNEL=portable keeps every
  // batch on the portable interleaved walk, =avx2 takes the AVX2 kernel even on an AVX-512 CPU.
  // Without it (or with any other value) the widest kernel the CPU runs is taken.
  const char* env = std::getenv("FUNNEL_TREES_KERNEL");
  const std::string_view want = env != nullptr ? std::string_view(env) : std::string_view();
  if (want == "portable") return;
  std::uint8_t level = detail::simd_none;
  if (__builtin_cpu_supports("avx512f") != 0 && want != "avx2") {
    level = detail::simd_avx512;
  } else if (__builtin_cpu_supports("avx2") != 0) {
    level = detail::simd_avx2;
  }
  if (level == detail::simd_none) return;  // the copies would never be used
#else
  return;
#endif
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
#ifdef FUNNEL_TREES_AVX512
  f.simd = level;
#endif
}

const char* tree_ensemble::batch_kernel() const noexcept {
  switch (fast_.simd) {
    case detail::simd_avx512:
      return "avx512-perfect-trees";
    case detail::simd_avx2:
      return "avx2-perfect-trees";
    default:
      return "interleaved-16";
  }
}

// ------------------------------------------------------------------------------- evaluation

std::uint32_t tree_ensemble::special_step(std::uint32_t node, float x) const noexcept {
  const auto& n = fast_.nodes[node];
  const bool dl = (n.feature & detail::fast_default_left) != 0;
  if (std::isnan(x)) return dl ? n.left : n.right;
  const auto kind = fast_.special_kind[node];
  if ((kind & 1) == 0) {
    const auto xd = static_cast<double>(x);
    if ((kind & 2) != 0 && xd >= -zero_threshold && xd <= zero_threshold)
      return dl ? n.left : n.right;
    if ((kind & 4) != 0) return n.left;
    return x < n.threshold ? n.left : n.right;
  }
  std::uint32_t cat = 0;
  if (params_.rule == split_rule::less) {
    if (x < 0.0F || x >= static_cast<float>(max_category)) return n.left;
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

#ifdef FUNNEL_TREES_AVX512
// ---- AVX-512 kernel: 16 rows per vector through the perfect-tree copies ----
// Every lane holds one row's level-index j. A level of <= 16 nodes is one register and its
// thresholds / feature words are picked per lane with a permute; 32 nodes take a two-register
// permute; deeper levels gather from the (L1-resident) level arrays. The row value x is gathered
// from the row-major block. The decision is the scalar one, lane by lane: left when x < threshold,
// or when x is NaN and the node's default is left.
#define FUNNEL_AVX512 __attribute__((target("avx512f")))
// Masked forms with an explicit pass-through: GCC 12 warns (-Wmaybe-uninitialized) about the
// undefined pass-through register of the unmasked intrinsics.
constexpr __mmask16 all = 0xFFFF;

template <int D>
FUNNEL_AVX512 inline __m512i perfect_walk(const float* thr, const std::uint32_t* feat,
                                          __m512i rowoff, const float* rows) noexcept {
  __m512i j = _mm512_setzero_si512();
  const __m512i fmask = _mm512_set1_epi32(static_cast<int>(detail::fast_feature_mask));
  const __m512i dlbit = _mm512_set1_epi32(static_cast<int>(detail::fast_default_left));
  const __m512i one = _mm512_set1_epi32(1);
  for (int l = 0; l < D; ++l) {
    const int n = 1 << l;
    const float* tl = thr + (n - 1);
    const std::uint32_t* fl = feat + (n - 1);
    __m512 t;
    __m512i f;
    if (n <= 16) {
      t = _mm512_maskz_permutexvar_ps(all, j, _mm512_loadu_ps(tl));
      f = _mm512_maskz_permutexvar_epi32(all, j, _mm512_loadu_si512(fl));
    } else if (n == 32) {
      t = _mm512_permutex2var_ps(_mm512_loadu_ps(tl), j, _mm512_loadu_ps(tl + 16));
      f = _mm512_permutex2var_epi32(_mm512_loadu_si512(fl), j, _mm512_loadu_si512(fl + 16));
    } else {
      t = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), all, j, tl, 4);
      f = _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), all, j, fl, 4);
    }
    const __m512i off = _mm512_add_epi32(rowoff, _mm512_and_si512(f, fmask));
    const __m512 x = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), all, off, rows, 4);
    const __mmask16 lt = _mm512_cmp_ps_mask(x, t, _CMP_LT_OQ);
    const __mmask16 nan = _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q);
    const __mmask16 dl = _mm512_test_epi32_mask(f, dlbit);
    const auto right = static_cast<__mmask16>(~(lt | (nan & dl)));
    j = _mm512_add_epi32(j, j);
    j = _mm512_mask_add_epi32(j, right, j, one);
  }
  return j;
}

FUNNEL_AVX512 inline __m512i perfect_walk_any(std::uint32_t depth, const float* thr,
                                              const std::uint32_t* feat, __m512i rowoff,
                                              const float* rows) noexcept {
  switch (depth) {
    case 0:
      return _mm512_setzero_si512();
    case 1:
      return perfect_walk<1>(thr, feat, rowoff, rows);
    case 2:
      return perfect_walk<2>(thr, feat, rowoff, rows);
    case 3:
      return perfect_walk<3>(thr, feat, rowoff, rows);
    case 4:
      return perfect_walk<4>(thr, feat, rowoff, rows);
    case 5:
      return perfect_walk<5>(thr, feat, rowoff, rows);
    case 6:
      return perfect_walk<6>(thr, feat, rowoff, rows);
    case 7:
      return perfect_walk<7>(thr, feat, rowoff, rows);
    default:
      return perfect_walk<8>(thr, feat, rowoff, rows);
  }
}

FUNNEL_AVX512 inline __m512 perfect_leaf(std::uint32_t depth, const float* leaf,
                                         __m512i j) noexcept {
  if (depth <= 4) return _mm512_maskz_permutexvar_ps(all, j, _mm512_loadu_ps(leaf));
  if (depth == 5)
    return _mm512_permutex2var_ps(_mm512_loadu_ps(leaf), j, _mm512_loadu_ps(leaf + 16));
  return _mm512_mask_i32gather_ps(_mm512_setzero_ps(), all, j, leaf, 4);
}

// Trees [t0, t1) (all with perfect copies) for one block of 16 rows; `out` holds the running sums
// (row-major, `groups` per row) and receives each tree's leaf in tree order, as the scalar path.
template <class Acc>
FUNNEL_AVX512 void perfect_block16(const detail::compiled_forest& f, std::size_t t0, std::size_t t1,
                                   const float* rows, std::size_t stride, Acc* out,
                                   std::size_t groups) noexcept {
  const __m512i lanes = _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
  const __m512i rowoff = _mm512_mullo_epi32(lanes, _mm512_set1_epi32(static_cast<int>(stride)));
  const float* thr = f.perf_threshold.data();
  const std::uint32_t* feat = f.perf_feature.data();
  if constexpr (std::is_same_v<Acc, float>) {
    if (groups == 1) {
      __m512 acc = _mm512_loadu_ps(out);
      for (std::size_t t = t0; t < t1; ++t) {
        const auto d = f.depths[t];
        const auto j =
            perfect_walk_any(d, thr + f.perf_node[t], feat + f.perf_node[t], rowoff, rows);
        acc = _mm512_add_ps(acc, perfect_leaf(d, f.perf_leaf_f.data() + f.perf_leaf[t], j));
      }
      _mm512_storeu_ps(out, acc);
      return;
    }
  }
  const Acc* leaf = nullptr;
  if constexpr (std::is_same_v<Acc, float>) {
    leaf = f.perf_leaf_f.data();
  } else {
    leaf = f.perf_leaf_d.data();
  }
  alignas(64) std::uint32_t idx[16];
  for (std::size_t t = t0; t < t1; ++t) {
    const auto j =
        perfect_walk_any(f.depths[t], thr + f.perf_node[t], feat + f.perf_node[t], rowoff, rows);
    _mm512_store_si512(idx, j);
    const Acc* lv = leaf + f.perf_leaf[t];
    const auto g = f.groups[t];
    for (std::size_t r = 0; r < 16; ++r) out[r * groups + g] += lv[idx[r]];
  }
}
#undef FUNNEL_AVX512

// ---- AVX2 kernel: the same walk, 8 rows per vector (CPUs with AVX2 but no AVX-512) ----
// A level of <= 8 nodes is one register permuted per lane, 16 nodes two permutes and a blend on
// j >= 8; deeper levels gather. Same decision rule and the same per-row, tree-order sums.
namespace avx2 {
#define FUNNEL_AVX2 __attribute__((target("avx2")))

// Gathers use the masked form with an explicit zero pass-through (see the AVX-512 kernel).
FUNNEL_AVX2 inline __m256 gather_ps(const float* base, __m256i idx) noexcept {
  const __m256 all = _mm256_castsi256_ps(_mm256_set1_epi32(-1));
  return _mm256_mask_i32gather_ps(_mm256_setzero_ps(), base, idx, all, 4);
}

FUNNEL_AVX2 inline __m256i gather_epi32(const std::uint32_t* base, __m256i idx) noexcept {
  return _mm256_mask_i32gather_epi32(_mm256_setzero_si256(), reinterpret_cast<const int*>(base),
                                     idx, _mm256_set1_epi32(-1), 4);
}

// Picks v[j] per lane from 16 consecutive values.
FUNNEL_AVX2 inline __m256 pick16_ps(const float* v, __m256i j) noexcept {
  const __m256 lo = _mm256_permutevar8x32_ps(_mm256_loadu_ps(v), j);
  const __m256 hi = _mm256_permutevar8x32_ps(_mm256_loadu_ps(v + 8), j);
  const __m256i upper = _mm256_cmpgt_epi32(j, _mm256_set1_epi32(7));
  return _mm256_blendv_ps(lo, hi, _mm256_castsi256_ps(upper));
}

FUNNEL_AVX2 inline __m256i pick16_epi32(const std::uint32_t* v, __m256i j) noexcept {
  const auto* p = reinterpret_cast<const __m256i*>(v);
  const __m256i lo = _mm256_permutevar8x32_epi32(_mm256_loadu_si256(p), j);
  const __m256i hi = _mm256_permutevar8x32_epi32(_mm256_loadu_si256(p + 1), j);
  const __m256i upper = _mm256_cmpgt_epi32(j, _mm256_set1_epi32(7));
  return _mm256_blendv_epi8(lo, hi, upper);
}

template <int D>
FUNNEL_AVX2 inline __m256i perfect_walk(const float* thr, const std::uint32_t* feat, __m256i rowoff,
                                        const float* rows) noexcept {
  __m256i j = _mm256_setzero_si256();
  const __m256i fmask = _mm256_set1_epi32(static_cast<int>(detail::fast_feature_mask));
  const __m256i one = _mm256_set1_epi32(1);
  for (int l = 0; l < D; ++l) {
    const int n = 1 << l;
    const float* tl = thr + (n - 1);
    const std::uint32_t* fl = feat + (n - 1);
    __m256 t;
    __m256i f;
    if (n <= 8) {
      t = _mm256_permutevar8x32_ps(_mm256_loadu_ps(tl), j);
      f = _mm256_permutevar8x32_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(fl)), j);
    } else if (n == 16) {
      t = pick16_ps(tl, j);
      f = pick16_epi32(fl, j);
    } else {
      t = gather_ps(tl, j);
      f = gather_epi32(fl, j);
    }
    const __m256i off = _mm256_add_epi32(rowoff, _mm256_and_si256(f, fmask));
    const __m256 x = gather_ps(rows, off);
    const __m256 lt = _mm256_cmp_ps(x, t, _CMP_LT_OQ);
    const __m256 nan = _mm256_cmp_ps(x, x, _CMP_UNORD_Q);
    // fast_default_left is the sign bit: an arithmetic shift spreads it over the lane.
    const __m256 dl = _mm256_castsi256_ps(_mm256_srai_epi32(f, 31));
    const __m256i left = _mm256_castps_si256(_mm256_or_ps(lt, _mm256_and_ps(nan, dl)));
    // j = 2j + 1 for right, 2j for left (left lanes are -1).
    j = _mm256_add_epi32(_mm256_add_epi32(j, j), _mm256_add_epi32(one, left));
  }
  return j;
}

FUNNEL_AVX2 inline __m256i perfect_walk_any(std::uint32_t depth, const float* thr,
                                            const std::uint32_t* feat, __m256i rowoff,
                                            const float* rows) noexcept {
  switch (depth) {
    case 0:
      return _mm256_setzero_si256();
    case 1:
      return perfect_walk<1>(thr, feat, rowoff, rows);
    case 2:
      return perfect_walk<2>(thr, feat, rowoff, rows);
    case 3:
      return perfect_walk<3>(thr, feat, rowoff, rows);
    case 4:
      return perfect_walk<4>(thr, feat, rowoff, rows);
    case 5:
      return perfect_walk<5>(thr, feat, rowoff, rows);
    case 6:
      return perfect_walk<6>(thr, feat, rowoff, rows);
    case 7:
      return perfect_walk<7>(thr, feat, rowoff, rows);
    default:
      return perfect_walk<8>(thr, feat, rowoff, rows);
  }
}

FUNNEL_AVX2 inline __m256 perfect_leaf(std::uint32_t depth, const float* leaf, __m256i j) noexcept {
  if (depth <= 3) return _mm256_permutevar8x32_ps(_mm256_loadu_ps(leaf), j);
  if (depth == 4) return pick16_ps(leaf, j);
  return gather_ps(leaf, j);
}

// perfect_block16 of the AVX-512 kernel, as two vectors of 8 rows.
template <class Acc>
FUNNEL_AVX2 void perfect_block16(const detail::compiled_forest& f, std::size_t t0, std::size_t t1,
                                 const float* rows, std::size_t stride, Acc* out,
                                 std::size_t groups) noexcept {
  const __m256i lanes = _mm256_set_epi32(7, 6, 5, 4, 3, 2, 1, 0);
  const __m256i rowoff = _mm256_mullo_epi32(lanes, _mm256_set1_epi32(static_cast<int>(stride)));
  const float* rows_hi = rows + 8 * stride;
  const float* thr = f.perf_threshold.data();
  const std::uint32_t* feat = f.perf_feature.data();
  if constexpr (std::is_same_v<Acc, float>) {
    if (groups == 1) {
      __m256 acc0 = _mm256_loadu_ps(out);
      __m256 acc1 = _mm256_loadu_ps(out + 8);
      for (std::size_t t = t0; t < t1; ++t) {
        const auto d = f.depths[t];
        const float* tt = thr + f.perf_node[t];
        const std::uint32_t* ft = feat + f.perf_node[t];
        const auto j0 = perfect_walk_any(d, tt, ft, rowoff, rows);
        const auto j1 = perfect_walk_any(d, tt, ft, rowoff, rows_hi);
        const float* lv = f.perf_leaf_f.data() + f.perf_leaf[t];
        acc0 = _mm256_add_ps(acc0, perfect_leaf(d, lv, j0));
        acc1 = _mm256_add_ps(acc1, perfect_leaf(d, lv, j1));
      }
      _mm256_storeu_ps(out, acc0);
      _mm256_storeu_ps(out + 8, acc1);
      return;
    }
  }
  const Acc* leaf = nullptr;
  if constexpr (std::is_same_v<Acc, float>) {
    leaf = f.perf_leaf_f.data();
  } else {
    leaf = f.perf_leaf_d.data();
  }
  alignas(32) std::uint32_t idx[16];
  for (std::size_t t = t0; t < t1; ++t) {
    const auto d = f.depths[t];
    const float* tt = thr + f.perf_node[t];
    const std::uint32_t* ft = feat + f.perf_node[t];
    _mm256_store_si256(reinterpret_cast<__m256i*>(idx), perfect_walk_any(d, tt, ft, rowoff, rows));
    _mm256_store_si256(reinterpret_cast<__m256i*>(idx + 8),
                       perfect_walk_any(d, tt, ft, rowoff, rows_hi));
    const Acc* lv = leaf + f.perf_leaf[t];
    const auto g = f.groups[t];
    for (std::size_t r = 0; r < 16; ++r) out[r * groups + g] += lv[idx[r]];
  }
}
#undef FUNNEL_AVX2
}  // namespace avx2
#endif
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
                                  Acc* out, [[maybe_unused]] bool perfect) const noexcept {
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
  for (std::size_t t = 0; t < fast_.roots.size(); ++t) {
#ifdef FUNNEL_TREES_AVX512
    if (perfect && fast_.perf_node[t] != detail::perfect_npos) {
      const std::size_t end = fast_.perf_run_end[t];
      if (fast_.simd == detail::simd_avx512) {
        perfect_block16<Acc>(fast_, t, end, rows, stride, out, groups);
      } else {
        avx2::perfect_block16<Acc>(fast_, t, end, rows, stride, out, groups);
      }
      t = end - 1;
      continue;
    }
#endif
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
    if (f32) {
      for (std::size_t r = 0; r < n; ++r) {
        for (std::size_t g = 0; g < groups; ++g) o[r * groups + g] = base_f_[g];
      }
      if (fast_.has_special) {
        margins_block<true>(base, rows.stride(), n, o, perfect);
      } else {
        margins_block<false>(base, rows.stride(), n, o, perfect);
      }
    } else {
      double* d = dbuf.data();
      if (n * groups > dbuf.size()) {
        dheap.resize(n * groups);
        d = dheap.data();
      }
      for (std::size_t r = 0; r < n; ++r) {
        for (std::size_t g = 0; g < groups; ++g) d[r * groups + g] = base_d_[g];
      }
      if (fast_.has_special) {
        margins_block<true>(base, rows.stride(), n, d, perfect);
      } else {
        margins_block<false>(base, rows.stride(), n, d, perfect);
      }
      for (std::size_t k = 0; k < n * groups; ++k) {
        o[k] = static_cast<float>(d[k] / average_divisor_);
      }
    }
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

void tree_ensemble::margins(std::span<const double> row, std::span<double> out) const {
  const auto groups = params_.num_groups;
  if (row.size() != params_.num_features) check_row(row.size(), "margins");
  if (out.size() != groups) {
    raise<dimension_mismatch>("tree_ensemble",
                              "margins: output has {} slots, the model has {} groups", out.size(),
                              groups);
  }
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
  if (out.size() != groups) {
    raise<dimension_mismatch>("tree_ensemble",
                              "margins_reference: output has {} slots, the model has {} groups",
                              out.size(), groups);
  }
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
  raise<dimension_mismatch>("tree_ensemble", "{}: row has {} values, the model has {} features",
                            what, width, params_.num_features);
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
  if (out.size() != params_.num_groups) {
    raise<dimension_mismatch>("tree_ensemble",
                              "margins: output has {} slots, the model has {} groups", out.size(),
                              params_.num_groups);
  }
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
  if (out.size() != params_.num_groups) {
    raise<dimension_mismatch>("tree_ensemble",
                              "predict: output has {} slots, the model has {} groups", out.size(),
                              params_.num_groups);
  }
  predict_unchecked(row, out);
}

void tree_ensemble::predict_leaf(row_view row, std::span<std::int32_t> out) const {
  if (row.size() != params_.num_features) check_row(row.size(), "predict_leaf");
  if (out.size() != trees_.size()) {
    raise<dimension_mismatch>("tree_ensemble",
                              "predict_leaf: output has {} slots, the model has {} trees",
                              out.size(), trees_.size());
  }
  for (std::size_t t = 0; t < fast_.roots.size(); ++t)
    out[t] = fast_.source_node[walk(t, row.data())];
}

namespace {
void check_batch(const tree_ensemble& e, matrix_view rows, std::size_t out_size,
                 std::size_t per_row, const char* what) {
  if (rows.cols() != e.num_features() && rows.rows() > 0) {
    raise<dimension_mismatch>("tree_ensemble",
                              "{}: rows have {} columns, the model has {} features", what,
                              rows.cols(), e.num_features());
  }
  if (out_size != rows.rows() * per_row) {
    raise<dimension_mismatch>("tree_ensemble", "{}: output has {} slots, expected {} x {}", what,
                              out_size, rows.rows(), per_row);
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

void tree_ensemble::margins_batch(matrix_view rows, std::span<float> out, unsigned threads) const {
  check_batch(*this, rows, out.size(), params_.num_groups, "margins_batch");
  const auto n = rows.rows();
  const std::size_t t =
      std::max(1U, std::min<unsigned>(threads, static_cast<unsigned>((n + 255) / 256)));
  if (t <= 1) {
    margins_rows(rows, 0, n, out.data());
    return;
  }
  std::vector<std::thread> pool;
  const auto per = (n + t - 1) / t;
  for (std::size_t k = 0; k < t; ++k) {
    const auto b = k * per;
    if (b >= n) break;
    const auto c = std::min(per, n - b);
    pool.emplace_back(
        [this, rows, b, c, out] { margins_rows(rows, b, c, out.data() + b * params_.num_groups); });
  }
  for (auto& th : pool) th.join();
}

void tree_ensemble::predict_batch(matrix_view rows, std::span<float> out, unsigned threads) const {
  margins_batch(rows, out, threads);
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

namespace {
template <class V>
std::size_t bytes_of(const V& v) noexcept {
  return v.capacity() * sizeof(typename V::value_type);
}
}  // namespace

std::size_t tree_ensemble::memory_bytes() const noexcept {
  std::size_t b = sizeof(*this) + bytes_of(base_f_) + bytes_of(base_d_) + bytes_of(trees_);
  for (const auto& tr : trees_) {
    b += bytes_of(tr.nodes) + bytes_of(tr.linear);
    for (const auto& n : tr.nodes) b += bytes_of(n.categories);
    for (const auto& l : tr.linear) b += bytes_of(l.features) + bytes_of(l.coeffs);
  }
  const auto& f = fast_;
  b += bytes_of(f.nodes) + bytes_of(f.roots) + bytes_of(f.depths) + bytes_of(f.groups) +
       bytes_of(f.leaf_f) + bytes_of(f.leaf_d) + bytes_of(f.source_node) + bytes_of(f.cat_words) +
       bytes_of(f.cat_begin) + bytes_of(f.cat_count) + bytes_of(f.special_kind) +
       bytes_of(f.perf_threshold) + bytes_of(f.perf_feature) + bytes_of(f.perf_leaf_f) +
       bytes_of(f.perf_leaf_d) + bytes_of(f.perf_node) + bytes_of(f.perf_leaf) +
       bytes_of(f.perf_run_end);
  return b;
}

std::vector<double> tree_ensemble::importance(importance_type type) const {
  std::vector<double> sum(params_.num_features, 0.0);
  std::vector<double> count(params_.num_features, 0.0);
  for (const auto& tr : trees_) {
    std::vector<std::size_t> stack{0};
    while (!stack.empty()) {
      const auto i = stack.back();
      stack.pop_back();
      const auto& n = tr.nodes[i];
      if (n.is_leaf()) continue;
      const auto f = static_cast<std::size_t>(n.feature);
      count[f] += 1.0;
      if (type == importance_type::gain || type == importance_type::total_gain) sum[f] += n.gain;
      if (type == importance_type::cover || type == importance_type::total_cover) sum[f] += n.cover;
      stack.push_back(static_cast<std::size_t>(n.left));
      stack.push_back(static_cast<std::size_t>(n.right));
    }
  }
  if (type == importance_type::weight) return count;
  if (type == importance_type::gain || type == importance_type::cover) {
    for (std::size_t f = 0; f < sum.size(); ++f) sum[f] = count[f] > 0 ? sum[f] / count[f] : 0.0;
  }
  return sum;
}

// ------------------------------------------------------------------------------------- JSON

namespace {

const char* transform_name(output_transform t) {
  switch (t) {
    case output_transform::identity:
      return "identity";
    case output_transform::sigmoid:
      return "sigmoid";
    case output_transform::softmax:
      return "softmax";
    case output_transform::exp:
      return "exp";
    case output_transform::argmax:
      return "argmax";
  }
  return "identity";
}

output_transform parse_transform(const std::string& s) {
  if (s == "identity") return output_transform::identity;
  if (s == "sigmoid") return output_transform::sigmoid;
  if (s == "softmax") return output_transform::softmax;
  if (s == "exp") return output_transform::exp;
  if (s == "argmax") return output_transform::argmax;
  raise<parse_error>("tree_ensemble", "transform: unknown value '{}'", s);
}

template <class T>
std::vector<T> get_array(const json& j, std::string_view key, const std::string& ctx,
                         std::size_t n) {
  auto v = json_get<std::vector<T>>(j, key, ctx);
  if (v.size() != n) {
    raise<parse_error>("tree_ensemble", "{}.{}: {} values, expected {}", ctx, key, v.size(), n);
  }
  return v;
}

}  // namespace

json tree_ensemble::to_json() const {
  json j = json_header("funnel.tree_ensemble", 2);
  j["num_features"] = params_.num_features;
  j["num_groups"] = params_.num_groups;
  j["base_margin"] = params_.base_margin;
  j["transform"] = transform_name(params_.transform);
  j["sigmoid_scale"] = params_.sigmoid_scale;
  j["split_rule"] = params_.rule == split_rule::less ? "less" : "less_equal";
  j["accumulation"] = params_.sum == accumulation::float32 ? "float32" : "float64";
  j["average_output"] = params_.average_output;
  j["objective"] = params_.objective;
  j["feature_names"] = params_.feature_names;
  j["feature_types"] = params_.feature_types;
  j["source_version"] = params_.source_version;
  json trees = json::array();
  for (const auto& tr : trees_) {
    json t;
    t["group"] = tr.group;
    t["leaf_index_offset"] = tr.leaf_index_offset;
    std::vector<std::int32_t> left, right, feature;
    std::vector<double> threshold, value, gain, cover;
    std::vector<int> dl, zm;
    json cats = json::object();
    for (std::size_t i = 0; i < tr.nodes.size(); ++i) {
      const auto& n = tr.nodes[i];
      left.push_back(n.left);
      right.push_back(n.right);
      feature.push_back(n.feature);
      threshold.push_back(n.threshold);
      value.push_back(n.value);
      gain.push_back(n.gain);
      cover.push_back(n.cover);
      dl.push_back(n.default_left ? 1 : 0);
      zm.push_back(n.zero_is_missing ? 1 : 0);
      if (n.categorical) cats[std::to_string(i)] = n.categories;
    }
    t["left"] = left;
    t["right"] = right;
    t["feature"] = feature;
    json thr = json::array();
    for (const auto v : threshold) {
      if (std::isfinite(v)) {
        thr.push_back(v);
      } else {
        thr.push_back(v > 0 ? "inf" : "-inf");  // JSON has no infinity
      }
    }
    t["threshold"] = std::move(thr);
    t["value"] = value;
    t["gain"] = gain;
    t["cover"] = cover;
    t["default_left"] = dl;
    t["zero_is_missing"] = zm;
    t["categories"] = cats;
    if (!tr.linear.empty()) {
      json lin = json::array();
      for (const auto& l : tr.linear) {
        lin.push_back({{"constant", l.constant}, {"features", l.features}, {"coeffs", l.coeffs}});
      }
      t["linear"] = lin;
    }
    trees.push_back(std::move(t));
  }
  j["trees"] = std::move(trees);
  return j;
}

tree_ensemble tree_ensemble::from_json(const json& j) {
  // Version 1 had no feature names, types or source version.
  const int version = check_json_header(j, "funnel.tree_ensemble", 2, "tree_ensemble");
  ensemble_header p;
  p.num_features = json_get<std::size_t>(j, "num_features", "tree_ensemble");
  p.num_groups = json_get<std::size_t>(j, "num_groups", "tree_ensemble");
  p.base_margin = json_get<std::vector<double>>(j, "base_margin", "tree_ensemble");
  p.transform = parse_transform(json_get<std::string>(j, "transform", "tree_ensemble"));
  p.sigmoid_scale = json_get<double>(j, "sigmoid_scale", "tree_ensemble");
  const auto rule = json_get<std::string>(j, "split_rule", "tree_ensemble");
  if (rule != "less" && rule != "less_equal") {
    raise<parse_error>("tree_ensemble", "split_rule: unknown value '{}'", rule);
  }
  p.rule = rule == "less" ? split_rule::less : split_rule::less_equal;
  const auto sum = json_get<std::string>(j, "accumulation", "tree_ensemble");
  if (sum != "float32" && sum != "float64") {
    raise<parse_error>("tree_ensemble", "accumulation: unknown value '{}'", sum);
  }
  p.sum = sum == "float32" ? accumulation::float32 : accumulation::float64;
  p.average_output = json_get<bool>(j, "average_output", "tree_ensemble");
  p.objective = json_get<std::string>(j, "objective", "tree_ensemble");
  if (version >= 2) {
    p.feature_names = json_get<std::vector<std::string>>(j, "feature_names", "tree_ensemble");
    p.feature_types = json_get<std::vector<std::string>>(j, "feature_types", "tree_ensemble");
    p.source_version = json_get<std::string>(j, "source_version", "tree_ensemble");
  }
  const auto& jt = json_field(j, "trees", "tree_ensemble");
  if (!jt.is_array()) raise<parse_error>("tree_ensemble", "trees: expected an array");
  std::vector<tree> trees;
  trees.reserve(jt.size());
  for (std::size_t k = 0; k < jt.size(); ++k) {
    const auto ctx = fmt::format("tree_ensemble.trees[{}]", k);
    const auto& t = jt[k];
    tree tr;
    tr.group = json_get<std::int32_t>(t, "group", ctx);
    tr.leaf_index_offset = json_get<std::int32_t>(t, "leaf_index_offset", ctx);
    const auto left = json_get<std::vector<std::int32_t>>(t, "left", ctx);
    const auto n = left.size();
    const auto right = get_array<std::int32_t>(t, "right", ctx, n);
    const auto feature = get_array<std::int32_t>(t, "feature", ctx, n);
    std::vector<double> threshold;
    {
      const auto& jt2 = json_field(t, "threshold", ctx);
      if (!jt2.is_array() || jt2.size() != n) {
        raise<parse_error>("tree_ensemble", "{}.threshold: expected an array of {} values", ctx, n);
      }
      for (const auto& v : jt2) {
        if (v.is_number()) {
          threshold.push_back(json_as<double>(v, ctx + ".threshold"));
        } else if (v == "inf" || v == "-inf") {
          threshold.push_back(v == "inf" ? std::numeric_limits<double>::infinity()
                                         : -std::numeric_limits<double>::infinity());
        } else {
          raise<parse_error>("tree_ensemble", "{}.threshold: {} is not a number", ctx,
                             json_preview(v));
        }
      }
    }
    const auto value = get_array<double>(t, "value", ctx, n);
    const auto gain = get_array<double>(t, "gain", ctx, n);
    const auto cover = get_array<double>(t, "cover", ctx, n);
    const auto dl = get_array<int>(t, "default_left", ctx, n);
    const auto zm = get_array<int>(t, "zero_is_missing", ctx, n);
    tr.nodes.assign(n, tree_node{});
    for (std::size_t i = 0; i < n; ++i) {
      auto& nd = tr.nodes[i];
      nd.left = left[i];
      nd.right = right[i];
      nd.feature = feature[i];
      nd.threshold = threshold[i];
      nd.value = value[i];
      nd.gain = gain[i];
      nd.cover = cover[i];
      nd.default_left = dl[i] != 0;
      nd.zero_is_missing = zm[i] != 0;
    }
    const auto& cats = json_field(t, "categories", ctx);
    if (!cats.is_object())
      raise<parse_error>("tree_ensemble", "{}.categories: expected an object", ctx);
    for (const auto& [key, val] : cats.items()) {
      std::size_t i = 0;
      const auto r = std::from_chars(key.data(), key.data() + key.size(), i);
      if (r.ec != std::errc{} || r.ptr != key.data() + key.size()) {
        raise<parse_error>("tree_ensemble", "{}.categories: key '{:.48}' is not a node index", ctx,
                           key);
      }
      if (i >= n)
        raise<parse_error>("tree_ensemble", "{}.categories: node {} out of range", ctx, i);
      tr.nodes[i].categorical = true;
      tr.nodes[i].categories = json_get<std::vector<std::uint32_t>>(cats, key, ctx + ".categories");
    }
    if (t.contains("linear")) {
      const auto& lin = t["linear"];
      if (!lin.is_array() || lin.size() != n) {
        raise<parse_error>("tree_ensemble", "{}.linear: expected {} entries", ctx, n);
      }
      for (std::size_t i = 0; i < n; ++i) {
        linear_leaf l;
        l.constant = json_get<double>(lin[i], "constant", ctx + ".linear");
        l.features = json_get<std::vector<std::int32_t>>(lin[i], "features", ctx + ".linear");
        l.coeffs = json_get<std::vector<double>>(lin[i], "coeffs", ctx + ".linear");
        tr.linear.push_back(std::move(l));
      }
    }
    trees.push_back(std::move(tr));
  }
  return tree_ensemble(std::move(p), std::move(trees));
}

void tree_ensemble::save(const std::filesystem::path& path) const {
  save_json_file(path, to_json(), -1);
}

tree_ensemble tree_ensemble::load(const std::filesystem::path& path) {
  return from_json(load_json_file(path));
}

}  // namespace funnel::scoring
