#pragma once
// Low-dimensional projections that bound exact distances from below, so that a scan scores
// exactly only the items that may still enter its results (internal to src/retrieval; the tests
// include it).
//
// For the rows P of an orthonormal basis (m x d), a centre mu, and for a vector v
//   p(v) = P (v - mu)                     (its m coordinates in the basis)
//   r(v) = |(I - P^T P)(v - mu)|          (how far it lies from the basis' subspace),
// Pythagoras and the triangle inequality on the residuals give, for ANY orthonormal P:
//   L2:             |q - x|^2 >= |p(q) - p(x)|^2 + (r(q) - r(x))^2
//   inner product:  q . x     <= p(q) . p(x) + r(q) r(x)                  (mu = 0, Cauchy-Schwarz)
// The top principal components of the data (`fit`) make them tight: on Fashion-MNIST at m = 64
// about 3% of the items of a filter far from the query have a bound below the 10th-best distance
// (docs/retrieval.md). Since any orthonormal P gives a valid bound, items added after the fit are
// projected with the same P and the bounds stay exact; only their tightness can drift.
//
// Per node the scan reads a record of stride() floats: p(x) (m values), r(x), |x - mu|.

#include <cmath>
#include <cstddef>
#include <limits>
#include <span>
#include <vector>

#include "retrieval/float_kernels.hpp"

namespace funnel::retrieval::detail {

/// The basis, the centre, and the bound of the scans (projection.cpp).
class projection {
 public:
  projection() = default;
  /// `basis` holds m rows of `dim` values (orthonormal), `centre` dim values.
  /// @throws invalid_argument on inconsistent sizes, m == 0 or m > dim, non-finite values, or
  /// rows that are not orthonormal (to within 1e-3).
  projection(std::vector<float> centre, std::vector<float> basis, bool check_orthonormal = true);

  /// The m top principal components of the sampled vectors rows[i] (each `dim` values), about their
  /// mean when `centred` (L2) or about the origin (inner product, cosine): a covariance from the
  /// sample and a subspace iteration, deterministic for a given sample. Rank-deficient samples
  /// are completed with further orthonormal directions. @throws invalid_argument on m == 0,
  /// m > dim, an empty sample.
  [[nodiscard]] static projection fit(std::size_t dim, std::size_t m,
                                      std::span<const float* const> rows, bool centred);

  [[nodiscard]] std::size_t dim() const noexcept { return centre_.size(); }
  /// m, the projected dimension.
  [[nodiscard]] std::size_t dims() const noexcept { return dim() == 0 ? 0 : basis_.size() / dim(); }
  /// Floats per node record: p(x), r(x), |x - mu|.
  [[nodiscard]] std::size_t stride() const noexcept { return dims() + 2; }
  [[nodiscard]] std::span<const float> centre() const noexcept { return centre_; }
  [[nodiscard]] std::span<const float> basis() const noexcept { return basis_; }

  /// Writes the stride() floats of x's record (kernel: the float kernel that sums).
  void project(const float* x, float* record, const float_kernel& kernel) const;

 private:
  std::vector<float> centre_;
  std::vector<float> basis_;
};

/// Rounding margins of the bounds. The records are float sums of up to dim products (the float
/// kernels, several lanes, fused multiply-adds), so p and r carry an absolute error of a few
/// 1e-7 |v - mu| in practice; margin_norm = 1e-4 of the two norms covers that a hundred times over
/// (on Fashion-MNIST it is 0.02% of a 10th-best distance: it costs no pruning). The exact distance
/// the scan compares with is itself a float sum of dim positive terms: relative error below
/// dim * 2^-24 (4.7e-5 at d = 784), covered by margin_relative = 2e-4.
inline constexpr double projection_margin_norm = 1e-4;
inline constexpr double projection_margin_relative = 2e-4;

/// The key a scan orders items by for the query whose record is `q` (smaller = possibly closer):
/// |p(q) - p(x)|^2 + (r(q) - r(x))^2 for L2, -(p(q) . p(x) + r(q) r(x)) for the inner product; one
/// float kernel call of m values. A damaged record (non-finite, let through by a load without
/// value checks) gives -infinity for NaN (the item is scored exactly rather than breaking the
/// sort that orders the keys).
[[nodiscard]] inline float projection_key(const float_kernel& kernel, const float* q,
                                          const float* x, std::size_t m,
                                          bool inner_product) noexcept {
  float key = 0.0F;
  if (!inner_product) {
    const float dr = q[m] - x[m];
    key = kernel.l2(q, x, m) + dr * dr;
  } else {
    key = -(kernel.dot(q, x, m) + q[m] * x[m]);
  }
  return std::isnan(key) ? -std::numeric_limits<float>::infinity() : key;
}

/// The largest key an item can have while its float distance (squared L2, or 1 - inner product,
/// as the scans compute it) is at most `distance`, for a query of norm `q_norm` (its record's
/// last value) and items of norms at most `max_norm`: an item whose key exceeds it is strictly
/// farther, and a scan whose k-th distance is `distance` can skip it. The margins cover the
/// rounding of the records, of the key and of the exact distance (constants above); the result
/// is rounded up.
[[nodiscard]] inline float projection_cutoff(double distance, double q_norm, double max_norm,
                                             bool inner_product) noexcept {
  constexpr double rel = projection_margin_relative;
  double cutoff = 0.0;
  if (!inner_product) {
    // key >= ((sqrt(distance / (1 - rel)) + margin) / (1 - rel))^2 certifies a larger distance.
    const double root = (std::sqrt(std::max(distance, 0.0) / (1.0 - rel)) +
                         projection_margin_norm * (q_norm + max_norm)) /
                        (1.0 - rel);
    cutoff = root * root;
  } else {
    cutoff = distance - 1.0 + (projection_margin_norm + rel) * q_norm * max_norm +
             1e-6 * (1.0 + q_norm * max_norm);
  }
  if (!(cutoff < static_cast<double>(std::numeric_limits<float>::max()))) {
    return std::numeric_limits<float>::infinity();  // also NaN: nothing is skipped
  }
  auto up = static_cast<float>(cutoff);
  if (static_cast<double>(up) < cutoff) up = std::nextafter(up, std::numeric_limits<float>::max());
  return up;
}

}  // namespace funnel::retrieval::detail
