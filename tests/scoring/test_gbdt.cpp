#include <funnel/core/error.hpp>
#include <funnel/core/random.hpp>
#include <funnel/metrics/classification.hpp>
#include <funnel/scoring/gbdt.hpp>
#include <funnel/scoring/logistic.hpp>
#include <funnel/scoring/xgboost.hpp>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>

#include "funnel_catch.hpp"
#include "scoring/gbdt_detail.hpp"

using namespace funnel::scoring;

namespace {

struct dataset {
  funnel::matrix x;
  std::vector<float> y;
};

/// y = 1 when x0 + x1 > 1 (with 10% label noise); x2 is noise; 10% of x1 missing, where the label
/// is mostly 1 (so the missing direction has to be learned).
dataset binary_problem(std::size_t n, std::uint64_t seed) {
  funnel::rng r(seed);
  dataset d{funnel::matrix(n, 3), std::vector<float>(n)};
  for (std::size_t i = 0; i < n; ++i) {
    const double a = r.uniform();
    const double b = r.uniform();
    d.x(i, 0) = static_cast<float>(a);
    d.x(i, 1) = static_cast<float>(b);
    d.x(i, 2) = static_cast<float>(r.uniform());
    bool label = a + b > 1.0;
    if (r.uniform() < 0.1) {
      d.x(i, 1) = std::nanf("");
      label = r.uniform() < 0.9;
    }
    if (r.uniform() < 0.1) label = !label;
    d.y[i] = label ? 1.0F : 0.0F;
  }
  return d;
}

/// Like agaricus: `cols` indicator features, each present (1) with probability `density` and
/// missing otherwise, plus one constant column; y = 1 when feature 3 or feature 7 is present.
dataset indicator_problem(std::size_t n, std::size_t cols, double density, std::uint64_t seed) {
  funnel::rng r(seed);
  dataset d{funnel::matrix(n, cols + 1, std::nanf("")), std::vector<float>(n)};
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t f = 0; f < cols; ++f) {
      if (r.uniform() < density) d.x(i, f) = 1.0F;
    }
    d.x(i, cols) = 2.0F;  // constant: can never split
    d.y[i] = !std::isnan(d.x(i, 3)) || !std::isnan(d.x(i, 7)) ? 1.0F : 0.0F;
  }
  return d;
}

/// `cols` standard-normal features (x3 missing in `missing` of the rows); y from x0 and x1 * x2
/// with noise (sign `s` on the product).
dataset gaussian_problem(std::size_t n, std::size_t cols, double missing, double s,
                         std::uint64_t seed) {
  funnel::rng r(seed);
  dataset d{funnel::matrix(n, cols), std::vector<float>(n)};
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t f = 0; f < cols; ++f) d.x(i, f) = static_cast<float>(r.normal());
    if (r.uniform() < missing) d.x(i, 3) = std::nanf("");
    d.y[i] = d.x(i, 0) + s * d.x(i, 1) * d.x(i, 2) + 0.5 * r.normal() > 0 ? 1.0F : 0.0F;
  }
  return d;
}

/// The rows of `x` as CSR, a NaN entry not stored (the libsvm reading of missing).
funnel::csr_matrix csr_without_nan(const funnel::matrix& x) {
  funnel::csr_matrix csr;
  csr.cols = x.cols();
  for (std::size_t i = 0; i < x.rows(); ++i) {
    for (std::size_t f = 0; f < x.cols(); ++f) {
      if (std::isnan(x(i, f))) continue;
      csr.indices.push_back(static_cast<std::uint32_t>(f));
      csr.values.push_back(x(i, f));
    }
    csr.row_ptr.push_back(csr.indices.size());
  }
  return csr;
}

double auc_of(const tree_ensemble& m, const dataset& d) {
  std::vector<float> p(d.y.size());
  m.predict_batch(d.x, p);
  return funnel::metrics::roc_auc(d.y, p);
}

}  // namespace

TEST_CASE("gbdt: binary logistic learns the boundary and the missing-value direction") {
  const auto train = binary_problem(4000, 1);
  const auto test = binary_problem(2000, 2);
  gbdt_options o;
  o.rounds = 40;
  o.max_depth = 4;
  o.learning_rate = 0.2;
  const auto r = fit_gbdt({train.x, train.y}, o);
  CHECK(r.model.num_trees() == 40);
  CHECK(auc_of(r.model, test) > 0.85);
  // Rows with x1 missing are mostly positive: the learned default direction must say so.
  const std::vector<float> missing_row{0.1F, std::nanf(""), 0.5F};
  const std::vector<float> negative_row{0.1F, 0.1F, 0.5F};
  CHECK(r.model.predict(missing_row) > 0.6F);
  CHECK(r.model.predict(negative_row) < 0.4F);
}

TEST_CASE("gbdt: deterministic for a seed; subsampling and column sampling change the model") {
  const auto d = binary_problem(2000, 3);
  gbdt_options o;
  o.rounds = 10;
  o.subsample = 0.7;
  o.colsample_bytree = 0.67;
  o.seed = 5;
  const auto a = fit_gbdt({d.x, d.y}, o);
  const auto b = fit_gbdt({d.x, d.y}, o);
  CHECK(a.model == b.model);
  o.seed = 6;
  const auto c = fit_gbdt({d.x, d.y}, o);
  CHECK_FALSE(a.model == c.model);
}

TEST_CASE("gbdt: two histogram threads give the same trees as one on this data") {
  const auto d = binary_problem(20000, 4);
  gbdt_options o;
  o.rounds = 5;
  const auto one = fit_gbdt({d.x, d.y}, o);
  o.threads = 2;
  const auto two = fit_gbdt({d.x, d.y}, o);
  REQUIRE(one.model.num_trees() == two.model.num_trees());
  std::vector<float> p1(d.y.size());
  std::vector<float> p2(d.y.size());
  one.model.predict_batch(d.x, p1);
  two.model.predict_batch(d.x, p2);
  double max_diff = 0;
  for (std::size_t i = 0; i < p1.size(); ++i)
    max_diff = std::max(max_diff, static_cast<double>(std::fabs(p1[i] - p2[i])));
  CHECK(max_diff < 1e-5);
}

