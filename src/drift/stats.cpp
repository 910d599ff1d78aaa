#include <funnel/core/error.hpp>
#include <funnel/drift/stats.hpp>
#include <funnel/stats/special_functions.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace funnel::drift {
namespace {

void check_counts(std::span<const double> c, const char* where, const char* name) {
  for (std::size_t i = 0; i < c.size(); ++i) {
    if (!(c[i] >= 0) || std::isinf(c[i])) {
      raise<invalid_argument>(where, "{}[{}] = {} is not a finite non-negative count", name, i,
                              c[i]);
    }
  }
}

void check_same_size(std::span<const double> a, std::span<const double> b, const char* where) {
  if (a.size() != b.size()) {
    raise<dimension_mismatch>(where, "histograms have {} and {} bins", a.size(), b.size());
  }
}

double total(std::span<const double> c, const char* where, const char* name) {
  const double s = std::accumulate(c.begin(), c.end(), 0.0);
  if (!(s > 0)) raise<invalid_argument>(where, "{} is empty (all counts are zero)", name);
  return s;
}

std::vector<double> sorted_finite(std::span<const double> x, nan_policy policy, const char* where,
                                  const char* name) {
  std::vector<double> out;
  out.reserve(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) {
    if (std::isnan(x[i])) {
      if (policy == nan_policy::raise) {
        raise<invalid_argument>(where, "sample '{}' holds NaN at position {}", name, i);
      }
      continue;
    }
    out.push_back(x[i]);
  }
  if (out.empty()) raise<invalid_argument>(where, "sample '{}' is empty", name);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

double quantile_sorted(std::span<const double> s, double q) {
  const std::size_t n = s.size();
  if (n == 0) raise<invalid_argument>("drift.quantile", "sample is empty");
  if (!(q >= 0 && q <= 1)) raise<invalid_argument>("drift.quantile", "q = {} is not in [0, 1]", q);
  const double virt = static_cast<double>(n - 1) * q;
  const double prev_f = std::floor(virt);
  auto prev = static_cast<std::size_t>(prev_f);
  if (prev > n - 1) prev = n - 1;
  const std::size_t next = std::min(prev + 1, n - 1);
  const double t = virt - prev_f;
  const double a = s[prev];
  const double b = s[next];
  const double diff = b - a;
  return t >= 0.5 ? b - diff * (1 - t) : a + diff * t;
}

std::vector<double> quantile_edges(std::span<const double> reference, std::size_t bins) {
  if (bins < 2 || bins > max_bins) {
    raise<invalid_argument>("drift.quantile_edges", "bins must be in [2, {}], got {}", max_bins,
                            bins);
  }
  if (reference.empty())
    raise<invalid_argument>("drift.quantile_edges", "reference sample is empty");
  std::vector<double> s(reference.begin(), reference.end());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (!std::isfinite(s[i])) {
      raise<invalid_argument>("drift.quantile_edges",
                              "reference value {} at position {} is not finite", s[i], i);
    }
  }
  std::sort(s.begin(), s.end());
  std::vector<double> edges;
  for (std::size_t i = 1; i < bins; ++i) {
    const double e = quantile_sorted(s, static_cast<double>(i) / static_cast<double>(bins));
    if (edges.empty() || e > edges.back()) edges.push_back(e);
  }
  return edges;
}

std::size_t bin_index(std::span<const double> edges, double x) noexcept {
  return static_cast<std::size_t>(std::upper_bound(edges.begin(), edges.end(), x) - edges.begin());
}

std::vector<double> histogram(std::span<const double> edges, std::span<const double> values) {
  std::vector<double> counts(edges.size() + 1, 0.0);
  for (double v : values) {
    if (!std::isnan(v)) counts[bin_index(edges, v)] += 1.0;
  }
  return counts;
}

double psi(std::span<const double> ref, std::span<const double> live, double epsilon) {
  check_same_size(ref, live, "drift.psi");
  check_counts(ref, "drift.psi", "reference");
  check_counts(live, "drift.psi", "live");
  if (!(epsilon > 0)) raise<invalid_argument>("drift.psi", "epsilon must be > 0, got {}", epsilon);
  const double sr = total(ref, "drift.psi", "reference histogram");
  const double sl = total(live, "drift.psi", "live histogram");
  double out = 0;
  for (std::size_t k = 0; k < ref.size(); ++k) {
    const double r = std::max(ref[k] / sr, epsilon);
    const double l = std::max(live[k] / sl, epsilon);
    out += (l - r) * std::log(l / r);
  }
  return out;
}

double psi_samples(std::span<const double> reference, std::span<const double> live,
                   const psi_options& options) {
  const auto r = sorted_finite(reference, nan_policy::omit, "drift.psi", "reference");
  const auto l = sorted_finite(live, nan_policy::omit, "drift.psi", "live");
  const auto edges = quantile_edges(r, options.bins);
  return psi(histogram(edges, r), histogram(edges, l), options.epsilon);
}

verdict psi_verdict(double value, const psi_options& o) noexcept {
  if (value >= o.significant) return verdict::drift;
  if (value >= o.moderate) return verdict::warning;
  return verdict::stable;
}

chi2_result chi2_contingency(const std::vector<std::vector<double>>& table, bool correction) {
  if (table.empty()) raise<invalid_argument>("drift.chi2_contingency", "table has no rows");
  const std::size_t cols = table[0].size();
  for (std::size_t r = 0; r < table.size(); ++r) {
    if (table[r].size() != cols) {
      raise<dimension_mismatch>("drift.chi2_contingency", "row {} has {} columns, row 0 has {}", r,
                                table[r].size(), cols);
    }
    check_counts(table[r], "drift.chi2_contingency", "row");
  }
  std::vector<double> row_sum(table.size(), 0.0);
  std::vector<double> col_sum(cols, 0.0);
  for (std::size_t r = 0; r < table.size(); ++r) {
    for (std::size_t c = 0; c < cols; ++c) {
      row_sum[r] += table[r][c];
      col_sum[c] += table[r][c];
    }
  }
  std::vector<std::size_t> rows_kept;
  std::vector<std::size_t> cols_kept;
  for (std::size_t r = 0; r < table.size(); ++r) {
    if (row_sum[r] > 0) rows_kept.push_back(r);
  }
  for (std::size_t c = 0; c < cols; ++c) {
    if (col_sum[c] > 0) cols_kept.push_back(c);
  }
  if (rows_kept.empty() || cols_kept.empty()) {
    raise<invalid_argument>("drift.chi2_contingency", "table is all zeros");
  }
  double n = 0;
  for (std::size_t r : rows_kept) n += row_sum[r];
  chi2_result res;
  res.dof = (rows_kept.size() - 1) * (cols_kept.size() - 1);
  if (res.dof == 0) return res;  // scipy: chi2 = 0, p = 1
  // expected = outer(row sums, col sums) / n, as scipy.stats.contingency.expected_freq (which
  // multiplies the marginals then divides by n^(d-1)).
  double stat = 0;
  for (std::size_t r : rows_kept) {
    for (std::size_t c : cols_kept) {
      const double e = row_sum[r] * col_sum[c] / n;
      double o = table[r][c];
      if (res.dof == 1 && correction) {
        const double diff = e - o;
        const double mag = std::min(0.5, std::fabs(diff));
        o += mag * (diff > 0 ? 1.0 : (diff < 0 ? -1.0 : 0.0));
      }
      stat += (o - e) * (o - e) / e;
    }
  }
  res.statistic = stat;
  res.pvalue = stats::chi_square_sf(stat, static_cast<double>(res.dof));
  return res;
}

chi2_result chi2_two_sample(std::span<const double> ref, std::span<const double> live,
                            bool correction) {
  check_same_size(ref, live, "drift.chi2_two_sample");
  return chi2_contingency(
      {std::vector<double>(ref.begin(), ref.end()), std::vector<double>(live.begin(), live.end())},
      correction);
}

chi2_result chisquare(std::span<const double> obs, std::span<const double> exp) {
  check_same_size(obs, exp, "drift.chisquare");
  check_counts(obs, "drift.chisquare", "observed");
  if (obs.empty()) raise<invalid_argument>("drift.chisquare", "no categories");
  const double so = std::accumulate(obs.begin(), obs.end(), 0.0);
  const double se = std::accumulate(exp.begin(), exp.end(), 0.0);
  for (std::size_t i = 0; i < exp.size(); ++i) {
    if (!(exp[i] > 0) || std::isinf(exp[i])) {
      raise<invalid_argument>("drift.chisquare", "expected[{}] = {} must be > 0", i, exp[i]);
    }
  }
  if (std::fabs(so - se) > 1e-8 * std::max(so, se)) {
    raise<invalid_argument>("drift.chisquare",
                            "observed sum {} and expected sum {} differ (relative tolerance 1e-8)",
                            so, se);
  }
  chi2_result res;
  for (std::size_t i = 0; i < obs.size(); ++i) {
    res.statistic += (obs[i] - exp[i]) * (obs[i] - exp[i]) / exp[i];
  }
  res.dof = obs.size() - 1;
  res.pvalue = res.dof == 0 ? std::nan("")
                            : stats::chi_square_sf(res.statistic, static_cast<double>(res.dof));
  return res;
}

double jensen_shannon(std::span<const double> p, std::span<const double> q, double base) {
  check_same_size(p, q, "drift.jensen_shannon");
  check_counts(p, "drift.jensen_shannon", "p");
  check_counts(q, "drift.jensen_shannon", "q");
  const double sp = total(p, "drift.jensen_shannon", "p");
  const double sq = total(q, "drift.jensen_shannon", "q");
  auto rel_entr = [](double x, double y) {
    if (x > 0 && y > 0) return x * std::log(x / y);
    if (x == 0 && y >= 0) return 0.0;
    return std::numeric_limits<double>::infinity();
  };
  double left = 0;
  double right = 0;
  for (std::size_t k = 0; k < p.size(); ++k) {
    const double pk = p[k] / sp;
    const double qk = q[k] / sq;
    const double m = (pk + qk) / 2.0;
    left += rel_entr(pk, m);
    right += rel_entr(qk, m);
  }
  double js = left + right;
  if (base > 0) js /= std::log(base);
  return std::sqrt(std::max(js / 2.0, 0.0));
}

double hellinger(std::span<const double> p, std::span<const double> q) {
  check_same_size(p, q, "drift.hellinger");
  check_counts(p, "drift.hellinger", "p");
  check_counts(q, "drift.hellinger", "q");
  const double sp = total(p, "drift.hellinger", "p");
  const double sq = total(q, "drift.hellinger", "q");
  double s = 0;
  for (std::size_t k = 0; k < p.size(); ++k) {
    const double d = std::sqrt(p[k] / sp) - std::sqrt(q[k] / sq);
    s += d * d;
  }
  return std::sqrt(std::min(s / 2.0, 1.0));
}

double wasserstein_1_sorted(std::span<const double> u, std::span<const double> v) {
  if (u.empty() || v.empty()) {
    raise<invalid_argument>("drift.wasserstein_1", "samples must not be empty (sizes {} and {})",
                            u.size(), v.size());
  }
  // Integral of |U(x) - V(x)| over the pooled sorted values (scipy's _cdf_distance with p = 1).
  const double nu = static_cast<double>(u.size());
  const double nv = static_cast<double>(v.size());
  std::size_t i = 0;
  std::size_t j = 0;
  double prev = std::min(u[0], v[0]);
  double out = 0;
  while (i < u.size() || j < v.size()) {
    const double x = (j >= v.size() || (i < u.size() && u[i] <= v[j])) ? u[i] : v[j];
    out += std::fabs(static_cast<double>(i) / nu - static_cast<double>(j) / nv) * (x - prev);
    while (i < u.size() && u[i] == x) ++i;
    while (j < v.size() && v[j] == x) ++j;
    prev = x;
  }
  return out;
}

double wasserstein_1(std::span<const double> u, std::span<const double> v, nan_policy policy) {
  const auto su = sorted_finite(u, policy, "drift.wasserstein_1", "u");
  const auto sv = sorted_finite(v, policy, "drift.wasserstein_1", "v");
  return wasserstein_1_sorted(su, sv);
}

}  // namespace funnel::drift
