#include <funnel/pipeline/config.hpp>

namespace funnel::pipeline {
namespace {

std::string name_of(const json& entry, const std::string& field) {
  if (entry.is_string()) return entry.get<std::string>();
  return json_get<std::string>(entry, "stage", field);
}

}  // namespace

template <class T>
const T& stage_registry::find(const std::map<std::string, T>& m, const std::string& name,
                              const std::string& field) {
  const auto it = m.find(name);
  if (it == m.end()) {
    std::string known;
    for (const auto& [k, _] : m) known += (known.empty() ? "" : ", ") + k;
    raise<not_found>("pipeline_config", "{}: no stage registered as '{}' (registered: {})", field,
                     name, known.empty() ? "none" : known);
  }
  return it->second;
}

pipeline stage_registry::build(const json& config) const {
  check_json_header(config, "pipeline", 1, "pipeline");
  pipeline_options options;
  const auto fusion = config.contains("fusion")
                          ? json_get<std::string>(config, "fusion", "pipeline")
                          : "reciprocal_rank";
  if (fusion == "reciprocal_rank") {
    options.fusion = fusion_method::reciprocal_rank;
  } else if (fusion == "normalized_score") {
    options.fusion = fusion_method::normalized_score;
  } else {
    raise<parse_error>("pipeline_config",
                       "pipeline.fusion: unknown method '{}' (reciprocal_rank, normalized_score)",
                       fusion);
  }
  if (config.contains("rrf_k")) options.rrf_k = json_get<double>(config, "rrf_k", "pipeline");
  if (!(options.rrf_k >= 0.0))
    raise<parse_error>("pipeline_config", "pipeline.rrf_k: {} must be >= 0", options.rrf_k);
  if (config.contains("budgets_us")) {
    const auto& b = json_field(config, "budgets_us", "pipeline");
    auto budget = [&](const char* key, std::chrono::microseconds& out) {
      if (!b.contains(key)) return;
      const auto v = json_get<std::int64_t>(b, key, "pipeline.budgets_us");
      if (v <= 0)
        raise<parse_error>("pipeline_config", "pipeline.budgets_us.{}: {} must be > 0", key, v);
      out = std::chrono::microseconds(v);
    };
    budget("retrieval", options.retrieval_budget);
    budget("ranking", options.ranking_budget);
    budget("rerank", options.rerank_budget);
  }
  if (config.contains("score_block"))
    options.score_block = json_get<std::size_t>(config, "score_block", "pipeline");

  std::vector<retriever_slot<any_retriever>> retrievers;
  const auto& rs = json_field(config, "retrievers", "pipeline");
  if (!rs.is_array() || rs.empty())
    raise<parse_error>("pipeline_config", "pipeline.retrievers: expected a non-empty array");
  for (std::size_t i = 0; i < rs.size(); ++i) {
    const auto field = fmt::format("pipeline.retrievers[{}]", i);
    const auto stage = name_of(rs[i], field);
    retriever_slot<any_retriever> slot{stage, find(retrievers_, stage, field + ".stage"), 200, 1.0,
                                       false};
    if (rs[i].is_object()) {
      if (rs[i].contains("name")) slot.name = json_get<std::string>(rs[i], "name", field);
      if (rs[i].contains("quota")) slot.quota = json_get<std::size_t>(rs[i], "quota", field);
      if (rs[i].contains("weight")) slot.weight = json_get<double>(rs[i], "weight", field);
      if (rs[i].contains("fallback")) slot.fallback = json_get<bool>(rs[i], "fallback", field);
    }
    if (slot.quota == 0) raise<parse_error>("pipeline_config", "{}.quota must be > 0", field);
    retrievers.push_back(std::move(slot));
  }
  std::vector<named<any_filter>> filters;
  if (config.contains("filters")) {
    const auto& fs = json_field(config, "filters", "pipeline");
    if (!fs.is_array())
      raise<parse_error>("pipeline_config", "pipeline.filters: expected an array");
    for (std::size_t i = 0; i < fs.size(); ++i) {
      const auto field = fmt::format("pipeline.filters[{}]", i);
      const auto stage = name_of(fs[i], field);
      filters.push_back({stage, find(filters_, stage, field)});
    }
  }
  const auto features_name = json_get<std::string>(config, "features", "pipeline");
  const auto& features = find(features_, features_name, "pipeline.features");

  const auto& rk = json_field(config, "ranker", "pipeline");
  ranker<any_scorer> rank;
  rank.models = find(models_, json_get<std::string>(rk, "models", "pipeline.ranker"),
                     "pipeline.ranker.models");
  if (rk.contains("light"))
    rank.light = find(scorers_, json_get<std::string>(rk, "light", "pipeline.ranker"),
                      "pipeline.ranker.light");
  if (rk.contains("cascade_top_n"))
    rank.cascade_top_n = json_get<std::size_t>(rk, "cascade_top_n", "pipeline.ranker");
  if (rank.cascade_top_n > 0 && !rank.light) {
    raise<parse_error>("pipeline_config",
                       "pipeline.ranker.cascade_top_n needs a light model (pipeline.ranker.light)");
  }

  std::vector<named<any_reranker>> rerankers;
  if (config.contains("rerankers")) {
    const auto& rr = json_field(config, "rerankers", "pipeline");
    if (!rr.is_array())
      raise<parse_error>("pipeline_config", "pipeline.rerankers: expected an array");
    for (std::size_t i = 0; i < rr.size(); ++i) {
      const auto field = fmt::format("pipeline.rerankers[{}]", i);
      const auto stage = name_of(rr[i], field);
      rerankers.push_back({stage, find(rerankers_, stage, field)});
    }
  }
  return pipeline(std::move(retrievers), std::move(filters), features, std::move(rank),
                  std::move(rerankers), options);
}

pipeline stage_registry::build(const std::filesystem::path& path) const {
  return build(load_json_file(path));
}

}  // namespace funnel::pipeline
