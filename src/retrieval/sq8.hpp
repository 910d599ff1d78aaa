#pragma once
// 8-bit scalar codes for the HNSW graph walk (internal to src/retrieval; the tests include it).
//
// A vector x is stored as codes c in 0..255 with x_d ~ offset_d + scale * c_d: one offset per
// dimension (the smallest value seen there) and ONE scale for every dimension (the widest range /
// 255). A shared scale keeps the code space a uniformly scaled copy of the vector space, so L2
// between codes is L2 between vectors over scale^2 up to rounding; a scale per dimension would
// reweight the dimensions and change which neighbour is nearest.
//
//   L2:            |x - y|^2   ~ scale^2 * |cx - cy|^2                  -> key |cx - cy|^2
//   inner product:  q . x      ~ q . offset + scale * (offset . cx) + scale^2 * (cq . cx)
//                                (the first term is the same for every x) -> key
//                  -(offset . cx + scale * cq . cx), with offset . cx stored per node.
//
// Codes are padded with zeros to a multiple of 64 bytes (`stride`), so the kernels need no tail and
// every code starts on a cache line; padding adds 0 to both sums.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

namespace funnel::retrieval::detail {

/// One implementation of the two code kernels (sums over `bytes`, a multiple of 64).
struct sq8_kernel {
  std::string_view name;
  std::uint64_t (*l2)(const std::uint8_t* a, const std::uint8_t* b, std::size_t bytes) noexcept;
  std::uint64_t (*dot)(const std::uint8_t* a, const std::uint8_t* b, std::size_t bytes) noexcept;
};

/// Every kernel this CPU can run, the portable one first (tests compare them all).
[[nodiscard]] std::span<const sq8_kernel> sq8_kernels() noexcept;
/// The kernel searches use: the one FUNNEL_SQ8_KERNEL picks ("portable", "avx2", "avx512"; unset:
/// the widest this CPU runs; read once; the rule of funnel::detail::isa_named()).
[[nodiscard]] const sq8_kernel& sq8_best() noexcept;

/// The code book: per-dimension offsets and the shared scale.
class sq8_codec {
 public:
  sq8_codec() = default;
  /// @throws invalid_argument when offsets are empty or non-finite, or scale is not finite and > 0.
  sq8_codec(std::vector<float> offset, float scale);

  /// Fits offsets and scale to `n` vectors of `dim` values; row(i) returns vector i's first value.
  template <class Row>
  [[nodiscard]] static sq8_codec fit(std::size_t dim, std::size_t n, const Row& row) {
    std::vector<float> lo(dim, 0.0F);
    std::vector<float> hi(dim, 0.0F);
    for (std::size_t i = 0; i < n; ++i) {
      const float* x = row(i);
      for (std::size_t d = 0; d < dim; ++d) {
        if (i == 0 || x[d] < lo[d]) lo[d] = x[d];
        if (i == 0 || x[d] > hi[d]) hi[d] = x[d];
      }
    }
    double range = 0.0;
    for (std::size_t d = 0; d < dim; ++d) {
      range = std::max(range, static_cast<double>(hi[d]) - static_cast<double>(lo[d]));
    }
    // All vectors equal (or none): any positive scale encodes them exactly.
    const double scale = range > 0.0 ? range / 255.0 : 1.0;
    return {std::move(lo), static_cast<float>(scale)};
  }

  [[nodiscard]] std::size_t dim() const noexcept { return offset_.size(); }
  /// Bytes per code: dim rounded up to a multiple of 64.
  [[nodiscard]] std::size_t stride() const noexcept { return (dim() + 63) / 64 * 64; }
  [[nodiscard]] float scale() const noexcept { return scale_; }
  [[nodiscard]] std::span<const float> offset() const noexcept { return offset_; }

  /// Writes stride() bytes: the rounded codes, clamped to 0..255, then zero padding.
  void encode(const float* x, std::uint8_t* out) const noexcept;
  /// offset . code (the per-node term of the inner-product key).
  [[nodiscard]] float offset_dot(const std::uint8_t* code) const noexcept;
  /// |x - decode(code)|, rounded up: how far the vector lies from what its code stands for. With
  /// the residuals r_x, r_q of a node and a query, by the triangle inequality
  ///   scale * |c_q - c_x| - r_q - r_x  <=  |q - x|  <=  scale * |c_q - c_x| + r_q + r_x,
  /// which bounds the exact L2 from the code distance alone (see l2_bounds()).
  [[nodiscard]] float residual(const float* x, const std::uint8_t* code) const noexcept;

 private:
  std::vector<float> offset_;
  float scale_ = 1.0F;
  float inv_scale_ = 1.0F;
};

/// Bounds of the squared L2 |q - x|^2 from the code distance `code_l2` = |c_q - c_x|^2 and the
/// residuals of the query and the node (sq8_codec::residual). The lower bound is shrunk by a
/// relative margin of 1e-3 so that the float kernels' rounding (last bits of a 784-term sum) can
/// never make an exact distance fall below it; the upper bound is grown by the same margin.
struct sq8_l2_bounds {
  float lower;
  float upper;
};
[[nodiscard]] inline sq8_l2_bounds l2_bounds(double code_l2, float scale,
                                             float residuals) noexcept {
  const double center = static_cast<double>(scale) * std::sqrt(code_l2);
  const double low = std::max(0.0, center - static_cast<double>(residuals));
  const double high = center + static_cast<double>(residuals);
  return {static_cast<float>(low * low * (1.0 - 1e-3)),
          static_cast<float>(high * high * (1.0 + 1e-3))};
}

}  // namespace funnel::retrieval::detail
