#include <funnel/core/json.hpp>
#include <funnel/core/random.hpp>
#include <funnel/scoring/logistic.hpp>
#include <funnel/scoring/logistic_ftrl.hpp>

#include <cmath>
#include <fstream>
#include <limits>
#include <thread>
#include <vector>

#include "funnel_catch.hpp"

namespace sc = funnel::scoring;

namespace {

// A small noisy problem: 400 rows, 5 features, labels from a known logistic model.
struct toy {
  funnel::matrix X{400, 5};
  std::vector<float> y;
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
    t.y.push_back(unif(r) < 1.0 / (1.0 + std::exp(-m)) ? 1.0F : 0.0F);
  }
  return t;
}

// Raw columns of very different scales, as credit data has them: an income in the tens of
// thousands, assets in thousands (often 0), an age, a count of 0-5 and a rate in [0, 1].
toy make_raw(std::size_t rows = 3000) {
  toy t;
  t.X = funnel::matrix(rows, 5);
  funnel::rng r(11);
  std::normal_distribution<double> gauss(0.0, 1.0);
  std::uniform_real_distribution<double> unif(0.0, 1.0);
  for (std::size_t i = 0; i < rows; ++i) {
    const double z[5] = {gauss(r), gauss(r), gauss(r), gauss(r), gauss(r)};
    t.X(i, 0) = static_cast<float>(40000 * std::exp(0.5 * z[0]));
    t.X(i, 1) = static_cast<float>(z[1] > 0 ? 5000 * z[1] : 0.0);
    t.X(i, 2) = static_cast<float>(std::round(45 + 12 * z[2]));
    t.X(i, 3) = static_cast<float>(std::floor(5 * unif(r)));
    t.X(i, 4) = static_cast<float>(unif(r));
    const double m =
        -0.5 - 0.8 * z[0] - 0.6 * z[1] + 0.3 * z[2] + 0.4 * t.X(i, 3) + 1.0 * t.X(i, 4);
    t.y.push_back(unif(r) < 1.0 / (1.0 + std::exp(-m)) ? 1.0F : 0.0F);
  }
  return t;
}

}  // namespace

TEST_CASE("logistic: the default solver converges on raw, badly scaled columns in few steps") {
  const auto t = make_raw();
  sc::logistic_options o;  // defaults: automatic solver, tol 1e-4, max_iter 1000
  const auto a = sc::fit_logistic(t.X, t.y, o);
  INFO("automatic: " << a.report.iterations << " iterations, " << a.report.message);
  REQUIRE(a.report.converged);
  CHECK(a.report.solver == sc::logistic_solver::newton);
  CHECK(a.report.iterations <= 20);
  // L-BFGS run to convergence reaches the same optimum, in many more steps
  o.solver = sc::logistic_solver::lbfgs;
  o.max_iter = 100000;
  o.tol = 1e-6;
  const auto b = sc::fit_logistic(t.X, t.y, o);
  INFO("lbfgs: " << b.report.iterations << " iterations, " << b.report.message << ", objective "
                 << b.report.objective << " vs " << a.report.objective);
  CHECK(b.report.solver == sc::logistic_solver::lbfgs);
  CHECK(b.report.iterations > 10 * a.report.iterations);
  CHECK((a.report.objective - b.report.objective) / b.report.objective <= 1e-9);
  CHECK_THAT(a.report.objective, WithinRel(b.report.objective, 1e-6));
  // with lbfgs's default budget it stops short of the optimum Newton reaches
  o.max_iter = 100;
  o.tol = 1e-4;
  const auto c = sc::fit_logistic(t.X, t.y, o);
  CHECK(c.report.objective > a.report.objective * (1 + 1e-6));
}

