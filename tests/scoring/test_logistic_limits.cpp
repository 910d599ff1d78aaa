// Hostile options and data for fit_logistic, logistic_objective and ftrl_logistic: every case
// here was accepted before (a crash, an unbounded allocation, a NaN model or a silent misfit) and
// is now a typed error or an honest report (attack report of session 7: H3, H4, M1, M4, L2, L4,
// L5, L6, L8, L12).
#include <funnel/core/error.hpp>
#include <funnel/core/random.hpp>
#include <funnel/scoring/logistic.hpp>
#include <funnel/scoring/logistic_ftrl.hpp>

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "funnel_catch.hpp"

namespace sc = funnel::scoring;

namespace {

// 60 rows x 3 noisy features with labels from a logistic model (both classes, not separable).
struct small_problem {
  funnel::matrix X{60, 3};
  std::vector<float> y;
};

small_problem make_small() {
  small_problem p;
  funnel::rng r(5);
  std::normal_distribution<double> gauss(0.0, 1.0);
  std::uniform_real_distribution<double> unif(0.0, 1.0);
  for (std::size_t i = 0; i < p.X.rows(); ++i) {
    double m = 0.2;
    for (std::size_t j = 0; j < 3; ++j) {
      p.X(i, j) = static_cast<float>(gauss(r));
      m += (j == 1 ? -1.0 : 0.7) * p.X(i, j);
    }
    p.y.push_back(unif(r) < 1.0 / (1.0 + std::exp(-m)) ? 1.0F : 0.0F);
  }
  return p;
}

// The same rows as CSR, every value stored, columns in order.
funnel::csr_matrix to_csr(const funnel::matrix& X) {
  funnel::csr_matrix c;
  c.cols = X.cols();
  for (std::size_t i = 0; i < X.rows(); ++i) {
    for (std::size_t j = 0; j < X.cols(); ++j) {
      c.indices.push_back(static_cast<std::uint32_t>(j));
      c.values.push_back(X(i, j));
    }
    c.row_ptr.push_back(c.values.size());
  }
  return c;
}

}  // namespace

TEST_CASE("logistic limits: Newton refuses a Hessian wider than logistic_max_newton_features") {
  // A libsvm file of four lines with one index of 2^20 - 1: Newton used to allocate a
  // (2^20 + 1)^2 Hessian (8 TB) and die of std::bad_alloc.
  funnel::csr_matrix wide;
  wide.cols = std::size_t{1} << 20;
  wide.indices = {1'048'575U, 1, 2, 3};
  wide.values = {1, 1, 1, 1};
  wide.row_ptr = {0, 1, 2, 3, 4};
  const std::vector<float> y{1, 0, 1, 0};
  sc::logistic_options o;
  o.solver = sc::logistic_solver::newton;
  CHECK_THROWS_AS(sc::fit_logistic(wide, y, o), funnel::invalid_argument);
  CHECK_THROWS_WITH(sc::fit_logistic(wide, y, o),
                    ContainsSubstring("1048576 columns") && ContainsSubstring("lbfgs"));
  // Dense data one column over the cap: the same error, before any Hessian.
  const std::size_t d = sc::logistic_max_newton_features + 1;
  funnel::matrix X(2, d);
  X(0, 0) = 1;
  X(1, 0) = -1;
  const std::vector<float> y2{1, 0};
  CHECK_THROWS_WITH(sc::fit_logistic(X, y2, o),
                    ContainsSubstring(std::to_string(d) + " columns") &&
                        ContainsSubstring("logistic_max_newton_features"));
  // L-BFGS solves the same data.
  o.solver = sc::logistic_solver::lbfgs;
  CHECK(sc::fit_logistic(wide, y, o).report.solver == sc::logistic_solver::lbfgs);
  // automatic can never pick Newton beyond the cap: max_newton_features itself is bounded.
  o.solver = sc::logistic_solver::automatic;
  o.max_newton_features = SIZE_MAX;
  CHECK_THROWS_WITH(sc::fit_logistic(wide, y, o),
                    ContainsSubstring("max_newton_features = 18446744073709551615 must be <= " +
                                      std::to_string(sc::logistic_max_newton_features)));
  o.max_newton_features = sc::logistic_max_newton_features;  // the cap itself is allowed
  CHECK(sc::fit_logistic(wide, y, o).report.solver == sc::logistic_solver::lbfgs);
}

