#include "bindings.hpp"
namespace funnel::python {
void bind_scoring(py::module_&) {}
}  // namespace funnel::python