TEST_CASE("logistic: automatic picks Newton for smooth penalties on narrow data, else L-BFGS") {
  const auto t = make_toy();
  sc::logistic_options o;
  CHECK(o.solver == sc::logistic_solver::automatic);
  CHECK(sc::fit_logistic(t.X, t.y, o).report.solver == sc::logistic_solver::newton);
  o.penalty = sc::logistic_penalty::none;
  CHECK(sc::fit_logistic(t.X, t.y, o).report.solver == sc::logistic_solver::newton);
  o.penalty = sc::logistic_penalty::l1;  // not smooth: OWL-QN
  CHECK(sc::fit_logistic(t.X, t.y, o).report.solver == sc::logistic_solver::lbfgs);
  o.penalty = sc::logistic_penalty::elastic_net;
  CHECK(sc::fit_logistic(t.X, t.y, o).report.solver == sc::logistic_solver::lbfgs);
  o.penalty = sc::logistic_penalty::l2;
  o.max_newton_features = 4;  // 5 columns: too wide
  CHECK(sc::fit_logistic(t.X, t.y, o).report.solver == sc::logistic_solver::lbfgs);
  o.max_newton_features = 5;
  CHECK(sc::fit_logistic(t.X, t.y, o).report.solver == sc::logistic_solver::newton);
  funnel::csr_matrix s;  // the same rows, stored sparse
  s.cols = t.X.cols();
  for (std::size_t i = 0; i < t.X.rows(); ++i) {
    for (std::uint32_t j = 0; j < s.cols; ++j) {
      s.indices.push_back(j);
      s.values.push_back(t.X(i, j));
    }
    s.row_ptr.push_back(s.indices.size());
  }
  CHECK(sc::fit_logistic(s, t.y, o).report.solver == sc::logistic_solver::newton);
  o.max_newton_features = 4;
  CHECK(sc::fit_logistic(s, t.y, o).report.solver == sc::logistic_solver::lbfgs);
  CHECK(to_string(sc::logistic_solver::automatic) == "automatic");
  CHECK(funnel::parse_enum<sc::logistic_solver>("newton", "test") == sc::logistic_solver::newton);
}

TEST_CASE("logistic: Newton without a penalty on constant and duplicated columns still descends") {
  // the Hessian is singular: Cholesky fails and the damped (Levenberg-Marquardt) step is taken
  auto t = make_toy();
  funnel::matrix X(t.X.rows(), 7);
  for (std::size_t i = 0; i < X.rows(); ++i) {
    for (std::size_t j = 0; j < 5; ++j) X(i, j) = t.X(i, j);
    X(i, 5) = 0.0F;       // constant zero
    X(i, 6) = t.X(i, 0);  // duplicate of column 0
  }
  sc::logistic_options o;
  o.penalty = sc::logistic_penalty::none;
  o.solver = sc::logistic_solver::newton;
  o.tol = 1e-8;
  const auto a = sc::fit_logistic(X, t.y, o);
  o.solver = sc::logistic_solver::lbfgs;
  const auto b = sc::fit_logistic(X, t.y, o);
  INFO(a.report.message << " after " << a.report.iterations);
  CHECK(a.report.converged);
  CHECK(a.model.coef()[5] == 0.0);
  CHECK_THAT(a.report.objective, WithinRel(b.report.objective, 1e-9));
}

