#pragma once
// Shared declarations of funnel's Python bindings: one bind_<module> per translation unit, and
// the conversions every module uses (numpy arrays to funnel views without copying when the
// layout allows, JSON documents between Python objects and nlohmann::json).

#include <funnel/core/enum_names.hpp>
#include <funnel/core/error.hpp>
#include <funnel/core/json.hpp>
#include <funnel/core/views.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace funnel::python {

namespace py = pybind11;

/// A float32 C-contiguous array; a numpy array of another dtype or layout is converted (copied)
/// once, an array already float32 and C-contiguous is viewed as it is.
using float_array = py::array_t<float, py::array::c_style | py::array::forcecast>;
/// The same for float64 samples (drift statistics, metrics).
using double_array = py::array_t<double, py::array::c_style | py::array::forcecast>;
/// The same for 64-bit ids.
using id_array = py::array_t<std::uint64_t, py::array::c_style | py::array::forcecast>;

void bind_errors(py::module_& m);
void bind_features(py::module_& m);
void bind_scoring(py::module_& m);
void bind_retrieval(py::module_& m);
void bind_drift(py::module_& m);
void bind_metrics(py::module_& m);

/// A 2-D array as a matrix view (a 1-D array is one row). `where` is the error id's
/// `<module>.<component>`. @throws dimension_mismatch for any other number of dimensions.
[[nodiscard]] matrix_view as_matrix(const float_array& a, std::string_view where);
/// A 1-D array as a span. @throws dimension_mismatch when it is not 1-D.
[[nodiscard]] std::span<const float> as_span(const float_array& a, std::string_view where);
/// A 1-D float64 array as a span. @throws dimension_mismatch when it is not 1-D.
[[nodiscard]] std::span<const double> as_span(const double_array& a, std::string_view where);
/// A 1-D id array as a span. @throws dimension_mismatch when it is not 1-D.
[[nodiscard]] std::span<const std::uint64_t> as_span(const id_array& a, std::string_view where);
/// A new C-contiguous float32 array of `rows` x `cols` (1-D of `rows` when `cols` is 0).
[[nodiscard]] py::array_t<float> new_array(std::size_t rows, std::size_t cols = 0);
/// The writable span over a new array's data.
[[nodiscard]] std::span<float> span_of(py::array_t<float>& a);

/// A Python object (dict, list, str of JSON) as a JSON document; a str is parsed as JSON text.
[[nodiscard]] json to_json(const py::handle& obj);
/// A JSON document as Python objects (dicts, lists, numbers, str), through the json module.
[[nodiscard]] py::object from_json(const json& j);
/// The value named `text` in E's name table, the C++ `enum_names_of` (a Python argument such as
/// objective="poisson"). @throws invalid_argument naming `what` and the allowed names.
template <NamedEnum E>
[[nodiscard]] E pick(std::string_view text, std::string_view where, std::string_view what) {
  for (const auto& n : enum_names_of(E{}).names) {
    if (n.name == text) return n.value;
  }
  raise<invalid_argument>(where, "unknown {} '{}' (expected one of: {})", what, text.substr(0, 48),
                          enum_names_list<E>());
}

/// Moves `key` out of `kw` into `field` when present (keyword options of a call).
template <class T>
void take(py::dict& kw, const char* key, T& field) {
  if (!kw.contains(key)) return;
  field = kw[key].template cast<T>();
  PyDict_DelItemString(kw.ptr(), key);
}
/// Moves `key` out of `kw` into the enum `field`, by name (`field` keeps its default when the
/// keyword is absent). @throws invalid_argument on an unknown name.
template <NamedEnum E>
void take_enum(py::dict& kw, const char* key, E& field, std::string_view where) {
  if (!kw.contains(key)) return;
  field = pick<E>(kw[key].template cast<std::string>(), where, key);
  PyDict_DelItemString(kw.ptr(), key);
}
/// @throws invalid_argument naming the first keyword left in `kw` (an unknown option).
void check_no_options_left(const py::dict& kw, std::string_view where);

/// A path argument (str or os.PathLike) as a string.
[[nodiscard]] std::string path_of(const py::handle& obj);

}  // namespace funnel::python