TEST_CASE("gbdt: squared error, poisson and multi-class fit what they should") {
  funnel::rng r(9);
  const std::size_t n = 3000;
  funnel::matrix x(n, 2);
  std::vector<float> reg(n);
  std::vector<float> counts(n);
  std::vector<float> cls(n);
  for (std::size_t i = 0; i < n; ++i) {
    x(i, 0) = static_cast<float>(r.uniform(-1, 1));
    x(i, 1) = static_cast<float>(r.uniform(-1, 1));
    reg[i] = static_cast<float>(3.0 * x(i, 0) + r.normal(0, 0.1));
    // Poisson with mean exp(x0): a sum of exponential inter-arrival times below 1.
    const double mean = std::exp(x(i, 0));
    double t = 0;
    int c = 0;
    while ((t += -std::log(1.0 - r.uniform()) / mean) < 1.0) ++c;
    counts[i] = static_cast<float>(c);
    cls[i] = static_cast<float>(x(i, 0) < -0.33F ? 0 : (x(i, 0) < 0.33F ? 1 : 2));
  }
  gbdt_options o;
  o.rounds = 60;
  o.max_depth = 3;
  o.learning_rate = 0.2;
  o.objective = gbdt_objective::squared_error;
  const auto sq = fit_gbdt({x, reg}, o);
  double sse = 0;
  for (std::size_t i = 0; i < n; ++i) sse += std::pow(sq.model.predict(x.row(i)) - reg[i], 2);
  CHECK(std::sqrt(sse / n) < 0.2);

  o.objective = gbdt_objective::poisson;
  const auto po = fit_gbdt({x, counts}, o);
  const std::vector<float> at_zero{0.0F, 0.0F};
  const std::vector<float> at_one{0.9F, 0.0F};
  CHECK_THAT(po.model.predict(at_zero), WithinAbs(1.0, 0.25));
  CHECK_THAT(po.model.predict(at_one), WithinAbs(std::exp(0.9), 0.6));

  o.objective = gbdt_objective::multi_softmax;
  o.num_classes = 3;
  o.rounds = 20;
  const auto mc = fit_gbdt({x, cls}, o);
  CHECK(mc.model.num_trees() == 60);  // one tree per class per round
  std::size_t right = 0;
  std::vector<float> p(3);
  for (std::size_t i = 0; i < n; ++i) {
    mc.model.predict(x.row(i), p);
    right += static_cast<std::size_t>(std::max_element(p.begin(), p.end()) - p.begin()) ==
             static_cast<std::size_t>(cls[i]);
  }
  CHECK(static_cast<double>(right) / n > 0.97);
}

TEST_CASE("gbdt: lambdarank orders documents by relevance within queries") {
  funnel::rng r(11);
  const std::size_t queries = 100;
  const std::size_t docs = 20;
  funnel::matrix x(queries * docs, 2);
  std::vector<float> rel(queries * docs);
  std::vector<std::size_t> groups(queries, docs);
  for (std::size_t i = 0; i < queries * docs; ++i) {
    x(i, 0) = static_cast<float>(r.uniform());
    x(i, 1) = static_cast<float>(r.uniform());
    rel[i] = static_cast<float>(std::min(4.0, std::floor(5.0 * x(i, 0) * x(i, 0))));
  }
  gbdt_options o;
  o.objective = gbdt_objective::lambdarank;
  o.rounds = 30;
  o.max_depth = 3;
  o.learning_rate = 0.1;
  const auto metric = eval_metric::ndcg(10);
  const auto res = fit_gbdt({x, rel, {}, groups}, o, nullptr, &metric);
  CHECK(res.train_history.back() > 0.95);
  CHECK(res.train_history.back() > res.train_history.front() - 1e-9);
  std::vector<std::size_t> bad_groups(queries, docs - 1);
  CHECK_THROWS_WITH(fit_gbdt({x, rel, {}, bad_groups}, o),
                    ContainsSubstring("query groups sum to 1900 but there are 2000 rows"));
  CHECK_THROWS_WITH(fit_gbdt({x, rel}, o), ContainsSubstring("lambdarank needs query groups"));
}

TEST_CASE("gbdt: early stopping keeps the best iteration; progress reports estimates") {
  const auto train = binary_problem(1500, 12);
  const auto valid = binary_problem(1500, 13);
  gbdt_options o;
  o.rounds = 300;
  o.max_depth = 6;
  o.learning_rate = 0.5;
  o.early_stopping_rounds = 10;
  std::size_t calls = 0;
  double last_remaining = -1;
  o.on_progress = [&](const gbdt_progress& p) {
    ++calls;
    last_remaining = p.remaining_seconds;
    CHECK(p.valid_metric.has_value());
  };
  const auto metric = eval_metric::logloss();
  const gbdt_data valid_data{valid.x, valid.y};
  const auto r = fit_gbdt({train.x, train.y}, o, &valid_data, &metric);
  CHECK(r.best_iteration < 300);
  CHECK(r.model.num_trees() == r.best_iteration);
  CHECK(calls == r.valid_history.size());
  CHECK(calls == r.best_iteration + 10);
  const auto best = *std::min_element(r.valid_history.begin(), r.valid_history.end());
  CHECK(r.valid_history[r.best_iteration - 1] == best);
  CHECK(last_remaining >= 0);
}

TEST_CASE("gbdt: monotone constraints hold on every prediction") {
  const auto d = binary_problem(3000, 14);
  gbdt_options o;
  o.rounds = 30;
  o.monotone = {1, 1, 0};
  const auto r = fit_gbdt({d.x, d.y}, o);
  funnel::rng g(15);
  for (int t = 0; t < 200; ++t) {
    std::vector<float> row{static_cast<float>(g.uniform()), static_cast<float>(g.uniform()),
                           static_cast<float>(g.uniform())};
    float prev = -1;
    for (int s = 0; s <= 20; ++s) {
      row[0] = static_cast<float>(s) / 20.0F;
      const float p = r.model.predict(row);
      CHECK(p >= prev - 1e-6F);
      prev = p;
    }
  }
}

TEST_CASE("gbdt: a trained model round-trips through XGBoost JSON with identical margins") {
  const auto d = binary_problem(1000, 16);
  gbdt_options o;
  o.rounds = 15;
  o.base_score = 0.5;
  const auto r = fit_gbdt({d.x, d.y}, o);
  const auto back = from_xgboost_json(to_xgboost_json(r.model));
  for (std::size_t i = 0; i < 200; ++i) CHECK(back.score(d.x.row(i)) == r.model.score(d.x.row(i)));
}

