#include "retrieval/projection.hpp"

#include <funnel/core/error.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <utility>

namespace funnel::retrieval::detail {

namespace {

constexpr std::string_view where = "retrieval.hnsw_index";

// Subspace iterations of the fit: the bound holds for any orthonormal basis, so the iteration only
// has to come close to the top components, not converge (Fashion-MNIST, m = 64: 12 iterations
// prune as well as the numpy PCA of docs/retrieval.md).
constexpr int fit_iterations = 12;

// Deterministic values in [-1, 1) (splitmix64): the start of the subspace iteration, and the
// directions that complete a rank-deficient sample.
struct direction_source {
  std::uint64_t state = 0x9e3779b97f4a7c15ULL;
  double next() noexcept {
    std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30U)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27U)) * 0x94d049bb133111ebULL;
    z ^= z >> 31U;
    return static_cast<double>(z >> 11U) * 0x1.0p-52 - 1.0;
  }
};

double dot(const double* a, const double* b, std::size_t n) noexcept {
  double s = 0.0;
  for (std::size_t i = 0; i < n; ++i) s += a[i] * b[i];
  return s;
}

// Orthonormalizes the m rows of q (each d values) in place, in order (Gram-Schmidt, twice for
// double-precision orthogonality). A row that vanishes (its direction lies in the span of the
// rows before it: a rank-deficient sample) is replaced by a fresh direction.
void orthonormalize(std::vector<double>& q, std::size_t m, std::size_t d, direction_source& fresh) {
  for (std::size_t i = 0; i < m; ++i) {
    double* row = q.data() + i * d;
    for (int attempt = 0;; ++attempt) {
      const double before = std::sqrt(dot(row, row, d));
      for (int pass = 0; pass < 2; ++pass) {
        for (std::size_t j = 0; j < i; ++j) {
          const double* other = q.data() + j * d;
          const double c = dot(row, other, d);
          for (std::size_t t = 0; t < d; ++t) row[t] -= c * other[t];
        }
      }
      const double norm = std::sqrt(dot(row, row, d));
      if (norm > 1e-9 * before && norm > 1e-300) {
        for (std::size_t t = 0; t < d; ++t) row[t] /= norm;
        break;
      }
      // m <= d: an orthonormal completion exists, and random directions find it.
      if (attempt > 100)
        raise<convergence_error>(where, "projection fit: cannot complete the basis");
      for (std::size_t t = 0; t < d; ++t) row[t] = fresh.next();
    }
  }
}

}  // namespace

projection::projection(std::vector<float> centre, std::vector<float> basis, bool check_orthonormal)
    : centre_(std::move(centre)), basis_(std::move(basis)) {
  const std::size_t d = centre_.size();
  if (d == 0 || basis_.empty() || basis_.size() % d != 0 || basis_.size() / d > d) {
    raise<invalid_argument>(where, "projection: {} basis values for dimension {}", basis_.size(),
                            d);
  }
  for (const float v : centre_) {
    if (!std::isfinite(v)) raise<invalid_argument>(where, "projection: non-finite centre");
  }
  for (const float v : basis_) {
    if (!std::isfinite(v)) raise<invalid_argument>(where, "projection: non-finite basis value");
  }
  if (!check_orthonormal) return;
  const std::size_t m = dims();
  for (std::size_t i = 0; i < m; ++i) {
    for (std::size_t j = i; j < m; ++j) {
      double s = 0.0;
      for (std::size_t t = 0; t < d; ++t) {
        s += static_cast<double>(basis_[i * d + t]) * static_cast<double>(basis_[j * d + t]);
      }
      if (std::abs(s - (i == j ? 1.0 : 0.0)) > 1e-3) {
        raise<invalid_argument>(where, "projection: basis rows {} and {} not orthonormal ({})", i,
                                j, s);
      }
    }
  }
}

projection projection::fit(std::size_t dim, std::size_t m, std::span<const float* const> rows,
                           bool centred) {
  if (m == 0 || m > dim) {
    raise<invalid_argument>(where, "projection: {} dimensions out of range [1, {}]", m, dim);
  }
  if (rows.empty()) raise<invalid_argument>(where, "projection: no vectors to fit");
  const std::size_t d = dim;
  std::vector<double> mean(d, 0.0);
  if (centred) {
    for (const float* x : rows) {
      for (std::size_t t = 0; t < d; ++t) mean[t] += x[t];
    }
    for (auto& v : mean) v /= static_cast<double>(rows.size());
  }
  // Second moments about the mean, upper triangle, then mirrored. Zero entries (common in sparse
  // data such as images' background) skip their row.
  std::vector<double> cov(d * d, 0.0);
  std::vector<double> v(d);
  for (const float* x : rows) {
    for (std::size_t t = 0; t < d; ++t) v[t] = static_cast<double>(x[t]) - mean[t];
    for (std::size_t a = 0; a < d; ++a) {
      const double va = v[a];
      if (va == 0.0) continue;
      double* c = cov.data() + a * d;
      for (std::size_t b = a; b < d; ++b) c[b] += va * v[b];
    }
  }
  for (std::size_t a = 0; a < d; ++a) {
    for (std::size_t b = 0; b < a; ++b) cov[a * d + b] = cov[b * d + a];
  }
  direction_source fresh;
  std::vector<double> q(m * d);
  for (auto& x : q) x = fresh.next();
  orthonormalize(q, m, d, fresh);
  std::vector<double> next(m * d);
  for (int it = 0; it < fit_iterations; ++it) {
    for (std::size_t i = 0; i < m; ++i) {
      const double* row = q.data() + i * d;
      double* out = next.data() + i * d;
      for (std::size_t a = 0; a < d; ++a) out[a] = dot(cov.data() + a * d, row, d);
    }
    std::swap(q, next);
    orthonormalize(q, m, d, fresh);
  }
  std::vector<float> centre(d);
  for (std::size_t t = 0; t < d; ++t) centre[t] = static_cast<float>(mean[t]);
  std::vector<float> basis(m * d);
  for (std::size_t i = 0; i < m * d; ++i) basis[i] = static_cast<float>(q[i]);
  return {std::move(centre), std::move(basis), false};
}

void projection::project(const float* x, float* record, const float_kernel& kernel) const {
  const std::size_t d = dim();
  const std::size_t m = dims();
  thread_local std::vector<float> v;
  v.resize(d);
  for (std::size_t t = 0; t < d; ++t) v[t] = x[t] - centre_[t];
  for (std::size_t i = 0; i < m; ++i) record[i] = kernel.dot(basis_.data() + i * d, v.data(), d);
  const float norm2 = kernel.dot(v.data(), v.data(), d);
  // The residual vector itself, not |v|^2 - |p|^2: the difference would lose every digit when v
  // lies close to the subspace.
  for (std::size_t i = 0; i < m; ++i) {
    const float c = record[i];
    const float* row = basis_.data() + i * d;
    for (std::size_t t = 0; t < d; ++t) v[t] -= c * row[t];
  }
  record[m] = std::sqrt(kernel.dot(v.data(), v.data(), d));
  // Rounded up: the bound subtracts a margin proportional to it.
  record[m + 1] = std::sqrt(norm2) * (1.0F + 1e-6F);
}

}  // namespace funnel::retrieval::detail
