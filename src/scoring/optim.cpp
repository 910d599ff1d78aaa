#include <funnel/scoring/detail/optim.hpp>

#include <algorithm>
#include <cmath>
#include <deque>
#include <vector>

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

// The L-BFGS memory: the last `memory` curvature pairs (s, y) and 1 / (s . y).
struct lbfgs_memory {
  std::deque<Eigen::VectorXd> S, Y;
  std::deque<double> rho;
  std::vector<double> alpha;

  // Two-loop recursion on the pseudo-gradient: d = -H pg.
  void direction(const Eigen::VectorXd& pg, Eigen::VectorXd& d) {
    d = -pg;
    const std::size_t m = S.size();
    // Sized by the pairs actually stored (at most min(memory, iterations)), never by `memory`
    // up front: a memory of 2^31 used to allocate 16 GB before the first step.
    if (alpha.size() < m) alpha.resize(m);
    for (std::size_t k = m; k-- > 0;) {
      alpha[k] = rho[k] * S[k].dot(d);
      d -= alpha[k] * Y[k];
    }
    if (m > 0) d *= S.back().dot(Y.back()) / Y.back().squaredNorm();
    for (std::size_t k = 0; k < m; ++k) {
      const double beta = rho[k] * Y[k].dot(d);
      d += (alpha[k] - beta) * S[k];
    }
  }

  void clear() {
    S.clear();
    Y.clear();
    rho.clear();
  }

  // Keeps (s, y) when the curvature pair is usable, dropping the oldest beyond `memory`.
  void push(Eigen::VectorXd s, Eigen::VectorXd yv, double sy, int memory) {
    if (!(sy > 1e-16 * yv.squaredNorm())) return;
    if (static_cast<int>(S.size()) == memory) {
      S.pop_front();
      Y.pop_front();
      rho.pop_front();
    }
    S.push_back(std::move(s));
    Y.push_back(std::move(yv));
    rho.push_back(1.0 / sy);
  }
};

// OWL-QN: the orthant a step may not leave (the sign of x, or of -pg where x is 0).
void choose_orthant(const Eigen::VectorXd& x, const Eigen::VectorXd& pg, Eigen::VectorXd& orthant) {
  for (Eigen::Index j = 0; j < x.size(); ++j) {
    orthant[j] = x[j] != 0 ? (x[j] > 0 ? 1.0 : -1.0) : (pg[j] < 0 ? 1.0 : (pg[j] > 0 ? -1.0 : 0.0));
  }
}

// One step's trial point and its objective.
struct trial {
  Eigen::VectorXd& xn;
  Eigen::VectorXd& gn;
  double fn = 0;
};

// Backtracking with safeguarded quadratic interpolation (Armijo, c1 = 1e-4) from x along d;
// false when no step of max_linesearch decreased the objective.
bool line_search(const smooth_objective& f, const Eigen::VectorXd& x, double fx,
                 const Eigen::VectorXd& d, double t, double slope, const Eigen::VectorXd& pg,
                 const Eigen::VectorXd& l1, const Eigen::VectorXd& orthant,
                 const optim_options& options, trial& out, optim_result& r) {
  const bool owl = l1.size() != 0;
  for (int ls = 0; ls < options.max_linesearch; ++ls) {
    out.xn = x + t * d;
    if (owl) {
      for (Eigen::Index j = 0; j < x.size(); ++j) {
        if (out.xn[j] * orthant[j] <= 0) out.xn[j] = 0;  // project onto the orthant
      }
    }
    out.fn = f(out.xn, out.gn) + l1_term(out.xn, l1);
    ++r.evaluations;
    const double decrease = owl ? pg.dot(out.xn - x) : t * slope;
    if (std::isfinite(out.fn) && out.fn <= fx + 1e-4 * decrease) return true;
    double tn = 0.5 * t;
    if (std::isfinite(out.fn) && !owl) {
      const double denom = 2.0 * (out.fn - fx - slope * t);
      if (denom > 0) tn = std::clamp(-slope * t * t / denom, 0.1 * t, 0.5 * t);
    }
    t = tn;
  }
  return false;
}

// Why the run ends after an accepted step (message nullptr: it goes on).
struct stop {
  const char* message = nullptr;
  bool converged = false;
};

stop stop_rule(const optim_result& r, double fprev, double fx, const optim_options& options) {
  if (r.gradient_norm <= options.gtol) return {"gradient max-abs <= gtol", true};
  if (options.on_iteration && !options.on_iteration(r.iterations, fx, r.gradient_norm)) {
    return {"stopped by on_iteration", false};
  }
  if ((fprev - fx) / std::max({std::abs(fprev), std::abs(fx), 1.0}) <= options.ftol) {
    return {"relative reduction of the objective <= ftol", true};
  }
  return {};
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
  lbfgs_memory mem;
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
    mem.direction(pg, d);
    const std::size_t m = mem.S.size();
    if (owl) {
      for (Eigen::Index j = 0; j < n; ++j) {
        if (d[j] * pg[j] >= 0) d[j] = 0;  // keep the direction in the descent orthant
      }
      choose_orthant(x, pg, orthant);
    }
    double slope = pg.dot(d);
    if (!(slope < 0)) {  // lost descent (numerically): restart from steepest descent
      mem.clear();
      d = -pg;
      slope = pg.dot(d);
      if (owl) choose_orthant(x, pg, orthant);
    }
    const double t = m == 0 ? std::min(1.0, 1.0 / d.norm()) : 1.0;
    trial step{xn, gn};
    if (!line_search(f, x, fx, d, t, slope, pg, l1, orthant, options, step, r)) {
      // Not evidence of an optimum: on a column of a huge scale (1e30) the first step already
      // fails from the zero model, far from the solution (docs/scoring-logistic.md).
      r.message =
          "line search found no decrease along the search direction: not converged (badly "
          "scaled columns? see docs/scoring-logistic.md)";
      r.converged = false;
      break;
    }
    Eigen::VectorXd s = xn - x;
    Eigen::VectorXd yv = gn - g;
    const double sy = s.dot(yv);
    x.swap(xn);
    g.swap(gn);
    const double fprev = fx;
    fx = step.fn;
    pseudo_gradient(x, g, l1, pg);
    ++r.iterations;
    r.gradient_norm = pg.lpNorm<Eigen::Infinity>();
    mem.push(std::move(s), std::move(yv), sy, options.memory);
    if (const stop why = stop_rule(r, fprev, fx, options); why.message != nullptr) {
      r.converged = why.converged;
      r.message = why.message;
      break;
    }
  }
  if (r.iterations >= options.max_iter) r.message = "reached max_iter";
  r.objective = fx;
  return r;
}

}  // namespace funnel::scoring::detail
