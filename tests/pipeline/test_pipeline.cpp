#include <funnel/pipeline.hpp>
#include <funnel/retrieval/popularity.hpp>

#include <atomic>
#include <set>
#include <thread>

#include "funnel_catch.hpp"
#include "pipeline_test_stages.hpp"

using namespace funnel::pipeline;
using funnel::candidate;
using funnel::candidate_list;
using funnel::test::list_retriever;
using namespace std::chrono_literals;

namespace {

struct throwing_retriever {
  candidate_list retrieve(const request& /*q*/, std::size_t /*k*/) const {
    funnel::raise<funnel::io_error>("app.test", "feature store unreachable");
  }
};
struct slow_retriever {
  std::chrono::milliseconds delay;
  candidate_list retrieve(const request& /*q*/, std::size_t /*k*/) const {
    std::this_thread::sleep_for(delay);
    return {{900, 1.0F}};
  }
};
/// Row = {id, 1}.
struct id_features {
  std::size_t width() const { return 2; }
  void build(const request& /*q*/, std::span<const candidate> c, std::span<float> out) const {
    for (std::size_t i = 0; i < c.size(); ++i) {
      out[2 * i] = static_cast<float>(c[i].id);
      out[2 * i + 1] = 1.0F;
    }
  }
};
/// score = a * id + b.
struct linear_scorer {
  float a = 1.0F;
  float b = 0.0F;
  std::chrono::microseconds delay{0};
  void score_batch(funnel::matrix_view rows, std::span<float> out) const {
    if (delay.count() > 0) std::this_thread::sleep_for(delay);
    for (std::size_t i = 0; i < rows.rows(); ++i) out[i] = a * rows(i, 0) + b * rows(i, 1);
  }
};
struct pin_reranker {
  std::uint64_t id;
  void rerank(candidate_list& c, const request& /*q*/) const {
    const auto it =
        std::find_if(c.begin(), c.end(), [&](const candidate& x) { return x.id == id; });
    if (it != c.end()) std::rotate(c.begin(), it, it + 1);
  }
};

/// Budgets no loaded CI machine can exceed, for tests that are not about deadlines.
pipeline_options relaxed() {
  pipeline_options o;
  o.retrieval_budget = o.ranking_budget = o.rerank_budget = std::chrono::seconds(30);
  return o;
}

std::shared_ptr<model_registry<linear_scorer>> registry_of(linear_scorer s,
                                                           const std::string& version = "v1") {
  auto r = std::make_shared<model_registry<linear_scorer>>();
  r->add(version, std::make_shared<const linear_scorer>(s));
  return r;
}

}  // namespace

TEST_CASE("pipeline: compile-time stages compose, dedupe, filter, rank, re-rank and trace") {
  auto p = make_pipeline(
      std::tuple{retriever_slot<list_retriever>{"a", {{{1, 0.9F}, {2, 0.8F}, {3, 0.7F}}}, 10},
                 retriever_slot<list_retriever>{"b", {{{3, 5.0F}, {4, 4.0F}}}, 10}},
      std::tuple{named<seen_filter>{"seen", {}}}, id_features{},
      ranker<linear_scorer>{registry_of({1.0F, 0.0F})}, std::tuple{named<pin_reranker>{"pin", {2}}},
      relaxed());
  request req;
  req.id = 7;
  const std::vector<std::uint64_t> seen{4};
  req.query.history = seen;
  req.slate_size = 10;
  const auto r = p.run(req);
  // Candidates {1,2,3,4} deduped, 4 filtered as seen, ranked by id (3,2,1), 2 pinned first.
  REQUIRE(r.slate.size() == 3);
  CHECK(r.slate[0].id == 2);
  CHECK(r.slate[1].id == 3);
  CHECK(r.slate[2].id == 1);
  CHECK(r.slate[1].score == 3.0F);  // the ranker's score is what the slate carries
  std::vector<std::string> stages;
  for (const auto& s : r.trace.stages) stages.push_back(s.stage);
  CHECK(stages == std::vector<std::string>{"retrieve:a", "retrieve:b", "merge", "filter:seen",
                                           "features", "rank", "rerank:pin"});
  CHECK(r.trace.stages[2].candidates_in == 5);
  CHECK(r.trace.stages[2].candidates_out == 4);
  CHECK(r.trace.stages[3].candidates_out == 3);
  CHECK(r.trace.model_version == "v1");
  CHECK(r.trace.degraded.empty());
  CHECK(r.trace.request_id == 7);
}

