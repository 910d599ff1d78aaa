// The two-sided one-sample Kolmogorov distribution (scipy.stats.kstwo) and the one-sided Smirnov
// survival function (scipy.special.smirnov), transcribed from scipy 1.10.1:
//   scipy/stats/_ksstats.py          (_kolmogn, _kolmogn_DMTW, _kolmogn_Pomeranz,
//   _kolmogn_PelzGood) scipy/special/cephes/kolmogorov.c (_smirnov, lower summation)
// scipy computes Smirnov's sum in double-double arithmetic; here each term is evaluated in log
// space in long double, which keeps the relative error of the sum near 1e-15 (far inside the 1e-10
// the tests demand). The algorithm selection (which method for which (n, x)) is scipy's, exactly.
#include <funnel/core/error.hpp>
#include <funnel/stats/kolmogorov.hpp>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <numbers>
#include <vector>

namespace funnel::stats {
namespace {

constexpr int e128 = 128;
const long double ep128 = std::ldexp(1.0L, 128);
const long double em128 = std::ldexp(1.0L, -128);
constexpr double sqrt2pi = 2.5066282746310002;  // np.sqrt(2 * np.pi)
constexpr double log_2pi = 1.8378770664093453;  // np.log(2 * np.pi)
constexpr double min_log = -708;
constexpr double pi_squared = std::numbers::pi * std::numbers::pi;
constexpr double pi_four = pi_squared * pi_squared;
constexpr double pi_six = pi_four * pi_squared;
constexpr double cephes_minlog = -7.451332191019412076235E2;
constexpr int smirnov_max_compute_n = 1000000;

double clip01(double p) {
  return std::clamp(p, 0.0, 1.0);
}
double select_clip(double cdfprob, double sfprob, bool cdf) {
  return clip01(cdf ? cdfprob : sfprob);
}

double log_nfactorial_div_n_pow_n(double n) {
  static constexpr double coeffs[] = {-2.955065359477124183e-2,  6.4102564102564102564e-3,
                                      -1.9175269175269175269e-3, 8.4175084175084175084e-4,
                                      -5.952380952380952381e-4,  7.9365079365079365079e-4,
                                      -2.7777777777777777778e-3, 8.3333333333333333333e-2};
  const double rn = 1.0 / n;
  const double z = rn / n;
  double poly = 0;
  for (double c : coeffs) poly = poly * z + c;  // np.polyval (Horner)
  return std::log(n) / 2 - n + log_2pi / 2 + rn * poly;
}

// Durbin matrix with Marsaglia-Tsang-Wang scaling: Pr(D_n <= d).
double kolmogn_dmtw(int n, double d) {
  if (d >= 1.0) return 1.0;
  const double nd = n * d;
  if (nd <= 0.5) return 0.0;
  const int k = static_cast<int>(std::ceil(nd));
  const double h = k - nd;
  const int m = 2 * k - 1;
  const auto um = static_cast<std::size_t>(m);
  std::vector<double> H(um * um, 0.0);
  std::vector<double> v(um);
  std::vector<double> w(um);
  double fac = 1.0;
  for (int j = 1; j <= m; ++j) {
    v[static_cast<std::size_t>(j - 1)] = 1.0 - std::pow(h, j);
    w[static_cast<std::size_t>(j - 1)] = fac;
    fac /= j;
    v[static_cast<std::size_t>(j - 1)] *= fac;
  }
  const double tt = std::pow(std::max(2 * h - 1.0, 0.0), m) - 2 * std::pow(h, m);
  v[um - 1] = (1.0 + tt) * fac;
  for (std::size_t i = 1; i < um; ++i) {
    for (std::size_t r = i - 1; r < um; ++r) H[r * um + i] = w[r - (i - 1)];
  }
  for (std::size_t r = 0; r < um; ++r) H[r * um] = v[r];
  for (std::size_t c = 0; c < um; ++c) H[(um - 1) * um + c] = v[um - 1 - c];

  std::vector<double> P(um * um, 0.0);
  for (std::size_t i = 0; i < um; ++i) P[i * um + i] = 1.0;
  std::vector<double> tmp(um * um);
  auto matmul = [&](const std::vector<double>& A, const std::vector<double>& B,
                    std::vector<double>& out) {
    std::fill(tmp.begin(), tmp.end(), 0.0);
    for (std::size_t i = 0; i < um; ++i) {
      for (std::size_t l = 0; l < um; ++l) {
        const double a = A[i * um + l];
        if (a == 0.0) continue;
        for (std::size_t j = 0; j < um; ++j) tmp[i * um + j] += a * B[l * um + j];
      }
    }
    out.swap(tmp);
    tmp.resize(um * um);
  };
  int nn = n;
  long expnt = 0;
  long hexpnt = 0;
  const auto kk = static_cast<std::size_t>(k - 1);
  while (nn > 0) {
    if (nn % 2) {
      matmul(P, H, P);
      expnt += hexpnt;
    }
    matmul(H, H, H);
    hexpnt *= 2;
    if (std::fabs(H[kk * um + kk]) > ep128) {
      for (double& x : H) x = static_cast<double>(x / ep128);
      hexpnt += e128;
    }
    nn /= 2;
  }
  long double p = P[kk * um + kk];
  for (int i = 1; i <= n; ++i) {
    p = i * p / n;
    if (std::fabs(p) < em128) {
      p *= ep128;
      expnt -= e128;
    }
  }
  if (expnt != 0) p = std::ldexp(p, static_cast<int>(expnt));
  return clip01(static_cast<double>(p));
}

std::pair<int, int> pomeranz_j1j2(int i, int n, int ll, int ceilf, int roundf) {
  int j1 = 0;
  int j2 = 0;
  if (i == 0) {
    j1 = -ll - ceilf - 1;
    j2 = ll + ceilf - 1;
  } else {
    const int ip1div2 = (i + 1) / 2;
    const int ip1mod2 = (i + 1) % 2;
    if (ip1mod2 == 0) {
      if (ip1div2 == n + 1) {
        j1 = n - ll - ceilf - 1;
        j2 = n + ll + ceilf - 1;
      } else {
        j1 = ip1div2 - 1 - ll - roundf - 1;
        j2 = ip1div2 + ll - 1 + ceilf - 1;
      }
    } else {
      j1 = ip1div2 - 1 - ll - 1;
      j2 = ip1div2 + ll + roundf - 1;
    }
  }
  return {std::max(j1 + 2, 0), std::min(j2, n)};
}

// Pomeranz recursion: Pr(D_n <= x).
double kolmogn_pomeranz(int n, double x) {
  const double t = n * x;
  const int ll = static_cast<int>(std::floor(t));
  const double f = t - ll;
  const double g = std::min(f, 1.0 - f);
  const int ceilf = f > 0 ? 1 : 0;
  const int roundf = f > 0.5 ? 1 : 0;
  const int npwrs = 2 * (ll + 1);
  const auto un = static_cast<std::size_t>(npwrs);
  std::vector<double> gpower(un);
  std::vector<double> twogpower(un);
  std::vector<double> onem2gpower(un);
  gpower[0] = twogpower[0] = onem2gpower[0] = 1.0;
  long expnt = 0;
  const double g_over_n = g / n;
  const double two_g_over_n = 2 * g / n;
  const double one_minus_two_g_over_n = (1 - 2 * g) / n;
  for (std::size_t m = 1; m < un; ++m) {
    const auto dm = static_cast<double>(m);
    gpower[m] = gpower[m - 1] * g_over_n / dm;
    twogpower[m] = twogpower[m - 1] * two_g_over_n / dm;
    onem2gpower[m] = onem2gpower[m - 1] * one_minus_two_g_over_n / dm;
  }
  std::vector<double> V0(un, 0.0);
  std::vector<double> V1(un, 0.0);
  V1[0] = 1;
  int V0s = 0;
  int V1s = 0;
  auto [j1, j2] = pomeranz_j1j2(0, n, ll, ceilf, roundf);
  std::vector<double> conv;
  for (int i = 1; i < 2 * n + 2; ++i) {
    const int k1 = j1;
    std::swap(V0, V1);
    std::swap(V0s, V1s);
    std::fill(V1.begin(), V1.end(), 0.0);
    std::tie(j1, j2) = pomeranz_j1j2(i, n, ll, ceilf, roundf);
    const std::vector<double>& pwrs =
        (i == 1 || i == 2 * n + 1) ? gpower : (i % 2 ? twogpower : onem2gpower);
    const int ln2 = j2 - k1 + 1;
    if (ln2 > 0) {
      // conv = np.convolve(V0[k1 - V0s : k1 - V0s + ln2], pwrs[:ln2]) (slices clipped like numpy)
      const int a0 = k1 - V0s;
      const int alen = std::max(0, std::min(ln2, npwrs - a0));
      const int blen = std::min(ln2, npwrs);
      const int clen = alen + blen - 1;
      const int conv_start = j1 - k1;
      const int conv_len = j2 - j1 + 1;
      for (int c = 0; c < conv_len; ++c) {
        const int tix = conv_start + c;
        double s = 0;
        if (tix >= 0 && tix < clen) {
          const int lo = std::max(0, tix - (blen - 1));
          const int hi = std::min(alen - 1, tix);
          for (int q = lo; q <= hi; ++q) {
            s += V0[static_cast<std::size_t>(a0 + q)] * pwrs[static_cast<std::size_t>(tix - q)];
          }
        }
        V1[static_cast<std::size_t>(c)] = s;
      }
      const double mx = *std::max_element(V1.begin(), V1.end());
      if (0 < mx && mx < em128) {
        for (double& y : V1) y = static_cast<double>(y * ep128);
        expnt -= e128;
      }
      V1s = V0s + j1 - k1;
    }
  }
  long double ans = V1[static_cast<std::size_t>(n - V1s)];
  for (int m = 1; m <= n; ++m) {
    if (std::fabs(ans) > ep128) {
      ans *= em128;
      expnt += e128;
    }
    ans *= m;
  }
  if (expnt != 0) ans = std::ldexp(ans, static_cast<int>(expnt));
  return clip01(static_cast<double>(ans));
}

// Pelz-Good asymptotic series: Pr(D_n <= x) (cdf) or its complement.
double kolmogn_pelz_good(int n, double x, bool cdf) {
  if (x <= 0.0) return select_clip(0.0, 1.0, cdf);
  if (x >= 1.0) return select_clip(1.0, 0.0, cdf);
  const double z = std::sqrt(static_cast<double>(n)) * x;
  const double zsquared = z * z;
  const double zthree = z * z * z;
  const double zfour = std::pow(z, 4);
  const double zsix = std::pow(z, 6);
  const double qlog = -pi_squared / 8 / zsquared;
  if (qlog < min_log) return select_clip(0.0, 1.0, cdf);
  double q = std::exp(qlog);
  const double k1a = -zsquared;
  const double k1b = pi_squared / 4;
  const double k2a = 6 * zsix + 2 * zfour;
  const double k2b = (2 * zfour - 5 * zsquared) * pi_squared / 4;
  const double k2c = pi_four * (1 - 2 * zsquared) / 16;
  const double k3d = pi_six * (5 - 30 * zsquared) / 64;
  const double k3c = pi_four * (-60 * zsquared + 212 * zfour) / 16;
  const double k3b = pi_squared * (135 * zfour - 96 * zsix) / 4;
  const double k3a = -30 * zsix - 90 * std::pow(z, 8);
  double K[4] = {0, 0, 0, 0};
  const int maxk = static_cast<int>(std::ceil(16 * z / std::numbers::pi));
  for (int k = maxk; k > 0; --k) {
    const double m = 2.0 * k - 1;
    const double msquared = m * m;
    const double mfour = std::pow(m, 4);
    const double msix = std::pow(m, 6);
    const double qpower = std::pow(q, 8 * k);
    const double coeffs[4] = {1.0, k1a + k1b * msquared, k2a + k2b * msquared + k2c * mfour,
                              k3a + k3b * msquared + k3c * mfour + k3d * msix};
    for (int i = 0; i < 4; ++i) K[i] = K[i] * qpower + coeffs[i];
  }
  const double denom[4] = {z, 6 * zfour, 72 * std::pow(z, 7), 6480 * std::pow(z, 10)};
  for (int i = 0; i < 4; ++i) K[i] = K[i] * q * sqrt2pi / denom[i];
  q = std::exp(-pi_squared / 2 / zsquared);
  const double sqrt3z = std::sqrt(3.0) * z;
  double k2extra = 0;
  double k3extra = 0;
  for (int k = maxk; k > 0; --k) {
    const double ksq = static_cast<double>(k) * k;
    const double qp = std::pow(q, ksq);
    const double kspi = std::numbers::pi * k;
    k2extra += ksq * qp;
    k3extra += (sqrt3z + kspi) * (sqrt3z - kspi) * ksq * qp;
  }
  K[2] += k2extra * (pi_squared * sqrt2pi / (-36 * zthree));
  K[3] += k3extra * (pi_squared * sqrt2pi / (216 * zsix));
  const double dn = n;
  K[1] /= std::sqrt(dn);
  K[2] /= dn;
  K[3] /= std::pow(dn, 1.5);
  if (!cdf) {
    for (double& k : K) k = -k;
    K[0] += 1;
  }
  return K[0] + K[1] + K[2] + K[3];
}

// floor(n x) and its fractional part, computed exactly (scipy uses double-double).
double mod_nx(int n, double x, int* nxfloor) {
  const double hi = n * x;
  const double lo = std::fma(static_cast<double>(n), x, -hi);
  double fl = std::floor(hi);
  double frac = 0;
  if (fl == hi) {
    if (lo < 0) {
      fl -= 1;
      frac = 1.0 + lo;
    } else {
      frac = lo;
    }
  } else {
    frac = (hi - fl) + lo;
    if (frac < 0) {
      fl -= 1;
      frac += 1;
    }
  }
  if (frac >= 1.0) {
    fl += 1;
    frac = 0;
  }
  *nxfloor = static_cast<int>(fl);
  return frac;
}

double kolmogn(int n, double x, bool cdf) {
  if (x >= 1.0) return select_clip(1.0, 0.0, cdf);
  if (x <= 0.0) return select_clip(0.0, 1.0, cdf);
  const double t = n * x;
  if (t <= 1.0) {
    if (t <= 0.5) return select_clip(0.0, 1.0, cdf);
    double prob = 0;
    if (n <= 140) {
      prob = 1.0;
      const double inv = 1.0 / n;
      for (int i = 1; i <= n; ++i) prob *= i * inv * (2 * t - 1);
    } else {
      prob = std::exp(log_nfactorial_div_n_pow_n(n) + n * std::log(2 * t - 1));
    }
    return select_clip(prob, 1.0 - prob, cdf);
  }
  if (t >= n - 1) {
    const double prob = 2 * std::pow(1.0 - x, n);
    return select_clip(1 - prob, prob, cdf);
  }
  if (x >= 0.5) {
    const double prob = 2 * smirnov_sf(n, x);
    return select_clip(1.0 - prob, prob, cdf);
  }
  const double nxsquared = t * x;
  if (n <= 140) {
    if (nxsquared <= 0.754693) {
      const double prob = kolmogn_dmtw(n, x);
      return select_clip(prob, 1.0 - prob, cdf);
    }
    if (nxsquared <= 4) {
      const double prob = kolmogn_pomeranz(n, x);
      return select_clip(prob, 1.0 - prob, cdf);
    }
    const double prob = 2 * smirnov_sf(n, x);
    return select_clip(1.0 - prob, prob, cdf);
  }
  if (!cdf) {
    if (nxsquared >= 370.0) return 0.0;
    if (nxsquared >= 2.2) return clip01(2 * smirnov_sf(n, x));
  }
  double cdfprob = 0;
  if (nxsquared >= 18.0) {
    cdfprob = 1.0;
  } else if (n <= 100000 && n * std::pow(x, 1.5) <= 1.4) {
    cdfprob = kolmogn_dmtw(n, x);
  } else {
    cdfprob = kolmogn_pelz_good(n, x, true);
  }
  return select_clip(cdfprob, 1.0 - cdfprob, cdf);
}

int checked_n(std::size_t n) {
  if (n == 0) raise<invalid_argument>("stats.kstwo", "n must be >= 1, got 0");
  if (n > 0x7fffffffU) raise<invalid_argument>("stats.kstwo", "n = {} is too large", n);
  return static_cast<int>(n);
}

}  // namespace

double smirnov_sf(int n, double x) {
  if (std::isnan(x)) return std::nan("");
  if (!(n > 0 && x >= 0.0 && x <= 1.0)) return std::nan("");
  if (n == 1) return 1 - x;
  if (x == 0.0) return 1.0;
  if (x == 1.0) return 0.0;
  int nxfl = 0;
  const double alpha = mod_nx(n, x, &nxfl);
  int n1mxfl = n - nxfl - (alpha == 0 ? 0 : 1);
  if (alpha == 0) n1mxfl -= 1;
  if (nxfl == 0 || (nxfl == 1 && alpha == 0)) {
    const long double tpow = std::pow(1.0L + x, n - 1);
    return static_cast<double>(1.0L - x * tpow);
  }
  if (-2 * n * x * x < cephes_minlog) return 0.0;
  if (nxfl >= n - 1) return static_cast<double>(std::pow(1.0L - x, n));
  if (n > smirnov_max_compute_n) {
    const double logp = -std::pow(6.0 * n * x + 1, 2) / 18.0 / n;
    return logp < -std::numbers::ln2 ? std::exp(logp) : 1 - (-std::expm1(logp));
  }
  // Lower sum: sf = x * sum_{v=0}^{floor(n(1-x))} C(n,v) (1-x-v/n)^(n-v) (x+v/n)^(v-1).
  const int n_terms = n1mxfl + 1;
  const int vmid = n / 2;
  const long double lx = x;
  const long double ln = n;
  long double sum = std::pow(1.0L - lx, n) / lx;
  long double log_c = std::log(ln);  // log C(n, 1)
  for (int j = 1; j < n_terms; ++j) {
    const long double base2 = (ln - j) / ln - lx;
    const long double base1 = lx + j / ln;
    long double aj = 0;
    if (base2 > 0) aj = std::exp(log_c + (n - j) * std::log(base2) + (j - 1) * std::log(base1));
    if (std::isfinite(aj) && aj != 0) sum += aj;
    if (aj != 0) {
      if (4.0 * (n_terms - j) * std::fabs(static_cast<double>(aj)) <
              DBL_EPSILON * static_cast<double>(sum) &&
          j != n_terms - 1) {
        break;
      }
    } else if (j > vmid) {
      break;
    }
    log_c += std::log((ln - j) / (j + 1.0L));
  }
  return clip01(static_cast<double>(lx * sum));
}

namespace {

// kstwo's cdf (`cdf`) or survival function, with scipy's clamping outside (1/2n, 1).
double kstwo(double x, std::size_t n, bool cdf) {
  const int ni = checked_n(n);
  if (std::isnan(x)) return x;
  if (x <= 0.5 / ni) return cdf ? 0.0 : 1.0;
  if (x >= 1.0) return cdf ? 1.0 : 0.0;
  return kolmogn(ni, x, cdf);
}

}  // namespace

double kstwo_sf(double x, std::size_t n) {
  return kstwo(x, n, false);
}

double kstwo_cdf(double x, std::size_t n) {
  return kstwo(x, n, true);
}

}  // namespace funnel::stats
