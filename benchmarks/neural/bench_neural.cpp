// funnel::onnx against libtorch, one thread, on the models of tests/fixtures/onnx/make_models.py:
// the lending_club MLP, the DCN-v2 ranker (three heads) and the user tower (embedding + MLP), as
// ONNX for funnel and TorchScript (traced, frozen, optimize_for_inference) for libtorch, both from
// FUNNEL_MODELS_DIR (benchmarks/neural/run.sh). Batches of 1 (the per-call overhead a service pays
// per request) and 1,000 (a ranking stage's candidates). Each call includes what a service does:
// wrapping its float buffer (torch::from_blob) and reading the outputs back.
//
// Before timing, both evaluators run the same 1,000 rows and the largest relative difference is
// printed: the two sides serve the same model. Memory per loaded model: the growth of the
// process's resident set from loading it and making one call of one row (after each runtime has
// loaded another model once, so one-time initialisation is not counted), and funnel's exact
// figure (constants + one row's workspace).
#include <funnel/onnx/onnx_model.hpp>

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <random>
#include <string>
#include <vector>

#ifdef FUNNEL_HAVE_LIBTORCH
#include <ATen/Parallel.h>
#include <torch/script.h>
#endif

namespace sc = funnel::scoring;

namespace {

// Resident set size of this process, bytes (Linux /proc/self/statm).
double rss_bytes() {
  std::FILE* f = std::fopen("/proc/self/statm", "r");
  long pages = 0;
  long resident = 0;
  if (f != nullptr) {
    if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
    std::fclose(f);
  }
  return static_cast<double>(resident) * 4096.0;
}

std::string models_dir() {
  const char* dir = std::getenv("FUNNEL_MODELS_DIR");
  return dir != nullptr ? dir : FUNNEL_ONNX_DIR;
}

// One model's inputs for `rows` rows: floats for float inputs, ids in [0, 200) for int64 ones.
struct batch {
  std::vector<std::vector<float>> f;
  std::vector<std::vector<std::int64_t>> i;
  std::vector<sc::onnx_input> in;
  std::vector<std::vector<float>> out;
  std::vector<std::span<float>> out_spans;