TEST_CASE(
    "pipeline: reciprocal rank fusion and normalised-score fusion give the documented scores") {
  std::vector<retriever_slot<any_retrieval_stage>> rs;
  rs.push_back({"a", any_retrieval_stage(list_retriever{{{1, 10.0F}, {2, 5.0F}}}), 10, 1.0, false});
  rs.push_back({"b", any_retrieval_stage(list_retriever{{{2, 0.3F}, {3, 0.1F}}}), 1, 2.0,
                false});  // quota 1
  // No ranking effect: every candidate scores 0, so the merged order survives (stable by id).
  pipeline_options o = relaxed();
  o.rrf_k = 60;
  pipeline p(rs, {}, any_feature_stage(id_features{}), ranker<any_scoring_stage>{[] {
               auto r = std::make_shared<model_registry<any_scoring_stage>>();
               r->add("zero", std::make_shared<const any_scoring_stage>(linear_scorer{0.0F, 0.0F}));
               return r;
             }()},
             {}, o);
  std::vector<std::pair<double, std::uint64_t>> logged;
  p.set_feature_logger([&](const scored_batch& b) {
    for (std::size_t i = 0; i < b.ids.size(); ++i) logged.push_back({b.scores[i], b.ids[i]});
  });
  request req;
  const auto r = p.run(req);
  // Merge: 1 -> 1/61; 2 -> 1/62 + 2/61; 3 is cut by b's quota of 1.
  REQUIRE(r.trace.stages[2].candidates_out == 2);
  CHECK(r.trace.stages[1].candidates_out == 1);
  CHECK(logged.size() == 2);
}

TEST_CASE("pipeline: a failing retriever is skipped; cold start uses the fallback retriever") {
  funnel::retrieval::interaction_log log;
  log.add(1, 100, 1, 0);
  log.add(2, 100, 1, 0);
  log.add(2, 200, 1, 0);
  const auto pop = funnel::retrieval::fit_popularity(log);
  auto p = make_pipeline(
      std::tuple{
          retriever_slot<throwing_retriever>{"broken", {}, 10},
          retriever_slot<list_retriever>{"empty", {}, 10},
          retriever_slot<funnel::retrieval::popularity_model>{"popular", pop, 10, 1.0, true}},
      std::tuple{}, id_features{}, ranker<linear_scorer>{registry_of({-1.0F, 0.0F})}, std::tuple{},
      relaxed());
  request req;
  req.query.user = 12345;  // a new user
  const auto r = p.run(req);
  REQUIRE(r.slate.size() == 2);
  CHECK(r.slate[0].id == 100);  // the scorer prefers small ids
  REQUIRE(r.trace.degraded.size() == 2);
  CHECK_THAT(r.trace.degraded[0],
             ContainsSubstring(
                 "retrieve:broken skipped: [funnel.io_error.app.test] feature store unreachable"));
  CHECK_THAT(r.trace.degraded[1], ContainsSubstring("fallback retrievers used"));
}

