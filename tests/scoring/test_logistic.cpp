#include <funnel/core/json.hpp>
#include <funnel/core/random.hpp>
#include <funnel/scoring/logistic.hpp>
#include <funnel/scoring/logistic_ftrl.hpp>

#include <cmath>
#include <limits>
#include <thread>
#include <vector>

#include "funnel_catch.hpp"

namespace sc = funnel::scoring;

namespace {

// A small noisy problem: 400 rows, 5 features, labels from a known logistic model.
struct toy {
  funnel::matrix X{400, 5};
  std::vector<int> y;
};

toy make_toy(std::uint64_t seed = 7) {
  toy t;
  funnel::rng r(seed);
  std::normal_distribution<double> gauss(0.0, 1.0);
  std::uniform_real_distribution<double> unif(0.0, 1.0);
  const double w[5] = {1.5, -2.0, 0.5, 0.0, 1.0};
  for (std::size_t i = 0; i < t.X.rows(); ++i) {
    double m = -0.3;
    for (std::size_t j = 0; j < 5; ++j) {
      t.X(i, j) = static_cast<float>(gauss(r));
      m += w[j] * t.X(i, j);
    }
    t.y.push_back(unif(r) < 1.0 / (1.0 + std::exp(-m)) ? 1 : 0);
  }
  return t;
}

}  // namespace

TEST_CASE("logistic: gradient at the L-BFGS solution is zero and Newton agrees") {
  const auto t = make_toy();
  sc::logistic_options o;
  o.tol = 1e-10;
  const auto a = sc::fit_logistic(t.X, t.y, o);
  o.solver = sc::logistic_solver::newton;
  const auto b = sc::fit_logistic(t.X, t.y, o);
  REQUIRE(a.report.converged);
  REQUIRE(b.report.converged);
  CHECK(a.report.iterations > 0);
  CHECK(a.report.evaluations >= a.report.iterations);
  CHECK_THAT(a.report.objective, WithinRel(b.report.objective, 1e-12));
  for (std::size_t j = 0; j < 5; ++j)
    CHECK_THAT(a.model.coef()[j], WithinAbs(b.model.coef()[j], 1e-6));
  // perturbing any coordinate increases the objective: a minimum, not just a stationary report
  for (std::size_t j = 0; j < 5; ++j) {
    auto c = a.model.coef();
    c[j] += 1e-3;
    CHECK(sc::logistic_objective(t.X, t.y, o, c, a.model.intercept()) > a.report.objective);
  }
}

TEST_CASE("logistic: L1 gives exact zeros and a stronger penalty gives more of them") {
  const auto t = make_toy();
  sc::logistic_options o;
  o.penalty = sc::logistic_penalty::l1;
  o.C = 0.05;
  o.tol = 1e-9;
  const auto strong = sc::fit_logistic(t.X, t.y, o);
  o.C = 10;
  const auto weak = sc::fit_logistic(t.X, t.y, o);
  auto zeros = [](const std::vector<double>& c) { return std::count(c.begin(), c.end(), 0.0); };
  CHECK(zeros(strong.model.coef()) > zeros(weak.model.coef()));
  CHECK(strong.model.coef()[3] == 0.0);  // the irrelevant feature
  CHECK(strong.report.converged);
}

TEST_CASE("logistic: sparse (csr) training reaches the dense optimum") {
  const auto t = make_toy();
  funnel::csr_matrix s;
  s.cols = 5;
  for (std::size_t i = 0; i < t.X.rows(); ++i) {
    for (std::uint32_t j = 0; j < 5; ++j) {
      if (std::abs(t.X(i, j)) > 0.3F) {  // make it genuinely sparse; dense copy gets zeros
        s.indices.push_back(j);
        s.values.push_back(t.X(i, j));
      }
    }
    s.row_ptr.push_back(s.indices.size());
  }
  const auto dense = s.to_dense(0.0F);
  sc::logistic_options o;
  o.tol = 1e-10;
  const auto a = sc::fit_logistic(s, t.y, o);
  const auto b = sc::fit_logistic(dense, t.y, o);
  CHECK_THAT(a.report.objective, WithinRel(b.report.objective, 1e-12));
  const auto row = s.row(3);
  CHECK_THAT(a.model.margin(row), WithinAbs(b.model.margin(dense.row(3)), 1e-5));
  o.solver = sc::logistic_solver::newton;
  const auto c = sc::fit_logistic(s, t.y, o);
  CHECK(c.report.converged);
  CHECK_THAT(c.report.objective, WithinRel(b.report.objective, 1e-12));
}

