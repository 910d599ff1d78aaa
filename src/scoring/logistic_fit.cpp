// Training of funnel::scoring::logistic_model: scikit-learn's objective, Newton or L-BFGS/OWL-QN.
#include <funnel/scoring/detail/optim.hpp>
#include <funnel/scoring/logistic.hpp>

#include <Eigen/Cholesky>
#include <Eigen/Dense>
#include <Eigen/SparseCore>

#include <algorithm>
#include <cmath>
#include <string_view>

#include "core/csr_check.hpp"
#include "scoring/feature_names.hpp"

namespace funnel::scoring {
namespace {

using sparse_x = Eigen::SparseMatrix<double, Eigen::RowMajor, std::ptrdiff_t>;
constexpr std::string_view where = "scoring.fit_logistic";

// Penalty on the objective divided by C (what is minimised): ½ l2 ‖w‖² + l1 ‖w‖₁.
struct penalty_weights {
  double l2 = 0;
  double l1 = 0;
};

penalty_weights penalty_of(const logistic_options& o) {
  const double inv_c = 1.0 / o.C;
  switch (o.penalty) {
    case logistic_penalty::none:
      return {0, 0};
    case logistic_penalty::l2:
      return {inv_c, 0};
    case logistic_penalty::l1:
      return {0, inv_c};
    case logistic_penalty::elastic_net:
      return {(1 - o.l1_ratio) * inv_c, o.l1_ratio * inv_c};
  }
  return {inv_c, 0};
}

void check_options(const logistic_options& o) {
  if (!(o.C > 0) || !std::isfinite(o.C)) raise<invalid_argument>(where, "C = {} must be > 0", o.C);
  if (!(o.l1_ratio >= 0 && o.l1_ratio <= 1)) {
    raise<invalid_argument>(where, "l1_ratio = {} must be in [0, 1]", o.l1_ratio);
  }
  if (!(o.tol >= 0) || !(o.ftol >= 0)) raise<invalid_argument>(where, "tol and ftol must be >= 0");
  if (o.max_iter < 1) raise<invalid_argument>(where, "max_iter = {} must be >= 1", o.max_iter);
  // Each pair holds 2 d doubles: bounded, and stored only as the iterations make them.
  if (o.memory < 1 || o.memory > logistic_max_memory) {
    raise<invalid_argument>(where, "memory = {} must be in [1, {}]", o.memory, logistic_max_memory);
  }
  if (o.max_newton_features > logistic_max_newton_features) {
    raise<invalid_argument>(where,
                            "max_newton_features = {} must be <= {} "
                            "(logistic_max_newton_features)",
                            o.max_newton_features, logistic_max_newton_features);
  }
  if (o.penalty != logistic_penalty::none && o.penalty != logistic_penalty::l2 &&
      o.penalty != logistic_penalty::l1 && o.penalty != logistic_penalty::elastic_net) {
    raise<invalid_argument>(where, "unknown logistic penalty {}", static_cast<int>(o.penalty));
  }
  if (o.solver != logistic_solver::automatic && o.solver != logistic_solver::lbfgs &&
      o.solver != logistic_solver::newton) {
    raise<invalid_argument>(where, "unknown logistic solver {}", static_cast<int>(o.solver));
  }
  if (o.solver == logistic_solver::newton && penalty_of(o).l1 > 0) {
    raise<unsupported>(where,
                       "the Newton solver needs a smooth objective; use lbfgs (OWL-QN) or "
                       "automatic for an L1 or elastic-net penalty");
  }
}

// The solver that runs. Newton's step costs ~n d^2 / 2 multiply-adds (the Hessian, as one
// symmetric rank-k update) against ~2 n d for an L-BFGS step's objective and gradient, so at the
// default 128 columns Newton's ~7 steps cost what ~100-200 L-BFGS steps do: far less than L-BFGS
// needs on raw columns of very different scales (Newton is invariant to rescaling a column, L-BFGS
// is not), at most ~2.5x more on standardised ones (docs/scoring-logistic.md has the
// measurements). An L1 part makes the objective non-smooth: OWL-QN.
// Newton's dense (d + 1)^2 Hessian (and its Cholesky factor) is refused beyond
// logistic_max_newton_features columns before anything is allocated: a libsvm file of four lines
// with one index of 2^20 asked for 8 TB.
logistic_solver solver_for(const logistic_options& o, std::size_t cols) {
  if (o.solver == logistic_solver::newton && cols > logistic_max_newton_features) {
    raise<invalid_argument>(where,
                            "the Newton solver on {} columns needs a {} x {} Hessian; at most {} "
                            "columns (logistic_max_newton_features): use lbfgs",
                            cols, cols + 1, cols + 1, logistic_max_newton_features);
  }
  if (o.solver != logistic_solver::automatic) return o.solver;
  return penalty_of(o).l1 == 0 && cols <= o.max_newton_features ? logistic_solver::newton
                                                                : logistic_solver::lbfgs;
}

// One name per column, none empty, none twice (fit_gbdt's rule: the names key the model's
// columns).
void check_feature_names(const logistic_options& o, std::size_t cols) {
  if (o.feature_names.empty()) return;
  if (o.feature_names.size() != cols) {
    raise<dimension_mismatch>(where, "feature_names has {} names for {} columns",
                              o.feature_names.size(), cols);
  }
  detail::check_unique_names(o.feature_names, where);
}

// Sample weights (sample_weight × class weight) and labels as doubles; checks labels and classes.
void targets(std::span<const float> y, std::span<const double> sw, std::size_t rows,
             const logistic_options& o, Eigen::VectorXd& yd, Eigen::VectorXd& s) {
  if (y.size() != rows)
    raise<dimension_mismatch>(where, "y has {} labels for {} rows", y.size(), rows);
  if (!sw.empty() && sw.size() != rows) {
    raise<dimension_mismatch>(where, "sample_weight has {} values for {} rows", sw.size(), rows);
  }
  if (rows == 0) raise<invalid_argument>(where, "no training rows");
  const auto n = static_cast<Eigen::Index>(rows);
  yd.resize(n);
  s.resize(n);
  double count[2] = {0, 0};
  for (std::size_t i = 0; i < rows; ++i) {
    if (y[i] != 0.0F && y[i] != 1.0F) {
      raise<invalid_argument>(where, "y[{}] = {} is not 0 or 1", i, y[i]);
    }
    const double w = sw.empty() ? 1.0 : sw[i];
    if (!std::isfinite(w) || w < 0) {
      raise<invalid_argument>(where, "sample_weight[{}] = {} must be finite and >= 0", i, w);
    }
    count[y[i] == 1.0F ? 1 : 0] += 1;
    yd[static_cast<Eigen::Index>(i)] = y[i];
    s[static_cast<Eigen::Index>(i)] = w;
  }
  if (count[0] == 0 || count[1] == 0) {
    raise<invalid_argument>(where,
                            "y contains a single class ({}); a classifier needs both 0 and 1",
                            count[1] > 0 ? 1 : 0);
  }
  if (o.balanced) {  // sklearn compute_class_weight("balanced"): n / (2 * unweighted count)
    const double cw[2] = {static_cast<double>(rows) / (2 * count[0]),
                          static_cast<double>(rows) / (2 * count[1])};
    for (Eigen::Index i = 0; i < n; ++i) s[i] *= cw[yd[i] > 0 ? 1 : 0];
  }
  // Each weight is finite, but their sum (and with it the objective and its gradient) may not
  // be: 1e308 per row used to give an infinite objective and a zero model.
  const double total = s.sum();
  if (!std::isfinite(total)) {
    raise<invalid_argument>(where,
                            "sample weights sum to {}{}, which is not finite: scale them down",
                            total, o.balanced ? " with balanced class weights" : "");
  }
  if (total <= 0) raise<invalid_argument>(where, "sample weights sum to zero");
}

void check_finite(matrix_view X) {
  for (std::size_t i = 0; i < X.rows(); ++i) {
    const auto r = X.row(i);
    for (std::size_t j = 0; j < r.size(); ++j) {
      if (!std::isfinite(r[j])) {
        raise<invalid_argument>(where,
                                "X[{}][{}] = {}: training data must be finite (impute "
                                "missing values first)",
                                i, j, r[j]);
      }
    }
  }
}

sparse_x to_sparse(const csr_matrix& X) {
  // Columns strictly increasing within a row, as fit_gbdt requires: a repeated column used to be
  // summed silently.
  funnel::detail::check_csr(X, where, "training rows", true);
  funnel::detail::check_trainable_width(X, where, "training rows");
  std::vector<Eigen::Triplet<double, std::ptrdiff_t>> t;
  t.reserve(X.nonzeros());
  for (std::size_t i = 0; i < X.rows(); ++i) {
    for (std::size_t k = X.row_ptr[i]; k < X.row_ptr[i + 1]; ++k) {
      if (!std::isfinite(X.values[k])) {
        raise<invalid_argument>(where, "X[{}][{}] = {}: training data must be finite", i,
                                X.indices[k], X.values[k]);
      }
      t.emplace_back(static_cast<std::ptrdiff_t>(i), static_cast<std::ptrdiff_t>(X.indices[k]),
                     static_cast<double>(X.values[k]));
    }
  }
  sparse_x m(static_cast<std::ptrdiff_t>(X.rows()), static_cast<std::ptrdiff_t>(X.cols));
  m.setFromTriplets(t.begin(), t.end());
  return m;
}

// The per-row terms of the loss at margin z, without overflow: softplus(z) = log(1 + e^z) and
// p = sigmoid(z).
struct logit_terms {
  double softplus;
  double p;
};

logit_terms logit_at(double z) {
  const double e = std::exp(-std::abs(z));
  return {(z > 0 ? z : 0.0) + std::log1p(e), z >= 0 ? 1.0 / (1.0 + e) : e / (1.0 + e)};
}

// The smooth part of objective / C on sparse rows: sum_i s_i (softplus(z_i) - y_i z_i) + ½ l2 ‖w‖².
struct sparse_problem {
  const sparse_x& X;
  const Eigen::VectorXd& y;
  const Eigen::VectorXd& s;
  bool intercept;
  double l2;
  Eigen::VectorXd z;  // X w at the last evaluation (for the Hessian)
  Eigen::VectorXd r;  // s_i (sigmoid(z_i) - y_i)

