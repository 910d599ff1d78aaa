#pragma once
/// @file detectors.hpp
/// @brief Streaming change detectors for error or score streams, following river's definitions
/// (river 0.21: drift.ADWIN / AdaptiveWindowing in adwin_c.pyx, drift.PageHinkley,
/// drift.binary.DDM). Each is a small value type: update per value in O(1) (ADWIN: amortised
/// O(log W) with a check every `clock` values), copyable. Each saves its parameters and full
/// state (`to_json` / `from_json`, `save` / `load`, types "funnel.drift.adwin",
/// "funnel.drift.page_hinkley", "funnel.drift.ddm", version 1): a restored detector continues
/// bit for bit as the original would have. Infinite running extrema are written as the strings
/// "inf" / "-inf". Not thread-safe: one detector per stream, updated by one thread.

#include <funnel/core/enum_names.hpp>
#include <funnel/core/error.hpp>
#include <funnel/core/json.hpp>
#include <funnel/core/serialize.hpp>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <limits>
#include <vector>

namespace funnel::drift {

/// @brief Options of an `adwin` detector (river's defaults).
struct adwin_options {
  double delta = 0.002;       ///< confidence of a cut, in (0, 1)
  int clock = 32;             ///< cut tests every `clock` values (>= 1)
  int max_buckets = 5;        ///< buckets per histogram row (>= 1)
  int min_window_length = 5;  ///< shortest subwindow of a cut (>= 1)
  int grace_period = 10;      ///< values before the first cut test (>= 0)
};

/// @brief ADWIN (Bifet & Gavaldà 2007) exponential-histogram adaptive window, river's variant:
/// buckets of 2^row values, at most `max_buckets` per row, cut tests every `clock` values once the
/// window exceeds `grace_period`, subwindows at least `min_window_length` long. A detected change
/// drops the oldest buckets until no cut is significant.
class adwin : public json_file_io<adwin, 1> {
 public:
  /// @brief A detector with `options` (river's defaults). @throws invalid_argument naming the
  /// field when delta is not in (0, 1), a count is below 1 or grace_period is negative.
  explicit adwin(const adwin_options& options = {}) : opt_(options) {
    if (!(opt_.delta > 0 && opt_.delta < 1)) {
      raise<invalid_argument>("drift.adwin", "adwin_options.delta must be in (0, 1), got {}",
                              opt_.delta);
    }
    if (opt_.clock < 1) {
      raise<invalid_argument>("drift.adwin", "adwin_options.clock must be >= 1, got {}",
                              opt_.clock);
    }
    if (opt_.max_buckets < 1) {
      raise<invalid_argument>("drift.adwin", "adwin_options.max_buckets must be >= 1, got {}",
                              opt_.max_buckets);
    }
    if (opt_.min_window_length < 1) {
      raise<invalid_argument>("drift.adwin", "adwin_options.min_window_length must be >= 1, got {}",
                              opt_.min_window_length);
    }
    if (opt_.grace_period < 0) {
      raise<invalid_argument>("drift.adwin", "adwin_options.grace_period must be >= 0, got {}",
                              opt_.grace_period);
    }
    rows_.emplace_back(static_cast<std::size_t>(opt_.max_buckets) + 1);
  }

  /// @brief Adds one value; returns true when a change was detected at this value.
  bool update(double value) {
    insert(value);
    drift_ = detect();
    if (drift_) ++detections_;
    return drift_;
  }

  /// @brief True when the last update detected a change.
  [[nodiscard]] bool drift_detected() const noexcept { return drift_; }
  /// @brief Number of values in the current window.
  [[nodiscard]] double width() const noexcept { return width_; }
  /// @brief Mean of the current window.
  [[nodiscard]] double estimation() const noexcept { return width_ > 0 ? total_ / width_ : 0.0; }
  /// @brief Variance of the current window (population variance).
  [[nodiscard]] double variance() const noexcept { return width_ > 0 ? variance_ / width_ : 0.0; }
  /// @brief Changes detected so far.
  [[nodiscard]] std::uint64_t detections() const noexcept { return detections_; }

  /// @brief Parameters and full state as JSON (type "funnel.drift.adwin", version 1).
  [[nodiscard]] json to_json() const;
  /// @brief Restores a detector from to_json(). @throws parse_error naming the field (a missing
  /// or mistyped field, a parameter out of range, a state that is not internally consistent).
  [[nodiscard]] static adwin from_json(const json& j);

