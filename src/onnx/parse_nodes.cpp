// onnx_builder::add_node: maps an ONNX node to a plan step. Constant, Shape (of a fixed shape)
// and nodes whose inputs are all constants are evaluated here, once; Identity, Dropout, Reshape,
// Flatten, Squeeze and Unsqueeze become views of their input's storage; every other supported
// operator becomes a step with its outputs' shapes inferred.

#include <algorithm>
#include <array>
#include <string_view>

#include "onnx/parse.hpp"

namespace funnel::scoring::detail {
namespace {

struct op_entry {
  std::string_view type;
  onnx_op op;
};

constexpr std::array<op_entry, 19> op_table{{{"Gemm", onnx_op::gemm},
                                             {"MatMul", onnx_op::matmul},
                                             {"Add", onnx_op::add},
                                             {"Sub", onnx_op::sub},
                                             {"Mul", onnx_op::mul},
                                             {"Div", onnx_op::div},
                                             {"Relu", onnx_op::relu},
                                             {"LeakyRelu", onnx_op::leaky_relu},
                                             {"Sigmoid", onnx_op::sigmoid},
                                             {"Tanh", onnx_op::tanh},
                                             {"Softmax", onnx_op::softmax},
                                             {"Concat", onnx_op::concat},
                                             {"Gather", onnx_op::gather},
                                             {"Transpose", onnx_op::transpose},
                                             {"ReduceSum", onnx_op::reduce_sum},
                                             {"ReduceMean", onnx_op::reduce_mean},
                                             {"Cast", onnx_op::cast},
                                             {"BatchNormalization", onnx_op::batch_norm},
                                             {"LayerNormalization", onnx_op::layer_norm}}};

constexpr std::array<std::string_view, 6> view_ops{"Identity", "Dropout", "Reshape",
                                                   "Flatten",  "Squeeze", "Unsqueeze"};

const onnx::AttributeProto* attr(const onnx::NodeProto& n, std::string_view name) {
  for (const auto& a : n.attribute()) {
    if (a.name() == name) return &a;
  }
  return nullptr;
}

std::int64_t attr_int(const onnx::NodeProto& n, std::string_view name, std::int64_t fallback) {
  const auto* a = attr(n, name);
  return a != nullptr ? a->i() : fallback;
}

float attr_float(const onnx::NodeProto& n, std::string_view name, float fallback) {
  const auto* a = attr(n, name);
  return a != nullptr ? a->f() : fallback;
}

struct node_context {
  onnx_builder& b;
  const onnx::NodeProto& n;
  onnx_node node;