TEST_CASE("pipeline: a late retriever spends the budget and the next one is skipped") {
  pipeline_options o;
  o.retrieval_budget = 5ms;
  auto p = make_pipeline(std::tuple{retriever_slot<slow_retriever>{"slow", {20ms}, 10},
                                    retriever_slot<list_retriever>{"fast", {{{1, 1.0F}}}, 10}},
                         std::tuple{}, id_features{},
                         ranker<linear_scorer>{registry_of({1.0F, 0.0F})}, std::tuple{}, o);
  const auto r = p.run(request{});
  CHECK(r.slate.size() ==
        1);  // the slow one's result arrived and is used; the fast one was skipped
  REQUIRE(r.trace.degraded.size() == 1);
  CHECK_THAT(r.trace.degraded[0],
             ContainsSubstring("retrieve:fast skipped: retrieval budget spent"));
}

TEST_CASE("pipeline: a late main model falls back to the light model, or to retrieval order") {
  pipeline_options o;
  o.ranking_budget = 3ms;
  o.score_block = 1;
  const list_retriever items{{{1, 0.5F}, {2, 0.4F}, {3, 0.3F}}};
  ranker<linear_scorer> with_light{
      registry_of({1.0F, 0.0F, 5ms}),
      std::make_shared<const linear_scorer>(linear_scorer{-1.0F, 0.0F})};
  auto p = make_pipeline(std::tuple{retriever_slot<list_retriever>{"r", items, 10}}, std::tuple{},
                         id_features{}, with_light, std::tuple{}, o);
  const auto r = p.run(request{});
  REQUIRE(r.slate.size() == 3);
  CHECK(r.slate[0].id == 1);  // light model: -id
  CHECK(r.slate[0].score == -1.0F);
  CHECK_THAT(r.trace.degraded.at(0),
             ContainsSubstring("main model late, ranked by the light model"));

  auto q = make_pipeline(std::tuple{retriever_slot<list_retriever>{"r", items, 10}}, std::tuple{},
                         id_features{}, ranker<linear_scorer>{registry_of({1.0F, 0.0F, 5ms})},
                         std::tuple{}, o);
  const auto s = q.run(request{});
  CHECK(s.slate[0].id == 1);  // retrieval (fused) order
  CHECK_THAT(s.trace.degraded.at(0), ContainsSubstring("retrieval order kept"));

  request expired;
  expired.deadline = funnel::deadline::after(0ms);
  const auto t = q.run(expired);
  CHECK_THAT(t.trace.degraded.back(), ContainsSubstring("budget spent"));
}

TEST_CASE(
    "pipeline: cascade scores everything with the light model and the top n with the main model") {
  candidate_list many;
  for (std::uint64_t i = 1; i <= 50; ++i) many.push_back({i, 1.0F / static_cast<float>(i)});
  ranker<linear_scorer> cascade{registry_of({1.0F, 0.0F}),
                                std::make_shared<const linear_scorer>(linear_scorer{-1.0F, 0.0F}),
                                10};
  auto p = make_pipeline(std::tuple{retriever_slot<list_retriever>{"r", many, 100}}, std::tuple{},
                         id_features{}, cascade, std::tuple{}, relaxed());
  std::size_t main_rows = 0;
  p.set_feature_logger([&](const scored_batch& b) { main_rows += b.ids.size(); });
  request req;
  req.slate_size = 50;
  const auto r = p.run(req);
  CHECK(main_rows == 10);  // the main model saw only the light model's top 10 (ids 1..10)
  REQUIRE(r.slate.size() == 50);
  CHECK(r.slate[0].id == 10);  // main model (+id) reorders the top 10
  CHECK(r.slate[9].id == 1);
  CHECK(r.slate[10].id == 11);  // the rest keep the light order
}

