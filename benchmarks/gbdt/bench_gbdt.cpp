// GBDT training accuracy and speed: funnel vs XGBoost 1.7 `hist`, same data and parameters, one
// process, single thread each.
//
//   bench_gbdt [shared-data-dir] [quick]      (default ../shared/data)
#include <funnel/core.hpp>
#include <funnel/core/libsvm.hpp>
#include <funnel/metrics/classification.hpp>
#include <funnel/metrics/ranking.hpp>
#include <funnel/scoring/gbdt.hpp>
#include <funnel/scoring/xgboost.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
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
  std::vector<float> ytr, yte;
  std::vector<std::size_t> gtr, gte;  // query groups (ranking)
};

struct run_result {
  double seconds = 0;
  std::vector<double> test_pred;
};

run_result run_xgboost(const split_data& d, const std::map<std::string, std::string>& params,
                       std::size_t rounds) {
  DMatrixHandle tr = nullptr;
  DMatrixHandle te = nullptr;
  XGB(XGDMatrixCreateFromMat(d.xtr.data(), d.xtr.rows(), d.xtr.cols(), std::nanf(""), &tr));
  XGB(XGDMatrixCreateFromMat(d.xte.data(), d.xte.rows(), d.xte.cols(), std::nanf(""), &te));
  XGB(XGDMatrixSetFloatInfo(tr, "label", d.ytr.data(), d.ytr.size()));
  if (!d.gtr.empty()) {
    std::vector<unsigned> g(d.gtr.begin(), d.gtr.end());
    XGB(XGDMatrixSetUIntInfo(tr, "group", g.data(), g.size()));
  }
  BoosterHandle b = nullptr;
  XGB(XGBoosterCreate(&tr, 1, &b));
  for (const auto& [k, v] : params) XGB(XGBoosterSetParam(b, k.c_str(), v.c_str()));
  stopwatch w;
  for (std::size_t i = 0; i < rounds; ++i) XGB(XGBoosterUpdateOneIter(b, static_cast<int>(i), tr));
  run_result r;
  r.seconds = w.elapsed_s();
  bst_ulong len = 0;
  const float* out = nullptr;
  XGB(XGBoosterPredict(b, te, 0, 0, 0, &len, &out));
  r.test_pred.assign(out, out + len);
  XGBoosterFree(b);
  XGDMatrixFree(tr);
  XGDMatrixFree(te);
  return r;
}

run_result run_funnel(const split_data& d, const gbdt_options& o) {
  stopwatch w;
  const auto res = fit_gbdt({d.xtr, d.ytr, {}, d.gtr}, o);
  run_result r;
  r.seconds = w.elapsed_s();
  std::vector<float> p(d.xte.rows() * res.model.num_groups());
  res.model.predict_batch(d.xte, p);
  r.test_pred.assign(p.begin(), p.end());
  return r;
}

