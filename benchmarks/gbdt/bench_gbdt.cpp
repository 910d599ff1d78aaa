// GBDT training accuracy and speed: funnel vs XGBoost 1.7 `hist`, same data and parameters, one
// process, single thread each unless said. Times are process CPU time, the median over several
// timing rounds (in each round both contenders train once, in alternating order); the ratio is
// the median of the per-round ratios. The thread table uses wall time.
//
//   bench_gbdt [shared-data-dir] [small|quick|full] [timing-rounds]   (default ../shared/data full)
//     small: the small-data table only (a few thousand rows, 13-301 columns, and CSR inputs:
//     agaricus and lending_club hashed into 16,384 indicator columns)
//     quick: small + synthetic 100k x 50 (200 x d6) + the thread table; full: also 500 x d8
//     threads: the thread table alone, `timing-rounds` rounds; a 4th argument picks its rows:
//     all (default), no-d8 (synthetic d6 and rank), d6, d8 or rank (one row: a locked timed run
//     stays short)
//   bench_gbdt [shared-data-dir] profile <data set|synthetic> [repeats] [threads]   funnel
//     alone, for perf record
#include <funnel/core.hpp>
#include <funnel/core/libsvm.hpp>
#include <funnel/metrics/classification.hpp>
#include <funnel/metrics/ranking.hpp>
#include <funnel/scoring/gbdt.hpp>
#include <funnel/scoring/xgboost.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <xgboost/c_api.h>

using namespace funnel;
using namespace funnel::scoring;