TEST_CASE("pipeline: shadow results are logged and not served; canary routing is deterministic") {
  auto models = registry_of({1.0F, 0.0F}, "prod");
  models->add("candidate", std::make_shared<const linear_scorer>(linear_scorer{-1.0F, 0.0F}));
  models->set_shadow("candidate");
  auto p = make_pipeline(
      std::tuple{retriever_slot<list_retriever>{"r", {{{1, 1.0F}, {2, 1.0F}, {3, 1.0F}}}, 10}},
      std::tuple{}, id_features{}, ranker<linear_scorer>{models}, std::tuple{}, relaxed());
  std::vector<std::pair<std::string, bool>> batches;
  p.set_feature_logger([&](const scored_batch& b) {
    batches.push_back({b.model_version, b.shadow});
  });
  const auto r = p.run(request{});
  CHECK(r.slate[0].id == 3);  // served by prod (+id), not by the shadow (-id)
  CHECK(r.trace.model_version == "prod");
  REQUIRE(batches.size() == 2);
  CHECK(batches[0] == std::pair<std::string, bool>{"prod", false});
  CHECK(batches[1] == std::pair<std::string, bool>{"candidate", true});

  models->set_shadow(std::nullopt);
  models->set_canary("candidate", 0.3, 99);
  std::size_t canary = 0;
  for (std::uint64_t user = 0; user < 2000; ++user) {
    request q;
    q.query.user = user;
    const auto a = p.run(q);
    const auto b = p.run(q);
    CHECK(a.trace.canary == b.trace.canary);  // the same user always lands in the same arm
    canary += a.trace.canary ? 1 : 0;
    if (a.trace.canary) CHECK(a.trace.model_version == "candidate");
  }
  CHECK(canary > 500);
  CHECK(canary < 700);
}

TEST_CASE("model_registry: rollback, bad model file keeps the old model serving") {
  model_registry<linear_scorer> reg;
  CHECK_THROWS_AS(reg.active(), funnel::not_found);
  reg.add("v1", std::make_shared<const linear_scorer>(linear_scorer{1.0F, 0.0F}));
  reg.add("v2", std::make_shared<const linear_scorer>(linear_scorer{2.0F, 0.0F}));
  CHECK(reg.active().version == "v1");
  reg.activate("v2");
  CHECK(reg.active().version == "v2");
  reg.rollback();
  CHECK(reg.active().version == "v1");
  CHECK_THROWS_AS(reg.rollback(), funnel::invalid_argument);
  CHECK_THROWS_WITH(reg.activate("v9"), ContainsSubstring("unknown model version 'v9'"));
  const auto bad_loader =
      [](const std::filesystem::path& path) -> std::shared_ptr<const linear_scorer> {
    funnel::raise<funnel::parse_error>("app.model_loader", "{}: truncated model file",
                                       path.string());
  };
  CHECK_THROWS_AS(reg.load("v3", "/tmp/broken.json", bad_loader), funnel::parse_error);
  CHECK(reg.active().version == "v1");
  CHECK(reg.versions() == std::vector<std::string>{"v1", "v2"});
  CHECK_THROWS_AS(reg.set_canary("v2", 1.5), funnel::invalid_argument);
}

TEST_CASE("model_registry: rollback history is bounded, newest first") {
  model_registry<linear_scorer> reg;
  reg.add("a", std::make_shared<const linear_scorer>(linear_scorer{1.0F, 0.0F}));
  reg.add("b", std::make_shared<const linear_scorer>(linear_scorer{2.0F, 0.0F}));
  const std::size_t swaps = model_registry<linear_scorer>::max_rollback_depth * 3;
  for (std::size_t i = 0; i < swaps; ++i) reg.activate(i % 2 == 0 ? "b" : "a");
  // The last swap activated "a" (swaps is even): rolling back alternates b, a, b ... for exactly
  // max_rollback_depth steps, then there is nothing older.
  CHECK(reg.active().version == "a");
  for (std::size_t i = 0; i < model_registry<linear_scorer>::max_rollback_depth; ++i) {
    reg.rollback();
    CHECK(reg.active().version == (i % 2 == 0 ? "b" : "a"));
  }
  CHECK_THROWS_AS(reg.rollback(), funnel::invalid_argument);
}

