// funnel's typed errors as Python exceptions: funnel.Error (base) and one subclass per kind,
// each also deriving from the closest builtin (ValueError, OSError, LookupError, ...), so both
// `except funnel.ParseError` and `except ValueError` work. The instance keeps `e.id`
// ("parse_error.scoring.xgboost"); str(e) is funnel's message "[funnel.<id>] ...".
#include <funnel/core/error.hpp>

#include <array>
#include <exception>
#include <string>

#include "bindings.hpp"

namespace funnel::python {

namespace {

struct kind_class {
  const char* kind;   // the id's first part
  const char* name;   // the Python class name
  PyObject* builtin;  // the builtin it also derives from
  const char* doc;    // its docstring
  PyObject* cls = nullptr;
};

// Filled once at import; the classes live as long as the interpreter (module attributes).
std::array<kind_class, 8>& kinds() {
  static std::array<kind_class, 8> k = {{
      {"invalid_argument", "InvalidArgument", PyExc_ValueError,
       "An argument or configuration value is out of its domain (also a ValueError)."},
      {"parse_error", "ParseError", PyExc_ValueError,
       "A file or JSON document is malformed; the message names file, line or field."},
      {"io_error", "IoError", PyExc_OSError, "A file cannot be opened, read or written."},
      {"dimension_mismatch", "DimensionMismatch", PyExc_ValueError,
       "Sizes disagree: a row's width, a vector's dimension, a buffer's length."},
      {"not_fitted", "NotFitted", PyExc_RuntimeError, "A component was used before fit (or load)."},
      {"not_found", "NotFound", PyExc_LookupError,
       "An id, name or key is unknown (an unknown category, item or column)."},
      {"unsupported", "Unsupported", PyExc_NotImplementedError,
       "A valid input asks for something funnel does not support (an objective, a version)."},
      {"convergence_error", "ConvergenceError", PyExc_RuntimeError,
       "An iterative algorithm did not converge within its budget."},
  }};
  return k;
}

PyObject* base_class = nullptr;

void raise_python(const error& e) {
  PyObject* cls = base_class;
  const std::string& id = e.id();
  const auto kind = id.substr(0, id.find('.'));
  for (const auto& k : kinds()) {
    if (kind == k.kind) cls = k.cls;
  }
  py::object instance = py::reinterpret_borrow<py::object>(cls)(e.what());
  instance.attr("id") = id;
  PyErr_SetObject(cls, instance.ptr());
}

}  // namespace

void bind_errors(py::module_& m) {
  base_class = PyErr_NewExceptionWithDoc(
      "funnel.Error",
      "Base of every error funnel raises. `id` is the stable id "
      "(\"parse_error.scoring.xgboost\"); str(e) is \"[funnel.<id>] <message>\".",
      PyExc_Exception, nullptr);
  if (base_class == nullptr) throw py::error_already_set();
  m.add_object("Error", py::reinterpret_borrow<py::object>(base_class));
  for (auto& k : kinds()) {
    py::tuple bases = py::make_tuple(py::reinterpret_borrow<py::object>(base_class),
                                     py::reinterpret_borrow<py::object>(k.builtin));
    k.cls = PyErr_NewExceptionWithDoc((std::string("funnel.") + k.name).c_str(), k.doc, bases.ptr(),
                                      nullptr);
    if (k.cls == nullptr) throw py::error_already_set();
    m.add_object(k.name, py::reinterpret_borrow<py::object>(k.cls));
  }
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const error& e) {
      raise_python(e);
    }
  });
}

}  // namespace funnel::python