namespace {

#define XGB(call)                                                          \
  do {                                                                     \
    if ((call) != 0) {                                                     \
      std::fprintf(stderr, "xgboost: %s: %s\n", #call, XGBGetLastError()); \
      std::exit(1);                                                        \
    }                                                                      \
  } while (0)

struct split_data {
  matrix xtr, xte;
  csr_matrix str, ste;  // sparse data: both contenders train on CSR (xtr, xte empty)
  std::vector<float> ytr, yte;
  std::vector<std::size_t> gtr, gte;  // query groups (ranking)
};

struct run_result {
  double seconds = 0;  // process CPU time, or wall time when `wall`
  std::vector<double> test_pred;
  std::optional<tree_ensemble> model;  // when asked for (not timed)
};

double process_cpu_s() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

/// Process CPU time or wall time of one call.
class timing {
 public:
  explicit timing(bool wall) : wall_(wall) {}
  [[nodiscard]] double seconds() const { return wall_ ? w_.elapsed_s() : process_cpu_s() - cpu0_; }

 private:
  bool wall_;
  stopwatch w_;
  double cpu0_ = process_cpu_s();
};

using xgb_params = std::map<std::string, std::string>;

run_result run_xgboost(const split_data& d, const xgb_params& params, std::size_t rounds,
                       bool wall = false, bool keep_model = false) {
  DMatrixHandle tr = nullptr;
  DMatrixHandle te = nullptr;
  if (d.str.rows() > 0) {
    const auto from_csr = [](const csr_matrix& m, DMatrixHandle* out) {
      XGB(XGDMatrixCreateFromCSREx(m.row_ptr.data(), m.indices.data(), m.values.data(),
                                   m.row_ptr.size(), m.values.size(), m.cols, out));
    };
    from_csr(d.str, &tr);
    from_csr(d.ste, &te);
  } else {
    XGB(XGDMatrixCreateFromMat(d.xtr.data(), d.xtr.rows(), d.xtr.cols(), std::nanf(""), &tr));
    XGB(XGDMatrixCreateFromMat(d.xte.data(), d.xte.rows(), d.xte.cols(), std::nanf(""), &te));
  }
  XGB(XGDMatrixSetFloatInfo(tr, "label", d.ytr.data(), d.ytr.size()));
  if (!d.gtr.empty()) {
    std::vector<unsigned> g(d.gtr.begin(), d.gtr.end());
    XGB(XGDMatrixSetUIntInfo(tr, "group", g.data(), g.size()));
  }
  BoosterHandle b = nullptr;
  XGB(XGBoosterCreate(&tr, 1, &b));
  for (const auto& [k, v] : params) XGB(XGBoosterSetParam(b, k.c_str(), v.c_str()));
  const timing t(wall);
  for (std::size_t i = 0; i < rounds; ++i) XGB(XGBoosterUpdateOneIter(b, static_cast<int>(i), tr));
  run_result r;
  r.seconds = t.seconds();
  bst_ulong len = 0;
  const float* out = nullptr;
  XGB(XGBoosterPredict(b, te, 0, 0, 0, &len, &out));
  r.test_pred.assign(out, out + len);
  if (keep_model) {
    bst_ulong size = 0;
    const char* text = nullptr;
    XGB(XGBoosterSaveModelToBuffer(b, R"({"format": "json"})", &size, &text));
    r.model = parse_xgboost_json(std::string_view(text, size));
  }
  XGBoosterFree(b);
  XGDMatrixFree(tr);
  XGDMatrixFree(te);
  return r;
}

run_result run_funnel(const split_data& d, const gbdt_options& o, bool wall = false,
                      bool keep_model = false) {
  const timing t(wall);
  gbdt_data train{d.xtr, d.ytr, {}, d.gtr};
  if (d.str.rows() > 0) train.sparse_features = &d.str;
  auto res = fit_gbdt(train, o);
  run_result r;
  r.seconds = t.seconds();
  if (keep_model) r.model = res.model;
  if (d.str.rows() > 0) {  // one test row at a time, expanded (NaN = absent)
    std::vector<float> row(d.ste.cols, std::nanf(""));
    for (std::size_t i = 0; i < d.ste.rows(); ++i) {
      const auto s = d.ste.row(i);
      for (std::size_t k = 0; k < s.indices.size(); ++k) row[s.indices[k]] = s.values[k];
      r.test_pred.push_back(res.model.predict(row));
      for (const auto f : s.indices) row[f] = std::nanf("");
    }
    return r;
  }
  std::vector<float> p(d.xte.rows() * res.model.num_groups());
  res.model.predict_batch(d.xte, p);
  r.test_pred.assign(p.begin(), p.end());
  return r;
}

double auc(const std::vector<float>& y, const std::vector<double>& p) {
  const std::vector<float> scores(p.begin(), p.end());  // the models' float outputs
  return metrics::roc_auc(y, scores);
}

double rmse(const std::vector<float>& y, const std::vector<double>& p) {
  double s = 0;
  for (std::size_t i = 0; i < y.size(); ++i) s += (p[i] - y[i]) * (p[i] - y[i]);
  return std::sqrt(s / static_cast<double>(y.size()));
}

double mean_ndcg(const std::vector<float>& y, const std::vector<double>& p,
                 const std::vector<std::size_t>& groups, std::size_t k) {
  metrics::ndcg_options opt;
  opt.gain = metrics::ndcg_gain::exponential;
  opt.empty_query_value = 1.0;
  double sum = 0;
  std::size_t begin = 0;
  const std::vector<float> scores(p.begin(), p.end());  // the models' float outputs
  for (const auto g : groups) {
    sum += metrics::ndcg_at(std::span<const float>(y).subspan(begin, g),
                            std::span<const float>(scores).subspan(begin, g), k, opt);
    begin += g;
  }
  return sum / static_cast<double>(groups.size());
}

/// Random 80/20 split of a dense matrix.
split_data split(const matrix& x, const std::vector<float>& y, std::uint64_t seed) {
  split_data d;
  rng r(seed);
  for (std::size_t i = 0; i < x.rows(); ++i) {
    if (r.uniform() < 0.8) {
      d.xtr.push_row(x.row(i));
      d.ytr.push_back(y[i]);
    } else {
      d.xte.push_row(x.row(i));
      d.yte.push_back(y[i]);
    }
  }
  return d;
}

split_data synthetic(std::size_t n, std::size_t cols, std::uint64_t seed) {
  rng r(seed);
  matrix x(n, cols);
  std::vector<float> y(n);
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = 0; j < cols; ++j) x(i, j) = static_cast<float>(r.normal());
    const double z = 1.5 * x(i, 0) - x(i, 1) * x(i, 2) + std::sin(3.0 * x(i, 3)) +
                     0.5 * (x(i, 4) > 0.5 ? 1 : 0) + 0.3 * x(i, 5) * x(i, 5) - 0.3;
    y[i] = r.uniform() < 1.0 / (1.0 + std::exp(-z)) ? 1.0F : 0.0F;
    if (r.uniform() < 0.05) x(i, 1) = std::nanf("");
  }
  return split(x, y, seed + 1);
}

