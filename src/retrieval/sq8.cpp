#include "retrieval/sq8.hpp"

#include <funnel/core/error.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>

#include "retrieval/sq8_kernels.hpp"
#include "simd/isa.hpp"

namespace funnel::retrieval::detail {

namespace {

// The portable kernels fold their 32-bit sums into 64 bits per block, as the SIMD ones do.
template <bool L2>
std::uint64_t sum_portable(const std::uint8_t* a, const std::uint8_t* b,
                           std::size_t bytes) noexcept {
  std::uint64_t total = 0;
  for (std::size_t begin = 0; begin < bytes; begin += sq8_block_bytes) {
    const std::size_t end = std::min(bytes, begin + sq8_block_bytes);
    std::uint32_t sum = 0;
    for (std::size_t i = begin; i < end; ++i) {
      if constexpr (L2) {
        const int d = static_cast<int>(a[i]) - static_cast<int>(b[i]);
        sum += static_cast<std::uint32_t>(d * d);
      } else {
        sum += static_cast<std::uint32_t>(a[i]) * static_cast<std::uint32_t>(b[i]);
      }
    }
    total += sum;
  }
  return total;
}

}  // namespace

namespace {
const funnel::detail::kernel_list<sq8_kernel>& sq8_list() noexcept {
  static const funnel::detail::kernel_list<sq8_kernel> list(
      {"portable", sum_portable<true>, sum_portable<false>}, &funnel::detail::isa_kernels::sq8);
  return list;
}
}  // namespace

std::span<const sq8_kernel> sq8_kernels() noexcept {
  return sq8_list().kernels();
}

const sq8_kernel& sq8_best() noexcept {
  static const sq8_kernel& best = sq8_list().chosen("FUNNEL_SQ8_KERNEL");
  return best;
}

sq8_codec::sq8_codec(std::vector<float> offset, float scale) : offset_(std::move(offset)) {
  constexpr std::string_view where = "retrieval.sq8";
  if (offset_.empty()) raise<invalid_argument>(where, "no dimensions");
  for (std::size_t d = 0; d < offset_.size(); ++d) {
    if (!std::isfinite(offset_[d])) {
      raise<invalid_argument>(where, "offset {} at dimension {} is not finite", offset_[d], d);
    }
  }
  if (!std::isfinite(scale) || !(scale > 0.0F) || !std::isfinite(1.0F / scale)) {
    raise<invalid_argument>(where, "scale {} must be finite and > 0", scale);
  }
  scale_ = scale;
  inv_scale_ = 1.0F / scale;
}

void sq8_codec::encode(const float* x, std::uint8_t* out) const noexcept {
  const std::size_t n = dim();
  for (std::size_t d = 0; d < n; ++d) {
    const float c = std::nearbyint((x[d] - offset_[d]) * inv_scale_);
    // NaN (a non-finite stored value, see hnsw_load_options::verify_values) encodes as 0.
    out[d] = static_cast<std::uint8_t>(c > 0.0F ? std::min(c, 255.0F) : 0.0F);
  }
  std::memset(out + n, 0, stride() - n);
}

float sq8_codec::offset_dot(const std::uint8_t* code) const noexcept {
  double sum = 0.0;
  for (std::size_t d = 0; d < offset_.size(); ++d) {
    sum += static_cast<double>(offset_[d]) * static_cast<double>(code[d]);
  }
  return static_cast<float>(sum);
}

float sq8_codec::residual(const float* x, const std::uint8_t* code) const noexcept {
  double sum = 0.0;
  for (std::size_t d = 0; d < offset_.size(); ++d) {
    const double decoded = static_cast<double>(offset_[d]) +
                           static_cast<double>(scale_) * static_cast<double>(code[d]);
    const double diff = static_cast<double>(x[d]) - decoded;
    sum += diff * diff;
  }
  // Rounded up: a bound must not shrink when stored as float. Not finite (a non-finite stored
  // value, see hnsw_load_options::verify_values): infinitely far from its code, bounds useless.
  const auto r = static_cast<float>(std::sqrt(sum));
  return std::isfinite(r) ? std::nextafter(r, std::numeric_limits<float>::infinity())
                          : std::numeric_limits<float>::infinity();
}

}  // namespace funnel::retrieval::detail
