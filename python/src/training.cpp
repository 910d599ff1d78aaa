// funnel.scoring, training half: fit_gbdt (progress callback, early stopping) and logistic
// regression (fit_logistic, LogisticModel). Training runs without the GIL; callbacks take it back.
#include <funnel/scoring/gbdt.hpp>
#include <funnel/scoring/logistic.hpp>

#include <charconv>
#include <optional>
#include <pybind11/operators.h>
#include <pybind11/stl.h>
#include <string>
#include <vector>

#include "bindings.hpp"

namespace funnel::python {

namespace {

namespace fs = scoring;
constexpr std::string_view where_gbdt = "scoring.fit_gbdt";
constexpr std::string_view where_logistic = "scoring.logistic_model";
using size_array = py::array_t<std::size_t, py::array::c_style | py::array::forcecast>;

/// One data set of fit_gbdt and the arrays it views.
struct gbdt_arrays {
  float_array x, y, w;
  size_array groups;
  fs::gbdt_data data;

  gbdt_arrays(const py::object& x_, const py::object& y_, const py::object& w_,
              const py::object& groups_)
      : x(x_), y(y_) {
    data.features = as_matrix(x, where_gbdt);
    data.labels = as_span(y, where_gbdt);
    if (!w_.is_none()) {
      w = float_array(w_);
      data.weights = as_span(w, where_gbdt);
    }
    if (!groups_.is_none()) {
      groups = size_array(groups_);
      data.group_sizes = {groups.data(), static_cast<std::size_t>(groups.size())};
    }
  }
};

fs::gbdt_options gbdt_options_of(py::dict kw) {
  fs::gbdt_options o;
  take_enum(kw, "objective", o.objective, where_gbdt);
  take_enum(kw, "growth", o.growth, where_gbdt);
  take(kw, "num_classes", o.num_classes);
  take(kw, "rounds", o.rounds);
  take(kw, "learning_rate", o.learning_rate);
  take(kw, "max_depth", o.max_depth);
  take(kw, "max_leaves", o.max_leaves);
  take(kw, "lambda_", o.lambda);
  take(kw, "alpha", o.alpha);
  take(kw, "min_child_weight", o.min_child_weight);
  take(kw, "min_split_gain", o.min_split_gain);
  take(kw, "subsample", o.subsample);
  take(kw, "colsample_bytree", o.colsample_bytree);
  take(kw, "scale_pos_weight", o.scale_pos_weight);
  take(kw, "max_bins", o.max_bins);
  take(kw, "base_score", o.base_score);
  take(kw, "monotone", o.monotone);
  take(kw, "lambdarank_truncation", o.lambdarank_truncation);
  take(kw, "poisson_max_delta_step", o.poisson_max_delta_step);
  take(kw, "seed", o.seed);
  take(kw, "threads", o.threads);
  take(kw, "early_stopping_rounds", o.early_stopping_rounds);
  take(kw, "feature_names", o.feature_names);
  check_no_options_left(kw, where_gbdt);
  return o;
}

std::optional<fs::eval_metric> metric_of(const py::object& metric) {
  if (metric.is_none()) return std::nullopt;
  const auto name = metric.cast<std::string>();
  if (name == "auc") return fs::eval_metric::auc();
  if (name == "logloss") return fs::eval_metric::logloss();
  if (name == "rmse") return fs::eval_metric::rmse();
  if (name == "poisson_nll") return fs::eval_metric::poisson_nll();
  if (name.rfind("ndcg@", 0) == 0) {
    // k from the text after "@": digits only, >= 1 (std::stoul took "ndcg@-1" and threw a bare
    // std::invalid_argument on "ndcg@abc").
    std::size_t k = 0;
    const char* first = name.data() + 5;
    const char* last = name.data() + name.size();
    const auto [end, ec] = std::from_chars(first, last, k);
    if (ec != std::errc() || end != last || k == 0) {
      raise<invalid_argument>(where_gbdt, "metric '{}': ndcg@k needs a whole number k >= 1",
                              name.substr(0, 48));
    }
    return fs::eval_metric::ndcg(k);
  }
  raise<invalid_argument>(where_gbdt,
                          "unknown metric '{}' (expected auc, logloss, rmse, poisson_nll, ndcg@k)",
                          name.substr(0, 48));
}

py::dict progress_dict(const fs::gbdt_progress& p) {
  py::dict d;
  d["iteration"] = p.iteration;
  d["rounds"] = p.rounds;
  d["train_metric"] = p.train_metric ? py::object(py::float_(*p.train_metric)) : py::none();
  d["valid_metric"] = p.valid_metric ? py::object(py::float_(*p.valid_metric)) : py::none();
  d["metric_name"] = p.metric_name;
  d["elapsed_seconds"] = p.elapsed_seconds;
  d["remaining_seconds"] = p.remaining_seconds;
  return d;
}

fs::gbdt_fit fit_gbdt(const py::object& x, const py::object& y, const py::object& weights,
                      const py::object& group_sizes, const py::object& valid,
                      const py::object& metric, const py::object& on_progress,
                      const py::kwargs& kwargs) {
  auto options = gbdt_options_of(py::dict(kwargs));
  const gbdt_arrays train(x, y, weights, group_sizes);
  std::optional<gbdt_arrays> valid_set;
  if (!valid.is_none()) {
    const auto v = valid.cast<py::tuple>();
    const auto item = [&](std::size_t i) {
      return v.size() > i ? py::object(v[i]) : py::object(py::none());
    };
    valid_set.emplace(item(0), item(1), item(2), item(3));
  }
  const auto eval = metric_of(metric);
  if (!on_progress.is_none()) {
    options.on_progress = [on_progress](const fs::gbdt_progress& p) {
      py::gil_scoped_acquire gil;
      on_progress(progress_dict(p));
    };
  }
  py::gil_scoped_release nogil;
  return fs::fit_gbdt(train.data, options, valid_set ? &valid_set->data : nullptr,
                      eval ? &*eval : nullptr);
}

fs::logistic_options logistic_options_of(py::dict kw) {
  fs::logistic_options o;
  take_enum(kw, "penalty", o.penalty, where_logistic);
  take_enum(kw, "solver", o.solver, where_logistic);
  take(kw, "C", o.C);
  take(kw, "l1_ratio", o.l1_ratio);
  take(kw, "fit_intercept", o.fit_intercept);
  take(kw, "balanced", o.balanced);
  take(kw, "max_newton_features", o.max_newton_features);
  take(kw, "tol", o.tol);
  take(kw, "ftol", o.ftol);
  take(kw, "max_iter", o.max_iter);
  take(kw, "memory", o.memory);
  take(kw, "throw_on_no_convergence", o.throw_on_no_convergence);
  take(kw, "feature_names", o.feature_names);
  check_no_options_left(kw, where_logistic);
  return o;
}

fs::logistic_fit fit_logistic(const float_array& x, const float_array& y,
                              const py::object& sample_weight, const py::object& on_iteration,
                              const py::kwargs& kwargs) {
  auto options = logistic_options_of(py::dict(kwargs));
  double_array w;
  std::span<const double> weights;
  if (!sample_weight.is_none()) {
    w = double_array(sample_weight);
    weights = as_span(w, where_logistic);
  }
  if (!on_iteration.is_none()) {
    options.on_iteration = [on_iteration](const fs::logistic_progress& p) {
      py::gil_scoped_acquire gil;
      const py::object r = on_iteration(p.iteration, p.objective, p.gradient_norm);
      return r.is_none() || r.cast<bool>();
    };
  }
  const auto rows = as_matrix(x, where_logistic);
  const auto labels = as_span(y, where_logistic);
  py::gil_scoped_release nogil;
  return fs::fit_logistic(rows, labels, options, weights);
}

template <bool Probability>
py::array_t<float> logistic_batch(const fs::logistic_model& model, const float_array& x) {
  const auto rows = as_matrix(x, where_logistic);
  auto out = new_array(rows.rows());
  auto dst = span_of(out);
  py::gil_scoped_release nogil;
  if constexpr (Probability) {
    model.predict_batch(rows, dst);
  } else {
    model.score_batch(rows, dst);
  }
  return out;
}

void bind_gbdt(py::module_& m) {
  py::class_<fs::gbdt_fit>(m, "GbdtFit", "A trained GBDT and its learning curve.")
      .def_readonly("model", &fs::gbdt_fit::model,
                    "The TreeEnsemble (truncated to the best "
                    "iteration with early stopping).")
      .def_readonly("train_history", &fs::gbdt_fit::train_history, "Training metric per round.")
      .def_readonly("valid_history", &fs::gbdt_fit::valid_history, "Validation metric per round.")
      .def_readonly("best_iteration", &fs::gbdt_fit::best_iteration, "Rounds kept.");
  m.def("fit_gbdt", &fit_gbdt, py::arg("X"), py::arg("y"), py::kw_only(),
        py::arg("weights") = py::none(), py::arg("group_sizes") = py::none(),
        py::arg("valid") = py::none(), py::arg("metric") = py::none(),
        py::arg("on_progress") = py::none(),
        "Trains a histogram GBDT (funnel::scoring::fit_gbdt) on float32 rows X (NaN = missing) "
        "and labels y. valid=(X, y[, weights[, group_sizes]]) with metric ('auc', 'logloss', "
        "'rmse', 'poisson_nll', 'ndcg@k') enables early_stopping_rounds; on_progress(dict) is "
        "called after every round. Options as gbdt_options: objective ('binary_logistic', "
        "'squared_error', 'multi_softmax', 'lambdarank', 'poisson'), num_classes, rounds, "
        "learning_rate, growth ('depthwise', 'lossguide'), max_depth, max_leaves, lambda_, "
        "alpha, min_child_weight, min_split_gain, subsample, colsample_bytree, "
        "scale_pos_weight, max_bins, base_score, monotone, lambdarank_truncation, "
        "poisson_max_delta_step, seed, threads, early_stopping_rounds, feature_names. Returns a "
        "GbdtFit. The GIL is released while training (taken back for on_progress).");
}

void bind_logistic(py::module_& m) {
  py::class_<fs::logistic_report>(m, "LogisticReport", "How the optimiser got to the solution.")
      .def_readonly("iterations", &fs::logistic_report::iterations, "Optimiser iterations.")
      .def_readonly("evaluations", &fs::logistic_report::evaluations, "Objective evaluations.")
      .def_readonly("objective", &fs::logistic_report::objective, "sklearn's objective at the end.")
      .def_readonly("gradient_norm", &fs::logistic_report::gradient_norm,
                    "Max-abs gradient / C at the end.")
      .def_readonly("converged", &fs::logistic_report::converged, "A tolerance was met.")
      .def_readonly("message", &fs::logistic_report::message, "The stopping rule that fired.")
      .def_property_readonly(
          "solver", [](const fs::logistic_report& r) { return std::string(to_string(r.solver)); },
          "The solver that ran: 'lbfgs' or 'newton'.");
  py::class_<fs::logistic_fit>(m, "LogisticFit", "A fitted logistic model and its report.")
      .def_readonly("model", &fs::logistic_fit::model, "The fitted LogisticModel.")
      .def_readonly("report", &fs::logistic_fit::report, "The LogisticReport.");
  py::class_<fs::logistic_model>(
      m, "LogisticModel",
      "A binary logistic regression: score() is the margin x.w + b, predict() the probability.")
      .def(py::init<std::vector<double>, double, std::vector<std::string>>(), py::arg("coef"),
           py::arg("intercept"), py::arg("feature_names") = std::vector<std::string>{},
           "A model from coefficients and intercept. Raises InvalidArgument, DimensionMismatch.")
      .def_property_readonly(
          "coef",
          [](const fs::logistic_model& lm) {
            return py::array_t<double>(static_cast<py::ssize_t>(lm.coef().size()),
                                       lm.coef().data());
          },
          "The coefficients (float64 copy).")
      .def_property_readonly("intercept", &fs::logistic_model::intercept, "The intercept b.")
      .def_property_readonly("feature_names", &fs::logistic_model::feature_names,
                             "Input names (or empty).")
      .def_property_readonly("num_features", &fs::logistic_model::num_features, "Row width.")
      .def("score", &logistic_batch<false>, py::arg("X"),
           "Margins (log-odds) of each row of X: float32 array of rows.")
      .def("predict", &logistic_batch<true>, py::arg("X"),
           "Probabilities of class 1 of each row of X: float32 array of rows.")
      .def(
          "to_json", [](const fs::logistic_model& lm) { return from_json(lm.to_json()); },
          "funnel's JSON document (a dict).")
      .def_static(
          "from_json",
          [](const py::handle& j) { return fs::logistic_model::from_json(to_json(j)); },
          py::arg("document"), "From funnel's JSON document. Raises ParseError.")
      .def(
          "save", [](const fs::logistic_model& lm, const py::handle& p) { lm.save(path_of(p)); },
          py::arg("path"), "Saves funnel's JSON atomically (C++ logistic_model::load reads it).")
      .def_static(
          "load", [](const py::handle& p) { return fs::logistic_model::load(path_of(p)); },
          py::arg("path"), "Loads funnel's JSON. Raises IoError, ParseError.")
      .def(py::self == py::self);  // NOLINT(misc-redundant-expression)
  m.def(
      "from_sklearn_json", [](const py::handle& j) { return fs::from_sklearn_json(to_json(j)); },
      py::arg("document"),
      "A LogisticModel from {'coef', 'intercept', 'classes'[, 'feature_names_in_']}.");
  m.def("fit_logistic", &fit_logistic, py::arg("X"), py::arg("y"), py::kw_only(),
        py::arg("sample_weight") = py::none(), py::arg("on_iteration") = py::none(),
        "Fits scikit-learn's logistic objective on float32 rows X and 0/1 labels y. Options as "
        "logistic_options: penalty ('l2', 'l1', 'elastic_net', 'none'), C, l1_ratio, "
        "fit_intercept, balanced, solver ('automatic', 'lbfgs', 'newton'), "
        "max_newton_features, tol, ftol, max_iter, memory, throw_on_no_convergence, "
        "feature_names. on_iteration(iteration, objective, gradient_norm) may return False to "
        "stop. Returns a LogisticFit. Releases the GIL while fitting.");
}

}  // namespace

void bind_training(py::module_& m) {
  bind_gbdt(m);
  bind_logistic(m);
}

}  // namespace funnel::python