/// A CSV as features (numeric columns as they are, text columns as ordinal codes in order of
/// first appearance, missing = NaN) and a target from `label_of`; `drop` columns are left out.
split_data csv_data(const std::string& path, const std::string& target,
                    const std::vector<std::string>& drop,
                    const std::function<float(const std::string&)>& label_of) {
  const auto t = read_csv(path);
  const std::size_t tc = t.column_index(target);
  std::vector<std::size_t> keep;
  for (std::size_t c = 0; c < t.cols(); ++c) {
    if (c != tc && std::find(drop.begin(), drop.end(), t.columns()[c]) == drop.end())
      keep.push_back(c);
  }
  matrix x(t.rows(), keep.size());
  for (std::size_t j = 0; j < keep.size(); ++j) {
    const std::size_t c = keep[j];
    try {
      const auto v = t.numeric(c);
      for (std::size_t i = 0; i < t.rows(); ++i) x(i, j) = static_cast<float>(v[i]);
    } catch (const parse_error&) {
      std::map<std::string, float> codes;
      const auto s = t.strings(c);
      for (std::size_t i = 0; i < t.rows(); ++i) {
        x(i, j) = t.is_missing(i, c)
                      ? std::nanf("")
                      : codes.try_emplace(s[i], static_cast<float>(codes.size())).first->second;
      }
    }
  }
  std::vector<float> y(t.rows());
  const auto ys = t.strings(tc);
  for (std::size_t i = 0; i < t.rows(); ++i) y[i] = label_of(ys[i]);
  return split(x, y, 7);
}

split_data lending_club(const std::string& dir) {
  return csv_data(dir + "/lending_club.csv", "Class", {},
                  [](const std::string& s) { return s == "bad" ? 1.0F : 0.0F; });
}

split_data credit_data(const std::string& dir) {
  return csv_data(dir + "/credit_data.csv", "Status", {},
                  [](const std::string& s) { return s == "bad" ? 1.0F : 0.0F; });
}

split_data chicago(const std::string& dir) {
  return csv_data(dir + "/chicago.csv", "ridership", {"date"},
                  [](const std::string& s) { return std::stof(s); });
}

split_data agaricus(const std::string& dir) {
  split_data d;
  const auto tr = read_libsvm(dir + "/xgboost/agaricus.txt.train");
  libsvm_options o;
  o.min_cols = tr.features.cols;
  const auto te = read_libsvm(dir + "/xgboost/agaricus.txt.test", o);
  d.xtr = tr.features.to_dense(std::nanf(""));
  d.xte = te.features.to_dense(std::nanf(""));
  d.ytr = tr.labels;
  d.yte = te.labels;
  return d;
}

split_data agaricus_csr(const std::string& dir) {
  split_data d;
  auto tr = read_libsvm(dir + "/xgboost/agaricus.txt.train");
  libsvm_options o;
  o.min_cols = tr.features.cols;
  auto te = read_libsvm(dir + "/xgboost/agaricus.txt.test", o);
  d.str = std::move(tr.features);
  d.ste = std::move(te.features);
  d.ytr = tr.labels;
  d.yte = te.labels;
  return d;
}

/// lending_club as hashed indicator features (libsvm-like CSR): each cell becomes the token
/// "column=value" (numbers to 2 significant digits), hashed (FNV-1a) into 2^14 columns.
split_data hashed_lending_club(const std::string& dir) {
  constexpr std::uint32_t width = 1U << 14;
  const auto t = read_csv(dir + "/lending_club.csv");
  const std::size_t target = t.column_index("Class");
  const auto cls = t.strings(target);
  split_data d;
  d.str.cols = d.ste.cols = width;
  rng r(7);
  for (std::size_t i = 0; i < t.rows(); ++i) {
    std::vector<std::uint32_t> idx;
    for (std::size_t c = 0; c < t.cols(); ++c) {
      if (c == target || t.is_missing(i, c)) continue;
      std::string token = t.columns()[c] + "=";
      const std::string cell(t.cell(i, c));
      char* end = nullptr;
      const double v = std::strtod(cell.c_str(), &end);
      if (end != cell.c_str() && *end == '\0') {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.2g", v);
        token += buf;
      } else {
        token += cell;
      }
      std::uint32_t h = 2166136261U;
      for (const char ch : token) h = (h ^ static_cast<unsigned char>(ch)) * 16777619U;
      idx.push_back(h % width);
    }
    std::sort(idx.begin(), idx.end());
    idx.erase(std::unique(idx.begin(), idx.end()), idx.end());
    const bool train = r.uniform() < 0.8;
    auto& m = train ? d.str : d.ste;
    m.indices.insert(m.indices.end(), idx.begin(), idx.end());
    m.values.insert(m.values.end(), idx.size(), 1.0F);
    m.row_ptr.push_back(m.indices.size());
    (train ? d.ytr : d.yte).push_back(cls[i] == "bad" ? 1.0F : 0.0F);
  }
  return d;
}

