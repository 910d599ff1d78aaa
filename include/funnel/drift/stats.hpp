#pragma once
/// @file stats.hpp
/// @brief Distribution-shift statistics on samples and on histograms: PSI (pinned definition),
/// chi-square tests (scipy's chi2_contingency / chisquare), Jensen–Shannon distance (scipy's
/// spatial.distance.jensenshannon), Wasserstein-1 (scipy's stats.wasserstein_distance), Hellinger.
/// The PSI definition is documented in docs/drift.md ("PSI, pinned").

#include <funnel/core/enum_names.hpp>
#include <funnel/drift/ks.hpp>

#include <cstddef>
#include <span>
#include <string_view>
#include <vector>

namespace funnel::drift {

/// @brief Largest bin count quantile_edges (and so a profile) accepts: the edges are computed in a
/// loop over the bins, so a configured count is checked before any work.
inline constexpr std::size_t max_bins = 65536;

/// @brief Interior bin edges at the reference's `bins`-quantiles i/bins, i = 1..bins-1, computed
/// as numpy.quantile (method 'linear'), with duplicate edges removed (heavy ties give fewer bins).
/// Bin k of the result is [edge[k-1], edge[k]); the first bin is (-inf, edge[0]) and the last is
/// [edge[last], +inf), so live values outside the reference range land in the end bins.
/// @throws invalid_argument when bins is outside [2, max_bins], the sample is empty or holds
/// NaN/inf.
[[nodiscard]] std::vector<double> quantile_edges(std::span<const double> reference,
                                                 std::size_t bins = 10);

/// @brief numpy.quantile(sorted, q) with the default 'linear' method on an ascending sample.
/// @throws invalid_argument when the sample is empty or q is outside [0, 1].
[[nodiscard]] double quantile_sorted(std::span<const double> sorted, double q);

/// @brief The bin of `x` for `edges` from quantile_edges: the number of edges <= x. O(log bins).
[[nodiscard]] std::size_t bin_index(std::span<const double> edges, double x) noexcept;

/// @brief Counts of `values` per bin (edges.size() + 1 bins). NaN values are skipped.
[[nodiscard]] std::vector<double> histogram(std::span<const double> edges,
                                            std::span<const double> values);

/// @brief PSI defaults: the smoothing floor and the verdict thresholds.
struct psi_options {
  std::size_t bins = 10;      ///< reference-quantile bins
  double epsilon = 1e-4;      ///< proportions below epsilon are raised to epsilon (empty bins)
  double moderate = 0.1;      ///< PSI >= moderate: "moderate shift"
  double significant = 0.25;  ///< PSI >= significant: "significant shift"
};

/// @brief Population stability index of two histograms over the same bins:
/// sum_k (l_k - r_k) ln(l_k / r_k), with r_k = max(ref_k / sum(ref), eps), l_k likewise.
/// @throws dimension_mismatch when sizes differ; invalid_argument on a negative/NaN count or an
/// all-zero histogram.
[[nodiscard]] double psi(std::span<const double> reference_counts,
                         std::span<const double> live_counts, double epsilon = 1e-4);

/// @brief PSI of two samples with bins from the reference's quantiles (see quantile_edges).
/// NaNs are dropped from both. @throws invalid_argument on an empty sample.
[[nodiscard]] double psi_samples(std::span<const double> reference, std::span<const double> live,
                                 const psi_options& options = {});

/// @brief A threshold verdict.
enum class verdict { stable, warning, drift };

/// @brief Names "stable", "warning", "drift" (`to_string`, `parse_enum`).
constexpr auto enum_names_of(verdict) {
  return enum_names<verdict, 3>{
      "verdict",
      {{{verdict::stable, "stable"}, {verdict::warning, "warning"}, {verdict::drift, "drift"}}}};
}
using funnel::to_string;

/// @brief PSI verdict: drift when >= significant, warning when >= moderate, otherwise stable.
[[nodiscard]] verdict psi_verdict(double value, const psi_options& options = {}) noexcept;

/// @brief Result of a chi-square test.
struct chi2_result {
  double statistic = 0;  ///< Pearson's chi-square
  double pvalue = 1;     ///< chi2.sf(statistic, dof)
  std::size_t dof = 0;   ///< degrees of freedom
};

/// @brief scipy.stats.chi2_contingency(table, correction) for an r x c table of counts (rows of
/// equal length). Columns or rows whose total is 0 are dropped first (scipy raises on them; a
/// category absent from both samples carries no evidence). Yates' correction applies when
/// dof == 1 and `correction`. @throws invalid_argument on negative/NaN counts or a table with
/// fewer than one non-empty row/column; dimension_mismatch on ragged rows.
[[nodiscard]] chi2_result chi2_contingency(const std::vector<std::vector<double>>& table,
                                           bool correction = true);

/// @brief Two-sample chi-square homogeneity test of reference vs live category counts:
/// chi2_contingency({reference, live}, correction).
[[nodiscard]] chi2_result chi2_two_sample(std::span<const double> reference_counts,
                                          std::span<const double> live_counts,
                                          bool correction = true);

/// @brief scipy.stats.chisquare(observed, expected): goodness of fit with k - 1 dof.
/// @throws dimension_mismatch, invalid_argument (expected <= 0, sums differing by > 1e-8 rel.).
[[nodiscard]] chi2_result chisquare(std::span<const double> observed,
                                    std::span<const double> expected);

/// @brief Jensen–Shannon distance between two (unnormalized) histograms,
/// scipy.spatial.distance.jensenshannon(p, q, base); base <= 0 means natural log.
/// @throws dimension_mismatch, invalid_argument (negative entries or zero sum).
[[nodiscard]] double jensen_shannon(std::span<const double> p, std::span<const double> q,
                                    double base = 0.0);

/// @brief Hellinger distance between two (unnormalized) histograms:
/// sqrt(1/2 sum_k (sqrt(p_k) - sqrt(q_k))^2) after normalizing; in [0, 1].
/// @throws dimension_mismatch, invalid_argument (negative entries or zero sum).
[[nodiscard]] double hellinger(std::span<const double> p, std::span<const double> q);

/// @brief Wasserstein-1 (earth mover's) distance between two samples,
/// scipy.stats.wasserstein_distance(u, v). NaN follows `policy`.
/// @throws invalid_argument on an empty sample or NaN under nan_policy::raise.
[[nodiscard]] double wasserstein_1(std::span<const double> u, std::span<const double> v,
                                   nan_policy policy = nan_policy::raise);

/// @brief Wasserstein-1 on two sorted NaN-free samples (no copy).
[[nodiscard]] double wasserstein_1_sorted(std::span<const double> u_sorted,
                                          std::span<const double> v_sorted);

}  // namespace funnel::drift
