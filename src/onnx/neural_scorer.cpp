// neural_scorer and multi_head_scorer: the serving contract over onnx_model. Batches whose rows
// are not contiguous (a matrix_view with a stride) are gathered into a per-thread buffer, and a
// multi-head call keeps its heads' values in one, so neither allocates after warm-up.

#include <funnel/core/error.hpp>
#include <funnel/onnx/neural_scorer.hpp>

#include <algorithm>
#include <cmath>

#include "core/json_document.hpp"

namespace funnel::scoring {
namespace {

constexpr const char* scorer_where = "scoring.neural_scorer";
constexpr const char* heads_where = "scoring.multi_head_scorer";
constexpr funnel::detail::document_kind heads_kind{"funnel.scoring.multi_head_scorer", 1};

// The width of the model's one float32 input [batch, n]; checks that every output is [batch, 1].
std::size_t check_scorer_model(const onnx_model& m, const char* where) {
  if (m.inputs().size() != 1 || m.inputs()[0].dtype != onnx_dtype::float32 ||
      m.inputs()[0].shape.size() != 1) {
    raise<unsupported>(where,
                       "a scorer's model takes one float32 input of shape [batch, "
                       "features]; this one takes {} inputs (the first '{}')",
                       m.inputs().size(), m.inputs().front().name);
  }
  for (const auto& o : m.outputs()) {
    if (o.row_size != 1) {
      raise<unsupported>(where, "output '{}' holds {} values per row, a score is one", o.name,
                         o.row_size);
    }
  }
  return m.inputs()[0].row_size;
}

std::size_t output_index(const onnx_model& m, const std::string& name, const char* where) {
  if (name.empty()) return 0;
  for (std::size_t k = 0; k < m.outputs().size(); ++k) {
    if (m.outputs()[k].name == name) return k;
  }
  std::string names;
  for (const auto& o : m.outputs()) names += (names.empty() ? "'" : ", '") + o.name + "'";
  raise<not_found>(where, "no output '{}' (the model has {})", name, names);
}

void check_names(const std::vector<std::string>& names, std::size_t width, const char* where) {
  if (!names.empty() && names.size() != width) {
    raise<dimension_mismatch>(where, "{} feature names for {} features", names.size(), width);
  }
}

float transform(score_scale s, float z) noexcept {
  switch (s) {
    case score_scale::log_odds:
      return z >= 0.0f ? 1.0f / (1.0f + std::exp(-z)) : std::exp(z) / (1.0f + std::exp(z));
    case score_scale::log:
      return std::exp(z);
    default:
      return z;
  }
}

// X as one contiguous block: itself, or its rows copied into this thread's buffer.
std::span<const float> contiguous(matrix_view X) {
  if (X.stride() == X.cols() || X.rows() <= 1) return {X.data(), X.rows() * X.cols()};
  thread_local std::vector<float> buffer;
  buffer.resize(X.rows() * X.cols());
  for (std::size_t r = 0; r < X.rows(); ++r) {
    std::copy_n(X.row(r).data(), X.cols(), buffer.data() + r * X.cols());
  }
  return buffer;
}

void check_batch(matrix_view X, std::span<float> out, std::size_t width, const char* where) {
  if (X.cols() != width) {
    raise<dimension_mismatch>(where, "rows of {} features, the model takes {}", X.cols(), width);
  }
  if (out.size() != X.rows()) {
    raise<dimension_mismatch>(where, "{} rows but room for {} scores", X.rows(), out.size());
  }
}

}  // namespace

neural_scorer::neural_scorer(onnx_model model, const neural_scorer_options& options)
    : model_(std::move(model)), scale_(options.scale), names_(options.feature_names) {
  num_features_ = check_scorer_model(model_, scorer_where);
  output_ = output_index(model_, options.output, scorer_where);
  check_names(names_, num_features_, scorer_where);
  if (scale_ == score_scale::multiclass_logits) {
    raise<invalid_argument>(scorer_where,
                            "scale multiclass_logits: a neural_scorer serves one "
                            "value per row (use one scorer per class output)");
  }
}

const std::string& neural_scorer::output() const noexcept {
  return model_.outputs()[output_].name;
}

void neural_scorer::score_batch(matrix_view X, std::span<float> out) const {
  check_batch(X, out, num_features_, scorer_where);
  const onnx_input in[] = {contiguous(X)};
  std::vector<std::span<float>>::size_type n = model_.outputs().size();
  thread_local std::vector<std::span<float>> outs;
  outs.assign(n, {});
  outs[output_] = out;
  model_.run(X.rows(), in, outs);
}

void neural_scorer::predict_batch(matrix_view X, std::span<float> out) const {
  score_batch(X, out);
  for (auto& v : out) v = transform(scale_, v);
}

float neural_scorer::score(row_view x) const {
  float out = 0.0f;
  score_batch(matrix_view(x.data(), 1, x.size()), {&out, 1});
  return out;
}

float neural_scorer::predict(row_view x) const {
  return transform(scale_, score(x));
}

json multi_head_options::to_json() const {
  json j = heads_kind.header();
  j["heads"] = json::array();
  for (const auto& h : heads) {
    j["heads"].push_back(
        {{"name", h.name}, {"scale", funnel::to_string(h.scale)}, {"weight", h.weight}});
  }
  j["feature_names"] = feature_names;
  return j;
}

multi_head_options multi_head_options::from_json(const json& j) {
  return funnel::detail::read_document(j, heads_kind, [&](int) {
    constexpr std::string_view ctx = "multi_head_scorer";
    multi_head_options o;
    const auto& heads = j.contains("heads") ? j.at("heads") : json();
    if (!heads.is_array() || heads.empty() || heads.size() > 1024) {
      raise<parse_error>(heads_where, "heads: expected an array of 1 to 1024 heads");
    }
    for (std::size_t k = 0; k < heads.size(); ++k) {
      const auto& h = heads[k];
      const auto where = fmt::format("heads[{}]", k);
      head_options ho;
      ho.name = json_get<std::string>(h, "name", where);
      ho.scale = parse_enum<score_scale>(json_get<std::string>(h, "scale", where), heads_where,
                                         where + ".scale");
      ho.weight = json_get_finite<float>(h, "weight", where);
      o.heads.push_back(std::move(ho));
    }
    if (j.contains("feature_names")) {
      o.feature_names = json_get<std::vector<std::string>>(j, "feature_names", ctx);
    }
    return o;
  });
}

json to_json(const multi_head_trace& t) {
  json values = json::array();
  const std::size_t h = t.heads.size();
  for (std::size_t r = 0; h > 0 && r < t.values.size() / h; ++r) {
    values.push_back(
        std::vector<float>(t.values.begin() + static_cast<std::ptrdiff_t>(r * h),
                           t.values.begin() + static_cast<std::ptrdiff_t>((r + 1) * h)));
  }
  return {{"heads", t.heads}, {"weights", t.weights}, {"values", std::move(values)}};
}

multi_head_scorer::multi_head_scorer(onnx_model model, multi_head_options options)
    : model_(std::move(model)), options_(std::move(options)) {
  num_features_ = check_scorer_model(model_, heads_where);
  check_names(options_.feature_names, num_features_, heads_where);
  if (options_.heads.empty()) raise<invalid_argument>(heads_where, "no heads");
  for (std::size_t k = 0; k < options_.heads.size(); ++k) {
    const auto& h = options_.heads[k];
    for (std::size_t p = 0; p < k; ++p) {
      if (options_.heads[p].name == h.name) {
        raise<invalid_argument>(heads_where, "head '{}' is listed twice", h.name);
      }
    }
    if (h.name.empty()) raise<invalid_argument>(heads_where, "head {} has no name", k);
    if (!std::isfinite(h.weight))
      raise<invalid_argument>(heads_where, "head '{}': weight {}", h.name, h.weight);
    if (h.scale == score_scale::multiclass_logits) {
      raise<invalid_argument>(heads_where, "head '{}': scale multiclass_logits", h.name);
    }
    output_of_head_.push_back(output_index(model_, h.name, heads_where));
    default_weights_.push_back(h.weight);
  }
}

void multi_head_scorer::score_batch(matrix_view X, std::span<float> out) const {
  score_batch(X, out, default_weights_, nullptr);
}

void multi_head_scorer::score_batch(matrix_view X, std::span<float> out,
                                    std::span<const float> weights, multi_head_trace* trace) const {
  check_batch(X, out, num_features_, heads_where);
  const std::size_t nh = options_.heads.size();
  if (weights.size() != nh) {
    raise<dimension_mismatch>(heads_where, "{} weights for {} heads", weights.size(), nh);
  }
  for (std::size_t h = 0; h < nh; ++h) {
    if (!std::isfinite(weights[h])) {
      raise<invalid_argument>(heads_where, "weight of head '{}' is {}", options_.heads[h].name,
                              weights[h]);
    }
  }
  const std::size_t rows = X.rows();
  thread_local std::vector<float> head_values;  // head-major: head h's rows at h * rows
  thread_local std::vector<std::span<float>> outs;
  head_values.resize(nh * rows);
  outs.assign(model_.outputs().size(), {});
  for (std::size_t h = 0; h < nh; ++h)
    outs[output_of_head_[h]] = {head_values.data() + h * rows, rows};
  const onnx_input in[] = {contiguous(X)};
  model_.run(rows, in, outs);
  std::fill(out.begin(), out.end(), 0.0f);
  for (std::size_t h = 0; h < nh; ++h) {
    float* v = head_values.data() + h * rows;
    for (std::size_t r = 0; r < rows; ++r) {
      v[r] = transform(options_.heads[h].scale, v[r]);
      out[r] += weights[h] * v[r];
    }
  }
  if (trace == nullptr) return;
  trace->heads.clear();
  for (const auto& h : options_.heads) trace->heads.push_back(h.name);
  trace->weights.assign(weights.begin(), weights.end());
  trace->values.resize(rows * nh);
  for (std::size_t r = 0; r < rows; ++r) {
    for (std::size_t h = 0; h < nh; ++h) trace->values[r * nh + h] = head_values[h * rows + r];
  }
}

float multi_head_scorer::score(row_view x) const {
  float out = 0.0f;
  score_batch(matrix_view(x.data(), 1, x.size()), {&out, 1});
  return out;
}

}  // namespace funnel::scoring
