#pragma once
/// @file logistic.hpp
/// @brief Binary logistic regression: training with scikit-learn's exact objective (L2, L1,
/// elastic net; Newton, L-BFGS or OWL-QN, chosen automatically by default), and a serving model:
/// `score` is the margin (log-odds), `predict` the probability, both checked; `_unchecked` forms
/// are noexcept.
///
/// @code
/// funnel::scoring::logistic_options opt;  // C = 1, L2: sklearn LogisticRegression() defaults
/// auto fit = funnel::scoring::fit_logistic(X, y, opt);
/// if (!fit.report.converged) { /* see fit.report.message */ }
/// float z = fit.model.score(X.row(0));      // margin (log-odds), width checked
/// float p = fit.model.predict(X.row(0));    // probability of class 1
/// @endcode

#include <funnel/core/contract.hpp>
#include <funnel/core/enum_names.hpp>
#include <funnel/core/json.hpp>
#include <funnel/core/serialize.hpp>
#include <funnel/core/views.hpp>

#include <cstddef>
#include <filesystem>
#include <functional>
#include <span>
#include <string>
#include <vector>

namespace funnel::scoring {

/// @brief The penalty term of the objective (see logistic_options).
enum class logistic_penalty { none, l2, l1, elastic_net };
/// @brief Names of the penalties ("none", "l2", "l1", "elastic_net"): `to_string`, `parse_enum`.
constexpr auto enum_names_of(logistic_penalty) {
  return enum_names<logistic_penalty, 4>{"logistic penalty",
                                         {{{logistic_penalty::none, "none"},
                                           {logistic_penalty::l2, "l2"},
                                           {logistic_penalty::l1, "l1"},
                                           {logistic_penalty::elastic_net, "elastic_net"}}}};
}

/// @brief Which optimiser minimises the objective.
enum class logistic_solver {
  /// newton when the penalty is smooth (l2 or none) and the data has at most
  /// logistic_options::max_newton_features columns, lbfgs otherwise (docs/scoring-logistic.md)
  automatic,
  lbfgs,  ///< L-BFGS; switches to OWL-QN automatically when the penalty has an L1 part
  /// Newton with line search: exact Hessian, O(n d^2) per step; L2 or none only, at most
  /// logistic_max_newton_features columns
  newton,
};

/// @brief Names of the solvers ("automatic", "lbfgs", "newton"): `to_string`, `parse_enum`.
constexpr auto enum_names_of(logistic_solver) {
  return enum_names<logistic_solver, 3>{"logistic solver",
                                        {{{logistic_solver::automatic, "automatic"},
                                          {logistic_solver::lbfgs, "lbfgs"},
                                          {logistic_solver::newton, "newton"}}}};
}
using funnel::to_string;

/// @brief The widest data (columns, intercept not counted) the Newton solver accepts, and the
/// largest logistic_options::max_newton_features: Newton keeps a dense (d + 1)^2 Hessian and its
/// Cholesky factor, 2 x 128 MiB at 4,096 columns; wider data is L-BFGS's
/// (docs/scoring-logistic.md).
inline constexpr std::size_t logistic_max_newton_features = 4096;
/// @brief The largest logistic_options::memory (L-BFGS correction pairs; each holds 2 d doubles,
/// stored as the iterations make them).
inline constexpr int logistic_max_memory = 1000;

/// @brief Progress of a fit, passed to logistic_options::on_iteration after every step.
struct logistic_progress {
  int iteration = 0;         ///< steps taken so far
  double objective = 0;      ///< sklearn's objective (C × loss + penalty) now
  double gradient_norm = 0;  ///< max-abs (pseudo-)gradient of objective / C now
};

/// @brief Training options. The objective is scikit-learn's, term for term:
///   C * sum_i s_i * log(1 + exp(-y±_i (x_i·w + b)))  +  penalty(w)
/// with penalty l2: ½‖w‖², l1: ‖w‖₁, elastic_net: l1_ratio‖w‖₁ + ½(1 - l1_ratio)‖w‖², none: 0;
/// the intercept b is never penalised; s_i = sample_weight_i × class weight. Internally it is
/// divided by C (what sklearn's lbfgs minimises), so `tol` means what sklearn's `tol` means.
struct logistic_options {
  logistic_penalty penalty = logistic_penalty::l2;  ///< sklearn `penalty`
  double C = 1.0;             ///< inverse regularisation strength (sklearn `C`), > 0
  double l1_ratio = 0.5;      ///< elastic_net mixing in [0, 1] (sklearn `l1_ratio`)
  bool fit_intercept = true;  ///< learn an unpenalised intercept
  bool balanced = false;      ///< class_weight="balanced": weight n / (2 n_class) per class
  logistic_solver solver = logistic_solver::automatic;  ///< optimiser
  /// the widest data (columns, intercept not counted) `automatic` solves by Newton: a Newton step
  /// costs about n d^2 / 2 multiply-adds, an L-BFGS step about 2 n d, and on columns of very
  /// different scales L-BFGS needs thousands of steps where Newton needs about ten (the measured
  /// trade-off is in docs/scoring-logistic.md, "Which solver when"); at most
  /// logistic_max_newton_features
  std::size_t max_newton_features = 128;
  double tol = 1e-4;  ///< stop at max-abs (pseudo-)gradient <= tol (sklearn `tol`)
  /// stop when the relative decrease of the objective is <= ftol (scipy/sklearn: 64 × eps)
  double ftol = 2.842170943040401e-14;
  int max_iter = 1000;  ///< iteration budget (sklearn `max_iter` is 100)
  int memory = 10;      ///< L-BFGS correction pairs, in [1, logistic_max_memory]
  /// when true a fit that exhausts max_iter throws convergence_error instead of returning
  /// converged = false
  bool throw_on_no_convergence = false;
  /// optional monitor called after every step (logging, deadlines, early stopping); returning
  /// false stops training with converged = false and message "stopped by on_iteration"
  std::function<bool(const logistic_progress&)> on_iteration;
  /// names of the input columns (e.g. a features pipeline's output names), kept by the model;
  /// empty, or one per column of X, none empty, none repeated
  std::vector<std::string> feature_names{};
};

/// @brief Convergence diagnostics returned with every fit.
struct logistic_report {
  int iterations = 0;        ///< optimiser iterations
  int evaluations = 0;       ///< objective + gradient evaluations
  double objective = 0;      ///< sklearn's objective (C × loss + penalty) at the solution
  double gradient_norm = 0;  ///< max-abs (pseudo-)gradient of objective / C at the solution
  bool converged = false;    ///< a tolerance was met (false: max_iter or line search failure)
  std::string message;       ///< the stopping rule that fired
  /// the solver that ran: lbfgs or newton, never automatic (lbfgs is OWL-QN when the penalty has
  /// an L1 part)
  logistic_solver solver = logistic_solver::lbfgs;
};

/// @brief A fitted binary logistic regression: a value type; const methods are thread-safe.
///
/// The serving contract (docs/design.md): `score` is the margin x·w + b (log-odds, sklearn's
/// `decision_function`), `predict` the probability sigmoid(score); both check the row's width
/// and throw, the `_unchecked` forms are the noexcept, allocation-free fast paths for rows
/// validated once at the boundary.
class logistic_model : public json_file_io<logistic_model, 1> {
 public:
  logistic_model() = default;
  /// @brief A model from coefficients, intercept and optionally the names of its input features
  /// (one per coefficient, or none). @throws invalid_argument on non-finite values,
  /// dimension_mismatch when the names are not one per coefficient.
  logistic_model(std::vector<double> coef, double intercept,
                 std::vector<std::string> feature_names = {});

