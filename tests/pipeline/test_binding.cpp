#include <funnel/pipeline.hpp>

#include <type_traits>

#include "funnel_catch.hpp"
#include "pipeline_test_stages.hpp"

using namespace funnel::pipeline;
using funnel::candidate;
using funnel::candidate_list;
using funnel::score_scale;
using funnel::test::list_retriever;

namespace {

/// Row = {id, 1}, columns named "item_id", "bias".
struct named_features {
  std::size_t width() const { return 2; }
  std::vector<std::string> output_names() const { return {"item_id", "bias"}; }
  void build(const request& /*q*/, std::span<const candidate> c, std::span<float> out) const {
    for (std::size_t i = 0; i < c.size(); ++i) {
      out[2 * i] = static_cast<float>(c[i].id);
      out[2 * i + 1] = 1.0F;
    }
  }
};

/// The same rows without names.
struct unnamed_features {
  std::size_t width() const { return 2; }
  void build(const request& q, std::span<const candidate> c, std::span<float> out) const {
    named_features{}.build(q, c, out);
  }
};

/// A scorer following the serving contract: names, width and scale; score = sum of weights *
/// row.
struct contract_scorer {
  std::vector<std::string> names{"item_id", "bias"};
  std::size_t width = 2;
  score_scale s = score_scale::log_odds;
  std::size_t num_features() const noexcept { return width; }
  const std::vector<std::string>& feature_names() const noexcept { return names; }
  score_scale scale() const noexcept { return s; }
  void score_batch(funnel::matrix_view rows, std::span<float> out) const {
    for (std::size_t i = 0; i < rows.rows(); ++i) out[i] = rows(i, 0);
  }
};

/// A scorer declaring nothing (a host model predating the contract).
struct bare_scorer {
  void score_batch(funnel::matrix_view rows, std::span<float> out) const {
    for (std::size_t i = 0; i < rows.rows(); ++i) out[i] = rows(i, 0);
  }
};

contract_scorer unnamed(std::size_t width = 2, score_scale s = score_scale::log_odds) {
  return {{}, width, s};
}

pipeline_options relaxed() {
  pipeline_options o;
  o.retrieval_budget = o.ranking_budget = o.rerank_budget = std::chrono::seconds(30);
  return o;
}

template <class S>
std::shared_ptr<model_registry<S>> registry_of(S s, const std::string& version = "v1") {
  auto r = std::make_shared<model_registry<S>>();
  r->add(version, std::make_shared<const S>(std::move(s)));
  return r;
}

template <class B, class S>
auto make(B features, ranker<S> rank) {
  return make_pipeline(std::tuple{retriever_slot<list_retriever>{"a", {{{1, 0.5F}, {2, 0.4F}}}}},
                       std::tuple{}, std::move(features), std::move(rank), std::tuple{}, relaxed());
}

request one_request() {
  request r;
  r.id = 3;
  r.slate_size = 5;
  return r;
}

}  // namespace

TEST_CASE(
    "pipeline binding: a model whose features are in another order names the first "
    "mismatch at setup") {
  contract_scorer swapped;
  swapped.names = {"bias", "item_id"};
  CHECK_THROWS_AS(make(named_features{}, ranker<contract_scorer>{registry_of(swapped)}),
                  funnel::invalid_argument);
  CHECK_THROWS_WITH(make(named_features{}, ranker<contract_scorer>{registry_of(swapped)}),
                    ContainsSubstring("model version 'v1'") &&
                        ContainsSubstring("feature 0 is 'item_id' in the features "
                                          "but 'bias' in the model"));
  contract_scorer renamed;
  renamed.names = {"item_id", "intercept"};
  CHECK_THROWS_WITH(make(named_features{}, ranker<contract_scorer>{registry_of(renamed)}),
                    ContainsSubstring("feature 1 is 'bias'"));
  // The same names in the same order bind, and the trace carries no warning.
  auto p = make(named_features{}, ranker<contract_scorer>{registry_of(contract_scorer{})});
  const auto r = p.run(one_request());
  CHECK(r.trace.warnings.empty());
  CHECK(r.slate.front().id == 2);
}

