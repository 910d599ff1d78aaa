#include <funnel/scoring/logistic.hpp>

#include <cmath>

namespace funnel::scoring {
namespace {

double sigmoid(double z) noexcept {
  if (z >= 0) return 1.0 / (1.0 + std::exp(-z));
  const double e = std::exp(z);
  return e / (1.0 + e);
}

}  // namespace

logistic_model::logistic_model(std::vector<double> coef, double intercept, logistic_output output)
    : coef_(std::move(coef)), intercept_(intercept), output_(output) {
  for (std::size_t j = 0; j < coef_.size(); ++j) {
    if (!std::isfinite(coef_[j])) {
      raise<invalid_argument>("logistic_regression", "coef[{}] = {} is not finite", j, coef_[j]);
    }
  }
  if (!std::isfinite(intercept_)) {
    raise<invalid_argument>("logistic_regression", "intercept = {} is not finite", intercept_);
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

double logistic_model::probability(row_view x) const noexcept {
  return sigmoid(margin(x));
}

float logistic_model::score(row_view x) const noexcept {
  const double z = margin(x);
  return static_cast<float>(output_ == logistic_output::margin ? z : sigmoid(z));
}

float logistic_model::score(sparse_row_view x) const noexcept {
  const double z = margin(x);
  return static_cast<float>(output_ == logistic_output::margin ? z : sigmoid(z));
}

void logistic_model::score_batch(matrix_view X, std::span<float> out) const {
  if (X.cols() != coef_.size()) {
    raise<dimension_mismatch>("logistic_regression", "rows have {} features, the model has {}",
                              X.cols(), coef_.size());
  }
  if (out.size() != X.rows()) {
    raise<dimension_mismatch>("logistic_regression", "output has {} slots for {} rows", out.size(),
                              X.rows());
  }
  for (std::size_t i = 0; i < X.rows(); ++i) out[i] = score(X.row(i));
}

void logistic_model::check_row(row_view x) const {
  if (x.size() != coef_.size()) {
    raise<dimension_mismatch>("logistic_regression", "row has {} features, the model has {}",
                              x.size(), coef_.size());
  }
  for (std::size_t j = 0; j < x.size(); ++j) {
    if (!std::isfinite(x[j])) {
      raise<invalid_argument>("logistic_regression", "feature {} = {} is not finite", j, x[j]);
    }
  }
}

void logistic_model::check_row(sparse_row_view x) const {
  if (x.indices.size() != x.values.size()) {
    raise<dimension_mismatch>("logistic_regression", "sparse row has {} indices and {} values",
                              x.indices.size(), x.values.size());
  }
  for (std::size_t k = 0; k < x.indices.size(); ++k) {
    if (x.indices[k] >= coef_.size()) {
      raise<dimension_mismatch>("logistic_regression", "feature index {} >= n_features {}",
                                x.indices[k], coef_.size());
    }
    if (!std::isfinite(x.values[k])) {
      raise<invalid_argument>("logistic_regression", "feature {} = {} is not finite", x.indices[k],
                              x.values[k]);
    }
  }
}

json logistic_model::to_json() const {
  auto j = json_header("logistic_regression", 1);
  j["coef"] = coef_;
  j["intercept"] = intercept_;
  j["output"] = output_ == logistic_output::margin ? "margin" : "probability";
  return j;
}

logistic_model logistic_model::from_json(const json& j) {
  constexpr std::string_view ctx = "logistic_regression";
  check_json_header(j, "logistic_regression", 1, ctx);
  const auto out = json_get<std::string>(j, "output", ctx);
  if (out != "margin" && out != "probability") {
    raise<parse_error>("logistic_regression", "output: '{}' is neither 'probability' nor 'margin'",
                       out);
  }
  try {
    return logistic_model(json_get<std::vector<double>>(j, "coef", ctx),
                          json_get<double>(j, "intercept", ctx),
                          out == "margin" ? logistic_output::margin : logistic_output::probability);
  } catch (const invalid_argument& e) {
    raise<parse_error>("logistic_regression", "{}", e.what());
  }
}

void logistic_model::save(const std::filesystem::path& path) const {
  save_json_file(path, to_json());
}

logistic_model logistic_model::load(const std::filesystem::path& path) {
  return from_json(load_json_file(path));
}

logistic_model logistic_model::from_sklearn_json(const json& j) {
  constexpr std::string_view ctx = "sklearn_logistic_regression";
  if (!j.is_object()) raise<parse_error>(ctx, "expected a JSON object, found {}", j.type_name());
  const auto& classes = json_field(j, "classes", ctx);
  if (!classes.is_array() || classes.size() != 2) {
    raise<unsupported>(ctx, "classes: only binary models are supported, found {} classes",
                       classes.is_array() ? classes.size() : 0);
  }
  const auto& c = json_field(j, "coef", ctx);
  std::vector<double> coef;
  if (c.is_array() && !c.empty() && c[0].is_array()) {
    if (c.size() != 1) {
      raise<unsupported>(ctx, "coef: {} rows, only a binary model (1 row) is supported", c.size());
    }
    try {
      coef = c[0].get<std::vector<double>>();
    } catch (const nlohmann::json::exception&) {
      raise<parse_error>(ctx, "coef[0]: expected array of numbers");
    }
  } else {
    coef = json_get<std::vector<double>>(j, "coef", ctx);
  }
  const auto& b = json_field(j, "intercept", ctx);
  double intercept = 0;
  if (b.is_array()) {
    if (b.size() != 1 || !b[0].is_number()) {
      raise<parse_error>(ctx, "intercept: expected one number, found {} values", b.size());
    }
    intercept = b[0].get<double>();
  } else {
    intercept = json_get<double>(j, "intercept", ctx);
  }
  try {
    return logistic_model(std::move(coef), intercept);
  } catch (const invalid_argument& e) {
    raise<parse_error>(ctx, "{}", e.what());
  }
}

}  // namespace funnel::scoring
