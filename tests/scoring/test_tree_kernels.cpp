// The batch kernels of tree_ensemble (AVX-512 or AVX2 perfect-tree walk where the CPU has it, the
// interleaved scalar walk elsewhere and for trees the kernel does not take) against the reference
// walk on the source nodes, on random models built to hit every edge of the decision rule. Each
// model is checked under every kernel this CPU runs (forced with FUNNEL_TREES_KERNEL).
#include <funnel/core/random.hpp>
#include <funnel/scoring/tree_ensemble.hpp>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "funnel_catch.hpp"

using namespace funnel::scoring;

namespace {

constexpr std::size_t num_features = 13;
constexpr float inf_f = std::numeric_limits<float>::infinity();

// A value on the grid k / 4 (k in -8..8) or -0.0: thresholds and row values share the grid so
// rows land exactly on thresholds.
double grid(funnel::rng& r) {
  if (r.bernoulli(0.05)) return -0.0;
  return static_cast<double>(static_cast<int>(r.below(17)) - 8) / 4.0;
}

struct model_spec {
  split_rule rule = split_rule::less;
  accumulation sum = accumulation::float32;
  std::size_t groups = 1;
  std::size_t trees = 42;  // a multiple of 1 and 3 groups (average_output needs it)
  int max_depth = 10;      // > 8: some trees stay on the scalar path
  bool categorical = false;
  bool zero_missing = false;
  bool average = false;
};

tree random_tree(funnel::rng& r, const model_spec& s, std::int32_t group) {
  tree t = tree::leaf_only(r.uniform(-1, 1), 1.0, group);
  // Irregular shapes: each node splits with a probability, so leaves sit at every level and the
  // perfect-tree copy has to pad them.
  const int depth = static_cast<int>(r.below(static_cast<std::uint64_t>(s.max_depth) + 1));
  std::vector<std::pair<std::int32_t, int>> open{{0, 0}};
  while (!open.empty()) {
    const auto [node, d] = open.back();
    open.pop_back();
    if (d >= depth || (d > 0 && r.bernoulli(0.2))) continue;
    const auto feature = static_cast<std::int32_t>(r.below(num_features));
    const bool dl = r.bernoulli(0.5);
    std::pair<std::int32_t, std::int32_t> kids;
    if (s.categorical && r.bernoulli(0.03)) {
      kids = t.expand_categorical(node, feature, {0, 1, 3}, dl, r.uniform(-1, 1), r.uniform(-1, 1),
                                  1.0, 1.0, 1.0);
    } else {
      double thr = grid(r);
      if (r.bernoulli(0.03)) thr = r.bernoulli(0.5) ? HUGE_VAL : -HUGE_VAL;
      // LightGBM thresholds are doubles: one between two floats tests the float conversion.
      if (s.rule == split_rule::less_equal && r.bernoulli(0.3)) thr += 1e-9;
      kids = t.expand(node, feature, thr, dl, r.uniform(-1, 1), r.uniform(-1, 1), 1.0, 1.0, 1.0);
      if (s.zero_missing && r.bernoulli(0.03)) {
        t.nodes[static_cast<std::size_t>(node)].zero_is_missing = true;
      }
    }
    open.emplace_back(kids.first, d + 1);
    open.emplace_back(kids.second, d + 1);
  }
  return t;
}

tree_ensemble random_model(std::uint64_t seed, const model_spec& s) {
  funnel::rng r(seed);
  ensemble_header p;
  p.num_features = num_features;
  p.num_groups = s.groups;
  p.base_margin.assign(s.groups, 0.0);
  for (auto& b : p.base_margin) b = r.uniform(-0.5, 0.5);
  p.rule = s.rule;
  p.sum = s.sum;
  p.average_output = s.average;
  std::vector<tree> trees;
  for (std::size_t t = 0; t < s.trees; ++t) {
    trees.push_back(random_tree(r, s, static_cast<std::int32_t>(t % s.groups)));
  }
  return tree_ensemble(p, std::move(trees));
}

// Rows with NaN (missing), +-inf, -0.0 and values exactly on the thresholds, `stride` apart.
std::vector<float> random_rows(std::uint64_t seed, std::size_t rows, std::size_t stride) {
  funnel::rng r(seed);
  std::vector<float> x(rows * stride, 12345.0F);  // padding columns are never read
  for (std::size_t i = 0; i < rows; ++i) {
    for (std::size_t j = 0; j < num_features; ++j) {
      const double u = r.uniform();
      float v = 0;
      if (u < 0.15) {
        v = std::numeric_limits<float>::quiet_NaN();
      } else if (u < 0.18) {
        v = r.bernoulli(0.5) ? inf_f : -inf_f;
      } else if (u < 0.6) {
        v = static_cast<float>(grid(r));
      } else if (u < 0.65) {
        v = r.bernoulli(0.5) ? 1e-36F : -1e-36F;  // inside LightGBM's zero band
      } else {
        v = static_cast<float>(r.uniform(-2.5, 2.5));
      }
      x[i * stride + j] = v;
    }
  }
  return x;
}

bool same_bits(float a, float b) {
  return std::memcmp(&a, &b, sizeof a) == 0;
}

// The rows of `x` (n x num_features) as CSR, leaving out the entries whose bits equal `absent`'s
// (NaN: every NaN), then margins_batch of the CSR against the dense margins `dense`.
void check_sparse_equals_dense(const tree_ensemble& m, const std::vector<float>& x, std::size_t n,
                               const std::vector<float>& dense) {
  for (const float absent : {std::numeric_limits<float>::quiet_NaN(), 0.0F}) {
    INFO("absent " << absent);
    funnel::csr_matrix csr;
    csr.cols = num_features - 2;  // narrower than the model: the last features are absent
    std::vector<float> filled(x.size(), absent);
    for (std::size_t i = 0; i < n; ++i) {
      for (std::size_t j = 0; j < csr.cols; ++j) {
        const float v = x[i * num_features + j];
        if (std::isnan(absent) ? std::isnan(v) : same_bits(v, absent)) continue;
        csr.indices.push_back(static_cast<std::uint32_t>(j));
        csr.values.push_back(v);
        filled[i * num_features + j] = v;
      }
      csr.row_ptr.push_back(csr.values.size());
    }
    const auto g = m.num_groups();
    std::vector<float> want(n * g);
    m.margins_batch(funnel::matrix_view(filled.data(), n, num_features), want);
    if (std::isnan(absent)) {  // no columns dropped: the CSR holds every non-missing value
      csr.cols = num_features;
      csr.indices.clear(), csr.values.clear(), csr.row_ptr.assign(1, 0);
      for (std::size_t i = 0; i < n; ++i) {
        for (std::size_t j = 0; j < num_features; ++j) {
          if (std::isnan(x[i * num_features + j])) continue;
          csr.indices.push_back(static_cast<std::uint32_t>(j));
          csr.values.push_back(x[i * num_features + j]);
        }
        csr.row_ptr.push_back(csr.values.size());
      }
      want = dense;
    }
    for (const unsigned threads : {1U, 3U}) {
      std::vector<float> got(n * g);
      m.margins_batch(csr, got, absent, threads);
      for (std::size_t k = 0; k < got.size(); ++k) REQUIRE(same_bits(got[k], want[k]));
    }
  }
}

void check_batch_equals_reference(const tree_ensemble& m, std::uint64_t seed) {
  const auto g = m.num_groups();
  for (const std::size_t n : {1U, 15U, 16U, 17U, 203U}) {
    for (const std::size_t stride : {num_features, num_features + 3}) {
      INFO("rows " << n << " stride " << stride);
      const auto x = random_rows(seed * 31 + n + stride, n, stride);
      const funnel::matrix_view view(x.data(), n, num_features, stride);
      std::vector<float> batch(n * g);
      m.margins_batch(view, batch);
      std::vector<float> threaded(n * g);
      m.margins_batch(view, threaded, 3);
      std::vector<float> first(n);
      m.score_batch(view, first);
      std::vector<float> ref(g);
      std::vector<float> one(g);
      for (std::size_t i = 0; i < n; ++i) {
        m.margins_reference(view.row(i), ref);
        m.margins(view.row(i), one);
        for (std::size_t k = 0; k < g; ++k) {
          INFO("row " << i << " group " << k << " reference " << ref[k] << " batch "
                      << batch[i * g + k]);
          REQUIRE(same_bits(batch[i * g + k], ref[k]));
          REQUIRE(same_bits(threaded[i * g + k], ref[k]));
          REQUIRE(same_bits(one[k], ref[k]));
        }
        REQUIRE(same_bits(first[i], ref[0]));
      }
      if (stride == num_features) check_sparse_equals_dense(m, x, n, batch);
    }
  }
}

// Sets FUNNEL_TREES_KERNEL for the models built in its scope (the kernel is picked when a model
// is compiled) and restores the caller's value.
class kernel_env {
 public:
  explicit kernel_env(const char* value) {
    if (const char* e = std::getenv("FUNNEL_TREES_KERNEL")) saved_ = e;
    had_ = std::getenv("FUNNEL_TREES_KERNEL") != nullptr;
    ::setenv("FUNNEL_TREES_KERNEL", value, 1);
  }
  kernel_env(const kernel_env&) = delete;
  kernel_env& operator=(const kernel_env&) = delete;
  ~kernel_env() {
    if (had_) {
      ::setenv("FUNNEL_TREES_KERNEL", saved_.c_str(), 1);
    } else {
      ::unsetenv("FUNNEL_TREES_KERNEL");
    }
  }