TEST_CASE("logistic: gradient at the L-BFGS solution is zero and Newton agrees") {
  const auto t = make_toy();
  sc::logistic_options o;
  o.tol = 1e-10;
  o.solver = sc::logistic_solver::lbfgs;
  const auto a = sc::fit_logistic(t.X, t.y, o);
  o.solver = sc::logistic_solver::newton;
  const auto b = sc::fit_logistic(t.X, t.y, o);
  REQUIRE(a.report.converged);
  REQUIRE(b.report.converged);
  CHECK(a.report.solver == sc::logistic_solver::lbfgs);
  CHECK(b.report.solver == sc::logistic_solver::newton);
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
  CHECK_THAT(a.model.score(row), WithinAbs(b.model.score(dense.row(3)), 1e-5));
  o.solver = sc::logistic_solver::newton;
  const auto c = sc::fit_logistic(s, t.y, o);
  CHECK(c.report.converged);
  CHECK_THAT(c.report.objective, WithinRel(b.report.objective, 1e-12));
  // Columns far beyond what the rows hold (one index of 4e9): no 32 GB of weights.
  funnel::csr_matrix wide;
  wide.cols = 4'000'000'001;
  wide.indices = {4'000'000'000U, 1};
  wide.values = {1.0F, 1.0F};
  wide.row_ptr = {0, 1, 2};
  const std::vector<float> y2{1.0F, 0.0F};
  CHECK_THROWS_WITH(sc::fit_logistic(wide, y2, sc::logistic_options{}),
                    ContainsSubstring("4000000001 columns for 2 stored values in 2 rows"));
}

TEST_CASE(
    "logistic: sample weights equal repeated rows and balanced equals explicit class weights") {
  const auto t = make_toy();
  sc::logistic_options o;
  o.tol = 1e-10;
  std::vector<double> w(t.y.size(), 1.0);
  w[0] = 3.0;
  funnel::matrix rep = t.X;
  std::vector<float> yrep = t.y;
  rep.push_row(t.X.row(0));
  rep.push_row(t.X.row(0));
  yrep.push_back(t.y[0]);
  yrep.push_back(t.y[0]);
  const auto a = sc::fit_logistic(t.X, t.y, o, w);
  const auto b = sc::fit_logistic(rep, yrep, o);
  CHECK_THAT(a.report.objective, WithinRel(b.report.objective, 1e-10));

  o.balanced = true;
  const auto c = sc::fit_logistic(t.X, t.y, o);
  const double n1 = static_cast<double>(std::count(t.y.begin(), t.y.end(), 1.0F));
  const double n = static_cast<double>(t.y.size());
  std::vector<double> cw;
  for (const float yi : t.y) cw.push_back(n / (2 * (yi == 1.0F ? n1 : n - n1)));
  o.balanced = false;
  const auto d = sc::fit_logistic(t.X, t.y, o, cw);
  CHECK_THAT(c.report.objective, WithinRel(d.report.objective, 1e-10));
}

TEST_CASE("logistic: bad training input is a typed error naming what is wrong") {
  auto t = make_toy();
  CHECK_THROWS_WITH(sc::fit_logistic(t.X, std::vector<float>(10, 1.0F)),
                    ContainsSubstring("y has 10 labels for 400 rows"));
  CHECK_THROWS_AS(sc::fit_logistic(t.X, std::vector<float>(400, 1.0F)), funnel::invalid_argument);
  CHECK_THROWS_WITH(sc::fit_logistic(t.X, std::vector<float>(400, 0.0F)),
                    ContainsSubstring("single class"));
  auto y2 = t.y;
  y2[5] = 2;
  CHECK_THROWS_WITH(sc::fit_logistic(t.X, y2), ContainsSubstring("y[5] = 2"));
  y2[5] = 0.5F;
  CHECK_THROWS_WITH(sc::fit_logistic(t.X, y2), ContainsSubstring("y[5] = 0.5 is not 0 or 1"));
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
  o.penalty = sc::logistic_penalty::elastic_net;
  CHECK_THROWS_WITH(sc::fit_logistic(t.X, t.y, o), ContainsSubstring("smooth objective"));
  o.solver = sc::logistic_solver::automatic;  // automatic takes OWL-QN instead
  CHECK(sc::fit_logistic(t.X, t.y, o).report.solver == sc::logistic_solver::lbfgs);
  o.solver = static_cast<sc::logistic_solver>(9);
  CHECK_THROWS_WITH(sc::fit_logistic(t.X, t.y, o), ContainsSubstring("unknown logistic solver 9"));
}

TEST_CASE("logistic: non-convergence is reported, or thrown when asked") {
  // separable data without a penalty: the optimum is at infinity
  funnel::matrix X(4, 1);
  X(0, 0) = -2;
  X(1, 0) = -1;
  X(2, 0) = 1;
  X(3, 0) = 2;
  const std::vector<float> y{0, 0, 1, 1};
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

TEST_CASE("logistic: score is the margin, predict the probability, batch equals rows") {
  const auto t = make_toy();
  const auto fit = sc::fit_logistic(t.X, t.y);
  const auto& m = fit.model;
  CHECK(m.scale() == funnel::score_scale::log_odds);
  CHECK(m.num_features() == 5);
  std::vector<float> scores(t.X.rows()), probs(t.X.rows());
  m.score_batch(t.X, scores);
  m.predict_batch(t.X, probs);
  for (std::size_t i = 0; i < t.X.rows(); ++i) {
    const auto x = t.X.row(i);
    double z = m.intercept();
    for (std::size_t j = 0; j < 5; ++j) z += m.coef()[j] * static_cast<double>(x[j]);
    CHECK(m.score(x) == static_cast<float>(z));  // x·w + b, sklearn's decision_function
    CHECK_THAT(static_cast<double>(m.predict(x)), WithinAbs(1 / (1 + std::exp(-z)), 1e-7));
    CHECK(scores[i] == m.score(x));
    CHECK(probs[i] == m.predict(x));
    CHECK(m.score_unchecked(x) == m.score(x));
    CHECK(m.predict_unchecked(x) == m.predict(x));
  }
  // a margin far from 0 is not squashed into [0, 1]
  const sc::logistic_model big({10.0}, 5.0);
  const std::vector<float> one{2};
  CHECK(big.score(one) == 25.0F);
  CHECK(big.predict(one) == 1.0F);
}

TEST_CASE("logistic: a row of the wrong width is a dimension_mismatch naming both widths") {
  const auto t = make_toy();
  const auto& m = sc::fit_logistic(t.X, t.y).model;
  const std::vector<float> narrow{1, 2};
  const std::vector<float> wide{1, 2, 3, 4, 5, 6};
  for (const auto* row : {&narrow, &wide}) {
    CHECK_THROWS_AS(m.score(*row), funnel::dimension_mismatch);
    CHECK_THROWS_AS(m.predict(*row), funnel::dimension_mismatch);
  }
  CHECK_THROWS_WITH(m.score(narrow), ContainsSubstring("row has 2 features, the model has 5"));
  CHECK_THROWS_WITH(m.predict(wide), ContainsSubstring("row has 6 features, the model has 5"));
  // sparse rows: an index past the model, or sizes that disagree
  const std::vector<std::uint32_t> idx{1, 7};
  const std::vector<float> val{1, 1};
  CHECK_THROWS_WITH(m.score(funnel::sparse_row_view{idx, val}),
                    ContainsSubstring("feature index 7 >= num_features 5"));
  CHECK_THROWS_AS(m.predict(funnel::sparse_row_view{idx, val}), funnel::dimension_mismatch);
  const std::vector<float> one_val{1};
  CHECK_THROWS_AS(m.score(funnel::sparse_row_view{idx, one_val}), funnel::dimension_mismatch);
  // batch: columns must equal the model's width, not merely cover it
  funnel::matrix wider(3, 6);
  std::vector<float> out(3);
  CHECK_THROWS_WITH(m.score_batch(wider, out),
                    ContainsSubstring("rows have 6 features, the model has 5"));
  CHECK_THROWS_AS(m.predict_batch(wider, out), funnel::dimension_mismatch);
  std::vector<float> small(3);
  CHECK_THROWS_AS(m.score_batch(t.X, small), funnel::dimension_mismatch);
  CHECK_THROWS_AS(m.predict_batch(t.X, small), funnel::dimension_mismatch);
  // check_row additionally rejects non-finite values; the unchecked path propagates NaN
  CHECK_THROWS_WITH(m.check_row(narrow), ContainsSubstring("row has 2 features, the model has 5"));
  const std::vector<float> nan_row{1, 2, std::numeric_limits<float>::quiet_NaN(), 0, 0};
  CHECK_THROWS_WITH(m.check_row(nan_row), ContainsSubstring("feature 2"));
  CHECK(std::isnan(m.score(nan_row)));
}

TEST_CASE("logistic: feature names from the fit options survive save, load and sklearn import") {
  const auto t = make_toy();
  sc::logistic_options o;
  CHECK(sc::fit_logistic(t.X, t.y, o).model.feature_names().empty());
  o.feature_names = {"a", "b", "c"};
  CHECK_THROWS_WITH(sc::fit_logistic(t.X, t.y, o),
                    ContainsSubstring("feature_names has 3 names for 5 columns"));
  o.feature_names = {"a", "b", "c", "d", "e"};
  const auto m = sc::fit_logistic(t.X, t.y, o).model;
  CHECK(m.feature_names() == o.feature_names);
  const auto dir = funnel::test::scratch_dir("logistic_names");
  m.save(dir / "m.json");
  const auto back = sc::logistic_model::load(dir / "m.json");
  CHECK(back == m);
  CHECK(back.feature_names() == o.feature_names);
  auto j = m.to_json();
  j["feature_names"] = funnel::json::array({"a", "b"});
  CHECK_THROWS_AS(sc::logistic_model::from_json(j), funnel::parse_error);
  j["feature_names"] = {"a", "b", "c", "d", 5};
  CHECK_THROWS_AS(sc::logistic_model::from_json(j), funnel::parse_error);
  CHECK_THROWS_AS(sc::logistic_model({1.0, 2.0}, 0.0, {"x"}), funnel::dimension_mismatch);
  const auto sk = funnel::parse_json(
      R"({"coef": [[0.5, -1.25]], "intercept": [0.75], "classes": [0, 1],
          "feature_names_in_": ["income", "debt"]})",
      "sklearn.json");
  CHECK(sc::from_sklearn_json(sk).feature_names() == std::vector<std::string>{"income", "debt"});
}

