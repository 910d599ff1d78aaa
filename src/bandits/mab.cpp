#include <funnel/bandits/mab.hpp>
#include <funnel/core/file.hpp>
#include <funnel/core/serialize.hpp>

#include <numeric>

#include "core/json_document.hpp"

namespace funnel::bandits {

// The document this file writes and reads.
namespace {
constexpr funnel::detail::document_kind mab_document{"funnel.bandits.mab", 1};

bool is_thompson(policy_kind k) {
  return k == policy_kind::thompson_bernoulli || k == policy_kind::thompson_gaussian;
}

// The options of a policy, one list for its writer and its reader (detail::field_writer,
// field_reader).
void fields(auto& io, funnel::detail::same_as_options<mab_options> auto& c) {
  io("kind", c.kind)("seed", c.seed)("epsilon", c.epsilon)("epsilon_decay", c.epsilon_decay);
  io("ucb_c", c.ucb_c)("temperature", c.temperature)("prior_alpha", c.prior_alpha);
  io("prior_beta", c.prior_beta)("prior_mean", c.prior_mean)("prior_variance", c.prior_variance);
  io("noise_variance", c.noise_variance)("discount", c.discount)("window", c.window);
  io("propensity_samples", c.propensity_samples)("propensity_refresh", c.propensity_refresh);
  io("propensity_refresh_fraction", c.propensity_refresh_fraction);
}

json config_to_json(const mab_options& c) {
  json j = json::object();
  funnel::detail::field_writer io(j);
  fields(io, c);
  return j;
}

mab_options config_from_json(const json& j) {
  mab_options c;
  funnel::detail::field_reader io(j, mab_document.id(), "mab.config");
  fields(io, c);
  return c;
}

}  // namespace

mab::mab(const mab_options& config) : config_(config), rng_(config.seed) {
  const auto bad = [](const char* field, double v, const char* need) {
    raise<invalid_argument>("bandits.mab", "mab_options.{} = {}: must be {}", field, v, need);
  };
  const auto& c = config_;
  if (!(c.epsilon >= 0.0 && c.epsilon <= 1.0)) bad("epsilon", c.epsilon, "in [0, 1]");
  if (!(c.epsilon_decay >= 0.0) || !std::isfinite(c.epsilon_decay))
    bad("epsilon_decay", c.epsilon_decay, ">= 0");
  if (!(c.ucb_c >= 0.0) || !std::isfinite(c.ucb_c)) bad("ucb_c", c.ucb_c, ">= 0");
  if (!(c.temperature > 0.0) || !std::isfinite(c.temperature))
    bad("temperature", c.temperature, "> 0");
  if (!(c.prior_alpha > 0.0) || !std::isfinite(c.prior_alpha))
    bad("prior_alpha", c.prior_alpha, "> 0");
  if (!(c.prior_beta > 0.0) || !std::isfinite(c.prior_beta)) bad("prior_beta", c.prior_beta, "> 0");
  if (!std::isfinite(c.prior_mean)) bad("prior_mean", c.prior_mean, "finite");
  if (!(c.prior_variance > 0.0) || !std::isfinite(c.prior_variance))
    bad("prior_variance", c.prior_variance, "> 0");
  if (!(c.noise_variance > 0.0) || !std::isfinite(c.noise_variance))
    bad("noise_variance", c.noise_variance, "> 0");
  if (!(c.discount > 0.0 && c.discount <= 1.0)) bad("discount", c.discount, "in (0, 1]");
  if (c.discount < 1.0 && c.window > 0) {
    raise<invalid_argument>("bandits.mab",
                            "mab_options: choose discount < 1 or window > 0, not both");
  }
  if (c.propensity_samples == 0 || c.propensity_samples > max_propensity_samples) {
    raise<invalid_argument>("bandits.mab",
                            "mab_options.propensity_samples = {}: must be in [1, {}]",
                            c.propensity_samples, max_propensity_samples);
  }
  if (!(c.propensity_refresh_fraction >= 0.0))
    bad("propensity_refresh_fraction", c.propensity_refresh_fraction, ">= 0");
}

std::size_t mab::require(arm_id id) const {
  const std::size_t i = find(id);
  if (i == npos) raise<not_found>("bandits.mab", "{}: unknown arm {}", to_string(config_.kind), id);
  return i;
}

void mab::rebuild_index() {
  index_.clear();
  for (std::size_t i = 0; i < ids_.size(); ++i) index_.emplace(ids_[i], i);
}

void mab::add_arm(arm_id id, arm_prior prior) {
  if (has_arm(id))
    raise<invalid_argument>("bandits.mab", "{}: arm {} already exists", to_string(config_.kind),
                            id);
  if (!(prior.n >= 0.0) || !std::isfinite(prior.n) || !std::isfinite(prior.sum) ||
      !(prior.sum_sq >= 0.0) || !std::isfinite(prior.sum_sq)) {
    raise<invalid_argument>("bandits.mab",
                            "arm {}: prior (n = {}, sum = {}, sum_sq = {}) must be finite "
                            "with n, sum_sq >= 0",
                            id, prior.n, prior.sum, prior.sum_sq);
  }
  if (config_.kind == policy_kind::thompson_bernoulli &&
      !(prior.sum >= 0.0 && prior.sum <= prior.n)) {
    raise<invalid_argument>("bandits.mab",
                            "arm {}: Beta-Bernoulli prior needs 0 <= sum <= n (sum = {}, "
                            "n = {})",
                            id, prior.sum, prior.n);
  }
  ids_.push_back(id);
  index_.emplace(id, ids_.size() - 1);
  prior_n_.push_back(prior.n);
  prior_sum_.push_back(prior.sum);
  prior_sum_sq_.push_back(prior.sum_sq);
  n_.push_back(0.0);
  sum_.push_back(0.0);
  sum_sq_.push_back(0.0);
  cached_propensity_.push_back(0.0);
  refresh_propensities();
}

void mab::remove_arm(arm_id id) {
  const std::size_t i = require(id);
  const auto erase = [i](auto& v) { v.erase(v.begin() + static_cast<std::ptrdiff_t>(i)); };
  erase(ids_);
  erase(prior_n_);
  erase(prior_sum_);
  erase(prior_sum_sq_);
  erase(n_);
  erase(sum_);
  erase(sum_sq_);
  erase(cached_propensity_);
  rebuild_index();
  // Window entries of the removed arm are skipped when they expire (find() fails).
  if (!ids_.empty()) refresh_propensities();
}

std::vector<arm_summary> mab::arms() const {
  std::vector<arm_summary> out;
  out.reserve(ids_.size());
  for (std::size_t i = 0; i < ids_.size(); ++i) out.push_back({ids_[i], count_of(i), mean_of(i)});
  return out;
}

std::size_t mab::greedy(std::span<const std::size_t> candidates) const noexcept {
  std::size_t best = npos;
  double best_value = -std::numeric_limits<double>::infinity();
  const auto consider = [&](std::size_t i) {
    const double v =
        count_of(i) > 0.0 ? sum_of(i) / count_of(i) : std::numeric_limits<double>::infinity();
    if (best == npos || v > best_value) {
      best = i;
      best_value = v;
    }
  };
  if (candidates.empty()) {
    for (std::size_t i = 0; i < ids_.size(); ++i) consider(i);
  } else {
    for (const std::size_t i : candidates) consider(i);
  }
  return best;
}

void mab::check_reward(arm_id arm, double reward) const {
  if (!std::isfinite(reward)) {
    raise<invalid_argument>("bandits.mab", "{}: reward {} for arm {} is not finite",
                            to_string(config_.kind), reward, arm);
  }
  if (config_.kind == policy_kind::thompson_bernoulli && !(reward >= 0.0 && reward <= 1.0)) {
    raise<invalid_argument>(
        "bandits.mab", "thompson_bernoulli: reward {} for arm {} is outside [0, 1]", reward, arm);
  }
}

void mab::apply(std::size_t i, double reward) {
  if (config_.discount < 1.0) {
    const double d = config_.discount;
    for (std::size_t j = 0; j < ids_.size(); ++j) {
      n_[j] *= d;
      sum_[j] *= d;
      sum_sq_[j] *= d;
    }
  }
  n_[i] += 1.0;
  sum_[i] += reward;
  sum_sq_[i] += reward * reward;
  if (config_.window > 0) {
    window_.emplace_back(ids_[i], reward);
    if (window_.size() > config_.window) {
      const auto [old_id, old_reward] = window_.front();
      window_.pop_front();
      const std::size_t j = find(old_id);
      if (j != npos) {
        n_[j] -= 1.0;
        sum_[j] -= old_reward;
        sum_sq_[j] -= old_reward * old_reward;
      }
    }
  }
  ++updates_;
}

void mab::update_batch(std::span<const std::pair<arm_id, double>> rewards) {
  std::vector<std::size_t> index(rewards.size());
  for (std::size_t r = 0; r < rewards.size(); ++r) {
    index[r] = require(rewards[r].first);
    check_reward(rewards[r].first, rewards[r].second);
  }
  for (std::size_t r = 0; r < rewards.size(); ++r) {
    apply(index[r], rewards[r].second);
    maybe_refresh_propensities();
  }
}

void mab::maybe_refresh_propensities() {
  if (!is_thompson(config_.kind)) return;
  ++updates_since_refresh_;
  const double due = std::max(static_cast<double>(config_.propensity_refresh),
                              config_.propensity_refresh_fraction * static_cast<double>(updates_));
  if (static_cast<double>(updates_since_refresh_) >= due) refresh_propensities();
}

void mab::refresh_propensities() {
  updates_since_refresh_ = 0;
  if (!is_thompson(config_.kind) || ids_.empty()) return;
  const std::size_t k = ids_.size();
  std::vector<double> counts(k, 0.0);
  for (std::size_t s = 0; s < config_.propensity_samples; ++s) counts[thompson_argmax(rng_)] += 1.0;
  // Laplace smoothing keeps every logged propensity positive (IPS divides by it) and the vector
  // summing to one.
  const double denom = static_cast<double>(config_.propensity_samples + k);
  for (std::size_t i = 0; i < k; ++i) cached_propensity_[i] = (counts[i] + 1.0) / denom;
}

void mab::propensities(std::span<double> out) const {
  const std::size_t k = ids_.size();
  if (out.size() != k) {
    raise<dimension_mismatch>("bandits.mab", "propensities: buffer of {} for {} arms", out.size(),
                              k);
  }
  if (k == 0) return;
  switch (config_.kind) {
    case policy_kind::thompson_bernoulli:
    case policy_kind::thompson_gaussian:
      std::copy(cached_propensity_.begin(), cached_propensity_.end(), out.begin());
      return;
    case policy_kind::ucb1: {
      rng unused(0);
      const auto d = select(unused);  // deterministic
      for (std::size_t i = 0; i < k; ++i) out[i] = ids_[i] == d.arm ? 1.0 : 0.0;
      return;
    }
    case policy_kind::epsilon_greedy: {
      const double eps = current_epsilon();
      const std::size_t g = greedy({});
      for (std::size_t i = 0; i < k; ++i)
        out[i] = eps / static_cast<double>(k) + (i == g ? 1.0 - eps : 0.0);
      return;
    }
    case policy_kind::softmax: {
      const double max_mean = softmax_max_mean();
      double total = 0.0;
      for (std::size_t i = 0; i < k; ++i) {
        out[i] = std::exp((softmax_mean(i, max_mean) - max_mean) / config_.temperature);
        total += out[i];
      }
      for (std::size_t i = 0; i < k; ++i) out[i] /= total;
      return;
    }
  }
}

namespace {

// The position in `remaining` where a draw u in [0, sum of w over remaining) lands, arms laid end
// to end in `remaining`'s order (the last one when rounding leaves u past the end).
std::size_t roulette(const std::vector<double>& w, const std::vector<std::size_t>& remaining,
                     double u) noexcept {
  for (std::size_t r = 0; r < remaining.size(); ++r) {
    if (u < w[remaining[r]]) return r;
    u -= w[remaining[r]];
  }
  return remaining.size() - 1;
}

}  // namespace

void mab::select_slate(std::size_t k, std::span<decision> out) {
  const std::size_t n = ids_.size();
  if (n == 0)
    raise<not_fitted>("bandits.mab", "{}: select_slate() with no arms", to_string(config_.kind));
  if (k > n || out.size() < k) {
    raise<invalid_argument>("bandits.mab", "select_slate: k = {} with {} arms and an output of {}",
                            k, n, out.size());
  }
  std::vector<std::size_t> remaining(n);
  std::iota(remaining.begin(), remaining.end(), std::size_t{0});
  const auto take = [&](std::size_t pos_in_remaining) {
    const std::size_t i = remaining[pos_in_remaining];
    remaining.erase(remaining.begin() + static_cast<std::ptrdiff_t>(pos_in_remaining));
    return i;
  };
  switch (config_.kind) {
    case policy_kind::epsilon_greedy: {
      const double eps = current_epsilon();
      for (std::size_t j = 0; j < k; ++j) {
        const std::size_t g = greedy(remaining);
        const double each = eps / static_cast<double>(remaining.size());
        std::size_t pick = 0;
        if (rng_.uniform() < eps) {
          pick = static_cast<std::size_t>(rng_.below(remaining.size()));
        } else {
          pick = static_cast<std::size_t>(std::find(remaining.begin(), remaining.end(), g) -
                                          remaining.begin());
        }
        const std::size_t i = take(pick);
        out[j] = {ids_[i], each + (i == g ? 1.0 - eps : 0.0)};
      }
      return;
    }
    case policy_kind::softmax: {
      const double max_mean = softmax_max_mean();
      std::vector<double> w(n);
      for (std::size_t i = 0; i < n; ++i)
        w[i] = std::exp((softmax_mean(i, max_mean) - max_mean) / config_.temperature);
      for (std::size_t j = 0; j < k; ++j) {
        double total = 0.0;
        for (const std::size_t i : remaining) total += w[i];
        const std::size_t i = take(roulette(w, remaining, rng_.uniform() * total));
        out[j] = {ids_[i], w[i] / total};
      }
      return;
    }
    case policy_kind::ucb1: {
      double total = 0.0;
      for (std::size_t i = 0; i < n; ++i) total += count_of(i);
      const double log_total = std::log(std::max(total, 1.0));
      std::vector<double> index(n);
      for (std::size_t i = 0; i < n; ++i) {
        const double c = count_of(i);
        index[i] = c <= 0.0 ? std::numeric_limits<double>::infinity()
                            : sum_of(i) / c + config_.ucb_c * std::sqrt(2.0 * log_total / c);
      }
      std::stable_sort(remaining.begin(), remaining.end(),
                       [&](std::size_t a, std::size_t b) { return index[a] > index[b]; });
      for (std::size_t j = 0; j < k; ++j) out[j] = {ids_[remaining[j]], 1.0};
      return;
    }
    case policy_kind::thompson_bernoulli:
    case policy_kind::thompson_gaussian: {
      std::vector<double> draw(n);
      const auto top_k = [&](rng& g, std::vector<std::size_t>& order) {
        for (std::size_t i = 0; i < n; ++i) draw[i] = thompson_draw(i, g);
        order.resize(n);
        std::iota(order.begin(), order.end(), std::size_t{0});
        std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(k),
                          order.end(),
                          [&](std::size_t a, std::size_t b) { return draw[a] > draw[b]; });
      };
      std::vector<std::size_t> chosen;
      top_k(rng_, chosen);
      // Conditional position propensities by Monte Carlo: P(pos j = chosen[j] | pos < j match).
      std::vector<double> hits(k, 0.0);
      std::vector<double> prefix(k, 0.0);
      std::vector<std::size_t> order;
      for (std::size_t s = 0; s < config_.propensity_samples; ++s) {
        top_k(rng_, order);
        for (std::size_t j = 0; j < k; ++j) {
          prefix[j] += 1.0;
          if (order[j] != chosen[j]) break;
          hits[j] += 1.0;
        }
      }
      for (std::size_t j = 0; j < k; ++j) {
        out[j] = {ids_[chosen[j]], (hits[j] + 1.0) / (prefix[j] + static_cast<double>(n - j))};
      }
      return;
    }
  }
}