TEST_CASE("pipeline: hot swap 100 times under concurrent load: no failed request, no torn model",
          "[concurrency]") {
  // Version i scores every row i; a request whose slate mixes two versions' scores, or whose
  // scores disagree with the version in its trace, saw a torn model.
  auto models = std::make_shared<model_registry<linear_scorer>>();
  models->add("v0", std::make_shared<const linear_scorer>(linear_scorer{0.0F, 0.0F}));
  pipeline_options generous;  // a loaded CI machine must not turn this into a deadline test
  generous.retrieval_budget = generous.ranking_budget = generous.rerank_budget = 10s;
  auto p = make_pipeline(
      std::tuple{retriever_slot<list_retriever>{"r", {{{1, 1.0F}, {2, 1.0F}, {3, 1.0F}}}, 10}},
      std::tuple{named<seen_filter>{"seen", {}}}, id_features{}, ranker<linear_scorer>{models},
      std::tuple{}, generous);
  std::atomic<bool> stop{false};
  std::atomic<std::size_t> served{0};
  std::atomic<std::size_t> bad{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 3; ++t) {
    clients.emplace_back([&] {
      while (!stop.load()) {
        try {
          const auto r = p.run(request{});
          const float expected = std::stof(r.trace.model_version.substr(1));
          bool ok = r.slate.size() == 3 && r.trace.degraded.empty();
          for (const auto& c : r.slate) ok = ok && c.score == expected;
          if (!ok) bad.fetch_add(1);
        } catch (...) {
          bad.fetch_add(1);
        }
        served.fetch_add(1);
      }
    });
  }
  for (int v = 1; v <= 100; ++v) {
    models->add("v" + std::to_string(v),
                std::make_shared<const linear_scorer>(linear_scorer{0.0F, static_cast<float>(v)}));
    models->activate("v" + std::to_string(v));
    std::this_thread::sleep_for(200us);
  }
  stop = true;
  for (auto& c : clients) c.join();
  CHECK(bad.load() == 0);
  CHECK(served.load() > 0);
  CHECK(models->active().version == "v100");
}

namespace {
/// Burns about `us` microseconds of CPU (not sleep: the thread's CPU clock must advance).
struct spinning_scorer {
  double us = 3000;
  void score_batch(funnel::matrix_view rows, std::span<float> out) const {
    const double start = funnel::thread_cpu_us();
    volatile double sink = 0;
    while (funnel::thread_cpu_us() - start < us) sink = sink + 1.0;
    for (std::size_t i = 0; i < rows.rows(); ++i) out[i] = rows(i, 0);
  }
};
}  // namespace

TEST_CASE("pipeline: trace_cpu records each stage's CPU time, off by default") {
  auto models = std::make_shared<model_registry<spinning_scorer>>();
  models->add("v1", std::make_shared<const spinning_scorer>());
  auto o = relaxed();
  auto make = [&](pipeline_options opt) {
    return make_pipeline(
        std::tuple{retriever_slot<list_retriever>{"a", {{{1, 0.9F}, {2, 0.8F}}}, 10}}, std::tuple{},
        id_features{}, ranker<spinning_scorer>{models}, std::tuple{}, opt);
  };
  request req;
  const auto off = make(o).run(req);
  for (const auto& s : off.trace.stages) CHECK(s.cpu_micros == 0.0);
  CHECK(off.trace.total_cpu_micros == 0.0);
  o.trace_cpu = true;
  const auto on = make(o).run(req);
  const auto rank = std::find_if(on.trace.stages.begin(), on.trace.stages.end(),
                                 [](const stage_trace& s) { return s.stage == "rank"; });
  REQUIRE(rank != on.trace.stages.end());
  CHECK(rank->cpu_micros >= 3000.0);
  CHECK(rank->micros >= rank->cpu_micros * 0.99);  // wall time includes the CPU time
  CHECK(on.trace.total_cpu_micros >= rank->cpu_micros);
}