TEST_CASE(
    "logistic: sample weights equal repeated rows and balanced equals explicit class weights") {
  const auto t = make_toy();
  sc::logistic_options o;
  o.tol = 1e-10;
  std::vector<double> w(t.y.size(), 1.0);
  w[0] = 3.0;
  funnel::matrix rep = t.X;
  std::vector<int> yrep = t.y;
  rep.push_row(t.X.row(0));
  rep.push_row(t.X.row(0));
  yrep.push_back(t.y[0]);
  yrep.push_back(t.y[0]);
  const auto a = sc::fit_logistic(t.X, t.y, o, w);
  const auto b = sc::fit_logistic(rep, yrep, o);
  CHECK_THAT(a.report.objective, WithinRel(b.report.objective, 1e-10));

  o.balanced = true;
  const auto c = sc::fit_logistic(t.X, t.y, o);
  const double n1 = static_cast<double>(std::count(t.y.begin(), t.y.end(), 1));
  const double n = static_cast<double>(t.y.size());
  std::vector<double> cw;
  for (const int yi : t.y) cw.push_back(n / (2 * (yi == 1 ? n1 : n - n1)));
  o.balanced = false;
  const auto d = sc::fit_logistic(t.X, t.y, o, cw);
  CHECK_THAT(c.report.objective, WithinRel(d.report.objective, 1e-10));
}

TEST_CASE("logistic: bad training input is a typed error naming what is wrong") {
  auto t = make_toy();
  CHECK_THROWS_WITH(sc::fit_logistic(t.X, std::vector<int>(10, 1)),
                    ContainsSubstring("y has 10 labels for 400 rows"));
  CHECK_THROWS_AS(sc::fit_logistic(t.X, std::vector<int>(400, 1)), funnel::invalid_argument);
  CHECK_THROWS_WITH(sc::fit_logistic(t.X, std::vector<int>(400, 0)),
                    ContainsSubstring("single class"));
  auto y2 = t.y;
  y2[5] = 2;
  CHECK_THROWS_WITH(sc::fit_logistic(t.X, y2), ContainsSubstring("y[5] = 2"));
  CHECK_THROWS_AS(sc::fit_logistic(t.X, t.y, {}, std::vector<double>(3, 1.0)),
                  funnel::dimension_mismatch);
  auto bad = t.X;
  bad(17, 2) = std::numeric_limits<float>::quiet_NaN();
  CHECK_THROWS_WITH(sc::fit_logistic(bad, t.y), ContainsSubstring("X[17][2] = nan"));
  sc::logistic_options o;
  o.C = 0;
  CHECK_THROWS_AS(sc::fit_logistic(t.X, t.y, o), funnel::invalid_argument);
  o.C = 1;
  o.penalty = sc::logistic_penalty::l1;
  o.solver = sc::logistic_solver::newton;
  CHECK_THROWS_AS(sc::fit_logistic(t.X, t.y, o), funnel::unsupported);
}

TEST_CASE("logistic: non-convergence is reported, or thrown when asked") {
  // separable data without a penalty: the optimum is at infinity
  funnel::matrix X(4, 1);
  X(0, 0) = -2;
  X(1, 0) = -1;
  X(2, 0) = 1;
  X(3, 0) = 2;
  const std::vector<int> y{0, 0, 1, 1};
  sc::logistic_options o;
  o.penalty = sc::logistic_penalty::none;
  o.tol = 0;
  o.ftol = 0;
  o.max_iter = 5;
  const auto f = sc::fit_logistic(X, y, o);
  CHECK_FALSE(f.report.converged);
  CHECK(f.report.iterations == 5);
  CHECK_THAT(f.report.message, ContainsSubstring("max_iter"));
  CHECK(f.model.coef()[0] > 0);
  o.throw_on_no_convergence = true;
  CHECK_THROWS_AS(sc::fit_logistic(X, y, o), funnel::convergence_error);
}