TEST_CASE(
    "pipeline binding: a model narrower or wider than the features is a dimension_mismatch "
    "at setup") {
  CHECK_THROWS_AS(make(named_features{}, ranker<contract_scorer>{registry_of(unnamed(1))}),
                  funnel::dimension_mismatch);
  CHECK_THROWS_WITH(make(named_features{}, ranker<contract_scorer>{registry_of(unnamed(1))}),
                    ContainsSubstring("produce 2 columns") && ContainsSubstring("reads 1"));
  CHECK_THROWS_AS(make(unnamed_features{}, ranker<contract_scorer>{registry_of(unnamed(3))}),
                  funnel::dimension_mismatch);
  contract_scorer three;
  three.names = {"item_id", "bias", "extra"};
  three.width = 3;
  CHECK_THROWS_AS(make(named_features{}, ranker<contract_scorer>{registry_of(three)}),
                  funnel::dimension_mismatch);
}

TEST_CASE("pipeline binding: a model without names is bound by width with a warning in the trace") {
  auto p = make(named_features{}, ranker<contract_scorer>{registry_of(unnamed())});
  const auto r = p.run(one_request());
  REQUIRE(r.trace.warnings.size() == 1);
  CHECK_THAT(r.trace.warnings[0], ContainsSubstring("rank: model version 'v1' carries no feature "
                                                    "names: bound to the features by width only"));
  CHECK(r.trace.degraded.empty());
  // Features without names and a named model: bound by width, warned.
  auto q = make(unnamed_features{}, ranker<contract_scorer>{registry_of(contract_scorer{})});
  const auto rq = q.run(one_request());
  REQUIRE(rq.trace.warnings.size() == 1);
  CHECK_THAT(rq.trace.warnings[0], ContainsSubstring("the features expose no output names"));
  // A model declaring no feature count cannot be checked at all: warned.
  auto b = make(named_features{}, ranker<bare_scorer>{registry_of(bare_scorer{})});
  const auto rb = b.run(one_request());
  REQUIRE(rb.trace.warnings.size() == 1);
  CHECK_THAT(rb.trace.warnings[0], ContainsSubstring("declares no feature count"));
}

TEST_CASE(
    "pipeline binding: versions added later (hot swap, canary, shadow) are checked against "
    "the bound features") {
  auto models = registry_of(contract_scorer{});
  auto p = make(named_features{}, ranker<contract_scorer>{models});
  contract_scorer swapped;
  swapped.names = {"bias", "item_id"};
  CHECK_THROWS_WITH(p.models().add("v2", std::make_shared<const contract_scorer>(swapped)),
                    ContainsSubstring("model version 'v2'"));
  CHECK_THROWS_AS(models->add("v3", std::make_shared<const contract_scorer>(unnamed(5))),
                  funnel::dimension_mismatch);
  CHECK(models->versions() == std::vector<std::string>{"v1"});  // unchanged
  // A version without names is accepted (width matches) and its requests carry the warning.
  models->add("v4", std::make_shared<const contract_scorer>(unnamed()));
  models->set_canary("v4", 1.0);
  const auto r = p.run(one_request());
  CHECK(r.trace.model_version == "v4");
  REQUIRE(r.trace.warnings.size() == 1);
  CHECK_THAT(r.trace.warnings[0], ContainsSubstring("model version 'v4' carries no feature names"));
  // Shadow: the warning names the shadow.
  models->set_canary("v4", 0.0);
  models->set_shadow("v4");
  const auto s = p.run(one_request());
  REQUIRE(s.trace.warnings.size() == 1);
  CHECK_THAT(s.trace.warnings[0], ContainsSubstring("shadow: model version 'v4'"));
}

