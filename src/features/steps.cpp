#include <funnel/features/detail.hpp>
#include <funnel/features/steps.hpp>

#include <cmath>
#include <map>

namespace funnel::features {

namespace {

// Every field is read through core's strict layer (json_get / json_get_finite / json_get_in):
// a boolean is not a number, 1e999 never parses, and values are never dumped into messages.
std::vector<double> get_edges(const json& j, std::string_view ctx) {
  auto e = detail::get_finite_numbers(j, "edges", ctx);
  for (std::size_t i = 1; i < e.size(); ++i) {
    if (!(e[i - 1] < e[i])) {
      raise<parse_error>("features.numeric_step", "{}.edges: not strictly increasing at index {}",
                         ctx, i);
    }
  }
  return e;
}

/// A fitted scale: finite and > 0 (fit never writes anything else; a loaded 0 would divide by 0).
double get_scale(const json& j, std::string_view ctx) {
  const double v = json_get_finite<double>(j, "scale", ctx);
  if (!(v > 0.0)) raise<parse_error>("features.numeric_step", "{}.scale: {} must be > 0", ctx, v);
  return v;
}

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
    const double sd = std::sqrt(ss / static_cast<double>(values.size()));
    // sklearn's _handle_zeros_in_scale: a (near-)zero scale becomes 1.
    scale = sd < 10.0 * std::numeric_limits<double>::epsilon() ? 1.0 : sd;
  }
}
void standard_scaler::to_json(json& j) const {
  j["with_mean"] = with_mean;
  j["with_std"] = with_std;
  j["mean"] = mean;
  j["scale"] = scale;
}
void standard_scaler::from_json(const json& j, std::string_view ctx) {
  with_mean = json_get<bool>(j, "with_mean", ctx);
  with_std = json_get<bool>(j, "with_std", ctx);
  mean = json_get_finite<double>(j, "mean", ctx);
  scale = get_scale(j, ctx);
}

void min_max_scaler::fit(std::span<const double> values) {
  if (!(lo < hi))
    raise<invalid_argument>("features.min_max_scaler", "lo {} must be < hi {}", lo, hi);
  const auto [mn, mx] = std::minmax_element(values.begin(), values.end());
  double range = *mx - *mn;
  if (range < 10.0 * std::numeric_limits<double>::epsilon()) range = 1.0;
  scale = (hi - lo) / range;
  offset = lo - *mn * scale;
}
void min_max_scaler::to_json(json& j) const {
  j["lo"] = lo;
  j["hi"] = hi;
  j["scale"] = scale;
  j["offset"] = offset;
}
void min_max_scaler::from_json(const json& j, std::string_view ctx) {
  lo = json_get_finite<double>(j, "lo", ctx);
  hi = json_get_finite<double>(j, "hi", ctx);
  if (!(lo < hi))
    raise<parse_error>("features.numeric_step", "{}: lo {} must be < hi {}", ctx, lo, hi);
  scale = get_scale(j, ctx);
  offset = json_get_finite<double>(j, "offset", ctx);
}

void robust_scaler::fit(std::span<const double> values) {
  if (!(0.0 <= q_lo && q_lo <= q_hi && q_hi <= 100.0)) {
    raise<invalid_argument>("features.robust_scaler", "need 0 <= q_lo {} <= q_hi {} <= 100", q_lo,
                            q_hi);
  }
  const auto s = sorted_copy(values);
  center = with_centering ? linear_quantile(s, 0.5) : 0.0;
  scale = 1.0;
  if (with_scaling) {
    const double r = linear_quantile(s, q_hi / 100.0) - linear_quantile(s, q_lo / 100.0);
    scale = r < 10.0 * std::numeric_limits<double>::epsilon() ? 1.0 : r;
  }
}
void robust_scaler::to_json(json& j) const {
  j["q_lo"] = q_lo;
  j["q_hi"] = q_hi;
  j["with_centering"] = with_centering;
  j["with_scaling"] = with_scaling;
  j["center"] = center;
  j["scale"] = scale;
}
void robust_scaler::from_json(const json& j, std::string_view ctx) {
  q_lo = json_get_finite<double>(j, "q_lo", ctx);
  q_hi = json_get_finite<double>(j, "q_hi", ctx);
  if (!(0.0 <= q_lo && q_lo <= q_hi && q_hi <= 100.0)) {
    raise<parse_error>("features.numeric_step", "{}: need 0 <= q_lo {} <= q_hi {} <= 100", ctx,
                       q_lo, q_hi);
  }
  with_centering = json_get<bool>(j, "with_centering", ctx);
  with_scaling = json_get<bool>(j, "with_scaling", ctx);
  center = json_get_finite<double>(j, "center", ctx);
  scale = get_scale(j, ctx);
}