TEST_CASE("logistic limits: L-BFGS memory is bounded and not allocated up front") {
  const auto p = make_small();
  sc::logistic_options o;
  o.solver = sc::logistic_solver::lbfgs;
  o.memory = INT_MAX;  // used to allocate 16 GB before the first step
  CHECK_THROWS_AS(sc::fit_logistic(p.X, p.y, o), funnel::invalid_argument);
  CHECK_THROWS_WITH(sc::fit_logistic(p.X, p.y, o),
                    ContainsSubstring("memory = 2147483647 must be in [1, " +
                                      std::to_string(sc::logistic_max_memory) + "]"));
  o.memory = 0;
  CHECK_THROWS_AS(sc::fit_logistic(p.X, p.y, o), funnel::invalid_argument);
  // The largest memory gives the same solution as the default on a problem that needs fewer
  // pairs than either holds.
  o.tol = 1e-10;
  o.memory = sc::logistic_max_memory;
  const auto big = sc::fit_logistic(p.X, p.y, o);
  o.memory = 10;
  const auto small = sc::fit_logistic(p.X, p.y, o);
  CHECK(big.report.converged);
  CHECK_THAT(big.report.objective, WithinRel(small.report.objective, 1e-9));
}

TEST_CASE("logistic limits: an unknown penalty is an invalid_argument, not l2") {
  const auto p = make_small();
  sc::logistic_options o;
  o.penalty = static_cast<sc::logistic_penalty>(9);
  CHECK_THROWS_AS(sc::fit_logistic(p.X, p.y, o), funnel::invalid_argument);
  CHECK_THROWS_WITH(sc::fit_logistic(p.X, p.y, o), ContainsSubstring("unknown logistic penalty 9"));
  CHECK_THROWS_WITH(sc::fit_logistic(to_csr(p.X), p.y, o),
                    ContainsSubstring("unknown logistic penalty 9"));
  const std::vector<double> coef(3, 0.0);
  CHECK_THROWS_WITH(sc::logistic_objective(p.X, p.y, o, coef, 0.0),
                    ContainsSubstring("unknown logistic penalty 9"));
}

TEST_CASE("logistic limits: L-BFGS stuck on a 1e30 column says it did not converge") {
  // The attack's data: 60 x 3 values in [0, 10) from an LCG, y = [x0 - x1 + x2 > 0], then
  // column 1 replaced by 1e30 in every third row.
  small_problem p;
  std::uint32_t state = 12345;
  for (std::size_t i = 0; i < p.X.rows(); ++i) {
    double acc = 0;
    for (std::size_t j = 0; j < 3; ++j) {
      state = state * 1103515245U + 12345U;
      p.X(i, j) = static_cast<float>((state >> 8) % 1000) / 100.0F;
      acc += (j % 2 != 0 ? -1.0 : 1.0) * p.X(i, j);
    }
    p.y.push_back(acc > 0 ? 1.0F : 0.0F);
  }
  for (std::size_t i = 0; i < p.X.rows(); ++i) p.X(i, 1) = i % 3 == 0 ? 1e30F : 0.0F;
  sc::logistic_options o;
  o.solver = sc::logistic_solver::lbfgs;
  const auto f = sc::fit_logistic(p.X, p.y, o);
  CHECK_FALSE(f.report.converged);
  // It used to read "(at the optimum to machine precision)" while Newton finds a far lower
  // objective: say what is true.
  CHECK_THAT(f.report.message, ContainsSubstring("no decrease"));
  CHECK_THAT(f.report.message, ContainsSubstring("not converged"));
  CHECK_THAT(f.report.message, !ContainsSubstring("optimum"));
  o.solver = sc::logistic_solver::newton;
  const auto n = sc::fit_logistic(p.X, p.y, o);
  CHECK(n.report.converged);
  CHECK(n.report.objective < f.report.objective);
  // OWL-QN (l1) on a column of +-3e38 in every row: the same honest report.
  for (std::size_t i = 0; i < p.X.rows(); ++i) p.X(i, 1) = i % 2 != 0 ? 3e38F : -3e38F;
  o.solver = sc::logistic_solver::automatic;
  o.penalty = sc::logistic_penalty::l1;
  const auto l1 = sc::fit_logistic(p.X, p.y, o);
  CHECK(l1.report.solver == sc::logistic_solver::lbfgs);
  CHECK_FALSE(l1.report.converged);
  CHECK_THAT(l1.report.message, ContainsSubstring("not converged"));
}