TEST_CASE("logistic: a version 1 file with \"output\" still loads and scores the margin") {
  const auto j = funnel::parse_json(
      R"({"type": "logistic_regression", "version": 1, "coef": [2.0, -1.0], "intercept": 0.5,
          "output": "probability"})",
      "v1.json");
  const auto m = sc::logistic_model::from_json(j);
  const std::vector<float> x{1, 1};
  CHECK(m.score(x) == 1.5F);
  CHECK_THAT(static_cast<double>(m.predict(x)), WithinAbs(1 / (1 + std::exp(-1.5)), 1e-7));
  CHECK(m.feature_names().empty());
  auto bad = j;
  bad["output"] = "logit";
  CHECK_THROWS_WITH(sc::logistic_model::from_json(bad), ContainsSubstring("output"));
}

TEST_CASE("logistic: hostile files are typed parse_errors") {
  const auto dir = funnel::test::scratch_dir("logistic_hostile");
  const char* docs[] = {
      R"({"type": "logistic_regression", "version": 2, "coef": [1e999], "intercept": 0, "feature_names": []})",
      R"({"type": "logistic_regression", "version": 2, "coef": [true], "intercept": 0, "feature_names": []})",
      R"({"type": "logistic_regression", "version": 2, "coef": [1], "intercept": false, "feature_names": []})",
      R"({"type": "logistic_regression", "version": 2, "coef": {"a": 1}, "intercept": 0, "feature_names": []})",
      R"({"type": "logistic_regression", "version": 2, "coef": [1], "intercept": 0, "feature_names": "a"})",
      R"({"type": "logistic_regression", "version": 3, "coef": [1], "intercept": 0, "feature_names": []})",
      R"([[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[)",
  };
  for (const char* d : docs) {
    std::ofstream(dir / "m.json") << d;
    CHECK_THROWS_AS(sc::logistic_model::load(dir / "m.json"), funnel::parse_error);
  }
  const char* sklearn[] = {
      R"({"coef": [[true]], "intercept": [0], "classes": [0, 1]})",
      R"({"coef": [[1]], "intercept": ["x"], "classes": [0, 1]})",
      R"({"coef": [[1]], "intercept": [0], "classes": [0, 1], "feature_names_in_": [1]})",
      R"({"coef": [[1]], "intercept": [0], "classes": [0, 1], "feature_names_in_": ["a", "b"]})",
  };
  for (const char* d : sklearn) {
    CHECK_THROWS_AS(sc::from_sklearn_json(funnel::parse_json(d, "sk.json")), funnel::parse_error);
  }
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
  const auto m = sc::fit_logistic(t.X, t.y).model;
  const auto dir = funnel::test::scratch_dir("logistic_json");
  m.save(dir / "m.json");
  const auto back = sc::logistic_model::load(dir / "m.json");
  CHECK(back == m);
  auto j = m.to_json();
  j["coef"] = "x";
  CHECK_THROWS_WITH(sc::logistic_model::from_json(j), ContainsSubstring("coef"));
  j = m.to_json();
  j["intercept"] = nullptr;
  CHECK_THROWS_AS(sc::logistic_model::from_json(j), funnel::parse_error);
}

