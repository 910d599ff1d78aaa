#include <funnel/core/contract.hpp>
#include <funnel/core/error.hpp>

namespace funnel {

void check_same_scale(score_scale a, score_scale b, std::string_view where, std::string_view what_a,
                      std::string_view what_b) {
  if (a != b) {
    raise<invalid_argument>(where,
                            "{} scores on scale '{}', {} on '{}': their scores cannot be "
                            "compared or combined",
                            what_a, to_string(a), what_b, to_string(b));
  }
}

bool check_feature_binding(std::span<const std::string> produced,
                           std::span<const std::string> model_names, std::size_t model_width,
                           std::string_view where) {
  if (produced.size() != model_width) {
    raise<dimension_mismatch>(where, "the features produce {} columns but the model reads {}",
                              produced.size(), model_width);
  }
  if (model_names.empty()) return false;
  if (model_names.size() != model_width) {
    raise<dimension_mismatch>(where, "the model names {} features but reads {}", model_names.size(),
                              model_width);
  }
  for (std::size_t i = 0; i < produced.size(); ++i) {
    if (produced[i] != model_names[i]) {
      raise<invalid_argument>(where, "feature {} is '{}' in the features but '{}' in the model", i,
                              produced[i], model_names[i]);
    }
  }
  return true;
}

}  // namespace funnel