 private:
  struct row {
    explicit row(std::size_t cap) : total(cap, 0.0), var(cap, 0.0) {}
    std::vector<double> total;
    std::vector<double> var;
    int count = 0;
    void insert(double t, double v) {
      total[static_cast<std::size_t>(count)] = t;
      var[static_cast<std::size_t>(count)] = v;
      ++count;
    }
    void compress(int k) {
      const auto n = total.size();
      const auto uk = static_cast<std::size_t>(k);
      for (std::size_t i = uk; i < n; ++i) {
        total[i - uk] = total[i];
        var[i - uk] = var[i];
      }
      for (std::size_t i = n - uk; i < n; ++i) total[i] = var[i] = 0.0;
      count -= k;
    }
  };

  static double bucket_size(std::size_t r) { return std::ldexp(1.0, static_cast<int>(r)); }

  void insert(double value) {
    rows_.front().insert(value, 0.0);
    width_ += 1;
    double inc = 0.0;
    if (width_ > 1.0) {
      const double d = value - total_ / (width_ - 1.0);
      inc = (width_ - 1.0) * d * d / width_;
    }
    variance_ += inc;
    total_ += value;
    compress();
  }

  void compress() {
    for (std::size_t idx = 0; idx < rows_.size(); ++idx) {
      row& b = rows_[idx];
      if (b.count != opt_.max_buckets + 1) break;
      if (idx + 1 == rows_.size())
        rows_.emplace_back(static_cast<std::size_t>(opt_.max_buckets) + 1);
      row& cur = rows_[idx];
      row& next = rows_[idx + 1];
      const double n1 = bucket_size(idx);
      const double n2 = n1;
      const double mu1 = cur.total[0] / n1;
      const double mu2 = cur.total[1] / n2;
      const double total12 = cur.total[0] + cur.total[1];
      const double temp = n1 * n2 * (mu1 - mu2) * (mu1 - mu2) / (n1 + n2);
      next.insert(total12, cur.var[0] + cur.var[1] + temp);
      cur.compress(2);
      if (next.count <= opt_.max_buckets) break;
    }
  }

  double delete_oldest() {
    const std::size_t last = rows_.size() - 1;
    row& b = rows_[last];
    const double n = bucket_size(last);
    const double u = b.total[0];
    const double mu = u / n;
    const double v = b.var[0];
    width_ -= n;
    total_ -= u;
    const double mu_w = total_ / width_;
    variance_ -= v + n * width_ * (mu - mu_w) * (mu - mu_w) / (n + width_);
    b.compress(1);
    if (b.count == 0) rows_.pop_back();
    return n;
  }

  bool evaluate_cut(double n0, double n1, double delta_mean) const {
    const double delta_prime = std::log(2 * std::log(width_) / opt_.delta);
    const double m_recip =
        1.0 / (n0 - opt_.min_window_length + 1) + 1.0 / (n1 - opt_.min_window_length + 1);
    const double epsilon = std::sqrt(2 * m_recip * (variance_ / width_) * delta_prime) +
                           2.0 / 3.0 * delta_prime * m_recip;
    return std::fabs(delta_mean) > epsilon;
  }

  bool detect() {
    bool change = false;
    ++tick_;
    if (tick_ % static_cast<std::uint64_t>(opt_.clock) == 0 && width_ > opt_.grace_period) {
      bool reduce = true;
      while (reduce) {
        reduce = false;
        bool exit_flag = false;
        double n0 = 0.0;
        double n1 = width_;
        double u0 = 0.0;
        double u1 = total_;
        for (std::size_t ridx = rows_.size(); ridx-- > 0;) {
          if (exit_flag) break;
          const row& b = rows_[ridx];
          for (int k = 0; k < b.count - 1; ++k) {
            const double n2 = bucket_size(ridx);
            const auto uk = static_cast<std::size_t>(k);
            n0 += n2;
            n1 -= n2;
            u0 += b.total[uk];
            u1 -= b.total[uk];
            if (ridx == 0 && k == b.count - 1) {
              exit_flag = true;
              break;
            }
            const double delta_mean = u0 / n0 - u1 / n1;
            if (n1 >= opt_.min_window_length && n0 >= opt_.min_window_length &&
                evaluate_cut(n0, n1, delta_mean)) {
              reduce = true;
              change = true;
              if (width_ > 0) {
                n0 -= delete_oldest();
                exit_flag = true;
                break;
              }
            }
          }
        }
      }
    }
    return change;
  }