TEST_CASE("logistic: imports a scikit-learn export (2-D coef, 1-element intercept)") {
  const auto j = funnel::parse_json(
      R"({"coef": [[0.5, -1.25]], "intercept": [0.75], "classes": [0, 1]})", "sklearn.json");
  const auto m = sc::from_sklearn_json(j);
  const std::vector<float> x{2, 1};
  CHECK(m.score(x) == static_cast<float>(0.5 * 2 - 1.25 + 0.75));
  const auto multi = funnel::parse_json(
      R"({"coef": [[1], [2], [3]], "intercept": [0, 0, 0], "classes": [0, 1, 2]})", "m.json");
  CHECK_THROWS_AS(sc::from_sklearn_json(multi), funnel::unsupported);
  const auto missing = funnel::parse_json(R"({"coef": [[1]], "classes": [0, 1]})", "m.json");
  CHECK_THROWS_WITH(sc::from_sklearn_json(missing), ContainsSubstring("intercept"));
}

TEST_CASE("ftrl: equals an independent Python FTRL-proximal prediction by prediction") {
  const auto f = funnel::load_json_file(funnel::test::data("logistic/ftrl_stream.json"));
  sc::ftrl_options o;
  o.alpha = f["options"]["alpha"];
  o.beta = f["options"]["beta"];
  o.l1 = f["options"]["l1"];
  o.l2 = f["options"]["l2"];
  o.num_features = f["options"]["n_features"];
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
  CHECK_THAT(static_cast<double>(model.predict(funnel::sparse_row_view{idx, val})),
             WithinAbs(learner.predict(funnel::sparse_row_view{idx, val}), 1e-7));
  CHECK_THAT(static_cast<double>(model.score(funnel::sparse_row_view{idx, val})),
             WithinAbs(learner.score(funnel::sparse_row_view{idx, val}), 1e-6));
}

