// The C++ half of benchmarks/python/overhead.py: the same transform + score calls the Python
// half times, on the same files, timed the same way (median of `reps` runs, process CPU time).
//
//   bench_python_overhead <features.json> <model.json> <rows.csv> <reps>
//
// prints "cpp <rows> <median transform s> <median score s> <median total s>".
#include <funnel/core/csv.hpp>
#include <funnel/core/timer.hpp>
#include <funnel/features/pipeline.hpp>
#include <funnel/scoring/xgboost.hpp>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <string>
#include <vector>

namespace {

double cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: %s features.json model.json rows.csv reps\n", argv[0]);
    return 2;
  }
  const auto features = funnel::features::any_pipeline::load(argv[1]);
  const auto model = funnel::scoring::load_xgboost(argv[2]);
  const funnel::features::table rows(features.get_schema(), funnel::read_csv(argv[3]));
  const auto reps = std::stoul(argv[4]);
  std::vector<double> transform_s, score_s, total_s;
  float sink = 0;
  for (std::size_t r = 0; r < reps; ++r) {
    const double t0 = cpu_seconds();
    const funnel::matrix x = features.transform(rows.view());
    const double t1 = cpu_seconds();
    std::vector<float> margins(x.rows() * model.num_groups());
    model.margins_batch(x, margins);
    const double t2 = cpu_seconds();
    sink += margins[r % margins.size()];
    transform_s.push_back(t1 - t0);
    score_s.push_back(t2 - t1);
    total_s.push_back(t2 - t0);
  }
  std::printf("cpp %zu %.6f %.6f %.6f\n", rows.rows(), median(transform_s), median(score_s),
              median(total_s));
  return sink == 12345.0F ? 1 : 0;  // keeps the work observable
}
