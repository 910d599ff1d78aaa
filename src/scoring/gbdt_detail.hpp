#pragma once
// Internals of the GBDT trainer shared by its translation units.
#include <funnel/scoring/gbdt.hpp>

#include <cstdint>
#include <span>
#include <vector>

namespace funnel::scoring::detail {

/// Gradient and hessian of one row (one group) — summed in double like XGBoost's histograms.
struct grad_pair {
  double g = 0.0;
  double h = 0.0;
};

void compute_gradients(const gbdt_options& o, const gbdt_data& d, std::size_t num_groups,
                       std::span<const double> margins, std::span<grad_pair> out);
void lambdarank_gradients(const gbdt_options& o, const gbdt_data& d,
                          std::span<const double> margins, std::span<grad_pair> out);

}  // namespace funnel::scoring::detail
