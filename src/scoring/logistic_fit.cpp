// Training of funnel::scoring::logistic_model: scikit-learn's objective, L-BFGS/OWL-QN or Newton.
#include <funnel/scoring/detail/optim.hpp>
#include <funnel/scoring/logistic.hpp>

#include <Eigen/Cholesky>
#include <Eigen/Dense>
#include <Eigen/SparseCore>

#include <cmath>

namespace funnel::scoring {
namespace {

using dense_x = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
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
  if (o.memory < 1) raise<invalid_argument>(where, "memory = {} must be >= 1", o.memory);
  if (o.solver == logistic_solver::newton && penalty_of(o).l1 > 0) {
    raise<unsupported>(where,
                       "the Newton solver needs a smooth objective; use lbfgs (OWL-QN) for "
                       "an L1 or elastic-net penalty");
  }
}

void check_feature_names(const logistic_options& o, std::size_t cols) {
  if (!o.feature_names.empty() && o.feature_names.size() != cols) {
    raise<dimension_mismatch>(where, "feature_names has {} names for {} columns",
                              o.feature_names.size(), cols);
  }
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
  if (s.sum() <= 0) raise<invalid_argument>(where, "sample weights sum to zero");
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

dense_x to_dense(matrix_view X) {
  check_finite(X);
  return X.as_eigen().cast<double>();
}

sparse_x to_sparse(const csr_matrix& X) {
  if (X.row_ptr.empty() || X.row_ptr.back() != X.values.size() ||
      X.indices.size() != X.values.size()) {
    raise<dimension_mismatch>(where, "csr_matrix is inconsistent (row_ptr/indices/values sizes)");
  }
  std::vector<Eigen::Triplet<double, std::ptrdiff_t>> t;
  t.reserve(X.nonzeros());
  for (std::size_t i = 0; i < X.rows(); ++i) {
    for (std::size_t k = X.row_ptr[i]; k < X.row_ptr[i + 1]; ++k) {
      if (X.indices[k] >= X.cols) {
        raise<dimension_mismatch>(where, "row {}: column {} >= cols {}", i, X.indices[k], X.cols);
      }
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

// The smooth part of objective / C: sum_i s_i (softplus(z_i) - y_i z_i) + ½ l2 ‖w‖².
template <class Mat>
struct smooth_problem {
  const Mat& X;
  const Eigen::VectorXd& y;
  const Eigen::VectorXd& s;
  bool intercept;
  double l2;
  Eigen::VectorXd z;
  Eigen::VectorXd r;  // s_i (sigmoid(z_i) - y_i)
  Eigen::VectorXd h;  // s_i sigmoid'(z_i), for Newton

  double operator()(const Eigen::VectorXd& theta, Eigen::VectorXd& g) {
    const Eigen::Index d = X.cols();
    const auto w = theta.head(d);
    const double b = intercept ? theta[d] : 0.0;
    z.noalias() = X * w;
    double loss = 0;
    r.resize(z.size());
    for (Eigen::Index i = 0; i < z.size(); ++i) {
      const double zi = z[i] + b;
      const double e = std::exp(-std::abs(zi));
      const double softplus = (zi > 0 ? zi : 0.0) + std::log1p(e);
      const double p = zi >= 0 ? 1.0 / (1.0 + e) : e / (1.0 + e);
      loss += s[i] * (softplus - y[i] * zi);
      r[i] = s[i] * (p - y[i]);
    }
    g.head(d).noalias() = X.transpose() * r;
    g.head(d) += l2 * w;
    if (intercept) g[d] = r.sum();
    return loss + 0.5 * l2 * w.squaredNorm();
  }

  // Hessian of the smooth part at theta (after operator() evaluated at theta).
  Eigen::MatrixXd hessian(const Eigen::VectorXd& theta) {
    const Eigen::Index d = X.cols();
    const double b = intercept ? theta[d] : 0.0;
    h.resize(z.size());
    for (Eigen::Index i = 0; i < z.size(); ++i) {
      const double zi = z[i] + b;
      const double e = std::exp(-std::abs(zi));
      const double p = zi >= 0 ? 1.0 / (1.0 + e) : e / (1.0 + e);
      h[i] = s[i] * p * (1 - p);
    }
    const Eigen::Index m = d + (intercept ? 1 : 0);
    Eigen::MatrixXd H = Eigen::MatrixXd::Zero(m, m);
    if constexpr (std::is_same_v<Mat, dense_x>) {
      const dense_x Xs = h.cwiseSqrt().asDiagonal() * X;
      H.topLeftCorner(d, d).template selfadjointView<Eigen::Lower>().rankUpdate(Xs.transpose());
      H.topLeftCorner(d, d) = H.topLeftCorner(d, d).template selfadjointView<Eigen::Lower>();
    } else {
      const Eigen::SparseMatrix<double, Eigen::ColMajor, std::ptrdiff_t> XtHX =
          X.transpose() * h.asDiagonal() * X;
      H.topLeftCorner(d, d) = Eigen::MatrixXd(XtHX);
    }
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
      double a0 = 0, a1 = 0, a2 = 0, a3 = 0;
      std::size_t j = 0;
      for (; j + 4 <= d; j += 4) {
        a0 += w[j] * static_cast<double>(x[j]);
        a1 += w[j + 1] * static_cast<double>(x[j + 1]);
        a2 += w[j + 2] * static_cast<double>(x[j + 2]);
        a3 += w[j + 3] * static_cast<double>(x[j + 3]);
      }
      for (; j < d; ++j) a0 += w[j] * static_cast<double>(x[j]);
      const auto ii = static_cast<Eigen::Index>(i);
      const double zi = b + ((a0 + a1) + (a2 + a3));
      const double e = std::exp(-std::abs(zi));
      const double softplus = (zi > 0 ? zi : 0.0) + std::log1p(e);
      const double p = zi >= 0 ? 1.0 / (1.0 + e) : e / (1.0 + e);
      loss += s[ii] * (softplus - y[ii] * zi);
      const double r = s[ii] * (p - y[ii]);
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
};

template <class Mat>
detail::optim_result newton(smooth_problem<Mat>& p, Eigen::VectorXd& theta,
                            const logistic_options& o) {
  detail::optim_result r;
  Eigen::VectorXd g(theta.size()), gn(theta.size()), tn(theta.size());
  double f = p(theta, g);
  ++r.evaluations;
  for (r.iterations = 0; r.iterations < o.max_iter;) {
    r.gradient_norm = g.lpNorm<Eigen::Infinity>();
    if (r.gradient_norm <= o.tol) {
      r.converged = true;
      r.message = "gradient max-abs <= tol";
      break;
    }
    Eigen::MatrixXd H = p.hessian(theta);
    Eigen::LDLT<Eigen::MatrixXd> ldlt(H);
    Eigen::VectorXd step = ldlt.solve(-g);
    if (ldlt.info() != Eigen::Success || !(g.dot(step) < 0) || !step.allFinite()) {
      H.diagonal().array() +=
          1e-8 * std::max(1.0, H.diagonal().maxCoeff());  // unpenalised, singular
      step = H.ldlt().solve(-g);
      if (!(g.dot(step) < 0)) step = -g;
    }
    double t = 1.0;
    bool accepted = false;
    double fn = 0;
    for (int ls = 0; ls < 50; ++ls) {
      tn = theta + t * step;
      fn = p(tn, gn);
      ++r.evaluations;
      if (std::isfinite(fn) && fn <= f + 1e-4 * t * g.dot(step)) {
        accepted = true;
        break;
      }
      t *= 0.5;
    }
    if (!accepted) {
      r.message = "line search found no decrease (at the optimum to machine precision)";
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
      break;
    }
    if (o.on_iteration && !o.on_iteration({r.iterations, f * o.C, r.gradient_norm})) {
      r.message = "stopped by on_iteration";
      break;
    }
    if ((fprev - f) / std::max({std::abs(fprev), std::abs(f), 1.0}) <= o.ftol) {
      r.converged = true;
      r.message = "relative reduction of the objective <= ftol";
      break;
    }
  }
  if (r.iterations >= o.max_iter && !r.converged) r.message = "reached max_iter";
  r.objective = f;
  return r;
}

template <class Problem>
logistic_fit fit_impl(Problem& p, Eigen::Index d, const logistic_options& o) {
  const penalty_weights pw = penalty_of(o);
  Eigen::VectorXd theta = Eigen::VectorXd::Zero(d + (o.fit_intercept ? 1 : 0));
  detail::optim_result r;
  if constexpr (requires { p.hessian(theta); }) {
    r = newton(p, theta, o);
  } else {
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
    r = detail::minimize_lbfgs(
        [&p](const Eigen::VectorXd& x, Eigen::VectorXd& g) { return p(x, g); }, theta, l1, oo);
  }
  if (!r.converged && o.throw_on_no_convergence) {
    raise<convergence_error>(where,
                             "no convergence after {} iterations ({}); gradient max-abs {} > "
                             "tol {}",
                             r.iterations, r.message, r.gradient_norm, o.tol);
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
  return out;
}

}  // namespace

logistic_fit fit_logistic(matrix_view X, std::span<const float> y, const logistic_options& options,
                          std::span<const double> sample_weight) {
  check_options(options);
  check_feature_names(options, X.cols());
  Eigen::VectorXd yd, s;
  targets(y, sample_weight, X.rows(), options, yd, s);
  const penalty_weights pw = penalty_of(options);
  if (options.solver == logistic_solver::newton) {
    const dense_x Xd = to_dense(X);
    smooth_problem<dense_x> p{Xd, yd, s, options.fit_intercept, pw.l2, {}, {}, {}};
    return fit_impl(p, Xd.cols(), options);
  }
  check_finite(X);
  const fused_dense_problem p{X, yd, s, options.fit_intercept, pw.l2};
  return fit_impl(p, static_cast<Eigen::Index>(X.cols()), options);
}

logistic_fit fit_logistic(const csr_matrix& X, std::span<const float> y,
                          const logistic_options& options, std::span<const double> sample_weight) {
  check_options(options);
  check_feature_names(options, X.cols);
  Eigen::VectorXd yd, s;
  targets(y, sample_weight, X.rows(), options, yd, s);
  const sparse_x Xs = to_sparse(X);
  smooth_problem<sparse_x> p{Xs, yd, s, options.fit_intercept, penalty_of(options).l2, {}, {}, {}};
  if (options.solver == logistic_solver::newton) return fit_impl(p, Xs.cols(), options);
  // L-BFGS does not need the Hessian: hide it so fit_impl takes the quasi-Newton branch.
  auto fg = [&p](const Eigen::VectorXd& x, Eigen::VectorXd& g) { return p(x, g); };
  return fit_impl(fg, Xs.cols(), options);
}

double logistic_objective(matrix_view X, std::span<const float> y, const logistic_options& options,
                          std::span<const double> coef, double intercept,
                          std::span<const double> sample_weight) {
  check_options(options);
  if (coef.size() != X.cols()) {
    raise<dimension_mismatch>(where, "coef has {} values for {} features", coef.size(), X.cols());
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