TEST_CASE("gbdt: bad input gets typed errors naming the row or field") {
  auto d = binary_problem(100, 17);
  gbdt_options o;
  o.rounds = 2;
  auto y = d.y;
  y[7] = 2.0F;
  CHECK_THROWS_WITH(fit_gbdt({d.x, y}, o),
                    ContainsSubstring("label of row 7 is 2; binary_logistic needs 0 or 1"));
  y[7] = std::nanf("");
  CHECK_THROWS_WITH(fit_gbdt({d.x, y}, o), ContainsSubstring("label of row 7 is nan"));
  CHECK_THROWS_AS(fit_gbdt({funnel::matrix(0, 3), {}}, o), funnel::invalid_argument);
  std::vector<float> short_y(50);
  CHECK_THROWS_AS(fit_gbdt({d.x, short_y}, o), funnel::dimension_mismatch);
  funnel::matrix other(100, 2);
  const gbdt_data valid{other, d.y};
  CHECK_THROWS_WITH(fit_gbdt({d.x, d.y}, o, &valid),
                    ContainsSubstring("validation data has 2 columns, training data 3"));
  o.objective = gbdt_objective::multi_softmax;
  o.num_classes = 2;
  auto neg = d.y;
  neg[3] = -1;
  CHECK_THROWS_WITH(fit_gbdt({d.x, neg}, o), ContainsSubstring("label of row 3 is -1"));
  o = gbdt_options{};
  o.early_stopping_rounds = 5;
  CHECK_THROWS_WITH(fit_gbdt({d.x, d.y}, o),
                    ContainsSubstring("needs a validation set and a metric"));
  o = gbdt_options{};
  o.max_bins = 300;
  CHECK_THROWS_AS(fit_gbdt({d.x, d.y}, o), funnel::invalid_argument);
  o = gbdt_options{};
  o.objective = static_cast<gbdt_objective>(7);
  CHECK_THROWS_WITH(fit_gbdt({d.x, d.y}, o), ContainsSubstring("unknown objective 7"));
  // An infinite feature value has no bin (it was binned as missing before): rejected by name,
  // as XGBoost does, from dense rows and from CSR rows, in either storage.
  o = gbdt_options{};
  o.rounds = 2;
  for (const float inf :
       {std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity()}) {
    auto x = d.x;
    x(41, 2) = inf;
    CHECK_THROWS_WITH(fit_gbdt({x, d.y}, o),
                      ContainsSubstring("feature 2 of row 41 is") && ContainsSubstring("inf"));
    const auto sparse = indicator_problem(300, 20, 0.05, 9);
    auto xs = sparse.x;
    xs(250, 5) = inf;
    CHECK_THROWS_WITH(fit_gbdt({xs, sparse.y}, o), ContainsSubstring("feature 5 of row 250"));
    funnel::csr_matrix csr;
    csr.cols = 4;
    csr.indices = {0, 3, 1};
    csr.values = {1.0F, inf, 2.0F};
    csr.row_ptr = {0, 2, 3};
    const std::vector<float> y2{0.0F, 1.0F};
    gbdt_data from_csr{{}, y2};
    from_csr.sparse_features = &csr;
    CHECK_THROWS_WITH(fit_gbdt(from_csr, o), ContainsSubstring("feature 3 of row 0"));
  }
  // A CSR matrix (e.g. a libsvm file of four lines, one index 4e9) may not make the trainer
  // allocate its per-feature state for billions of columns that hold nothing.
  funnel::csr_matrix wide;
  wide.cols = 4'000'000'001;
  wide.indices = {4'000'000'000U, 1, 2, 3};
  wide.values = {1.0F, 1.0F, 1.0F, 1.0F};
  wide.row_ptr = {0, 1, 2, 3, 4};
  const std::vector<float> y4{1.0F, 0.0F, 1.0F, 0.0F};
  gbdt_data too_wide{{}, y4};
  too_wide.sparse_features = &wide;
  CHECK_THROWS_WITH(fit_gbdt(too_wide, o),
                    ContainsSubstring("4000000001 columns for 4 stored values in 4 rows"));
}

TEST_CASE("gbdt: misuse is refused by name (the session 7 attack on the training entry points)") {
  const auto d = binary_problem(200, 23);
  gbdt_options o;
  o.rounds = 3;
  // Query groups whose sum wraps around (SIZE_MAX + 201 = 200) wrote past a buffer; an empty
  // group made the ndcg metric throw mid-fit.
  gbdt_data grouped{d.x, d.y};
  const std::vector<std::size_t> wrapping{std::numeric_limits<std::size_t>::max(), 201};
  grouped.group_sizes = wrapping;
  o.objective = gbdt_objective::lambdarank;
  CHECK_THROWS_WITH(fit_gbdt(grouped, o),
                    ContainsSubstring("query group 0 has 18446744073709551615 "
                                      "rows; only 200 are left"));
  const std::vector<std::size_t> with_empty{100, 0, 100};
  grouped.group_sizes = with_empty;
  CHECK_THROWS_WITH(fit_gbdt(grouped, o), ContainsSubstring("query group 1 is empty"));
  // Lambdarank's gain 2^label - 1 overflows past label 31 (was: a parse error of the model).
  const std::vector<std::size_t> two{100, 100};
  grouped.group_sizes = two;
  auto graded = d.y;
  graded[5] = 2000;
  CHECK_THROWS_WITH(
      fit_gbdt({d.x, graded, {}, two}, o),
      ContainsSubstring("label of row 5 is 2000; lambdarank needs labels >= 0 and <= 31"));
  o = gbdt_options{};
  o.rounds = 3;
  // Threads, classes and rows are bounded before anything is allocated.
  o.threads = 100'000;
  CHECK_THROWS_WITH(fit_gbdt({d.x, d.y}, o), ContainsSubstring("threads 100000 must be <= 1024"));
  o.threads = 1;
  o.objective = gbdt_objective::multi_softmax;
  o.num_classes = std::size_t{1} << 62;
  CHECK_THROWS_WITH(fit_gbdt({d.x, d.y}, o),
                    ContainsSubstring("num_classes 4611686018427387904 must be <= 65536"));
  // Options that are not finite, or out of their range, name themselves (were: a parse error of
  // the trained model, or accepted silently).
  const auto refused = [&](const std::function<void(gbdt_options&)>& set, const char* what) {
    gbdt_options bad;
    bad.rounds = 2;
    set(bad);
    CHECK_THROWS_WITH(fit_gbdt({d.x, d.y}, bad), ContainsSubstring(what));
  };
  const double inf = std::numeric_limits<double>::infinity();
  refused([&](gbdt_options& b) { b.learning_rate = inf; }, "learning_rate inf must be");
  refused([&](gbdt_options& b) { b.scale_pos_weight = inf; }, "scale_pos_weight inf must be");
  refused([&](gbdt_options& b) { b.poisson_max_delta_step = -1; }, "poisson_max_delta_step -1");
  refused([&](gbdt_options& b) { b.poisson_max_delta_step = std::nan(""); },
          "poisson_max_delta_step nan");
  refused(
      [&](gbdt_options& b) {
        b.objective = gbdt_objective::squared_error;
        b.base_score = inf;
      },
      "base_score inf must be finite");
  refused([&](gbdt_options& b) { b.growth = static_cast<growth_policy>(77); },
          "unknown growth policy 77");
  refused([&](gbdt_options& b) { b.monotone = {5, 0, 0}; }, "monotone[0] = 5 must be -1, 0 or 1");
  // Finite options whose model overflows: refused by name, not as a model parse error.
  refused([&](gbdt_options& b) { b.learning_rate = 1e300; }, "not finite");
  refused(
      [&](gbdt_options& b) {
        b.objective = gbdt_objective::squared_error;
        b.base_score = 1e300;
      },
      "not finite");
  // lambda = 0 with min_child_weight = 0 (both allowed): an empty child's weight is 0, not 0/0.
  gbdt_options no_reg;
  no_reg.rounds = 5;
  no_reg.lambda = 0;
  no_reg.min_child_weight = 0;
  const auto fit = fit_gbdt({d.x, d.y}, no_reg);
  CHECK(auc_of(fit.model, d) > 0.7);
  // Weights that sum to zero leave nothing to learn from.
  const std::vector<float> zero(d.y.size(), 0.0F);
  CHECK_THROWS_WITH(fit_gbdt({d.x, d.y, zero}, gbdt_options{}),
                    ContainsSubstring("training data: weights sum to 0"));
  // Metrics that do not fit the objective or the data, or return NaN, stop the fit by name
  // instead of steering early stopping with zeros or garbage.
  gbdt_options es;
  es.rounds = 20;
  es.early_stopping_rounds = 3;
  const gbdt_data plain{d.x, d.y};
  const auto ndcg = eval_metric::ndcg(10);
  CHECK_THROWS_WITH(fit_gbdt(plain, es, &plain, &ndcg),
                    ContainsSubstring("ndcg@10 needs query groups"));
  eval_metric nan_metric{"nan", false,
                         [](std::span<const float>, std::span<const double>, std::size_t,
                            std::span<const std::size_t>) { return std::nan(""); }};
  CHECK_THROWS_WITH(fit_gbdt(plain, es, &plain, &nan_metric),
                    ContainsSubstring("metric nan is nan on the training data after round 1"));
  eval_metric empty_metric;
  empty_metric.name = "x";
  CHECK_THROWS_WITH(fit_gbdt(plain, es, &plain, &empty_metric),
                    ContainsSubstring("metric x has no compute function"));
  gbdt_options multi;
  multi.rounds = 2;
  multi.objective = gbdt_objective::multi_softmax;
  multi.num_classes = 3;
  for (const auto& m : {eval_metric::rmse(), eval_metric::poisson_nll()}) {
    CAPTURE(m.name);
    CHECK_THROWS_WITH(fit_gbdt(plain, multi, &plain, &m),
                      ContainsSubstring("one prediction per row"));
  }
  gbdt_options rank;
  rank.rounds = 2;
  rank.objective = gbdt_objective::lambdarank;
  const gbdt_data queries{d.x, d.y, {}, two};
  const auto logloss = eval_metric::logloss();
  CHECK_THROWS_WITH(fit_gbdt(queries, rank, &queries, &logloss),
                    ContainsSubstring("logloss needs probabilities"));
}

TEST_CASE("gbdt: a one-valued feature splits present versus missing (libsvm indicators)") {
  // Like agaricus: each feature is 1 when present and missing otherwise; the label is feature 1.
  funnel::rng r(21);
  const std::size_t n = 2000;
  funnel::matrix x(n, 3, std::nanf(""));
  std::vector<float> y(n);
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t f = 0; f < 3; ++f) {
      if (r.uniform() < 0.5) x(i, f) = 1.0F;
    }
    y[i] = std::isnan(x(i, 1)) ? 0.0F : 1.0F;
  }
  gbdt_options o;
  o.rounds = 10;
  const auto m = fit_gbdt({x, y}, o).model;
  const std::vector<float> present{std::nanf(""), 1.0F, std::nanf("")};
  const std::vector<float> absent{1.0F, std::nanf(""), 1.0F};
  CHECK(m.predict(present) > 0.9F);
  CHECK(m.predict(absent) < 0.1F);
}