TEST_CASE("ftrl: score is the margin, predict the probability, both checked") {
  sc::ftrl_options o;
  o.num_features = 4;
  o.alpha = 1;
  o.l1 = 0;
  sc::ftrl_logistic learner(o);
  CHECK(learner.num_features() == 4);
  CHECK(learner.scale() == funnel::score_scale::log_odds);
  const std::vector<std::uint32_t> idx{0, 2};
  const std::vector<float> val{1, 2};
  for (int i = 0; i < 50; ++i) (void)learner.update(funnel::sparse_row_view{idx, val}, 1);
  const funnel::sparse_row_view x{idx, val};
  const double z = learner.intercept() + learner.weight(0) * 1 + learner.weight(2) * 2;
  CHECK(z > 1);  // a margin, not a probability
  CHECK_THAT(learner.score(x), WithinAbs(z, 1e-12));
  CHECK_THAT(learner.predict(x), WithinAbs(1 / (1 + std::exp(-z)), 1e-12));
  CHECK(learner.score_unchecked(x) == learner.score(x));
  CHECK(learner.predict_unchecked(x) == learner.predict(x));
  const std::vector<float> dense{1, 0, 2, 0};
  CHECK_THAT(learner.score(dense), WithinAbs(z, 1e-12));
  CHECK_THAT(learner.predict(dense), WithinAbs(learner.predict(x), 1e-12));
  const std::vector<std::uint32_t> far{1, 4};
  CHECK_THROWS_WITH(learner.score(funnel::sparse_row_view{far, val}),
                    ContainsSubstring("feature index 4 >= num_features 4"));
  CHECK_THROWS_AS(learner.predict(funnel::sparse_row_view{far, val}), funnel::dimension_mismatch);
  const std::vector<float> narrow{1, 2, 3};
  CHECK_THROWS_WITH(learner.predict(narrow),
                    ContainsSubstring("row has 3 features, the learner has 4"));
  const sc::ftrl_logistic empty;
  CHECK_THROWS_AS(empty.predict(x), funnel::not_fitted);
}

