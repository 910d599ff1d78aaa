#pragma once
/// @file optim.hpp
/// @brief L-BFGS with OWL-QN (Andrew and Gao 2007) for an optional L1 term: the solver behind
/// logistic regression. Internal (funnel::scoring::detail), reusable by other smooth+L1 models.

#include <Eigen/Core>

#include <functional>
#include <limits>
#include <string>

namespace funnel::scoring::detail {

/// @brief Stopping rules, with scipy L-BFGS-B's meaning so tolerances carry over from sklearn.
struct optim_options {
  int max_iter = 1000;  ///< iterations (one line search each)
  int memory = 10;      ///< correction pairs kept
  double gtol = 1e-4;   ///< stop when the (pseudo-)gradient's max-abs entry <= gtol
  /// stop when (f_k - f_{k+1}) / max(|f_k|, |f_{k+1}|, 1) <= ftol (scipy's factr * eps)
  double ftol = 64 * std::numeric_limits<double>::epsilon();
  int max_linesearch = 50;  ///< trial steps per line search
  /// called after every accepted step with (iteration, objective, gradient max-abs); returning
  /// false stops the solver (converged = false)
  std::function<bool(int, double, double)> on_iteration;
};

/// @brief What the solver did, returned to the caller as convergence diagnostics.
struct optim_result {
  int iterations = 0;        ///< accepted steps
  int evaluations = 0;       ///< objective/gradient evaluations
  double objective = 0;      ///< smooth part + L1 part at the returned point
  double gradient_norm = 0;  ///< max-abs (pseudo-)gradient at the returned point
  bool converged = false;    ///< a stopping rule other than max_iter fired
  std::string message;       ///< which rule stopped the solver
};

/// @brief Smooth objective: returns f(x) and writes its gradient into g (already sized).
using smooth_objective = std::function<double(const Eigen::VectorXd& x, Eigen::VectorXd& g)>;

/// @brief Minimises f(x) + sum_j l1[j] |x_j| from the starting point x (overwritten with the
/// solution). An empty `l1` (size 0) is plain L-BFGS. f must be convex for OWL-QN's guarantees.
optim_result minimize_lbfgs(const smooth_objective& f, Eigen::VectorXd& x,
                            const Eigen::VectorXd& l1, const optim_options& options);

}  // namespace funnel::scoring::detail