TEST_CASE("logistic limits: sample weights whose sum is not finite are an invalid_argument") {
  const auto p = make_small();
  const std::vector<double> huge(p.X.rows(), 1e308);  // each finite, the sum is inf
  CHECK_THROWS_AS(sc::fit_logistic(p.X, p.y, {}, huge), funnel::invalid_argument);
  CHECK_THROWS_WITH(sc::fit_logistic(p.X, p.y, {}, huge),
                    ContainsSubstring("sample weights sum to inf"));
  CHECK_THROWS_WITH(sc::fit_logistic(to_csr(p.X), p.y, {}, huge),
                    ContainsSubstring("sample weights sum to inf"));
  const std::vector<double> coef(3, 0.0);
  CHECK_THROWS_WITH(sc::logistic_objective(p.X, p.y, {}, coef, 0.0, huge),
                    ContainsSubstring("sample weights sum to inf"));
  // A finite weight that its class weight (> 1 for the smaller class) pushes past the largest
  // double.
  const auto ones = static_cast<std::size_t>(std::count(p.y.begin(), p.y.end(), 1.0F));
  const float minority = 2 * ones < p.y.size() ? 1.0F : 0.0F;
  REQUIRE(2 * ones != p.y.size());
  std::vector<double> w(p.X.rows(), 1.0);
  w[static_cast<std::size_t>(std::find(p.y.begin(), p.y.end(), minority) - p.y.begin())] = 1.7e308;
  CHECK_NOTHROW(sc::fit_logistic(p.X, p.y, {}, w));  // finite without class weights
  sc::logistic_options o;
  o.balanced = true;
  CHECK_THROWS_WITH(sc::fit_logistic(p.X, p.y, o, w),
                    ContainsSubstring("sum to inf with balanced class weights"));
  // Large but summable weights still train.
  const std::vector<double> big(p.X.rows(), 1e300);
  CHECK_NOTHROW(sc::fit_logistic(p.X, p.y, {}, big));
}

TEST_CASE("logistic limits: CSR rows with a repeated column are rejected as fit_gbdt does") {
  const auto p = make_small();
  auto c = to_csr(p.X);
  c.indices[1] = 0;  // row 0 holds column 0 twice: it used to be summed silently
  CHECK_THROWS_AS(sc::fit_logistic(c, p.y), funnel::dimension_mismatch);
  CHECK_THROWS_WITH(sc::fit_logistic(c, p.y),
                    ContainsSubstring("row 0 has column 0 after column 0 (columns must "
                                      "increase within a row)"));
  c = to_csr(p.X);
  std::swap(c.indices[3], c.indices[4]);  // row 1 out of order, as fit_gbdt refuses it
  CHECK_THROWS_WITH(sc::fit_logistic(c, p.y), ContainsSubstring("row 1 has column 0 after"));
}

TEST_CASE("logistic limits: empty or repeated feature names are rejected as fit_gbdt does") {
  const auto p = make_small();
  sc::logistic_options o;
  o.feature_names = {"a", "b", "a"};
  CHECK_THROWS_AS(sc::fit_logistic(p.X, p.y, o), funnel::invalid_argument);
  CHECK_THROWS_WITH(sc::fit_logistic(p.X, p.y, o),
                    ContainsSubstring("feature_names[2] = 'a' is empty or appears twice"));
  CHECK_THROWS_WITH(sc::fit_logistic(to_csr(p.X), p.y, o),
                    ContainsSubstring("feature_names[2] = 'a' is empty or appears twice"));
  o.feature_names = {"a", "", "c"};
  CHECK_THROWS_WITH(sc::fit_logistic(p.X, p.y, o),
                    ContainsSubstring("feature_names[1] = '' is empty or appears twice"));
  o.feature_names = {"a", "b", "c"};
  CHECK(sc::fit_logistic(p.X, p.y, o).model.feature_names() == o.feature_names);

  sc::ftrl_options f;
  f.num_features = 3;
  f.feature_names = {"x", "x", "y"};
  CHECK_THROWS_AS(sc::ftrl_logistic(f), funnel::invalid_argument);
  CHECK_THROWS_WITH(sc::ftrl_logistic(f),
                    ContainsSubstring("feature_names[1] = 'x' is empty or appears twice"));
  f.feature_names = {"", "x", "y"};
  CHECK_THROWS_WITH(sc::ftrl_logistic(f),
                    ContainsSubstring("feature_names[0] = '' is empty or appears twice"));
  // A state file with repeated names is a parse_error.
  f.feature_names = {"x", "y", "z"};
  auto j = sc::ftrl_logistic(f).to_json();
  j["feature_names"] = {"x", "y", "x"};
  CHECK_THROWS_AS(sc::ftrl_logistic::from_json(j), funnel::parse_error);
}

