// Logistic regression benchmark. Three modes:
//   bench_logistic train <data.bin> <tol> [liblinear_eps]  -> one JSON line: funnel and liblinear
//       training time and objective on the same data (interleaved; run.sh adds scikit-learn)
//   bench_logistic solvers <data.bin> [solver...]  -> one JSON line: funnel's automatic solver
//       and L-BFGS (run to convergence), or the solvers named, on one data set: CPU time,
//       iterations, solution (run.sh solvers adds scikit-learn lbfgs and newton-cg)
//   bench_logistic [google-benchmark flags]                 -> scoring throughput, funnel vs
//       liblinear's predict_values, one row and batches
#include <funnel/core/random.hpp>
#include <funnel/core/timer.hpp>
#include <funnel/scoring/logistic.hpp>

#include <benchmark/benchmark.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#ifdef FUNNEL_HAVE_LIBLINEAR
#include <linear.h>
#endif

namespace sc = funnel::scoring;

namespace {

// Process CPU seconds: on a shared, overloaded machine wall time measures the neighbours.
double cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

struct dataset {
  funnel::matrix X;
  std::vector<float> y;
};

dataset read_data(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path);
  std::int64_t shape[2];
  in.read(reinterpret_cast<char*>(shape), sizeof shape);
  const auto rows = static_cast<std::size_t>(shape[0]);
  const auto cols = static_cast<std::size_t>(shape[1]);
  std::vector<float> x(rows * cols);
  in.read(reinterpret_cast<char*>(x.data()),
          static_cast<std::streamsize>(x.size() * sizeof(float)));
  std::vector<std::int32_t> y(rows);
  in.read(reinterpret_cast<char*>(y.data()),
          static_cast<std::streamsize>(y.size() * sizeof(std::int32_t)));
  if (!in) throw std::runtime_error("short read from " + path);
  dataset d{funnel::matrix(std::move(x), rows, cols), {}};
  d.y.assign(y.begin(), y.end());
  return d;
}

// C * sum log(1 + exp(-y z)) + ½‖w‖², computed the same way for every solver.
double objective(const dataset& d, const std::vector<double>& w, double b) {
  double f = 0;
  for (std::size_t i = 0; i < d.X.rows(); ++i) {
    double z = b;
    for (std::size_t j = 0; j < d.X.cols(); ++j) z += w[j] * d.X(i, j);
    f += (z > 0 ? z + std::log1p(std::exp(-z)) : std::log1p(std::exp(z))) - d.y[i] * z;
  }
  double r = 0;
  for (const double v : w) r += v * v;
  return f + 0.5 * r;
}

#ifdef FUNNEL_HAVE_LIBLINEAR
struct liblinear_data {
  std::vector<feature_node> nodes;
  std::vector<feature_node*> rows;
  std::vector<double> y;
  problem prob{};
};

// liblinear's sparse format (index from 1, terminated by -1); conversion not timed.
liblinear_data to_liblinear(const dataset& d) {
  liblinear_data l;
  const std::size_t n = d.X.rows();
  const std::size_t m = d.X.cols();
  l.nodes.resize(n * (m + 1));
  l.rows.resize(n);
  l.y.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    feature_node* r = &l.nodes[i * (m + 1)];
    for (std::size_t j = 0; j < m; ++j) r[j] = {static_cast<int>(j + 1), d.X(i, j)};
    r[m] = {-1, 0.0};
    l.rows[i] = r;
    l.y[i] = d.y[i];
  }
  l.prob.l = static_cast<int>(n);
  l.prob.n = static_cast<int>(m);
  l.prob.y = l.y.data();
  l.prob.x = l.rows.data();
  l.prob.bias = -1;
  return l;
}
void quiet(const char*) {}
#endif