 private:
  std::string saved_;
  bool had_ = false;
};

struct kernel_choice {
  const char* env;   // FUNNEL_TREES_KERNEL value
  const char* name;  // batch_kernel() of a model with at least one tree the kernel takes
};

// Every batch kernel this CPU runs: the portable walk always, AVX2 and AVX-512 where supported.
std::vector<kernel_choice> supported_kernels() {
  std::vector<kernel_choice> k{{"portable", "interleaved-16"}};
#if (defined(__GNUC__) || defined(__clang__)) && defined(__x86_64__)
  // The instruction-set tables' requirements (src/simd/isa.hpp).
  if (__builtin_cpu_supports("avx2") != 0 && __builtin_cpu_supports("fma") != 0) {
    k.push_back({"avx2", "avx2-perfect-trees"});
  }
  if (__builtin_cpu_supports("avx512f") != 0 && __builtin_cpu_supports("avx512bw") != 0) {
    k.push_back({"avx512", "avx512-perfect-trees"});
  }
#endif
  return k;
}

// The model built from (model_seed, s) under every supported kernel against the reference walk.
void check_every_kernel(std::uint64_t model_seed, const model_spec& s, std::uint64_t row_seed) {
  for (const auto& k : supported_kernels()) {
    INFO("kernel " << k.env);
    const kernel_env env(k.env);
    const auto m = random_model(model_seed, s);
    CHECK(std::string(m.batch_kernel()) == k.name);
    check_batch_equals_reference(m, row_seed);
  }
}

}  // namespace