  adwin_options opt_;
  std::deque<row> rows_;
  double total_ = 0;
  double variance_ = 0;
  double width_ = 0;
  std::uint64_t tick_ = 0;
  std::uint64_t detections_ = 0;
  bool drift_ = false;
};

/// @brief Which direction of mean shift Page–Hinkley reports.
enum class ph_mode { up, down, both };

/// @brief Names "up", "down", "both" (`to_string`, `parse_enum`).
constexpr auto enum_names_of(ph_mode) {
  return enum_names<ph_mode, 3>{
      "mode", {{{ph_mode::up, "up"}, {ph_mode::down, "down"}, {ph_mode::both, "both"}}}};
}
using funnel::to_string;

/// @brief Options of a `page_hinkley` detector (river's defaults).
struct page_hinkley_options {
  int min_instances = 30;        ///< values before a drift can be reported
  double delta = 0.005;          ///< slack subtracted from each deviation
  double threshold = 50.0;       ///< drift when a cumulative statistic exceeds it (> 0)
  double alpha = 1 - 0.0001;     ///< forgetting factor, in (0, 1]
  ph_mode mode = ph_mode::both;  ///< which direction of mean shift is reported
};

/// @brief Page–Hinkley test, river's definition: cumulative deviations from the running mean with
/// forgetting factor alpha and slack delta; drift when the cumulative sum rises (or falls) more
/// than `threshold` above its running minimum (below its running maximum). Resets after a drift.
class page_hinkley : public json_file_io<page_hinkley, 1> {
 public:
  /// @brief A detector with `options` (river's defaults). @throws invalid_argument naming the
  /// field on a non-positive threshold or alpha outside (0, 1].
  explicit page_hinkley(const page_hinkley_options& options = {}) : opt_(options) {
    if (!(opt_.threshold > 0)) {
      raise<invalid_argument>("drift.page_hinkley",
                              "page_hinkley_options.threshold must be > 0, got {}", opt_.threshold);
    }
    if (!(opt_.alpha > 0 && opt_.alpha <= 1)) {
      raise<invalid_argument>("drift.page_hinkley",
                              "page_hinkley_options.alpha must be in (0, 1], got {}", opt_.alpha);
    }
  }

  /// @brief Adds one value; returns true when a drift is detected at this value.
  bool update(double x) {
    if (drift_) reset();
    ++n_;
    mean_ += (x - mean_) / static_cast<double>(n_);
    const double dev = x - mean_;
    sum_increase_ = opt_.alpha * sum_increase_ + dev - opt_.delta;
    sum_decrease_ = opt_.alpha * sum_decrease_ + dev + opt_.delta;
    if (sum_increase_ < min_increase_) min_increase_ = sum_increase_;
    if (sum_decrease_ > max_decrease_) max_decrease_ = sum_decrease_;
    if (n_ >= static_cast<std::uint64_t>(opt_.min_instances)) {
      const double up = sum_increase_ - min_increase_;
      const double down = max_decrease_ - sum_decrease_;
      drift_ = (opt_.mode != ph_mode::down && up > opt_.threshold) ||
               (opt_.mode != ph_mode::up && down > opt_.threshold);
    }
    return drift_;
  }

  /// @brief True when the last update detected a drift.
  [[nodiscard]] bool drift_detected() const noexcept { return drift_; }
  /// @brief Values seen since the last reset.
  [[nodiscard]] std::uint64_t count() const noexcept { return n_; }
  /// @brief The increase statistic (sum - running minimum) after the last update.
  [[nodiscard]] double increase_statistic() const noexcept { return sum_increase_ - min_increase_; }
  /// @brief The decrease statistic (running maximum - sum) after the last update.
  [[nodiscard]] double decrease_statistic() const noexcept { return max_decrease_ - sum_decrease_; }