TEST_CASE("logistic: serving gives probability or margin, batch equals rows, dimensions checked") {
  const auto t = make_toy();
  const auto fit = sc::fit_logistic(t.X, t.y);
  auto m = fit.model;
  std::vector<float> out(t.X.rows());
  m.score_batch(t.X, out);
  for (std::size_t i = 0; i < t.X.rows(); ++i) {
    CHECK(out[i] == m.score(t.X.row(i)));
    const double z = m.margin(t.X.row(i));
    CHECK_THAT(static_cast<double>(out[i]), WithinAbs(1 / (1 + std::exp(-z)), 1e-7));
  }
  m.set_output(sc::logistic_output::margin);
  CHECK(m.score(t.X.row(1)) == static_cast<float>(m.margin(t.X.row(1))));
  std::vector<float> small(3);
  CHECK_THROWS_AS(m.score_batch(t.X, small), funnel::dimension_mismatch);
  const std::vector<float> short_row{1, 2};
  CHECK_THROWS_WITH(m.check_row(short_row),
                    ContainsSubstring("row has 2 features, the model has 5"));
  const std::vector<float> nan_row{1, 2, std::numeric_limits<float>::quiet_NaN(), 0, 0};
  CHECK_THROWS_WITH(m.check_row(nan_row), ContainsSubstring("feature 2"));
  CHECK(std::isnan(m.score(nan_row)));  // documented: NaN propagates on the unchecked path
}

TEST_CASE("logistic: score is thread-safe on a shared model", "[concurrency]") {
  const auto t = make_toy();
  const auto fit = sc::fit_logistic(t.X, t.y);
  std::vector<float> a(t.X.rows()), b(t.X.rows());
  std::thread th([&] { fit.model.score_batch(t.X, a); });
  fit.model.score_batch(t.X, b);
  th.join();
  CHECK(a == b);
}

TEST_CASE("logistic: JSON round trip is bit-exact and bad files name the field") {
  const auto t = make_toy();
  auto m = sc::fit_logistic(t.X, t.y).model;
  m.set_output(sc::logistic_output::margin);
  const auto dir = funnel::test::scratch_dir("logistic_json");
  m.save(dir / "m.json");
  const auto back = sc::logistic_model::load(dir / "m.json");
  CHECK(back == m);
  auto j = m.to_json();
  j["coef"] = "x";
  CHECK_THROWS_WITH(sc::logistic_model::from_json(j), ContainsSubstring("coef"));
  j = m.to_json();
  j["output"] = "logit";
  CHECK_THROWS_WITH(sc::logistic_model::from_json(j), ContainsSubstring("output"));
  j = m.to_json();
  j["intercept"] = nullptr;
  CHECK_THROWS_AS(sc::logistic_model::from_json(j), funnel::parse_error);
}

TEST_CASE("logistic: imports a scikit-learn export (2-D coef, 1-element intercept)") {
  const auto j = funnel::parse_json(
      R"({"coef": [[0.5, -1.25]], "intercept": [0.75], "classes": [0, 1]})", "sklearn.json");
  const auto m = sc::logistic_model::from_sklearn_json(j);
  const std::vector<float> x{2, 1};
  CHECK(m.margin(x) == 0.5 * 2 - 1.25 + 0.75);
  const auto multi = funnel::parse_json(
      R"({"coef": [[1], [2], [3]], "intercept": [0, 0, 0], "classes": [0, 1, 2]})", "m.json");
  CHECK_THROWS_AS(sc::logistic_model::from_sklearn_json(multi), funnel::unsupported);
  const auto missing = funnel::parse_json(R"({"coef": [[1]], "classes": [0, 1]})", "m.json");
  CHECK_THROWS_WITH(sc::logistic_model::from_sklearn_json(missing), ContainsSubstring("intercept"));
}

