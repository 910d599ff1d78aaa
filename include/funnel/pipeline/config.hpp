#pragma once
/// @file config.hpp
/// @brief Building a run-time pipeline from a JSON document: the host registers its stage
/// instances by name, the document names which to use, in which order, with which quotas and
/// budgets. Besides the host's instances, the document may build funnel's own stages by type:
/// re-rankers `mmr`, `dpp`, `group_cap`, `sliding_window` (over registered item attributes) and
/// the feature builder `features` (a funnel::features pipeline joined with registered tables).

#include <funnel/core/json.hpp>
#include <funnel/pipeline/adapters.hpp>
#include <funnel/pipeline/pipeline.hpp>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>

namespace funnel::pipeline {

/// @brief The bounds stage_registry::build enforces on every configured number that later
/// drives memory or time (a value outside them is a parse_error at build, never a failure at
/// run). Floating-point fields must also be finite.
struct config_limits {
  /// budgets_us.retrieval / ranking / rerank: 1 us .. 60 s (so deadlines never overflow).
  static constexpr std::int64_t max_budget_us = 60'000'000;
  /// retrievers[].quota (1..) and ranker.cascade_top_n (0..): candidates per request.
  static constexpr std::size_t max_quota = 100'000;
  /// score_block: rows scored between two deadline checks (1..).
  static constexpr std::size_t max_score_block = 1'048'576;
  /// dpp window (0 = whole slate): the windowed greedy holds window^2 doubles per request.
  static constexpr std::size_t max_dpp_window = 1'024;
  /// sliding_window window / max_per_window and group_cap max_per_group (1..).
  static constexpr std::size_t max_window = 100'000;
  /// rrf_k (0..).
  static constexpr double max_rrf_k = 1e6;
};

/// @brief Named stage instances a JSON configuration may refer to.
class stage_registry {
 public:
  void add_retriever(const std::string& name, any_retrieval_stage r) {
    put(retrievers_, name, std::move(r), "retriever");
  }
  void add_filter(const std::string& name, any_filter_stage f) {
    put(filters_, name, std::move(f), "filter");
  }
  void add_features(const std::string& name, any_feature_stage b) {
    put(features_, name, std::move(b), "features");
  }
  /// @brief A versioned main model (hot swap, shadow, canary go through this registry).
  void add_models(const std::string& name, std::shared_ptr<model_registry<any_scoring_stage>> m) {
    put(models_, name, std::move(m), "models");
  }
  /// @brief A light model (cascade first stage, fallback when the main model is late).
  void add_scorer(const std::string& name, std::shared_ptr<const any_scoring_stage> s) {
    put(scorers_, name, std::move(s), "scorer");
  }
  void add_reranker(const std::string& name, any_rerank_stage r) {
    put(rerankers_, name, std::move(r), "reranker");
  }
  /// @brief Item attributes the built-in re-ranker types read (`"items": name`).
  void add_item_attributes(const std::string& name, std::shared_ptr<const item_attributes> a) {
    if (!a)
      raise<invalid_argument>("pipeline.stage_registry", "item attributes '{}' are null", name);
    put(item_attributes_, name, std::move(a), "item attributes");
  }
  /// @brief A user or item table the built-in `features` type joins (`"users"`/`"items": name`).
  void add_feature_table(const std::string& name, std::shared_ptr<const feature_table> t) {
    if (!t) raise<invalid_argument>("pipeline.stage_registry", "feature table '{}' is null", name);
    put(feature_tables_, name, std::move(t), "feature table");
  }
  /// @brief The component types `features` stages load with (default: features::registry::
  /// builtin()); add the host's own component types to a copy. Must outlive build().
  void set_feature_types(const features::registry& types) { feature_types_ = &types; }

  /// @brief Builds the pipeline `config` describes (schema in docs/pipeline.md), binding the
  /// ranker's models to the feature builder (binding.hpp). `config` has type
  /// "funnel.pipeline.config" (the earlier "pipeline" is still read).
  /// @throws parse_error for a malformed document or a number outside config_limits (naming the
  /// field), not_found for a stage name the registry does not have (naming the field and the
  /// known names), dimension_mismatch / invalid_argument when a model does not bind to the
  /// features (width, the first differing name, or score scale).
  [[nodiscard]] pipeline build(const json& config) const;
  /// @brief The same from a file; relative paths in it (a `features` pipeline file) are resolved
  /// against the file's directory. @throws io_error, parse_error, not_found.
  [[nodiscard]] pipeline build(const std::filesystem::path& path) const;

 private:
  template <class T>
  static void put(std::map<std::string, T>& m, const std::string& name, T value,
                  std::string_view kind) {
    if (name.empty())
      raise<invalid_argument>("pipeline.stage_registry", "{} registered with an empty name", kind);
    m.insert_or_assign(name, std::move(value));
  }
  [[nodiscard]] pipeline build(const json& config, const std::filesystem::path& base) const;
  [[nodiscard]] any_rerank_stage make_reranker(const json& entry, const std::string& field) const;
  [[nodiscard]] any_feature_stage make_features(const json& entry,
                                                const std::filesystem::path& base) const;
  template <class T>
  static const T& find(const std::map<std::string, T>& m, const std::string& name,
                       const std::string& field);

  std::map<std::string, any_retrieval_stage> retrievers_;
  std::map<std::string, any_filter_stage> filters_;
  std::map<std::string, any_feature_stage> features_;
  std::map<std::string, std::shared_ptr<model_registry<any_scoring_stage>>> models_;
  std::map<std::string, std::shared_ptr<const any_scoring_stage>> scorers_;
  std::map<std::string, any_rerank_stage> rerankers_;
  std::map<std::string, std::shared_ptr<const item_attributes>> item_attributes_;
  std::map<std::string, std::shared_ptr<const feature_table>> feature_tables_;
  const features::registry* feature_types_ = &features::registry::builtin();
};

}  // namespace funnel::pipeline