  batch(const sc::onnx_model& m, std::size_t rows) {
    std::mt19937 gen(7);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    for (const auto& p : m.inputs()) {
      f.emplace_back(rows * p.row_size);
      i.emplace_back(rows * p.row_size);
      for (auto& v : f.back()) v = std::abs(normal(gen)) * 100.0f;
      for (auto& v : i.back()) v = static_cast<std::int64_t>(gen() % 200);
    }
    for (std::size_t k = 0; k < m.inputs().size(); ++k) {
      if (m.inputs()[k].dtype == sc::onnx_dtype::int64) {
        in.emplace_back(std::span<const std::int64_t>(i[k]));
      } else {
        in.emplace_back(std::span<const float>(f[k]));
      }
    }
    for (const auto& p : m.outputs()) out.emplace_back(rows * p.row_size);
    for (auto& o : out) out_spans.emplace_back(o);
  }
};

const sc::onnx_model& funnel_model(const std::string& name) {
  static std::map<std::string, sc::onnx_model> cache;
  auto it = cache.find(name);
  if (it == cache.end()) {
    it = cache.emplace(name, sc::load_onnx(models_dir() + "/" + name + ".onnx")).first;
  }
  return it->second;
}

void bm_funnel(benchmark::State& state, const std::string& name) {
  const auto& m = funnel_model(name);
  const auto rows = static_cast<std::size_t>(state.range(0));
  batch b(m, rows);
  for (auto _ : state) {
    m.run(rows, b.in, b.out_spans);
    benchmark::DoNotOptimize(b.out[0].data());
  }
  state.counters["rows/s"] = benchmark::Counter(static_cast<double>(rows * state.iterations()),
                                                benchmark::Counter::kIsRate);
}

#ifdef FUNNEL_HAVE_LIBTORCH
torch::jit::Module& torch_model(const std::string& name) {
  static std::map<std::string, torch::jit::Module> cache;
  auto it = cache.find(name);
  if (it == cache.end()) {
    it = cache.emplace(name, torch::jit::load(models_dir() + "/" + name + ".pt")).first;
    it->second.eval();
  }
  return it->second;
}

std::vector<torch::jit::IValue> torch_inputs(const sc::onnx_model& m, batch& b, std::size_t rows) {
  std::vector<torch::jit::IValue> in;
  for (std::size_t k = 0; k < m.inputs().size(); ++k) {
    const auto& p = m.inputs()[k];
    std::vector<std::int64_t> shape{static_cast<std::int64_t>(rows)};
    shape.insert(shape.end(), p.shape.begin(), p.shape.end());
    if (p.dtype == sc::onnx_dtype::int64) {
      in.emplace_back(torch::from_blob(b.i[k].data(), shape, torch::kInt64));
    } else {
      in.emplace_back(torch::from_blob(b.f[k].data(), shape, torch::kFloat32));
    }
  }
  return in;
}

// The outputs of one forward as float vectors (a tuple for the ranker's heads).
void read_outputs(const torch::jit::IValue& v, batch& b) {
  auto copy = [](const at::Tensor& t, std::vector<float>& dst) {
    const auto c = t.contiguous();
    std::copy_n(c.data_ptr<float>(), std::min<std::size_t>(dst.size(), c.numel()), dst.data());
  };
  if (v.isTuple()) {
    const auto& items = v.toTupleRef().elements();
    for (std::size_t k = 0; k < items.size() && k < b.out.size(); ++k)
      copy(items[k].toTensor(), b.out[k]);
  } else {
    copy(v.toTensor(), b.out[0]);
  }
}

void bm_torch(benchmark::State& state, const std::string& name) {
  auto& module = torch_model(name);
  const auto& m = funnel_model(name);
  const auto rows = static_cast<std::size_t>(state.range(0));
  batch b(m, rows);
  c10::InferenceMode guard;
  for (auto _ : state) {
    const auto out = module.forward(torch_inputs(m, b, rows));
    read_outputs(out, b);
    benchmark::DoNotOptimize(b.out[0].data());
  }
  state.counters["rows/s"] = benchmark::Counter(static_cast<double>(rows * state.iterations()),
                                                benchmark::Counter::kIsRate);
}

// Same rows through both: the largest relative difference of any output value.
void check_same_model(const std::string& name) {
  const auto& m = funnel_model(name);
  constexpr std::size_t rows = 1000;
  batch a(m, rows);
  batch t(m, rows);
  m.run(rows, a.in, a.out_spans);
  c10::InferenceMode guard;
  read_outputs(torch_model(name).forward(torch_inputs(m, t, rows)), t);
  double worst = 0.0;
  for (std::size_t k = 0; k < a.out.size(); ++k) {
    for (std::size_t j = 0; j < a.out[k].size(); ++j) {
      const double d = std::abs(static_cast<double>(a.out[k][j]) - t.out[k][j]);
      worst = std::max(worst, d / std::max(1.0, std::abs(static_cast<double>(t.out[k][j]))));
    }
  }
  std::printf("%s: funnel vs libtorch on %zu rows, max |difference| / max(1, |libtorch|) = %.2e\n",
              name.c_str(), rows, worst);
}
#endif

// Loads each model (funnel, then libtorch) and prints the resident-set growth.
void report_memory(const std::string& name) {
  double before = rss_bytes();
  const auto& m = funnel_model(name);
  batch b(m, 1);
  m.run(1, b.in, b.out_spans);
  std::printf("%s: funnel RSS +%.0f KB (constants %zu B + workspace of one row %zu B)",
              name.c_str(), (rss_bytes() - before) / 1024.0, m.constant_bytes(),
              m.workspace_bytes(1));
#ifdef FUNNEL_HAVE_LIBTORCH
  before = rss_bytes();
  {
    c10::InferenceMode guard;
    read_outputs(torch_model(name).forward(torch_inputs(m, b, 1)), b);
  }
  std::printf(", libtorch RSS +%.0f KB", (rss_bytes() - before) / 1024.0);
#endif
  std::printf("\n");
}

}  // namespace

int main(int argc, char** argv) {
#ifdef FUNNEL_HAVE_LIBTORCH
  at::set_num_threads(1);
  at::set_num_interop_threads(1);
#endif
  report_memory("item_tower");  // first loads: each runtime's one-time initialisation
  for (const std::string name : {"mlp_lending", "dcn_ranker", "user_tower"}) report_memory(name);
  for (const std::string name : {"mlp_lending", "dcn_ranker", "user_tower"}) {
    benchmark::RegisterBenchmark(("funnel/" + name).c_str(), bm_funnel, name)->Arg(1)->Arg(1000);
#ifdef FUNNEL_HAVE_LIBTORCH
    check_same_model(name);
    benchmark::RegisterBenchmark(("libtorch/" + name).c_str(), bm_torch, name)->Arg(1)->Arg(1000);
#endif
  }
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
