#include "bindings.hpp"
namespace funnel::python {
void bind_retrieval(py::module_&) {}
}  // namespace funnel::python
