#include <funnel/pipeline.hpp>

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
  s.add_retriever("ann", any_retriever(fixed_retriever{{{5, 0.9F}, {6, 0.8F}, {7, 0.7F}}}));
  s.add_retriever("popular", any_retriever(fixed_retriever{{{1, 10.0F}, {5, 9.0F}}}));
  s.add_filter("seen", any_filter(seen_filter{}));
  s.add_filter("blocked", any_filter(blocklist_filter({6})));
  s.add_features("ids", any_feature_builder(one_feature{}));
  auto models = std::make_shared<model_registry<any_scorer>>();
  models->add("gbdt-1", std::make_shared<const any_scorer>(sign_scorer{1.0F}));
  s.add_models("ranker", models);
  s.add_scorer("lr", std::make_shared<const any_scorer>(sign_scorer{-1.0F}));
  s.add_reranker("drop_last", any_reranker(drop_last{}));
  return s;
}
}  // namespace

TEST_CASE("pipeline config: a JSON document builds a run-time pipeline from registered stages") {
  const auto config = funnel::parse_json(R"({
    "type": "pipeline", "version": 1,
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
