// Drift benchmarks. Run: build/release/benchmarks/drift/bench_drift [--benchmark_min_time=0.2]
// Google-benchmark cases time funnel alone (no reference library does per-value live profiles);
// after them, main() times ks_2samp against scipy 1.10 interleaved (funnel, scipy, funnel, ...)
// on identical data and prints the ratios.
#include <funnel/core/timer.hpp>
#include <funnel/drift.hpp>

#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

namespace fd = funnel::drift;

namespace {

constexpr std::size_t num_features = 30;

fd::reference_profile make_reference(std::size_t features, std::size_t rows) {
  funnel::rng gen(1);
  fd::reference_profile p;
  std::vector<double> col(rows);
  for (std::size_t j = 0; j < features; ++j) {
    for (auto& v : col) v = gen.normal(static_cast<double>(j), 1.0);
    p.add_numeric(j + 1 == features ? std::string("score") : fmt::format("f{}", j), col);
  }
  return p;
}

std::vector<float> make_rows(std::size_t features, std::size_t rows, double shift) {
  funnel::rng gen(2);
  std::vector<float> out(features * rows);
  for (std::size_t i = 0; i < rows; ++i) {
    for (std::size_t j = 0; j < features; ++j) {
      out[i * features + j] = static_cast<float>(gen.normal(static_cast<double>(j) + shift, 1.0));
    }
  }
  return out;
}

// Baseline: what a service does anyway with the row (touch every feature once).
void bm_baseline_row_sum(benchmark::State& state) {
  const auto rows = make_rows(num_features, 4096, 0.0);
  std::size_t i = 0;
  for (auto _ : state) {
    const float* r = rows.data() + (i++ % 4096) * num_features;
    float s = 0;
    for (std::size_t j = 0; j < num_features; ++j) s += r[j];
    benchmark::DoNotOptimize(s);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(bm_baseline_row_sum);

// Live profile, one thread, no lock: cost per 30-feature row (bins + reservoir per value).
void bm_live_profile_observe_30(benchmark::State& state) {
  auto ref = std::make_shared<const fd::reference_profile>(make_reference(num_features, 20000));
  fd::window_options w;
  w.kind = fd::window_options::kind_t::tumbling;
  w.size = 100000;
  fd::live_profile live(ref, w);
  const auto rows = make_rows(num_features, 4096, 0.1);
  std::size_t i = 0;
  for (auto _ : state) {
    live.observe(funnel::row_view(rows.data() + (i++ % 4096) * num_features, num_features));
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["ns_per_value"] =
      benchmark::Counter(static_cast<double>(state.iterations() * num_features),
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(bm_live_profile_observe_30);

// The monitor's thread-safe path (mutex + live profile + score), per scored request.
void bm_monitor_observe_30(benchmark::State& state) {
  fd::monitor_options opt;
  opt.window.size = 100000;
  opt.auto_evaluate = false;
  fd::monitor mon(make_reference(num_features + 1, 20000), opt);
  const auto rows = make_rows(num_features, 4096, 0.1);
  std::size_t i = 0;
  for (auto _ : state) {
    mon.observe(funnel::row_view(rows.data() + (i++ % 4096) * num_features, num_features), 0.5F);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(bm_monitor_observe_30);

// Evaluating a 30-feature report (PSI, KS exact on 1024 vs 10,000, W1, JS) once per window.
void bm_monitor_evaluate_30(benchmark::State& state) {
  fd::monitor_options opt;
  opt.window.size = 100000;
  opt.auto_evaluate = false;
  fd::monitor mon(make_reference(num_features + 1, 20000), opt);
  const auto rows = make_rows(num_features, 20000, 0.1);
  for (std::size_t i = 0; i < 20000; ++i) {
    mon.observe(funnel::row_view(rows.data() + i * num_features, num_features), 0.5F);
  }
  for (auto _ : state) benchmark::DoNotOptimize(mon.evaluate_now());
}
BENCHMARK(bm_monitor_evaluate_30)->Unit(benchmark::kMillisecond);

// --- KS vs scipy, interleaved ------------------------------------------------------------------

bool write_doubles(const std::string& path, const std::vector<double>& v) {
  std::ofstream f(path, std::ios::binary);
  f.write(reinterpret_cast<const char*>(v.data()), static_cast<std::streamsize>(v.size() * 8));
  return static_cast<bool>(f);
}

// Runs scipy.stats.ks_2samp once on the two files in a child /usr/bin/python3; returns seconds of
// the call alone (loading excluded), or < 0 when scipy is unavailable.
double scipy_seconds(const std::string& a, const std::string& b, double* p) {
  const std::string cmd =
      "/usr/bin/python3 -c \"import numpy as np,time,scipy.stats as s;"
      "a=np.fromfile('" +
      a + "');b=np.fromfile('" + b +
      "');"
      "t=time.perf_counter();r=s.ks_2samp(a,b);t=time.perf_counter()-t;"
      "print(repr(t),repr(r.pvalue))\" 2>/dev/null";
  FILE* pipe = popen(cmd.c_str(), "r");
  if (!pipe) return -1;
  double t = -1;
  if (std::fscanf(pipe, "%lf %lf", &t, p) != 2) t = -1;
  pclose(pipe);
  return t;
}

void ks_vs_scipy(std::size_t n1, std::size_t n2, double shift, int rounds) {
  funnel::rng gen(3);
  std::vector<double> a(n1);
  std::vector<double> b(n2);
  for (auto& v : a) v = gen.normal();
  for (auto& v : b) v = gen.normal(shift, 1.0);
  const std::string fa = "/tmp/funnel-bench-drift-a.bin";
  const std::string fb = "/tmp/funnel-bench-drift-b.bin";
  if (!write_doubles(fa, a) || !write_doubles(fb, b)) {
    std::printf("ks %zu vs %zu: cannot write temp files, skipped\n", n1, n2);
    return;
  }
  std::vector<double> ratios;
  double tf_best = 1e300;
  double ts_best = 1e300;
  for (int r = 0; r < rounds; ++r) {
    funnel::stopwatch sw;
    const auto res = fd::ks_2samp(a, b);
    const double tf = sw.elapsed_s();
    double p_scipy = 0;
    const double ts = scipy_seconds(fa, fb, &p_scipy);
    if (ts < 0) {
      std::printf("ks %zu vs %zu: scipy not available, funnel %.4f s\n", n1, n2, tf);
      return;
    }
    tf_best = std::min(tf_best, tf);
    ts_best = std::min(ts_best, ts);
    ratios.push_back(ts / tf);
    if (r == 0) {
      std::printf("ks %zu vs %zu: p funnel %.17g scipy %.17g (|diff| %.2e), method %s\n", n1, n2,
                  res.pvalue, p_scipy, std::abs(res.pvalue - p_scipy),
                  res.method_used == fd::ks_method::exact ? "exact" : "asymptotic");
    }
  }
  std::sort(ratios.begin(), ratios.end());
  std::printf(
      "ks %zu vs %zu: funnel best %.4f s, scipy best %.4f s, scipy/funnel median %.2fx "
      "(rounds %d, incl. funnel's sort of copies)\n",
      n1, n2, tf_best, ts_best, ratios[ratios.size() / 2], rounds);
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  ks_vs_scipy(1000000, 1000000, 0.002, 5);
  ks_vs_scipy(10000, 7000, 0.03, 5);
  ks_vs_scipy(10000, 10000, 0.02, 5);
  return 0;
}