TEST_CASE("logistic limits: logistic_objective rejects non-finite coefficients") {
  const auto p = make_small();
  std::vector<double> coef(3, 0.1);
  CHECK(std::isfinite(sc::logistic_objective(p.X, p.y, {}, coef, 0.0)));
  coef[1] = std::numeric_limits<double>::quiet_NaN();  // used to return NaN
  CHECK_THROWS_AS(sc::logistic_objective(p.X, p.y, {}, coef, 0.0), funnel::invalid_argument);
  CHECK_THROWS_WITH(sc::logistic_objective(p.X, p.y, {}, coef, 0.0),
                    ContainsSubstring("coef[1] = nan is not finite"));
  coef[1] = 0.1;
  CHECK_THROWS_WITH(
      sc::logistic_objective(p.X, p.y, {}, coef, std::numeric_limits<double>::infinity()),
      ContainsSubstring("intercept = inf is not finite"));
}

TEST_CASE("ftrl limits: a default-constructed learner is not_fitted, never a null dereference") {
  const sc::ftrl_logistic f;
  CHECK_THROWS_AS(f.to_model(), funnel::not_fitted);  // used to read z_[0] of an empty vector
  CHECK(f.intercept() == 0.0);                        // documented: no state, no bias
  CHECK(f.num_features() == 0);
}

TEST_CASE("ftrl limits: an update that would make the state non-finite is refused") {
  sc::ftrl_options o;
  o.num_features = 2;
  sc::ftrl_logistic f(o);
  const std::vector<std::uint32_t> idx{0, 1};
  const std::vector<float> one{1, 1};
  const funnel::sparse_row_view x{idx, one};
  (void)f.update(x, 1);
  const auto before = f.to_json();
  // weight finite and >= 0, but g^2 overflows: n = inf, z = inf - inf = NaN, forever.
  CHECK_THROWS_AS(f.update(x, 1, 1e200), funnel::invalid_argument);
  CHECK_THROWS_WITH(f.update(x, 0, 1e200), ContainsSubstring("not finite"));
  CHECK(f.to_json() == before);  // untouched
  CHECK(std::isfinite(f.predict(x)));
  // A huge value with a moderate weight overflows the same way.
  const std::vector<float> huge{3e38F, 1};
  CHECK_THROWS_AS(f.update(funnel::sparse_row_view{idx, huge}, 0, 1e140), funnel::invalid_argument);
  CHECK(f.to_json() == before);
  // A repeated index rolls back to the state before the row, not the one between its entries.
  const std::vector<std::uint32_t> twice{0, 0};
  const std::vector<float> two{1, 3e38F};
  CHECK_THROWS_AS(f.update(funnel::sparse_row_view{twice, two}, 0, 1e140),
                  funnel::invalid_argument);
  CHECK(f.to_json() == before);
  // The learner keeps learning, and saves a file that loads.
  (void)f.update(x, 0);
  const auto dir = funnel::test::scratch_dir("ftrl_limits");
  f.save(dir / "f.json");
  CHECK(sc::ftrl_logistic::load(dir / "f.json").to_json() == f.to_json());
}

TEST_CASE("ftrl limits: num_features is at most ftrl_max_features, and 2^32 is refused") {
  sc::ftrl_options o;
  o.num_features = std::size_t{1} << 32;  // used to pass and allocate 64 GiB
  CHECK_THROWS_AS(sc::ftrl_logistic(o), funnel::invalid_argument);
  CHECK_THROWS_WITH(sc::ftrl_logistic(o),
                    ContainsSubstring("num_features = 4294967296 exceeds ftrl_max_features"));
  o.num_features = sc::ftrl_max_features + 1;
  CHECK_THROWS_AS(sc::ftrl_logistic(o), funnel::invalid_argument);
  STATIC_REQUIRE(sc::ftrl_max_features < (std::size_t{1} << 32));
}