TEST_CASE("ftrl: equals an independent Python FTRL-proximal prediction by prediction") {
  const auto f = funnel::load_json_file(funnel::test::data("logistic/ftrl_stream.json"));
  sc::ftrl_options o;
  o.alpha = f["options"]["alpha"];
  o.beta = f["options"]["beta"];
  o.l1 = f["options"]["l1"];
  o.l2 = f["options"]["l2"];
  o.n_features = f["options"]["n_features"];
  sc::ftrl_logistic learner(o);
  const auto preds = f["predictions"].get<std::vector<double>>();
  std::size_t k = 0;
  for (const auto& ex : f["stream"]) {
    const auto idx = ex["indices"].get<std::vector<std::uint32_t>>();
    const auto val = ex["values"].get<std::vector<float>>();
    const double p = learner.update(funnel::sparse_row_view{idx, val}, ex["y"].get<int>());
    CHECK_THAT(p, WithinAbs(preds[k++], 1e-12));
  }
  const auto w = f["weights"].get<std::vector<double>>();
  for (std::size_t i = 0; i < w.size(); ++i) CHECK_THAT(learner.weight(i), WithinAbs(w[i], 1e-12));
  CHECK_THAT(learner.intercept(), WithinAbs(f["intercept"].get<double>(), 1e-12));
  // L1 makes some weights exactly zero
  CHECK(std::count(w.begin(), w.end(), 0.0) > 0);
  // state round trip: learning continues identically
  auto copy = sc::ftrl_logistic::from_json(learner.to_json());
  const auto& ex = f["stream"][0];
  const auto idx = ex["indices"].get<std::vector<std::uint32_t>>();
  const auto val = ex["values"].get<std::vector<float>>();
  CHECK(copy.update(funnel::sparse_row_view{idx, val}, 1) ==
        learner.update(funnel::sparse_row_view{idx, val}, 1));
  const auto model = learner.to_model();
  CHECK_THAT(static_cast<double>(model.score(funnel::sparse_row_view{idx, val})),
             WithinAbs(learner.predict(funnel::sparse_row_view{idx, val}), 1e-7));
}

TEST_CASE("ftrl: bad rows and options are typed errors") {
  sc::ftrl_options o;
  CHECK_THROWS_AS(sc::ftrl_logistic(o), funnel::invalid_argument);  // n_features = 0
  o.n_features = 4;
  sc::ftrl_logistic learner(o);
  const std::vector<std::uint32_t> idx{1, 9};
  const std::vector<float> val{1, 1};
  CHECK_THROWS_WITH(learner.update(funnel::sparse_row_view{idx, val}, 1),
                    ContainsSubstring("feature index 9 >= n_features 4"));
  const std::vector<std::uint32_t> ok{1};
  const std::vector<float> one{1};
  CHECK_THROWS_AS(learner.update(funnel::sparse_row_view{ok, one}, 3), funnel::invalid_argument);
  const std::vector<float> dense{1, 2, 3};
  CHECK_THROWS_AS(learner.update(dense, 1), funnel::dimension_mismatch);
}

TEST_CASE("logistic: on_iteration sees a decreasing objective and can stop training") {
  const auto t = make_toy();
  sc::logistic_options o;
  o.tol = 1e-12;
  std::vector<double> seen;
  o.on_iteration = [&seen](const sc::logistic_progress& p) {
    seen.push_back(p.objective);
    return p.iteration < 3;
  };
  const auto f = sc::fit_logistic(t.X, t.y, o);
  REQUIRE(seen.size() == 3);
  CHECK(seen[1] < seen[0]);
  CHECK(seen[2] < seen[1]);
  CHECK_FALSE(f.report.converged);
  CHECK(f.report.message == "stopped by on_iteration");
  CHECK(f.report.iterations == 3);
}
