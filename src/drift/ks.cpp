// Two-sample Kolmogorov-Smirnov test transcribed from scipy 1.10.1 scipy/stats/_stats_py.py
// (ks_2samp, _attempt_exact_2kssamp, _compute_prob_outside_square, _count_paths_outside_method) and
// scipy/stats/_stats_pythran.py (_compute_outer_prob_inside_method). Every branch, rounding rule
// (np.round is round-half-even) and fallback is scipy's; see docs/drift.md.
#include <funnel/core/error.hpp>
#include <funnel/drift/ks.hpp>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <optional>
#include <vector>

namespace funnel::drift {
namespace {

constexpr std::size_t max_auto_n = 10000;

// Pr(D_{n,n} >= h/n), two-sided, equal sizes.
double prob_outside_square(std::int64_t n, std::int64_t h) {
  double P = 0.0;
  auto k = static_cast<std::int64_t>(std::floor(static_cast<double>(n) / static_cast<double>(h)));
  while (k >= 0) {
    double p1 = 1.0;
    for (std::int64_t j = 0; j < h; ++j) {
      p1 = static_cast<double>(n - k * h - j) * p1 / static_cast<double>(n + k * h + j + 1);
    }
    P = p1 * (1.0 - P);
    --k;
  }
  return 2 * P;
}

// The lattice both exact methods walk: the path counts are symmetric in the sample sizes, so the
// larger one is m; mg and ng are the sizes divided by their gcd g.
struct lattice {
  std::int64_t m;
  std::int64_t n;
  std::int64_t mg;
  std::int64_t ng;
};

lattice make_lattice(std::int64_t n1, std::int64_t n2, std::int64_t g) {
  if (n1 < n2) std::swap(n1, n2);
  return {n1, n2, n1 / g, n2 / g};
}

// 1 - (proportion of lattice paths staying strictly inside |x/m - y/n| < h/lcm) (Viehmann).
std::optional<double> outer_prob_inside_method(std::int64_t n1, std::int64_t n2, std::int64_t g,
                                               std::int64_t h) {
  const auto [m, n, mg, ng] = make_lattice(n1, n2, g);
  auto dceil = [](std::int64_t a, std::int64_t b) {
    return static_cast<std::int64_t>(std::ceil(static_cast<double>(a) / static_cast<double>(b)));
  };
  auto dfloor = [](std::int64_t a, std::int64_t b) {
    return static_cast<std::int64_t>(std::floor(static_cast<double>(a) / static_cast<double>(b)));
  };
  std::int64_t minj = 0;
  std::int64_t maxj = std::min(dceil(h, mg), n + 1);
  std::int64_t curlen = maxj - minj;
  const std::int64_t len_a = std::min(2 * maxj + 2, n + 1);
  std::vector<double> A(static_cast<std::size_t>(len_a), 1.0);
  for (std::int64_t j = minj; j < std::min(maxj, len_a); ++j) A[static_cast<std::size_t>(j)] = 0.0;
  for (std::int64_t i = 1; i <= m; ++i) {
    const std::int64_t lastminj = minj;
    const std::int64_t lastlen = curlen;
    minj = std::max<std::int64_t>(dfloor(ng * i - h, mg) + 1, 0);
    minj = std::min(minj, n);
    maxj = std::min(dceil(ng * i + h, mg), n + 1);
    if (maxj <= minj) return 1.0;
    double val = minj == 0 ? 0.0 : 1.0;
    for (std::int64_t jj = 0; jj < maxj - minj; ++jj) {
      const std::int64_t j = jj + minj;
      const std::int64_t src = jj + minj - lastminj;
      if (src < 0 || src >= len_a || jj >= len_a) return std::nullopt;  // never seen; be safe
      val = (A[static_cast<std::size_t>(src)] * static_cast<double>(i) +
             val * static_cast<double>(j)) /
            static_cast<double>(i + j);
      A[static_cast<std::size_t>(jj)] = val;
    }
    curlen = maxj - minj;
    if (lastlen > curlen) {
      const std::int64_t lo = maxj - minj;
      const std::int64_t hi = std::min(lo + (lastlen - curlen), len_a);
      for (std::int64_t q = lo; q < hi; ++q) A[static_cast<std::size_t>(q)] = 1;
    }
  }
  return A[static_cast<std::size_t>(maxj - minj - 1)];
}

// scipy.special.binom for integer arguments (double result; +inf when it overflows double).
double binom(std::int64_t n, std::int64_t k) {
  if (k < 0 || k > n) return 0.0;
  std::int64_t kx = k;
  if (kx > n - kx) kx = n - kx;
  if (kx < 20) {
    double num = 1.0;
    double den = 1.0;
    for (std::int64_t i = 1; i <= kx; ++i) {
      num *= static_cast<double>(i + n - kx);
      den *= static_cast<double>(i);
      if (std::fabs(num) > 1e50) {
        num /= den;
        den = 1.0;
      }
    }
    return num / den;
  }
  const long double lg = std::lgamma(static_cast<long double>(n) + 1) -
                         std::lgamma(static_cast<long double>(kx) + 1) -
                         std::lgamma(static_cast<long double>(n - kx) + 1);
  const long double v = std::exp(lg);
  if (v > static_cast<long double>(DBL_MAX)) return std::numeric_limits<double>::infinity();
  return static_cast<double>(v);
}

// Number of lattice paths from (0,0) to (m,n) that reach m*y <= n*x - h*g (one-sided);
// nullopt where scipy's float arithmetic overflows (then scipy falls back to asymptotic).
std::optional<double> count_paths_outside(std::int64_t n1, std::int64_t n2, std::int64_t g,
                                          std::int64_t h) {
  const auto [m, n, mg, ng] = make_lattice(n1, n2, g);
  // Python floor division (mg - h) // mg with possibly negative numerator.
  auto pyfloordiv = [](std::int64_t a, std::int64_t b) {
    std::int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
    return q;
  };
  const std::int64_t lxj = n + pyfloordiv(mg - h, mg);
  if (lxj <= 0) return binom(m + n, n);
  std::vector<std::int64_t> xj(static_cast<std::size_t>(lxj));
  for (std::int64_t j = 0; j < lxj; ++j) {
    xj[static_cast<std::size_t>(j)] = pyfloordiv(h + mg * j + ng - 1, ng);
  }
  std::vector<double> B(static_cast<std::size_t>(lxj), 0.0);
  B[0] = 1;
  for (std::int64_t j = 1; j < lxj; ++j) {
    const auto uj = static_cast<std::size_t>(j);
    double Bj = binom(xj[uj] + j, j);
    if (!std::isfinite(Bj)) return std::nullopt;
    for (std::int64_t i = 0; i < j; ++i) {
      const auto ui = static_cast<std::size_t>(i);
      const double bin = binom(xj[uj] - xj[ui] + j - i, j - i);
      const double prod = bin * B[ui];
      if (!std::isfinite(prod)) return std::nullopt;
      Bj -= prod;
      if (!std::isfinite(Bj)) return std::nullopt;
    }
    B[uj] = Bj;
  }
  double num_paths = 0;
  for (std::int64_t j = 0; j < lxj; ++j) {
    const auto uj = static_cast<std::size_t>(j);
    const double bin = binom((m - xj[uj]) + (n - j), n - j);
    const double term = B[uj] * bin;
    if (!std::isfinite(term)) return std::nullopt;
    num_paths += term;
    if (!std::isfinite(num_paths)) return std::nullopt;
  }
  return num_paths;
}

// _attempt_exact_2kssamp: returns the probability, or nullopt when scipy would fall back.
std::optional<double> attempt_exact(std::int64_t n1, std::int64_t n2, std::int64_t g, double& d,
                                    alternative alt) {
  const std::int64_t lcm = (n1 / g) * n2;
  const auto h = static_cast<std::int64_t>(std::nearbyint(d * static_cast<double>(lcm)));
  d = static_cast<double>(h) * 1.0 / static_cast<double>(lcm);
  if (h == 0) return 1.0;
  double prob = std::numeric_limits<double>::quiet_NaN();
  if (alt == alternative::two_sided) {
    if (n1 == n2) {
      prob = prob_outside_square(n1, h);
    } else {
      auto p = outer_prob_inside_method(n1, n2, g, h);
      if (!p) return std::nullopt;
      prob = *p;
    }
  } else {
    if (n1 == n2) {
      prob = 1.0;
      for (std::int64_t j = 0; j < h; ++j) {
        prob *= static_cast<double>(n1 - j) / (static_cast<double>(n1 + j) + 1.0);
      }
    } else {
      auto num_paths = count_paths_outside(n1, n2, g, h);
      if (!num_paths) return std::nullopt;
      const double bin = binom(n1 + n2, n1);
      if (*num_paths > bin || std::isinf(bin)) return std::nullopt;
      prob = *num_paths / bin;
    }
  }
  if (!(0 <= prob && prob <= 1)) return std::nullopt;
  return prob;
}

void check_not_empty(std::size_t n1, std::size_t n2) {
  if (n1 == 0 || n2 == 0) {
    raise<invalid_argument>("drift.ks_2samp", "samples must not be empty (n1 = {}, n2 = {})", n1,
                            n2);
  }
}

void check_no_nan(std::span<const double> x, const char* name) {
  for (std::size_t i = 0; i < x.size(); ++i) {
    if (std::isnan(x[i])) {
      raise<invalid_argument>(
          "drift.ks_2samp", "sample '{}' holds NaN at position {} (nan_policy is raise)", name, i);
    }
  }
}

std::vector<double> sorted_copy(std::span<const double> x, nan_policy policy, const char* name) {
  std::vector<double> out;
  out.reserve(x.size());
  if (policy == nan_policy::raise) {
    check_no_nan(x, name);
    out.assign(x.begin(), x.end());
  } else {
    for (double v : x) {
      if (!std::isnan(v)) out.push_back(v);
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

double ks_2samp_pvalue(double d, std::size_t n1, std::size_t n2, alternative alt, ks_method method,
                       ks_method* method_used, double* snapped_d) {
  check_not_empty(n1, n2);
  const auto i1 = static_cast<std::int64_t>(n1);
  const auto i2 = static_cast<std::int64_t>(n2);
  const std::int64_t g = std::gcd(i1, i2);
  const std::int64_t n1g = i1 / g;
  const std::int64_t n2g = i2 / g;
  ks_method mode = method;
  if (mode == ks_method::automatic) {
    mode = std::max(n1, n2) <= max_auto_n ? ks_method::exact : ks_method::asymptotic;
  } else if (mode == ks_method::exact) {
    if (static_cast<double>(n1g) >=
        static_cast<double>(std::numeric_limits<std::int32_t>::max()) / static_cast<double>(n2g)) {
      mode = ks_method::asymptotic;
    }
  }
  double prob = -std::numeric_limits<double>::infinity();
  if (mode == ks_method::exact) {
    auto p = attempt_exact(i1, i2, g, d, alt);
    if (p) {
      prob = *p;
    } else {
      mode = ks_method::asymptotic;
    }
  }
  if (mode == ks_method::asymptotic) {
    const double m = std::max(static_cast<double>(n1), static_cast<double>(n2));
    const double n = std::min(static_cast<double>(n1), static_cast<double>(n2));
    const double en = m * n / (m + n);
    if (alt == alternative::two_sided) {
      // scipy passes np.round(en), which is 0 for n1 = n2 = 1; kstwo then returns NaN.
      const double rn = std::nearbyint(en);
      prob = rn < 1 ? std::numeric_limits<double>::quiet_NaN()
                    : stats::kstwo_sf(d, static_cast<std::size_t>(rn));
    } else {
      const double z = std::sqrt(en) * d;
      const double expt = -2 * z * z - 2 * z * (m + 2 * n) / std::sqrt(m * n * (m + n)) / 3.0;
      prob = std::exp(expt);
    }
  }
  if (method_used) *method_used = mode;
  if (snapped_d) *snapped_d = d;
  return std::isnan(prob) ? prob : std::clamp(prob, 0.0, 1.0);
}

ks_result ks_2samp_sorted(std::span<const double> a, std::span<const double> b,
                          const ks_options& options) {
  const std::size_t n1 = a.size();
  const std::size_t n2 = b.size();
  check_not_empty(n1, n2);
  // cddiffs at every pooled value: searchsorted(side='right')/n1 - searchsorted(...)/n2, evaluated
  // once per distinct value (ties give identical entries). Track scipy's argmin/argmax (first
  // occurrence in data_all order = a's values first, then b's).
  const double dn1 = static_cast<double>(n1);
  const double dn2 = static_cast<double>(n2);
  double min_diff = std::numeric_limits<double>::infinity();
  double max_diff = -std::numeric_limits<double>::infinity();
  double loc_min = 0;
  double loc_max = 0;
  // Ranks: position of the value in data_all order, to break ties between equal diffs exactly
  // as np.argmin/argmax (first index) do: values of a come before values of b.
  bool min_from_a = false;
  bool max_from_a = false;
  std::size_t min_idx = 0;
  std::size_t max_idx = 0;
  std::size_t i = 0;
  std::size_t j = 0;
  while (i < n1 || j < n2) {
    double v = 0;
    if (j >= n2 || (i < n1 && a[i] <= b[j])) {
      v = a[i];
    } else {
      v = b[j];
    }
    const std::size_t i0 = i;
    const std::size_t j0 = j;
    while (i < n1 && a[i] == v) ++i;
    while (j < n2 && b[j] == v) ++j;
    const double diff = static_cast<double>(i) / dn1 - static_cast<double>(j) / dn2;
    // First occurrence of value v in data_all: in a (index i0) if present, else in b (n1 + j0).
    const bool in_a = i > i0;
    const std::size_t idx = in_a ? i0 : j0;
    auto earlier = [&](bool from_a, std::size_t k, bool cur_a, std::size_t cur_k) {
      if (from_a != cur_a) return from_a;  // a's block precedes b's
      return k < cur_k;
    };
    if (diff < min_diff || (diff == min_diff && earlier(in_a, idx, min_from_a, min_idx))) {
      min_diff = diff;
      loc_min = v;
      min_from_a = in_a;
      min_idx = idx;
    }
    if (diff > max_diff || (diff == max_diff && earlier(in_a, idx, max_from_a, max_idx))) {
      max_diff = diff;
      loc_max = v;
      max_from_a = in_a;
      max_idx = idx;
    }
  }
  const double min_s = std::clamp(-min_diff, 0.0, 1.0);
  const double max_s = max_diff;
  ks_result r;
  if (options.alternative == alternative::less ||
      (options.alternative == alternative::two_sided && min_s > max_s)) {
    r.statistic = min_s;
    r.location = loc_min;
    r.sign = -1;
  } else {
    r.statistic = max_s;
    r.location = loc_max;
    r.sign = 1;
  }
  r.pvalue = ks_2samp_pvalue(r.statistic, n1, n2, options.alternative, options.method,
                             &r.method_used, &r.statistic);
  return r;
}

ks_result ks_2samp(std::span<const double> a, std::span<const double> b,
                   const ks_options& options) {
  const auto sa = sorted_copy(a, options.nan_policy, "a");
  const auto sb = sorted_copy(b, options.nan_policy, "b");
  return ks_2samp_sorted(sa, sb, options);
}

}  // namespace funnel::drift
