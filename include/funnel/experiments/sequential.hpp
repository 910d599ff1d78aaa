#pragma once
/// @file sequential.hpp
/// @brief Always-valid sequential test (mixture SPRT, Johari, Pekelis & Walsh 2017, "Always Valid
/// Inference"): the p-value may be checked after every unit without inflating the false-positive
/// rate, unlike a fixed-horizon test that is peeked at.

#include <funnel/core/json.hpp>
#include <funnel/core/serialize.hpp>
#include <funnel/experiments/statistics.hpp>

#include <filesystem>

namespace funnel::experiments {

/// @brief Mixture likelihood ratio of the normal-mixture mSPRT for an observed difference
/// `theta_hat` with variance `v` (var of the estimator) and mixing variance `tau2` around 0:
/// sqrt(v / (v + tau2)) exp(tau2 theta_hat^2 / (2 v (v + tau2))).
/// @throws invalid_argument if v or tau2 is not positive.
[[nodiscard]] double msprt_likelihood_ratio(double theta_hat, double v, double tau2);

/// @brief Options of an `msprt` test.
struct msprt_options {
  double alpha = 0.05;  ///< level for `rejected` and the always-valid interval, in (0, 1)
  double burn_in = 30;  ///< looks before this many units per arm change nothing (at least 2)
};

/// @brief Streaming two-sample mSPRT on the difference of means B - A, with plug-in variances.
/// Not thread-safe (a per-experiment accumulator: feed it from one thread or merge summaries).
class msprt : public json_file_io<msprt, 1> {
 public:
  /// @brief `tau2` > 0 is the variance of the effect-size prior (choose it on the scale of the
  /// effects you care about, e.g. the square of the MDE): the test's model, so it has no default;
  /// `options.alpha` the level for `rejected` and the always-valid confidence interval; looks
  /// before `options.burn_in` units per arm are ignored, because the plug-in variance of a handful
  /// of units can be wildly small and would otherwise spend the test's error budget on noise.
  /// @throws invalid_argument naming the value out of range.
  explicit msprt(double tau2, const msprt_options& options = {});

  /// @brief Adds one observation to arm A (control). @throws invalid_argument if not finite.
  void add_a(double value);
  /// @brief Adds one observation to arm B (treatment). @throws invalid_argument if not finite.
  void add_b(double value);

  /// @brief One look at the data: returns the always-valid p-value (running minimum of 1 / LR over
  /// all looks so far) and intersects the interval with this look's. Before `burn_in` units per
  /// arm the look changes nothing.
  double look();

  /// @brief The always-valid p-value after the last look.
  [[nodiscard]] double p_value() const noexcept { return p_value_; }
  /// @brief True once p_value() <= alpha; it stays true (that is what makes peeking safe).
  [[nodiscard]] bool rejected() const noexcept { return p_value_ <= alpha_; }
  /// @brief Always-valid (1 - alpha) interval for B - A, intersected over looks.
  [[nodiscard]] double lower() const noexcept { return lower_; }
  /// @brief Upper end of the always-valid interval.
  [[nodiscard]] double upper() const noexcept { return upper_; }
  /// @brief Current summaries of both arms.
  [[nodiscard]] sample_summary a() const noexcept { return summary(a_); }
  [[nodiscard]] sample_summary b() const noexcept { return summary(b_); }

  /// @brief Parameters and full state as JSON (type "funnel.experiments.msprt", version 1).
  [[nodiscard]] json to_json() const;
  /// @brief Restores the test from to_json(). @throws parse_error naming the field (a missing
  /// or mistyped field, a parameter out of range, a state that is not internally consistent).
  [[nodiscard]] static msprt from_json(const json& j);
  /// @brief Equal parameters and state, bit for bit.
  friend bool operator==(const msprt&, const msprt&) = default;

 private:
  struct moments {
    double n = 0.0;
    double mean = 0.0;
    double m2 = 0.0;  // Welford's sum of squared deviations
    friend bool operator==(const moments&, const moments&) = default;
  };
  static void add(moments& m, double x) noexcept;
  static sample_summary summary(const moments& m) noexcept;

  double tau2_;
  double alpha_;
  double burn_in_;
  moments a_;
  moments b_;
  double p_value_ = 1.0;
  double lower_;
  double upper_;
};

}  // namespace funnel::experiments
