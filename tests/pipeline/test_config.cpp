#include <funnel/pipeline.hpp>

#include <cstdint>
#include <limits>

#include "funnel_catch.hpp"

using namespace funnel::pipeline;
using funnel::candidate;
using funnel::candidate_list;

namespace {
struct fixed_retriever {
  candidate_list items;
  candidate_list retrieve(const request& /*q*/, std::size_t k) const {
    auto out = items;
    if (out.size() > k) out.resize(k);
    return out;
  }
};
struct one_feature {
  std::size_t width() const { return 1; }
  void build(const request& /*q*/, std::span<const candidate> c, std::span<float> out) const {
    for (std::size_t i = 0; i < c.size(); ++i) out[i] = static_cast<float>(c[i].id);
  }
};
struct sign_scorer {
  float sign;
  void score_batch(funnel::matrix_view rows, std::span<float> out) const {
    for (std::size_t i = 0; i < rows.rows(); ++i) out[i] = sign * rows(i, 0);
  }
};
struct drop_last {
  void rerank(candidate_list& c, const request& /*q*/) const {
    if (!c.empty()) c.pop_back();
  }
};

stage_registry host_stages() {
  stage_registry s;
  s.add_retriever("ann", any_retrieval_stage(fixed_retriever{{{5, 0.9F}, {6, 0.8F}, {7, 0.7F}}}));
  s.add_retriever("popular", any_retrieval_stage(fixed_retriever{{{1, 10.0F}, {5, 9.0F}}}));
  s.add_filter("seen", any_filter_stage(seen_filter{}));
  s.add_filter("blocked", any_filter_stage(blocklist_filter({6})));
  s.add_features("ids", any_feature_stage(one_feature{}));
  auto models = std::make_shared<model_registry<any_scoring_stage>>();
  models->add("gbdt-1", std::make_shared<const any_scoring_stage>(sign_scorer{1.0F}));
  s.add_models("ranker", models);
  s.add_scorer("lr", std::make_shared<const any_scoring_stage>(sign_scorer{-1.0F}));
  s.add_reranker("drop_last", any_rerank_stage(drop_last{}));
  return s;
}
}  // namespace

TEST_CASE("pipeline config: a JSON document builds a run-time pipeline from registered stages") {
  const auto config = funnel::parse_json(R"({
    "type": "funnel.pipeline.config", "version": 1,
    "retrievers": [{"stage": "ann", "quota": 3}, {"stage": "popular", "quota": 2, "weight": 0.5}],
    "fusion": "reciprocal_rank", "rrf_k": 60,
    "filters": ["seen", "blocked"],
    "features": "ids",
    "ranker": {"models": "ranker", "light": "lr", "cascade_top_n": 2},
    "rerankers": ["drop_last"],
    "budgets_us": {"retrieval": 100000, "ranking": 100000, "rerank": 100000}
  })",
                                         "pipeline.json");
  const auto p = host_stages().build(config);
  request req;
  const std::vector<std::uint64_t> seen{7};
  req.query.history = seen;
  const auto r = p.run(req);
  // {5,6,7,1} -> seen drops 7, blocked drops 6 -> {5, 1}; cascade top 2 by main (+id): 5, 1;
  // drop_last removes 1.
  REQUIRE(r.slate.size() == 1);
  CHECK(r.slate[0].id == 5);
  CHECK(r.trace.model_version == "gbdt-1");
  CHECK(r.trace.stages.back().stage == "rerank:drop_last");
}

TEST_CASE("pipeline config: unknown stages and malformed documents name the field") {
  const auto stages = host_stages();
  auto base = funnel::parse_json(R"({"type": "pipeline", "version": 1,
    "retrievers": ["ann"], "features": "ids", "ranker": {"models": "ranker"}})",
                                 "p.json");
  CHECK_NOTHROW(stages.build(base));
  auto j = base;
  j["retrievers"] = {"ann", "nope"};
  CHECK_THROWS_WITH(stages.build(j),
                    ContainsSubstring("pipeline.retrievers[1].stage: no stage registered as 'nope' "
                                      "(registered: ann, popular)"));
  CHECK_THROWS_AS(stages.build(j), funnel::not_found);
  j = base;
  j["features"] = "missing";
  CHECK_THROWS_WITH(stages.build(j), ContainsSubstring("pipeline.features"));
  j = base;
  j["fusion"] = "borda";
  CHECK_THROWS_WITH(stages.build(j), ContainsSubstring("unknown method 'borda'"));
  j = base;
  j["ranker"]["cascade_top_n"] = 10;
  CHECK_THROWS_WITH(stages.build(j), ContainsSubstring("needs a light model"));
  j = base;
  j["version"] = 2;
  CHECK_THROWS_AS(stages.build(j), funnel::parse_error);
  j = base;
  j.erase("ranker");
  CHECK_THROWS_WITH(stages.build(j), ContainsSubstring("missing field 'ranker'"));
  j = base;
  j["budgets_us"] = {{"ranking", -5}};
  CHECK_THROWS_WITH(stages.build(j), ContainsSubstring("pipeline.budgets_us.ranking"));
  j = base;
  j["retrievers"] = funnel::json::array();
  CHECK_THROWS_WITH(stages.build(j), ContainsSubstring("non-empty array"));
}