void mab::merge(const mab& other) {
  if (other.config_.kind != config_.kind) {
    raise<invalid_argument>("bandits.mab", "merge: cannot merge a {} into a {}",
                            to_string(other.config_.kind), to_string(config_.kind));
  }
  if (config_.discount < 1.0 || config_.window > 0 || other.config_.discount < 1.0 ||
      other.config_.window > 0) {
    raise<unsupported>("bandits.mab",
                       "merge: discounted or windowed statistics do not add up across "
                       "replicas; merge stationary policies only");
  }
  for (std::size_t o = 0; o < other.ids_.size(); ++o) {
    std::size_t i = find(other.ids_[o]);
    if (i == npos) {
      add_arm(other.ids_[o], {other.prior_n_[o], other.prior_sum_[o], other.prior_sum_sq_[o]});
      i = ids_.size() - 1;
    }
    n_[i] += other.n_[o];
    sum_[i] += other.sum_[o];
    sum_sq_[i] += other.sum_sq_[o];
  }
  updates_ += other.updates_ - other.replica_base_updates_;
  refresh_propensities();
}

mab mab::replica(std::uint64_t seed) const {
  mab r = *this;
  for (std::size_t i = 0; i < ids_.size(); ++i) {
    r.prior_n_[i] += r.n_[i];
    r.prior_sum_[i] += r.sum_[i];
    r.prior_sum_sq_[i] += r.sum_sq_[i];
    r.n_[i] = r.sum_[i] = r.sum_sq_[i] = 0.0;
  }
  r.window_.clear();
  r.rng_ = rng(seed);
  r.config_.seed = seed;
  r.replica_base_updates_ = updates_;
  return r;
}