void log_transform::to_json(json& j) const {
  j["signed"] = signed_log;
}
void log_transform::from_json(const json& j, std::string_view ctx) {
  signed_log = json_get<bool>(j, "signed", ctx);
}

void clip::to_json(json& j) const {
  // JSON has no infinity: an absent bound is null.
  j["lo"] = std::isinf(lo) ? json(nullptr) : json(lo);
  j["hi"] = std::isinf(hi) ? json(nullptr) : json(hi);
}
void clip::from_json(const json& j, std::string_view ctx) {
  lo = json_field(j, "lo", ctx).is_null() ? -std::numeric_limits<double>::infinity()
                                          : json_get_finite<double>(j, "lo", ctx);
  hi = json_field(j, "hi", ctx).is_null() ? std::numeric_limits<double>::infinity()
                                          : json_get_finite<double>(j, "hi", ctx);
  if (!(lo <= hi)) raise<parse_error>("features.numeric_step", "{}: lo {} > hi {}", ctx, lo, hi);
}

void winsorizer::fit(std::span<const double> values) {
  if (!(0.0 <= q_lo && q_lo <= q_hi && q_hi <= 1.0)) {
    raise<invalid_argument>("features.winsorizer", "need 0 <= q_lo {} <= q_hi {} <= 1", q_lo, q_hi);
  }
  const auto s = sorted_copy(values);
  lo = linear_quantile(s, q_lo);
  hi = linear_quantile(s, q_hi);
}
void winsorizer::to_json(json& j) const {
  j["q_lo"] = q_lo;
  j["q_hi"] = q_hi;
  j["lo"] = lo;
  j["hi"] = hi;
}
void winsorizer::from_json(const json& j, std::string_view ctx) {
  q_lo = json_get_finite<double>(j, "q_lo", ctx);
  q_hi = json_get_finite<double>(j, "q_hi", ctx);
  if (!(0.0 <= q_lo && q_lo <= q_hi && q_hi <= 1.0)) {
    raise<parse_error>("features.numeric_step", "{}: need 0 <= q_lo {} <= q_hi {} <= 1", ctx, q_lo,
                       q_hi);
  }
  lo = json_get_finite<double>(j, "lo", ctx);
  hi = json_get_finite<double>(j, "hi", ctx);
  if (!(lo <= hi)) raise<parse_error>("features.numeric_step", "{}: lo {} > hi {}", ctx, lo, hi);
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
namespace {
constexpr std::string_view strategy_names[] = {"mean", "median", "most_frequent", "constant"};
}
void imputer::to_json(json& j) const {
  j["strategy"] = std::string(strategy_names[static_cast<int>(strategy)]);
  j["value"] = value;
}
void imputer::from_json(const json& j, std::string_view ctx) {
  const auto s = json_get<std::string>(j, "strategy", ctx);
  bool found = false;
  for (int i = 0; i < 4; ++i) {
    if (strategy_names[i] == s) {
      strategy = static_cast<impute_strategy>(i);
      found = true;
    }
  }
  if (!found)
    raise<parse_error>("features.numeric_step", "{}.strategy: unknown strategy '{}'", ctx, s);
  value = json_get_finite<double>(j, "value", ctx);
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
json edges_json(const std::vector<double>& e) {
  json a = json::array();
  for (double x : e) a.push_back(x);
  return a;
}
}  // namespace
void quantile_bucketizer::to_json(json& j) const {
  j["num_bins"] = num_bins;
  j["rule"] = rule == edge_rule::interpolate ? "interpolate" : "midpoint";
  j["edges"] = edges_json(edges);
}
void quantile_bucketizer::from_json(const json& j, std::string_view ctx) {
  // "n_bins": the key of 0.1 documents.
  num_bins = json_get_in<std::size_t>(j, json_key_or_legacy(j, "num_bins", "n_bins"), 2,
                                      max_quantile_bins, ctx);
  const auto r = json_get<std::string>(j, "rule", ctx);
  if (r == "interpolate") {
    rule = edge_rule::interpolate;
  } else if (r == "midpoint") {
    rule = edge_rule::midpoint;
  } else {
    raise<parse_error>("features.numeric_step", "{}.rule: unknown edge rule '{}'", ctx, r);
  }
  edges = get_edges(j, ctx);
}

void fixed_bucketizer::to_json(json& j) const {
  j["edges"] = edges_json(edges);
}
void fixed_bucketizer::from_json(const json& j, std::string_view ctx) {
  edges = get_edges(j, ctx);
}

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
  std::visit([&](const auto& x) { x.to_json(j); }, s);
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
      t.from_json(j, ctx);
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