std::vector<std::size_t> read_groups(const std::string& path) {
  std::vector<std::size_t> g;
  const auto t = parse_csv(read_file(path), path, {.delimiter = ',', .header = false});
  for (const auto v : t.numeric(0)) g.push_back(static_cast<std::size_t>(v));
  return g;
}

split_data rank_data(const std::string& dir) {
  split_data d;
  const auto base = dir + "/lightgbm/source-data/";
  const auto tr = read_libsvm(base + "rank.train");
  libsvm_options o;
  o.min_cols = tr.features.cols;
  const auto te = read_libsvm(base + "rank.test", o);
  d.xtr = tr.features.to_dense(std::nanf(""));
  d.xte = te.features.to_dense(std::nanf(""));
  d.ytr = tr.labels;
  d.yte = te.labels;
  d.gtr = read_groups(base + "rank.train.query");
  d.gte = read_groups(base + "rank.test.query");
  return d;
}

/// A LightGBM example file (tab-separated, the label first, no header) as features and labels.
void read_lightgbm_tsv(const std::string& path, matrix& x, std::vector<float>& y) {
  const auto t = parse_csv(read_file(path), path, {.delimiter = '\t', .header = false});
  x = matrix(t.rows(), t.cols() - 1);
  y = std::vector<float>(t.rows());
  const auto label = t.numeric(0);
  for (std::size_t i = 0; i < t.rows(); ++i) y[i] = static_cast<float>(label[i]);
  for (std::size_t c = 1; c < t.cols(); ++c) {
    const auto v = t.numeric(c);
    for (std::size_t i = 0; i < t.rows(); ++i) x(i, c - 1) = static_cast<float>(v[i]);
  }
}

/// LightGBM's binary example (7,000 x 28 dense numeric features, its own test file).
split_data lightgbm_binary(const std::string& dir) {
  split_data d;
  const auto base = dir + "/lightgbm/source-data/";
  read_lightgbm_tsv(base + "binary.train", d.xtr, d.ytr);
  read_lightgbm_tsv(base + "binary.test", d.xte, d.yte);
  return d;
}

/// One benchmark case: the data, both contenders' parameters and the test metric.
struct bench_case {
  std::string name;
  std::function<split_data()> load;
  xgb_params xgb;
  gbdt_options funnel;
  std::string metric;  // auc, rmse or ndcg@10
};

xgb_params xgboost_params(const char* objective, std::size_t depth, double eta) {
  return {{"tree_method", "hist"},
          {"objective", objective},
          {"max_depth", std::to_string(depth)},
          {"eta", std::to_string(eta)},
          {"max_bin", "256"},
          {"lambda", "1"},
          {"nthread", "1"},
          {"base_score", "0.5"},
          {"verbosity", "0"}};
}

gbdt_options funnel_params(gbdt_objective objective, std::size_t depth, double eta,
                           std::size_t rounds) {
  gbdt_options o;
  o.objective = objective;
  o.max_depth = depth;
  o.learning_rate = eta;
  o.rounds = rounds;
  o.max_bins = 256;
  o.lambda = 1.0;
  o.threads = 1;
  o.base_score = 0.5;
  return o;
}

bench_case binary_case(std::string name, std::function<split_data()> load, std::size_t rounds,
                       std::size_t depth, double eta) {
  return {std::move(name), std::move(load), xgboost_params("binary:logistic", depth, eta),
          funnel_params(gbdt_objective::binary_logistic, depth, eta, rounds), "auc"};
}

/// Regression from the training mean (both contenders), so 100 rounds need not walk from 0.5.
bench_case regression_case(std::string name, const split_data& d, std::size_t rounds,
                           std::size_t depth, double eta) {
  double mean = 0;
  for (const float y : d.ytr) mean += y;
  mean /= static_cast<double>(d.ytr.size());
  bench_case c{std::move(name), [d] { return d; }, xgboost_params("reg:squarederror", depth, eta),
               funnel_params(gbdt_objective::squared_error, depth, eta, rounds), "rmse"};
  c.xgb["base_score"] = std::to_string(mean);
  c.funnel.base_score = std::stod(c.xgb["base_score"]);
  return c;
}

