// Two-tower retrieval on the committed PyTorch towers: the items funnel retrieves for each
// held-out user are PyTorch's top items by inner product; cold-start users and history exclusion.

#include <funnel/core/error.hpp>
#include <funnel/onnx/two_tower.hpp>
#include <funnel/pipeline/config.hpp>
#include <funnel/pipeline/pipeline.hpp>

#include <algorithm>
#include <numeric>

#include "funnel_catch.hpp"
#include "onnx/onnx_fixture.hpp"

namespace {

using funnel::scoring::two_tower_retriever;
using funnel::test::onnx_fixture;

static_assert(funnel::pipeline::RetrievalStage<two_tower_retriever>);

struct towers {
  onnx_fixture users{"user_tower"};
  onnx_fixture items{"item_tower"};
  std::vector<std::uint64_t> item_ids;
  std::shared_ptr<const funnel::retrieval::hnsw_index> index;

  towers() {
    for (const auto id : items.int_inputs[0]) item_ids.push_back(static_cast<std::uint64_t>(id));
    index = std::make_shared<const funnel::retrieval::hnsw_index>(funnel::scoring::embed_items(
        items.model, item_ids, funnel::matrix_view(items.float_inputs[1], items.rows, 8),
        {.num_ids = 300}));
  }
  // PyTorch's ranking of the catalogue for held-out user u: item positions by dot product.
  [[nodiscard]] std::vector<std::size_t> torch_ranking(std::size_t u) const {
    std::vector<float> score(items.rows);
    for (std::size_t i = 0; i < items.rows; ++i) {
      for (std::size_t d = 0; d < 16; ++d) {
        score[i] += users.expected[0][u * 16 + d] * items.expected[0][i * 16 + d];
      }
    }
    std::vector<std::size_t> order(items.rows);
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [&](auto a, auto b) { return score[a] > score[b]; });
    return order;
  }
  [[nodiscard]] funnel::pipeline::request request(std::size_t u) const {
    funnel::pipeline::request req;
    req.query.user = static_cast<std::uint64_t>(users.int_inputs[0][u]);
    req.context = funnel::row_view(users.float_inputs[1]).subspan(u * 10, 10);
    return req;
  }
};

}  // namespace

TEST_CASE("two_tower: each held-out user retrieves PyTorch's top items") {
  const towers t;
  // ef 64 over 24 items: the search is exhaustive, so the test compares the towers, not HNSW's
  // recall (an inner-product graph needs a wider beam than an L2 one; docs/neural.md).
  const two_tower_retriever retriever(t.users.model, t.index, {.num_ids = 200, .ef = 64});
  for (std::size_t u = 0; u < t.users.rows; ++u) {
    const auto got = retriever.retrieve(t.request(u), 5);
    const auto want = t.torch_ranking(u);
    REQUIRE(got.size() == 5);
    for (std::size_t j = 0; j < 5; ++j) {
      INFO("user row " << u << ", rank " << j);
      CHECK(got[j].id == t.item_ids[want[j]]);
    }
    const auto embedding = retriever.embed_user(t.request(u).query.user, t.request(u).context);
    for (std::size_t d = 0; d < 16; ++d) {
      CHECK_THAT(embedding[d], WithinAbs(t.users.expected[0][u * 16 + d], 1e-5));
    }
  }
}

TEST_CASE("two_tower: an unknown user is served through its features, history is excluded") {
  const towers t;
  const two_tower_retriever retriever(t.users.model, t.index,
                                      {.unknown_id = 0, .num_ids = 200, .ef = 64});
  auto req = t.request(0);
  req.query.user = 5000;  // not in the 200-row table: served as id 0 with its own features
  const auto cold = retriever.retrieve(req, 3);
  req.query.user = 0;
  CHECK(retriever.retrieve(req, 3) == cold);
  req.query.user.reset();
  CHECK(retriever.retrieve(req, 3) == cold);
  const std::vector<std::uint64_t> history{cold[0].id};
  req.query.history = history;
  const auto rest = retriever.retrieve(req, 3);
  CHECK(rest[0] == cold[1]);
  CHECK(std::none_of(rest.begin(), rest.end(), [&](const auto& c) { return c.id == cold[0].id; }));
  const std::vector<float> short_row(9);
  CHECK_THROWS_AS(retriever.embed_user(1, short_row), funnel::dimension_mismatch);
}

TEST_CASE("two_tower: towers and indexes that do not fit are refused") {
  const towers t;
  const onnx_fixture mlp("mlp_lending");
  CHECK_THROWS_AS(two_tower_retriever(mlp.model, t.index), funnel::dimension_mismatch);
  const auto l2 = std::make_shared<const funnel::retrieval::hnsw_index>(
      funnel::retrieval::hnsw_options{.dim = 16, .metric = funnel::retrieval::metric::l2});
  CHECK_THROWS_AS(two_tower_retriever(t.users.model, l2), funnel::invalid_argument);
  const onnx_fixture gather("op_gather");  // int64 input of 4 ids per row: not a tower
  CHECK_THROWS_AS(funnel::scoring::tower_layout::of(gather.model), funnel::unsupported);
}

namespace {
struct retrieval_score_feature {  // one feature per candidate: its retrieval score
  [[nodiscard]] std::size_t width() const { return 1; }
  void build(const funnel::pipeline::request&, std::span<const funnel::candidate> items,
             std::span<float> out) const {
    for (std::size_t i = 0; i < items.size(); ++i) out[i] = items[i].score;
  }
};
struct first_column {
  void score_batch(funnel::matrix_view rows, std::span<float> out) const {
    for (std::size_t i = 0; i < rows.rows(); ++i) out[i] = rows(i, 0);
  }
};
}  // namespace

TEST_CASE("two_tower: the retriever serves as a pipeline's retrieval stage") {
  const towers t;
  const auto retriever = std::make_shared<const two_tower_retriever>(
      t.users.model, t.index, funnel::scoring::two_tower_options{.num_ids = 200, .ef = 64});
  funnel::pipeline::stage_registry stages;
  stages.add_retriever("two_tower", funnel::pipeline::any_retrieval_stage(retriever));
  stages.add_features("score", funnel::pipeline::any_feature_stage(retrieval_score_feature{}));
  auto models =
      std::make_shared<funnel::pipeline::model_registry<funnel::pipeline::any_scoring_stage>>();
  models->add("by_retrieval",
              std::make_shared<const funnel::pipeline::any_scoring_stage>(first_column{}));
  stages.add_models("ranker", models);
  const auto pipeline = stages.build(funnel::parse_json(R"({
      "type": "funnel.pipeline.config", "version": 1,
      "retrievers": [{"stage": "two_tower", "quota": 10}],
      "features": "score", "ranker": {"models": "ranker"}})",
                                                        "two_tower_pipeline.json"));
  auto req = t.request(3);
  req.slate_size = 5;
  const auto served = pipeline.run(req);
  const auto direct = retriever->retrieve(req, 5);
  REQUIRE(served.slate.size() == 5);
  for (std::size_t j = 0; j < 5; ++j) CHECK(served.slate[j].id == direct[j].id);
  CHECK(served.trace.degraded.empty());
}
