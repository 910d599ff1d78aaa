// funnel tree-ensemble inference vs XGBoost's C API (XGBoosterPredictFromDense, one thread).
//
// Trains two binary:logistic models with XGBoost itself in this process (100 trees depth 6,
// 500 trees depth 8) on synthetic data with 10% missing values, loads them into funnel from
// XGBoost's own JSON, checks margins are identical, then times one-row and 1000-row batch
// margins, alternating funnel and XGBoost rounds so both see the same machine state.
// Prints median ns/row per side and the ratio XGBoost / funnel.
#include <funnel/core/random.hpp>
#include <funnel/core/timer.hpp>
#include <funnel/scoring/tree_ensemble.hpp>
#include <funnel/scoring/xgboost.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>
#include <xgboost/c_api.h>

namespace {

void check(int rc, const char* what) {
  if (rc != 0) {
    std::fprintf(stderr, "%s failed: %s\n", what, XGBGetLastError());
    std::exit(1);
  }
}

std::string dense_interface(const float* data, std::size_t rows, std::size_t cols) {
  return "{\"data\": [" + std::to_string(reinterpret_cast<std::uintptr_t>(data)) +
         ", true], \"shape\": [" + std::to_string(rows) + ", " + std::to_string(cols) +
         "], \"typestr\": \"<f4\", \"version\": 3}";
}

double now_ns() {
  return static_cast<double>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                 std::chrono::steady_clock::now().time_since_epoch())
                                 .count());
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

struct setup {
  BoosterHandle booster = nullptr;
  funnel::scoring::tree_ensemble model;
};

setup train(const std::vector<float>& x, const std::vector<float>& y, std::size_t rows,
            std::size_t cols, int trees, int depth) {
  // FUNNEL_BENCH_CACHE=<dir> keeps the trained models between runs (training dominates run time).
  const char* cache_dir = std::getenv("FUNNEL_BENCH_CACHE");
  const std::string cache = cache_dir
                                ? std::string(cache_dir) + "/bench_trees_" + std::to_string(trees) +
                                      "_" + std::to_string(depth) + ".json"
                                : std::string();
  DMatrixHandle d = nullptr;
  check(XGDMatrixCreateFromMat(x.data(), rows, cols, NAN, &d), "XGDMatrixCreateFromMat");
  check(XGDMatrixSetFloatInfo(d, "label", y.data(), rows), "set label");
  setup s;
  check(XGBoosterCreate(&d, 1, &s.booster), "XGBoosterCreate");
  check(XGBoosterSetParam(s.booster, "objective", "binary:logistic"), "param");
  check(XGBoosterSetParam(s.booster, "max_depth", std::to_string(depth).c_str()), "param");
  check(XGBoosterSetParam(s.booster, "eta", "0.05"), "param");
  check(XGBoosterSetParam(s.booster, "tree_method", "hist"), "param");
  check(XGBoosterSetParam(s.booster, "max_bin", "64"), "param");
  check(XGBoosterSetParam(s.booster, "seed", "1"), "param");
  check(XGBoosterSetParam(s.booster, "nthread", "2"), "param");
  if (!cache.empty() && XGBoosterLoadModel(s.booster, cache.c_str()) == 0) {
    trees = 0;  // loaded
  }
  for (int it = 0; it < trees; ++it) check(XGBoosterUpdateOneIter(s.booster, it, d), "update");
  if (!cache.empty() && trees > 0)
    check(XGBoosterSaveModel(s.booster, cache.c_str()), "save cache");
  check(XGBoosterSetParam(s.booster, "nthread", "1"), "param");  // predictions: one thread
  bst_ulong len = 0;
  const char* buf = nullptr;
  check(XGBoosterSaveModelToBuffer(s.booster, "{\"format\": \"json\"}", &len, &buf), "save");
  s.model = funnel::scoring::parse_xgboost_json(std::string_view(buf, len), "bench");
  check(XGDMatrixFree(d), "free");
  return s;
}

const float* xgb_predict(BoosterHandle b, const std::string& iface) {
  static const char* config =
      "{\"type\": 1, \"training\": false, \"cache_id\": 0, \"iteration_begin\": 0, "
      "\"iteration_end\": 0, "
      "\"strict_shape\": false, \"missing\": NaN}";
  const bst_ulong* shape = nullptr;
  bst_ulong dim = 0;
  const float* out = nullptr;
  check(XGBoosterPredictFromDense(b, iface.c_str(), config, nullptr, &shape, &dim, &out),
        "predict");
  return out;
}