  template <class... Args>
  [[noreturn]] void refuse(fmt::format_string<Args...> format, Args&&... args) const {
    raise<unsupported>(onnx_where, "{}: {}", onnx_node_ref(b.plan, node),
                       fmt::format(format, std::forward<Args>(args)...));
  }
  [[nodiscard]] const onnx_value& value(std::size_t k) const {
    return b.plan.values[static_cast<std::size_t>(node.in[k])];
  }
  // The int64 values of constant input k (shapes, axes). A computed one is a dynamic shape.
  [[nodiscard]] std::vector<std::int64_t> const_ints(std::size_t k) const {
    if (k >= node.in.size() || node.in[k] < 0) return {};
    const auto& v = value(k);
    if (v.constant < 0 || v.dtype != onnx_dtype::int64) {
      refuse("input '{}' must be an int64 constant (a dynamic shape otherwise)", v.name);
    }
    return b.plan.constants[static_cast<std::size_t>(v.constant)].i;
  }
};

void parse_attributes(node_context& c) {
  const auto& n = c.n;
  auto& node = c.node;
  for (const auto& a : n.attribute()) {
    if (a.type() == onnx::AttributeProto_AttributeType_GRAPH ||
        a.type() == onnx::AttributeProto_AttributeType_GRAPHS) {
      c.refuse("subgraph attribute '{}'", a.name());
    }
  }
  const bool softmax_like = node.op == onnx_op::softmax || node.op == onnx_op::layer_norm;
  node.axis = attr_int(n, "axis", softmax_like ? -1 : (node.op == onnx_op::concat ? 0 : 1));
  if (node.op == onnx_op::gather) node.axis = attr_int(n, "axis", 0);
  if (node.op == onnx_op::batch_norm) node.axis = 1;
  node.alpha = attr_float(n, "alpha", node.op == onnx_op::leaky_relu ? 0.01f : 1.0f);
  node.beta = attr_float(n, "beta", 1.0f);
  node.epsilon = attr_float(n, "epsilon", 1e-5f);
  node.trans_a = attr_int(n, "transA", 0) != 0;
  node.trans_b = attr_int(n, "transB", 0) != 0;
  node.keepdims = attr_int(n, "keepdims", 1) != 0;
  if (const auto* p = attr(n, "perm")) node.ints.assign(p->ints().begin(), p->ints().end());
  if (node.op == onnx_op::cast) {
    const auto to = attr_int(n, "to", 0);
    if (to == onnx::TensorProto_DataType_FLOAT) {
      node.to = onnx_dtype::float32;
    } else if (to == onnx::TensorProto_DataType_INT64) {
      node.to = onnx_dtype::int64;
    } else {
      c.refuse("cast to dtype {} (supported: float32, int64)", to);
    }
  }
  if (node.op == onnx_op::batch_norm && attr_int(n, "training_mode", 0) != 0) {
    c.refuse("training_mode = 1 (inference only)");
  }
  if (node.op == onnx_op::reduce_sum || node.op == onnx_op::reduce_mean) {
    if (attr_int(n, "noop_with_empty_axes", 0) != 0) c.refuse("noop_with_empty_axes = 1");
    if (const auto* p = attr(n, "axes")) {
      node.ints.assign(p->ints().begin(), p->ints().end());
    } else {
      node.ints = c.const_ints(1);
    }
    if (node.in.size() > 1) node.in.resize(1);
  }
}

// The shape a view gives its input: Reshape, Flatten, Squeeze, Unsqueeze (Identity: the same).
onnx_dims view_shape(const node_context& c, const onnx_value& x) {
  const auto& type = c.n.op_type();
  onnx_dims s = x.shape;
  if (type == "Reshape") {
    if (attr_int(c.n, "allowzero", 0) != 0) c.refuse("allowzero = 1");
    const auto target = c.const_ints(1);
    if (target.empty() || target.size() > onnx_max_rank)
      c.refuse("target of rank {}", target.size());
    s.rank = static_cast<int>(target.size());
    int infer = -1;
    std::int64_t known = 1;
    for (int k = 0; k < s.rank; ++k) {
      auto d = target[static_cast<std::size_t>(k)];
      if (d == 0 && k < x.shape.rank) d = x.shape[k];
      if (d == -1 && infer < 0) {
        infer = k;
        d = 1;
      } else if (d < 1) {
        c.refuse("target dimension {} = {}", k, target[static_cast<std::size_t>(k)]);
      }
      if (d > x.shape.count() / known) {  // before multiplying: a file's dims can overflow
        c.refuse("target holds more than the {} elements of the input", x.shape.count());
      }
      s[k] = d;
      known *= d;
    }
    if (infer >= 0 && known > 0) s[infer] = x.shape.count() / known;
    if (s.count() != x.shape.count())
      c.refuse("target holds {} elements, not {}", s.count(), x.shape.count());
    if (x.batched && (s[0] != 1 || (target[0] != 0 && target[0] != -1))) {
      c.refuse("the reshape mixes the batch with other dimensions (a dynamic shape)");
    }
  } else if (type == "Flatten") {
    auto axis = attr_int(c.n, "axis", 1);
    if (axis < 0) axis += x.shape.rank;
    if (axis < 0 || axis > x.shape.rank) c.refuse("axis {} out of range", axis);
    std::int64_t outer = 1;
    for (int k = 0; k < axis; ++k) outer *= x.shape[k];
    s.rank = 2;
    s[0] = outer;
    s[1] = x.shape.count() / std::max<std::int64_t>(outer, 1);
    if (x.batched && (axis == 0 || outer != 1)) c.refuse("the flatten mixes the batch");
  } else if (type == "Squeeze") {
    auto axes = c.const_ints(1);
    if (axes.empty()) {
      for (int k = x.batched ? 1 : 0; k < x.shape.rank; ++k) {
        if (x.shape[k] == 1) axes.push_back(k);
      }
    }
    for (auto& a : axes) {
      a = a < 0 ? a + x.shape.rank : a;
      if (a < 0 || a >= x.shape.rank) c.refuse("axis out of range for rank {}", x.shape.rank);
    }
    s.rank = 0;
    for (int k = 0; k < x.shape.rank; ++k) {
      if (std::find(axes.begin(), axes.end(), k) == axes.end()) {
        s[s.rank++] = x.shape[k];
      } else if (x.shape[k] != 1 || (x.batched && k == 0)) {
        c.refuse("squeezes axis {} of size {}", k,
                 x.batched && k == 0 ? "batch" : std::to_string(x.shape[k]));
      }
    }
  } else if (type == "Unsqueeze") {
    auto axes = c.const_ints(1);
    const int rank = x.shape.rank + static_cast<int>(axes.size());
    if (axes.empty() || rank > onnx_max_rank) c.refuse("axes give rank {}", rank);
    for (auto& a : axes) a = a < 0 ? a + rank : a;
    s.rank = rank;
    int from = 0;
    for (int k = 0; k < rank; ++k) {
      const bool inserted = std::find(axes.begin(), axes.end(), k) != axes.end();
      s[k] = inserted ? 1 : x.shape[from++];
      if (inserted && k == 0 && x.batched) c.refuse("inserts an axis before the batch");
    }
    if (from != x.shape.rank) c.refuse("axes out of range");
  }
  return s;
}

void add_constant_node(node_context& c) {
  if (c.n.attribute_size() != 1) c.refuse("needs exactly one value attribute");
  const auto& a = c.n.attribute(0);
  onnx_constant k;
  if (a.name() == "value") {
    k = onnx_read_tensor(c.b, a.t(), "Constant '" + c.node.name + "'");
  } else if (a.name() == "value_float") {
    k.f = {a.f()};
  } else if (a.name() == "value_int") {
    k.dtype = onnx_dtype::int64;
    k.i = {a.i()};
  } else if (a.name() == "value_ints") {
    k.dtype = onnx_dtype::int64;
    k.i.assign(a.ints().begin(), a.ints().end());
    k.shape.rank = 1;
    k.shape[0] = a.ints_size();
  } else {
    c.refuse("attribute '{}'", a.name());
  }
  c.b.add_constant(c.n.output(0), std::move(k));
}

// A node whose inputs are all constants, evaluated now: its outputs become constants.
void fold(node_context& c, std::vector<onnx_value>& values) {
  auto& plan = c.b.plan;
  std::vector<onnx_tensor> views(values.size());
  for (const int id : c.node.in) {
    if (id < 0) continue;
    auto& k =
        plan.constants[static_cast<std::size_t>(values[static_cast<std::size_t>(id)].constant)];
    views[static_cast<std::size_t>(id)] = {k.dtype == onnx_dtype::int64
                                               ? static_cast<void*>(k.i.data())
                                               : static_cast<void*>(k.f.data()),
                                           k.shape};
  }
  const onnx_value out = values[static_cast<std::size_t>(c.node.out[0])];
  onnx_constant result;
  result.dtype = out.dtype;
  result.shape = out.shape;
  const auto count = static_cast<std::size_t>(out.shape.count());
  if (count > c.b.options.max_tensor_elements) c.refuse("folded tensor over max_tensor_elements");
  if (out.dtype == onnx_dtype::int64) {
    result.i.resize(count);
    views[static_cast<std::size_t>(c.node.out[0])] = {result.i.data(), out.shape};
  } else {
    result.f.resize(count);
    views[static_cast<std::size_t>(c.node.out[0])] = {result.f.data(), out.shape};
  }
  onnx_run_node(plan, c.node, views);
  values.pop_back();  // the scratch value
  c.b.add_constant(c.n.output(0), std::move(result));
}

void add_compute_node(node_context& c, onnx_op op) {
  auto& plan = c.b.plan;
  c.node.op = op;
  parse_attributes(c);
  const std::size_t min_in =
      op == onnx_op::batch_norm ? 5
      : (op == onnx_op::gemm || op == onnx_op::matmul || op == onnx_op::gather ||
         op == onnx_op::layer_norm || (op >= onnx_op::add && op <= onnx_op::div))
          ? 2
          : 1;
  if (c.node.in.size() < min_in ||
      std::any_of(c.node.in.begin(), c.node.in.begin() + static_cast<std::ptrdiff_t>(min_in),
                  [](int id) { return id < 0; })) {
    c.refuse("needs {} inputs", min_in);
  }
  for (int k = 1; k < c.n.output_size(); ++k) {
    if (!c.n.output(k).empty()) c.refuse("output {} is not supported", k);
  }
  // A scratch value receives the inferred shape, then becomes a constant or a workspace slot.
  auto& values = plan.values;
  values.emplace_back();
  c.node.out = {static_cast<int>(values.size() - 1)};
  try {
    onnx_infer_node(plan, c.node, values);
  } catch (...) {
    values.pop_back();
    throw;
  }
  const onnx_value out = values.back();
  const bool constant = std::all_of(c.node.in.begin(), c.node.in.end(), [&](int id) {
    return id < 0 || values[static_cast<std::size_t>(id)].constant >= 0;
  });
  if (constant) {
    fold(c, values);  // evaluates into the scratch value's slot, then adds the constant
    return;
  }
  values.pop_back();
  if (!out.batched) c.refuse("computes a constant from a non-constant");
  c.node.out = {c.b.add_batch(c.n.output(0), out.dtype, out.shape)};
  plan.nodes.push_back(std::move(c.node));
}

}  // namespace

void onnx_builder::add_node(const onnx::NodeProto& n, std::size_t index) {
  node_context c{*this, n, {}};
  c.node.name = n.name().empty() ? fmt::format("#{}", index) : n.name();
  c.node.op_type = n.op_type();
  if (!n.domain().empty() && n.domain() != "ai.onnx") c.refuse("domain '{}'", n.domain());
  if (n.output_size() < 1 || n.output(0).empty()) c.refuse("no output");
  if (n.op_type() == "Constant") return add_constant_node(c);
  for (const auto& i : n.input()) c.node.in.push_back(lookup(i));
  if (c.node.in.empty() || c.node.in[0] < 0) c.refuse("no input");
  if (n.op_type() == "Shape") {
    const auto& x = c.value(0);
    if (x.batched) c.refuse("Shape of a batch tensor (a dynamic shape); export with fixed shapes");
    onnx_constant k{onnx_dtype::int64, {}, {}, {}};
    k.shape.rank = 1;
    k.shape[0] = x.shape.rank;
    for (int d = 0; d < x.shape.rank; ++d) k.i.push_back(x.shape[d]);
    add_constant(n.output(0), std::move(k));
    return;
  }
  if (std::find(view_ops.begin(), view_ops.end(), n.op_type()) != view_ops.end()) {
    if (n.op_type() == "Dropout" && n.output_size() > 1 && !n.output(1).empty()) {
      c.refuse("the mask output");
    }
    add_alias(n.output(0), c.node.in[0], view_shape(c, c.value(0)));
    return;
  }
  for (const auto& e : op_table) {
    if (e.type == n.op_type()) return add_compute_node(c, e.op);
  }
  c.refuse(
      "operator not supported (supported: Gemm, MatMul, Add, Sub, Mul, Div, Relu, LeakyRelu, "
      "Sigmoid, Tanh, Softmax, Concat, Gather, Reshape, Flatten, Squeeze, Unsqueeze, "
      "Transpose, ReduceSum, ReduceMean, Identity, Dropout, Cast, BatchNormalization, "
      "LayerNormalization, Constant, Shape)");
}

}  // namespace funnel::scoring::detail
