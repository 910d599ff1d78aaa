#pragma once
/// @file kolmogorov.hpp
/// @brief The finite-n Kolmogorov–Smirnov distributions, equal to scipy 1.10's: the two-sided
/// one-sample statistic D_n (`scipy.stats.kstwo`) and the one-sided D_n^+
/// (`scipy.special.smirnov`). The limiting distribution is `kolmogorov_sf` in
/// special_functions.hpp. Definitions in src/stats/kolmogorov.cpp.

#include <cstddef>

namespace funnel::stats {

/// @brief Survival function of the two-sided one-sample KS statistic D_n: P(D_n > x), scipy's
/// `stats.kstwo.sf(x, n)` (Simard & L'Ecuyer's algorithm selection). @throws invalid_argument when
/// n is 0.
[[nodiscard]] double kstwo_sf(double x, std::size_t n);

/// @brief CDF of the two-sided one-sample KS statistic, scipy's `stats.kstwo.cdf(x, n)`.
[[nodiscard]] double kstwo_cdf(double x, std::size_t n);

/// @brief One-sided Smirnov survival function P(D_n^+ >= x), scipy's `special.smirnov(n, x)`.
[[nodiscard]] double smirnov_sf(int n, double x);

}  // namespace funnel::stats
