#include <funnel/features/detail.hpp>
#include <funnel/features/steps.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <concepts>
#include <map>
#include <type_traits>

namespace funnel::features {

namespace {

std::vector<double> sorted_copy(std::span<const double> v) {
  std::vector<double> s(v.begin(), v.end());
  std::sort(s.begin(), s.end());
  return s;
}

double mean_of(std::span<const double> v) {
  double s = 0.0;
  for (double x : v) s += x;
  return s / static_cast<double>(v.size());
}

/// sklearn's _handle_zeros_in_scale: a (near-)zero scale or range becomes 1.
double nonzero_scale(double r) noexcept {
  return r < 10.0 * std::numeric_limits<double>::epsilon() ? 1.0 : r;
}

/// 0 <= q_lo <= q_hi <= top (percentiles: 100, quantiles: 1), or an E raised as `id` whose message
/// starts with `where` (empty in fit, "<ctx>: " when loading).
template <class E>
void check_quantiles(std::string_view id, std::string_view where, double q_lo, double q_hi,
                     double top) {
  if (!(0.0 <= q_lo && q_lo <= q_hi && q_hi <= top)) {
    raise<E>(id, "{}need 0 <= q_lo {} <= q_hi {} <= {}", where, q_lo, q_hi, top);
  }
}

}  // namespace

double linear_quantile(std::span<const double> sorted, double q) noexcept {
  const auto n = static_cast<double>(sorted.size());
  // numpy 1.24, method "linear": virtual index (n - 1) * q, then _lerp's two-sided formula.
  double virtual_index = (n - 1.0) * q;
  virtual_index = std::clamp(virtual_index, 0.0, n - 1.0);
  const double lo_f = std::floor(virtual_index);
  const auto lo = static_cast<std::size_t>(lo_f);
  const std::size_t hi = std::min(lo + 1, sorted.size() - 1);
  const double t = virtual_index - lo_f;
  const double a = sorted[lo];
  const double b = sorted[hi];
  const double diff = b - a;
  return t >= 0.5 ? b - diff * (1.0 - t) : a + diff * t;
}

void standard_scaler::fit(std::span<const double> values) {
  mean = with_mean ? mean_of(values) : 0.0;
  scale = 1.0;
  if (with_std) {
    const double m = mean_of(values);
    double ss = 0.0;
    for (double x : values) ss += (x - m) * (x - m);
    scale = nonzero_scale(std::sqrt(ss / static_cast<double>(values.size())));
  }
}

void min_max_scaler::fit(std::span<const double> values) {
  if (!(lo < hi))
    raise<invalid_argument>("features.min_max_scaler", "lo {} must be < hi {}", lo, hi);
  const auto [mn, mx] = std::minmax_element(values.begin(), values.end());
  scale = (hi - lo) / nonzero_scale(*mx - *mn);
  offset = lo - *mn * scale;
}

void robust_scaler::fit(std::span<const double> values) {
  check_quantiles<invalid_argument>("features.robust_scaler", "", q_lo, q_hi, 100.0);
  const auto s = sorted_copy(values);
  center = with_centering ? linear_quantile(s, 0.5) : 0.0;
  scale = 1.0;
  if (with_scaling) {
    scale = nonzero_scale(linear_quantile(s, q_hi / 100.0) - linear_quantile(s, q_lo / 100.0));
  }
}

void winsorizer::fit(std::span<const double> values) {
  check_quantiles<invalid_argument>("features.winsorizer", "", q_lo, q_hi, 1.0);
  const auto s = sorted_copy(values);
  lo = linear_quantile(s, q_lo);
  hi = linear_quantile(s, q_hi);
}

void imputer::fit(std::span<const double> values) {
  switch (strategy) {
    case impute_strategy::mean:
      value = mean_of(values);
      break;
    case impute_strategy::median:
      value = linear_quantile(sorted_copy(values), 0.5);
      break;
    case impute_strategy::most_frequent: {
      std::map<double, std::size_t> counts;
      for (double x : values) ++counts[x];
      std::size_t best = 0;
      for (const auto& [x, c] : counts) {
        if (c > best) {  // ascending keys + strict '>' keeps the smallest value on ties
          best = c;
          value = x;
        }
      }
      break;
    }
    case impute_strategy::constant:
      break;
  }
}

void quantile_bucketizer::fit(std::span<const double> values) {
  if (num_bins < 2 || num_bins > max_quantile_bins) {
    raise<invalid_argument>("features.quantile_bucketizer", "num_bins {} must be in [2, {}]",
                            num_bins, max_quantile_bins);
  }
  const auto s = sorted_copy(values);
  edges.clear();
  const std::size_t n = s.size();
  if (rule == edge_rule::interpolate) {
    // sklearn 1.2: percentiles at linspace(0, 100, num_bins + 1), drop an edge within 1e-8 of its
    // predecessor (np.ediff1d), then the first and last surviving edges are the outer bounds.
    std::vector<double> kept{linear_quantile(s, 0.0)};
    double prev = kept.front();
    for (std::size_t k = 1; k <= num_bins; ++k) {
      const double q = static_cast<double>(k) * (100.0 / static_cast<double>(num_bins)) / 100.0;
      const double e = linear_quantile(s, q);
      if (e - prev > 1e-8) kept.push_back(e);
      prev = e;
    }
    if (kept.size() > 2) edges.assign(kept.begin() + 1, kept.end() - 1);
    return;
  }
  for (std::size_t k = 1; k < num_bins; ++k) {
    // The cut lies before the first sorted position >= k*n/num_bins where the value changes.
    std::size_t pos = (k * n + num_bins - 1) / num_bins;
    while (pos < n && pos > 0 && s[pos - 1] == s[pos]) ++pos;
    if (pos == 0 || pos >= n) continue;
    const double e = s[pos - 1] + (s[pos] - s[pos - 1]) / 2.0;
    if (!edges.empty() && e <= edges.back()) continue;
    edges.push_back(e);
  }
}

namespace {

constexpr std::array<std::string_view, 4> strategy_names = {"mean", "median", "most_frequent",
                                                            "constant"};
constexpr std::array<std::string_view, 2> rule_names = {"interpolate", "midpoint"};

// Each step lists its JSON fields once, in fields(io, step), in the order they
// are saved and checked; `io` is a json_writer (step_to_json) or a json_reader (step_from_json),
// so the saved layout and the loading rules cannot drift apart. Every field is read through
// core's strict layer (json_get / json_get_finite / json_get_in): a boolean is not a number,
// 1e999 never parses, and values are never dumped into messages.
struct json_writer {
  json& j;
  void flag(std::string_view k, bool v) { j[std::string(k)] = v; }
  void value(std::string_view k, double v) { j[std::string(k)] = v; }
  void scale(std::string_view k, double v) { value(k, v); }
  // JSON has no infinity: an absent bound (+-inf) is null.
  void bound(std::string_view k, double v) {
    j[std::string(k)] = std::isinf(v) ? json(nullptr) : json(v);
  }
  void edges(const std::vector<double>& e) {
    json a = json::array();
    for (double x : e) a.push_back(x);
    j["edges"] = std::move(a);
  }
  template <class E, std::size_t N>
  void choice(std::string_view k, E v, const std::array<std::string_view, N>& names,
              std::string_view) {
    j[std::string(k)] = std::string(names[static_cast<std::size_t>(v)]);
  }
  void num_bins(std::size_t v) { j["num_bins"] = v; }
  void quantiles(double q_lo, double q_hi, double) {
    value("q_lo", q_lo);
    value("q_hi", q_hi);
  }
  template <class F>
  void check(F&&) const noexcept {}
};

struct json_reader {
  const json& j;
  std::string_view ctx;
  void flag(std::string_view k, bool& v) { v = json_get<bool>(j, k, ctx); }
  void value(std::string_view k, double& v) { v = json_get_finite<double>(j, k, ctx); }
  // A fitted scale: finite and > 0 (fit never writes anything else; a loaded 0 would divide by 0).
  void scale(std::string_view k, double& v) {
    value(k, v);
    if (!(v > 0.0)) raise<parse_error>("features.numeric_step", "{}.{}: {} must be > 0", ctx, k, v);
  }
  void bound(std::string_view k, double& v) {
    const bool low = k == "lo";
    v = json_field(j, k, ctx).is_null()
            ? (low ? -1.0 : 1.0) * std::numeric_limits<double>::infinity()
            : json_get_finite<double>(j, k, ctx);
  }
  void edges(std::vector<double>& e) {
    e = detail::get_finite_numbers(j, "edges", ctx);
    for (std::size_t i = 1; i < e.size(); ++i) {
      if (!(e[i - 1] < e[i])) {
        raise<parse_error>("features.numeric_step", "{}.edges: not strictly increasing at index {}",
                           ctx, i);
      }
    }
  }
  template <class E, std::size_t N>
  void choice(std::string_view k, E& v, const std::array<std::string_view, N>& names,
              std::string_view what) {
    const auto s = json_get<std::string>(j, k, ctx);
    const auto it = std::find(names.begin(), names.end(), s);
    if (it == names.end()) {
      raise<parse_error>("features.numeric_step", "{}.{}: unknown {} '{}'", ctx, k, what, s);
    }
    v = static_cast<E>(it - names.begin());
  }
  // "n_bins": the key of 0.1 documents.
  void num_bins(std::size_t& v) {
    v = json_get_in<std::size_t>(j, json_key_or_legacy(j, "num_bins", "n_bins"), 2,
                                 max_quantile_bins, ctx);
  }
  /// "q_lo" and "q_hi", with 0 <= q_lo <= q_hi <= top.
  void quantiles(double& q_lo, double& q_hi, double top) {
    value("q_lo", q_lo);
    value("q_hi", q_hi);
    check_quantiles<parse_error>("features.numeric_step", fmt::format("{}: ", ctx), q_lo, q_hi,
                                 top);
  }
  /// Runs a check of the values read so far; `f(ctx)` raises parse_error.
  template <class F>
  void check(F&& f) const {
    f(ctx);
  }
};

/// @brief A step of type T, const (written) or not (read).
template <class S, class T>
concept step_of = std::same_as<std::remove_const_t<S>, T>;

template <class Io>
void fields(Io& io, step_of<standard_scaler> auto& s) {
  io.flag("with_mean", s.with_mean);
  io.flag("with_std", s.with_std);
  io.value("mean", s.mean);
  io.scale("scale", s.scale);
}

template <class Io>
void fields(Io& io, step_of<min_max_scaler> auto& s) {
  io.value("lo", s.lo);
  io.value("hi", s.hi);
  io.check([&](std::string_view ctx) {
    if (!(s.lo < s.hi))
      raise<parse_error>("features.numeric_step", "{}: lo {} must be < hi {}", ctx, s.lo, s.hi);
  });
  io.scale("scale", s.scale);
  io.value("offset", s.offset);
}

template <class Io>
void fields(Io& io, step_of<robust_scaler> auto& s) {
  io.quantiles(s.q_lo, s.q_hi, 100.0);
  io.flag("with_centering", s.with_centering);
  io.flag("with_scaling", s.with_scaling);
  io.value("center", s.center);
  io.scale("scale", s.scale);
}

template <class Io>
void fields(Io& io, step_of<log_transform> auto& s) {
  io.flag("signed", s.signed_log);
}

/// @brief lo <= hi of a loaded clamp (clip, winsorizer).
void check_ordered_bounds(std::string_view ctx, double lo, double hi) {
  if (!(lo <= hi)) raise<parse_error>("features.numeric_step", "{}: lo {} > hi {}", ctx, lo, hi);
}

template <class Io>
void fields(Io& io, step_of<clip> auto& s) {
  io.bound("lo", s.lo);
  io.bound("hi", s.hi);
  io.check([&](std::string_view ctx) { check_ordered_bounds(ctx, s.lo, s.hi); });
}

template <class Io>
void fields(Io& io, step_of<winsorizer> auto& s) {
  io.quantiles(s.q_lo, s.q_hi, 1.0);
  io.value("lo", s.lo);
  io.value("hi", s.hi);
  io.check([&](std::string_view ctx) { check_ordered_bounds(ctx, s.lo, s.hi); });
}

template <class Io>
void fields(Io& io, step_of<imputer> auto& s) {
  io.choice("strategy", s.strategy, strategy_names, "strategy");
  io.value("value", s.value);
}

template <class Io>
void fields(Io& io, step_of<quantile_bucketizer> auto& s) {
  io.num_bins(s.num_bins);
  io.choice("rule", s.rule, rule_names, "edge rule");
  io.edges(s.edges);
}

template <class Io>
void fields(Io& io, step_of<fixed_bucketizer> auto& s) {
  io.edges(s.edges);
}

}  // namespace

bool needs_data(const numeric_step& s) noexcept {
  return std::visit(
      [](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, imputer>) return x.strategy != impute_strategy::constant;
        return !(std::is_same_v<T, log_transform> || std::is_same_v<T, clip> ||
                 std::is_same_v<T, fixed_bucketizer>);
      },
      s);
}

std::string_view step_name(const numeric_step& s) noexcept {
  return std::visit([](const auto& x) { return std::decay_t<decltype(x)>::type_name; }, s);
}

json step_to_json(const numeric_step& s) {
  json j;
  j["type"] = std::string(step_name(s));
  json_writer w{j};
  std::visit([&](const auto& x) { fields(w, x); }, s);
  return j;
}

namespace {
template <std::size_t I = 0>
numeric_step make_step(std::string_view name, const json& j, std::string_view ctx) {
  if constexpr (I == std::variant_size_v<numeric_step>) {
    raise<parse_error>("features.numeric_step", "{}.type: unknown numeric step '{}'", ctx, name);
  } else {
    using T = std::variant_alternative_t<I, numeric_step>;
    if (T::type_name == name) {
      T t;
      json_reader r{j, ctx};
      fields(r, t);
      return t;
    }
    return make_step<I + 1>(name, j, ctx);
  }
}
}  // namespace

numeric_step step_from_json(const json& j, std::string_view ctx) {
  const auto name = json_get<std::string>(j, "type", ctx);
  return make_step(name, j, ctx);
}

}  // namespace funnel::features