/// XGBoost rank:ndcg depth 6 against funnel lambdarank with LightGBM's setting (31 leaves,
/// lossguide, no depth limit): the configuration of LightGBM's recorded result.
bench_case rank_case(const std::string& dir, std::size_t rounds) {
  auto fo = funnel_params(gbdt_objective::lambdarank, 0, 0.1, rounds);
  fo.base_score.reset();
  fo.growth = growth_policy::lossguide;
  fo.max_leaves = 31;
  fo.min_child_weight = 1e-3;
  auto xo = xgboost_params("rank:ndcg", 6, 0.1);
  xo.erase("lambda");
  xo.erase("base_score");
  return {"LightGBM rank (lambdarank)", [dir] { return rank_data(dir); }, xo, fo, "ndcg@10"};
}

double test_metric(const bench_case& c, const split_data& d, const std::vector<double>& p) {
  if (c.metric == "rmse") return rmse(d.yte, p);
  if (c.metric == "ndcg@10") return mean_ndcg(d.yte, p, d.gte, 10);
  return auc(d.yte, p);
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t m = v.size() / 2;
  return v.size() % 2 == 1 ? v[m] : 0.5 * (v[m - 1] + v[m]);
}

/// Whether the subtrees at node `i` of `a` and node `j` of `b` split alike: the same shape, and
/// at each split the same feature and float threshold (leaf values are not compared).
bool same_splits(const tree& a, std::int32_t i, const tree& b, std::int32_t j) {
  const auto& x = a.nodes[static_cast<std::size_t>(i)];
  const auto& y = b.nodes[static_cast<std::size_t>(j)];
  if (x.is_leaf() || y.is_leaf()) return x.is_leaf() && y.is_leaf();
  return x.feature == y.feature &&
         static_cast<float>(x.threshold) == static_cast<float>(y.threshold) &&
         same_splits(a, x.left, b, y.left) && same_splits(a, x.right, b, y.right);
}

/// How many of the first trees split alike in both models, up to the first that does not
/// (stderr: where it differs).
std::size_t trees_alike(const std::string& name, const tree_ensemble& x, const tree_ensemble& f) {
  const std::size_t n = std::min(x.num_trees(), f.num_trees());
  std::size_t k = 0;
  while (k < n && same_splits(x.trees()[k], 0, f.trees()[k], 0)) ++k;
  if (k == n) return k;
  // The first node that differs, breadth first from the roots.
  const tree& ta = x.trees()[k];
  const tree& tb = f.trees()[k];
  std::vector<std::pair<std::int32_t, std::int32_t>> queue{{0, 0}};
  for (std::size_t q = 0; q < queue.size(); ++q) {
    const auto& a = ta.nodes[static_cast<std::size_t>(queue[q].first)];
    const auto& b = tb.nodes[static_cast<std::size_t>(queue[q].second)];
    if (a.is_leaf() && b.is_leaf()) continue;
    if (a.is_leaf() || b.is_leaf() || a.feature != b.feature ||
        static_cast<float>(a.threshold) != static_cast<float>(b.threshold)) {
      std::fprintf(stderr,
                   "%s: tree %zu differs at depth-first pair %zu: XGBoost %s f%d < %.9g (gain "
                   "%.6g, cover %.6g), funnel %s f%d < %.9g (gain %.6g, cover %.6g)\n",
                   name.c_str(), k, q, a.is_leaf() ? "leaf" : "split", a.feature, a.threshold,
                   a.gain, a.cover, b.is_leaf() ? "leaf" : "split", b.feature, b.threshold, b.gain,
                   b.cover);
      break;
    }
    queue.emplace_back(a.left, b.left);
    queue.emplace_back(a.right, b.right);
  }
  return k;
}

