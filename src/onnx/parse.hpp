#pragma once
// The plan builder: the only part of funnel that sees ONNX's protobuf classes (parse.cpp reads
// the file, tensors and ports; parse_nodes.cpp turns nodes into plan steps).

#include <onnx/onnx_pb.h>
#include <string>
#include <unordered_map>

#include "onnx/plan.hpp"

namespace funnel::scoring::detail {

template <class... Args>
[[noreturn]] void onnx_malformed(const onnx_plan& plan, fmt::format_string<Args...> format,
                                 Args&&... args) {
  raise<parse_error>(onnx_where, "{}: {}", plan.file,
                     fmt::format(format, std::forward<Args>(args)...));
}

template <class... Args>
[[noreturn]] void onnx_refuse(const onnx_plan& plan, fmt::format_string<Args...> format,
                              Args&&... args) {
  raise<unsupported>(onnx_where, "{}: {}", plan.file,
                     fmt::format(format, std::forward<Args>(args)...));
}

/// @brief The state of a plan being built.
struct onnx_builder {
  const onnx_load_options& options;
  onnx_plan& plan;
  std::unordered_map<std::string, int> ids;  ///< value name -> value id

  /// @brief A new constant value named `name`. @throws parse_error when the name is taken.
  int add_constant(const std::string& name, onnx_constant c);
  /// @brief A new batch value (workspace slot) of that shape. @throws parse_error over a bound.
  int add_batch(const std::string& name, onnx_dtype t, const onnx_dims& shape);
  /// @brief A new value sharing `source`'s storage (a view: Reshape, Identity ...) with `shape`.
  int add_alias(const std::string& name, int source, const onnx_dims& shape);
  /// @brief The value id of an input name, -1 for "" (an omitted optional input).
  [[nodiscard]] int lookup(const std::string& name) const;
  /// @brief Plans one node (folds it when its inputs are constants).
  void add_node(const onnx::NodeProto& n, std::size_t index);
};

/// @brief A tensor of the file as a constant, bounds and sizes checked before copying.
/// @throws parse_error, unsupported (dtype, external data).
onnx_constant onnx_read_tensor(const onnx_builder& b, const onnx::TensorProto& t,
                               const std::string& what);

}  // namespace funnel::scoring::detail
