// funnel tree-ensemble inference vs XGBoost's C API (XGBoosterPredictFromDense, one thread).
//
// Trains two binary:logistic models with XGBoost itself in this process (100 trees depth 6,
// 500 trees depth 8) on synthetic data with 10% missing values, loads them into funnel from
// XGBoost's own JSON, checks margins are identical, then times one-row and 1000-row batch
// margins, alternating funnel and XGBoost rounds so both see the same machine state.
// Prints median ns/row per side (thread CPU time and wall clock) and the median over rounds of
// the per-round ratio XGBoost / funnel.
#include <funnel/core/random.hpp>
#include <funnel/core/timer.hpp>
#include <funnel/scoring/tree_ensemble.hpp>
#include <funnel/scoring/xgboost.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
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

// CPU time of this thread: on a shared, overloaded machine it leaves out the time the thread
// waited for a core, which wall-clock rounds of different lengths pick up unevenly.
double cpu_ns() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

struct setup {
  BoosterHandle booster = nullptr;
  funnel::scoring::tree_ensemble model;
  // The same model compiled with each batch kernel forced (FUNNEL_TREES_KERNEL=portable / avx2 /
  // avx512), so the kernels and XGBoost are timed in the same run, interleaved.
  std::vector<funnel::scoring::tree_ensemble> kernels;
};

constexpr const char* kernel_env[] = {"portable", "avx2", "avx512"};