/// Times both contenders `reps` times, alternating which goes first; prints one table row.
void compare_row(const bench_case& c, std::size_t reps) {
  const split_data d = c.load();
  const std::size_t rounds = c.funnel.rounds;
  std::vector<double> tx, tf, ratio;
  double mx = 0;
  double mf = 0;
  std::size_t alike = 0;
  for (std::size_t r = 0; r < reps; ++r) {
    run_result x;
    run_result f;
    if (r % 2 == 0) {
      x = run_xgboost(d, c.xgb, rounds, false, r == 0);
      f = run_funnel(d, c.funnel, false, r == 0);
    } else {
      f = run_funnel(d, c.funnel);
      x = run_xgboost(d, c.xgb, rounds);
    }
    if (r == 0) alike = trees_alike(c.name, *x.model, *f.model);
    tx.push_back(x.seconds);
    tf.push_back(f.seconds);
    ratio.push_back(f.seconds / x.seconds);
    mx = test_metric(c, d, x.test_pred);
    mf = test_metric(c, d, f.test_pred);
  }
  const bool csr = d.str.rows() > 0;
  std::printf(
      "| %-34s | %zu x %zu | %s | %.4f | %.4f | %+.4f | %zu / %zu | %.3f s | %.3f s | **%.2f** |\n",
      c.name.c_str(), csr ? d.str.rows() : d.xtr.rows(), csr ? d.str.cols : d.xtr.cols(),
      c.metric.c_str(), mx, mf, mf - mx, alike, rounds, median(tx), median(tf), median(ratio));
  std::fflush(stdout);
}

void table_header() {
  std::printf(
      "| data (rounds x depth) | train rows x cols | metric | XGBoost | funnel | diff | trees "
      "alike | XGBoost CPU | funnel CPU | funnel / XGBoost |\n|---|---|---|---|---|---|---|---|"
      "---|---|\n");
}

std::vector<bench_case> small_cases(const std::string& dir) {
  std::vector<bench_case> cases;
  cases.push_back(binary_case(
      "agaricus (20 x d6)", [dir] { return agaricus(dir); }, 20, 6, 0.3));
  cases.push_back(binary_case(
      "agaricus CSR (20 x d6)", [dir] { return agaricus_csr(dir); }, 20, 6, 0.3));
  cases.push_back(binary_case(
      "lending_club hashed 2^14 CSR (100 x d6)", [dir] { return hashed_lending_club(dir); }, 100, 6,
      0.1));
  cases.push_back(binary_case(
      "lending_club (100 x d6)", [dir] { return lending_club(dir); }, 100, 6, 0.1));
  cases.push_back(binary_case(
      "credit_data (100 x d6)", [dir] { return credit_data(dir); }, 100, 6, 0.1));
  cases.push_back(regression_case("chicago ridership (100 x d6)", chicago(dir), 100, 6, 0.1));
  cases.push_back(binary_case(
      "LightGBM binary (100 x d6)", [dir] { return lightgbm_binary(dir); }, 100, 6, 0.1));
  // Thousands of rows of ~60 dense numeric features, every value distinct (255 cuts each).
  cases.push_back(binary_case(
      "synthetic 5k x 60 (100 x d6)", [] { return synthetic(6250, 60, 11); }, 100, 6, 0.1));
  cases.push_back(rank_case(dir, 50));
  return cases;
}

/// The most CPU time XGBoost's threads spent after one of its fits (see settle).
double xgb_spin_s = 0;

/// After an XGBoost fit its OpenMP threads spin before they sleep (libgomp's GOMP_SPINCOUNT;
/// slow in a VM, where each pause can exit to the hypervisor); under `chrt -f` nothing preempts
/// them, so the next fit timed would lose a core to them. Waits until the process uses no CPU
/// (a 50 ms slice with under 2 ms of it, at most 5 s); returns the CPU seconds spent meanwhile.
double settle() {
  double spun = 0;
  for (int k = 0; k < 100; ++k) {
    const double before = process_cpu_s();
    const timespec slice{0, 50'000'000};
    nanosleep(&slice, nullptr);
    const double used = process_cpu_s() - before;
    spun += used;
    if (used < 0.002) break;
  }
  return spun;
}