TEST_CASE(
    "pipeline binding: an existing registry version that does not bind fails the pipeline "
    "and leaves the registry unbound") {
  auto models = registry_of(contract_scorer{});
  contract_scorer swapped;
  swapped.names = {"bias", "item_id"};
  models->add("v2", std::make_shared<const contract_scorer>(swapped));
  CHECK_THROWS_WITH(make(named_features{}, ranker<contract_scorer>{models}),
                    ContainsSubstring("model version 'v2'"));
  // Nothing was bound: the reordered model can still be replaced and the registry used.
  models->add("v2", std::make_shared<const contract_scorer>());
  CHECK_NOTHROW(make(named_features{}, ranker<contract_scorer>{models}));
}

TEST_CASE("pipeline scale: two models on different scales in one registry is an error at add") {
  auto models = registry_of(contract_scorer{});
  CHECK_THROWS_AS(models->add("raw", std::make_shared<const contract_scorer>(contract_scorer{
                                         {"item_id", "bias"}, 2, score_scale::raw})),
                  funnel::invalid_argument);
  CHECK_THROWS_WITH(models->add("raw", std::make_shared<const contract_scorer>(contract_scorer{
                                           {"item_id", "bias"}, 2, score_scale::raw})),
                    ContainsSubstring("model version 'raw' scores on scale 'raw'") &&
                        ContainsSubstring("version 'v1' on 'log_odds'"));
  CHECK(models->versions() == std::vector<std::string>{"v1"});
  REQUIRE(models->scale().has_value());
  CHECK(*models->scale() == score_scale::log_odds);
  // Replacing the only version with one on another scale is allowed (nothing to compare with).
  models->add("v1", std::make_shared<const contract_scorer>(
                        contract_scorer{{"item_id", "bias"}, 2, score_scale::raw}));
  CHECK(*models->scale() == score_scale::raw);
}

TEST_CASE(
    "pipeline scale: a cascade whose light model is on another scale than the main model "
    "is an error at setup, also for versions added later") {
  auto light = std::make_shared<const contract_scorer>(
      contract_scorer{{"item_id", "bias"}, 2, score_scale::raw});
  CHECK_THROWS_WITH(
      make(named_features{}, ranker<contract_scorer>{registry_of(contract_scorer{}), light, 1}),
      ContainsSubstring("scale 'log_odds', the light model on 'raw'"));
  auto models = std::make_shared<model_registry<contract_scorer>>();  // empty at setup
  auto p = make(named_features{}, ranker<contract_scorer>{models, light, 1});
  CHECK_THROWS_WITH(models->add("v1", std::make_shared<const contract_scorer>()),
                    ContainsSubstring("the light model on 'raw'"));
  // A light model with the wrong width is refused like a main model.
  CHECK_THROWS_AS(
      make(named_features{},
           ranker<contract_scorer>{registry_of(contract_scorer{}),
                                   std::make_shared<const contract_scorer>(unnamed(1)), 1}),
      funnel::dimension_mismatch);
}

TEST_CASE(
    "pipeline binding: any_scoring_stage and any_feature_stage forward names, width and scale") {
  const any_scoring_stage a(contract_scorer{{"x", "y"}, 2, score_scale::log});
  REQUIRE(a.declared_scale().has_value());
  CHECK(a.scale() == score_scale::log);
  CHECK(a.num_features() == 2);
  CHECK(a.declared_num_features() == std::optional<std::size_t>(2));
  CHECK(a.feature_names() == std::vector<std::string>{"x", "y"});
  const any_scoring_stage b(bare_scorer{});
  CHECK_FALSE(b.declared_scale().has_value());
  CHECK_FALSE(b.declared_num_features().has_value());
  CHECK(b.feature_names().empty());
  CHECK(any_feature_stage(named_features{}).output_names() ==
        std::vector<std::string>{"item_id", "bias"});
  CHECK(any_feature_stage(unnamed_features{}).output_names().empty());
  // Through the type-erased forms the run-time pipeline binds the same way.
  auto models = std::make_shared<model_registry<any_scoring_stage>>();
  models->add("v1",
              std::make_shared<const any_scoring_stage>(contract_scorer{{"bias", "item_id"}}));
  std::vector<retriever_slot<any_retrieval_stage>> rs;
  rs.push_back({"a", any_retrieval_stage(list_retriever{{{1, 0.5F}}}), 10, 1.0, false});
  CHECK_THROWS_WITH(pipeline(rs, {}, any_feature_stage(named_features{}),
                             ranker<any_scoring_stage>{models}, {}, relaxed()),
                    ContainsSubstring("feature 0 is 'item_id' in the features but 'bias'"));
  CHECK_THROWS_WITH(models->add("log", std::make_shared<const any_scoring_stage>(contract_scorer{
                                           {"bias", "item_id"}, 2, score_scale::log})),
                    ContainsSubstring("scale 'log'"));
}