setup train(const std::vector<float>& x, const std::vector<float>& y, std::size_t rows,
            std::size_t cols, int trees, int depth) {
  DMatrixHandle d = nullptr;
  check(XGDMatrixCreateFromMat(x.data(), rows, cols, NAN, &d), "XGDMatrixCreateFromMat");
  check(XGDMatrixSetFloatInfo(d, "label", y.data(), rows), "set label");
  setup s;
  check(XGBoosterCreate(&d, 1, &s.booster), "XGBoosterCreate");
  check(XGBoosterSetParam(s.booster, "objective", "binary:logistic"), "param");
  check(XGBoosterSetParam(s.booster, "max_depth", std::to_string(depth).c_str()), "param");
  check(XGBoosterSetParam(s.booster, "eta", "0.05"), "param");
  check(XGBoosterSetParam(s.booster, "tree_method", "hist"), "param");
  check(XGBoosterSetParam(s.booster, "max_bin", "32"), "param");
  check(XGBoosterSetParam(s.booster, "seed", "1"), "param");
  check(XGBoosterSetParam(s.booster, "nthread", "2"), "param");
  for (int it = 0; it < trees; ++it) check(XGBoosterUpdateOneIter(s.booster, it, d), "update");
  check(XGBoosterSetParam(s.booster, "nthread", "1"), "param");  // predictions: one thread
  bst_ulong len = 0;
  const char* buf = nullptr;
  check(XGBoosterSaveModelToBuffer(s.booster, "{\"format\": \"json\"}", &len, &buf), "save");
  s.model = funnel::scoring::parse_xgboost_json(std::string_view(buf, len), "bench");
  const char* old = std::getenv("FUNNEL_TREES_KERNEL");
  const std::string saved = old != nullptr ? old : "";
  for (const char* k : kernel_env) {
    ::setenv("FUNNEL_TREES_KERNEL", k, 1);
    s.kernels.push_back(funnel::scoring::parse_xgboost_json(std::string_view(buf, len), "bench"));
  }
  if (old != nullptr) {
    ::setenv("FUNNEL_TREES_KERNEL", saved.c_str(), 1);
  } else {
    ::unsetenv("FUNNEL_TREES_KERNEL");
  }
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
  for (const auto& k : s.kernels) {
    std::vector<float> km(rows);
    k.margins_batch(funnel::matrix_view(test.data(), rows, cols), km);
    std::size_t same = 0;
    for (std::size_t i = 0; i < rows; ++i) same += km[i] == xm[i] ? 1 : 0;
    std::printf("%s: kernel %s: %zu/%zu margins bit-identical to XGBoost\n", label,
                k.batch_kernel(), same, rows);
  }

  std::vector<std::string> one(rows);
  for (std::size_t i = 0; i < rows; ++i) one[i] = dense_interface(test.data() + i * cols, 1, cols);
  const std::string all = dense_interface(test.data(), rows, cols);
  // Per round: wall and thread-CPU ns per row of each side; the reported ratio is the median of
  // the per-round ratios (both sides of a ratio ran back to back in the same round).
  struct times {
    std::vector<double> wall_f, wall_x, cpu_f, cpu_x, ratio_wall, ratio_cpu;
    void add(double wf, double wx, double cf, double cx) {
      wall_f.push_back(wf);
      wall_x.push_back(wx);
      cpu_f.push_back(cf);
      cpu_x.push_back(cx);
      ratio_wall.push_back(wx / wf);
      ratio_cpu.push_back(cx / cf);
    }
    void print(const char* label, const char* what) const {
      std::printf(
          "%s %s: funnel %9.1f ns/row  xgboost %9.1f ns/row (cpu time; wall %.1f / %.1f)  "
          "ratio %.2fx cpu, %.2fx wall (median of per-round ratios; cpu min..max %.2f..%.2f)\n",
          label, what, median(cpu_f), median(cpu_x), median(wall_f), median(wall_x),
          median(ratio_cpu), median(ratio_wall),
          *std::min_element(ratio_cpu.begin(), ratio_cpu.end()),
          *std::max_element(ratio_cpu.begin(), ratio_cpu.end()));
    }
  };
  times one_row, batch;
  std::vector<times> per_kernel(s.kernels.size());
  volatile float sink = 0;
  const auto per_row = static_cast<double>(rows);
  for (int r = 0; r < rounds; ++r) {
    double w0 = now_ns(), c0 = cpu_ns();
    for (std::size_t i = 0; i < rows; ++i)
      sink = sink + s.model.score(funnel::row_view(test.data() + i * cols, cols));
    const double wf1 = (now_ns() - w0) / per_row, cf1 = (cpu_ns() - c0) / per_row;
    w0 = now_ns();
    c0 = cpu_ns();
    for (std::size_t i = 0; i < rows; ++i) sink = sink + xgb_predict(s.booster, one[i])[0];
    one_row.add(wf1, (now_ns() - w0) / per_row, cf1, (cpu_ns() - c0) / per_row);
    w0 = now_ns();
    c0 = cpu_ns();
    s.model.margins_batch(funnel::matrix_view(test.data(), rows, cols), fm);
    const double wfb = (now_ns() - w0) / per_row, cfb = (cpu_ns() - c0) / per_row;
    w0 = now_ns();
    c0 = cpu_ns();
    sink = sink + xgb_predict(s.booster, all)[0];
    const double wxb = (now_ns() - w0) / per_row, cxb = (cpu_ns() - c0) / per_row;
    batch.add(wfb, wxb, cfb, cxb);
    // Each forced kernel against the XGBoost batch of this round, XGBoost timed again after
    // every kernel so each ratio's two sides run back to back.
    for (std::size_t k = 0; k < s.kernels.size(); ++k) {
      w0 = now_ns();
      c0 = cpu_ns();
      s.kernels[k].margins_batch(funnel::matrix_view(test.data(), rows, cols), fm);
      const double wk = (now_ns() - w0) / per_row, ck = (cpu_ns() - c0) / per_row;
      w0 = now_ns();
      c0 = cpu_ns();
      sink = sink + xgb_predict(s.booster, all)[0];
      per_kernel[k].add(wk, (now_ns() - w0) / per_row, ck, (cpu_ns() - c0) / per_row);
    }
  }
  one_row.print(label, "one row   ");
  batch.print(label, "batch 1000");
  std::printf("%s batch kernel: %s\n", label, s.model.batch_kernel());
  for (std::size_t k = 0; k < s.kernels.size(); ++k) {
    const std::string what = std::string("batch 1000, ") + s.kernels[k].batch_kernel();
    per_kernel[k].print(label, what.c_str());
  }
}

}  // namespace

int main(int argc, char** argv) {
  const int rounds = argc > 1 ? std::atoi(argv[1]) : 15;
  int major = 0, minor = 0, patch = 0;
  XGBoostVersion(&major, &minor, &patch);
  std::printf("XGBoost C API %d.%d.%d, one prediction thread; %d interleaved rounds\n", major,
              minor, patch, rounds);
  const std::size_t cols = 40;
  const std::size_t train_rows = 8000;
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
