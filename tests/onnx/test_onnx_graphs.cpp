// Hand-built ONNX graphs (through ONNX's own protobuf classes) for what the PyTorch fixtures
// cannot reach: every structural error of a file is a typed error naming the file, node or value,
// and a graph whose nodes are not in order is ordered.

#include <funnel/core/error.hpp>
#include <funnel/onnx/onnx_model.hpp>

#include <filesystem>
#include <fstream>
#include <limits>
#include <onnx/onnx_pb.h>

#include "funnel_catch.hpp"
#include "onnx/onnx_fixture.hpp"

namespace {

using funnel::test::message_of;

struct graph_builder {
  onnx::ModelProto model;
  onnx::GraphProto* g = model.mutable_graph();

  explicit graph_builder(std::int64_t opset = 17) {
    model.set_ir_version(8);
    auto* o = model.add_opset_import();
    o->set_domain("");
    o->set_version(opset);
  }
  // A float32 (or other) input [batch, width].
  void input(const std::string& name, int width, int dtype = onnx::TensorProto_DataType_FLOAT,
             bool symbolic_width = false) {
    auto* v = g->add_input();
    v->set_name(name);
    auto* t = v->mutable_type()->mutable_tensor_type();
    t->set_elem_type(dtype);
    t->mutable_shape()->add_dim()->set_dim_param("batch");
    auto* d = t->mutable_shape()->add_dim();
    if (symbolic_width) {
      d->set_dim_param("width");
    } else {
      d->set_dim_value(width);
    }
  }
  void output(const std::string& name) { g->add_output()->set_name(name); }
  onnx::NodeProto* node(const std::string& op, std::initializer_list<std::string> in,
                        std::initializer_list<std::string> out) {
    auto* n = g->add_node();
    n->set_op_type(op);
    n->set_name(op + "_" + std::to_string(g->node_size()));
    for (const auto& i : in) n->add_input(i);
    for (const auto& o : out) n->add_output(o);
    return n;
  }
  void int64_initializer(const std::string& name, std::vector<std::int64_t> values) {
    auto* t = g->add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto_DataType_INT64);
    t->add_dims(static_cast<std::int64_t>(values.size()));
    for (const auto v : values) t->add_int64_data(v);
  }
  [[nodiscard]] std::filesystem::path write(const std::string& file) const {
    const auto path = funnel::test::scratch_dir("onnx-graphs-" + file) / file;
    std::ofstream out(path, std::ios::binary);
    model.SerializeToOstream(&out);
    return path;
  }
  [[nodiscard]] std::string load_error(const std::string& file) const {
    const auto path = write(file);
    return message_of([&] { (void)funnel::scoring::load_onnx(path); });
  }
};

graph_builder relu_graph() {
  graph_builder b;
  b.input("x", 4);
  b.node("Relu", {"x"}, {"y"});
  b.output("y");
  return b;
}

}  // namespace

TEST_CASE("onnx graphs: nodes out of order are ordered, and run") {
  graph_builder b;
  b.input("x", 3);
  b.node("Relu", {"y"}, {"z"});  // uses y, defined by the next node
  b.node("Add", {"x", "x"}, {"y"});
  b.output("z");
  const auto model = funnel::scoring::load_onnx(b.write("unsorted.onnx"));
  const std::vector<float> x{1, -2, 3, -1, 0, 2};
  std::vector<float> z(6);
  const funnel::scoring::onnx_input in[] = {std::span<const float>(x)};
  const std::span<float> out[] = {z};
  model.run(2, in, out);
  CHECK(z == std::vector<float>{2, 0, 6, 0, 0, 4});
}

TEST_CASE("onnx graphs: negative axes count from the end (Concat, Gather)") {
  graph_builder b;
  b.input("x", 2);
  b.input("y", 1);
  auto axis = [](std::int64_t v) {
    onnx::AttributeProto a;
    a.set_name("axis");
    a.set_type(onnx::AttributeProto_AttributeType_INT);
    a.set_i(v);
    return a;
  };
  b.node("Concat", {"x", "y"}, {"c"})->add_attribute()->CopyFrom(axis(-1));
  b.int64_initializer("pick", {2, 0});
  b.node("Gather", {"c", "pick"}, {"z"})->add_attribute()->CopyFrom(axis(-1));
  b.output("z");
  const auto model = funnel::scoring::load_onnx(b.write("negative_axes.onnx"));
  const std::vector<float> x{1, 2, 3, 4};
  const std::vector<float> y{10, 20};
  std::vector<float> z(4);
  const funnel::scoring::onnx_input in[] = {std::span<const float>(x), std::span<const float>(y)};
  const std::span<float> out[] = {z};
  model.run(2, in, out);
  CHECK(z == std::vector<float>{10, 1, 20, 3});  // columns 2 and 0 of [x | y]
}

