// funnel.scoring: tree ensembles (XGBoost / LightGBM / funnel JSON) with margins, predictions,
// leaves and TreeSHAP; GBDT training; logistic regression training and scoring. Batch calls
// release the GIL and write straight into the numpy arrays they return.
#include <funnel/scoring/gbdt.hpp>
#include <funnel/scoring/lightgbm.hpp>
#include <funnel/scoring/logistic.hpp>
#include <funnel/scoring/tree_ensemble.hpp>
#include <funnel/scoring/treeshap.hpp>
#include <funnel/scoring/xgboost.hpp>

#include <optional>
#include <pybind11/functional.h>
#include <pybind11/operators.h>
#include <pybind11/stl.h>
#include <string>
#include <vector>

#include "bindings.hpp"

namespace funnel::python {

namespace {

namespace fs = scoring;
constexpr std::string_view where_trees = "scoring.tree_ensemble";

/// rows x groups, or rows when the model has one output (as XGBoost's predict returns).
py::array_t<float> per_group(std::size_t rows, std::size_t groups) {
  return new_array(rows, groups == 1 ? 0 : groups);
}

/// margins_batch or predict_batch of every row, into a new array.
template <void (fs::tree_ensemble::*Batch)(matrix_view, std::span<float>, unsigned) const>
py::array_t<float> per_row(const fs::tree_ensemble& t, const float_array& x, unsigned threads) {
  const auto rows = as_matrix(x, where_trees);
  auto out = per_group(rows.rows(), t.num_groups());
  auto dst = span_of(out);
  py::gil_scoped_release nogil;
  (t.*Batch)(rows, dst, threads);
  return out;
}

py::array_t<std::int32_t> predict_leaf(const fs::tree_ensemble& t, const float_array& x) {
  const auto rows = as_matrix(x, where_trees);
  py::array_t<std::int32_t> out(
      {static_cast<py::ssize_t>(rows.rows()), static_cast<py::ssize_t>(t.num_trees())});
  std::span<std::int32_t> dst(out.mutable_data(), static_cast<std::size_t>(out.size()));
  py::gil_scoped_release nogil;
  t.predict_leaf_batch(rows, dst);
  return out;
}

py::array_t<float> shap(const fs::tree_ensemble& t, const float_array& x) {
  const auto rows = as_matrix(x, where_trees);
  const fs::tree_explainer explainer(t);
  const auto width = explainer.output_size();
  const auto f1 = static_cast<py::ssize_t>(t.num_features() + 1);
  const auto n = static_cast<py::ssize_t>(rows.rows());
  py::array_t<float> out =
      t.num_groups() == 1 ? py::array_t<float>({n, f1})
                          : py::array_t<float>({n, static_cast<py::ssize_t>(t.num_groups()), f1});
  float* dst = out.mutable_data();
  py::gil_scoped_release nogil;
  for (std::size_t i = 0; i < rows.rows(); ++i) {
    explainer.contributions(rows.row(i), std::span<float>(dst + i * width, width));
  }
  return out;
}

void bind_tree_ensemble(py::module_& m) {
  py::class_<fs::tree_ensemble>(
      m, "TreeEnsemble",
      "A validated tree ensemble (XGBoost, LightGBM or funnel-trained): margins bit-exact with "
      "the source library, predictions, leaf indices, TreeSHAP. Load with load_xgboost, "
      "load_lightgbm or TreeEnsemble.load (funnel's JSON), or train with fit_gbdt.")
      .def_static(
          "load", [](const py::handle& p) { return fs::tree_ensemble::load(path_of(p)); },
          py::arg("path"), "Loads funnel's JSON (saved by save()). Raises IoError, ParseError.")
      .def_static(
          "from_json", [](const py::handle& j) { return fs::tree_ensemble::from_json(to_json(j)); },
          py::arg("document"), "From funnel's JSON document (dict or str). Raises ParseError.")
      .def(
          "to_json", [](const fs::tree_ensemble& t) { return from_json(t.to_json()); },
          "funnel's JSON document (a dict); round-trips bit for bit.")
      .def(
          "save", [](const fs::tree_ensemble& t, const py::handle& p) { t.save(path_of(p)); },
          py::arg("path"), "Saves funnel's JSON atomically (C++ tree_ensemble::load reads it).")
      .def(
          "to_xgboost_json",
          [](const fs::tree_ensemble& t) { return from_json(fs::to_xgboost_json(t)); },
          "The model as an XGBoost 1.7 JSON document (a dict). Raises Unsupported for "
          "LightGBM-only semantics.")
      .def(
          "save_xgboost_json",
          [](const fs::tree_ensemble& t, const py::handle& p) {
            fs::save_xgboost_json(t, path_of(p));
          },
          py::arg("path"), "Writes to_xgboost_json() atomically (xgboost.Booster loads it).")
      .def_property_readonly("num_features", &fs::tree_ensemble::num_features, "Row width.")
      .def_property_readonly("num_groups", &fs::tree_ensemble::num_groups,
                             "Outputs per row (classes of a multi-class model).")
      .def_property_readonly("num_trees", &fs::tree_ensemble::num_trees, "Number of trees.")
      .def_property_readonly("feature_names", &fs::tree_ensemble::feature_names,
                             "Input feature names in column order (empty when none).")
      .def_property_readonly("feature_types", &fs::tree_ensemble::feature_types,
                             "Input feature types as the source wrote them.")
      .def_property_readonly(
          "objective", [](const fs::tree_ensemble& t) { return t.header().objective; },
          "The source objective name ('binary:logistic').")
      .def_property_readonly(
          "scale", [](const fs::tree_ensemble& t) { return std::string(to_string(t.scale())); },
          "The scale of margins: raw, log_odds, log or multiclass_logits.")
      .def_property_readonly("batch_kernel", &fs::tree_ensemble::batch_kernel,
                             "The kernel the batch paths use on this CPU.")
      .def("margins", &per_row<&fs::tree_ensemble::margins_batch>, py::arg("X"),
           py::arg("threads") = 1U,
           "Margins (before the output transform) of each row of X (float32 rows x "
           "num_features, NaN = missing): shape (rows,) for one output, (rows, groups) "
           "otherwise. Bit-exact with the source library. Releases the GIL.")
      .def("predict", &per_row<&fs::tree_ensemble::predict_batch>, py::arg("X"),
           py::arg("threads") = 1U,
           "Transformed outputs (probabilities for binary:logistic), shaped as margins().")
      .def("predict_leaf", &predict_leaf, py::arg("X"),
           "Leaf index reached in every tree: int32 array rows x num_trees.")
      .def("shap", &shap, py::arg("X"),
           "TreeSHAP contributions (XGBoost pred_contribs): (rows, num_features + 1), the last "
           "column the bias; (rows, groups, num_features + 1) for multi-class. Each row sums to "
           "its margin.")
      .def(
          "importance",
          [](const fs::tree_ensemble& t, const std::string& kind) {
            const auto v =
                t.importance(pick<fs::importance_type>(kind, where_trees, "importance type"));
            return py::array_t<double>(static_cast<py::ssize_t>(v.size()), v.data());
          },
          py::arg("kind") = "gain",
          "Global importance per feature: weight, gain, cover, total_gain or total_cover.")
      .def(py::self == py::self)  // NOLINT(misc-redundant-expression)
      .def("__repr__", [](const fs::tree_ensemble& t) {
        return fmt::format("TreeEnsemble({} trees, {} features, {} groups, objective '{}')",
                           t.num_trees(), t.num_features(), t.num_groups(), t.header().objective);
      });
  m.def(
      "load_xgboost", [](const py::handle& p) { return fs::load_xgboost(path_of(p)); },
      py::arg("path"),
      "Loads an XGBoost model saved by Booster.save_model (.json or .ubj, 1.7 to 3.x). Raises "
      "IoError, ParseError, Unsupported.");
  m.def(
      "from_xgboost_json", [](const py::handle& j) { return fs::from_xgboost_json(to_json(j)); },
      py::arg("document"),
      "An ensemble from an XGBoost JSON model document (dict, or str of JSON text).");
  m.def(
      "load_lightgbm", [](const py::handle& p) { return fs::load_lightgbm(path_of(p)); },
      py::arg("path"), "Loads a LightGBM text model (model.txt). Raises IoError, ParseError.");
  m.def(
      "parse_lightgbm", [](const std::string& text) { return fs::parse_lightgbm(text); },
      py::arg("text"), "An ensemble from LightGBM model text (Booster.model_to_string()).");
}

}  // namespace

void bind_training(py::module_& m);

void bind_scoring(py::module_& m) {
  bind_tree_ensemble(m);
  bind_training(m);
}

}  // namespace funnel::python
