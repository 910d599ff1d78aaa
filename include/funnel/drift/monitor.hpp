#pragma once
/// @file monitor.hpp
/// @brief A drift monitor over a feature schema plus the model's score: live windows against a
/// fitted reference, a per-feature report (PSI, KS or chi-square, JS, Wasserstein, verdict) as
/// JSON, Prometheus text exposition and HTML, and alert callbacks for retraining triggers.

#include <funnel/core/json.hpp>
#include <funnel/core/views.hpp>
#include <funnel/drift/profile.hpp>
#include <funnel/drift/stats.hpp>

#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

namespace funnel::drift {

/// @brief Thresholds and rules of a monitor's verdicts.
struct monitor_options {
  window_options window;              ///< live window (default tumbling, 10,000 rows)
  double psi_epsilon = 1e-4;          ///< PSI smoothing floor
  double psi_warning = 0.1;           ///< PSI >= this: warning
  double psi_drift = 0.25;            ///< PSI >= this: drift
  double alpha = 0.01;                ///< KS / chi-square p-value below this: test rejects
  bool test_can_raise_drift = false;  ///< if true a rejecting test alone gives "drift"
  std::size_t min_live_count = 100;   ///< fewer live values: not evaluated
  std::string score_name = "score";   ///< name of the model-score feature
  bool auto_evaluate = true;          ///< tumbling: evaluate (and alert) when a window closes
};

/// @brief One feature's comparison of the live window against the reference.
struct feature_report {
  std::string name;                           ///< feature name
  feature_kind kind = feature_kind::numeric;  ///< numeric or categorical
  double reference_count = 0;                 ///< non-missing reference values
  double live_count = 0;                      ///< non-missing live values in the window
  double reference_missing_rate = 0;          ///< NaN share in the reference
  double live_missing_rate = 0;               ///< NaN share in the window
  bool evaluated = false;                     ///< false when live_count < min_live_count
  double psi = 0;                             ///< population stability index
  std::string test;                           ///< "ks" (numeric, on samples) or "chi2"
  double statistic = 0;                       ///< KS D or chi-square statistic
  double pvalue = 1;                          ///< its p-value
  double js_distance = 0;     ///< Jensen–Shannon distance of the histograms (bits)
  double wasserstein = 0;     ///< numeric: W1 of the samples (feature units)
  bool test_rejects = false;  ///< pvalue < alpha
  drift::verdict verdict = drift::verdict::stable;  ///< threshold verdict (see monitor_options)
  std::vector<double> reference_hist;               ///< reference proportions per bin
  std::vector<double> live_hist;                    ///< live proportions per bin
  std::vector<std::string> bin_labels;              ///< label per bin
};

/// @brief The report of one evaluation.
struct drift_report {
  std::size_t window_rows = 0;           ///< rows in the evaluated window
  std::uint64_t evaluation = 0;          ///< 1, 2, ... per monitor
  std::vector<feature_report> features;  ///< one per monitored feature (score last)