TEST_CASE("ftrl: save and load resume learning bit for bit and keep feature names") {
  sc::ftrl_options o;
  o.num_features = 3;
  o.feature_names = {"a", "b"};
  CHECK_THROWS_AS(sc::ftrl_logistic(o), funnel::dimension_mismatch);
  o.feature_names = {"a", "b", "c"};
  sc::ftrl_logistic learner(o);
  const std::vector<std::uint32_t> idx{0, 2};
  const std::vector<float> val{1, -1};
  (void)learner.update(funnel::sparse_row_view{idx, val}, 1);
  const auto dir = funnel::test::scratch_dir("ftrl_save");
  learner.save(dir / "f.json");
  auto back = sc::ftrl_logistic::load(dir / "f.json");
  CHECK(back.feature_names() == o.feature_names);
  CHECK(back.to_model().feature_names() == o.feature_names);
  CHECK(back.update(funnel::sparse_row_view{idx, val}, 0) ==
        learner.update(funnel::sparse_row_view{idx, val}, 0));
  CHECK(back.to_json() == learner.to_json());
  // a version 1 file (no feature names) still loads
  auto v1 = learner.to_json();
  v1["version"] = 1;
  v1.erase("feature_names");
  CHECK(sc::ftrl_logistic::from_json(v1).feature_names().empty());
  // a 0.1 file names the width "n_features"; it loads, and is written back with "num_features"
  auto old = learner.to_json();
  REQUIRE(old.contains("num_features"));
  old["n_features"] = old["num_features"];
  old.erase("num_features");
  CHECK(sc::ftrl_logistic::from_json(old).to_json() == learner.to_json());
}

TEST_CASE("ftrl: hostile state files are parse_errors and never drive an allocation") {
  sc::ftrl_options o;
  o.num_features = 2;
  const auto good = sc::ftrl_logistic(o).to_json();
  auto j = good;
  j["num_features"] = std::uint64_t{1} << 40;  // used to allocate 16 TiB before checking z
  CHECK_THROWS_AS(sc::ftrl_logistic::from_json(j), funnel::parse_error);
  j = good;  // the same under the key of 0.1 documents
  j.erase("num_features");
  j["n_features"] = std::uint64_t{1} << 40;
  CHECK_THROWS_AS(sc::ftrl_logistic::from_json(j), funnel::parse_error);
  j = good;
  j["num_features"] = std::numeric_limits<std::uint64_t>::max();  // num_features + 1 wraps to 0
  j["z"] = funnel::json::array();
  j["n"] = funnel::json::array();
  CHECK_THROWS_AS(sc::ftrl_logistic::from_json(j), funnel::parse_error);
  j = good;
  j["alpha"] = true;
  CHECK_THROWS_AS(sc::ftrl_logistic::from_json(j), funnel::parse_error);
  j = good;
  j["n"] = {0.0, -1.0, 0.0};
  CHECK_THROWS_AS(sc::ftrl_logistic::from_json(j), funnel::parse_error);
  const auto dir = funnel::test::scratch_dir("ftrl_hostile");
  std::ofstream(dir / "f.json") << R"({"type": "ftrl_logistic", "version": 2, "alpha": 1e999})";
  CHECK_THROWS_AS(sc::ftrl_logistic::load(dir / "f.json"), funnel::parse_error);
}

TEST_CASE("ftrl: bad rows and options are typed errors") {
  sc::ftrl_options o;
  CHECK_THROWS_AS(sc::ftrl_logistic(o), funnel::invalid_argument);  // num_features = 0
  o.num_features = (std::size_t{1} << 32) + 1;  // wider than 32-bit indices can address
  CHECK_THROWS_WITH(sc::ftrl_logistic(o), ContainsSubstring("exceeds ftrl_max_features"));
  o.num_features = 4;
  sc::ftrl_logistic learner(o);
  const std::vector<std::uint32_t> idx{1, 9};
  const std::vector<float> val{1, 1};
  CHECK_THROWS_WITH(learner.update(funnel::sparse_row_view{idx, val}, 1),
                    ContainsSubstring("feature index 9 >= num_features 4"));
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