  /// @brief Number of features a row must have.
  [[nodiscard]] std::size_t num_features() const noexcept { return coef_.size(); }
  /// @brief Names of the input features, in order; empty when the model carries none.
  [[nodiscard]] const std::vector<std::string>& feature_names() const noexcept { return names_; }
  /// @brief What score() returns: always log_odds (predict() = sigmoid(score())).
  [[nodiscard]] score_scale scale() const noexcept { return score_scale::log_odds; }
  /// @brief The coefficients w, one per feature.
  [[nodiscard]] const std::vector<double>& coef() const noexcept { return coef_; }
  /// @brief The intercept b.
  [[nodiscard]] double intercept() const noexcept { return intercept_; }

  /// @brief The margin x·w + b (log-odds). NaN propagates.
  /// @throws dimension_mismatch when x.size() != num_features(), naming both.
  [[nodiscard]] float score(row_view x) const { return score_unchecked(checked(x)); }
  /// @brief The margin of a sparse (hashed) row.
  /// @throws dimension_mismatch on an index >= num_features() or indices/values sizes that differ.
  [[nodiscard]] float score(sparse_row_view x) const { return score_unchecked(checked(x)); }
  /// @brief The probability of class 1, sigmoid(score(x)), computed without overflow.
  /// @throws dimension_mismatch as score().
  [[nodiscard]] float predict(row_view x) const { return predict_unchecked(checked(x)); }
  /// @brief predict() of a sparse row. @throws dimension_mismatch as score().
  [[nodiscard]] float predict(sparse_row_view x) const { return predict_unchecked(checked(x)); }