TEST_CASE("tree kernels: XGBoost-rule batch margins equal the reference walk bit for bit") {
  // float32 sums in tree order, x < threshold, NaN default left/right, thresholds at row values
  // and at +-inf, trees of depth 0..10 (the kernel takes <= 8) with leaves at every level.
  for (std::uint64_t seed = 1; seed <= 6; ++seed) {
    model_spec s;
    s.groups = seed % 2 == 0 ? 3 : 1;
    s.categorical = seed >= 5;
    INFO("seed " << seed);
    check_every_kernel(seed, s, seed);
  }
}

TEST_CASE("tree kernels: LightGBM-rule batch margins equal the reference walk bit for bit") {
  // double(x) <= threshold with thresholds between floats, float64 sums, zero-as-missing and
  // categorical nodes (those trees take the scalar path), random-forest averaging.
  for (std::uint64_t seed = 11; seed <= 16; ++seed) {
    model_spec s;
    s.rule = split_rule::less_equal;
    s.sum = accumulation::float64;
    s.groups = seed % 2 == 0 ? 3 : 1;
    s.categorical = seed >= 14;
    s.zero_missing = seed >= 13;
    s.average = seed == 12 || seed == 15;
    INFO("seed " << seed);
    check_every_kernel(seed, s, seed);
  }
}

TEST_CASE("tree kernels: shallow complete models (every tree in the SIMD kernel) match exactly") {
  for (const int depth : {0, 1, 4, 5, 6, 7, 8}) {
    model_spec s;
    s.max_depth = depth;
    s.trees = 25;
    INFO("depth " << depth);
    check_every_kernel(100 + static_cast<std::uint64_t>(depth), s, 7);
    s.rule = split_rule::less_equal;
    s.sum = accumulation::float64;
    check_every_kernel(200 + static_cast<std::uint64_t>(depth), s, 8);
  }
}

TEST_CASE(
    "tree kernels: the widest kernel the CPU runs is used unless FUNNEL_TREES_KERNEL picks "
    "another") {
  const auto m = random_model(3, model_spec{});
  bool avx512 = false;
  bool avx2 = false;
#if (defined(__GNUC__) || defined(__clang__)) && defined(__x86_64__)
  avx512 = __builtin_cpu_supports("avx512f") != 0 && __builtin_cpu_supports("avx512bw") != 0;
  avx2 = __builtin_cpu_supports("avx2") != 0 && __builtin_cpu_supports("fma") != 0;
#endif
  const char* e = std::getenv("FUNNEL_TREES_KERNEL");
  const std::string want = e != nullptr ? e : "";
  if (want == "portable") {
    avx512 = false;  // the operations switch keeps the portable walk
    avx2 = false;
  } else if (want == "avx2") {
    avx512 = false;  // forced down to the AVX2 kernel
  }
  const char* expected = avx512 ? "avx512-perfect-trees"
                         : avx2 ? "avx2-perfect-trees"
                                : "interleaved-16";
  CHECK(std::string(m.batch_kernel()) == expected);
  // A model with no tree the kernel can take (all deeper than 8) stays on the portable walk.
  tree t = tree::leaf_only(0.5);
  std::int32_t node = 0;
  for (int d = 0; d < 9; ++d) node = t.expand(node, d % 13, 0.0, true, 1, 2, 1, 1, 1).first;
  ensemble_header p;
  p.num_features = num_features;
  const tree_ensemble only_deep(p, {t});
  CHECK(std::string(only_deep.batch_kernel()) == "interleaved-16");
}
