// A realistic feature pipeline on lending_club.csv (22 input columns: 17 numeric, 5
// categorical; 30 components; ~120 output floats), timed four ways in one process:
// compile-time pipeline vs run-time (JSON-loaded) pipeline, one serving row at a time vs batch.
// Allocations per row are counted on the serving path with a replaced global operator new.
//
//   (cd build/release && ./benchmarks/features/bench_features --benchmark_repetitions=5
//       --benchmark_enable_random_interleaving=true --benchmark_report_aggregates_only=true)
#include <funnel/features.hpp>

#include <benchmark/benchmark.h>

#include <string>
#include <vector>

long funnel_test_allocations() noexcept;

namespace ff = funnel::features;

namespace {

const std::vector<std::string> numeric = {"funded_amnt",
                                          "int_rate",
                                          "annual_inc",
                                          "delinq_2yrs",
                                          "inq_last_6mths",
                                          "revol_util",
                                          "acc_now_delinq",
                                          "open_il_6m",
                                          "open_il_12m",
                                          "open_il_24m",
                                          "total_bal_il",
                                          "all_util",
                                          "inq_fi",
                                          "inq_last_12m",
                                          "delinq_amnt",
                                          "num_il_tl",
                                          "total_il_high_credit_limit"};
const std::vector<std::string> categorical = {
    "term", "sub_grade", "addr_state", "verification_status", "emp_length", "Class"};

ff::schema make_schema() {
  std::vector<ff::column_spec> cols;
  for (const auto& c : numeric) cols.push_back({c, ff::column_type::numeric});
  for (const auto& c : categorical) cols.push_back({c, ff::column_type::string});
  return ff::schema(cols);
}

struct fixture {
  ff::schema schema = make_schema();
  ff::table data{schema, funnel::read_csv(FUNNEL_LENDING_CLUB)};
  std::vector<float> y;

  fixture() {
    for (auto c : data.view().string_column(schema.index("Class"))) y.push_back(c == "bad");
  }

  auto make_static() const {
    ff::imputer median;
    median.strategy = ff::impute_strategy::median;
    ff::log_transform slog;
    slog.signed_log = true;
    ff::quantile_bucketizer q;
    q.num_bins = 16;
    const auto scaled = [&](const std::string& c) {
      return ff::numeric_column(c, {median, ff::standard_scaler{}}, {.missing_indicator = true});
    };
    const auto logged = [&](const std::string& c) {
      return ff::numeric_column(c, {median, slog, ff::robust_scaler{}});
    };
    return ff::pipeline(
        schema, scaled("funded_amnt"), scaled("int_rate"), logged("annual_inc"),
        scaled("delinq_2yrs"), scaled("inq_last_6mths"), scaled("revol_util"),
        scaled("acc_now_delinq"), scaled("open_il_6m"), scaled("open_il_12m"),
        scaled("open_il_24m"), logged("total_bal_il"), scaled("all_util"), scaled("inq_fi"),
        scaled("inq_last_12m"), logged("delinq_amnt"), scaled("num_il_tl"),
        logged("total_il_high_credit_limit"),
        ff::numeric_column("int_rate", {q}, {.output = "rate_bin"}),
        ff::interaction("funded_amnt", "int_rate"),
        ff::interaction("total_bal_il", "annual_inc", {.op = ff::interaction_op::ratio}),
        ff::one_hot("term"), ff::one_hot("verification_status"),
        ff::one_hot("emp_length", {.handle_unknown = ff::unknown_policy::ignore}),
        ff::one_hot("addr_state",
                    {.handle_unknown = ff::unknown_policy::other, .min_frequency = 100}),
        ff::ordinal_encoder("sub_grade", {.handle_unknown = ff::unknown_policy::ignore}),
        ff::target_encoder("sub_grade", {.smoothing = 20.0}),
        ff::target_encoder("addr_state", {.smoothing = 50.0}),
        ff::count_encoder("addr_state", {.normalize = true}),
        ff::feature_hasher({"addr_state", "sub_grade", "emp_length"}, {.num_features = 32}),
        ff::hashed_cross({"term", "sub_grade"}, {.num_buckets = 32}));
  }
};

const fixture& fx() {
  static const fixture f;
  return f;
}

// Rows prepared once (as a serving host keeps one `row` per thread and refills it per request).
template <class P>
std::vector<ff::row> make_rows(const P& p) {
  const auto& b = fx().data.view();
  std::vector<ff::row> rows;
  for (std::size_t i = 0; i < b.rows(); ++i) {
    ff::row r(p.get_schema());
    for (std::size_t c = 0; c < p.get_schema().size(); ++c) {
      if (p.get_schema()[c].type == ff::column_type::numeric) {
        r.set(c, b.numeric_column(c)[i]);
      } else {
        r.set(c, b.string_column(c)[i]);
      }
    }
    rows.push_back(std::move(r));
  }
  return rows;
}

template <class P>
void run_rows(benchmark::State& state, const P& p) {
  const auto rows = make_rows(p);
  std::vector<float> out(p.width());
  std::size_t i = 0;
  std::int64_t n = 0;
  const long before = funnel_test_allocations();
  for (auto _ : state) {
    p.transform(rows[i], out, i);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
    if (++i == rows.size()) i = 0;
    ++n;
  }
  const long allocs = funnel_test_allocations() - before;
  state.SetItemsProcessed(n);
  state.counters["allocs_per_row"] = static_cast<double>(allocs) / static_cast<double>(n);
  state.counters["outputs"] = static_cast<double>(p.width());
}

template <class P>
void run_batch(benchmark::State& state, const P& p) {
  const auto& b = fx().data.view();
  funnel::matrix m(b.rows(), p.width());
  for (auto _ : state) {
    p.transform(b, std::span<float>(m.data(), m.size()));
    benchmark::DoNotOptimize(m.data());
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(b.rows()));
}

const auto& static_pipeline() {
  static const auto p = [] {
    auto q = fx().make_static();
    q.fit(fx().data.view(), fx().y);
    return q;
  }();
  return p;
}
const ff::any_pipeline& any_pipeline() {
  static const auto p = ff::any_pipeline::from_json(static_pipeline().to_json());
  return p;
}

void row_static(benchmark::State& s) {
  run_rows(s, static_pipeline());
}
void row_any(benchmark::State& s) {
  run_rows(s, any_pipeline());
}
void batch_static(benchmark::State& s) {
  run_batch(s, static_pipeline());
}
void batch_any(benchmark::State& s) {
  run_batch(s, any_pipeline());
}

void fit_static(benchmark::State& s) {
  for (auto _ : s) {
    auto p = fx().make_static();
    p.fit(fx().data.view(), fx().y);
    benchmark::DoNotOptimize(&p);
  }
  s.SetItemsProcessed(s.iterations() * static_cast<std::int64_t>(fx().data.rows()));
}

}  // namespace

BENCHMARK(row_static)->MinTime(0.3);
BENCHMARK(row_any)->MinTime(0.3);
BENCHMARK(batch_static)->MinTime(0.3);
BENCHMARK(batch_any)->MinTime(0.3);
BENCHMARK(fit_static)->MinTime(0.3);

BENCHMARK_MAIN();
