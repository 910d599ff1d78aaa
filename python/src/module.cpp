// The extension module funnel._funnel: one submodule per funnel module, each bound in its own
// translation unit; the conversions shared by all of them.
#include <funnel/core/error.hpp>

#include <pybind11/stl.h>

#include "bindings.hpp"

namespace funnel::python {

matrix_view as_matrix(const float_array& a, std::string_view where) {
  if (a.ndim() == 1) return {a.data(), 1, static_cast<std::size_t>(a.shape(0))};
  if (a.ndim() != 2) {
    raise<dimension_mismatch>(where, "expected a 2-D array of rows, found {} dimensions", a.ndim());
  }
  return {a.data(), static_cast<std::size_t>(a.shape(0)), static_cast<std::size_t>(a.shape(1))};
}

namespace {
template <class T>
std::span<const T> span_1d(const py::array_t<T, py::array::c_style | py::array::forcecast>& a,
                           std::string_view where) {
  if (a.ndim() != 1) {
    raise<dimension_mismatch>(where, "expected a 1-D array, found {} dimensions", a.ndim());
  }
  return {a.data(), static_cast<std::size_t>(a.shape(0))};
}
}  // namespace

std::span<const float> as_span(const float_array& a, std::string_view where) {
  return span_1d(a, where);
}
std::span<const double> as_span(const double_array& a, std::string_view where) {
  return span_1d(a, where);
}
std::span<const std::uint64_t> as_span(const id_array& a, std::string_view where) {
  return span_1d(a, where);
}

py::array_t<float> new_array(std::size_t rows, std::size_t cols) {
  if (cols == 0) return py::array_t<float>(static_cast<py::ssize_t>(rows));
  return py::array_t<float>({static_cast<py::ssize_t>(rows), static_cast<py::ssize_t>(cols)});
}

std::span<float> span_of(py::array_t<float>& a) {
  return {a.mutable_data(), static_cast<std::size_t>(a.size())};
}

json to_json(const py::handle& obj) {
  if (py::isinstance<py::str>(obj)) return parse_json(obj.cast<std::string>(), "<python str>");
  const auto text = py::module_::import("json").attr("dumps")(obj).cast<std::string>();
  return parse_json(text, "<python object>");
}

py::object from_json(const json& j) {
  return py::module_::import("json").attr("loads")(j.dump());
}

void check_no_options_left(const py::dict& kw, std::string_view where) {
  for (const auto& item : kw) {
    raise<invalid_argument>(where, "unknown option '{}'", py::str(item.first).cast<std::string>());
  }
}

std::string path_of(const py::handle& obj) {
  return py::str(py::module_::import("os").attr("fspath")(obj)).cast<std::string>();
}

}  // namespace funnel::python

PYBIND11_MODULE(_funnel, m) {
  namespace fp = funnel::python;
  m.doc() = "funnel's C++ core (use the `funnel` package, which re-exports it).";
  fp::bind_errors(m);
  auto features = m.def_submodule("features", "Feature pipelines: schema, fit, transform.");
  fp::bind_features(features);
  auto scoring = m.def_submodule("scoring", "Tree ensembles, logistic regression, GBDT training.");
  fp::bind_scoring(scoring);
  auto retrieval = m.def_submodule("retrieval", "HNSW and exact nearest-neighbour indexes.");
  fp::bind_retrieval(retrieval);
  auto drift = m.def_submodule("drift", "Drift statistics, reference profiles, two-batch reports.");
  fp::bind_drift(drift);
  auto metrics = m.def_submodule("metrics", "Classification, regression and ranking metrics.");
  fp::bind_metrics(metrics);
}