TEST_CASE("onnx graphs: structural errors are parse_errors naming the file and the value") {
  graph_builder cycle;
  cycle.input("x", 3);
  cycle.node("Add", {"x", "b"}, {"a"});
  cycle.node("Relu", {"a"}, {"b"});
  cycle.output("b");
  CHECK_THAT(cycle.load_error("cycle.onnx"),
             ContainsSubstring(
                 "[funnel.parse_error.scoring.onnx_model] cycle.onnx: the graph has a cycle"));

  graph_builder undefined;
  undefined.input("x", 3);
  undefined.node("Add", {"x", "nowhere"}, {"y"});
  undefined.output("y");
  CHECK_THAT(undefined.load_error("undefined.onnx"),
             ContainsSubstring("uses 'nowhere', which nothing defines"));

  auto twice = relu_graph();
  twice.node("Relu", {"x"}, {"y"});
  CHECK_THAT(twice.load_error("twice.onnx"), ContainsSubstring("value 'y' is defined twice"));

  auto no_output = relu_graph();
  no_output.output("missing");
  CHECK_THAT(no_output.load_error("no_output.onnx"),
             ContainsSubstring("output 'missing' is produced by no node"));

  auto short_raw = relu_graph();
  auto* t = short_raw.g->add_initializer();
  t->set_name("w");
  t->set_data_type(onnx::TensorProto_DataType_FLOAT);
  t->add_dims(1000);
  t->set_raw_data(std::string(12, '\0'));
  CHECK_THAT(short_raw.load_error("short_raw.onnx"),
             ContainsSubstring("initializer 'w': raw_data holds 12 bytes for 1000 elements"));

  auto huge = relu_graph();
  auto* h = huge.g->add_initializer();
  h->set_name("h");
  h->set_data_type(onnx::TensorProto_DataType_FLOAT);
  h->add_dims(std::int64_t{1} << 40);
  h->add_dims(std::int64_t{1} << 40);
  CHECK_THAT(huge.load_error("huge.onnx"), ContainsSubstring("breaks max_tensor_elements"));

  graph_builder no_opset;
  no_opset.model.clear_opset_import();
  CHECK_THAT(no_opset.load_error("no_opset.onnx"),
             ContainsSubstring("no opset_import for the default domain"));
}

TEST_CASE("onnx graphs: what funnel does not support is refused naming the node or input") {
  graph_builder old_opset(11);
  old_opset.input("x", 4);
  old_opset.node("Relu", {"x"}, {"y"});
  old_opset.output("y");
  CHECK_THAT(old_opset.load_error("opset11.onnx"),
             ContainsSubstring("[funnel.unsupported.scoring.onnx_model] opset11.onnx: opset 11"));

  graph_builder doubles;
  doubles.input("x", 4, onnx::TensorProto_DataType_DOUBLE);
  doubles.node("Relu", {"x"}, {"y"});
  doubles.output("y");
  CHECK_THAT(doubles.load_error("doubles.onnx"),
             ContainsSubstring("'x' has dtype DOUBLE (supported: float32, int64)"));

  graph_builder dynamic;
  dynamic.input("x", 0, onnx::TensorProto_DataType_FLOAT, true);
  dynamic.node("Relu", {"x"}, {"y"});
  dynamic.output("y");
  CHECK_THAT(dynamic.load_error("dynamic.onnx"),
             ContainsSubstring("input 'x' dimension 1 is not a fixed size (a dynamic shape)"));

  auto custom = relu_graph();
  custom.node("Relu", {"y"}, {"z"})->set_domain("com.example");
  CHECK_THAT(custom.load_error("custom.onnx"), ContainsSubstring("(Relu): domain 'com.example'"));

  graph_builder batch_concat;
  batch_concat.input("x", 4);
  batch_concat.node("Concat", {"x", "x"}, {"y"})->add_attribute()->CopyFrom([] {
    onnx::AttributeProto a;
    a.set_name("axis");
    a.set_type(onnx::AttributeProto_AttributeType_INT);
    a.set_i(0);
    return a;
  }());
  batch_concat.output("y");
  CHECK_THAT(batch_concat.load_error("batch_concat.onnx"),
             ContainsSubstring("(Concat): axis 0 of a batch tensor (a dynamic shape)"));

  graph_builder reshape;  // a target whose dimensions would overflow when multiplied
  reshape.input("x", 4);
  reshape.int64_initializer("shape", {-1, std::numeric_limits<std::int64_t>::max() / 2, 8});
  reshape.node("Reshape", {"x", "shape"}, {"y"});
  reshape.output("y");
  CHECK_THAT(reshape.load_error("reshape.onnx"),
             ContainsSubstring("(Reshape): target holds more than the 4 elements of the input"));

  graph_builder computed_shape;  // Shape of a batch tensor
  computed_shape.input("x", 4);
  computed_shape.node("Shape", {"x"}, {"s"});
  computed_shape.node("Reshape", {"x", "s"}, {"y"});
  computed_shape.output("y");
  CHECK_THAT(computed_shape.load_error("shape.onnx"),
             ContainsSubstring("(Shape): Shape of a batch tensor (a dynamic shape)"));
}

