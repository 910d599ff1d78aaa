#include <funnel/pipeline/config.hpp>
#include <funnel/rerank/dpp.hpp>
#include <funnel/rerank/mmr.hpp>
#include <funnel/rerank/rules.hpp>

#include <set>

namespace funnel::pipeline {
namespace {

std::string name_of(const json& entry, const std::string& field) {
  if (entry.is_string()) return entry.get<std::string>();
  return json_get<std::string>(entry, "stage", field);
}

/// Calls `fn(entry, field)` on each entry of the optional array `config[key]` (nothing when the
/// key is absent), field naming the entry ("pipeline.<key>[i]") for messages.
/// @throws parse_error when the key holds something other than an array.
template <class Fn>
void for_each_entry(const json& config, std::string_view key, Fn&& fn) {
  if (!config.contains(key)) return;
  const auto& entries = json_field(config, key, "pipeline");
  if (!entries.is_array()) {
    raise<parse_error>("pipeline.config", "pipeline.{}: expected an array", key);
  }
  for (std::size_t i = 0; i < entries.size(); ++i) {
    fn(entries[i], fmt::format("pipeline.{}[{}]", key, i));
  }
}

/// Rejects keys a built-in stage type does not read (a typo must not silently take a default).
void check_keys(const json& entry, const std::string& field, std::set<std::string> known) {
  known.insert("type");
  known.insert("name");
  for (auto it = entry.begin(); it != entry.end(); ++it) {
    if (!known.contains(it.key())) {
      std::string names;
      for (const auto& k : known) names += (names.empty() ? "" : ", ") + k;
      raise<parse_error>("pipeline.config", "{}.{}: unknown field for type '{}' (known: {})", field,
                         it.key(), json_get<std::string>(entry, "type", field), names);
    }
  }
}

template <class E>
E enum_field(const json& entry, const char* key, const std::string& field, E fallback,
             std::initializer_list<std::pair<const char*, E>> values) {
  if (!entry.contains(key)) return fallback;
  const auto v = json_get<std::string>(entry, key, field);
  std::string names;
  for (const auto& [name, e] : values) {
    if (v == name) return e;
    names += (names.empty() ? "" : ", ") + std::string(name);
  }
  raise<parse_error>("pipeline.config", "{}.{}: unknown value '{}' ({})", field, key, v, names);
}

template <class T>
T get_or(const json& entry, const char* key, const std::string& field, T fallback) {
  return entry.contains(key) ? json_get<T>(entry, key, field) : fallback;
}

/// A finite number (NaN, infinity and 1e999 are parse errors), or `fallback` when absent.
double finite_or(const json& entry, const char* key, const std::string& field, double fallback) {
  return entry.contains(key) ? json_get_finite<double>(entry, key, field) : fallback;
}

/// An integer in [lo, hi] (config_limits), or `fallback` when absent.
template <class T>
T bounded_or(const json& entry, const char* key, const std::string& field, T lo, T hi, T fallback) {
  return entry.contains(key) ? json_get_in<T>(entry, key, lo, hi, field) : fallback;
}

relevance_scale relevance_field(const json& e, const std::string& field) {
  return enum_field(e, "relevance", field, relevance_scale::as_is,
                    {{"as_is", relevance_scale::as_is}, {"min_max", relevance_scale::min_max}});
}

rerank::similarity_kind similarity_field(const json& e, const std::string& field) {
  return enum_field(
      e, "similarity", field, rerank::similarity_kind::cosine,
      {{"cosine", rerank::similarity_kind::cosine}, {"dot", rerank::similarity_kind::dot}});
}

/// Runs `make` and rethrows a module's own invalid_argument as a parse error naming the field.
template <class F>
auto with_field(const std::string& field, F&& make) {
  try {
    return make();
  } catch (const invalid_argument& e) {
    raise<parse_error>("pipeline.config", "{}: {}", field, e.what());
  }
}

}  // namespace

template <class T>
const T& stage_registry::find(const std::map<std::string, T>& m, const std::string& name,
                              const std::string& field) {
  const auto it = m.find(name);
  if (it == m.end()) {
    std::string known;
    for (const auto& [k, _] : m) known += (known.empty() ? "" : ", ") + k;
    raise<not_found>("pipeline.config", "{}: no stage registered as '{}' (registered: {})", field,
                     name, known.empty() ? "none" : known);
  }
  return it->second;
}

any_rerank_stage stage_registry::make_reranker(const json& e, const std::string& field) const {
  const auto type = json_get<std::string>(e, "type", field);
  const auto& items =
      find(item_attributes_, json_get<std::string>(e, "items", field), field + ".items");
  rerank_stage_options o;
  o.unknown = enum_field(e, "unknown_items", field, unknown_item::error,
                         {{"error", unknown_item::error}, {"drop", unknown_item::drop}});
  const std::set<std::string> common{"items", "unknown_items"};
  auto keys = [&](std::set<std::string> own) {
    own.insert(common.begin(), common.end());
    check_keys(e, field, std::move(own));
  };
  if (type == "mmr") {
    keys({"lambda", "similarity", "relevance"});
    o.relevance = relevance_field(e, field);
    rerank::mmr_options m;
    m.lambda = finite_or(e, "lambda", field, m.lambda);
    m.similarity = similarity_field(e, field);
    return with_field(field, [&] {
      return any_rerank_stage(rerank_stage<rerank::mmr>(rerank::mmr(m), items, o));
    });
  }
  if (type == "dpp") {
    keys({"theta", "quality", "kernel", "similarity", "alpha", "sigma", "jitter", "window",
          "min_gain", "relevance"});
    o.relevance = relevance_field(e, field);
    rerank::dpp_options d;
    d.theta = finite_or(e, "theta", field, d.theta);
    d.quality = enum_field(
        e, "quality", field, d.quality,
        {{"exp_theta", rerank::dpp_quality::exp_theta}, {"score", rerank::dpp_quality::score}});
    d.kernel = enum_field(e, "kernel", field, d.kernel,
                          {{"direct", rerank::dpp_similarity::direct},
                           {"youtube_rbf", rerank::dpp_similarity::youtube_rbf}});
    d.similarity = similarity_field(e, field);
    d.alpha = finite_or(e, "alpha", field, d.alpha);
    d.sigma = finite_or(e, "sigma", field, d.sigma);
    d.jitter = finite_or(e, "jitter", field, d.jitter);
    // The windowed greedy allocates window^2 doubles per request: bounded here.
    d.window =
        bounded_or<std::size_t>(e, "window", field, 0, config_limits::max_dpp_window, d.window);
    d.min_gain = finite_or(e, "min_gain", field, d.min_gain);
    return with_field(field, [&] {
      return any_rerank_stage(rerank_stage<rerank::dpp>(rerank::dpp(d), items, o));
    });
  }
  if (type == "group_cap") {
    keys({"group", "max_per_group"});
    const auto group = json_get<std::string>(e, "group", field);
    const auto cap =
        json_get_in<std::size_t>(e, "max_per_group", 1, config_limits::max_window, field);
    return with_field(field, [&] {
      return any_rerank_stage(rerank_stage<rerank::group_cap>(
          rerank::group_cap(group, {.max_per_group = cap}), items, o));
    });
  }
  if (type == "sliding_window") {
    keys({"group", "window", "max_per_window", "drop_unplaced"});
    const auto group = json_get<std::string>(e, "group", field);
    const auto window = json_get_in<std::size_t>(e, "window", 1, config_limits::max_window, field);
    const auto max =
        json_get_in<std::size_t>(e, "max_per_window", 1, config_limits::max_window, field);
    const auto drop = get_or(e, "drop_unplaced", field, true);
    return with_field(field, [&] {
      return any_rerank_stage(rerank_stage<rerank::sliding_window>(
          rerank::sliding_window(group,
                                 {.window = window, .max_per_window = max, .drop_unplaced = drop}),
          items, o));
    });
  }
  raise<parse_error>("pipeline.config",
                     "{}.type: unknown re-ranker type '{}' (mmr, dpp, group_cap, sliding_window)",
                     field, type);
}

any_feature_stage stage_registry::make_features(const json& e,
                                                const std::filesystem::path& base) const {
  const std::string field = "pipeline.features";
  const auto type = json_get<std::string>(e, "type", field);
  if (type != "features") {
    raise<parse_error>("pipeline.config", "{}.type: unknown feature builder type '{}' (features)",
                       field, type);
  }
  check_keys(e, field,
             {"pipeline", "users", "items", "context", "score", "missing", "unknown_items"});
  feature_join join;
  if (e.contains("users"))
    join.users = find(feature_tables_, json_get<std::string>(e, "users", field), field + ".users");
  if (e.contains("items"))
    join.items = find(feature_tables_, json_get<std::string>(e, "items", field), field + ".items");
  join.context = get_or(e, "context", field, std::vector<std::string>{});
  join.score = get_or(e, "score", field, std::string{});
  join.missing = get_or(e, "missing", field, std::vector<std::string>{});
  join.unknown = enum_field(e, "unknown_items", field, unknown_item::error,
                            {{"error", unknown_item::error}, {"drop", unknown_item::drop}});
  const auto& spec = json_field(e, "pipeline", field);
  features::any_pipeline p = [&] {
    if (spec.is_string()) {
      auto path = std::filesystem::path(spec.get<std::string>());
      if (path.is_relative() && !base.empty()) path = base / path;
      return features::any_pipeline::load(path, *feature_types_);
    }
    return features::any_pipeline::from_json(spec, *feature_types_);
  }();
  return any_feature_stage(feature_stage<features::any_pipeline>(std::move(p), std::move(join)));
}

namespace {

// The pipeline-wide options of a config: fusion, rrf_k, budgets, trace_cpu, score_block.
pipeline_options options_from_json(const json& config) {
  pipeline_options options;
  const auto fusion = config.contains("fusion")
                          ? json_get<std::string>(config, "fusion", "pipeline")
                          : "reciprocal_rank";
  if (fusion == "reciprocal_rank") {
    options.fusion = fusion_method::reciprocal_rank;
  } else if (fusion == "normalized_score") {
    options.fusion = fusion_method::normalized_score;
  } else {
    raise<parse_error>("pipeline.config",
                       "pipeline.fusion: unknown method '{}' (reciprocal_rank, normalized_score)",
                       fusion);
  }
  options.rrf_k = finite_or(config, "rrf_k", "pipeline", options.rrf_k);
  if (!(options.rrf_k >= 0.0 && options.rrf_k <= config_limits::max_rrf_k)) {
    raise<parse_error>("pipeline.config", "pipeline.rrf_k: {} is outside [0, {}]", options.rrf_k,
                       config_limits::max_rrf_k);
  }
  if (config.contains("budgets_us")) {
    const auto& b = json_field(config, "budgets_us", "pipeline");
    if (!b.is_object()) {
      raise<parse_error>("pipeline.config", "pipeline.budgets_us: expected an object, got {}",
                         json_preview(b));
    }
    auto budget = [&](const char* key, std::chrono::microseconds& out) {
      if (!b.contains(key)) return;
      // Bounded so that now() + budget can never overflow the clock's representation.
      out = std::chrono::microseconds(json_get_in<std::int64_t>(
          b, key, 1, config_limits::max_budget_us, "pipeline.budgets_us"));
    };
    budget("retrieval", options.retrieval_budget);
    budget("ranking", options.ranking_budget);
    budget("rerank", options.rerank_budget);
  }
  if (config.contains("trace_cpu"))
    options.trace_cpu = json_get<bool>(config, "trace_cpu", "pipeline");
  if (config.contains("score_block"))
    options.score_block = json_get_in<std::size_t>(config, "score_block", 1,
                                                   config_limits::max_score_block, "pipeline");
  return options;
}

}  // namespace

pipeline stage_registry::build(const json& config) const {
  return build(config, {});
}

pipeline stage_registry::build(const json& config, const std::filesystem::path& base) const {
  // Type strings earlier releases wrote for this document.
  static constexpr std::array<std::string_view, 1> legacy_types = {"pipeline"};
  check_json_header(config, "funnel.pipeline.config", legacy_types, 1, "pipeline");
  const pipeline_options options = options_from_json(config);

  std::vector<retriever_slot<any_retrieval_stage>> retrievers;
  const auto& rs = json_field(config, "retrievers", "pipeline");
  if (!rs.is_array() || rs.empty())
    raise<parse_error>("pipeline.config", "pipeline.retrievers: expected a non-empty array");
  for (std::size_t i = 0; i < rs.size(); ++i) {
    const auto field = fmt::format("pipeline.retrievers[{}]", i);
    const auto stage = name_of(rs[i], field);
    retriever_slot<any_retrieval_stage> slot{stage, find(retrievers_, stage, field + ".stage"), 200,
                                             1.0, false};
    if (rs[i].is_object()) {
      if (rs[i].contains("name")) slot.name = json_get<std::string>(rs[i], "name", field);
      slot.quota =
          bounded_or<std::size_t>(rs[i], "quota", field, 1, config_limits::max_quota, slot.quota);
      slot.weight = finite_or(rs[i], "weight", field, slot.weight);
      if (rs[i].contains("fallback")) slot.fallback = json_get<bool>(rs[i], "fallback", field);
    }
    if (slot.quota == 0) raise<parse_error>("pipeline.config", "{}.quota must be > 0", field);
    retrievers.push_back(std::move(slot));
  }
  std::vector<named<any_filter_stage>> filters;
  for_each_entry(config, "filters", [&](const json& entry, const std::string& field) {
    const auto stage = name_of(entry, field);
    filters.push_back({stage, find(filters_, stage, field)});
  });
  const auto& features_entry = json_field(config, "features", "pipeline");
  const auto features = features_entry.is_object()
                            ? make_features(features_entry, base)
                            : find(features_, json_get<std::string>(config, "features", "pipeline"),
                                   "pipeline.features");

  const auto& rk = json_field(config, "ranker", "pipeline");
  ranker<any_scoring_stage> rank;
  rank.models = find(models_, json_get<std::string>(rk, "models", "pipeline.ranker"),
                     "pipeline.ranker.models");
  if (rk.contains("light"))
    rank.light = find(scorers_, json_get<std::string>(rk, "light", "pipeline.ranker"),
                      "pipeline.ranker.light");
  if (rk.contains("cascade_top_n"))
    rank.cascade_top_n = json_get_in<std::size_t>(rk, "cascade_top_n", 0, config_limits::max_quota,
                                                  "pipeline.ranker");
  if (rank.cascade_top_n > 0 && !rank.light) {
    raise<parse_error>("pipeline.config",
                       "pipeline.ranker.cascade_top_n needs a light model (pipeline.ranker.light)");
  }

  std::vector<named<any_rerank_stage>> rerankers;
  for_each_entry(config, "rerankers", [&](const json& entry, const std::string& field) {
    if (entry.is_object() && entry.contains("type")) {
      if (entry.contains("stage")) {
        raise<parse_error>("pipeline.config",
                           "{}: give either 'stage' (a registered re-ranker) or 'type' (a "
                           "built-in one), not both",
                           field);
      }
      const auto name = get_or(entry, "name", field, json_get<std::string>(entry, "type", field));
      rerankers.push_back({name, make_reranker(entry, field)});
      return;
    }
    const auto stage = name_of(entry, field);
    rerankers.push_back({stage, find(rerankers_, stage, field)});
  });
  // Binds the models to the features (names and order, width, scale): a mismatch is an error
  // naming the field, at build time.
  try {
    return pipeline(std::move(retrievers), std::move(filters), features, std::move(rank),
                    std::move(rerankers), options);
  } catch (const dimension_mismatch& e) {
    raise<dimension_mismatch>("pipeline.config", "pipeline.ranker: {}", detail::message_of(e));
  } catch (const invalid_argument& e) {
    raise<invalid_argument>("pipeline.config", "pipeline.ranker: {}", detail::message_of(e));
  }
}

pipeline stage_registry::build(const std::filesystem::path& path) const {
  return build(load_json_file(path), path.parent_path());
}

}  // namespace funnel::pipeline
