#pragma once
// The planned graph of an onnx_model: values (constants or batch tensors in a workspace), the
// nodes to run in order with their parsed attributes, and the kernels. Free of protobuf: the
// parser (parse.cpp) is the only file that sees ONNX's generated classes.

#include <funnel/core/error.hpp>
#include <funnel/onnx/onnx_model.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

namespace funnel::scoring::detail {

inline constexpr int onnx_max_rank = 8;
inline constexpr const char* onnx_where = "scoring.onnx_model";

/// @brief A shape of at most onnx_max_rank dimensions.
struct onnx_dims {
  std::array<std::int64_t, onnx_max_rank> d{};
  int rank = 0;
  [[nodiscard]] std::int64_t count() const noexcept {
    std::int64_t n = 1;
    for (int k = 0; k < rank; ++k) n *= d[static_cast<std::size_t>(k)];
    return n;
  }
  [[nodiscard]] std::int64_t operator[](int k) const noexcept {
    return d[static_cast<std::size_t>(k)];
  }
  [[nodiscard]] std::int64_t& operator[](int k) noexcept { return d[static_cast<std::size_t>(k)]; }
  friend bool operator==(const onnx_dims& a, const onnx_dims& b) noexcept {
    if (a.rank != b.rank) return false;
    for (int k = 0; k < a.rank; ++k) {
      if (a[k] != b[k]) return false;
    }
    return true;
  }
};

/// @brief A tensor known at plan time (an initializer, a Constant, a folded node).
struct onnx_constant {
  onnx_dtype dtype = onnx_dtype::float32;
  onnx_dims shape;
  std::vector<float> f;
  std::vector<std::int64_t> i;
};

/// @brief A value of the graph. A batch value lives in the workspace: its shape's first
/// dimension is the call's row count (stored as 1 here), `offset` its start per row in the arena
/// of its dtype. A constant value points into onnx_plan::constants.
struct onnx_value {
  std::string name;
  onnx_dtype dtype = onnx_dtype::float32;
  onnx_dims shape;
  bool batched = false;
  int constant = -1;       ///< index into onnx_plan::constants, or -1
  std::size_t offset = 0;  ///< batch values: offset of row block in the arena (per row)
};

enum class onnx_op : std::uint8_t {
  gemm,
  matmul,
  add,
  sub,
  mul,
  div,
  relu,
  leaky_relu,
  sigmoid,
  tanh,
  softmax,
  concat,
  gather,
  transpose,
  reduce_sum,
  reduce_mean,
  cast,
  batch_norm,
  layer_norm,
  copy
};

/// @brief A node to evaluate, its inputs / outputs as value ids and its attributes.
struct onnx_node {
  onnx_op op = onnx_op::copy;
  std::string name;     ///< the node's name (or "#<index>" when it has none)
  std::string op_type;  ///< the ONNX operator
  std::vector<int> in;  ///< value ids (-1: an omitted optional input)
  std::vector<int> out;
  std::int64_t axis = 0;
  float alpha = 1.0f;
  float beta = 1.0f;
  float epsilon = 1e-5f;
  bool trans_a = false;
  bool trans_b = false;
  bool keepdims = true;
  onnx_dtype to = onnx_dtype::float32;
  std::vector<std::int64_t> ints;  ///< perm (Transpose), axes (reductions)
};

/// @brief The view of one value during a call (or during folding at plan time).
struct onnx_tensor {
  void* data = nullptr;
  onnx_dims shape;
  [[nodiscard]] float* f() const noexcept { return static_cast<float*>(data); }
  [[nodiscard]] std::int64_t* i() const noexcept { return static_cast<std::int64_t*>(data); }
};

struct onnx_plan {
  std::string file;  ///< for messages
  std::vector<onnx_value> values;
  std::vector<onnx_constant> constants;
  std::vector<onnx_node> nodes;  ///< in evaluation order
  std::vector<onnx_port> inputs, outputs;
  std::vector<int> input_values, output_values;
  std::size_t row_floats = 0;  ///< float arena elements per row
  std::size_t row_ints = 0;    ///< int64 arena elements per row
};

/// @brief Buffers of one call: arenas and the per-value views.
struct onnx_workspace {
  std::vector<float> f;
  std::vector<std::int64_t> i;
  std::vector<onnx_tensor> views;
};

struct onnx_workspace_pool {
  std::mutex mutex;
  std::vector<std::unique_ptr<onnx_workspace>> free;
};

/// @brief Evaluates one node on the views (inputs and outputs sized).
/// @throws invalid_argument for an out-of-range Gather index.
void onnx_run_node(const onnx_plan& plan, const onnx_node& node, std::span<onnx_tensor> views);

/// @brief The shapes, dtypes and batch flags of a node's outputs from its inputs'; checks the
/// attributes, and normalises the node's axes. @throws unsupported naming the node.
void onnx_infer_node(const onnx_plan& plan, onnx_node& node, std::vector<onnx_value>& values);

/// @brief "<file>: node '<name>' (<op>)", the start of every message about a node.
[[nodiscard]] std::string onnx_node_ref(const onnx_plan& plan, const onnx_node& node);

}  // namespace funnel::scoring::detail