namespace {

std::int64_t interesting(funnel::rng& r) {
  static constexpr std::int64_t values[] = {-3,
                                            -2,
                                            -1,
                                            0,
                                            1,
                                            2,
                                            3,
                                            4,
                                            7,
                                            8,
                                            16,
                                            100,
                                            1 << 20,
                                            std::int64_t{1} << 31,
                                            std::numeric_limits<std::int64_t>::max(),
                                            std::numeric_limits<std::int64_t>::min()};
  return values[r.below(std::size(values))];
}

// One random edit of a number the planner reads: a dimension, an int64 value, an attribute, an
// input's shape, or an input rewired to another node's output.
void mutate(onnx::GraphProto& g, funnel::rng& r) {
  auto any = [&](int n) { return static_cast<int>(r.below(static_cast<std::uint64_t>(n))); };
  switch (r.below(4)) {
    case 0:
      if (g.initializer_size() > 0) {
        auto& t = *g.mutable_initializer(any(g.initializer_size()));
        if (t.dims_size() > 0) t.set_dims(any(t.dims_size()), interesting(r));
        if (t.int64_data_size() > 0) t.set_int64_data(any(t.int64_data_size()), interesting(r));
      }
      break;
    case 1:
      if (g.node_size() > 0) {
        auto& n = *g.mutable_node(any(g.node_size()));
        if (n.attribute_size() > 0) {
          auto& a = *n.mutable_attribute(any(n.attribute_size()));
          if (a.ints_size() > 0) {
            a.set_ints(any(a.ints_size()), interesting(r));
          } else {
            a.set_i(interesting(r));
          }
        }
      }
      break;
    case 2:
      if (g.input_size() > 0) {
        auto& shape = *g.mutable_input(any(g.input_size()))
                           ->mutable_type()
                           ->mutable_tensor_type()
                           ->mutable_shape();
        if (shape.dim_size() > 1)
          shape.mutable_dim(1 + any(shape.dim_size() - 1))->set_dim_value(interesting(r) % 100000);
      }
      break;
    default:
      if (g.node_size() > 1) {
        auto& n = *g.mutable_node(any(g.node_size()));
        if (n.input_size() > 0)
          n.set_input(any(n.input_size()), g.node(any(g.node_size())).output(0));
      }
  }
}

}  // namespace

TEST_CASE("onnx graphs: numbers mutated in every fixture load or raise, and what loads runs") {
  funnel::rng r(20261208);
  const auto dir = funnel::test::scratch_dir("onnx-structural");
  for (const auto& entry : std::filesystem::directory_iterator(funnel::test::data("onnx"))) {
    if (entry.path().extension() != ".onnx") continue;
    onnx::ModelProto base;
    std::ifstream src(entry.path(), std::ios::binary);
    REQUIRE(base.ParseFromIstream(&src));
    for (int trial = 0; trial < 40; ++trial) {
      onnx::ModelProto m = base;
      for (std::uint64_t e = 0; e <= r.below(3); ++e) mutate(*m.mutable_graph(), r);
      const auto path = dir / "m.onnx";
      {
        std::ofstream out(path, std::ios::binary);
        m.SerializeToOstream(&out);
      }
      funnel::test::load_and_run(path);
    }
  }
  SUCCEED("every mutated model loaded and ran or raised a funnel::error");
}