namespace {
funnel::json base_config() {
  return funnel::parse_json(R"({"type": "pipeline", "version": 1,
    "retrievers": ["ann"], "features": "ids", "ranker": {"models": "ranker"}})",
                            "p.json");
}
stage_registry stages_with_items() {
  auto s = host_stages();
  auto items = std::make_shared<item_attributes>(item_attributes::dense(8));
  items->set_embeddings(std::make_shared<const funnel::matrix>(8, 2, 1.0F));
  s.add_item_attributes("items", items);
  return s;
}
funnel::json with_dpp_window(const funnel::json& window) {
  auto j = base_config();
  j["rerankers"] = funnel::json::array({{{"type", "dpp"}, {"items", "items"}, {"window", window}}});
  return j;
}
}  // namespace

TEST_CASE(
    "pipeline config: a dpp window of -1, 2^63 - 1 or 3e7 is a parse_error at build, not a "
    "crash at run") {
  const auto stages = stages_with_items();
  CHECK_NOTHROW(stages.build(with_dpp_window(8)));
  CHECK_THROWS_AS(stages.build(with_dpp_window(-1)), funnel::parse_error);
  CHECK_THROWS_AS(stages.build(with_dpp_window(std::numeric_limits<std::int64_t>::max())),
                  funnel::parse_error);
  CHECK_THROWS_WITH(stages.build(with_dpp_window(30'000'000)),
                    ContainsSubstring("pipeline.rerankers[0].window: 30000000 is out of range"));
  CHECK_THROWS_AS(stages.build(with_dpp_window(3e7)), funnel::parse_error);
  CHECK_THROWS_AS(stages.build(with_dpp_window(2.5)), funnel::parse_error);
  CHECK_THROWS_AS(stages.build(with_dpp_window("8")), funnel::parse_error);
  // The largest accepted window runs.
  const auto p = stages.build(with_dpp_window(config_limits::max_dpp_window));
  CHECK_NOTHROW(p.run(request{}));
}

TEST_CASE(
    "pipeline config: budgets near 2^63 microseconds are a parse_error (no signed overflow "
    "in the deadline)") {
  const auto stages = host_stages();
  for (const char* key : {"retrieval", "ranking", "rerank"}) {
    auto j = base_config();
    j["budgets_us"] = {{key, std::numeric_limits<std::int64_t>::max()}};
    CHECK_THROWS_AS(stages.build(j), funnel::parse_error);
    j["budgets_us"] = {{key, std::numeric_limits<std::int64_t>::max() - 1000}};
    CHECK_THROWS_AS(stages.build(j), funnel::parse_error);
    j["budgets_us"] = {{key, 18446744073709551615ULL}};
    CHECK_THROWS_AS(stages.build(j), funnel::parse_error);
    j["budgets_us"] = {{key, 0}};
    CHECK_THROWS_AS(stages.build(j), funnel::parse_error);
    j["budgets_us"] = {{key, config_limits::max_budget_us + 1}};
    CHECK_THROWS_WITH(stages.build(j), ContainsSubstring(std::string("budgets_us.") + key));
    j["budgets_us"] = {{key, config_limits::max_budget_us}};
    const auto p = stages.build(j);
    CHECK_NOTHROW(p.run(request{}));
  }
  auto j = base_config();
  j["budgets_us"] = 5;
  CHECK_THROWS_AS(stages.build(j), funnel::parse_error);
}

