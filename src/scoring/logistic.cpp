#include <funnel/core/serialize.hpp>
#include <funnel/scoring/logistic.hpp>

#include <cmath>

#include "core/json_document.hpp"

namespace funnel::scoring {

// The document this file writes and reads, with the type strings earlier releases wrote.
namespace {
constexpr funnel::detail::document_kind logistic_document{"funnel.scoring.logistic_model", 2,
                                                          "logistic_regression"};

double sigmoid(double z) noexcept {
  if (z >= 0) return 1.0 / (1.0 + std::exp(-z));
  const double e = std::exp(z);
  return e / (1.0 + e);
}

}  // namespace

logistic_model::logistic_model(std::vector<double> coef, double intercept,
                               std::vector<std::string> feature_names)
    : coef_(std::move(coef)), intercept_(intercept), names_(std::move(feature_names)) {
  for (std::size_t j = 0; j < coef_.size(); ++j) {
    if (!std::isfinite(coef_[j])) {
      raise<invalid_argument>("scoring.logistic_model", "coef[{}] = {} is not finite", j, coef_[j]);
    }
  }
  if (!std::isfinite(intercept_)) {
    raise<invalid_argument>("scoring.logistic_model", "intercept = {} is not finite", intercept_);
  }
  if (!names_.empty() && names_.size() != coef_.size()) {
    raise<dimension_mismatch>("scoring.logistic_model", "{} feature names for {} coefficients",
                              names_.size(), coef_.size());
  }
}

double logistic_model::margin(row_view x) const noexcept {
  double z = intercept_;
  const std::size_t n = coef_.size();
  const double* w = coef_.data();
  const float* v = x.data();
  for (std::size_t j = 0; j < n; ++j) z += w[j] * static_cast<double>(v[j]);
  return z;
}

double logistic_model::margin(sparse_row_view x) const noexcept {
  double z = intercept_;
  for (std::size_t k = 0; k < x.indices.size(); ++k) {
    z += coef_[x.indices[k]] * static_cast<double>(x.values[k]);
  }
  return z;
}

row_view logistic_model::checked(row_view x) const {
  if (x.size() != coef_.size()) {
    raise<dimension_mismatch>("scoring.logistic_model", "row has {} features, the model has {}",
                              x.size(), coef_.size());
  }
  return x;
}

sparse_row_view logistic_model::checked(sparse_row_view x) const {
  if (x.indices.size() != x.values.size()) {
    raise<dimension_mismatch>("scoring.logistic_model", "sparse row has {} indices and {} values",
                              x.indices.size(), x.values.size());
  }
  for (const auto i : x.indices) {
    if (i >= coef_.size()) {
      raise<dimension_mismatch>("scoring.logistic_model",
                                "feature index {} >= num_features {} of the model", i,
                                coef_.size());
    }
  }
  return x;
}

float logistic_model::score_unchecked(row_view x) const noexcept {
  return static_cast<float>(margin(x));
}

float logistic_model::score_unchecked(sparse_row_view x) const noexcept {
  return static_cast<float>(margin(x));
}

float logistic_model::predict_unchecked(row_view x) const noexcept {
  return static_cast<float>(sigmoid(margin(x)));
}

float logistic_model::predict_unchecked(sparse_row_view x) const noexcept {
  return static_cast<float>(sigmoid(margin(x)));
}

namespace {

void check_batch(matrix_view X, std::span<float> out, std::size_t width) {
  if (X.cols() != width) {
    raise<dimension_mismatch>("scoring.logistic_model", "rows have {} features, the model has {}",
                              X.cols(), width);
  }
  if (out.size() != X.rows()) {
    raise<dimension_mismatch>("scoring.logistic_model", "output has {} slots for {} rows",
                              out.size(), X.rows());
  }
}

}  // namespace

void logistic_model::score_batch(matrix_view X, std::span<float> out) const {
  check_batch(X, out, coef_.size());
  for (std::size_t i = 0; i < X.rows(); ++i) out[i] = score_unchecked(X.row(i));
}

void logistic_model::predict_batch(matrix_view X, std::span<float> out) const {
  check_batch(X, out, coef_.size());
  for (std::size_t i = 0; i < X.rows(); ++i) out[i] = predict_unchecked(X.row(i));
}

void logistic_model::check_row(row_view x) const {
  (void)checked(x);
  for (std::size_t j = 0; j < x.size(); ++j) {
    if (!std::isfinite(x[j])) {
      raise<invalid_argument>("scoring.logistic_model", "feature {} = {} is not finite", j, x[j]);
    }
  }
}

void logistic_model::check_row(sparse_row_view x) const {
  (void)checked(x);
  for (std::size_t k = 0; k < x.indices.size(); ++k) {
    if (!std::isfinite(x.values[k])) {
      raise<invalid_argument>("scoring.logistic_model", "feature {} = {} is not finite",
                              x.indices[k], x.values[k]);
    }
  }
}

json logistic_model::to_json() const {
  auto j = logistic_document.header();
  j["coef"] = coef_;
  j["intercept"] = intercept_;
  j["feature_names"] = names_;
  return j;
}

logistic_model logistic_model::from_json(const json& j) {
  return funnel::detail::read_document(j, logistic_document, [&](int version) {
    constexpr std::string_view ctx = "logistic_regression";
    // Version 1 carried "output" (what score() returned); score() is always the margin since
    // version 2, so the field is read for validity only.
    if (version == 1) {
      const auto out = json_get<std::string>(j, "output", ctx);
      if (out != "margin" && out != "probability") {
        raise<parse_error>("scoring.logistic_model",
                           "output: '{}' is neither 'probability' nor 'margin'", out);
      }
    }
    auto coef = json_get<std::vector<double>>(j, "coef", ctx);
    const double intercept = json_get<double>(j, "intercept", ctx);
    std::vector<std::string> names;
    if (version >= 2) names = json_get<std::vector<std::string>>(j, "feature_names", ctx);
    try {
      return logistic_model(std::move(coef), intercept, std::move(names));
    } catch (const error& e) {
      raise<parse_error>("scoring.logistic_model", "{}", e.what());
    }
  });
}

logistic_model from_sklearn_json(const json& j) {
  constexpr std::string_view ctx = "sklearn_logistic_regression";
  if (!j.is_object())
    raise<parse_error>("scoring.logistic_model", "expected a JSON object, found {}",
                       json_preview(j));
  const auto& classes = json_field(j, "classes", ctx);
  if (!classes.is_array() || classes.size() != 2) {
    raise<unsupported>("scoring.logistic_model",
                       "classes: only binary models are supported, found {} classes",
                       classes.is_array() ? classes.size() : 0);
  }
  const auto& c = json_field(j, "coef", ctx);
  std::vector<double> coef;
  if (c.is_array() && !c.empty() && c[0].is_array()) {
    if (c.size() != 1) {
      raise<unsupported>("scoring.logistic_model",
                         "coef: {} rows, only a binary model (1 row) is supported", c.size());
    }
    coef = json_as<std::vector<double>>(c[0], "sklearn_logistic_regression.coef[0]");
  } else {
    coef = json_get<std::vector<double>>(j, "coef", ctx);
  }
  const auto& b = json_field(j, "intercept", ctx);
  double intercept = 0;
  if (b.is_array()) {
    if (b.size() != 1) {
      raise<parse_error>("scoring.logistic_model",
                         "intercept: expected one number, found {} values", b.size());
    }
    intercept = json_as<double>(b[0], "sklearn_logistic_regression.intercept[0]");
  } else {
    intercept = json_get<double>(j, "intercept", ctx);
  }
  std::vector<std::string> names;
  if (j.contains("feature_names_in_")) {
    names = json_get<std::vector<std::string>>(j, "feature_names_in_", ctx);
  }
  try {
    return logistic_model(std::move(coef), intercept, std::move(names));
  } catch (const error& e) {
    raise<parse_error>("scoring.logistic_model", "{}", e.what());
  }
}

}  // namespace funnel::scoring