TEST_CASE("gbdt: feature names given in the options are kept on the model") {
  const auto d = binary_problem(400, 5);
  gbdt_options o;
  o.rounds = 3;
  o.feature_names = {"a", "b", "noise"};
  const auto r = fit_gbdt({d.x, d.y}, o);
  CHECK(r.model.feature_names() == o.feature_names);
  CHECK(to_xgboost_json(r.model)["learner"]["feature_names"] == funnel::json(o.feature_names));
  o.feature_names = {"a", "b"};
  CHECK_THROWS_AS(fit_gbdt({d.x, d.y}, o), funnel::dimension_mismatch);
  o.feature_names = {"a", "b", "a"};
  CHECK_THROWS_AS(fit_gbdt({d.x, d.y}, o), funnel::invalid_argument);
}

TEST_CASE("gbdt: histograms hold only the bins that exist; mostly-missing data is stored sparse") {
  using namespace funnel::scoring::detail;
  const auto d = indicator_problem(500, 20, 0.1, 30);
  worker_pool pool(2);
  const auto b = bin_features(d.x, 256, pool);
  CHECK(b.sparse);
  CHECK(b.slots == 20 * 2);  // each indicator: present and missing; the constant column: none
  CHECK(b.offset[20] == b.offset[21]);
  CHECK(b.column_of[20] == -1);
  std::size_t present = 0;
  for (std::size_t i = 0; i < 500; ++i) {
    for (std::size_t f = 0; f < 20; ++f) {
      const bool has = !std::isnan(d.x(i, f));
      present += has ? 1 : 0;
      CHECK(b.local_slot(static_cast<std::uint32_t>(i), f) == (has ? 0U : 1U));
    }
  }
  CHECK(b.entries.size() == present);
  // Dense numeric data (300 distinct values): XGBoost's 256 bins, no missing slot without NaN;
  // with NaN, 255 bins and the missing slot.
  const auto dense = binary_problem(300, 7);
  const auto db = bin_features(dense.x, 256, pool);
  CHECK_FALSE(db.sparse);
  CHECK(db.offset[1] - db.offset[0] == 256);
  CHECK(db.has_missing[0] == 0);
  CHECK(db.has_missing[1] == 1);
  CHECK(db.offset[2] - db.offset[1] == 256);
}

