#include <funnel/bandits/linear.hpp>
#include <funnel/core/file.hpp>
#include <funnel/core/serialize.hpp>

#include "core/json_document.hpp"

namespace funnel::bandits {

// The document this file writes and reads, with the type strings earlier releases wrote.
namespace {
constexpr funnel::detail::document_kind linear_document{"funnel.bandits.linear_bandit", 1,
                                                        "funnel.bandits.linear"};

// The options of a policy, one list for its writer and its reader (detail::field_writer,
// field_reader).
void fields(auto& io, funnel::detail::same_as_options<linear_bandit_options> auto& c) {
  io("kind", c.kind)("dimension", c.dimension)("alpha", c.alpha)("lambda", c.lambda)("v", c.v);
  io("seed", c.seed)("propensity_samples", c.propensity_samples);
}

json matrix_to_json(const Eigen::MatrixXd& m) {
  return std::vector<double>(m.data(), m.data() + m.size());
}

Eigen::MatrixXd matrix_from_json(const json& j, std::string_view key, std::size_t rows,
                                 std::size_t cols, std::string_view ctx) {
  const auto v = json_get<std::vector<double>>(j, key, ctx);
  if (v.size() != rows * cols) {
    raise<parse_error>("bandits.linear_bandit", "{}.{}: expected {} values, found {}", ctx, key,
                       rows * cols, v.size());
  }
  for (const double x : v) {
    if (!std::isfinite(x))
      raise<parse_error>("bandits.linear_bandit", "{}.{}: non-finite value", ctx, key);
  }
  Eigen::MatrixXd m(static_cast<Eigen::Index>(rows), static_cast<Eigen::Index>(cols));
  std::copy(v.begin(), v.end(), m.data());
  return m;
}
}  // namespace

linear_bandit::linear_bandit(const linear_bandit_options& config)
    : config_(config), rng_(config.seed) {
  const auto& c = config_;
  if (c.dimension == 0)
    raise<invalid_argument>("bandits.linear_bandit", "linear_bandit_options.dimension must be > 0");
  if (!(c.alpha >= 0.0) || !std::isfinite(c.alpha))
    raise<invalid_argument>("bandits.linear_bandit",
                            "linear_bandit_options.alpha = {}: must be >= 0", c.alpha);
  if (!(c.lambda > 0.0) || !std::isfinite(c.lambda))
    raise<invalid_argument>("bandits.linear_bandit",
                            "linear_bandit_options.lambda = {}: must be > 0", c.lambda);
  if (!(c.v > 0.0) || !std::isfinite(c.v))
    raise<invalid_argument>("bandits.linear_bandit", "linear_bandit_options.v = {}: must be > 0",
                            c.v);
  if (c.propensity_samples == 0 || c.propensity_samples > max_propensity_samples) {
    raise<invalid_argument>("bandits.linear_bandit",
                            "linear_bandit_options.propensity_samples = {}: must be in [1, {}]",
                            c.propensity_samples, max_propensity_samples);
  }
}

void linear_bandit::add_arm(arm_id id) {
  if (has_arm(id))
    raise<invalid_argument>("bandits.linear_bandit", "{}: arm {} already exists",
                            to_string(config_.kind), id);
  const auto d = static_cast<Eigen::Index>(config_.dimension);
  arm_state s;
  s.a_obs = matrix::Zero(d, d);
  s.b_obs = vector::Zero(d);
  s.a_prior = config_.lambda * matrix::Identity(d, d);
  s.b_prior = vector::Zero(d);
  refactor(s);
  ids_.push_back(id);
  arms_.push_back(std::move(s));
}

void linear_bandit::remove_arm(arm_id id) {
  const std::size_t i = find(id);
  if (i == npos)
    raise<not_found>("bandits.linear_bandit", "{}: unknown arm {}", to_string(config_.kind), id);
  ids_.erase(ids_.begin() + static_cast<std::ptrdiff_t>(i));
  arms_.erase(arms_.begin() + static_cast<std::ptrdiff_t>(i));
}

void linear_bandit::refactor(arm_state& s) const {
  const matrix a = s.a_prior + s.a_obs;
  const auto d = a.rows();
  s.a_inv = a.llt().solve(matrix::Identity(d, d));
  s.theta = s.a_inv * (s.b_prior + s.b_obs);
  s.chol = s.a_inv.llt().matrixL();
}

void linear_bandit::check_context(row_view context) const {
  if (context.size() != config_.dimension) {
    raise<dimension_mismatch>("bandits.linear_bandit", "{}: context has {} features, the policy {}",
                              to_string(config_.kind), context.size(), config_.dimension);
  }
  for (std::size_t j = 0; j < context.size(); ++j) {
    if (!std::isfinite(context[j])) {
      raise<invalid_argument>("bandits.linear_bandit",
                              "{}: context feature {} is {} (missing values must be imputed "
                              "before a bandit sees them)",
                              to_string(config_.kind), j, context[j]);
    }
  }
}

std::size_t linear_bandit::argmax_sample(const Eigen::Map<const Eigen::VectorXf>& xf, rng& g,
                                         vector& theta, vector& z) const {
  const vector x = xf.cast<double>();
  std::size_t best = 0;
  double best_value = -std::numeric_limits<double>::infinity();
  for (std::size_t i = 0; i < arms_.size(); ++i) {
    const auto& s = arms_[i];
    for (Eigen::Index j = 0; j < z.size(); ++j) z[j] = g.normal();
    theta.noalias() = s.theta + config_.v * (s.chol * z);
    const double value = theta.dot(x);
    if (value > best_value) {
      best_value = value;
      best = i;
    }
  }
  return best;
}

decision linear_bandit::select(row_view context, rng& g) const {
  if (ids_.empty())
    raise<not_fitted>("bandits.linear_bandit", "{}: select() with no arms",
                      to_string(config_.kind));
  check_context(context);
  const auto d = static_cast<Eigen::Index>(config_.dimension);
  const Eigen::Map<const Eigen::VectorXf> xf(context.data(), d);
  if (config_.kind == linear_kind::lin_ucb) {
    std::size_t best = 0;
    double best_value = -std::numeric_limits<double>::infinity();
    // x as double without allocating: d is small, accumulate directly.
    for (std::size_t i = 0; i < arms_.size(); ++i) {
      const auto& s = arms_[i];
      double mean = 0.0;
      double quad = 0.0;
      for (Eigen::Index r = 0; r < d; ++r) {
        const double xr = xf[r];
        mean += s.theta[r] * xr;
        double row = 0.0;
        for (Eigen::Index c = 0; c < d; ++c) row += s.a_inv(r, c) * static_cast<double>(xf[c]);
        quad += xr * row;
      }
      const double value = mean + config_.alpha * std::sqrt(std::max(quad, 0.0));
      if (value > best_value) {
        best_value = value;
        best = i;
      }
    }
    return {ids_[best], 1.0};
  }
  vector theta(d);
  vector z(d);
  const std::size_t chosen = argmax_sample(xf, g, theta, z);
  // Propensity of the chosen arm for this context by Monte Carlo, Laplace-smoothed.
  double hits = 0.0;
  for (std::size_t s = 0; s < config_.propensity_samples; ++s) {
    if (argmax_sample(xf, g, theta, z) == chosen) hits += 1.0;
  }
  const double p = (hits + 1.0) / (static_cast<double>(config_.propensity_samples) +
                                   static_cast<double>(arms_.size()));
  return {ids_[chosen], p};
}

void linear_bandit::update(arm_id arm, row_view context, double reward) {
  const std::size_t i = find(arm);
  if (i == npos)
    raise<not_found>("bandits.linear_bandit", "{}: unknown arm {}", to_string(config_.kind), arm);
  check_context(context);
  if (!std::isfinite(reward))
    raise<invalid_argument>("bandits.linear_bandit", "{}: reward {} for arm {} is not finite",
                            to_string(config_.kind), reward, arm);
  auto& s = arms_[i];
  const auto d = static_cast<Eigen::Index>(config_.dimension);
  const vector x = Eigen::Map<const Eigen::VectorXf>(context.data(), d).cast<double>();
  s.a_obs.noalias() += x * x.transpose();
  s.b_obs.noalias() += reward * x;
  // Sherman-Morrison: (A + x x^T)^-1 = A^-1 - (A^-1 x)(A^-1 x)^T / (1 + x^T A^-1 x).
  const vector ax = s.a_inv * x;
  s.a_inv.noalias() -= (ax * ax.transpose()) / (1.0 + x.dot(ax));
  s.theta.noalias() = s.a_inv * (s.b_prior + s.b_obs);
  if (config_.kind == linear_kind::lin_thompson) s.chol = s.a_inv.llt().matrixL();
}

void linear_bandit::predict(row_view context, std::span<double> out) const {
  check_context(context);
  if (out.size() != arms_.size()) {
    raise<dimension_mismatch>("bandits.linear_bandit", "predict: buffer of {} for {} arms",
                              out.size(), arms_.size());
  }
  const vector x = Eigen::Map<const Eigen::VectorXf>(context.data(),
                                                     static_cast<Eigen::Index>(config_.dimension))
                       .cast<double>();
  for (std::size_t i = 0; i < arms_.size(); ++i) out[i] = arms_[i].theta.dot(x);
}

void linear_bandit::merge(const linear_bandit& other) {
  if (other.config_.kind != config_.kind || other.config_.dimension != config_.dimension ||
      other.config_.lambda != config_.lambda) {
    raise<invalid_argument>("bandits.linear_bandit",
                            "merge: policies differ in kind, dimension or lambda");
  }
  for (std::size_t o = 0; o < other.ids_.size(); ++o) {
    std::size_t i = find(other.ids_[o]);
    if (i == npos) {
      add_arm(other.ids_[o]);
      i = ids_.size() - 1;
      arms_[i].a_prior = other.arms_[o].a_prior;
      arms_[i].b_prior = other.arms_[o].b_prior;
    }
    arms_[i].a_obs += other.arms_[o].a_obs;
    arms_[i].b_obs += other.arms_[o].b_obs;
    refactor(arms_[i]);
  }
}

linear_bandit linear_bandit::replica(std::uint64_t seed) const {
  linear_bandit r = *this;
  for (auto& s : r.arms_) {
    s.a_prior += s.a_obs;
    s.b_prior += s.b_obs;
    s.a_obs.setZero();
    s.b_obs.setZero();
  }
  r.rng_ = rng(seed);
  r.config_.seed = seed;
  return r;
}

json linear_bandit::to_json() const {
  json j = linear_document.header();
  json config = json::object();
  funnel::detail::field_writer io(config);
  fields(io, config_);
  j["config"] = std::move(config);
  json arms = json::array();
  for (std::size_t i = 0; i < ids_.size(); ++i) {
    const auto& s = arms_[i];
    arms.push_back(json{{"id", ids_[i]},
                        {"a_obs", matrix_to_json(s.a_obs)},
                        {"b_obs", matrix_to_json(s.b_obs)},
                        {"a_prior", matrix_to_json(s.a_prior)},
                        {"b_prior", matrix_to_json(s.b_prior)},
                        {"a_inv", matrix_to_json(s.a_inv)},
                        {"theta", matrix_to_json(s.theta)},
                        {"chol", matrix_to_json(s.chol)}});
  }
  j["arms"] = std::move(arms);
  j["rng"] = detail::rng_to_hex(rng_);
  return j;
}

linear_bandit linear_bandit::from_json(const json& j) {
  return funnel::detail::read_document(j, linear_document, [&](int /*version*/) {
    const auto& c = json_field(j, "config", "linear_bandit");
    constexpr std::string_view ctx = "linear_bandit.config";
    linear_bandit_options cfg;
    funnel::detail::field_reader io(c, linear_document.id(), ctx);
    fields(io, cfg);
    if (cfg.dimension > 4096)
      raise<parse_error>("bandits.linear_bandit", "{}.dimension: {} is implausibly large", ctx,
                         cfg.dimension);
    linear_bandit b = [&] {
      try {
        return linear_bandit(cfg);
      } catch (const invalid_argument& e) {
        raise<parse_error>("bandits.linear_bandit", "{}: {}", ctx, e.what());
      }
    }();
    const auto& arms = json_field(j, "arms", "linear_bandit");
    if (!arms.is_array()) {
      raise<parse_error>("bandits.linear_bandit", "linear_bandit.arms: expected an array, found {}",
                         json_preview(arms));
    }
    const std::size_t d = cfg.dimension;
    for (std::size_t a = 0; a < arms.size(); ++a) {
      const auto actx = fmt::format("linear_bandit.arms[{}]", a);
      const auto id = json_get<arm_id>(arms[a], "id", actx);
      if (b.has_arm(id))
        raise<parse_error>("bandits.linear_bandit", "{}.id: duplicate arm {}", actx, id);
      arm_state s;
      s.a_obs = matrix_from_json(arms[a], "a_obs", d, d, actx);
      s.b_obs = matrix_from_json(arms[a], "b_obs", d, 1, actx);
      s.a_prior = matrix_from_json(arms[a], "a_prior", d, d, actx);
      s.b_prior = matrix_from_json(arms[a], "b_prior", d, 1, actx);
      s.a_inv = matrix_from_json(arms[a], "a_inv", d, d, actx);
      s.theta = matrix_from_json(arms[a], "theta", d, 1, actx);
      s.chol = matrix_from_json(arms[a], "chol", d, d, actx);
      b.ids_.push_back(id);
      b.arms_.push_back(std::move(s));
    }
    b.rng_ =
        detail::rng_from_hex(json_get<std::string>(j, "rng", "linear_bandit"), "linear_bandit");
    return b;
  });
}

}  // namespace funnel::bandits
