// Shape inference of onnx_model's operators at plan time. A batch value's first dimension is the
// call's row count; an operator that would move, reduce, split or mix it (axis 0 of a batch
// value) is refused as a dynamic shape, so every call's shapes follow from its row count alone.

#include <algorithm>

#include "onnx/plan.hpp"

namespace funnel::scoring::detail {

std::string onnx_node_ref(const onnx_plan& plan, const onnx_node& node) {
  return fmt::format("{}: node '{}' ({})", plan.file, node.name, node.op_type);
}

namespace {

template <class... Args>
[[noreturn]] void refuse(const onnx_plan& plan, const onnx_node& node,
                         fmt::format_string<Args...> format, Args&&... args) {
  raise<unsupported>(onnx_where, "{}: {}", onnx_node_ref(plan, node),
                     fmt::format(format, std::forward<Args>(args)...));
}

const onnx_value& in(const std::vector<onnx_value>& values, const onnx_node& node, std::size_t k) {
  return values[static_cast<std::size_t>(node.in[k])];
}

void require_float(const onnx_plan& plan, const onnx_node& node,
                   const std::vector<onnx_value>& values) {
  for (const int id : node.in) {
    if (id >= 0 && values[static_cast<std::size_t>(id)].dtype != onnx_dtype::float32) {
      refuse(plan, node, "input '{}' is {}, the operator takes float32 only",
             values[static_cast<std::size_t>(id)].name,
             to_string(values[static_cast<std::size_t>(id)].dtype));
    }
  }
}

// An axis in [-rank, rank) made non-negative; a batch value's axis 0 is refused.
std::int64_t norm_axis(const onnx_plan& plan, const onnx_node& node, std::int64_t axis, int rank,
                       bool batched) {
  if (axis < -rank || axis >= rank)
    refuse(plan, node, "axis {} out of range for rank {}", axis, rank);
  if (axis < 0) axis += rank;
  if (batched && axis == 0) {
    refuse(plan, node, "axis 0 of a batch tensor (a dynamic shape): the batch must stay axis 0");
  }
  return axis;
}

// numpy broadcasting of two or more shapes, with the batch rule: a batch input has the output's
// rank (its batch is the output's axis 0), a constant of that rank has 1 there.
onnx_value broadcast(const onnx_plan& plan, const onnx_node& node,
                     const std::vector<onnx_value>& values) {
  onnx_value out;
  for (const int id : node.in) {
    const auto& v = values[static_cast<std::size_t>(id)];
    out.shape.rank = std::max(out.shape.rank, v.shape.rank);
    out.batched = out.batched || v.batched;
  }
  for (int k = 0; k < out.shape.rank; ++k) out.shape[k] = 1;
  for (const int id : node.in) {
    const auto& v = values[static_cast<std::size_t>(id)];
    if (out.batched && v.batched && v.shape.rank != out.shape.rank) {
      refuse(plan, node, "batch input '{}' of rank {} broadcast to rank {} (a dynamic shape)",
             v.name, v.shape.rank, out.shape.rank);
    }
    if (out.batched && !v.batched && v.shape.rank == out.shape.rank && v.shape[0] != 1) {
      refuse(plan, node, "constant '{}' of first dimension {} against the batch", v.name,
             v.shape[0]);
    }
    for (int k = 0; k < v.shape.rank; ++k) {
      const int o = k + out.shape.rank - v.shape.rank;
      auto& d = out.shape[o];
      if (v.shape[k] != 1 && d != 1 && d != v.shape[k]) {
        refuse(plan, node, "shapes do not broadcast (dimension {}: {} and {})", o, d, v.shape[k]);
      }
      if (v.shape[k] != 1) d = v.shape[k];
    }
  }
  return out;
}

onnx_value infer_gemm(const onnx_plan& plan, const onnx_node& node,
                      const std::vector<onnx_value>& values) {
  const auto& a = in(values, node, 0);
  const auto& b = in(values, node, 1);
  if (a.shape.rank != 2 || b.shape.rank != 2) refuse(plan, node, "A and B must be matrices");
  if (b.batched || (a.batched && node.trans_a)) {
    refuse(plan, node, "the batch must be the rows of A (a dynamic shape otherwise)");
  }
  const auto ka = node.trans_a ? a.shape[0] : a.shape[1];
  const auto kb = node.trans_b ? b.shape[1] : b.shape[0];
  if (ka != kb) refuse(plan, node, "inner dimensions differ ({} and {})", ka, kb);
  onnx_value out;
  out.batched = a.batched;
  out.shape.rank = 2;
  out.shape[0] = node.trans_a ? a.shape[1] : a.shape[0];
  out.shape[1] = node.trans_b ? b.shape[0] : b.shape[1];
  if (node.in.size() > 2 && node.in[2] >= 0) {
    const auto& c = in(values, node, 2);
    if (c.shape.rank > 2 || (c.batched && !a.batched)) refuse(plan, node, "C must be a matrix");
    for (int k = 0; k < c.shape.rank; ++k) {
      const auto want = out.shape[k + 2 - c.shape.rank];
      const bool batch_axis = c.batched && k == 0;
      if (!batch_axis && c.shape[k] != 1 && c.shape[k] != want) {
        refuse(plan, node, "C does not broadcast to [M, N]");
      }
    }
    if (a.batched && !c.batched && c.shape.rank == 2 && c.shape[0] != 1) {
      refuse(plan, node, "C has a fixed row count against the batch");
    }
  }
  return out;
}

onnx_value infer_matmul(const onnx_plan& plan, const onnx_node& node,
                        const std::vector<onnx_value>& values) {
  const auto& a = in(values, node, 0);
  const auto& b = in(values, node, 1);
  if (a.shape.rank < 2 || b.shape.rank < 2) refuse(plan, node, "vector operands are not supported");
  const auto k = a.shape[a.shape.rank - 1];
  if (b.shape[b.shape.rank - 2] != k) {
    refuse(plan, node, "inner dimensions differ ({} and {})", k, b.shape[b.shape.rank - 2]);
  }
  onnx_value out;
  out.batched = a.batched;
  out.shape = a.shape;
  out.shape[a.shape.rank - 1] = b.shape[b.shape.rank - 1];
  if (b.shape.rank == 2 && !b.batched) return out;
  bool same = b.shape.rank == a.shape.rank && b.batched == a.batched && a.batched;
  for (int d = 1; same && d < a.shape.rank - 2; ++d) same = a.shape[d] == b.shape[d];
  if (!same) refuse(plan, node, "only B of rank 2, or batch operands of equal leading dimensions");
  return out;
}

onnx_value infer_concat(const onnx_plan& plan, onnx_node& node,
                        const std::vector<onnx_value>& values) {
  onnx_value out = in(values, node, 0);
  out.name.clear();
  out.constant = -1;
  for (const int id : node.in) {
    const auto& v = values[static_cast<std::size_t>(id)];
    if (v.batched != out.batched || v.dtype != out.dtype || v.shape.rank != out.shape.rank) {
      refuse(plan, node, "inputs differ in batch, dtype or rank ('{}')", v.name);
    }
  }
  const auto axis = node.axis = norm_axis(plan, node, node.axis, out.shape.rank, out.batched);
  out.shape[static_cast<int>(axis)] = 0;
  for (const int id : node.in) {
    const auto& v = values[static_cast<std::size_t>(id)];
    for (int k = 0; k < v.shape.rank; ++k) {
      if (k != axis && v.shape[k] != out.shape[k]) {
        refuse(plan, node, "input '{}' differs in dimension {}", v.name, k);
      }
    }
    out.shape[static_cast<int>(axis)] += v.shape[static_cast<int>(axis)];
  }
  return out;
}

onnx_value infer_gather(const onnx_plan& plan, onnx_node& node,
                        const std::vector<onnx_value>& values) {
  const auto& data = in(values, node, 0);
  const auto& idx = in(values, node, 1);
  if (idx.dtype != onnx_dtype::int64) refuse(plan, node, "indices must be int64");
  if (data.batched && idx.batched) refuse(plan, node, "batch data and batch indices");
  const auto axis = node.axis = norm_axis(plan, node, node.axis, data.shape.rank, data.batched);
  if (idx.batched && axis != 0) refuse(plan, node, "batch indices gather along axis 0 only");
  onnx_value out;
  out.dtype = data.dtype;
  out.batched = data.batched || idx.batched;
  out.shape.rank = data.shape.rank - 1 + idx.shape.rank;
  if (out.shape.rank > onnx_max_rank) refuse(plan, node, "output rank over {}", onnx_max_rank);
  int o = 0;
  for (int k = 0; k < axis; ++k) out.shape[o++] = data.shape[k];
  for (int k = 0; k < idx.shape.rank; ++k) out.shape[o++] = idx.shape[k];
  for (int k = static_cast<int>(axis) + 1; k < data.shape.rank; ++k) out.shape[o++] = data.shape[k];
  return out;
}

onnx_value infer_reduce(const onnx_plan& plan, onnx_node& node,
                        const std::vector<onnx_value>& values) {
  const auto& x = in(values, node, 0);
  if (node.ints.empty()) {  // no axes: every axis (noop_with_empty_axes is refused at parse)
    for (int k = 0; k < x.shape.rank; ++k) node.ints.push_back(k);
  }
  for (auto& a : node.ints) a = norm_axis(plan, node, a, x.shape.rank, x.batched);
  onnx_value out;
  out.batched = x.batched;
  for (int k = 0; k < x.shape.rank; ++k) {
    const bool r = std::find(node.ints.begin(), node.ints.end(), k) != node.ints.end();
    if (!r) {
      out.shape[out.shape.rank++] = x.shape[k];
    } else if (node.keepdims) {
      out.shape[out.shape.rank++] = 1;
    }
  }
  return out;
}

onnx_value infer_transpose(const onnx_plan& plan, onnx_node& node,
                           const std::vector<onnx_value>& values) {
  const auto& x = in(values, node, 0);
  if (node.ints.empty()) {
    for (int k = x.shape.rank - 1; k >= 0; --k) node.ints.push_back(k);
  }
  if (static_cast<int>(node.ints.size()) != x.shape.rank) refuse(plan, node, "perm of wrong size");
  std::array<bool, onnx_max_rank> seen{};
  onnx_value out = x;
  out.name.clear();
  out.constant = -1;
  for (int k = 0; k < x.shape.rank; ++k) {
    const auto p = node.ints[static_cast<std::size_t>(k)];
    if (p < 0 || p >= x.shape.rank || seen[static_cast<std::size_t>(p)]) {
      refuse(plan, node, "perm is not a permutation");
    }
    seen[static_cast<std::size_t>(p)] = true;
    out.shape[k] = x.shape[static_cast<int>(p)];
  }
  if (x.batched && node.ints[0] != 0) refuse(plan, node, "perm moves the batch axis");
  return out;
}

onnx_value infer_norm(const onnx_plan& plan, onnx_node& node,
                      const std::vector<onnx_value>& values) {
  const auto& x = in(values, node, 0);
  onnx_value out = x;
  out.name.clear();
  out.constant = -1;
  if (node.op == onnx_op::batch_norm) {
    if (x.shape.rank < 2) refuse(plan, node, "input of rank {} (needs N, C, ...)", x.shape.rank);
    for (std::size_t k = 1; k < 5; ++k) {
      const auto& p = in(values, node, k);
      if (p.batched || p.shape.rank != 1 || p.shape[0] != x.shape[1]) {
        refuse(plan, node, "parameter '{}' must be a constant of {} channels", p.name, x.shape[1]);
      }
    }
    return out;
  }
  node.axis = norm_axis(plan, node, node.axis, x.shape.rank, x.batched);
  for (std::size_t k = 1; k < node.in.size(); ++k) {
    if (node.in[k] < 0) continue;
    const auto& p = in(values, node, k);
    bool ok = !p.batched && p.shape.rank <= x.shape.rank - node.axis;
    for (int d = 0; ok && d < p.shape.rank; ++d) {
      ok = p.shape[d] == x.shape[d + x.shape.rank - p.shape.rank] || p.shape[d] == 1;
    }
    const auto block = x.shape.count() / [&] {
      std::int64_t n = 1;
      for (int d = 0; d < node.axis; ++d) n *= x.shape[d];
      return n;
    }();
    if (!ok || p.shape.count() == 0 || block % p.shape.count() != 0) {
      refuse(plan, node, "parameter '{}' does not match the normalised dimensions", p.name);
    }
  }
  return out;
}

onnx_value infer_one(const onnx_plan& plan, onnx_node& node,
                     const std::vector<onnx_value>& values) {
  switch (node.op) {
    case onnx_op::gemm:
      return infer_gemm(plan, node, values);
    case onnx_op::matmul:
      return infer_matmul(plan, node, values);
    case onnx_op::add:
    case onnx_op::sub:
    case onnx_op::mul:
    case onnx_op::div:
      return broadcast(plan, node, values);
    case onnx_op::softmax: {
      onnx_value out = in(values, node, 0);
      node.axis = norm_axis(plan, node, node.axis, out.shape.rank, out.batched);
      return out;
    }
    case onnx_op::concat:
      return infer_concat(plan, node, values);
    case onnx_op::gather:
      return infer_gather(plan, node, values);
    case onnx_op::transpose:
      return infer_transpose(plan, node, values);
    case onnx_op::reduce_sum:
    case onnx_op::reduce_mean:
      return infer_reduce(plan, node, values);
    case onnx_op::cast: {
      onnx_value out = in(values, node, 0);
      out.dtype = node.to;
      return out;
    }
    case onnx_op::batch_norm:
    case onnx_op::layer_norm:
      return infer_norm(plan, node, values);
    default:
      return in(values, node, 0);  // elementwise and copies
  }
}

}  // namespace

void onnx_infer_node(const onnx_plan& plan, onnx_node& node, std::vector<onnx_value>& values) {
  const bool any_type = node.op == onnx_op::concat || node.op == onnx_op::gather ||
                        node.op == onnx_op::transpose || node.op == onnx_op::cast ||
                        node.op == onnx_op::copy;
  if (!any_type) require_float(plan, node, values);
  onnx_value out = infer_one(plan, node, values);
  auto& target = values[static_cast<std::size_t>(node.out[0])];
  target.dtype = out.dtype;
  target.shape = out.shape;
  target.batched = out.batched;
  target.constant = -1;
}

}  // namespace funnel::scoring::detail
