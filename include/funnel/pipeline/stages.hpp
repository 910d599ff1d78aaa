#pragma once
/// @file stages.hpp
/// @brief The request a pipeline serves, the five stage concepts (RetrievalStage, FilterStage,
/// FeatureStage, ScoringStage, RerankStage), and their type-erased forms for pipelines configured
/// at run time. A stage type satisfies its concept by having the member function; no base class.

#include <funnel/core/timer.hpp>
#include <funnel/core/views.hpp>
#include <funnel/pipeline/binding.hpp>
#include <funnel/retrieval/query.hpp>

#include <concepts>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace funnel::pipeline {

/// @brief One request: who asks, in what context, how many items, by when.
struct request {
  std::uint64_t id = 0;         ///< request id, carried into traces and logs
  retrieval::user_query query;  ///< user, recent history, segment
  row_view context;             ///< context features (device, hour ...), may be empty
  std::size_t slate_size = 20;  ///< items returned
  funnel::deadline deadline = funnel::deadline::never();  ///< the whole request's deadline
};

/// @brief Produces candidates for a request. Candidate generators of funnel::retrieval (ALS,
/// co-visitation, popularity) qualify through their `retrieve(user_query, k)`.
template <class T>
concept RetrievalStage = requires(const T& r, const request& q, std::size_t k) {
  { r.retrieve(q, k) } -> std::convertible_to<candidate_list>;
}
|| requires(const T& r, const retrieval::user_query& q, std::size_t k) {
  { r.retrieve(q, k) } -> std::convertible_to<candidate_list>;
};

/// @brief Removes candidates (already seen, blocked, business rules), in place.
template <class T>
concept FilterStage = requires(const T& f, const request& q, candidate_list& c) {
  f.filter(q, c);
};

/// @brief Writes one feature row per candidate (row-major, width() floats each). A builder that
/// knows its columns' names exposes `std::vector<std::string> output_names() const` (the pipeline
/// then binds models to it by name, see binding.hpp).
template <class T>
concept FeatureStage = requires(const T& b, const request& q, std::span<const candidate> c,
                                std::span<float> out) {
  { b.width() } -> std::convertible_to<std::size_t>;
  b.build(q, c, out);
};

/// @brief Scores rows of features; higher is better. `const` and thread-safe. A scorer following
/// the serving contract (docs/design.md) also has `num_features()`, `feature_names()` and
/// `scale()`; the pipeline checks them when it binds the model (binding.hpp).
template <class T>
concept ScoringStage = requires(const T& s, matrix_view rows, std::span<float> out) {
  s.score_batch(rows, out);
};

/// @brief Reorders (and may drop) the ranked candidates, in place.
template <class T>
concept RerankStage = requires(const T& r, candidate_list& c, const request& q) {
  r.rerank(c, q);
};

namespace detail {
template <RetrievalStage R>
candidate_list call_retrieve(const R& r, const request& q, std::size_t k) {
  if constexpr (requires { r.retrieve(q, k); }) {
    return r.retrieve(q, k);
  } else {
    return r.retrieve(q.query, k);
  }
}
}  // namespace detail

/// @brief A type-erased RetrievalStage (shares ownership of the wrapped stage).
class any_retrieval_stage {
 public:
  template <RetrievalStage R>
  explicit any_retrieval_stage(std::shared_ptr<const R> r)
      : fn_([r = std::move(r)](const request& q, std::size_t k) {
          return detail::call_retrieve(*r, q, k);
        }) {}
  template <RetrievalStage R>
  requires(!std::same_as<std::remove_cvref_t<R>, any_retrieval_stage>) explicit any_retrieval_stage(
      R r)
      : any_retrieval_stage(std::make_shared<const R>(std::move(r))) {}
  [[nodiscard]] candidate_list retrieve(const request& q, std::size_t k) const { return fn_(q, k); }

 private:
  std::function<candidate_list(const request&, std::size_t)> fn_;
};

/// @brief A type-erased FilterStage.
class any_filter_stage {
 public:
  template <FilterStage F>
  requires(!std::same_as<std::remove_cvref_t<F>, any_filter_stage>) explicit any_filter_stage(F f)
      : fn_([f = std::make_shared<const F>(std::move(f))](const request& q, candidate_list& c) {
          f->filter(q, c);
        }) {}
  void filter(const request& q, candidate_list& c) const { fn_(q, c); }