TEST_CASE("gbdt: bins are the quantile cuts of each feature, for every cardinality and storage") {
  using namespace funnel::scoring::detail;
  // Columns with 1, 2, 3, 8, 9, 16, 17, 40 and 1,000+ distinct values (some with -0 and 0, some
  // with NaN), in the dense and the sparse storage, from the dense matrix and from CSR rows.
  const std::vector<std::size_t> cardinality{1, 2, 3, 8, 9, 16, 17, 40, 5000};
  const std::size_t n = 3000;
  funnel::rng r(17);
  funnel::matrix x(n, cardinality.size());
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t f = 0; f < cardinality.size(); ++f) {
      const auto v = static_cast<float>(r.below(cardinality[f])) - 2.0F;
      x(i, f) = v == 0.0F && r.uniform() < 0.5 ? -0.0F : v;
      if (f % 2 == 1 && r.uniform() < 0.3) x(i, f) = std::nanf("");
    }
  }
  // The reference: up to 256 distinct values each start a bin but the smallest, and the last cut
  // is XGBoost's, max + (|max| + 1e-5); more distinct values are cut as XGBoost's sketch cuts
  // them (pinned against XGBoost itself in "the cuts are XGBoost's"): here, the cuts of the dense
  // matrix in the dense storage, which every other input and storage must repeat.
  std::vector<std::vector<float>> sketched(cardinality.size());
  const auto reference_cuts = [&](std::size_t f) {
    std::vector<float> v;
    for (std::size_t i = 0; i < n; ++i) {
      if (!std::isnan(x(i, f))) v.push_back(x(i, f));
    }
    std::sort(v.begin(), v.end());
    std::vector<float> distinct{v[0]};
    for (const float e : v) {
      if (e != distinct.back()) distinct.push_back(e);
    }
    if (distinct.size() > 256) return sketched[f];
    std::vector<float> cuts(distinct.begin() + 1, distinct.end());
    cuts.push_back(v.back() + (std::fabs(v.back()) + 1e-5F));
    return cuts;
  };
  const funnel::csr_matrix csr = csr_without_nan(x);
  worker_pool pool(2);
  {
    const auto b = bin_features(x, 256, pool, bin_storage::dense);
    sketched = b.cuts;
    REQUIRE(sketched.back().size() == 256);  // 5,000 values: XGBoost's 256 bins
    CHECK(std::adjacent_find(sketched.back().begin(), sketched.back().end(),
                             std::greater_equal<>()) == sketched.back().end());
  }
  for (const auto storage : {bin_storage::dense, bin_storage::sparse}) {
    for (const bool from_csr : {false, true}) {
      CAPTURE(storage == bin_storage::sparse, from_csr);
      const auto b =
          from_csr ? bin_features(csr, 256, pool, storage) : bin_features(x, 256, pool, storage);
      for (std::size_t f = 0; f < cardinality.size(); ++f) {
        CAPTURE(f);
        const auto cuts = reference_cuts(f);
        REQUIRE(b.cuts[f].size() == cuts.size());
        for (std::size_t k = 0; k < cuts.size(); ++k) CHECK(b.cuts[f][k] == cuts[k]);
        CHECK(b.has_missing[f] == (f % 2 == 1 ? 1 : 0));
        if (b.column_of[f] < 0) {
          CHECK(cardinality[f] == 1);
          continue;
        }
        for (std::size_t i = 0; i < n; ++i) {
          const float v = x(i, f);
          const auto expected =
              std::isnan(v) ? cuts.size()
                            : static_cast<std::size_t>(
                                  std::upper_bound(cuts.begin(), cuts.end(), v) - cuts.begin());
          if (b.local_slot(static_cast<std::uint32_t>(i), f) != expected) {
            FAIL_CHECK("row " << i << " value " << v << ": slot "
                              << b.local_slot(static_cast<std::uint32_t>(i), f) << ", expected "
                              << expected);
            break;
          }
        }
      }
    }
  }
}

