#pragma once
/// @file onnx_model.hpp
/// @brief An ONNX evaluator for the operators recommendation and ranking networks are made of
/// (MLP, DCN, two-tower): the graph is planned once at load (topological order, static shapes
/// with a symbolic batch dimension, constants folded, one buffer per tensor); `run` is const,
/// thread-safe and allocation-free after warm-up (each concurrent call borrows a workspace from
/// the model's pool). Part of the optional library funnel::onnx (docs/neural.md).
///
/// @code
/// auto model = funnel::scoring::load_onnx("mlp.onnx");
/// std::vector<float> x(rows * model.inputs()[0].row_size), y(rows);
/// funnel::scoring::onnx_input in[] = {std::span<const float>(x)};
/// std::span<float> out[] = {y};
/// model.run(rows, in, out);
/// @endcode
///
/// Errors: `parse_error.scoring.onnx_model` (malformed, truncated or inconsistent file, naming the
/// file), `unsupported.scoring.onnx_model` (operator, opset, dtype or dynamic shape, naming the
/// node and its operator), `dimension_mismatch` / `invalid_argument` at `run`.

#include <funnel/core/enum_names.hpp>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <variant>
#include <vector>

namespace funnel::scoring {

/// @brief Element types of the tensors a model's inputs take.
enum class onnx_dtype : std::uint8_t { float32, int64 };

/// @brief Names "float32", "int64": `to_string`, `parse_enum`.
constexpr auto enum_names_of(onnx_dtype) {
  return enum_names<onnx_dtype, 2>{
      "onnx dtype", {{{onnx_dtype::float32, "float32"}, {onnx_dtype::int64, "int64"}}}};
}
using funnel::to_string;

/// @brief Bounds on what a file may ask for, checked before anything is allocated.
struct onnx_load_options {
  std::size_t max_file_bytes = std::size_t{1} << 30;       ///< the file's size
  std::size_t max_nodes = 100'000;                         ///< nodes in the graph
  std::size_t max_tensor_elements = std::size_t{1} << 28;  ///< elements of one tensor
  /// elements of one row of the whole workspace (every intermediate tensor of one batch row)
  std::size_t max_row_elements = std::size_t{1} << 24;
};

/// @brief A graph input or output: name, element type and shape of one row (the batch dimension
/// excluded).
struct onnx_port {
  std::string name;                        ///< the graph's name for it
  onnx_dtype dtype = onnx_dtype::float32;  ///< element type
  std::vector<std::int64_t> shape;         ///< dimensions after the batch dimension
  std::size_t row_size = 1;                ///< elements per row: the product of shape
};

/// @brief One input's values for a call: `rows × row_size` elements, row-major, of the input's
/// dtype.
using onnx_input = std::variant<std::span<const float>, std::span<const std::int64_t>>;

namespace detail {
struct onnx_plan;
struct onnx_workspace_pool;
}  // namespace detail

/// @brief A loaded, planned ONNX graph. Movable and copyable (copies share the read-only plan);
/// const members are thread-safe.
class onnx_model {
 public:
  /// @brief Wraps a plan (load_onnx builds one).
  explicit onnx_model(std::shared_ptr<const detail::onnx_plan> plan);
  onnx_model(const onnx_model& other);
  onnx_model& operator=(const onnx_model& other);
  onnx_model(onnx_model&&) noexcept;
  onnx_model& operator=(onnx_model&&) noexcept;
  ~onnx_model();

  /// @brief The graph inputs, in the order `run` takes them.
  [[nodiscard]] const std::vector<onnx_port>& inputs() const noexcept;
  /// @brief The graph outputs (float32), in the order `run` writes them.
  [[nodiscard]] const std::vector<onnx_port>& outputs() const noexcept;
  /// @brief Nodes evaluated per call (after constant folding and views).
  [[nodiscard]] std::size_t num_nodes() const noexcept;
  /// @brief Bytes held by the model's constants (weights, folded tensors).
  [[nodiscard]] std::size_t constant_bytes() const noexcept;
  /// @brief Bytes of workspace one call of `rows` rows uses (each concurrent call has its own).
  [[nodiscard]] std::size_t workspace_bytes(std::size_t rows) const noexcept;

  /// @brief Evaluates the graph on `rows` rows: `in[k]` holds input k (its dtype, `rows ×
  /// row_size` values), `out[k]` receives output k (`rows × row_size` floats; an empty span skips
  /// that output).
  /// @throws dimension_mismatch when an input or output holds a wrong number of values or the
  /// counts of `in` / `out` differ from the graph's; invalid_argument when an input has the wrong
  /// dtype or an index input (Gather) is out of its table's range, naming the node.
  void run(std::size_t rows, std::span<const onnx_input> in,
           std::span<const std::span<float>> out) const;

 private:
  std::shared_ptr<const detail::onnx_plan> plan_;
  std::unique_ptr<detail::onnx_workspace_pool> pool_;
};

/// @brief Loads and plans an ONNX model (opset 13 to 18 of the default domain; float32 and int64
/// tensors; every input's first dimension symbolic, the batch).
/// @throws io_error when the file cannot be read; parse_error (naming the file) when it is not a
/// valid ONNX model or breaks a bound of `options`; unsupported naming the node and operator (or
/// the input, the opset, the dtype).
[[nodiscard]] onnx_model load_onnx(const std::filesystem::path& path,
                                   const onnx_load_options& options = {});

}  // namespace funnel::scoring