void run(const char* label, const setup& s, const std::vector<float>& test, std::size_t rows,
         std::size_t cols, int rounds) {
  // Exactness first: the comparison is only meaningful if both compute the same numbers.
  std::vector<float> fm(rows);
  s.model.margins_batch(funnel::matrix_view(test.data(), rows, cols), fm);
  const float* xm = xgb_predict(s.booster, dense_interface(test.data(), rows, cols));
  std::size_t equal = 0;
  for (std::size_t i = 0; i < rows; ++i) equal += fm[i] == xm[i] ? 1 : 0;
  std::printf("%s: %zu trees, %zu/%zu margins bit-identical to XGBoost\n", label,
              s.model.num_trees(), equal, rows);

  std::vector<std::string> one(rows);
  for (std::size_t i = 0; i < rows; ++i) one[i] = dense_interface(test.data() + i * cols, 1, cols);
  const std::string all = dense_interface(test.data(), rows, cols);
  std::vector<double> f1, x1, fb, xb;
  volatile float sink = 0;
  for (int r = 0; r < rounds; ++r) {
    double t0 = now_ns();
    for (std::size_t i = 0; i < rows; ++i)
      sink = sink + s.model.score(funnel::row_view(test.data() + i * cols, cols));
    f1.push_back((now_ns() - t0) / static_cast<double>(rows));
    t0 = now_ns();
    for (std::size_t i = 0; i < rows; ++i) sink = sink + xgb_predict(s.booster, one[i])[0];
    x1.push_back((now_ns() - t0) / static_cast<double>(rows));
    t0 = now_ns();
    s.model.margins_batch(funnel::matrix_view(test.data(), rows, cols), fm);
    fb.push_back((now_ns() - t0) / static_cast<double>(rows));
    t0 = now_ns();
    sink = sink + xgb_predict(s.booster, all)[0];
    xb.push_back((now_ns() - t0) / static_cast<double>(rows));
  }
  const double mf1 = median(f1), mx1 = median(x1), mfb = median(fb), mxb = median(xb);
  std::printf("%s one row   : funnel %9.1f ns  xgboost %9.1f ns  ratio %.2fx\n", label, mf1, mx1,
              mx1 / mf1);
  std::printf("%s batch 1000: funnel %9.1f ns/row  xgboost %9.1f ns/row  ratio %.2fx\n", label, mfb,
              mxb, mxb / mfb);
}

}  // namespace

int main(int argc, char** argv) {
  const int rounds = argc > 1 ? std::atoi(argv[1]) : 15;
  int major = 0, minor = 0, patch = 0;
  XGBoostVersion(&major, &minor, &patch);
  std::printf("XGBoost C API %d.%d.%d, one prediction thread; %d interleaved rounds\n", major,
              minor, patch, rounds);
  const std::size_t cols = 40;
  const std::size_t train_rows = 20000;
  const std::size_t test_rows = 1000;
  funnel::rng gen(42);
  auto make = [&](std::size_t n, std::vector<float>& x, std::vector<float>& y) {
    x.resize(n * cols);
    y.resize(n);
    for (std::size_t i = 0; i < n; ++i) {
      double z = 0;
      for (std::size_t j = 0; j < cols; ++j) {
        const double v = gen.uniform(-2, 2);
        z += (j % 3 == 0 ? 1.0 : -0.5) * v * (j < 10 ? 1.0 : 0.2) + (j == 1 ? v * v : 0.0);
        x[i * cols + j] = gen.uniform() < 0.1 ? NAN : static_cast<float>(v);
      }
      y[i] = gen.uniform() < 1.0 / (1.0 + std::exp(-z)) ? 1.0F : 0.0F;
    }
  };
  std::vector<float> x, y, tx, ty;
  make(train_rows, x, y);
  make(test_rows, tx, ty);
  const auto small = train(x, y, train_rows, cols, 100, 6);
  run("100 trees depth 6", small, tx, test_rows, cols, rounds);
  const auto big = train(x, y, train_rows, cols, 500, 8);
  run("500 trees depth 8", big, tx, test_rows, cols, rounds);
  XGBoosterFree(small.booster);
  XGBoosterFree(big.booster);
  return 0;
}