TEST_CASE("gbdt: the cuts are XGBoost's (hist, max_bin 256 and 32, with and without weights)") {
  using namespace funnel::scoring::detail;
  // tests/data/trees/xgb/cuts.txt holds XGBoost 1.7.4's inner cuts of five columns drawn from
  // the LCG below, at 3,000 rows (its sketch exact), 12,000 and 60,000 (its sketch merging
  // levels), max_bin 256 and 32, unweighted and with row weights 0, 0.5, 1, 1.5;
  // tests/fixtures/trees/make_xgboost_cuts.py draws the same columns and documents how the cuts
  // were read from XGBoost. A column with missing values and 256 bins keeps 255 (its two highest
  // bins merged, to leave room for the missing slot).
  const auto lcg = [](std::uint64_t seed) {
    return [s = seed]() mutable {
      s = s * 6364136223846793005ULL + 1442695040888963407ULL;
      return s >> 33;
    };
  };
  const auto columns = [&](std::size_t n) {
    auto next = lcg(n);
    funnel::matrix x(n, 5);
    for (std::size_t i = 0; i < n; ++i) {
      std::uint64_t u[7];
      for (auto& v : u) v = next();
      x(i, 0) = static_cast<float>(u[0] % 100000);
      x(i, 1) = u[1] % 5 == 0 ? std::nanf("") : static_cast<float>(u[2] % 1000) - 500.0F;
      x(i, 2) = static_cast<float>((u[3] % 1000) * (u[4] % 1000));
      x(i, 3) = u[5] % 10 < 6 ? 0.0F : static_cast<float>(u[5] % 300);
      x(i, 4) = static_cast<float>(static_cast<double>(u[6] % (1U << 20)) / 1024.0 - 512.0);
    }
    return x;
  };
  const auto weights = [&](std::size_t n) {
    auto next = lcg(n + 1);
    std::vector<float> w(n);
    for (auto& v : w) v = static_cast<float>(next() % 4) * 0.5F;
    return w;
  };
  std::ifstream in(funnel::test::data("trees/xgb/cuts.txt"));
  REQUIRE(in);
  worker_pool pool(2);
  std::string current;
  std::size_t lines = 0;
  funnel::matrix x;
  binned_matrix b;
  binned_matrix from_csr;
  for (std::string line; std::getline(in, line); ++lines) {
    std::istringstream fields(line);
    std::size_t max_bin = 0;
    int weighted = 0;
    std::size_t n = 0;
    std::size_t f = 0;
    float lo = 0;
    float hi = 0;
    fields >> max_bin >> weighted >> n >> f >> lo >> hi;
    std::vector<float> expected;
    for (float c = 0; fields >> c;) expected.push_back(c);
    if (const auto key =
            std::to_string(max_bin) + ' ' + std::to_string(weighted) + ' ' + std::to_string(n);
        key != current) {
      current = key;
      x = columns(n);
      const auto w = weighted != 0 ? weights(n) : std::vector<float>{};
      b = bin_features(x, max_bin, pool, bin_storage::automatic, w);
      const funnel::csr_matrix csr = csr_without_nan(x);
      from_csr = bin_features(csr, max_bin, pool, bin_storage::automatic, w);
    }
    CAPTURE(max_bin, weighted, n, f);
    if (b.has_missing[f] != 0 && expected.size() == 255) expected.pop_back();
    expected.push_back(hi + (std::fabs(hi) + 1e-5F));
    REQUIRE(b.cuts[f].size() == expected.size());
    std::size_t differ = 0;
    for (std::size_t k = 0; k < expected.size(); ++k) differ += b.cuts[f][k] != expected[k] ? 1 : 0;
    CHECK(differ == 0);
    CHECK(from_csr.cuts[f] == b.cuts[f]);
  }
  CHECK(lines == 40);
}

TEST_CASE("gbdt: sparse and dense storage grow the same trees") {
  using namespace funnel::scoring::detail;
  const auto d = binary_problem(3000, 8);
  gbdt_options o;
  o.max_depth = 5;
  std::vector<grad_pair> gh(d.y.size());
  for (std::size_t i = 0; i < gh.size(); ++i) gh[i] = {0.5 - d.y[i], 0.25};
  const std::vector<unsigned char> used(3, 1);
  std::vector<tree> trees;
  for (const auto storage : {bin_storage::dense, bin_storage::sparse}) {
    worker_pool pool(1);
    const auto b = bin_features(d.x, 256, pool, storage);
    CHECK(b.sparse == (storage == bin_storage::sparse));
    tree_grower grower(b, o, pool);
    std::vector<std::uint32_t> rows(d.y.size());
    for (std::size_t i = 0; i < rows.size(); ++i) rows[i] = static_cast<std::uint32_t>(i);
    std::vector<leaf_range> leaves;
    trees.push_back(grower.grow(gh, rows, used, leaves));
    std::size_t covered = 0;
    for (const auto& l : leaves) covered += l.end - l.begin;
    CHECK(covered == rows.size());
  }
  REQUIRE(trees[0].nodes.size() == trees[1].nodes.size());
  REQUIRE(trees[0].nodes.size() > 20);
  for (std::size_t k = 0; k < trees[0].nodes.size(); ++k) {
    CHECK(trees[0].nodes[k].feature == trees[1].nodes[k].feature);
    CHECK(trees[0].nodes[k].threshold == trees[1].nodes[k].threshold);
    CHECK(trees[0].nodes[k].default_left == trees[1].nodes[k].default_left);
    CHECK(trees[0].nodes[k].value == Approx(trees[1].nodes[k].value).epsilon(1e-9));
  }
}

TEST_CASE("gbdt: mostly-missing indicator data learns which indicators matter") {
  const auto train = indicator_problem(3000, 60, 0.08, 31);
  gbdt_options o;
  o.rounds = 20;
  const auto m = fit_gbdt({train.x, train.y}, o).model;
  std::vector<float> row(61, std::nanf(""));
  CHECK(m.predict(row) < 0.1F);
  row[7] = 1.0F;
  CHECK(m.predict(row) > 0.9F);
  row[7] = std::nanf("");
  row[3] = 1.0F;
  row[12] = 1.0F;
  CHECK(m.predict(row) > 0.9F);
}

TEST_CASE("gbdt: with 2 threads every run gives the same model, the model of 1 thread",
          "[concurrency]") {
  // Large enough for histograms built in feature ranges, partitions in several blocks and split
  // searches in several chunks (40 features); subsampled rows and columns.
  const std::size_t n = 40000;
  const auto [x, y] = gaussian_problem(n, 40, 0.05, 1.0, 40);
  gbdt_options o;
  o.rounds = 4;
  o.subsample = 0.8;
  o.colsample_bytree = 0.7;
  o.threads = 2;
  const auto a = fit_gbdt({x, y}, o);
  const auto b = fit_gbdt({x, y}, o);
  CHECK(a.model == b.model);
  o.threads = 1;
  const auto one = fit_gbdt({x, y}, o);
  CHECK(one.model == a.model);
}