json mab::to_json() const {
  json j = mab_document.header();
  j["config"] = config_to_json(config_);
  json arms = json::array();
  for (std::size_t i = 0; i < ids_.size(); ++i) {
    arms.push_back(json{{"id", ids_[i]},
                        {"prior", {prior_n_[i], prior_sum_[i], prior_sum_sq_[i]}},
                        {"stats", {n_[i], sum_[i], sum_sq_[i]}},
                        {"propensity", cached_propensity_[i]}});
  }
  j["arms"] = std::move(arms);
  json window = json::array();
  for (const auto& [id, r] : window_) window.push_back(json::array({id, r}));
  j["window"] = std::move(window);
  j["updates"] = updates_;
  j["replica_base_updates"] = replica_base_updates_;
  j["updates_since_refresh"] = updates_since_refresh_;
  j["rng"] = detail::rng_to_hex(rng_);
  return j;
}

mab mab::from_json(const json& j) {
  return funnel::detail::read_document(j, mab_document, [&](int /*version*/) {
    mab m = [&] {
      try {
        return mab(config_from_json(json_field(j, "config", "mab")));
      } catch (const invalid_argument& e) {
        raise<parse_error>("bandits.mab", "mab.config: {}", e.what());
      }
    }();
    const auto& arms = json_field(j, "arms", "mab");
    if (!arms.is_array()) {
      raise<parse_error>("bandits.mab", "mab.arms: expected an array, found {}",
                         json_preview(arms));
    }
    for (std::size_t a = 0; a < arms.size(); ++a) {
      const auto ctx = fmt::format("mab.arms[{}]", a);
      const auto id = json_get<arm_id>(arms[a], "id", ctx);
      const auto prior = json_get<std::vector<double>>(arms[a], "prior", ctx);
      const auto stats = json_get<std::vector<double>>(arms[a], "stats", ctx);
      if (prior.size() != 3 || stats.size() != 3) {
        raise<parse_error>("bandits.mab", "{}: prior and stats must hold [n, sum, sum_sq]", ctx);
      }
      if (m.has_arm(id)) raise<parse_error>("bandits.mab", "{}.id: duplicate arm {}", ctx, id);
      // Statistics drive the samplers: a count must be a count (finite, >= 0), sums finite, and
      // for Beta-Bernoulli the posterior's shapes must stay positive (the sampler's domain).
      if (!std::isfinite(stats[0]) || stats[0] < 0.0 || !std::isfinite(stats[1]) ||
          !std::isfinite(stats[2]) || stats[2] < 0.0) {
        raise<parse_error>("bandits.mab",
                           "{}.stats: [n, sum, sum_sq] = [{}, {}, {}] must be finite with n, "
                           "sum_sq >= 0",
                           ctx, stats[0], stats[1], stats[2]);
      }
      try {
        m.add_arm(id, {prior[0], prior[1], prior[2]});
      } catch (const invalid_argument& e) {
        raise<parse_error>("bandits.mab", "{}.prior: {}", ctx, e.what());
      }
      m.n_.back() = stats[0];
      m.sum_.back() = stats[1];
      m.sum_sq_.back() = stats[2];
      if (m.config_.kind == policy_kind::thompson_bernoulli) {
        const std::size_t i = m.ids_.size() - 1;
        const double alpha = m.config_.prior_alpha + m.sum_of(i);
        const double beta = m.config_.prior_beta + (m.count_of(i) - m.sum_of(i));
        if (!(alpha > 0.0) || !(beta > 0.0) || !std::isfinite(alpha) || !std::isfinite(beta)) {
          raise<parse_error>("bandits.mab",
                             "{}.stats: posterior Beta({}, {}) is not a distribution (successes "
                             "outside [0, n])",
                             ctx, alpha, beta);
        }
      }
    }
    // After all arms exist: add_arm refreshes the whole cache, the saved values must win.
    for (std::size_t a = 0; a < arms.size(); ++a) {
      const auto ctx = fmt::format("mab.arms[{}]", a);
      const double p = json_get_finite<double>(arms[a], "propensity", ctx);
      if (!(p >= 0.0 && p <= 1.0)) {
        raise<parse_error>("bandits.mab", "{}.propensity: {} is outside [0, 1]", ctx, p);
      }
      m.cached_propensity_[a] = p;
    }
    const auto& window = json_field(j, "window", "mab");
    if (!window.is_array()) {
      raise<parse_error>("bandits.mab", "mab.window: expected an array, found {}",
                         json_preview(window));
    }
    if (window.size() > m.config_.window) {
      raise<parse_error>("bandits.mab", "mab.window: {} entries for a window of {}", window.size(),
                         m.config_.window);
    }
    for (std::size_t w = 0; w < window.size(); ++w) {
      const auto ctx = fmt::format("mab.window[{}]", w);
      if (!window[w].is_array() || window[w].size() != 2) {
        raise<parse_error>("bandits.mab", "{}: expected [arm id, reward], found {}", ctx,
                           json_preview(window[w]));
      }
      const auto id = json_as<arm_id>(window[w][0], ctx);
      const auto reward = json_as<double>(window[w][1], ctx);
      if (!std::isfinite(reward))
        raise<parse_error>("bandits.mab", "{}: reward is not finite", ctx);
      m.window_.emplace_back(id, reward);
    }
    m.updates_ = json_get<std::uint64_t>(j, "updates", "mab");
    m.replica_base_updates_ = json_get<std::uint64_t>(j, "replica_base_updates", "mab");
    m.updates_since_refresh_ = json_get<std::uint64_t>(j, "updates_since_refresh", "mab");
    m.rng_ = detail::rng_from_hex(json_get<std::string>(j, "rng", "mab"), "mab");
    return m;
  });
}

}  // namespace funnel::bandits
