#include <funnel/core/serialize.hpp>
#include <funnel/scoring/logistic_ftrl.hpp>

#include <cmath>
#include <string_view>

#include "core/json_document.hpp"
#include "scoring/feature_names.hpp"

namespace funnel::scoring {

// The document this file writes and reads, with the type strings earlier releases wrote.
namespace {
constexpr funnel::detail::document_kind ftrl_document{"funnel.scoring.ftrl_logistic", 2,
                                                      "ftrl_logistic"};

constexpr std::string_view where = ftrl_document.id();

double sigmoid(double z) noexcept {
  if (z >= 0) return 1.0 / (1.0 + std::exp(-z));
  const double e = std::exp(z);
  return e / (1.0 + e);
}

void check_options(const ftrl_options& o) {
  if (o.num_features == 0) raise<invalid_argument>(where, "num_features must be > 0");
  // The state is 16 bytes per coordinate, allocated here: 2^32 (what 32-bit indices address)
  // would be 64 GiB.
  if (o.num_features > ftrl_max_features) {
    raise<invalid_argument>(where, "num_features = {} exceeds ftrl_max_features = {} (2^30)",
                            o.num_features, ftrl_max_features);
  }
  if (!(o.alpha > 0) || !std::isfinite(o.alpha))
    raise<invalid_argument>(where, "alpha = {} must be > 0", o.alpha);
  if (!(o.beta >= 0) || !std::isfinite(o.beta))
    raise<invalid_argument>(where, "beta = {} must be >= 0", o.beta);
  if (!(o.l1 >= 0) || !std::isfinite(o.l1))
    raise<invalid_argument>(where, "l1 = {} must be >= 0", o.l1);
  if (!(o.l2 >= 0) || !std::isfinite(o.l2))
    raise<invalid_argument>(where, "l2 = {} must be >= 0", o.l2);
  if (!o.feature_names.empty() && o.feature_names.size() != o.num_features) {
    raise<dimension_mismatch>(where, "{} feature names for num_features = {}",
                              o.feature_names.size(), o.num_features);
  }
  detail::check_unique_names(o.feature_names, where);
}

void check_example(int y, double weight) {
  if (y != 0 && y != 1) raise<invalid_argument>(where, "label {} is not 0 or 1", y);
  if (!std::isfinite(weight) || weight < 0) {
    raise<invalid_argument>(where, "weight {} must be finite and >= 0", weight);
  }
}

}  // namespace

ftrl_logistic::ftrl_logistic(const ftrl_options& options) : opt_(options) {
  check_options(opt_);
  z_.assign(opt_.num_features + 1, 0.0);
  n_.assign(opt_.num_features + 1, 0.0);
}

double ftrl_logistic::weight_of(double z, double n, double l1, double l2) const noexcept {
  if (std::abs(z) <= l1) return 0.0;
  const double sign = z < 0 ? -1.0 : 1.0;
  return -(z - sign * l1) / ((opt_.beta + std::sqrt(n)) / opt_.alpha + l2);
}

double ftrl_logistic::weight(std::size_t i) const noexcept {
  return weight_of(z_[i], n_[i], opt_.l1, opt_.l2);
}

double ftrl_logistic::intercept() const noexcept {
  if (!opt_.fit_intercept || z_.empty()) return 0.0;
  const std::size_t b = opt_.num_features;
  return weight_of(z_[b], n_[b], 0.0, 0.0);
}

double ftrl_logistic::score_unchecked(sparse_row_view x) const noexcept {
  double m = intercept();
  for (std::size_t k = 0; k < x.indices.size(); ++k) m += weight(x.indices[k]) * x.values[k];
  return m;
}

double ftrl_logistic::predict_unchecked(sparse_row_view x) const noexcept {
  return sigmoid(score_unchecked(x));
}

void ftrl_logistic::check_row(sparse_row_view x) const {
  if (z_.empty()) raise<not_fitted>(where, "learner constructed without options");
  if (x.indices.size() != x.values.size()) {
    raise<dimension_mismatch>(where, "sparse row has {} indices and {} values", x.indices.size(),
                              x.values.size());
  }
  for (const auto i : x.indices) {
    if (i >= opt_.num_features) {
      raise<dimension_mismatch>(where, "feature index {} >= num_features {}", i, opt_.num_features);
    }
  }
}

double ftrl_logistic::score(sparse_row_view x) const {
  check_row(x);
  return score_unchecked(x);
}

double ftrl_logistic::predict(sparse_row_view x) const {
  check_row(x);
  return predict_unchecked(x);
}

double ftrl_logistic::score(row_view x) const {
  if (z_.empty()) raise<not_fitted>(where, "learner constructed without options");
  if (x.size() != opt_.num_features) {
    raise<dimension_mismatch>(where, "row has {} features, the learner has {}", x.size(),
                              opt_.num_features);
  }
  double m = intercept();
  for (std::size_t i = 0; i < x.size(); ++i) m += weight(i) * x[i];
  return m;
}

double ftrl_logistic::predict(row_view x) const {
  return sigmoid(score(x));
}

void ftrl_logistic::learn(std::size_t i, double g) {
  const double w = i == opt_.num_features ? intercept() : weight(i);
  const double sigma = (std::sqrt(n_[i] + g * g) - std::sqrt(n_[i])) / opt_.alpha;
  z_[i] += g - sigma * w;
  n_[i] += g * g;
}

double ftrl_logistic::update(sparse_row_view x, int y, double weight) {
  if (z_.empty()) raise<not_fitted>(where, "learner constructed without options");
  check_example(y, weight);
  if (x.indices.size() != x.values.size()) {
    raise<dimension_mismatch>(where, "sparse row has {} indices and {} values", x.indices.size(),
                              x.values.size());
  }
  for (std::size_t k = 0; k < x.indices.size(); ++k) {
    if (x.indices[k] >= opt_.num_features) {
      raise<dimension_mismatch>(where, "feature index {} >= num_features {}", x.indices[k],
                                opt_.num_features);
    }
    if (!std::isfinite(x.values[k])) {
      raise<invalid_argument>(where, "feature {} = {} is not finite", x.indices[k], x.values[k]);
    }
  }
  const double p = predict_unchecked(x);
  const double r = weight * (p - static_cast<double>(y));
  // Weights of all touched coordinates are computed from the state before this example.
  // One buffer: the gradients, then each touched coordinate's z and n as they were. A finite but
  // huge weight or value can overflow g^2 (n = inf, then z = inf - inf = NaN), which no later
  // update undoes: when a coordinate becomes non-finite the touched ones are restored (in
  // reverse, so a repeated index gets its value from before the row) and the row is refused.
  const std::size_t k_n = x.indices.size();
  const std::size_t touched = k_n + (opt_.fit_intercept ? 1 : 0);
  std::vector<double> buf(k_n + 2 * touched);
  double* g = buf.data();
  double* old_z = g + k_n;
  double* old_n = old_z + touched;
  for (std::size_t k = 0; k < k_n; ++k) g[k] = r * x.values[k];
  const auto coordinate = [&](std::size_t t) {
    return t < k_n ? std::size_t{x.indices[t]} : opt_.num_features;
  };
  for (std::size_t t = 0; t < touched; ++t) {
    const std::size_t i = coordinate(t);
    old_z[t] = z_[i];
    old_n[t] = n_[i];
    const double gi = t < k_n ? g[t] : r;
    learn(i, gi);
    if (std::isfinite(z_[i]) && std::isfinite(n_[i])) continue;
    for (std::size_t u = t + 1; u-- > 0;) {
      z_[coordinate(u)] = old_z[u];
      n_[coordinate(u)] = old_n[u];
    }
    raise<invalid_argument>(
        where,
        "update with weight {} would make the state of {} not finite "
        "(gradient {}); the learner is unchanged (scale the weight or the "
        "values down)",
        weight,
        i == opt_.num_features ? std::string("the intercept") : fmt::format("feature {}", i), gi);
  }
  return p;
}

double ftrl_logistic::update(row_view x, int y, double weight) {
  if (x.size() != opt_.num_features) {
    raise<dimension_mismatch>(where, "row has {} features, the learner has {}", x.size(),
                              opt_.num_features);
  }
  std::vector<std::uint32_t> idx(x.size());
  for (std::size_t j = 0; j < x.size(); ++j) idx[j] = static_cast<std::uint32_t>(j);
  return update(sparse_row_view{idx, x}, y, weight);
}

logistic_model ftrl_logistic::to_model() const {
  if (z_.empty()) raise<not_fitted>(where, "learner constructed without options");
  std::vector<double> w(opt_.num_features);
  for (std::size_t i = 0; i < w.size(); ++i) w[i] = weight(i);
  return logistic_model(std::move(w), intercept(), opt_.feature_names);
}

json ftrl_logistic::to_json() const {
  auto j = ftrl_document.header();
  j["alpha"] = opt_.alpha;
  j["beta"] = opt_.beta;
  j["l1"] = opt_.l1;
  j["l2"] = opt_.l2;
  j["num_features"] = opt_.num_features;
  j["fit_intercept"] = opt_.fit_intercept;
  j["feature_names"] = opt_.feature_names;
  j["z"] = z_;
  j["n"] = n_;
  return j;
}

ftrl_logistic ftrl_logistic::from_json(const json& j) {
  return funnel::detail::read_document(j, ftrl_document, [&](int version) {
    ftrl_options o;
    o.alpha = json_get<double>(j, "alpha", where);
    o.beta = json_get<double>(j, "beta", where);
    o.l1 = json_get<double>(j, "l1", where);
    o.l2 = json_get<double>(j, "l2", where);
    o.fit_intercept = json_get<bool>(j, "fit_intercept", where);
    if (version >= 2)
      o.feature_names = json_get<std::vector<std::string>>(j, "feature_names", where);
    // The state arrays are read before num_features drives an allocation: the width must be the
    // number of values the file actually holds.
    auto z = json_get<std::vector<double>>(j, "z", where);
    auto n = json_get<std::vector<double>>(j, "n", where);
    // "n_features": the key of 0.1 documents.
    o.num_features =
        json_get<std::size_t>(j, json_key_or_legacy(j, "num_features", "n_features"), where);
    if (o.num_features >= z.size() || z.size() != o.num_features + 1 || n.size() != z.size()) {
      raise<parse_error>(where, "z has {} and n has {} values; expected num_features + 1 = {}",
                         z.size(), n.size(), o.num_features + 1);
    }
    for (std::size_t i = 0; i < n.size(); ++i) {
      if (!std::isfinite(z[i]) || !std::isfinite(n[i]) || n[i] < 0) {
        raise<parse_error>(where, "z[{}] / n[{}] must be finite with n >= 0", i, i);
      }
    }
    ftrl_logistic f;
    try {
      f = ftrl_logistic(o);
    } catch (const error& e) {
      raise<parse_error>(where, "{}", e.what());
    }
    f.z_ = std::move(z);
    f.n_ = std::move(n);
    return f;
  });
}

void ftrl_logistic::save(const std::filesystem::path& path) const {
  if (z_.empty()) raise<not_fitted>(where, "learner constructed without options");
  // update() keeps the state finite; a file that load() refuses is never written all the same.
  for (std::size_t i = 0; i < z_.size(); ++i) {
    if (!std::isfinite(z_[i]) || !std::isfinite(n_[i])) {
      raise<invalid_argument>(where, "z[{}] = {}, n[{}] = {}: the state is not finite", i, z_[i], i,
                              n_[i]);
    }
  }
  save_json(*this, path, 1);
}

ftrl_logistic ftrl_logistic::load(const std::filesystem::path& path) {
  return load_json<ftrl_logistic>(path);
}

}  // namespace funnel::scoring
