#pragma once
/// @file config.hpp
/// @brief Building a run-time pipeline from a JSON document: the host registers its stage
/// instances by name, the document names which to use, in which order, with which quotas and
/// budgets.

#include <funnel/core/json.hpp>
#include <funnel/pipeline/pipeline.hpp>

#include <filesystem>
#include <map>
#include <memory>
#include <string>

namespace funnel::pipeline {

/// @brief Named stage instances a JSON configuration may refer to.
class stage_registry {
 public:
  void add_retriever(const std::string& name, any_retriever r) {
    put(retrievers_, name, std::move(r), "retriever");
  }
  void add_filter(const std::string& name, any_filter f) {
    put(filters_, name, std::move(f), "filter");
  }
  void add_features(const std::string& name, any_feature_builder b) {
    put(features_, name, std::move(b), "features");
  }
  /// @brief A versioned main model (hot swap, shadow, canary go through this registry).
  void add_models(const std::string& name, std::shared_ptr<model_registry<any_scorer>> m) {
    put(models_, name, std::move(m), "models");
  }
  /// @brief A light model (cascade first stage, fallback when the main model is late).
  void add_scorer(const std::string& name, std::shared_ptr<const any_scorer> s) {
    put(scorers_, name, std::move(s), "scorer");
  }
  void add_reranker(const std::string& name, any_reranker r) {
    put(rerankers_, name, std::move(r), "reranker");
  }

  /// @brief Builds the pipeline `config` describes (schema in docs/pipeline.md).
  /// @throws parse_error for a malformed document (naming the field), not_found for a stage name
  /// the registry does not have (naming the field and the known names).
  [[nodiscard]] pipeline build(const json& config) const;
  /// @brief The same from a file. @throws io_error, parse_error, not_found.
  [[nodiscard]] pipeline build(const std::filesystem::path& path) const;

 private:
  template <class T>
  static void put(std::map<std::string, T>& m, const std::string& name, T value,
                  std::string_view kind) {
    if (name.empty())
      raise<invalid_argument>("stage_registry", "{} registered with an empty name", kind);
    m.insert_or_assign(name, std::move(value));
  }
  template <class T>
  static const T& find(const std::map<std::string, T>& m, const std::string& name,
                       const std::string& field);

  std::map<std::string, any_retriever> retrievers_;
  std::map<std::string, any_filter> filters_;
  std::map<std::string, any_feature_builder> features_;
  std::map<std::string, std::shared_ptr<model_registry<any_scorer>>> models_;
  std::map<std::string, std::shared_ptr<const any_scorer>> scorers_;
  std::map<std::string, any_reranker> rerankers_;
};

}  // namespace funnel::pipeline
