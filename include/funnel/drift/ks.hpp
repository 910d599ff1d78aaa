#pragma once
/// @file ks.hpp
/// @brief Two-sample Kolmogorov–Smirnov test equal to scipy 1.10's `stats.ks_2samp` (statistic,
/// method choice, exact and asymptotic p-values). Its asymptotic branch uses the one-sample
/// two-sided Kolmogorov distribution `stats::kstwo_sf` (`funnel/stats/kolmogorov.hpp`).

#include <funnel/core/enum_names.hpp>
#include <funnel/stats/kolmogorov.hpp>

#include <cstddef>
#include <span>
#include <string_view>

namespace funnel::drift {

/// @brief Which difference of the two empirical CDFs the test is about (scipy's `alternative`).
enum class alternative {
  two_sided,  ///< sup |F1 - F2|
  less,       ///< sup (F2 - F1): the alternative is F1 < G somewhere (sample 1 tends larger)
  greater,    ///< sup (F1 - F2): the alternative is F1 > G somewhere (sample 1 tends smaller)
};

/// @brief How the p-value is computed (scipy's `method`).
enum class ks_method {
  automatic,   ///< exact when max(n1, n2) <= 10,000, otherwise asymptotic (scipy's 'auto')
  exact,       ///< exact lattice-path count; falls back to asymptotic when it cannot be done
  asymptotic,  ///< kstwo.sf(d, round(n1 n2/(n1 + n2))) two-sided; Hodges' eq. 5.3 one-sided
};

/// @brief What to do with NaN in a sample. scipy sorts NaN last and returns a meaningless result,
/// so funnel refuses by default.
enum class nan_policy {
  raise,  ///< throw invalid_argument naming the sample and the position
  omit,   ///< drop NaNs before testing (scipy's nan_policy='omit' where it exists)
};

/// @brief Options of ks_2samp.
struct ks_options {
  drift::alternative alternative = drift::alternative::two_sided;  ///< which side
  ks_method method = ks_method::automatic;                         ///< p-value method
  drift::nan_policy nan_policy = drift::nan_policy::raise;         ///< NaN handling
};

/// @brief Result of a two-sample KS test.
struct ks_result {
  double statistic = 0;  ///< D (snapped to h/lcm(n1, n2) when the exact method ran, as scipy)
  double pvalue = 1;     ///< p-value for the chosen alternative
  double location = 0;   ///< the value at which the ECDF difference is attained
  int sign = 1;          ///< +1 when F1 - F2 attains D, -1 when F2 - F1 does
  ks_method method_used = ks_method::exact;  ///< exact or asymptotic (after any fallback)
};

/// @brief Two-sample KS test; equals scipy.stats.ks_2samp(a, b, alternative, method) 1.10.
/// O((n1 + n2) log(n1 + n2)) for the statistic (sorts copies) plus the p-value cost.
/// @throws invalid_argument when a sample is empty (after NaN omission) or holds NaN under
/// nan_policy::raise.
[[nodiscard]] ks_result ks_2samp(std::span<const double> a, std::span<const double> b,
                                 const ks_options& options = {});

/// @brief As ks_2samp on samples already sorted ascending and NaN-free (no copy, O(n1 + n2)).
/// @throws invalid_argument when a sample is empty.
[[nodiscard]] ks_result ks_2samp_sorted(std::span<const double> a_sorted,
                                        std::span<const double> b_sorted,
                                        const ks_options& options = {});

/// @brief The p-value for statistic `d` of samples of sizes n1, n2: the part of ks_2samp after the
/// statistic. `d` is snapped to the lattice when the exact method runs; the snapped value is
/// written to `*snapped_d` when given. @throws invalid_argument when n1 or n2 is 0.
[[nodiscard]] double ks_2samp_pvalue(double d, std::size_t n1, std::size_t n2,
                                     drift::alternative alt, ks_method method,
                                     ks_method* method_used = nullptr, double* snapped_d = nullptr);

/// @brief Moved to funnel::stats (`funnel/stats/kolmogorov.hpp`); these names are kept for 0.2
/// only and will be removed in the next release.
using stats::kstwo_cdf;
using stats::kstwo_sf;
using stats::smirnov_sf;

/// @brief Names of the alternatives as scipy spells them ("two-sided", "less", "greater"):
/// `to_string`, `parse_enum`.
constexpr auto enum_names_of(alternative) {
  return enum_names<alternative, 3>{"alternative",
                                    {{{alternative::two_sided, "two-sided"},
                                      {alternative::less, "less"},
                                      {alternative::greater, "greater"}}}};
}
/// @brief Names of the p-value methods as funnel spells them ("automatic", "exact", "asymptotic")
/// and as scipy does ("auto", "asymp"): `to_string` gives funnel's, `parse_enum` takes both.
constexpr auto enum_names_of(ks_method) {
  return enum_names<ks_method, 5>{"ks method",
                                  {{{ks_method::automatic, "automatic"},
                                    {ks_method::exact, "exact"},
                                    {ks_method::asymptotic, "asymptotic"},
                                    {ks_method::automatic, "auto"},
                                    {ks_method::asymptotic, "asymp"}}}};
}
/// @brief Names of the NaN policies as scipy spells them ("raise", "omit"): `to_string`,
/// `parse_enum`.
constexpr auto enum_names_of(nan_policy) {
  return enum_names<nan_policy, 2>{"nan policy",
                                   {{{nan_policy::raise, "raise"}, {nan_policy::omit, "omit"}}}};
}
using funnel::to_string;

}  // namespace funnel::drift
