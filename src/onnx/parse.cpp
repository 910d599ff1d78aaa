// load_onnx: reads the file (size bounded), parses ModelProto, checks the opset, turns
// initializers and inputs into values, orders the nodes topologically and plans them, then the
// outputs. Every count from the file is bounded before it drives an allocation.

#include "onnx/parse.hpp"

#include <funnel/core/file.hpp>

#include <cstring>
#include <fstream>
#include <limits>
#include <queue>

namespace funnel::scoring::detail {

constexpr std::int64_t min_opset = 13;
constexpr std::int64_t max_opset = 18;

static std::string read_bounded(const std::filesystem::path& path,
                                const onnx_load_options& options) {
  std::ifstream f(path, std::ios::binary);
  if (!f) raise<io_error>(onnx_where, "{}: cannot open", path.string());
  f.seekg(0, std::ios::end);
  const auto size = static_cast<std::size_t>(f.tellg());
  if (size > options.max_file_bytes) {
    raise<parse_error>(onnx_where, "{}: {} bytes, over max_file_bytes = {}", path.string(), size,
                       options.max_file_bytes);
  }
  std::string bytes(size, '\0');
  f.seekg(0);
  if (!f.read(bytes.data(), static_cast<std::streamsize>(size))) {
    raise<io_error>(onnx_where, "{}: read failed", path.string());
  }
  return bytes;
}

static void check_opset(const onnx_plan& plan, const onnx::ModelProto& model) {
  std::int64_t version = -1;
  for (const auto& o : model.opset_import()) {
    if (o.domain().empty() || o.domain() == "ai.onnx") version = o.version();
  }
  if (version < 0) onnx_malformed(plan, "no opset_import for the default domain");
  if (version < min_opset || version > max_opset) {
    onnx_refuse(plan, "opset {} (supported: {} to {}; export with opset_version=17)", version,
                min_opset, max_opset);
  }
  if (!model.has_graph()) onnx_malformed(plan, "no graph");
}

static onnx_dtype port_dtype(const onnx_plan& plan, const onnx::ValueInfoProto& v) {
  if (!v.type().has_tensor_type()) onnx_refuse(plan, "'{}' is not a tensor", v.name());
  const auto t = v.type().tensor_type().elem_type();
  if (t == onnx::TensorProto_DataType_FLOAT) return onnx_dtype::float32;
  if (t == onnx::TensorProto_DataType_INT64) return onnx_dtype::int64;
  onnx_refuse(plan, "'{}' has dtype {} (supported: float32, int64)", v.name(),
              onnx::TensorProto_DataType_Name(t));
}

static void add_inputs(onnx_builder& b, const onnx::GraphProto& g) {
  auto& plan = b.plan;
  for (const auto& v : g.input()) {
    if (b.ids.count(v.name()) != 0) continue;  // an initializer listed as an input (IR < 4)
    onnx_port port;
    port.name = v.name();
    port.dtype = port_dtype(plan, v);
    const auto& dims = v.type().tensor_type().shape().dim();
    if (dims.empty() || dims.size() > onnx_max_rank) {
      onnx_refuse(plan, "input '{}' of rank {} (needs 1 to {}, the first the batch)", v.name(),
                  dims.size(), onnx_max_rank);
    }
    if (dims[0].has_dim_value()) {
      onnx_refuse(plan,
                  "input '{}' has a fixed first dimension {} (a batch dimension must be "
                  "symbolic: export with dynamic_axes={{'{}': {{0: 'batch'}}}})",
                  v.name(), dims[0].dim_value(), v.name());
    }
    onnx_dims shape;
    shape.rank = dims.size();
    shape[0] = 1;
    std::uint64_t row = 1;
    for (int k = 1; k < shape.rank; ++k) {
      if (!dims[k].has_dim_value() || dims[k].dim_value() < 1) {
        onnx_refuse(plan, "input '{}' dimension {} is not a fixed size (a dynamic shape)", v.name(),
                    k);
      }
      const auto d = static_cast<std::uint64_t>(dims[k].dim_value());
      if (d > b.options.max_row_elements / row) {
        onnx_malformed(plan, "input '{}': dimension {} = {} takes a row over max_row_elements",
                       v.name(), k, d);
      }
      row *= d;
      shape[k] = dims[k].dim_value();
      port.shape.push_back(shape[k]);
    }
    const int id = b.add_batch(v.name(), port.dtype, shape);
    port.row_size = static_cast<std::size_t>(shape.count());
    plan.inputs.push_back(std::move(port));
    plan.input_values.push_back(id);
  }
  if (plan.inputs.empty()) onnx_malformed(plan, "the graph has no inputs");
}

static void add_outputs(onnx_builder& b, const onnx::GraphProto& g) {
  auto& plan = b.plan;
  for (const auto& o : g.output()) {
    const auto it = b.ids.find(o.name());
    if (it == b.ids.end()) onnx_malformed(plan, "output '{}' is produced by no node", o.name());
    const auto& v = plan.values[static_cast<std::size_t>(it->second)];
    if (v.dtype != onnx_dtype::float32) onnx_refuse(plan, "output '{}' is not float32", o.name());
    if (!v.batched) onnx_refuse(plan, "output '{}' does not depend on the inputs", o.name());
    onnx_port port{o.name(), v.dtype, {}, static_cast<std::size_t>(v.shape.count())};
    for (int k = 1; k < v.shape.rank; ++k) port.shape.push_back(v.shape[k]);
    plan.outputs.push_back(std::move(port));
    plan.output_values.push_back(it->second);
  }
  if (plan.outputs.empty()) onnx_malformed(plan, "the graph has no outputs");
}

// Kahn's algorithm over the nodes (ONNX asks producers to sort them; funnel does not rely on it).
static std::vector<std::size_t> topological_order(const onnx_builder& b,
                                                  const onnx::GraphProto& g) {
  const auto n = static_cast<std::size_t>(g.node_size());
  std::unordered_map<std::string, std::size_t> producer;
  for (std::size_t k = 0; k < n; ++k) {
    for (const auto& o : g.node(static_cast<int>(k)).output()) {
      if (o.empty()) continue;
      if (b.ids.count(o) != 0 || !producer.emplace(o, k).second) {
        onnx_malformed(b.plan, "value '{}' is defined twice", o);
      }
    }
  }
  std::vector<std::size_t> pending(n, 0);
  std::vector<std::vector<std::size_t>> users(n);
  for (std::size_t k = 0; k < n; ++k) {
    for (const auto& i : g.node(static_cast<int>(k)).input()) {
      if (i.empty() || b.ids.count(i) != 0) continue;
      const auto p = producer.find(i);
      if (p == producer.end()) {
        onnx_malformed(b.plan, "node {} uses '{}', which nothing defines", k, i);
      }
      users[p->second].push_back(k);
      ++pending[k];
    }
  }
  std::queue<std::size_t> ready;
  for (std::size_t k = 0; k < n; ++k) {
    if (pending[k] == 0) ready.push(k);
  }
  std::vector<std::size_t> order;
  order.reserve(n);
  while (!ready.empty()) {
    const auto k = ready.front();
    ready.pop();
    order.push_back(k);
    for (const auto u : users[k]) {
      if (--pending[u] == 0) ready.push(u);
    }
  }
  if (order.size() != n) onnx_malformed(b.plan, "the graph has a cycle");
  return order;
}

static void parse_graph(onnx_builder& b, const onnx::GraphProto& g) {
  if (static_cast<std::size_t>(g.node_size()) > b.options.max_nodes) {
    onnx_malformed(b.plan, "{} nodes, over max_nodes = {}", g.node_size(), b.options.max_nodes);
  }
  for (const auto& t : g.initializer()) {
    b.add_constant(t.name(), onnx_read_tensor(b, t, "initializer '" + t.name() + "'"));
  }
  add_inputs(b, g);
  for (const auto k : topological_order(b, g)) b.add_node(g.node(static_cast<int>(k)), k);
  add_outputs(b, g);
}

namespace {
template <class T, class Field>
void copy_field(const onnx_builder& b, const Field& field, std::size_t count, std::vector<T>& out,
                const std::string& what) {
  if (static_cast<std::size_t>(field.size()) != count) {
    onnx_malformed(b.plan, "{} holds {} values for {} elements", what, field.size(), count);
  }
  out.assign(field.begin(), field.end());
}

}  // namespace

onnx_constant onnx_read_tensor(const onnx_builder& b, const onnx::TensorProto& t,
                               const std::string& what) {
  const auto& plan = b.plan;
  onnx_constant c;
  if (t.data_location() == onnx::TensorProto_DataLocation_EXTERNAL) {
    onnx_refuse(plan, "{} keeps its data in an external file", what);
  }
  const auto type = t.data_type();
  if (type == onnx::TensorProto_DataType_FLOAT) {
    c.dtype = onnx_dtype::float32;
  } else if (type == onnx::TensorProto_DataType_INT64 || type == onnx::TensorProto_DataType_INT32) {
    c.dtype = onnx_dtype::int64;
  } else {
    onnx_refuse(plan, "{} has dtype {} (supported: float32, int64, int32)", what,
                onnx::TensorProto_DataType_Name(static_cast<onnx::TensorProto_DataType>(type)));
  }
  if (t.dims_size() > onnx_max_rank) onnx_refuse(plan, "{} has rank {}", what, t.dims_size());
  c.shape.rank = t.dims_size();
  std::size_t count = 1;
  for (int k = 0; k < c.shape.rank; ++k) {
    const auto d = t.dims(k);
    if (d < 0 || static_cast<std::uint64_t>(d) > b.options.max_tensor_elements ||
        (d > 0 && count > b.options.max_tensor_elements / static_cast<std::size_t>(d))) {
      onnx_malformed(plan, "{}: dimension {} = {} breaks max_tensor_elements = {}", what, k, d,
                     b.options.max_tensor_elements);
    }
    c.shape[k] = d;
    count *= static_cast<std::size_t>(d);
  }
  const std::size_t es =
      type == onnx::TensorProto_DataType_INT32 ? 4 : (c.dtype == onnx_dtype::int64 ? 8 : 4);
  if (t.has_raw_data()) {
    if (t.raw_data().size() != count * es) {
      onnx_malformed(plan, "{}: raw_data holds {} bytes for {} elements", what, t.raw_data().size(),
                     count);
    }
    const char* raw = t.raw_data().data();
    if (c.dtype == onnx_dtype::float32) {
      c.f.resize(count);
      std::memcpy(c.f.data(), raw, count * es);
    } else if (es == 8) {
      c.i.resize(count);
      std::memcpy(c.i.data(), raw, count * es);
    } else {
      std::vector<std::int32_t> narrow(count);
      std::memcpy(narrow.data(), raw, count * es);
      c.i.assign(narrow.begin(), narrow.end());
    }
  } else if (c.dtype == onnx_dtype::float32) {
    copy_field(b, t.float_data(), count, c.f, what);
  } else if (type == onnx::TensorProto_DataType_INT32) {
    copy_field(b, t.int32_data(), count, c.i, what);
  } else {
    copy_field(b, t.int64_data(), count, c.i, what);
  }
  return c;
}

int onnx_builder::add_constant(const std::string& name, onnx_constant c) {
  if (!name.empty() && ids.count(name) != 0)
    onnx_malformed(plan, "value '{}' is defined twice", name);
  onnx_value v;
  v.name = name;
  v.dtype = c.dtype;
  v.shape = c.shape;
  v.constant = static_cast<int>(plan.constants.size());
  plan.constants.push_back(std::move(c));
  plan.values.push_back(std::move(v));
  const int id = static_cast<int>(plan.values.size() - 1);
  if (!name.empty()) ids[name] = id;
  return id;
}

int onnx_builder::add_batch(const std::string& name, onnx_dtype t, const onnx_dims& shape) {
  if (!name.empty() && ids.count(name) != 0)
    onnx_malformed(plan, "value '{}' is defined twice", name);
  auto& row = t == onnx_dtype::int64 ? plan.row_ints : plan.row_floats;
  const auto count = static_cast<std::size_t>(shape.count());
  if (count > options.max_row_elements - std::min(row, options.max_row_elements)) {
    onnx_malformed(plan, "tensor '{}' takes the workspace over max_row_elements = {}", name,
                   options.max_row_elements);
  }
  onnx_value v;
  v.name = name;
  v.dtype = t;
  v.shape = shape;
  v.batched = true;
  v.offset = row;
  row += count;
  plan.values.push_back(std::move(v));
  const int id = static_cast<int>(plan.values.size() - 1);
  if (!name.empty()) ids[name] = id;
  return id;
}

int onnx_builder::add_alias(const std::string& name, int source, const onnx_dims& shape) {
  const auto& src = plan.values[static_cast<std::size_t>(source)];
  if (src.constant >= 0) {
    onnx_constant c = plan.constants[static_cast<std::size_t>(src.constant)];
    c.shape = shape;
    return add_constant(name, std::move(c));
  }
  if (ids.count(name) != 0) onnx_malformed(plan, "value '{}' is defined twice", name);
  onnx_value v = src;
  v.name = name;
  v.shape = shape;
  plan.values.push_back(std::move(v));
  const int id = static_cast<int>(plan.values.size() - 1);
  ids[name] = id;
  return id;
}

int onnx_builder::lookup(const std::string& name) const {
  if (name.empty()) return -1;
  const auto it = ids.find(name);
  if (it == ids.end()) onnx_malformed(plan, "'{}' is used before it is defined", name);
  return it->second;
}

}  // namespace funnel::scoring::detail

namespace funnel::scoring {

using detail::onnx_builder;
using detail::onnx_plan;

onnx_model load_onnx(const std::filesystem::path& path, const onnx_load_options& options) {
  auto plan = std::make_shared<onnx_plan>();
  plan->file = path.filename().string();
  const std::string bytes = detail::read_bounded(path, options);
  onnx::ModelProto model;
  if (bytes.size() > static_cast<std::size_t>(std::numeric_limits<int>::max()) ||
      !model.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    detail::onnx_malformed(
        *plan, "not a valid ONNX model (protobuf parsing failed; truncated or not ONNX)");
  }
  detail::check_opset(*plan, model);
  onnx_builder b{options, *plan, {}};
  detail::parse_graph(b, model.graph());
  return onnx_model(std::move(plan));
}

}  // namespace funnel::scoring