int train_mode(const std::string& path, double tol, double liblinear_eps,
               double target_no_intercept, double target_intercept) {
  const auto d = read_data(path);
  std::string out = "{";
  // Time to reach the reference's objective (the reference stops by its own rules; funnel stops
  // at the first iterate whose objective is at least as good).
  for (const bool intercept : {false, true}) {
    const double target = intercept ? target_intercept : target_no_intercept;
    if (!(target > 0)) continue;
    sc::logistic_options o;
    o.solver = sc::logistic_solver::lbfgs;  // L-BFGS against L-BFGS (the default is automatic)
    o.tol = tol;
    o.max_iter = 10000;
    o.fit_intercept = intercept;
    o.on_iteration = [target](const sc::logistic_progress& p) { return p.objective > target; };
    const double t0 = cpu_seconds();
    const auto fit = sc::fit_logistic(d.X, d.y, o);
    const double secs = cpu_seconds() - t0;
    out += fmt::format(
        R"("funnel_to_target_{}": {{"seconds": {}, "objective": {:.17g}, "iterations": {}}}, )",
        intercept ? "intercept" : "no_intercept", secs,
        objective(d, fit.model.coef(), fit.model.intercept()), fit.report.iterations);
  }
  for (const bool intercept : {false, true}) {
    sc::logistic_options o;
    o.solver = sc::logistic_solver::lbfgs;  // L-BFGS against L-BFGS (the default is automatic)
    o.tol = tol;
    o.max_iter = 10000;
    o.fit_intercept = intercept;
    const double t0 = cpu_seconds();
    const auto fit = sc::fit_logistic(d.X, d.y, o);
    const double secs = cpu_seconds() - t0;
    out += fmt::format(
        R"("funnel_{}": {{"seconds": {}, "objective": {:.17g}, "iterations": {}, "evaluations": {}, "converged": {}}}, )",
        intercept ? "intercept" : "no_intercept", secs,
        objective(d, fit.model.coef(), fit.model.intercept()), fit.report.iterations,
        fit.report.evaluations, fit.report.converged);
#ifdef FUNNEL_HAVE_LIBLINEAR
    if (!intercept) {  // liblinear would penalise its bias term: compare without intercept only
      set_print_string_function(quiet);
      auto l = to_liblinear(d);
      parameter p{};
      p.solver_type = L2R_LR;
      p.eps = liblinear_eps;
      p.C = 1.0;
      const double l0 = cpu_seconds();
      model* mdl = train(&l.prob, &p);
      const double lsecs = cpu_seconds() - l0;
      std::vector<double> w(d.X.cols());
      const double sign = mdl->label[0] == 1 ? 1.0 : -1.0;
      for (std::size_t j = 0; j < w.size(); ++j) w[j] = sign * mdl->w[j];
      free_and_destroy_model(&mdl);
      out += fmt::format(R"("liblinear_no_intercept": {{"seconds": {}, "objective": {:.17g}}}, )",
                         lsecs, objective(d, w, 0.0));
    }
#endif
  }
  out += fmt::format(R"("rows": {}, "cols": {}}})", d.X.rows(), d.X.cols());
  fmt::print("{}\n", out);
  return 0;
}

// funnel's solvers (default: automatic, i.e. the default options, and L-BFGS), C = 1, L2;
// L-BFGS and Newton run to convergence.
int solvers_mode(const std::string& path, std::vector<sc::logistic_solver> solvers) {
  const auto d = read_data(path);
  if (solvers.empty()) solvers = {sc::logistic_solver::automatic, sc::logistic_solver::lbfgs};
  std::string out = "{";
  for (const auto solver : solvers) {
    sc::logistic_options o;
    o.solver = solver;
    if (solver != sc::logistic_solver::automatic) o.max_iter = 100000;  // to convergence
    const double t0 = cpu_seconds();
    const auto fit = sc::fit_logistic(d.X, d.y, o);
    const double secs = cpu_seconds() - t0;
    out += fmt::format(
        R"("funnel_{}": {{"seconds": {}, "iterations": {}, "evaluations": {}, "converged": {}, )"
        R"("solver": "{}", "message": "{}", "objective": {:.17g}, "coef": [{:.17g}], )"
        R"("intercept": {:.17g}}}, )",
        to_string(solver), secs, fit.report.iterations, fit.report.evaluations,
        fit.report.converged, to_string(fit.report.solver), fit.report.message,
        fit.report.objective, fmt::join(fit.model.coef(), ", "), fit.model.intercept());
  }
  out += fmt::format(R"("rows": {}, "cols": {}}})", d.X.rows(), d.X.cols());
  fmt::print("{}\n", out);
  return 0;
}

// ---- scoring throughput -------------------------------------------------------------------

constexpr std::size_t kCols = 100;

