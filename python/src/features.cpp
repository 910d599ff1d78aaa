// funnel.features: Schema and Pipeline (features::any_pipeline). Pipelines are built from
// component descriptions (the JSON each component saves, written by funnel/features.py's
// builders or loaded from a file), fitted on a pandas DataFrame or a dict of arrays, and
// transform into float32 numpy arrays written in place by funnel (no copy of the output).
#include <funnel/core/error.hpp>
#include <funnel/features/pipeline.hpp>

#include <cmath>
#include <limits>
#include <memory>
#include <pybind11/operators.h>
#include <pybind11/stl.h>
#include <string>
#include <vector>

#include "bindings.hpp"

namespace funnel::python {

namespace {

namespace ff = features;
using int64_array = py::array_t<std::int64_t, py::array::c_style | py::array::forcecast>;

/// A features::batch over Python columns, keeping every array and string it views alive.
struct py_columns {
  std::vector<py::object> keep;
  std::vector<std::vector<std::string_view>> text;
  std::unique_ptr<ff::batch> batch;
};

template <class Array>
Array column_array(const py::object& col, const std::string& name) {
  auto a = Array::ensure(col);
  if (!a) throw py::error_already_set();
  if (a.ndim() != 1) {
    raise<dimension_mismatch>("features.batch", "column '{}': expected 1-D values, found {}-D",
                              name, a.ndim());
  }
  return a;
}

/// The text of one value of a string column: a str, or None / NaN (pandas' missing) = missing.
std::string_view string_value(const py::handle& v, const std::string& name, std::size_t row) {
  if (PyUnicode_Check(v.ptr())) {
    Py_ssize_t size = 0;
    const char* data = PyUnicode_AsUTF8AndSize(v.ptr(), &size);
    if (data == nullptr) throw py::error_already_set();
    return {data, static_cast<std::size_t>(size)};
  }
  if (v.is_none() || (PyFloat_Check(v.ptr()) && std::isnan(PyFloat_AS_DOUBLE(v.ptr())))) {
    return ff::missing_string;
  }
  raise<invalid_argument>("features.batch", "column '{}', row {}: expected str or None, found {}",
                          name, row,
                          py::str(py::type::handle_of(v).attr("__name__")).cast<std::string>());
}

/// Reads every schema column of `data` (a DataFrame or a mapping of column name -> values).
void read_columns(py_columns& c, const ff::schema& s, const py::handle& data) {
  c.batch = std::make_unique<ff::batch>(s);
  c.text.resize(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto& spec = s[i];
    py::str key(spec.name);
    if (!data.attr("__contains__")(key).cast<bool>()) {
      raise<not_found>("features.batch", "column '{}' of the schema is not in the data", spec.name);
    }
    py::object col = data[key];
    switch (spec.type) {
      case ff::column_type::numeric: {
        auto a = column_array<float_array>(col, spec.name);
        c.batch->set(i, std::span<const float>(a.data(), static_cast<std::size_t>(a.size())));
        c.keep.push_back(std::move(a));
        break;
      }
      case ff::column_type::integer: {
        auto a = column_array<int64_array>(col, spec.name);
        c.batch->set(i,
                     std::span<const std::int64_t>(a.data(), static_cast<std::size_t>(a.size())));
        c.keep.push_back(std::move(a));
        break;
      }
      case ff::column_type::string: {
        // An object array (a pandas object column as it is, no copy): one pointer per value.
        py::array values = py::module_::import("numpy").attr("ascontiguousarray")(
            col, py::arg("dtype") = "object");
        if (values.ndim() != 1) {
          raise<dimension_mismatch>("features.batch",
                                    "column '{}': expected 1-D values, found {}-D", spec.name,
                                    values.ndim());
        }
        const auto* items = static_cast<PyObject* const*>(values.data());
        auto& t = c.text[i];
        t.resize(static_cast<std::size_t>(values.size()));
        for (std::size_t r = 0; r < t.size(); ++r) {
          t[r] = string_value(py::handle(items[r]), spec.name, r);
        }
        c.batch->set(i, std::span<const std::string_view>(t));
        c.keep.push_back(std::move(values));
        break;
      }
    }
  }
}

/// A 2-D float32 array owning a funnel::matrix (no copy).
py::array_t<float> adopt(matrix m) {
  auto* owned = new matrix(std::move(m));
  py::capsule free_it(owned, [](void* p) { delete static_cast<matrix*>(p); });
  return py::array_t<float>(
      {static_cast<py::ssize_t>(owned->rows()), static_cast<py::ssize_t>(owned->cols())},
      owned->data(), free_it);
}

std::vector<float> target_of(const py::object& target) {
  if (target.is_none()) return {};
  const auto a = column_array<float_array>(target, "target");
  return {a.data(), a.data() + a.size()};
}

ff::schema schema_of(const py::iterable& columns) {
  std::vector<ff::column_spec> specs;
  for (const auto& c : columns) {
    ff::column_spec spec;
    if (py::isinstance<py::dict>(c)) {
      const auto d = py::reinterpret_borrow<py::dict>(c);
      spec.name = d["name"].cast<std::string>();
      spec.type =
          pick<ff::column_type>(d.contains("type") ? d["type"].cast<std::string>() : "numeric",
                                "features.schema", "type");
      if (d.contains("missing")) {
        spec.missing = pick<ff::missing_policy>(d["missing"].cast<std::string>(), "features.schema",
                                                "missing");
      }
    } else {
      const auto t = py::reinterpret_borrow<py::sequence>(c);
      spec.name = t[0].cast<std::string>();
      spec.type = pick<ff::column_type>(t[1].cast<std::string>(), "features.schema", "type");
      if (t.size() > 2) {
        spec.missing =
            pick<ff::missing_policy>(t[2].cast<std::string>(), "features.schema", "missing");
      }
    }
    specs.push_back(std::move(spec));
  }
  return ff::schema(std::move(specs));
}

void set_row_value(ff::row& r, const ff::column_spec& spec, std::size_t i, const py::handle& v) {
  switch (spec.type) {
    case ff::column_type::numeric:
      r.set(i, v.is_none() ? std::numeric_limits<float>::quiet_NaN() : v.cast<float>());
      break;
    case ff::column_type::integer:
      r.set(i, v.is_none() ? ff::missing_integer : v.cast<std::int64_t>());
      break;
    case ff::column_type::string:
      r.set(i, string_value(v, spec.name, 0));
      break;
  }
}

py::array_t<float> transform_row(const ff::any_pipeline& p, const py::handle& values) {
  const auto& s = p.get_schema();
  ff::row r(s);
  for (std::size_t i = 0; i < s.size(); ++i) {
    py::str key(s[i].name);
    if (!values.attr("__contains__")(key).cast<bool>()) {
      raise<not_found>("features.row", "column '{}' of the schema is not in the row", s[i].name);
    }
    set_row_value(r, s[i], i, values[key]);
  }
  auto out = new_array(p.width());
  p.transform(r, span_of(out));
  return out;
}

py::array_t<float> transform(const ff::any_pipeline& p, const py::handle& data) {
  py_columns c;
  read_columns(c, p.get_schema(), data);
  auto out = new_array(c.batch->rows(), p.width());
  auto dst = span_of(out);
  {
    py::gil_scoped_release nogil;
    p.transform(*c.batch, dst);
  }
  return out;
}

void fit(ff::any_pipeline& p, const py::handle& data, const py::object& target) {
  py_columns c;
  read_columns(c, p.get_schema(), data);
  const auto y = target_of(target);
  py::gil_scoped_release nogil;
  p.fit(*c.batch, y);
}

py::array_t<float> fit_transform(ff::any_pipeline& p, const py::handle& data,
                                 const py::object& target, const py::object& folds) {
  py_columns c;
  read_columns(c, p.get_schema(), data);
  const auto y = target_of(target);
  const auto f =
      py::array_t<std::uint32_t, py::array::c_style | py::array::forcecast>::ensure(folds);
  if (!f) throw py::error_already_set();
  const std::span<const std::uint32_t> fs(f.data(), static_cast<std::size_t>(f.size()));
  matrix m;
  {
    py::gil_scoped_release nogil;
    m = p.fit_transform(*c.batch, y, fs);
  }
  return adopt(std::move(m));
}

ff::any_pipeline make_pipeline(const ff::schema& s, const py::handle& components) {
  json j = json_header(ff::any_pipeline::type_name, 1);
  j["schema"] = s.to_json();
  j["components"] = to_json(components);
  return ff::any_pipeline::from_json(j);
}

void bind_schema(py::module_& m) {
  py::class_<ff::schema>(m, "Schema",
                         "The ordered, named, typed input columns a pipeline reads.\n\n"
                         "Schema([('income', 'numeric'), ('state', 'string'), "
                         "('zip', 'integer', 'error')]): each column is (name, type[, missing]) "
                         "or a dict {'name', 'type', 'missing'}; type is numeric, string or "
                         "integer, missing is allow (default) or error.")
      .def(py::init(&schema_of), py::arg("columns"))
      .def("__len__", &ff::schema::size)
      .def_property_readonly(
          "names",
          [](const ff::schema& s) {
            std::vector<std::string> n;
            for (const auto& c : s.columns()) n.push_back(c.name);
            return n;
          },
          "Column names, in order.")
      .def_property_readonly(
          "types",
          [](const ff::schema& s) {
            std::vector<std::string> t;
            for (const auto& c : s.columns()) t.emplace_back(to_string(c.type));
            return t;
          },
          "Column types ('numeric', 'string', 'integer'), in order.")
      .def(
          "index", [](const ff::schema& s, const std::string& n) { return s.index(n); },
          py::arg("name"), "Position of column `name`. Raises NotFound.")
      .def(
          "to_json", [](const ff::schema& s) { return from_json(s.to_json()); },
          "The schema as funnel's JSON document (a dict).")
      .def_static(
          "from_json", [](const py::handle& j) { return ff::schema::from_json(to_json(j)); },
          py::arg("document"), "A schema from its JSON document (dict or str). Raises ParseError.")
      .def(py::self == py::self)  // NOLINT(misc-redundant-expression)
      .def("__repr__", [](const ff::schema& s) {
        std::string r = "Schema([";
        for (std::size_t i = 0; i < s.size(); ++i) {
          r += fmt::format("{}('{}', '{}')", i == 0 ? "" : ", ", s[i].name, to_string(s[i].type));
        }
        return r + "])";
      });
}

}  // namespace

void bind_features(py::module_& m) {
  bind_schema(m);
  py::class_<ff::any_pipeline>(
      m, "Pipeline",
      "A feature pipeline (funnel::features::any_pipeline): components read input columns and "
      "write blocks of float32 output columns. Fitted state saves as the JSON the C++ "
      "any_pipeline loads, and transforms give the same bits in Python and C++.")
      .def(py::init(&make_pipeline), py::arg("schema"), py::arg("components"),
           "A pipeline over `schema` from component descriptions (dicts as written by "
           "funnel.features.numeric_column, one_hot, ... or saved by a pipeline). Raises "
           "ParseError, NotFound (a column absent from the schema), InvalidArgument.")
      .def_static(
          "from_json", [](const py::handle& j) { return ff::any_pipeline::from_json(to_json(j)); },
          py::arg("document"),
          "A pipeline from its JSON document (dict or str), fitted or not. Raises ParseError.")
      .def_static(
          "load", [](const py::handle& path) { return ff::any_pipeline::load(path_of(path)); },
          py::arg("path"), "Loads a pipeline saved by Python or C++. Raises IoError, ParseError.")
      .def(
          "to_json", [](const ff::any_pipeline& p) { return from_json(p.to_json()); },
          "The pipeline as funnel's JSON document (a dict).")
      .def(
          "save", [](const ff::any_pipeline& p, const py::handle& path) { p.save(path_of(path)); },
          py::arg("path"), "Saves the JSON document atomically. Raises IoError.")
      .def(
          "fit",
          [](ff::any_pipeline& p, const py::handle& data,
             const py::object& target) -> ff::any_pipeline& {
            fit(p, data, target);
            return p;
          },
          py::arg("data"), py::arg("target") = py::none(),
          py::return_value_policy::reference_internal,
          "Fits every component on `data` (a pandas DataFrame or a dict of column name -> "
          "array / list), with `target` (float labels) for target encoders. Returns self.")
      .def("fit_transform", &fit_transform, py::arg("data"), py::arg("target"), py::arg("folds"),
           "Fits, then returns the training matrix with target encoders computed out of fold "
           "(`folds`: a fold id per row, see make_folds).")
      .def("transform", &transform, py::arg("data"),
           "A batch (DataFrame or dict of columns) into a new float32 array rows x width, written "
           "in place by funnel. The GIL is released while it runs.")
      .def("transform_row", &transform_row, py::arg("row"),
           "One row (a dict of column name -> value; None = missing) into a float32 array of "
           "width values: the serving path, equal to the batch row bit for bit.")
      // Members of the shared base pipeline_core (not bound itself) go through lambdas.
      .def_property_readonly(
          "width", [](const ff::any_pipeline& p) { return p.width(); }, "Output columns per row.")
      .def_property_readonly(
          "fitted", [](const ff::any_pipeline& p) { return p.fitted(); },
          "True once fitted or loaded fitted.")
      .def_property_readonly(
          "output_names", [](const ff::any_pipeline& p) { return p.output_names(); },
          "Names of the output columns, in order (bind them to a model's).")
      .def_property_readonly(
          "schema", [](const ff::any_pipeline& p) { return p.get_schema(); },
          "The input schema (a copy).")
      .def("__repr__", [](const ff::any_pipeline& p) {
        return fmt::format("Pipeline({} components, {})", p.components().size(),
                           p.fitted() ? fmt::format("fitted, width {}", p.width()) : "not fitted");
      });
  m.def("make_folds", &ff::make_folds, py::arg("n"), py::arg("k"), py::arg("seed"),
        "Fold ids 0..k-1 for n rows, balanced and shuffled with a seeded generator (the same "
        "folds as C++ for the same seed).");
}

}  // namespace funnel::python