  /// @brief score() without the check. Precondition: x.size() == num_features().
  [[nodiscard]] float score_unchecked(row_view x) const noexcept;
  /// @brief score() of a sparse row without the check. Precondition: indices < num_features().
  [[nodiscard]] float score_unchecked(sparse_row_view x) const noexcept;
  /// @brief predict() without the check. Precondition: x.size() == num_features().
  [[nodiscard]] float predict_unchecked(row_view x) const noexcept;
  /// @brief predict() of a sparse row without the check. Precondition: indices < num_features().
  [[nodiscard]] float predict_unchecked(sparse_row_view x) const noexcept;

  /// @brief score() of every row into out; no allocation. @throws dimension_mismatch when
  /// X.cols() != num_features() or out.size() != X.rows().
  void score_batch(matrix_view X, std::span<float> out) const;
  /// @brief predict() of every row into out; no allocation. @throws as score_batch.
  void predict_batch(matrix_view X, std::span<float> out) const;

  /// @brief Validates a row fully (width and finite values), e.g. once at a service boundary.
  /// @throws dimension_mismatch, invalid_argument (NaN or infinite value, naming the column).
  void check_row(row_view x) const;
  /// @brief Validates a sparse row: indices in range, finite values.
  /// @throws dimension_mismatch, invalid_argument.
  void check_row(sparse_row_view x) const;

  /// @brief {"type": "funnel.scoring.logistic_model", "version": 2, "coef", "intercept",
  /// "feature_names"}. The earlier type "logistic_regression" still loads. Version 1 files (with
  /// "output") still load; "output" is ignored because score() is always the margin now.
  [[nodiscard]] json to_json() const;
  /// @brief @throws parse_error naming the field.
  [[nodiscard]] static logistic_model from_json(const json& j);
  friend bool operator==(const logistic_model&, const logistic_model&) = default;

 private:
  [[nodiscard]] double margin(row_view x) const noexcept;
  [[nodiscard]] double margin(sparse_row_view x) const noexcept;
  // x, once its width (or its indices) fit the model. @throws dimension_mismatch.
  [[nodiscard]] row_view checked(row_view x) const;
  [[nodiscard]] sparse_row_view checked(sparse_row_view x) const;

  std::vector<double> coef_;
  double intercept_ = 0;
  std::vector<std::string> names_;
};

/// @brief Imports a scikit-learn LogisticRegression exported as
/// {"coef": [[...]] or [...], "intercept": [b] or b, "classes": [c0, c1],
/// "feature_names_in_": [...] (optional)} (docs/scoring-logistic.md has the snippet).
/// @throws parse_error, unsupported for a multiclass model.
[[nodiscard]] logistic_model from_sklearn_json(const json& j);

/// @brief A fitted model and how the optimiser got there.
struct logistic_fit {
  logistic_model model;    ///< the solution
  logistic_report report;  ///< convergence diagnostics
};

/// @brief Fits on dense rows. y holds 0/1 floats (checked); an empty sample_weight means all ones.
/// @throws dimension_mismatch (y, weights or feature_names vs rows/columns), invalid_argument
/// (NaN/inf feature naming row and column, label not 0/1, a single class, negative weight,
/// weights whose sum is not finite, an empty or repeated feature name, bad option, solver newton
/// on more than logistic_max_newton_features columns), unsupported (solver newton with an L1 or
/// elastic-net penalty), convergence_error (only with throw_on_no_convergence).
[[nodiscard]] logistic_fit fit_logistic(matrix_view X, std::span<const float> y,
                                        const logistic_options& options = {},
                                        std::span<const double> sample_weight = {});

/// @brief Fits on sparse rows (hashed features); same objective and errors as the dense overload,
/// and dimension_mismatch when X does not index (csr_matrix) or a row's columns do not strictly
/// increase (a repeated column is an error, as in fit_gbdt, not a sum).
[[nodiscard]] logistic_fit fit_logistic(const csr_matrix& X, std::span<const float> y,
                                        const logistic_options& options = {},
                                        std::span<const double> sample_weight = {});

/// @brief sklearn's objective (as in logistic_options) of (coef, intercept) on the data: the
/// number the optimum comparisons use. @throws as fit_logistic, and invalid_argument on a
/// non-finite coefficient or intercept.
[[nodiscard]] double logistic_objective(matrix_view X, std::span<const float> y,
                                        const logistic_options& options,
                                        std::span<const double> coef, double intercept,
                                        std::span<const double> sample_weight = {});

}  // namespace funnel::scoring