  /// @brief Parameters and full state as JSON (type "funnel.drift.page_hinkley", version 1).
  [[nodiscard]] json to_json() const;
  /// @brief Restores a detector from to_json(). @throws parse_error naming the field (a missing
  /// or mistyped field, a parameter out of range, a state that is not internally consistent).
  [[nodiscard]] static page_hinkley from_json(const json& j);

 private:
  // After a drift the detector starts over exactly as a new one with the same parameters (which
  // were validated when this one was built).
  void reset() { *this = page_hinkley(opt_); }
  // The state of to_json / from_json, one field list for both (src/drift/detectors.cpp).
  template <class Io, class Self>
  static void state_fields(Io& io, Self& d);

  page_hinkley_options opt_;
  std::uint64_t n_ = 0;
  double mean_ = 0;
  double sum_increase_ = 0;
  double sum_decrease_ = 0;
  double min_increase_ = std::numeric_limits<double>::infinity();
  double max_decrease_ = -1;  // river starts here, not at -inf
  bool drift_ = false;
};

/// @brief Options of a `ddm` detector (river's defaults).
struct ddm_options {
  int warm_start = 30;             ///< values before the minimum of p + s is tracked
  double warning_threshold = 2.0;  ///< w: warning when p + s > p_min + w s_min
  double drift_threshold = 3.0;    ///< d (>= w): drift when p + s > p_min + d s_min
};

/// @brief DDM (Gama et al. 2004) on a stream of errors (1) and successes (0), river's definition:
/// p_i running error rate, s_i = sqrt(p_i (1 - p_i) / i); after `warm_start` values track the
/// minimum of p + s; warning when p_i + s_i > p_min + w s_min, drift when > p_min + d s_min.
/// Resets after a drift.
class ddm : public json_file_io<ddm, 1> {
 public:
  /// @brief A detector with `options` (river's defaults). @throws invalid_argument when
  /// ddm_options.drift_threshold < ddm_options.warning_threshold.
  explicit ddm(const ddm_options& options = {}) : opt_(options) {
    if (!(opt_.drift_threshold >= opt_.warning_threshold)) {
      raise<invalid_argument>("drift.ddm",
                              "ddm_options.drift_threshold ({}) must be >= "
                              "ddm_options.warning_threshold ({})",
                              opt_.drift_threshold, opt_.warning_threshold);
    }
  }

  /// @brief Adds one outcome (true = error); returns true when a drift is detected.
  bool update(bool error) {
    if (drift_) reset();
    ++n_;
    p_ += ((error ? 1.0 : 0.0) - p_) / static_cast<double>(n_);
    const double s = std::sqrt(p_ * (1 - p_) / static_cast<double>(n_));
    if (n_ > static_cast<std::uint64_t>(opt_.warm_start)) {
      if (p_ + s <= ps_min_) {
        p_min_ = p_;
        s_min_ = s;
        ps_min_ = p_min_ + s_min_;
      }
      warning_detected_ = p_ + s > p_min_ + opt_.warning_threshold * s_min_;
      if (p_ + s > p_min_ + opt_.drift_threshold * s_min_) {
        drift_ = true;
        warning_detected_ = false;
      }
    }
    return drift_;
  }

  [[nodiscard]] bool drift_detected() const noexcept { return drift_; }
  [[nodiscard]] bool warning_detected() const noexcept { return warning_detected_; }
  /// @brief Running error rate since the last reset.
  [[nodiscard]] double error_rate() const noexcept { return p_; }

  /// @brief Parameters and full state as JSON (type "funnel.drift.ddm", version 1).
  [[nodiscard]] json to_json() const;
  /// @brief Restores a detector from to_json(). @throws parse_error naming the field (a missing
  /// or mistyped field, a parameter out of range, a state that is not internally consistent).
  [[nodiscard]] static ddm from_json(const json& j);

 private:
  // After a drift the detector starts over exactly as a new one with the same parameters.
  void reset() { *this = ddm(opt_); }
  // The state of to_json / from_json, one field list for both (src/drift/detectors.cpp).
  template <class Io, class Self>
  static void state_fields(Io& io, Self& d);

  ddm_options opt_;
  std::uint64_t n_ = 0;
  double p_ = 0;
  double p_min_ = 0;
  double s_min_ = 0;
  double ps_min_ = std::numeric_limits<double>::infinity();
  bool drift_ = false;
  bool warning_detected_ = false;
};

}  // namespace funnel::drift
