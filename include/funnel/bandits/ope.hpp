#pragma once
/// @file ope.hpp
/// @brief Off-policy evaluation: the value a new (target) policy would have had, estimated from
/// decisions logged by another (logging) policy with their propensities. Inverse propensity
/// scoring (IPS, unbiased, high variance), self-normalised IPS (SNIPS, slightly biased, much
/// lower variance) and doubly robust (DR, Dudik, Langford & Li 2011: unbiased if either the
/// propensities or the reward model are right).

#include <funnel/core/error.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <span>

namespace funnel::bandits {

/// @brief One logged decision, seen through the target policy.
struct logged_decision {
  double reward = 0.0;              ///< observed reward of the logged action
  double logging_propensity = 1.0;  ///< P_logging(logged action | context), in (0, 1]
  double target_probability = 0.0;  ///< P_target(logged action | context), in [0, 1]
  double predicted_reward = 0.0;    ///< DR only: reward model q(x, logged action)
  double predicted_value = 0.0;     ///< DR only: sum_a P_target(a | x) q(x, a)
};

/// @brief An estimate of the target policy's mean reward per decision.
struct ope_estimate {
  double value = 0.0;
  double std_error = 0.0;              ///< from the per-decision terms (delta method for SNIPS)
  double effective_sample_size = 0.0;  ///< (sum w)^2 / sum w^2: how many logs really count
};

namespace detail {
inline void check_logged(std::span<const logged_decision> logs, double max_weight) {
  if (logs.empty())
    raise<invalid_argument>("bandits.ope", "off-policy evaluation: no logged decisions");
  if (!(max_weight > 0.0))
    raise<invalid_argument>("bandits.ope", "off-policy evaluation: max_weight {} must be > 0",
                            max_weight);
  for (std::size_t i = 0; i < logs.size(); ++i) {
    const auto& l = logs[i];
    if (!(l.logging_propensity > 0.0 && l.logging_propensity <= 1.0)) {
      raise<invalid_argument>("bandits.ope", "logs[{}].logging_propensity = {}: must be in (0, 1]",
                              i, l.logging_propensity);
    }
    if (!(l.target_probability >= 0.0 && l.target_probability <= 1.0)) {
      raise<invalid_argument>("bandits.ope", "logs[{}].target_probability = {}: must be in [0, 1]",
                              i, l.target_probability);
    }
    if (!std::isfinite(l.reward) || !std::isfinite(l.predicted_reward) ||
        !std::isfinite(l.predicted_value)) {
      raise<invalid_argument>("bandits.ope", "logs[{}]: reward or prediction is not finite", i);
    }
  }
}
inline double weight(const logged_decision& l, double max_weight) noexcept {
  return std::min(l.target_probability / l.logging_propensity, max_weight);
}
inline ope_estimate mean_and_error(std::span<const logged_decision> logs, double max_weight,
                                   auto term) {
  const double n = static_cast<double>(logs.size());
  double sum = 0.0, sum_sq = 0.0, w_sum = 0.0, w_sq = 0.0;
  for (const auto& l : logs) {
    const double t = term(l);
    sum += t;
    sum_sq += t * t;
    const double w = weight(l, max_weight);
    w_sum += w;
    w_sq += w * w;
  }
  const double mean = sum / n;
  const double var = n > 1 ? (sum_sq - n * mean * mean) / (n - 1.0) : 0.0;
  return {mean, std::sqrt(std::max(var, 0.0) / n), w_sq > 0 ? w_sum * w_sum / w_sq : 0.0};
}
}  // namespace detail

/// @brief IPS: mean of w r with w = min(target / logging, max_weight) (clipping trades bias for
/// variance; the default does not clip). @throws invalid_argument naming the bad row.
[[nodiscard]] inline ope_estimate ips(std::span<const logged_decision> logs,
                                      double max_weight = INFINITY) {
  detail::check_logged(logs, max_weight);
  return detail::mean_and_error(logs, max_weight, [&](const logged_decision& l) {
    return detail::weight(l, max_weight) * l.reward;
  });
}

/// @brief SNIPS: sum w r / sum w. @throws invalid_argument naming the bad row, or if every
/// weight is zero (the target never takes a logged action).
[[nodiscard]] inline ope_estimate snips(std::span<const logged_decision> logs,
                                        double max_weight = INFINITY) {
  detail::check_logged(logs, max_weight);
  double w_sum = 0.0;
  double wr_sum = 0.0;
  for (const auto& l : logs) {
    w_sum += detail::weight(l, max_weight);
    wr_sum += detail::weight(l, max_weight) * l.reward;
  }
  if (!(w_sum > 0.0))
    raise<invalid_argument>("bandits.ope", "snips: all importance weights are zero");
  const double value = wr_sum / w_sum;
  const double w_mean = w_sum / static_cast<double>(logs.size());
  // Delta method: terms w (r - value) / mean(w).
  auto est = detail::mean_and_error(logs, max_weight, [&](const logged_decision& l) {
    return detail::weight(l, max_weight) * (l.reward - value) / w_mean;
  });
  est.value = value;
  return est;
}

/// @brief Doubly robust: mean of predicted_value + w (r - predicted_reward).
/// @throws invalid_argument naming the bad row.
[[nodiscard]] inline ope_estimate doubly_robust(std::span<const logged_decision> logs,
                                                double max_weight = INFINITY) {
  detail::check_logged(logs, max_weight);
  return detail::mean_and_error(logs, max_weight, [&](const logged_decision& l) {
    return l.predicted_value + detail::weight(l, max_weight) * (l.reward - l.predicted_reward);
  });
}

}  // namespace funnel::bandits
