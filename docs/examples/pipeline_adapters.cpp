// docs/pipeline.md "funnel's modules as stages": a features pipeline as the FeatureStage and
// MMR as a RerankStage, composed at compile time and wired by JSON, serving the same slate.
#include <funnel/features.hpp>
#include <funnel/pipeline.hpp>
#include <funnel/rerank.hpp>

#include <cstdio>

namespace ff = funnel::features;
namespace fp = funnel::pipeline;

namespace {

/// Host retriever: the items 0..29, best first (in production: funnel's HNSW, ALS, popularity).
struct all_items {
  funnel::candidate_list retrieve(const fp::request& /*q*/, std::size_t k) const {
    funnel::candidate_list c;
    for (std::uint64_t i = 0; i < 30 && c.size() < k; ++i)
      c.push_back({i, 1.0F - 0.01F * static_cast<float>(i)});
    return c;
  }
};

/// Host model: a linear scorer over the feature row (in production: GBDT or logistic).
struct linear_model {
  void score_batch(funnel::matrix_view rows, std::span<float> out) const {
    for (std::size_t i = 0; i < rows.rows(); ++i) out[i] = rows(i, 0) + rows(i, 1) - rows(i, 2);
  }
};

}  // namespace

int main() {
  // 1. A fitted features pipeline over user, item and context columns.
  const ff::schema schema({{"user_age", ff::column_type::numeric},
                           {"price", ff::column_type::numeric},
                           {"hour", ff::column_type::numeric}});
  ff::pipeline features(schema, ff::numeric_column("user_age", {ff::standard_scaler{}}),
                        ff::numeric_column("price", {ff::log_transform{}}),
                        ff::numeric_column("hour", {ff::min_max_scaler{}}));
  const std::vector<float> age{20, 40, 60}, price{1, 10, 100}, hour{0, 12, 23};
  ff::batch train(schema);
  train.set(0, age);
  train.set(1, price);
  train.set(2, hour);
  features.fit(train);

  // 2. The tables it joins, keyed by user id and item id, and the items' embeddings for MMR.
  auto users = std::make_shared<fp::feature_table>(fp::feature_table::dense(2));
  users->set_numeric({"user_age"}, funnel::matrix(std::vector<float>{25, 52}, 2, 1));
  auto items = std::make_shared<fp::feature_table>(fp::feature_table::dense(30));
  funnel::matrix prices(30, 1), embeddings(30, 4);
  for (std::size_t i = 0; i < 30; ++i) {
    prices(i, 0) = 1.0F + static_cast<float>(i);
    embeddings(i, i % 4) = 1.0F;  // four kinds of item
  }
  items->set_numeric({"price"}, prices);
  auto catalogue = std::make_shared<fp::item_attributes>(fp::item_attributes::dense(30));
  catalogue->set_embeddings(embeddings.view());  // a view: `embeddings` outlives the stages

  fp::feature_join join;
  join.users = users;
  join.items = items;
  join.context = {"hour"};  // request.context[0]

  auto models = std::make_shared<fp::model_registry<linear_model>>();
  models->add("v1", std::make_shared<const linear_model>());
  const funnel::rerank::mmr mmr({0.5, funnel::rerank::similarity_kind::cosine});

  // 3. Compile time: the adapters are ordinary stages. (Budgets generous enough for a sanitizer
  // build on a loaded CI machine; a late stage would be skipped and show in trace.degraded.)
  fp::pipeline_options options;
  options.retrieval_budget = options.ranking_budget = options.rerank_budget =
      std::chrono::milliseconds(500);
  const auto static_pipeline =
      fp::make_pipeline(std::tuple{fp::retriever_slot<all_items>{"all", {}, 100}}, std::tuple{},
                        fp::feature_stage(features, join), fp::ranker<linear_model>{models},
                        std::tuple{fp::named<fp::rerank_stage<funnel::rerank::mmr>>{
                            "mmr", fp::rerank_stage(mmr, catalogue)}},
                        options);

  // 4. Run time: register the tables by name; "features" and "mmr" are built-in stage types.
  fp::stage_registry stages;
  stages.add_retriever("all", fp::any_retrieval_stage(all_items{}));
  stages.add_feature_table("users", users);
  stages.add_feature_table("items", items);
  stages.add_item_attributes("catalogue", catalogue);
  auto erased = std::make_shared<fp::model_registry<fp::any_scoring_stage>>();
  erased->add("v1", std::make_shared<const fp::any_scoring_stage>(linear_model{}));
  stages.add_models("linear", erased);
  auto config = funnel::parse_json(R"({
      "type": "funnel.pipeline.config", "version": 1,
      "retrievers": [{"stage": "all", "quota": 100}],
      "features": {"type": "features", "users": "users", "items": "items", "context": ["hour"]},
      "ranker": {"models": "linear"},
      "rerankers": [{"type": "mmr", "items": "catalogue", "lambda": 0.5}],
      "budgets_us": {"retrieval": 500000, "ranking": 500000, "rerank": 500000}})",
                                   "pipeline.json");
  config["features"]["pipeline"] = features.to_json();  // or a path: "pipeline": "features.json"
  const auto json_pipeline = stages.build(config);

  const std::vector<float> context{20.0F};
  fp::request req;
  req.query.user = 1;
  req.context = context;
  req.slate_size = 8;
  const auto a = static_pipeline.run(req);
  const auto b = json_pipeline.run(req);
  for (const auto& c : a.slate) std::printf("%llu ", static_cast<unsigned long long>(c.id));
  std::printf("\n");
  for (const auto& s : a.trace.stages) std::printf("  %-10s %7.1f us\n", s.stage.c_str(), s.micros);
  for (const auto& d : b.trace.degraded) std::printf("degraded: %s\n", d.c_str());
  // MMR spread the slate over the four kinds: 8 items, 2 of each.
  std::size_t kinds[4] = {0, 0, 0, 0};
  for (const auto& c : a.slate) ++kinds[c.id % 4];
  const bool spread = kinds[0] == 2 && kinds[1] == 2 && kinds[2] == 2 && kinds[3] == 2;
  return a.slate == b.slate && spread ? 0 : 1;
}