double auc(const std::vector<float>& y, const std::vector<double>& p) {
  const std::vector<float> scores(p.begin(), p.end());  // the models' float outputs
  return metrics::roc_auc(y, scores);
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

split_data lending_club(const std::string& dir) {
  const auto t = read_csv(dir + "/lending_club.csv");
  matrix x(t.rows(), t.cols() - 1);
  std::vector<float> y(t.rows());
  for (std::size_t c = 0; c + 1 < t.cols(); ++c) {
    bool numeric = true;
    try {
      const auto v = t.numeric(c);
      for (std::size_t i = 0; i < t.rows(); ++i) x(i, c) = static_cast<float>(v[i]);
    } catch (const parse_error&) {
      numeric = false;
    }
    if (!numeric) {  // categorical: ordinal codes in order of first appearance
      std::map<std::string, float> codes;
      const auto s = t.strings(c);
      for (std::size_t i = 0; i < t.rows(); ++i) {
        if (t.is_missing(i, c)) {
          x(i, c) = std::nanf("");
          continue;
        }
        auto it = codes.try_emplace(s[i], static_cast<float>(codes.size())).first;
        x(i, c) = it->second;
      }
    }
  }
  const auto cls = t.strings("Class");
  for (std::size_t i = 0; i < t.rows(); ++i) y[i] = cls[i] == "bad" ? 1.0F : 0.0F;
  return split(x, y, 7);
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

std::map<std::string, std::string> xgb_params(const char* objective, std::size_t depth,
                                              double eta) {
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
  if (objective == gbdt_objective::binary_logistic) o.base_score = 0.5;
  return o;
}

void accuracy_row(const char* name, const split_data& d, std::size_t rounds, std::size_t depth,
                  double eta) {
  const auto x = run_xgboost(d, xgb_params("binary:logistic", depth, eta), rounds);
  const auto f = run_funnel(d, funnel_params(gbdt_objective::binary_logistic, depth, eta, rounds));
  const double ax = auc(d.yte, x.test_pred);
  const double af = auc(d.yte, f.test_pred);
  std::printf("| %-28s | %zu x %zu | %.4f | %.4f | %+.4f | %.2f s | %.2f s | %.2f |\n", name,
              d.xtr.rows(), d.xtr.cols(), ax, af, af - ax, x.seconds, f.seconds,
              f.seconds / x.seconds);
}

}  // namespace

int main(int argc, char** argv) {
  const std::string dir = argc > 1 ? argv[1] : "../shared/data";
  const bool quick = argc > 2 && std::string(argv[2]) == "quick";
  std::printf("GBDT training, funnel vs XGBoost 1.7 hist, single thread each, same process\n\n");
  std::printf(
      "| data | train rows x cols | XGBoost test AUC | funnel test AUC | diff | XGBoost time | "
      "funnel time | funnel/XGBoost time |\n");
  std::printf("|---|---|---|---|---|---|---|---|\n");
  accuracy_row("lending_club (100 x d6)", lending_club(dir), 100, 6, 0.1);
  accuracy_row("agaricus (20 x d6)", agaricus(dir), 20, 6, 0.3);
  const auto syn = synthetic(125000, 50, 3);
  accuracy_row("synthetic (200 x d6)", syn, 200, 6, 0.3);
  if (!quick) accuracy_row("synthetic (500 x d8)", syn, 500, 8, 0.3);

  const auto rank = rank_data(dir);
  auto xr = run_xgboost(rank,
                        {{"tree_method", "hist"},
                         {"objective", "rank:ndcg"},
                         {"max_depth", "6"},
                         {"eta", "0.1"},
                         {"max_bin", "256"},
                         {"nthread", "1"},
                         {"verbosity", "0"}},
                        50);
  auto fo = funnel_params(gbdt_objective::lambdarank, 0, 0.1, 50);
  fo.growth = growth_policy::lossguide;  // LightGBM's setting: num_leaves = 31, no depth limit
  fo.max_leaves = 31;
  fo.min_child_weight = 1e-3;
  const auto fr = run_funnel(rank, fo);
  std::printf(
      "\nLightGBM rank.train -> rank.test (50 rounds, eta 0.1), NDCG@10 (exponential gain):\n");
  std::printf(
      "| XGBoost rank:ndcg (depth 6) | funnel lambdarank (31 leaves) | LightGBM recorded (31 "
      "leaves) |\n|---|---|---|\n");
  std::printf("| %.4f (%.2f s) | %.4f (%.2f s) | 0.7289 |\n",
              mean_ndcg(rank.yte, xr.test_pred, rank.gte, 10), xr.seconds,
              mean_ndcg(rank.yte, fr.test_pred, rank.gte, 10), fr.seconds);

  // Round trip: trained by funnel, exported to XGBoost JSON, loaded and predicted by XGBoost 1.7.
  {
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
      max_diff = std::max(max_diff,
                          std::fabs(static_cast<double>(out[i]) - res.model.score(d.xte.row(i))));
    }
    std::printf(
        "\nfunnel-trained model (100 trees, depth 6) exported to XGBoost JSON and loaded by "
        "XGBoost 1.7:\n"
        "max |margin difference| over %llu test rows = %.3g\n",
        static_cast<unsigned long long>(len), max_diff);
    XGBoosterFree(b);
    XGDMatrixFree(te);
  }
  return 0;
}