TEST_CASE("pipeline: models() of a const pipeline is read-only; the non-const one administers") {
  using P = decltype(make(named_features{}, ranker<contract_scorer>{}));
  static_assert(std::is_same_v<decltype(std::declval<const P&>().models()),
                               const model_registry<contract_scorer>&>);
  static_assert(
      std::is_same_v<decltype(std::declval<P&>().models()), model_registry<contract_scorer>&>);
  auto p = make(named_features{}, ranker<contract_scorer>{registry_of(contract_scorer{})});
  p.models().add("v2", std::make_shared<const contract_scorer>());
  p.models().activate("v2");
  const auto& cp = p;
  CHECK(cp.models().active().version == "v2");
}

TEST_CASE("pipeline trace: to_json carries every field of the trace") {
  auto p = make(named_features{}, ranker<contract_scorer>{registry_of(unnamed())});
  const auto r = p.run(one_request());
  const auto j = to_json(r.trace);
  CHECK(j.at("request_id").get<std::uint64_t>() == 3);
  CHECK(j.at("model_version").get<std::string>() == "v1");
  CHECK(j.at("canary").get<bool>() == false);
  CHECK(j.at("degraded").empty());
  CHECK(j.at("warnings").get<std::vector<std::string>>() == r.trace.warnings);
  CHECK(j.at("total_micros").get<double>() == r.trace.total_micros);
  CHECK(j.at("total_cpu_micros").get<double>() == r.trace.total_cpu_micros);
  REQUIRE(j.at("stages").size() == r.trace.stages.size());
  for (std::size_t i = 0; i < r.trace.stages.size(); ++i) {
    const auto& s = r.trace.stages[i];
    const auto& js = j.at("stages")[i];
    CHECK(js.size() == 6);
    CHECK(js.at("stage").get<std::string>() == s.stage);
    CHECK(js.at("micros").get<double>() == s.micros);
    CHECK(js.at("candidates_in").get<std::size_t>() == s.candidates_in);
    CHECK(js.at("candidates_out").get<std::size_t>() == s.candidates_out);
    CHECK(js.at("note").get<std::string>() == s.note);
    CHECK(js.at("cpu_micros").get<double>() == s.cpu_micros);
  }
  CHECK(j.size() == 8);
  // A degraded request's notes and canary flag come through.
  trace t;
  t.degraded = {"rank: main model late"};
  t.canary = true;
  t.stages.push_back({"rank", 1.5, 4, 4, "main model late", 0.25});
  const auto jt = to_json(t);
  CHECK(jt.at("degraded")[0] == "rank: main model late");
  CHECK(jt.at("canary") == true);
  CHECK(jt.at("stages")[0].at("note") == "main model late");
  CHECK(jt.at("stages")[0].at("cpu_micros") == 0.25);
}

TEST_CASE("pipeline binding: a builder whose names disagree with its width is refused") {
  struct lying_features {
    std::size_t width() const { return 3; }
    std::vector<std::string> output_names() const { return {"item_id", "bias"}; }
    void build(const request& /*q*/, std::span<const candidate> c, std::span<float> out) const {
      std::fill(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(3 * c.size()), 0.0F);
    }
  };
  CHECK_THROWS_WITH(make(lying_features{}, ranker<contract_scorer>{registry_of(unnamed(3))}),
                    ContainsSubstring("the features name 2 columns but their width is 3"));
}