/// funnel and XGBoost (the control: what a second core gives on this machine now) with 1 and
/// 2 threads, wall time, median of `reps` rounds (each runs the four fits, in alternating
/// order); checks every 2-thread model is the same (deterministic for a seed and thread count)
/// and gives the 1-thread model's predictions.
void threads_row(const bench_case& c, std::size_t reps) {
  const split_data d = c.load();
  std::vector<double> f1, f2, fs, x1, x2, xs, spin;
  gbdt_options o1 = c.funnel;
  gbdt_options o2 = c.funnel;
  o1.threads = 1;
  o2.threads = 2;
  xgb_params p1 = c.xgb;
  xgb_params p2 = c.xgb;
  p2["nthread"] = std::to_string(2);  // (a literal trips GCC 12 -Wrestrict at -O3)
  const std::size_t rounds = c.funnel.rounds;
  bool same = true;
  bool as_one = true;
  std::vector<double> first;
  for (std::size_t r = 0; r < reps; ++r) {
    run_result a;
    run_result b;
    run_result xa;
    run_result xb;
    // Each fit starts on an idle process (settle: XGBoost's threads done spinning).
    if (r % 2 == 0) {
      a = run_funnel(d, o1, true);
      b = run_funnel(d, o2, true);
      xa = run_xgboost(d, p1, rounds, true);
      spin.push_back(settle());
      xb = run_xgboost(d, p2, rounds, true);
      spin.push_back(settle());
    } else {
      xb = run_xgboost(d, p2, rounds, true);
      spin.push_back(settle());
      xa = run_xgboost(d, p1, rounds, true);
      spin.push_back(settle());
      b = run_funnel(d, o2, true);
      a = run_funnel(d, o1, true);
    }
    if (r == 0) first = b.test_pred;
    same = same && b.test_pred == first;
    as_one = as_one && b.test_pred == a.test_pred;
    f1.push_back(a.seconds);
    f2.push_back(b.seconds);
    fs.push_back(a.seconds / b.seconds);
    x1.push_back(xa.seconds);
    x2.push_back(xb.seconds);
    xs.push_back(xa.seconds / xb.seconds);
  }
  std::printf(
      "| %-34s | %.3f s | %.3f s | **%.2f** (%.2f-%.2f) | %.3f s | %.3f s | %.2f (%.2f-%.2f) | %s "
      "| %s |\n",
      c.name.c_str(), median(f1), median(f2), median(fs), *std::min_element(fs.begin(), fs.end()),
      *std::max_element(fs.begin(), fs.end()), median(x1), median(x2), median(xs),
      *std::min_element(xs.begin(), xs.end()), *std::max_element(xs.begin(), xs.end()),
      same ? "yes" : "NO", as_one ? "yes" : "NO");
  std::fflush(stdout);
  // Each round's speed-ups (stderr: the table stays clean), to tell a round the machine slowed
  // for both contenders from one where funnel alone lost.
  std::fprintf(stderr, "%s, per round (funnel / XGBoost 2 vs 1 thread):", c.name.c_str());
  for (std::size_t r = 0; r < reps; ++r) std::fprintf(stderr, " %.2f/%.2f", fs[r], xs[r]);
  std::fprintf(stderr, "\n");
  xgb_spin_s = std::max(xgb_spin_s, *std::max_element(spin.begin(), spin.end()));
}

/// The thread table: synthetic 100k x 50 (200 x d6, 500 x d8) and the ranking data, the rows
/// `rows` picks (all, no-d8, d6, d8, rank).
void thread_table(const std::string& dir, std::size_t reps, const std::string& rows) {
  const bool d6 = rows == "all" || rows == "no-d8" || rows == "d6";
  const bool d8 = rows == "all" || rows == "d8";
  const bool rank = rows == "all" || rows == "no-d8" || rows == "rank";
  if (!d6 && !d8 && !rank) {
    std::fprintf(stderr, "threads: rows must be all, no-d8, d6, d8 or rank, not '%s'\n",
                 rows.c_str());
    std::exit(2);
  }
  std::printf(
      "\nThreads (wall time, median of %zu rounds, range in brackets): funnel and XGBoost with 1 "
      "and 2 threads; 2-thread models the same every run, and the same as 1 thread's\n\n| data | "
      "funnel 1 thread | funnel 2 threads | funnel speed-up | XGBoost 1 thread | XGBoost 2 "
      "threads | XGBoost speed-up | deterministic | = 1 thread |\n|---|---|---|---|---|---|---|---|"
      "---|\n",
      reps);
  if (d6 || d8) {
    const auto syn = synthetic(125000, 50, 3);
    if (d6) {
      threads_row(binary_case(
                      "synthetic (200 x d6)", [&syn] { return syn; }, 200, 6, 0.3),
                  reps);
    }
    if (d8) {
      threads_row(binary_case(
                      "synthetic (500 x d8)", [&syn] { return syn; }, 500, 8, 0.3),
                  reps);
    }
  }
  if (rank) threads_row(rank_case(dir, 50), reps);
  std::printf(
      "\nEach fit started on an idle process: after an XGBoost fit its threads spun up to %.0f ms "
      "of CPU, waited out before the next fit.\n",
      1e3 * xgb_spin_s);
}