TEST_CASE(
    "gbdt: sparse storage, lossguide and lambdarank grow the same trees on 1, 2 and 3 "
    "threads",
    "[concurrency]") {
  // Mostly-missing indicators (sparse storage, ~10 values a row): histograms in slot ranges.
  const auto d = indicator_problem(20000, 200, 0.05, 42);
  const auto [gx, gy] = gaussian_problem(6000, 30, 0.1, -1.0, 43);
  std::vector<float> rel(gy.size());
  for (std::size_t i = 0; i < rel.size(); ++i)
    rel[i] = std::floor(std::clamp(2.0F + gx(i, 0) + gx(i, 1) * gx(i, 2), 0.0F, 4.0F));
  const std::vector<std::size_t> groups(200, 30);
  for (std::size_t c = 0; c < 3; ++c) {
    gbdt_options o;
    o.rounds = 3;
    const gbdt_data* data = nullptr;
    const gbdt_data sparse{d.x, d.y};
    const gbdt_data ranking{gx, rel, {}, groups};
    if (c == 0) data = &sparse;
    if (c == 1) {
      data = &sparse;
      o.growth = growth_policy::lossguide;
      o.max_leaves = 24;
    }
    if (c == 2) {
      data = &ranking;
      o.objective = gbdt_objective::lambdarank;
      o.growth = growth_policy::lossguide;
    }
    const auto one = fit_gbdt(*data, o);
    for (const std::size_t threads : {2, 3}) {
      o.threads = threads;
      CHECK(fit_gbdt(*data, o).model == one.model);
    }
  }
}

TEST_CASE("gbdt: CSR features train the model their dense copy (NaN for absent) trains") {
  for (const double density : {0.08, 0.7}) {  // sparse storage, dense storage
    const auto d = indicator_problem(2000, 30, density, 50);
    const funnel::csr_matrix csr = csr_without_nan(d.x);
    gbdt_options o;
    o.rounds = 8;
    o.subsample = 0.8;  // rows left out are scored from the CSR rows
    o.seed = 3;
    gbdt_data sparse{{}, d.y};
    sparse.sparse_features = &csr;
    const auto metric = eval_metric::logloss();
    const auto from_csr = fit_gbdt(sparse, o, &sparse, &metric);
    const gbdt_data dense{d.x, d.y};
    const auto from_dense = fit_gbdt(dense, o, &dense, &metric);
    CHECK(from_csr.model == from_dense.model);
    CHECK(from_csr.valid_history == from_dense.valid_history);
    CHECK(from_csr.train_history == from_dense.train_history);
  }
  funnel::csr_matrix bad;
  bad.cols = 3;
  bad.indices = {2, 1};
  bad.values = {1.0F, 1.0F};
  bad.row_ptr = {0, 2};
  const std::vector<float> y{1.0F};
  gbdt_data d{{}, y};
  d.sparse_features = &bad;
  CHECK_THROWS_WITH(fit_gbdt(d, gbdt_options{}), ContainsSubstring("column 1 after column 2"));
  bad.indices = {1, 2};
  bad.row_ptr = {0, 5};  // a row running past the stored values (read out of bounds before)
  CHECK_THROWS_AS(fit_gbdt(d, gbdt_options{}), funnel::dimension_mismatch);
}

TEST_CASE(
    "gbdt: small nodes of wide sparse data, built in feature groups, grow the same trees on 1, 2 "
    "and 3 threads",
    "[concurrency]") {
  // 3,000 rows of 120 mostly-missing numeric features (sparse storage, ~40 bins each): every
  // node's histogram is built in feature groups from the per-row group positions, and the split
  // search chunks (a column sample per tree) go to the threads by their middle slot.
  const std::size_t n = 3000;
  const std::size_t cols = 120;
  funnel::rng r(45);
  funnel::matrix x(n, cols, std::nanf(""));
  std::vector<float> y(n);
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t f = 0; f < cols; ++f) {
      if (r.uniform() < 0.3) x(i, f) = static_cast<float>(r.normal());
    }
    const float a = std::isnan(x(i, 5)) ? 0.0F : x(i, 5);
    const float b = std::isnan(x(i, 90)) ? -1.0F : x(i, 90);
    y[i] = a + b + 0.5F * static_cast<float>(r.normal()) > 0.0F ? 1.0F : 0.0F;
  }
  for (const auto growth : {growth_policy::lossguide, growth_policy::depthwise}) {
    gbdt_options o;
    o.rounds = 4;
    o.growth = growth;
    o.max_bins = 40;
    o.colsample_bytree = 0.6;
    o.min_child_weight = 0.0;
    const auto one = fit_gbdt({x, y}, o);
    for (const std::size_t threads : {2, 3}) {
      o.threads = threads;
      CHECK(fit_gbdt({x, y}, o).model == one.model);
    }
  }
}

TEST_CASE("gbdt: on narrow dense data 2 threads grow exactly the trees of 1 thread",
          "[concurrency]") {
  // 10 features: children's split searches run side by side, dense histograms by feature
  // ranges, partitions by row ranges; every sum is taken in the same order as on one thread.
  const auto [x, y] = gaussian_problem(20000, 10, 0.1, -1.0, 41);
  for (const auto growth : {growth_policy::depthwise, growth_policy::lossguide}) {
    gbdt_options o;
    o.rounds = 4;
    o.growth = growth;
    const auto one = fit_gbdt({x, y}, o);
    o.threads = 2;
    const auto two = fit_gbdt({x, y}, o);
    CHECK(one.model == two.model);
  }
}

TEST_CASE("gbdt: objective and growth names round-trip (the names Python keywords take)") {
  for (const auto o :
       {gbdt_objective::binary_logistic, gbdt_objective::squared_error,
        gbdt_objective::multi_softmax, gbdt_objective::lambdarank, gbdt_objective::poisson}) {
    CHECK(funnel::parse_enum<gbdt_objective>(funnel::to_string(o), "scoring.test") == o);
  }
  CHECK(funnel::to_string(growth_policy::lossguide) == "lossguide");
  CHECK(funnel::parse_enum<growth_policy>("depthwise", "scoring.test") == growth_policy::depthwise);
  CHECK(funnel::to_string(logistic_penalty::elastic_net) == "elastic_net");
  CHECK(funnel::parse_enum<importance_type>("total_gain", "scoring.test") ==
        importance_type::total_gain);
  CHECK_THROWS_WITH(funnel::parse_enum<gbdt_objective>("hinge", "scoring.test"),
                    ContainsSubstring("binary_logistic, squared_error"));
}

TEST_CASE("gbdt: training margins, updated leaf by leaf in blocks of rows, are the model's") {
  // More rows than one margin update, gradient or root sum block (8192): the margins the trainer
  // keeps (train metric) equal those of the trees walked on the raw rows (the same data given
  // as validation set), on 1 and 2 threads.
  const auto [x, y] = gaussian_problem(20000, 6, 0.1, 1.0, 44);
  const auto metric = eval_metric::logloss();
  const gbdt_data data{x, y};
  for (const std::size_t threads : {1, 2}) {
    gbdt_options o;
    o.rounds = 5;
    o.threads = threads;
    const auto r = fit_gbdt(data, o, &data, &metric);
    REQUIRE(r.train_history.size() == 5);
    CHECK(r.train_history == r.valid_history);
    CHECK(r.train_history.back() < r.train_history.front());
  }
}

