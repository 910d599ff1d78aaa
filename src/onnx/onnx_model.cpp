// onnx_model::run: borrows a workspace from the model's pool (one per concurrent call, kept
// for the next), points every value at its constant or at its slot of the arenas for this row
// count, copies the inputs in, runs the planned nodes in order and copies the outputs out. After
// the first call of the largest batch size, a call allocates nothing.

#include <cstring>
#include <limits>

#include "onnx/plan.hpp"

namespace funnel::scoring {

using detail::onnx_plan;
using detail::onnx_workspace;
using detail::onnx_workspace_pool;

onnx_model::onnx_model(std::shared_ptr<const onnx_plan> plan)
    : plan_(std::move(plan)), pool_(std::make_unique<onnx_workspace_pool>()) {}
onnx_model::onnx_model(const onnx_model& other)
    : plan_(other.plan_), pool_(std::make_unique<onnx_workspace_pool>()) {}
onnx_model& onnx_model::operator=(const onnx_model& other) {
  if (this != &other) {
    plan_ = other.plan_;
    pool_ = std::make_unique<onnx_workspace_pool>();
  }
  return *this;
}
onnx_model::onnx_model(onnx_model&&) noexcept = default;
onnx_model& onnx_model::operator=(onnx_model&&) noexcept = default;
onnx_model::~onnx_model() = default;

const std::vector<onnx_port>& onnx_model::inputs() const noexcept {
  return plan_->inputs;
}
const std::vector<onnx_port>& onnx_model::outputs() const noexcept {
  return plan_->outputs;
}
std::size_t onnx_model::num_nodes() const noexcept {
  return plan_->nodes.size();
}

std::size_t onnx_model::constant_bytes() const noexcept {
  std::size_t n = 0;
  for (const auto& c : plan_->constants) {
    n += c.f.size() * sizeof(float) + c.i.size() * sizeof(std::int64_t);
  }
  return n;
}

std::size_t onnx_model::workspace_bytes(std::size_t rows) const noexcept {
  return rows * (plan_->row_floats * sizeof(float) + plan_->row_ints * sizeof(std::int64_t)) +
         plan_->values.size() * sizeof(detail::onnx_tensor);
}

namespace {

// Returns the borrowed workspace to the pool, also when a node throws.
class borrowed {
 public:
  explicit borrowed(onnx_workspace_pool& pool) : pool_(pool) {
    const std::lock_guard lock(pool_.mutex);
    if (!pool_.free.empty()) {
      ws_ = std::move(pool_.free.back());
      pool_.free.pop_back();
    }
  }
  borrowed(const borrowed&) = delete;
  borrowed& operator=(const borrowed&) = delete;
  ~borrowed() {
    if (!ws_) return;
    const std::lock_guard lock(pool_.mutex);
    try {
      pool_.free.push_back(std::move(ws_));
    } catch (...) {  // no memory for the pool's slot: the workspace is freed instead
    }
  }
  onnx_workspace& get() {
    if (!ws_) ws_ = std::make_unique<onnx_workspace>();
    return *ws_;
  }

 private:
  onnx_workspace_pool& pool_;
  std::unique_ptr<onnx_workspace> ws_;
};

void check_call(const onnx_plan& plan, std::size_t rows, std::span<const onnx_input> in,
                std::span<const std::span<float>> out) {
  constexpr const char* where = detail::onnx_where;
  if (in.size() != plan.inputs.size() || out.size() != plan.outputs.size()) {
    raise<dimension_mismatch>(where, "{}: {} inputs and {} outputs given, the graph has {} and {}",
                              plan.file, in.size(), out.size(), plan.inputs.size(),
                              plan.outputs.size());
  }
  for (std::size_t k = 0; k < in.size(); ++k) {
    const auto& port = plan.inputs[k];
    const bool is_int = std::holds_alternative<std::span<const std::int64_t>>(in[k]);
    const auto given = is_int ? onnx_dtype::int64 : onnx_dtype::float32;
    if (given != port.dtype) {
      raise<invalid_argument>(where, "{}: input '{}' is {}, given {}", plan.file, port.name,
                              to_string(port.dtype), to_string(given));
    }
    const std::size_t size = std::visit([](auto s) { return s.size(); }, in[k]);
    if (port.row_size != 0 && rows > std::numeric_limits<std::size_t>::max() / port.row_size) {
      raise<dimension_mismatch>(where, "{}: {} rows overflow", plan.file, rows);
    }
    if (size != rows * port.row_size) {
      raise<dimension_mismatch>(where, "{}: input '{}' holds {} values, {} rows of {} need {}",
                                plan.file, port.name, size, rows, port.row_size,
                                rows * port.row_size);
    }
  }
  for (std::size_t k = 0; k < out.size(); ++k) {
    const auto& port = plan.outputs[k];
    if (!out[k].empty() && out[k].size() != rows * port.row_size) {
      raise<dimension_mismatch>(
          where, "{}: output '{}' has room for {} values, {} rows of {} need {}", plan.file,
          port.name, out[k].size(), rows, port.row_size, rows * port.row_size);
    }
  }
}

// Points every value at its storage for a call of `rows` rows.
void bind(const onnx_plan& plan, onnx_workspace& ws, std::size_t rows) {
  if (ws.f.size() < rows * plan.row_floats) ws.f.resize(rows * plan.row_floats);
  if (ws.i.size() < rows * plan.row_ints) ws.i.resize(rows * plan.row_ints);
  ws.views.resize(plan.values.size());
  for (std::size_t k = 0; k < plan.values.size(); ++k) {
    const auto& v = plan.values[k];
    auto& view = ws.views[k];
    view.shape = v.shape;
    if (v.constant >= 0) {
      // Kernels never write their inputs; the const_cast only feeds one view type to both.
      auto& c =
          const_cast<detail::onnx_constant&>(plan.constants[static_cast<std::size_t>(v.constant)]);
      view.data = c.dtype == onnx_dtype::int64 ? static_cast<void*>(c.i.data())
                                               : static_cast<void*>(c.f.data());
    } else {
      view.shape[0] *= static_cast<std::int64_t>(rows);
      view.data = v.dtype == onnx_dtype::int64 ? static_cast<void*>(ws.i.data() + v.offset * rows)
                                               : static_cast<void*>(ws.f.data() + v.offset * rows);
    }
  }
}

}  // namespace

void onnx_model::run(std::size_t rows, std::span<const onnx_input> in,
                     std::span<const std::span<float>> out) const {
  const auto& plan = *plan_;
  check_call(plan, rows, in, out);
  if (rows == 0) return;
  borrowed lease(*pool_);
  auto& ws = lease.get();
  bind(plan, ws, rows);
  for (std::size_t k = 0; k < in.size(); ++k) {
    auto& view = ws.views[static_cast<std::size_t>(plan.input_values[k])];
    std::visit(
        [&](auto s) {
          if (!s.empty()) std::memcpy(view.data, s.data(), s.size_bytes());
        },
        in[k]);
  }
  for (const auto& node : plan.nodes) detail::onnx_run_node(plan, node, ws.views);
  for (std::size_t k = 0; k < out.size(); ++k) {
    const auto& view = ws.views[static_cast<std::size_t>(plan.output_values[k])];
    if (!out[k].empty()) std::memcpy(out[k].data(), view.data, out[k].size_bytes());
  }
}

}  // namespace funnel::scoring
