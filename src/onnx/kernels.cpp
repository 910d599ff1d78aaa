// The operators of onnx_model on concrete shapes: each reads its inputs' views and writes its
// outputs' (sized by the plan). The same code folds constants at plan time and runs batches.
// Floating point follows PyTorch's CPU kernels where the order matters (BatchNormalization as
// x * alpha + beta, LayerNormalization's moments), so exported models match within 1e-5.

#include <Eigen/Core>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "onnx/plan.hpp"

namespace funnel::scoring::detail {
namespace {

using rmat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using cmat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::ColMajor>;

std::size_t elem_size(onnx_dtype t) noexcept {
  return t == onnx_dtype::int64 ? sizeof(std::int64_t) : sizeof(float);
}

std::size_t span_count(const onnx_dims& s, int from, int to) noexcept {
  std::size_t n = 1;
  for (int k = from; k < to; ++k) n *= static_cast<std::size_t>(s[k]);
  return n;
}

// Strides of `in` seen from an output of shape `out` under numpy broadcasting (0 where `in`
// broadcasts), right-aligned.
std::array<std::size_t, onnx_max_rank> broadcast_strides(const onnx_dims& in,
                                                         const onnx_dims& out) {
  std::array<std::size_t, onnx_max_rank> st{};
  std::size_t s = 1;
  for (int k = in.rank - 1; k >= 0; --k) {
    const int o = k + out.rank - in.rank;
    st[static_cast<std::size_t>(o)] = in[k] == 1 && out[o] != 1 ? 0 : s;
    s *= static_cast<std::size_t>(in[k]);
  }
  return st;
}

// y = f(a, b) with numpy broadcasting: flat loops for the common layouts, an odometer otherwise.
template <class F>
void broadcast_binary(const onnx_tensor& a, const onnx_tensor& b, const onnx_tensor& y, F f) {
  const float* pa = a.f();
  const float* pb = b.f();
  float* py = y.f();
  const auto n = static_cast<std::size_t>(y.shape.count());
  const auto na = static_cast<std::size_t>(a.shape.count());
  const auto nb = static_cast<std::size_t>(b.shape.count());
  if (na == n && nb == n) {
    for (std::size_t k = 0; k < n; ++k) py[k] = f(pa[k], pb[k]);
    return;
  }
  if (na == n && nb == 1) {
    for (std::size_t k = 0; k < n; ++k) py[k] = f(pa[k], pb[0]);
    return;
  }
  if (nb == n && na == 1) {
    for (std::size_t k = 0; k < n; ++k) py[k] = f(pa[0], pb[k]);
    return;
  }
  const auto sa = broadcast_strides(a.shape, y.shape);
  const auto sb = broadcast_strides(b.shape, y.shape);
  const int r = y.shape.rank;
  const auto inner = static_cast<std::size_t>(y.shape[r - 1]);
  const std::size_t ia = sa[static_cast<std::size_t>(r - 1)];
  const std::size_t ib = sb[static_cast<std::size_t>(r - 1)];
  std::array<std::int64_t, onnx_max_rank> idx{};
  std::size_t oa = 0;
  std::size_t ob = 0;
  for (std::size_t done = 0; done < n; done += inner) {
    for (std::size_t k = 0; k < inner; ++k) py[done + k] = f(pa[oa + k * ia], pb[ob + k * ib]);
    for (int d = r - 2; d >= 0; --d) {  // odometer over the outer dimensions
      const auto u = static_cast<std::size_t>(d);
      oa += sa[u];
      ob += sb[u];
      if (++idx[u] < y.shape[d]) break;
      oa -= sa[u] * static_cast<std::size_t>(idx[u]);
      ob -= sb[u] * static_cast<std::size_t>(idx[u]);
      idx[u] = 0;
    }
  }
}

// Copies `c` broadcast to y's [M, N] shape (Gemm's C).
void broadcast_fill(const onnx_tensor& c, const onnx_tensor& y) {
  onnx_tensor zero{nullptr, {}};
  float z = 0.0f;
  zero.data = &z;
  broadcast_binary(c, zero, y, [](float u, float) { return u; });
}

void run_gemm(const onnx_node& node, std::span<onnx_tensor> v) {
  const onnx_tensor& a = v[static_cast<std::size_t>(node.in[0])];
  const onnx_tensor& b = v[static_cast<std::size_t>(node.in[1])];
  const onnx_tensor& y = v[static_cast<std::size_t>(node.out[0])];
  const auto m = y.shape[0];
  const auto n = y.shape[1];
  const auto k = node.trans_a ? a.shape[0] : a.shape[1];
  Eigen::Map<rmat> out(y.f(), m, n);
  const bool has_c = node.in.size() > 2 && node.in[2] >= 0 && node.beta != 0.0f;
  if (has_c) {
    broadcast_fill(v[static_cast<std::size_t>(node.in[2])], y);
    if (node.beta != 1.0f) out *= node.beta;
  } else {
    out.setZero();
  }
  auto product = [&](const auto& ma, const auto& mb) {
    if (node.alpha == 1.0f) {
      out.noalias() += ma * mb;
    } else {
      out.noalias() += node.alpha * (ma * mb);
    }
  };
  // A stored [K, M] row-major is [M, K] column-major: transposition is a change of map.
  if (node.trans_a && node.trans_b) {
    product(Eigen::Map<const cmat>(a.f(), m, k), Eigen::Map<const cmat>(b.f(), k, n));
  } else if (node.trans_a) {
    product(Eigen::Map<const cmat>(a.f(), m, k), Eigen::Map<const rmat>(b.f(), k, n));
  } else if (node.trans_b) {
    product(Eigen::Map<const rmat>(a.f(), m, k), Eigen::Map<const cmat>(b.f(), k, n));
  } else {
    product(Eigen::Map<const rmat>(a.f(), m, k), Eigen::Map<const rmat>(b.f(), k, n));
  }
}

void run_matmul(const onnx_node& node, std::span<onnx_tensor> v) {
  const onnx_tensor& a = v[static_cast<std::size_t>(node.in[0])];
  const onnx_tensor& b = v[static_cast<std::size_t>(node.in[1])];
  const onnx_tensor& y = v[static_cast<std::size_t>(node.out[0])];
  const auto k = a.shape[a.shape.rank - 1];
  const auto n = b.shape[b.shape.rank - 1];
  if (b.shape.rank == 2) {  // every leading dimension of A is a row of one product
    const auto m = static_cast<Eigen::Index>(a.shape.count() / k);
    Eigen::Map<rmat>(y.f(), m, n).noalias() =
        Eigen::Map<const rmat>(a.f(), m, k) * Eigen::Map<const rmat>(b.f(), k, n);
    return;
  }
  const auto m = a.shape[a.shape.rank - 2];
  const std::size_t batches = span_count(a.shape, 0, a.shape.rank - 2);
  for (std::size_t i = 0; i < batches; ++i) {  // equal leading dimensions (checked at plan)
    const auto off_a = static_cast<std::ptrdiff_t>(i) * m * k;
    const auto off_b = static_cast<std::ptrdiff_t>(i) * k * n;
    const auto off_y = static_cast<std::ptrdiff_t>(i) * m * n;
    Eigen::Map<rmat>(y.f() + off_y, m, n).noalias() =
        Eigen::Map<const rmat>(a.f() + off_a, m, k) * Eigen::Map<const rmat>(b.f() + off_b, k, n);
  }
}

// y = f(x) elementwise, f an Eigen array expression (vectorised: Eigen's tanh and logistic are
// its SIMD rational approximations, within a few ulp, like PyTorch's own vectorised ones).
template <class F>
void unary(const onnx_node& node, std::span<onnx_tensor> v, F f) {
  const onnx_tensor& x = v[static_cast<std::size_t>(node.in[0])];
  const onnx_tensor& y = v[static_cast<std::size_t>(node.out[0])];
  const auto n = static_cast<Eigen::Index>(x.shape.count());
  Eigen::Map<Eigen::ArrayXf>(y.f(), n) = f(Eigen::Map<const Eigen::ArrayXf>(x.f(), n));
}

void run_softmax(const onnx_node& node, std::span<onnx_tensor> v) {
  const onnx_tensor& x = v[static_cast<std::size_t>(node.in[0])];
  const onnx_tensor& y = v[static_cast<std::size_t>(node.out[0])];
  const int axis = static_cast<int>(node.axis);
  const std::size_t outer = span_count(x.shape, 0, axis);
  const auto n = static_cast<std::size_t>(x.shape[axis]);
  const std::size_t inner = span_count(x.shape, axis + 1, x.shape.rank);
  for (std::size_t o = 0; o < outer; ++o) {
    for (std::size_t i = 0; i < inner; ++i) {
      const float* px = x.f() + o * n * inner + i;
      float* py = y.f() + o * n * inner + i;
      float top = -std::numeric_limits<float>::infinity();
      for (std::size_t k = 0; k < n; ++k) top = std::max(top, px[k * inner]);
      float sum = 0.0f;
      for (std::size_t k = 0; k < n; ++k) {
        py[k * inner] = std::exp(px[k * inner] - top);
        sum += py[k * inner];
      }
      for (std::size_t k = 0; k < n; ++k) py[k * inner] /= sum;
    }
  }
}

void run_concat(const onnx_plan& plan, const onnx_node& node, std::span<onnx_tensor> v) {
  const onnx_tensor& y = v[static_cast<std::size_t>(node.out[0])];
  const std::size_t es = elem_size(plan.values[static_cast<std::size_t>(node.out[0])].dtype);
  const int axis = static_cast<int>(node.axis);
  const std::size_t outer = span_count(y.shape, 0, axis);
  const std::size_t out_block = span_count(y.shape, axis, y.shape.rank) * es;
  auto* dst = static_cast<unsigned char*>(y.data);
  std::size_t at = 0;
  for (const int id : node.in) {
    const onnx_tensor& x = v[static_cast<std::size_t>(id)];
    const std::size_t block = span_count(x.shape, axis, x.shape.rank) * es;
    const auto* src = static_cast<const unsigned char*>(x.data);
    for (std::size_t o = 0; o < outer; ++o) {
      std::memcpy(dst + o * out_block + at, src + o * block, block);
    }
    at += block;
  }
}

void run_gather(const onnx_plan& plan, const onnx_node& node, std::span<onnx_tensor> v) {
  const onnx_tensor& data = v[static_cast<std::size_t>(node.in[0])];
  const onnx_tensor& idx = v[static_cast<std::size_t>(node.in[1])];
  const onnx_tensor& y = v[static_cast<std::size_t>(node.out[0])];
  const std::size_t es = elem_size(plan.values[static_cast<std::size_t>(node.in[0])].dtype);
  const int axis = static_cast<int>(node.axis);
  const std::size_t outer = span_count(data.shape, 0, axis);
  const std::int64_t n = data.shape[axis];
  const std::size_t block = span_count(data.shape, axis + 1, data.shape.rank) * es;
  const auto count = static_cast<std::size_t>(idx.shape.count());
  const auto* src = static_cast<const unsigned char*>(data.data);
  auto* dst = static_cast<unsigned char*>(y.data);
  for (std::size_t j = 0; j < count; ++j) {  // validate every index before writing anything
    const std::int64_t k = idx.i()[j];
    if (k < -n || k >= n) {
      raise<invalid_argument>(onnx_where, "{}: index {} at position {} is out of range [-{}, {})",
                              onnx_node_ref(plan, node), k, j, n, n);
    }
  }
  for (std::size_t o = 0; o < outer; ++o) {
    for (std::size_t j = 0; j < count; ++j) {
      const std::int64_t k = idx.i()[j] < 0 ? idx.i()[j] + n : idx.i()[j];
      std::memcpy(dst + (o * count + j) * block,
                  src + (o * static_cast<std::size_t>(n) + static_cast<std::size_t>(k)) * block,
                  block);
    }
  }
}

void run_transpose(const onnx_plan& plan, const onnx_node& node, std::span<onnx_tensor> v) {
  const onnx_tensor& x = v[static_cast<std::size_t>(node.in[0])];
  const onnx_tensor& y = v[static_cast<std::size_t>(node.out[0])];
  const std::size_t es = elem_size(plan.values[static_cast<std::size_t>(node.in[0])].dtype);
  const int r = x.shape.rank;
  std::array<std::size_t, onnx_max_rank> in_stride{};
  std::size_t s = 1;
  for (int k = r - 1; k >= 0; --k) {
    in_stride[static_cast<std::size_t>(k)] = s;
    s *= static_cast<std::size_t>(x.shape[k]);
  }
  std::array<std::size_t, onnx_max_rank> st{};  // input stride of each output dimension
  for (int k = 0; k < r; ++k) {
    st[static_cast<std::size_t>(k)] =
        in_stride[static_cast<std::size_t>(node.ints[static_cast<std::size_t>(k)])];
  }
  const auto n = static_cast<std::size_t>(y.shape.count());
  const auto* src = static_cast<const unsigned char*>(x.data);
  auto* dst = static_cast<unsigned char*>(y.data);
  std::array<std::int64_t, onnx_max_rank> idx{};
  std::size_t off = 0;
  for (std::size_t j = 0; j < n; ++j) {
    std::memcpy(dst + j * es, src + off * es, es);
    for (int d = r - 1; d >= 0; --d) {
      const auto u = static_cast<std::size_t>(d);
      off += st[u];
      if (++idx[u] < y.shape[d]) break;
      off -= st[u] * static_cast<std::size_t>(idx[u]);
      idx[u] = 0;
    }
  }
}

// ReduceSum / ReduceMean: each input element added into its output cell (strides 0 on the
// reduced axes), then scaled for the mean.
void run_reduce(const onnx_node& node, std::span<onnx_tensor> v, bool mean) {
  const onnx_tensor& x = v[static_cast<std::size_t>(node.in[0])];
  const onnx_tensor& y = v[static_cast<std::size_t>(node.out[0])];
  const int r = x.shape.rank;
  std::array<bool, onnx_max_rank> reduced{};
  for (const auto a : node.ints) reduced[static_cast<std::size_t>(a)] = true;
  std::array<std::size_t, onnx_max_rank> st{};
  std::size_t s = 1;
  std::size_t group = 1;
  for (int k = r - 1; k >= 0; --k) {
    const auto u = static_cast<std::size_t>(k);
    st[u] = reduced[u] ? 0 : s;
    if (reduced[u]) group *= static_cast<std::size_t>(x.shape[k]);
    if (!reduced[u]) s *= static_cast<std::size_t>(x.shape[k]);
  }
  const auto ny = static_cast<std::size_t>(y.shape.count());
  std::fill_n(y.f(), ny, 0.0f);
  const auto n = static_cast<std::size_t>(x.shape.count());
  std::array<std::int64_t, onnx_max_rank> idx{};
  std::size_t off = 0;
  for (std::size_t j = 0; j < n; ++j) {
    y.f()[off] += x.f()[j];
    for (int d = r - 1; d >= 0; --d) {
      const auto u = static_cast<std::size_t>(d);
      off += st[u];
      if (++idx[u] < x.shape[d]) break;
      off -= st[u] * static_cast<std::size_t>(idx[u]);
      idx[u] = 0;
    }
  }
  if (mean) {
    const float g = static_cast<float>(group);
    for (std::size_t j = 0; j < ny; ++j) y.f()[j] /= g;
  }
}

void run_cast(const onnx_plan& plan, const onnx_node& node, std::span<onnx_tensor> v) {
  const onnx_tensor& x = v[static_cast<std::size_t>(node.in[0])];
  const onnx_tensor& y = v[static_cast<std::size_t>(node.out[0])];
  const auto from = plan.values[static_cast<std::size_t>(node.in[0])].dtype;
  const auto n = static_cast<std::size_t>(x.shape.count());
  if (from == node.to) {
    std::memcpy(y.data, x.data, n * elem_size(from));
  } else if (node.to == onnx_dtype::float32) {
    for (std::size_t k = 0; k < n; ++k) y.f()[k] = static_cast<float>(x.i()[k]);
  } else {
    // ONNX leaves out-of-range conversions undefined; funnel's is defined: NaN and values
    // beyond int64 become 0 rather than undefined behaviour.
    constexpr float lim = 9.2233715e18f;
    for (std::size_t k = 0; k < n; ++k) {
      const float u = x.f()[k];
      y.i()[k] = std::isfinite(u) && std::abs(u) < lim ? static_cast<std::int64_t>(u) : 0;
    }
  }
}

void run_batch_norm(const onnx_node& node, std::span<onnx_tensor> v) {
  const onnx_tensor& x = v[static_cast<std::size_t>(node.in[0])];
  const float* scale = v[static_cast<std::size_t>(node.in[1])].f();
  const float* bias = v[static_cast<std::size_t>(node.in[2])].f();
  const float* mean = v[static_cast<std::size_t>(node.in[3])].f();
  const float* var = v[static_cast<std::size_t>(node.in[4])].f();
  const onnx_tensor& y = v[static_cast<std::size_t>(node.out[0])];
  const auto outer = static_cast<std::size_t>(x.shape[0]);
  const auto c = static_cast<std::size_t>(x.shape[1]);
  const std::size_t inner = span_count(x.shape, 2, x.shape.rank);
  for (std::size_t ch = 0; ch < c; ++ch) {  // PyTorch's inference form: x * alpha + beta
    const float alpha = scale[ch] / std::sqrt(var[ch] + node.epsilon);
    const float beta = bias[ch] - mean[ch] * alpha;
    for (std::size_t o = 0; o < outer; ++o) {
      const std::size_t at = (o * c + ch) * inner;
      for (std::size_t i = 0; i < inner; ++i) y.f()[at + i] = x.f()[at + i] * alpha + beta;
    }
  }
}

void run_layer_norm(const onnx_node& node, std::span<onnx_tensor> v) {
  const onnx_tensor& x = v[static_cast<std::size_t>(node.in[0])];
  const onnx_tensor& sc = v[static_cast<std::size_t>(node.in[1])];
  const bool has_bias = node.in.size() > 2 && node.in[2] >= 0;
  const float* bias = has_bias ? v[static_cast<std::size_t>(node.in[2])].f() : nullptr;
  const onnx_tensor& y = v[static_cast<std::size_t>(node.out[0])];
  const int axis = static_cast<int>(node.axis);
  const std::size_t outer = span_count(x.shape, 0, axis);
  const std::size_t n = span_count(x.shape, axis, x.shape.rank);
  const auto ns = static_cast<std::size_t>(sc.shape.count());
  for (std::size_t o = 0; o < outer; ++o) {
    const float* px = x.f() + o * n;
    float* py = y.f() + o * n;
    double sum = 0.0;
    for (std::size_t k = 0; k < n; ++k) sum += px[k];
    const double mean = sum / static_cast<double>(n);
    double sq = 0.0;
    for (std::size_t k = 0; k < n; ++k) sq += (px[k] - mean) * (px[k] - mean);
    const auto rstd =
        static_cast<float>(1.0 / std::sqrt(sq / static_cast<double>(n) + node.epsilon));
    const auto m = static_cast<float>(mean);
    for (std::size_t k = 0; k < n; ++k) {
      const float b = bias != nullptr ? bias[k % ns] : 0.0f;
      py[k] = (px[k] - m) * rstd * sc.f()[k % ns] + b;
    }
  }
}

}  // namespace

void onnx_run_node(const onnx_plan& plan, const onnx_node& node, std::span<onnx_tensor> v) {
  auto bin = [&](auto f) {
    broadcast_binary(v[static_cast<std::size_t>(node.in[0])],
                     v[static_cast<std::size_t>(node.in[1])],
                     v[static_cast<std::size_t>(node.out[0])], f);
  };
  switch (node.op) {
    case onnx_op::gemm:
      return run_gemm(node, v);
    case onnx_op::matmul:
      return run_matmul(node, v);
    case onnx_op::add:
      return bin([](float a, float b) { return a + b; });
    case onnx_op::sub:
      return bin([](float a, float b) { return a - b; });
    case onnx_op::mul:
      return bin([](float a, float b) { return a * b; });
    case onnx_op::div:
      return bin([](float a, float b) { return a / b; });
    case onnx_op::relu:
      return unary(node, v, [](const auto& x) { return x.max(0.0f); });
    case onnx_op::leaky_relu: {
      const float a = node.alpha;
      return unary(node, v, [a](const auto& x) { return (x >= 0.0f).select(x, x * a); });
    }
    case onnx_op::sigmoid:
      return unary(node, v, [](const auto& x) { return x.logistic(); });
    case onnx_op::tanh:
      return unary(node, v, [](const auto& x) { return x.tanh(); });
    case onnx_op::softmax:
      return run_softmax(node, v);
    case onnx_op::concat:
      return run_concat(plan, node, v);
    case onnx_op::gather:
      return run_gather(plan, node, v);
    case onnx_op::transpose:
      return run_transpose(plan, node, v);
    case onnx_op::reduce_sum:
      return run_reduce(node, v, false);
    case onnx_op::reduce_mean:
      return run_reduce(node, v, true);
    case onnx_op::cast:
      return run_cast(plan, node, v);
    case onnx_op::batch_norm:
      return run_batch_norm(node, v);
    case onnx_op::layer_norm:
      return run_layer_norm(node, v);
    case onnx_op::copy: {
      const onnx_tensor& x = v[static_cast<std::size_t>(node.in[0])];
      const auto t = plan.values[static_cast<std::size_t>(node.in[0])].dtype;
      std::memcpy(v[static_cast<std::size_t>(node.out[0])].data, x.data,
                  static_cast<std::size_t>(x.shape.count()) * elem_size(t));
      return;
    }
  }
}

}  // namespace funnel::scoring::detail