 private:
  std::function<void(const request&, candidate_list&)> fn_;
};

/// @brief A type-erased FeatureStage; forwards output_names() (empty when the wrapped builder
/// has none).
class any_feature_stage {
 public:
  template <FeatureStage B>
  requires(!std::same_as<std::remove_cvref_t<B>, any_feature_stage>) explicit any_feature_stage(
      B b) {
    auto p = std::make_shared<const B>(std::move(b));
    width_ = p->width();
    names_ = std::make_shared<const std::vector<std::string>>(detail::output_names_of(*p));
    fn_ = [p](const request& q, std::span<const candidate> c, std::span<float> out) {
      p->build(q, c, out);
    };
  }
  [[nodiscard]] std::size_t width() const noexcept { return width_; }
  /// @brief The wrapped builder's output column names, in order (empty: it exposes none).
  [[nodiscard]] std::vector<std::string> output_names() const { return *names_; }
  void build(const request& q, std::span<const candidate> c, std::span<float> out) const {
    fn_(q, c, out);
  }

 private:
  std::size_t width_ = 0;
  std::shared_ptr<const std::vector<std::string>> names_;
  std::function<void(const request&, std::span<const candidate>, std::span<float>)> fn_;
};

/// @brief A type-erased ScoringStage. Forwards the serving contract's declarations of the wrapped
/// scorer (scale, feature count, feature names); `declared_scale()` and
/// `declared_num_features()` say whether it made them (scale() is `raw` and num_features() 0
/// when it did not).
class any_scoring_stage {
 public:
  template <ScoringStage S>
  explicit any_scoring_stage(std::shared_ptr<const S> s)
      : scale_(detail::scale_of(*s)),
        num_features_(detail::num_features_of(*s)),
        names_(std::make_shared<const std::vector<std::string>>(detail::feature_names_of(*s))),
        fn_([s = std::move(s)](matrix_view rows, std::span<float> out) {
          s->score_batch(rows, out);
        }) {}
  template <ScoringStage S>
  requires(!std::same_as<std::remove_cvref_t<S>, any_scoring_stage>) explicit any_scoring_stage(S s)
      : any_scoring_stage(std::make_shared<const S>(std::move(s))) {}
  void score_batch(matrix_view rows, std::span<float> out) const { fn_(rows, out); }

  /// @brief The wrapped scorer's scale, if it declares one.
  [[nodiscard]] std::optional<score_scale> declared_scale() const noexcept { return scale_; }
  /// @brief The wrapped scorer's scale (raw when it declares none).
  [[nodiscard]] score_scale scale() const noexcept { return scale_.value_or(score_scale::raw); }
  /// @brief The wrapped scorer's input width, if it declares one.
  [[nodiscard]] std::optional<std::size_t> declared_num_features() const noexcept {
    return num_features_;
  }
  /// @brief The wrapped scorer's input width (0 when it declares none).
  [[nodiscard]] std::size_t num_features() const noexcept { return num_features_.value_or(0); }
  /// @brief The wrapped scorer's input feature names (empty when it carries none).
  [[nodiscard]] const std::vector<std::string>& feature_names() const noexcept { return *names_; }

 private:
  std::optional<score_scale> scale_;
  std::optional<std::size_t> num_features_;
  std::shared_ptr<const std::vector<std::string>> names_;
  std::function<void(matrix_view, std::span<float>)> fn_;
};

/// @brief A type-erased RerankStage.
class any_rerank_stage {
 public:
  template <RerankStage R>
  requires(!std::same_as<std::remove_cvref_t<R>, any_rerank_stage>) explicit any_rerank_stage(R r)
      : fn_([r = std::make_shared<const R>(std::move(r))](candidate_list& c, const request& q) {
          r->rerank(c, q);
        }) {}
  void rerank(candidate_list& c, const request& q) const { fn_(c, q); }

 private:
  std::function<void(candidate_list&, const request&)> fn_;
};

/// @brief A stage with the name it has in traces and configuration.
template <class Stage>
struct named {
  std::string name;
  Stage stage;
};

/// @brief A retriever with its name, quota and role in the merge.
template <class R>
struct retriever_slot {
  std::string name;
  R stage;
  std::size_t quota = 200;  ///< at most this many candidates from this retriever
  double weight = 1.0;      ///< its weight in score fusion
  bool fallback = false;    ///< used only when every other retriever returned nothing (cold start)
};

}  // namespace funnel::pipeline
