// The README's example, compiled and run in CI: retrieval -> GBDT ranking -> slate, in one
// pipeline.
#include <funnel/funnel.hpp>

#include <cstdio>

namespace fp = funnel::pipeline;
namespace fr = funnel::retrieval;
namespace fs = funnel::scoring;

struct my_features {  // one feature row per candidate: here just the retrieval score
  std::size_t width() const { return 1; }
  void build(const fp::request&, std::span<const funnel::candidate> c, std::span<float> out) const {
    for (std::size_t i = 0; i < c.size(); ++i) out[i] = c[i].score;
  }
};

int main() {
  fr::interaction_log log;  // in production: load_interactions_csv("ratings.csv")
  for (std::uint64_t u = 0; u < 40; ++u) {
    for (std::uint64_t k = 0; k < 8; ++k)
      log.add(u, (u % 4) * 10 + (k * 3 + u) % 10, 1.0F, static_cast<std::int64_t>(k));
  }
  const auto [train, test] = log.split_by_time(log.time_quantile(0.8));  // no future in train
  const auto als = fr::fit_als(train, {.factors = 8, .iterations = 5});
  const auto popular = fr::fit_popularity(train);  // cold-start fallback

  funnel::matrix x(200, 1);  // a toy ranker on the fused retrieval score (RRF: about 0 to 0.03)
  std::vector<float> y(200);
  for (std::size_t i = 0; i < 200; ++i)
    x(i, 0) = 0.03F * static_cast<float>(i) / 200.0F, y[i] = i > 100 ? 1.0F : 0.0F;
  auto ranker = std::make_shared<fp::model_registry<fs::tree_ensemble>>();
  ranker->add(
      "v1", std::make_shared<const fs::tree_ensemble>(fs::fit_gbdt({x, y}, {.rounds = 10}).model));

  auto p = fp::make_pipeline(
      std::tuple{fp::retriever_slot<fr::als_model>{"als", als, 50},
                 fp::retriever_slot<fr::popularity_model>{"pop", popular, 20, 1.0, true}},
      std::tuple{fp::named<fp::seen_filter>{"seen", {}}}, my_features{},
      fp::ranker<fs::tree_ensemble>{ranker}, std::tuple{});
  fp::request req;
  req.query.user = 7;
  req.slate_size = 5;
  const auto result = p.run(req);  // the slate and a trace of every stage
  for (const auto& c : result.slate)
    std::printf("item %llu score %.3f\n", static_cast<unsigned long long>(c.id),
                static_cast<double>(c.score));
  return result.slate.size() == 5 ? 0 : 1;
}