TEST_CASE("gbdt: the worker pool runs every task once, whatever the tasks' owners",
          "[concurrency]") {
  using namespace funnel::scoring::detail;
  for (const std::size_t threads : {1, 2, 3}) {
    worker_pool pool(threads);
    for (const std::size_t n : {0, 1, 2, 7, 300}) {
      for (const std::size_t owners : {1, 2, 5}) {
        std::vector<std::size_t> owner(n);
        for (std::size_t i = 0; i < n; ++i) owner[i] = (i * 7) % owners;
        std::vector<std::atomic<int>> runs(n);
        std::vector<std::size_t> ran_on(n);
        pool.for_each_owned(owner, [&](std::size_t i, std::size_t t) {
          runs[i].fetch_add(1);
          ran_on[i] = t;
        });
        std::size_t wrong = 0;
        for (std::size_t i = 0; i < n; ++i) {
          wrong += runs[i].load() == 1 ? 0 : 1;
          wrong += ran_on[i] < threads ? 0 : 1;
        }
        CHECK(wrong == 0);
      }
    }
  }
}

TEST_CASE("gbdt: the split search chooses as XGBoost does (ties: float gains, order, features)") {
  // tests/data/trees/xgb/ties.txt holds XGBoost 1.7.4 hist's first 8 trees of four fits on 600
  // rows drawn from the LCG below (tests/fixtures/trees/make_xgboost_ties.py draws the same rows
  // and documents them): small integer values, a copied column, missing values, so that most
  // nodes have several splits of exactly the same gain. Every tree must have XGBoost's shape,
  // features, float thresholds and default directions, with any thread count; leaf values agree
  // to float rounding (funnel sums gradients and margins in double, XGBoost in float).
  constexpr std::size_t rows = 600;
  std::uint64_t s = 2026;
  const auto next = [&s] {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    return s >> 33;
  };
  funnel::matrix x(rows, 6);
  std::vector<float> y(rows);
  for (std::size_t i = 0; i < rows; ++i) {
    std::uint64_t u[7];
    for (auto& v : u) v = next();
    x(i, 0) = static_cast<float>(u[0] % 8);
    x(i, 1) = x(i, 0);
    x(i, 2) = u[1] % 4 == 0 ? std::nanf("") : static_cast<float>(u[2] % 20) - 10.0F;
    x(i, 3) = static_cast<float>(u[3] % 50) * 0.25F;
    x(i, 4) = u[4] % 10 == 0 ? std::nanf("") : static_cast<float>(u[4] % 5);
    x(i, 5) = static_cast<float>(u[5] % 12);
    // Python's floor division of the (possibly negative) x2, and its modulo (never negative).
    const auto x2 = static_cast<std::int64_t>(std::isnan(x(i, 2)) ? 3.0F : x(i, 2));
    const std::int64_t q = x2 >= 0 ? x2 / 4 : -((-x2 + 3) / 4);
    const std::int64_t sum = static_cast<std::int64_t>(x(i, 0)) + q +
                             static_cast<std::int64_t>(u[5] % 12) / 3 +
                             static_cast<std::int64_t>(u[6] % 5);
    y[i] = static_cast<float>((sum % 7 + 7) % 7);
  }
  std::ifstream in(funnel::test::data("trees/xgb/ties.txt"));
  REQUIRE(in);
  std::size_t cases = 0;
  for (std::string line; std::getline(in, line);) {
    std::istringstream head(line);
    std::string word;
    std::string name;
    std::size_t trees = 0;
    head >> word >> name >> trees;
    REQUIRE(word == "case");
    ++cases;
    gbdt_options o;
    o.rounds = trees;
    o.learning_rate = 0.3;
    o.base_score = 0.5;
    std::vector<float> labels = y;
    if (name.starts_with("binary")) {
      o.objective = gbdt_objective::binary_logistic;
      for (auto& v : labels) v = v >= 3 ? 1.0F : 0.0F;
    } else {
      o.objective = gbdt_objective::squared_error;
    }
    if (name == "binary") o.max_depth = 5;
    if (name == "regression") o.max_depth = 6;
    if (name == "binary_l1_gamma") {
      o.max_depth = 4;
      o.alpha = 0.5;
      o.min_split_gain = 0.1;
      o.min_child_weight = 0.5;
    }
    if (name == "regression_monotone") {
      o.max_depth = 4;
      o.monotone = {1, 0, -1, 0, 0, 1};
    }
    std::vector<std::string> expected(trees);
    for (auto& t : expected) REQUIRE(std::getline(in, t));
    for (const std::size_t threads : {1, 2}) {
      CAPTURE(name, threads);
      o.threads = threads;
      const auto fit = fit_gbdt({x, labels}, o);
      REQUIRE(fit.model.num_trees() == trees);
      for (std::size_t k = 0; k < trees; ++k) {
        CAPTURE(k);
        const auto& t = fit.model.trees()[k];
        std::istringstream want(expected[k]);
        // Preorder walk of funnel's tree alongside XGBoost's.
        std::vector<std::int32_t> stack{0};
        std::size_t nodes = 0;
        while (!stack.empty()) {
          const auto& n = t.nodes[static_cast<std::size_t>(stack.back())];
          stack.pop_back();
          ++nodes;
          CAPTURE(nodes);
          std::string kind;
          REQUIRE(want >> kind);
          if (kind == "l") {
            double value = 0;
            want >> value;
            REQUIRE(n.is_leaf());
            CHECK(n.value == Approx(value).epsilon(1e-4).margin(1e-6));
            continue;
          }
          int feature = 0;
          float threshold = 0;
          int default_left = 0;
          want >> feature >> threshold >> default_left;
          REQUIRE_FALSE(n.is_leaf());
          REQUIRE(n.feature == feature);
          REQUIRE(static_cast<float>(n.threshold) == threshold);
          REQUIRE(n.default_left == (default_left != 0));
          stack.push_back(n.right);
          stack.push_back(n.left);
        }
        std::string rest;
        CHECK_FALSE(want >> rest);
      }
    }
  }
  CHECK(cases == 4);
}
