#include <funnel/scoring/detail/optim.hpp>

#include <algorithm>
#include <cmath>
#include <deque>

namespace funnel::scoring::detail {
namespace {

double l1_term(const Eigen::VectorXd& x, const Eigen::VectorXd& l1) {
  return l1.size() == 0 ? 0.0 : l1.cwiseProduct(x.cwiseAbs()).sum();
}

// OWL-QN pseudo-gradient: the steepest-descent direction of f + L1 (minimum-norm subgradient).
void pseudo_gradient(const Eigen::VectorXd& x, const Eigen::VectorXd& g, const Eigen::VectorXd& l1,
                     Eigen::VectorXd& pg) {
  if (l1.size() == 0) {
    pg = g;
    return;
  }
  for (Eigen::Index j = 0; j < x.size(); ++j) {
    const double lam = l1[j];
    if (x[j] < 0) {
      pg[j] = g[j] - lam;
    } else if (x[j] > 0) {
      pg[j] = g[j] + lam;
    } else if (g[j] + lam < 0) {
      pg[j] = g[j] + lam;
    } else if (g[j] - lam > 0) {
      pg[j] = g[j] - lam;
    } else {
      pg[j] = 0;
    }
  }
}

}  // namespace

optim_result minimize_lbfgs(const smooth_objective& f, Eigen::VectorXd& x,
                            const Eigen::VectorXd& l1, const optim_options& options) {
  const Eigen::Index n = x.size();
  const bool owl = l1.size() != 0;
  optim_result r;
  Eigen::VectorXd g(n), pg(n), d(n), xn(n), gn(n), orthant(n);
  double fx = f(x, g) + l1_term(x, l1);
  ++r.evaluations;
  pseudo_gradient(x, g, l1, pg);
  std::deque<Eigen::VectorXd> S, Y;
  std::deque<double> rho;
  std::vector<double> alpha(static_cast<std::size_t>(options.memory));
  r.gradient_norm = pg.lpNorm<Eigen::Infinity>();
  if (!std::isfinite(fx)) {
    r.objective = fx;
    r.message = "objective is not finite at the starting point";
    return r;
  }
  if (r.gradient_norm <= options.gtol) {
    r.objective = fx;
    r.converged = true;
    r.message = "gradient below gtol at the starting point";
    return r;
  }
  for (r.iterations = 0; r.iterations < options.max_iter;) {
    // Two-loop recursion on the pseudo-gradient.
    d = -pg;
    const std::size_t m = S.size();
    for (std::size_t k = m; k-- > 0;) {
      alpha[k] = rho[k] * S[k].dot(d);
      d -= alpha[k] * Y[k];
    }
    if (m > 0) d *= S.back().dot(Y.back()) / Y.back().squaredNorm();
    for (std::size_t k = 0; k < m; ++k) {
      const double beta = rho[k] * Y[k].dot(d);
      d += (alpha[k] - beta) * S[k];
    }
    if (owl) {
      for (Eigen::Index j = 0; j < n; ++j) {
        if (d[j] * pg[j] >= 0) d[j] = 0;  // keep the direction in the descent orthant
        orthant[j] =
            x[j] != 0 ? (x[j] > 0 ? 1.0 : -1.0) : (pg[j] < 0 ? 1.0 : (pg[j] > 0 ? -1.0 : 0.0));
      }
    }
    double slope = pg.dot(d);
    if (!(slope < 0)) {  // lost descent (numerically): restart from steepest descent
      S.clear();
      Y.clear();
      rho.clear();
      d = -pg;
      slope = pg.dot(d);
      if (owl) {
        for (Eigen::Index j = 0; j < n; ++j) {
          orthant[j] =
              x[j] != 0 ? (x[j] > 0 ? 1.0 : -1.0) : (pg[j] < 0 ? 1.0 : (pg[j] > 0 ? -1.0 : 0.0));
        }
      }
    }
    double t = m == 0 ? std::min(1.0, 1.0 / d.norm()) : 1.0;
    // Backtracking with safeguarded quadratic interpolation (Armijo, c1 = 1e-4).
    bool accepted = false;
    double fn = 0;
    for (int ls = 0; ls < options.max_linesearch; ++ls) {
      xn = x + t * d;
      if (owl) {
        for (Eigen::Index j = 0; j < n; ++j) {
          if (xn[j] * orthant[j] <= 0) xn[j] = 0;  // project onto the orthant
        }
      }
      fn = f(xn, gn) + l1_term(xn, l1);
      ++r.evaluations;
      const double decrease = owl ? pg.dot(xn - x) : t * slope;
      if (std::isfinite(fn) && fn <= fx + 1e-4 * decrease) {
        accepted = true;
        break;
      }
      double tn = 0.5 * t;
      if (std::isfinite(fn) && !owl) {
        const double denom = 2.0 * (fn - fx - slope * t);
        if (denom > 0) tn = std::clamp(-slope * t * t / denom, 0.1 * t, 0.5 * t);
      }
      t = tn;
    }
    if (!accepted) {
      r.message = "line search found no decrease (at the optimum to machine precision)";
      r.converged = false;
      break;
    }
    Eigen::VectorXd s = xn - x;
    Eigen::VectorXd yv = gn - g;
    const double sy = s.dot(yv);
    x.swap(xn);
    g.swap(gn);
    const double fprev = fx;
    fx = fn;
    pseudo_gradient(x, g, l1, pg);
    ++r.iterations;
    r.gradient_norm = pg.lpNorm<Eigen::Infinity>();
    if (sy > 1e-16 * yv.squaredNorm()) {  // curvature pair is usable
      if (static_cast<int>(S.size()) == options.memory) {
        S.pop_front();
        Y.pop_front();
        rho.pop_front();
      }
      S.push_back(std::move(s));
      Y.push_back(std::move(yv));
      rho.push_back(1.0 / sy);
    }
    if (r.gradient_norm <= options.gtol) {
      r.converged = true;
      r.message = "gradient max-abs <= gtol";
      break;
    }
    if (options.on_iteration && !options.on_iteration(r.iterations, fx, r.gradient_norm)) {
      r.message = "stopped by on_iteration";
      break;
    }
    if ((fprev - fx) / std::max({std::abs(fprev), std::abs(fx), 1.0}) <= options.ftol) {
      r.converged = true;
      r.message = "relative reduction of the objective <= ftol";
      break;
    }
  }
  if (r.iterations >= options.max_iter) r.message = "reached max_iter";
  r.objective = fx;
  return r;
}

}  // namespace funnel::scoring::detail
