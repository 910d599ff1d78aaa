#pragma once
// Input checks shared by the metrics translation units (private to src/metrics).

#include <funnel/core/error.hpp>

#include <cmath>
#include <cstddef>
#include <span>
#include <string_view>

namespace funnel::metrics::detail {

inline void check_same_length(std::string_view where, std::size_t n, std::size_t m,
                              std::string_view what) {
  if (n != m) raise<dimension_mismatch>(where, "{} has {} values, y_true has {}", what, m, n);
}

inline void check_labels(std::string_view where, std::span<const float> y) {
  for (std::size_t i = 0; i < y.size(); ++i) {
    if (y[i] != 0.0F && y[i] != 1.0F) {
      raise<invalid_argument>(where, "y_true[{}] = {} is not a binary label (0 or 1)", i, y[i]);
    }
  }
}

template <class T>
void check_finite(std::string_view where, std::span<const T> v, std::string_view what) {
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (!std::isfinite(v[i]))
      raise<invalid_argument>(where, "{}[{}] = {} is not finite", what, i, v[i]);
  }
}

inline void check_weights(std::string_view where, std::span<const double> w, std::size_t n) {
  if (w.empty()) return;
  check_same_length(where, n, w.size(), "sample_weight");
  for (std::size_t i = 0; i < w.size(); ++i) {
    if (!std::isfinite(w[i]) || w[i] < 0) {
      raise<invalid_argument>(where, "sample_weight[{}] = {} must be finite and >= 0", i, w[i]);
    }
  }
}

inline void check_nonempty(std::string_view where, std::size_t n) {
  if (n == 0) raise<invalid_argument>(where, "no samples");
}

/// Standard checks of a (labels, scores, weights) triple.
inline void check_binary(std::string_view where, std::span<const float> y, std::span<const float> s,
                         std::span<const double> w, std::string_view what = "y_score") {
  check_same_length(where, y.size(), s.size(), what);
  check_nonempty(where, y.size());
  check_labels(where, y);
  check_finite(where, s, what);
  check_weights(where, w, y.size());
}

inline double weight_at(std::span<const double> w, std::size_t i) noexcept {
  return w.empty() ? 1.0 : w[i];
}

}  // namespace funnel::metrics::detail