const funnel::matrix& score_rows() {
  static const funnel::matrix m = [] {
    funnel::matrix x(100000, kCols);
    funnel::rng r(1);
    std::normal_distribution<float> g(0.0F, 1.0F);
    for (std::size_t i = 0; i < x.rows(); ++i)
      for (std::size_t j = 0; j < kCols; ++j) x(i, j) = g(r);
    return x;
  }();
  return m;
}

sc::logistic_model score_model() {
  std::vector<double> w(kCols);
  funnel::rng r(2);
  std::normal_distribution<double> g(0.0, 0.1);
  for (auto& v : w) v = g(r);
  return sc::logistic_model(w, 0.1);
}

void BM_funnel_score_row(benchmark::State& state) {
  const auto m = score_model();
  const auto& x = score_rows();
  std::size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(m.predict(x.row(i)));  // probability, as liblinear's
    i = (i + 1) % x.rows();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

void BM_funnel_score_batch(benchmark::State& state) {
  const auto m = score_model();
  const auto& x = score_rows();
  const auto n = static_cast<std::size_t>(state.range(0));
  std::vector<float> out(n);
  for (auto _ : state) {
    m.predict_batch(x.view().middle_rows(0, n), out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * n));
}

#ifdef FUNNEL_HAVE_LIBLINEAR
struct liblinear_model {
  std::vector<double> w;
  int label[2] = {1, 0};
  model m{};
  std::vector<feature_node> nodes;
  liblinear_model() {
    const auto f = score_model();
    w = f.coef();
    w.push_back(f.intercept());
    m.nr_class = 2;
    m.nr_feature = static_cast<int>(kCols);
    m.w = w.data();
    m.label = label;
    m.bias = 1.0;
    m.param.solver_type = L2R_LR;
    const auto& x = score_rows();
    nodes.resize(x.rows() * (kCols + 2));
    for (std::size_t i = 0; i < x.rows(); ++i) {
      feature_node* r = &nodes[i * (kCols + 2)];
      for (std::size_t j = 0; j < kCols; ++j) r[j] = {static_cast<int>(j + 1), x(i, j)};
      r[kCols] = {static_cast<int>(kCols + 1), 1.0};  // bias feature
      r[kCols + 1] = {-1, 0.0};
    }
  }
  const feature_node* row(std::size_t i) const { return &nodes[i * (kCols + 2)]; }
};

const liblinear_model& ll() {
  static const liblinear_model m;
  return m;
}

void BM_liblinear_predict_probability_row(benchmark::State& state) {
  const auto& m = ll();
  double prob[2];
  std::size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(predict_probability(&m.m, m.row(i), prob));
    i = (i + 1) % score_rows().rows();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

void BM_liblinear_predict_probability_batch(benchmark::State& state) {
  const auto& m = ll();
  const auto n = static_cast<std::size_t>(state.range(0));
  std::vector<double> out(n);
  double prob[2];
  for (auto _ : state) {
    for (std::size_t i = 0; i < n; ++i) {
      predict_probability(&m.m, m.row(i), prob);
      out[i] = prob[0];
    }
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * n));
}
#endif

}  // namespace

// Interleaved registration: funnel, then the reference, for each shape.
BENCHMARK(BM_funnel_score_row);
#ifdef FUNNEL_HAVE_LIBLINEAR
BENCHMARK(BM_liblinear_predict_probability_row);
#endif
BENCHMARK(BM_funnel_score_batch)->Arg(1000)->Arg(100000);
#ifdef FUNNEL_HAVE_LIBLINEAR
BENCHMARK(BM_liblinear_predict_probability_batch)->Arg(1000)->Arg(100000);
#endif

int main(int argc, char** argv) {
  if (argc >= 4 && std::strcmp(argv[1], "train") == 0) {
    return train_mode(argv[2], std::stod(argv[3]), argc >= 5 ? std::stod(argv[4]) : 0.01,
                      argc >= 6 ? std::stod(argv[5]) : 0.0, argc >= 7 ? std::stod(argv[6]) : 0.0);
  }
  if (argc >= 3 && std::strcmp(argv[1], "solvers") == 0) {
    std::vector<sc::logistic_solver> solvers;
    for (int i = 3; i < argc; ++i) {
      solvers.push_back(funnel::parse_enum<sc::logistic_solver>(argv[i], "bench_logistic"));
    }
    return solvers_mode(argv[2], solvers);
  }
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