TEST_CASE(
    "pipeline config: every number that drives memory or time is bounded, every float "
    "finite") {
  const auto stages = stages_with_items();
  const double inf = std::numeric_limits<double>::infinity();
  const double nan = std::numeric_limits<double>::quiet_NaN();
  auto bad = [&](auto&& edit) {
    auto j = base_config();
    edit(j);
    CHECK_THROWS_AS(stages.build(j), funnel::parse_error);
  };
  bad([](funnel::json& j) { j["score_block"] = 0; });
  bad([](funnel::json& j) { j["score_block"] = std::numeric_limits<std::int64_t>::max(); });
  bad([&](funnel::json& j) { j["rrf_k"] = inf; });
  bad([&](funnel::json& j) { j["rrf_k"] = nan; });
  bad([](funnel::json& j) { j["rrf_k"] = 1e300; });
  bad([](funnel::json& j) { j["retrievers"] = {{{"stage", "ann"}, {"quota", 1e12}}}; });
  bad([](funnel::json& j) { j["retrievers"] = {{{"stage", "ann"}, {"quota", 0}}}; });
  bad([&](funnel::json& j) { j["retrievers"] = {{{"stage", "ann"}, {"weight", inf}}}; });
  bad([](funnel::json& j) {
    j["ranker"] = {{"models", "ranker"}, {"light", "lr"}, {"cascade_top_n", 1ULL << 62}};
  });
  bad([&](funnel::json& j) {
    j["rerankers"] = {{{"type", "mmr"}, {"items", "items"}, {"lambda", nan}}};
  });
  bad([&](funnel::json& j) {
    j["rerankers"] = {{{"type", "dpp"}, {"items", "items"}, {"theta", inf}}};
  });
  bad([](funnel::json& j) {
    j["rerankers"] = {{{"type", "sliding_window"},
                       {"items", "items"},
                       {"group", "g"},
                       {"window", std::numeric_limits<std::int64_t>::max()},
                       {"max_per_window", 1}}};
  });
  bad([](funnel::json& j) {
    j["rerankers"] = {
        {{"type", "group_cap"}, {"items", "items"}, {"group", "g"}, {"max_per_group", -1}}};
  });
  bad([](funnel::json& j) {
    j["rerankers"] = {{{"type", "mmr"}, {"items", "items"}, {"relevance", "sigmoid"}}};
  });
  // An error message about a deeply nested value does not dump it.
  auto j = base_config();
  funnel::json deep = 1;
  for (int i = 0; i < 100; ++i) deep = funnel::json::array({deep});
  j["rrf_k"] = deep;
  try {
    (void)stages.build(j);
    FAIL("expected a parse_error");
  } catch (const funnel::parse_error& e) {
    CHECK(std::string(e.what()).size() < 300);
  }
}

TEST_CASE(
    "pipeline config: a model that does not bind to the features is an error at build "
    "naming the mismatch") {
  struct named_ids {
    std::size_t width() const { return 1; }
    std::vector<std::string> output_names() const { return {"item_id"}; }
    void build(const request& q, std::span<const candidate> c, std::span<float> out) const {
      one_feature{}.build(q, c, out);
    }
  };
  struct named_scorer {
    std::vector<std::string> names;
    std::size_t num_features() const noexcept { return names.size(); }
    const std::vector<std::string>& feature_names() const noexcept { return names; }
    funnel::score_scale scale() const noexcept { return funnel::score_scale::raw; }
    void score_batch(funnel::matrix_view rows, std::span<float> out) const {
      for (std::size_t i = 0; i < rows.rows(); ++i) out[i] = rows(i, 0);
    }
  };
  auto stages = host_stages();
  stages.add_features("named", any_feature_stage(named_ids{}));
  auto models = std::make_shared<model_registry<any_scoring_stage>>();
  models->add("v1", std::make_shared<const any_scoring_stage>(named_scorer{{"user_id"}}));
  stages.add_models("wrong", models);
  auto j = base_config();
  j["features"] = "named";
  j["ranker"]["models"] = "wrong";
  CHECK_THROWS_AS(stages.build(j), funnel::invalid_argument);
  CHECK_THROWS_WITH(stages.build(j),
                    ContainsSubstring("pipeline.ranker: model version 'v1': feature 0 is "
                                      "'item_id' in the features but 'user_id' in the model"));
  auto wide = std::make_shared<model_registry<any_scoring_stage>>();
  wide->add("v1", std::make_shared<const any_scoring_stage>(named_scorer{{"item_id", "x"}}));
  stages.add_models("wide", wide);
  j["ranker"]["models"] = "wide";
  CHECK_THROWS_AS(stages.build(j), funnel::dimension_mismatch);
  // The registered light model is bound too (host_stages' "lr" declares nothing: warned).
  auto ok = std::make_shared<model_registry<any_scoring_stage>>();
  ok->add("v1", std::make_shared<const any_scoring_stage>(named_scorer{{"item_id"}}));
  stages.add_models("ok", ok);
  j["ranker"] = {{"models", "ok"}, {"light", "lr"}, {"cascade_top_n", 1}};
  const auto p = stages.build(j);
  const auto r = p.run(request{});
  REQUIRE(r.trace.warnings.size() == 1);
  CHECK_THAT(r.trace.warnings[0], ContainsSubstring("light: the light model declares no feature"));
  // A later version with a different name is refused by the registry the pipeline bound.
  CHECK_THROWS_AS(ok->add("v2", std::make_shared<const any_scoring_stage>(named_scorer{{"other"}})),
                  funnel::invalid_argument);
}