  double operator()(const Eigen::VectorXd& theta, Eigen::VectorXd& g) {
    const Eigen::Index d = X.cols();
    const auto w = theta.head(d);
    const double b = intercept ? theta[d] : 0.0;
    z.noalias() = X * w;
    double loss = 0;
    r.resize(z.size());
    for (Eigen::Index i = 0; i < z.size(); ++i) {
      const double zi = z[i] + b;
      const logit_terms t = logit_at(zi);
      loss += s[i] * (t.softplus - y[i] * zi);
      r[i] = s[i] * (t.p - y[i]);
    }
    g.head(d).noalias() = X.transpose() * r;
    g.head(d) += l2 * w;
    if (intercept) g[d] = r.sum();
    return loss + 0.5 * l2 * w.squaredNorm();
  }

  // Hessian of the smooth part at theta (after operator() evaluated at theta).
  Eigen::MatrixXd hessian(const Eigen::VectorXd& theta) const {
    const Eigen::Index d = X.cols();
    const double b = intercept ? theta[d] : 0.0;
    Eigen::VectorXd h(z.size());
    for (Eigen::Index i = 0; i < z.size(); ++i) {
      const double p = logit_at(z[i] + b).p;
      h[i] = s[i] * p * (1 - p);
    }
    const Eigen::Index m = d + (intercept ? 1 : 0);
    Eigen::MatrixXd H = Eigen::MatrixXd::Zero(m, m);
    const Eigen::SparseMatrix<double, Eigen::ColMajor, std::ptrdiff_t> XtHX =
        X.transpose() * h.asDiagonal() * X;
    H.topLeftCorner(d, d) = Eigen::MatrixXd(XtHX);
    H.topLeftCorner(d, d).diagonal().array() += l2;
    if (intercept) {
      const Eigen::VectorXd col = X.transpose() * h;
      H.block(0, d, d, 1) = col;
      H.block(d, 0, 1, d) = col.transpose();
      H(d, d) = h.sum();
    }
    return H;
  }
};

// x·w over d floats, in double, four accumulators (the same sum in every pass over the rows).
double row_dot(const double* w, const float* x, std::size_t d) {
  double a0 = 0, a1 = 0, a2 = 0, a3 = 0;
  std::size_t j = 0;
  for (; j + 4 <= d; j += 4) {
    a0 += w[j] * static_cast<double>(x[j]);
    a1 += w[j + 1] * static_cast<double>(x[j + 1]);
    a2 += w[j + 2] * static_cast<double>(x[j + 2]);
    a3 += w[j + 3] * static_cast<double>(x[j + 3]);
  }
  for (; j < d; ++j) a0 += w[j] * static_cast<double>(x[j]);
  return (a0 + a1) + (a2 + a3);
}

// Dense rows in float, one fused pass per evaluation: each row's margin, loss and gradient
// contribution while the row is in cache. Reads X once (as float) instead of twice (as double):
// a quarter of the memory traffic of GEMV + transposed GEMV on a double copy, same arithmetic
// (every float is exact in double, accumulation in double).
struct fused_dense_problem {
  matrix_view X;
  const Eigen::VectorXd& y;
  const Eigen::VectorXd& s;
  bool intercept;
  double l2;

