// docs/pipeline.md opening example: the same stages composed at compile time and from JSON.
#include <funnel/pipeline.hpp>
#include <funnel/retrieval/covisitation.hpp>
#include <funnel/retrieval/popularity.hpp>

#include <cstdio>

namespace {

/// Host feature builder: one row per candidate (here: item id parity and the retrieval score).
struct item_features {
  std::size_t width() const { return 2; }
  void build(const funnel::pipeline::request& /*req*/, std::span<const funnel::candidate> items,
             std::span<float> out) const {
    for (std::size_t i = 0; i < items.size(); ++i) {
      out[2 * i] = static_cast<float>(items[i].id % 2);
      out[2 * i + 1] = items[i].score;
    }
  }
};

/// Host model: a linear scorer (in production: funnel's GBDT or logistic regression).
struct linear_model {
  float w0 = 1.0F;
  float w1 = 10.0F;
  void score_batch(funnel::matrix_view rows, std::span<float> out) const {
    for (std::size_t i = 0; i < rows.rows(); ++i) out[i] = w0 * rows(i, 0) + w1 * rows(i, 1);
  }
};

}  // namespace

int main() {
  using namespace funnel::pipeline;
  namespace fr = funnel::retrieval;
  fr::interaction_log log;
  for (std::uint64_t user = 0; user < 50; ++user) {
    for (std::uint64_t k = 0; k < 6; ++k)
      log.add(user, (user * 7 + k * 3) % 40, 1.0F, static_cast<std::int64_t>(k));
  }
  const auto covis = fr::fit_covisitation(log);
  const auto popular = fr::fit_popularity(log);

  auto models = std::make_shared<model_registry<linear_model>>();
  models->add("ranker-v1", std::make_shared<const linear_model>());

  // 1. Compile time: stage types are known, no virtual calls.
  auto static_pipeline = make_pipeline(
      std::tuple{
          retriever_slot<fr::covisitation_model>{"covis", covis, 300},
          retriever_slot<fr::popularity_model>{"popular", popular, 100, 1.0, /*fallback=*/true}},
      std::tuple{named<seen_filter>{"seen", {}}}, item_features{}, ranker<linear_model>{models},
      std::tuple{});

  // 2. Run time: the host registers stages by name, a JSON document wires them.
  stage_registry stages;
  stages.add_retriever("covis", any_retrieval_stage(covis));
  stages.add_retriever("popular", any_retrieval_stage(popular));
  stages.add_filter("seen", any_filter_stage(seen_filter{}));
  stages.add_features("item_features", any_feature_stage(item_features{}));
  auto erased = std::make_shared<model_registry<any_scoring_stage>>();
  erased->add("ranker-v1", std::make_shared<const any_scoring_stage>(linear_model{}));
  stages.add_models("ranker", erased);
  const auto dynamic_pipeline = stages.build(funnel::parse_json(R"({
      "type": "funnel.pipeline.config", "version": 1,
      "retrievers": [{"stage": "covis", "quota": 300},
                     {"stage": "popular", "quota": 100, "fallback": true}],
      "filters": ["seen"], "features": "item_features", "ranker": {"models": "ranker"},
      "budgets_us": {"retrieval": 5000, "ranking": 5000, "rerank": 2000}})",
                                                                "pipeline.json"));

  request req;
  req.id = 1;
  req.query.user = 3;
  const std::vector<std::uint64_t> history{21, 24};
  req.query.history = history;
  req.slate_size = 5;
  req.deadline = funnel::deadline::after(std::chrono::milliseconds(50));
  const auto a = static_pipeline.run(req);
  const auto b = dynamic_pipeline.run(req);

  for (const auto& c : a.slate) std::printf("%llu ", static_cast<unsigned long long>(c.id));
  std::printf("\n");
  for (const auto& s : a.trace.stages) {
    std::printf("  %-18s %8.1f us  %4zu -> %4zu %s\n", s.stage.c_str(), s.micros, s.candidates_in,
                s.candidates_out, s.note.c_str());
  }
  // Both compositions serve the same slate from the same stages.
  if (a.slate != b.slate) return 1;

  // A new user with no history: co-visitation has nothing, popularity answers (and it is traced).
  request stranger;
  stranger.query.user = 999;
  const auto c = static_pipeline.run(stranger);
  std::printf("new user: %zu items, degraded: %s\n", c.slate.size(),
              c.trace.degraded.at(0).c_str());
  return c.slate.empty() ? 1 : 0;
}