void export_round_trip(const std::string& dir) {
  const auto d = lending_club(dir);
  const auto res =
      fit_gbdt({d.xtr, d.ytr}, funnel_params(gbdt_objective::binary_logistic, 6, 0.1, 100));
  const std::string path = "/tmp/funnel-bench-gbdt-export.json";
  save_xgboost_json(res.model, path);
  BoosterHandle b = nullptr;
  XGB(XGBoosterCreate(nullptr, 0, &b));
  XGB(XGBoosterLoadModel(b, path.c_str()));
  DMatrixHandle te = nullptr;
  XGB(XGDMatrixCreateFromMat(d.xte.data(), d.xte.rows(), d.xte.cols(), std::nanf(""), &te));
  bst_ulong len = 0;
  const float* out = nullptr;
  XGB(XGBoosterPredict(b, te, 1 /* output margin */, 0, 0, &len, &out));
  double max_diff = 0;
  for (std::size_t i = 0; i < len; ++i) {
    max_diff =
        std::max(max_diff, std::fabs(static_cast<double>(out[i]) - res.model.score(d.xte.row(i))));
  }
  std::printf(
      "\nfunnel-trained model (100 trees, depth 6) exported to XGBoost JSON and loaded by "
      "XGBoost 1.7:\nmax |margin difference| over %llu test rows = %.3g\n",
      static_cast<unsigned long long>(len), max_diff);
  XGBoosterFree(b);
  XGDMatrixFree(te);
}

/// funnel alone on one small data set, `repeats` times (for perf record).
int profile(const std::string& dir, const std::string& name, std::size_t repeats,
            std::size_t threads) {
  auto cases = small_cases(dir);
  if (name == "synthetic") {
    const auto syn = synthetic(125000, 50, 3);
    cases = {binary_case(
        "synthetic (200 x d6)", [syn] { return syn; }, 200, 6, 0.3)};
  }
  for (auto& c : cases) {
    c.funnel.threads = threads;
    if (c.name.find(name) == std::string::npos) continue;
    const split_data d = c.load();
    double total = 0;
    std::vector<double> fits;  // wall time of each fit
    const stopwatch wall;
    for (std::size_t r = 0; r < repeats; ++r) {
      const stopwatch fit;
      total += run_funnel(d, c.funnel).seconds;
      fits.push_back(fit.elapsed_s());
    }
    std::printf("%s: %.3f s CPU, %.3f s wall per fit (fits %.3f-%.3f s, median %.3f s)\n",
                c.name.c_str(), total / static_cast<double>(repeats),
                wall.elapsed_s() / static_cast<double>(repeats),
                *std::min_element(fits.begin(), fits.end()),
                *std::max_element(fits.begin(), fits.end()), median(fits));
    return 0;
  }
  std::fprintf(stderr, "no data set matching '%s'\n", name.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string dir = argc > 1 ? argv[1] : "../shared/data";
  const std::string mode = argc > 2 ? argv[2] : "full";
  if (mode == "profile")
    return profile(dir, argc > 3 ? argv[3] : "agaricus", argc > 4 ? std::stoul(argv[4]) : 20,
                   argc > 5 ? std::stoul(argv[5]) : 1);
  const std::size_t reps = argc > 3 ? std::stoul(argv[3]) : 5;
  if (mode == "threads") {
    thread_table(dir, reps, argc > 4 ? argv[4] : "all");
    return 0;
  }
  std::printf("GBDT training, funnel vs XGBoost 1.7 hist, one thread each, same process\n\n");
  std::printf("Small data (median of %zu timing rounds):\n\n", reps);
  table_header();
  for (const auto& c : small_cases(dir)) compare_row(c, reps);
  if (mode == "small") return 0;

  std::printf("\nSynthetic 100k x 50 (median of %zu timing rounds):\n\n",
              std::max<std::size_t>(1, reps / 2));
  table_header();
  const auto syn = synthetic(125000, 50, 3);
  const auto syn_case = [&](const char* name, std::size_t rounds, std::size_t depth) {
    return binary_case(
        name, [&syn] { return syn; }, rounds, depth, 0.3);
  };
  compare_row(syn_case("synthetic (200 x d6)", 200, 6), std::max<std::size_t>(1, reps / 2));
  if (mode == "full")
    compare_row(syn_case("synthetic (500 x d8)", 500, 8), std::max<std::size_t>(1, reps / 2));

  thread_table(dir, std::max<std::size_t>(1, reps / 2), mode == "full" ? "all" : "no-d8");

  export_round_trip(dir);
  return 0;
}