  double operator()(const Eigen::VectorXd& theta, Eigen::VectorXd& g) const {
    const std::size_t d = X.cols();
    const double* w = theta.data();
    const double b = intercept ? theta[static_cast<Eigen::Index>(d)] : 0.0;
    g.setZero();
    double* gp = g.data();
    double loss = 0;
    double gb = 0;
    for (std::size_t i = 0; i < X.rows(); ++i) {
      const float* x = X.data() + i * X.stride();
      const auto ii = static_cast<Eigen::Index>(i);
      const double zi = b + row_dot(w, x, d);
      const logit_terms t = logit_at(zi);
      loss += s[ii] * (t.softplus - y[ii] * zi);
      const double r = s[ii] * (t.p - y[ii]);
      gb += r;
      for (std::size_t k = 0; k < d; ++k) gp[k] += r * static_cast<double>(x[k]);
    }
    double reg = 0;
    for (std::size_t k = 0; k < d; ++k) {
      gp[k] += l2 * w[k];
      reg += w[k] * w[k];
    }
    if (intercept) gp[d] = gb;
    return loss + 0.5 * l2 * reg;
  }

  // Hessian of the smooth part at theta: [X 1]ᵀ diag(h) [X 1] + l2 on the coefficients, with
  // h_i = s_i p_i (1 - p_i). A block of rows at a time is converted to double, scaled by sqrt(h_i)
  // and added by a symmetric rank-k update: memory O(block × d), never a double copy of X.
  Eigen::MatrixXd hessian(const Eigen::VectorXd& theta) const {
    const std::size_t d = X.cols();
    const auto di = static_cast<Eigen::Index>(d);
    const Eigen::Index m = di + (intercept ? 1 : 0);
    const double b = intercept ? theta[di] : 0.0;
    constexpr std::size_t block = 256;
    Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> B(
        static_cast<Eigen::Index>(std::min(block, X.rows())), m);
    Eigen::MatrixXd H = Eigen::MatrixXd::Zero(m, m);
    for (std::size_t i0 = 0; i0 < X.rows(); i0 += block) {
      const std::size_t rows = std::min(block, X.rows() - i0);
      for (std::size_t k = 0; k < rows; ++k) {
        const float* x = X.data() + (i0 + k) * X.stride();
        const double p = logit_at(b + row_dot(theta.data(), x, d)).p;
        const double q = std::sqrt(s[static_cast<Eigen::Index>(i0 + k)] * p * (1 - p));
        double* out = B.row(static_cast<Eigen::Index>(k)).data();
        for (std::size_t j = 0; j < d; ++j) out[j] = q * static_cast<double>(x[j]);
        if (intercept) out[d] = q;
      }
      H.selfadjointView<Eigen::Lower>().rankUpdate(
          B.topRows(static_cast<Eigen::Index>(rows)).transpose());
    }
    H = H.selfadjointView<Eigen::Lower>();
    H.diagonal().head(di).array() += l2;
    return H;
  }
};

// The Newton direction -H⁻¹ g by Cholesky. When H is not numerically positive definite (no
// penalty with constant or collinear columns, or nearly separable data), Levenberg-Marquardt:
// H + λ diag(H), which like Newton does not depend on the columns' scales, with λ raised until
// the factorisation succeeds and the direction descends; steepest descent as the last resort.
Eigen::VectorXd newton_direction(Eigen::MatrixXd& H, const Eigen::VectorXd& g) {
  Eigen::LLT<Eigen::MatrixXd> llt(H);
  Eigen::VectorXd step;
  if (llt.info() == Eigen::Success) {
    step = llt.solve(-g);
    if (step.allFinite() && g.dot(step) < 0) return step;
  }
  const double floor = 1e-12 * std::max(H.diagonal().maxCoeff(), 1e-300);
  const Eigen::VectorXd diag = H.diagonal().cwiseMax(floor);
  for (double lambda = 1e-10; lambda <= 1e2; lambda *= 100) {
    H.diagonal() += lambda * diag;
    llt.compute(H);
    H.diagonal() -= lambda * diag;
    if (llt.info() != Eigen::Success) continue;
    step = llt.solve(-g);
    if (step.allFinite() && g.dot(step) < 0) return step;
  }
  return -g;
}

// Backtracking (Armijo, c1 = 1e-4) from theta along step; false when 50 halvings found no
// decrease. On success tn, gn, fn hold the accepted point.
template <class Problem>
bool newton_line_search(Problem& p, const Eigen::VectorXd& theta, double f,
                        const Eigen::VectorXd& g, const Eigen::VectorXd& step, Eigen::VectorXd& tn,
                        Eigen::VectorXd& gn, double& fn, detail::optim_result& r) {
  const double slope = g.dot(step);
  double t = 1.0;
  for (int ls = 0; ls < 50; ++ls) {
    tn = theta + t * step;
    fn = p(tn, gn);
    ++r.evaluations;
    if (std::isfinite(fn) && fn <= f + 1e-4 * t * slope) return true;
    t *= 0.5;
  }
  return false;
}

template <class Problem>
detail::optim_result newton(Problem& p, Eigen::VectorXd& theta, const logistic_options& o) {
  detail::optim_result r;
  Eigen::VectorXd g(theta.size()), gn(theta.size()), tn(theta.size());
  double f = p(theta, g);
  ++r.evaluations;
  r.gradient_norm = g.lpNorm<Eigen::Infinity>();
  if (r.gradient_norm <= o.tol) {
    r.converged = true;
    r.message = "gradient max-abs <= tol";
  }
  while (!r.converged && r.iterations < o.max_iter) {
    Eigen::MatrixXd H = p.hessian(theta);
    const Eigen::VectorXd step = newton_direction(H, g);
    double fn = 0;
    if (!newton_line_search(p, theta, f, g, step, tn, gn, fn, r)) {
      // The predicted reduction (half the Newton decrement) below the objective's rounding:
      // the optimum to machine precision, which no step can improve on measurably.
      r.converged = -0.5 * g.dot(step) <= 1e-9 * std::max(std::abs(f), 1.0);
      r.message = r.converged ? "line search found no decrease: the predicted reduction is "
                                "below the objective's rounding"
                              : "line search found no decrease: not converged";
      break;
    }
    theta.swap(tn);
    g.swap(gn);
    const double fprev = f;
    f = fn;
    ++r.iterations;
    r.gradient_norm = g.lpNorm<Eigen::Infinity>();
    if (r.gradient_norm <= o.tol) {
      r.converged = true;
      r.message = "gradient max-abs <= tol";
    } else if (o.on_iteration && !o.on_iteration({r.iterations, f * o.C, r.gradient_norm})) {
      r.message = "stopped by on_iteration";
      break;
    } else if ((fprev - f) / std::max({std::abs(fprev), std::abs(f), 1.0}) <= o.ftol) {
      r.converged = true;
      r.message = "relative reduction of the objective <= ftol";
    }
  }
  if (r.iterations >= o.max_iter && !r.converged) r.message = "reached max_iter";
  r.objective = f;
  return r;
}

template <class Problem>
detail::optim_result quasi_newton(Problem& p, Eigen::VectorXd& theta, Eigen::Index d,
                                  const logistic_options& o) {
  const penalty_weights pw = penalty_of(o);
  Eigen::VectorXd l1;
  if (pw.l1 > 0) {
    l1 = Eigen::VectorXd::Constant(theta.size(), pw.l1);
    if (o.fit_intercept) l1[d] = 0;  // the intercept is never penalised
  }
  detail::optim_options oo;
  oo.max_iter = o.max_iter;
  oo.memory = o.memory;
  oo.gtol = o.tol;
  oo.ftol = o.ftol;
  if (o.on_iteration) {
    oo.on_iteration = [&o](int it, double f, double gn) {
      return o.on_iteration({it, f * o.C, gn});
    };
  }
  return detail::minimize_lbfgs(
      [&p](const Eigen::VectorXd& x, Eigen::VectorXd& g) { return p(x, g); }, theta, l1, oo);
}

template <class Problem>
logistic_fit fit_impl(Problem& p, Eigen::Index d, const logistic_options& o,
                      logistic_solver solver) {
  Eigen::VectorXd theta = Eigen::VectorXd::Zero(d + (o.fit_intercept ? 1 : 0));
  const detail::optim_result r =
      solver == logistic_solver::newton ? newton(p, theta, o) : quasi_newton(p, theta, d, o);
  if (!r.converged && o.throw_on_no_convergence) {
    raise<convergence_error>(where,
                             "no convergence after {} iterations of {} ({}); gradient max-abs {} "
                             "> tol {}",
                             r.iterations, to_string(solver), r.message, r.gradient_norm, o.tol);
  }
  logistic_fit out;
  std::vector<double> coef(theta.data(), theta.data() + d);
  out.model = logistic_model(std::move(coef), o.fit_intercept ? theta[d] : 0.0, o.feature_names);
  out.report.iterations = r.iterations;
  out.report.evaluations = r.evaluations;
  out.report.objective = r.objective * o.C;
  out.report.gradient_norm = r.gradient_norm;
  out.report.converged = r.converged;
  out.report.message = r.message;
  out.report.solver = solver;
  return out;
}

}  // namespace

logistic_fit fit_logistic(matrix_view X, std::span<const float> y, const logistic_options& options,
                          std::span<const double> sample_weight) {
  check_options(options);
  check_feature_names(options, X.cols());
  const logistic_solver solver = solver_for(options, X.cols());
  Eigen::VectorXd yd, s;
  targets(y, sample_weight, X.rows(), options, yd, s);
  check_finite(X);
  const fused_dense_problem p{X, yd, s, options.fit_intercept, penalty_of(options).l2};
  return fit_impl(p, static_cast<Eigen::Index>(X.cols()), options, solver);
}

logistic_fit fit_logistic(const csr_matrix& X, std::span<const float> y,
                          const logistic_options& options, std::span<const double> sample_weight) {
  check_options(options);
  check_feature_names(options, X.cols);
  Eigen::VectorXd yd, s;
  targets(y, sample_weight, X.rows(), options, yd, s);
  const sparse_x Xs = to_sparse(X);
  sparse_problem p{Xs, yd, s, options.fit_intercept, penalty_of(options).l2, {}, {}};
  return fit_impl(p, Xs.cols(), options, solver_for(options, X.cols));
}

double logistic_objective(matrix_view X, std::span<const float> y, const logistic_options& options,
                          std::span<const double> coef, double intercept,
                          std::span<const double> sample_weight) {
  check_options(options);
  if (coef.size() != X.cols()) {
    raise<dimension_mismatch>(where, "coef has {} values for {} features", coef.size(), X.cols());
  }
  for (std::size_t j = 0; j < coef.size(); ++j) {
    if (!std::isfinite(coef[j])) {
      raise<invalid_argument>(where, "coef[{}] = {} is not finite", j, coef[j]);
    }
  }
  if (!std::isfinite(intercept)) {
    raise<invalid_argument>(where, "intercept = {} is not finite", intercept);
  }
  Eigen::VectorXd yd, s;
  targets(y, sample_weight, X.rows(), options, yd, s);
  check_finite(X);
  const penalty_weights pw = penalty_of(options);
  const fused_dense_problem p{X, yd, s, true, pw.l2};
  Eigen::VectorXd theta(X.cols() + 1);
  for (std::size_t j = 0; j < coef.size(); ++j) theta[static_cast<Eigen::Index>(j)] = coef[j];
  theta[static_cast<Eigen::Index>(X.cols())] = intercept;
  Eigen::VectorXd g(theta.size());
  const double f =
      p(theta, g) + pw.l1 * theta.head(static_cast<Eigen::Index>(X.cols())).lpNorm<1>();
  return f * options.C;
}

}  // namespace funnel::scoring
