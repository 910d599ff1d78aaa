#pragma once
/// @file binding.hpp
/// @brief Binding a feature builder's output columns to a model's input features (by name and
/// order, with core's check_feature_binding) and the score-scale rule, for every place the
/// pipeline meets a model: make_pipeline / basic_pipeline, the JSON stage registry, the ranker's
/// light model, and every version later added to a bound model_registry (hot swap, canary,
/// shadow).
///
/// A stage declares what it knows through optional members, read with `if constexpr`:
/// a FeatureStage may have `output_names()`; a ScoringStage may have `num_features()`,
/// `feature_names()` and `scale()`. Type-erased stages (any_scoring_stage, any_feature_stage)
/// forward them, and say through `declared_*()` whether the wrapped stage had them.

#include <funnel/core/contract.hpp>
#include <funnel/core/error.hpp>

#include <concepts>
#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace funnel::pipeline {

namespace detail {

/// @brief The scale a scorer declares, if it declares one.
template <class S>
[[nodiscard]] std::optional<score_scale> scale_of(const S& s) {
  if constexpr (requires {
                  { s.declared_scale() } -> std::convertible_to<std::optional<score_scale>>;
                }) {
    return s.declared_scale();
  } else if constexpr (requires {
                         { s.scale() } -> std::convertible_to<score_scale>;
                       }) {
    return s.scale();
  } else {
    return std::nullopt;
  }
}

/// @brief The input width a scorer declares, if it declares one.
template <class S>
[[nodiscard]] std::optional<std::size_t> num_features_of(const S& s) {
  if constexpr (requires {
                  { s.declared_num_features() } -> std::convertible_to<std::optional<std::size_t>>;
                }) {
    return s.declared_num_features();
  } else if constexpr (requires {
                         { s.num_features() } -> std::convertible_to<std::size_t>;
                       }) {
    return static_cast<std::size_t>(s.num_features());
  } else {
    return std::nullopt;
  }
}

/// @brief The input feature names a scorer carries (empty when it has none).
template <class S>
[[nodiscard]] std::vector<std::string> feature_names_of(const S& s) {
  if constexpr (requires {
                  { s.feature_names() } -> std::convertible_to<std::span<const std::string>>;
                }) {
    const std::span<const std::string> n = s.feature_names();
    return {n.begin(), n.end()};
  } else {
    return {};
  }
}

/// @brief The output column names a feature builder exposes (empty when it has none).
template <class B>
[[nodiscard]] std::vector<std::string> output_names_of(const B& b) {
  if constexpr (requires {
                  { b.output_names() } -> std::convertible_to<std::vector<std::string>>;
                }) {
    return b.output_names();
  } else {
    return {};
  }
}

/// @brief The message of a funnel error without its "[funnel.<id>] " prefix.
[[nodiscard]] inline std::string_view message_of(const error& e) noexcept {
  std::string_view m = e.what();
  const auto p = m.find("] ");
  return p == std::string_view::npos ? m : m.substr(p + 2);
}

}  // namespace detail

/// @brief What a model must read to be served behind one feature builder. A model_registry
/// holds the bindings of the pipelines it serves and checks every version added against them.
struct feature_binding {
  std::vector<std::string> names;  ///< the builder's output names, in order (empty: none exposed)
  std::size_t width = 0;           ///< the builder's width()
  /// Scale every model served behind this builder must have (the cascade's light model's), if
  /// known.
  std::optional<score_scale> scale{};
  bool operator==(const feature_binding&) const = default;
};

/// @brief The binding of builder `b`.
/// @throws dimension_mismatch when `b` names a different number of columns than its width().
template <class B>
[[nodiscard]] feature_binding binding_of(const B& b) {
  feature_binding out;
  out.names = detail::output_names_of(b);
  out.width = static_cast<std::size_t>(b.width());
  if (!out.names.empty() && out.names.size() != out.width) {
    raise<dimension_mismatch>("pipeline.binding",
                              "the features name {} columns but their width is {}",
                              out.names.size(), out.width);
  }
  return out;
}

/// @brief Checks that `model` (named `what` in messages, e.g. "model version 'v2'") reads
/// exactly the columns binding `b` produces: names and order when both sides have names
/// (funnel::check_feature_binding), the width otherwise. Returns an empty string when the model
/// was bound by name, else the warning to record in the traces of the requests it serves (bound
/// by width only, or not checkable at all because the model declares no feature count).
/// @throws dimension_mismatch (widths differ) or invalid_argument (the first position whose
/// names differ, or a scale different from b.scale), each naming `what`.
template <class S>
[[nodiscard]] std::string bind_model(const S& model, const feature_binding& b,
                                     std::string_view what) {
  if (const auto s = detail::scale_of(model); s && b.scale) {
    check_same_scale(*s, *b.scale, "pipeline.binding", what, "the light model");
  }
  const auto width = detail::num_features_of(model);
  if (!width) {
    return fmt::format("{} declares no feature count: its input ({} features) is unchecked", what,
                       b.width);
  }
  const auto names = detail::feature_names_of(model);
  if (!b.names.empty()) {
    try {
      if (check_feature_binding(b.names, names, *width, "pipeline.binding")) return {};
    } catch (const dimension_mismatch& e) {
      raise<dimension_mismatch>("pipeline.binding", "{}: {}", what, detail::message_of(e));
    } catch (const invalid_argument& e) {
      raise<invalid_argument>("pipeline.binding", "{}: {}", what, detail::message_of(e));
    }
    return fmt::format("{} carries no feature names: bound to the features by width only ({})",
                       what, *width);
  }
  if (*width != b.width) {
    raise<dimension_mismatch>("pipeline.binding",
                              "{}: the features produce {} columns but the model reads {}", what,
                              b.width, *width);
  }
  return names.empty()
             ? fmt::format("{} carries no feature names: bound to the features by width only ({})",
                           what, *width)
             : fmt::format("the features expose no output names: {} bound by width only ({})", what,
                           *width);
}

}  // namespace funnel::pipeline
