#include "bindings.hpp"
namespace funnel::python {
void bind_drift(py::module_&) {}
}  // namespace funnel::python