  /// @brief Features whose verdict is drift.
  [[nodiscard]] std::vector<std::string> drifted() const;
  /// @brief JSON (header type "funnel.drift.drift_report", version 1; it was "drift.report").
  [[nodiscard]] json to_json() const;
  /// @brief Prometheus text exposition format (version 0.0.4): gauges funnel_drift_* labelled by
  /// feature, with `extra_labels` (e.g. `model="ctr",replica="3"`) added to every sample.
  [[nodiscard]] std::string to_prometheus(const std::string& extra_labels = "") const;
  /// @brief A self-contained HTML page: the table and, per feature, an inline SVG of reference vs
  /// live bin proportions.
  [[nodiscard]] std::string to_html(const std::string& title = "funnel drift report") const;
};

/// @brief Compares a live window with a reference (the statistics behind a monitor, usable alone).
[[nodiscard]] drift_report evaluate(const reference_profile& reference,
                                    const std::vector<live_feature>& window, std::size_t rows,
                                    const monitor_options& options = {});

/// @brief Options of compare: how the reference is profiled and how the report is judged.
struct compare_options {
  profile_options profile;  ///< bins (and seed); the whole reference is kept as the KS sample
  monitor_options report;   ///< PSI thresholds, alpha, min_live_count (window/score unused)
};

/// @brief A two-sample drift report of `current` against a fitted reference, without a monitor:
/// every value of `current` counts (no window, no reservoir), so each numeric feature's KS is
/// exactly ks_2samp(reference sample, current column without NaN).
/// @throws dimension_mismatch when current.cols() differs from the reference's features.
[[nodiscard]] drift_report compare(const reference_profile& reference, matrix_view current,
                                   const monitor_options& options = {});

/// @brief A two-sample drift report of two batches (rows x schema.size(), NaN = missing):
/// profiles `reference` keeping every value as its KS sample, then compare(profile, current).
/// Per feature: PSI, KS + Wasserstein (numeric) or chi-square (categorical), JS, missing rates,
/// verdict; the report has the usual to_json / to_prometheus / to_html.
/// @throws dimension_mismatch when a batch's width differs from the schema; invalid_argument when
/// a reference feature has no non-missing value (as fit_reference_profile).
[[nodiscard]] drift_report compare(matrix_view reference, matrix_view current,
                                   const std::vector<feature_spec>& schema,
                                   const compare_options& options = {});

/// @brief Monitors features + score of scored requests. observe() is thread-safe (one mutex,
/// held for O(features x log bins)); high-traffic callers instead fill a local_profile() per
/// thread without locking and hand it over with absorb().
class monitor {
 public:
  /// @brief Called with each report whose features include at least one drift verdict.
  using alert_callback = std::function<void(const drift_report&)>;

  /// @brief A monitor of `reference`, whose last feature must be the score (named
  /// options.score_name). @throws invalid_argument when it is not.
  monitor(reference_profile reference, monitor_options options = {});

  /// @brief Records one scored request: `features` (schema order, without the score) and `score`.
  /// Thread-safe. Evaluates and fires alerts when a tumbling window closes (auto_evaluate).
  /// @throws dimension_mismatch when features.size() + 1 differs from the profile.
  void observe(row_view features, float score);

  /// @brief An unbounded live profile for one thread (no lock while filling it).
  [[nodiscard]] live_profile local_profile(std::uint64_t seed) const;
  /// @brief Adds a thread's local profile into the current window (thread-safe) and clears it.
  void absorb(live_profile& local);

  /// @brief Evaluates the current window now, fires alerts if drifted, returns the report.
  drift_report evaluate_now();
  /// @brief The last report (empty before the first evaluation).
  [[nodiscard]] drift_report last_report() const;

  /// @brief Registers an alert callback (called outside the monitor's lock).
  void on_alert(alert_callback cb);

  /// @brief The names of the features observe() takes, in order (the reference's, without the
  /// score).
  [[nodiscard]] std::vector<std::string> feature_names() const;
  /// @brief Binds a feature producer (e.g. a features pipeline's output_names()) to this monitor
  /// by name and order, as a pipeline binds it to its model (funnel::check_feature_binding).
  /// @throws dimension_mismatch on another width; invalid_argument naming the first position
  /// whose names differ.
  void bind(std::span<const std::string> produced) const;

  [[nodiscard]] const reference_profile& reference() const noexcept { return *ref_; }
  [[nodiscard]] const monitor_options& options() const noexcept { return opt_; }

 private:
  drift_report evaluate_locked();
  void fire(const drift_report& r);

  std::shared_ptr<const reference_profile> ref_;
  monitor_options opt_;
  mutable std::mutex mu_;
  live_profile live_;
  std::vector<float> row_;
  drift_report last_;
  std::uint64_t evaluations_ = 0;
  std::vector<alert_callback> callbacks_;
};

}  // namespace funnel::drift
