#include <funnel/core/random.hpp>
#include <funnel/features.hpp>
#include <funnel/pipeline.hpp>
#include <funnel/rerank.hpp>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <thread>

#include "funnel_catch.hpp"
#include "pipeline_test_stages.hpp"

using namespace funnel::pipeline;
using funnel::test::list_retriever;
namespace ff = funnel::features;
namespace rr = funnel::rerank;
using funnel::candidate;
using funnel::candidate_list;

namespace {

constexpr std::size_t n_items = 60;
constexpr std::size_t dim = 8;

/// Item ids are sparse (not 0..n-1), so the adapters' hash lookup is exercised.
std::uint64_t item_id(std::size_t row) {
  return 1000 + 7 * row;
}

struct catalogue {
  std::vector<std::uint64_t> ids;
  funnel::matrix embeddings{n_items, dim};
  std::vector<std::uint64_t> genre;
  std::shared_ptr<item_attributes> attributes;
  catalogue() {
    funnel::rng g(11);
    for (std::size_t i = 0; i < n_items; ++i) {
      ids.push_back(item_id(i));
      genre.push_back(i % 4);
      // Four tight clusters: MMR has near-duplicates to spread out.
      for (std::size_t d = 0; d < dim; ++d) {
        embeddings.row(i)[d] = static_cast<float>((d % 4 == i % 4 ? 1.0 : 0.0) + 0.1 * g.normal());
      }
    }
    attributes = std::make_shared<item_attributes>(ids);
    attributes->set_embeddings(embeddings.view());
    attributes->set_groups("genre", genre);
  }
  std::uint32_t row_of(std::uint64_t id) const {
    return static_cast<std::uint32_t>((id - 1000) / 7);
  }
};

/// Candidates best first: every third item, scores falling with a seeded jitter.
candidate_list ranked_candidates() {
  funnel::rng g(5);
  candidate_list c;
  for (std::size_t i = 0; i < n_items; i += 3) {
    c.push_back({item_id(i),
                 static_cast<float>(1.0 - 0.01 * static_cast<double>(i) + 0.003 * g.uniform())});
  }
  std::sort(c.begin(), c.end(), [](const candidate& a, const candidate& b) {
    return a.score > b.score || (a.score == b.score && a.id < b.id);
  });
  return c;
}

/// The module called directly: a slate built by hand with every candidate's embedding row.
template <class R>
candidate_list rerank_directly(const catalogue& cat, const candidate_list& c, const R& r,
                               std::size_t k) {
  rr::slate s(c);
  std::vector<std::uint32_t> rows;
  std::vector<std::uint64_t> genres;
  for (const auto& x : c) {
    rows.push_back(cat.row_of(x.id));
    genres.push_back(cat.genre[cat.row_of(x.id)]);
  }
  s.set_embeddings(cat.embeddings.view(), rows);
  s.set_groups("genre", genres);
  rr::context ctx;
  ctx.k = k;
  r.rerank(s, ctx);
  return s.candidates();
}

// ---- features ----------------------------------------------------------------------------------

const ff::schema& feature_schema() {
  static const ff::schema s({{"user_age", ff::column_type::numeric},
                             {"user_country", ff::column_type::string},
                             {"price", ff::column_type::numeric},
                             {"quality", ff::column_type::numeric},
                             {"category", ff::column_type::integer},
                             {"hour", ff::column_type::numeric},
                             {"retrieval_score", ff::column_type::numeric},
                             {"label", ff::column_type::numeric}});
  return s;
}

auto make_features() {
  return ff::pipeline(
      feature_schema(),
      ff::numeric_column("user_age", {ff::standard_scaler{}}, {.missing_indicator = true}),
      ff::one_hot("user_country", {.handle_unknown = ff::unknown_policy::ignore}),
      ff::numeric_column("price", {ff::log_transform{}, ff::standard_scaler{}}),
      ff::numeric_column("quality", {ff::min_max_scaler{}}),
      ff::one_hot("category", {.handle_unknown = ff::unknown_policy::ignore}),
      ff::numeric_column("hour", {ff::min_max_scaler{}}),
      ff::numeric_column("retrieval_score", {}));
}

/// The features pipeline fitted on a small synthetic training batch.
auto fitted_features() {
  auto p = make_features();
  const std::vector<float> age{20, 35, 50, 28}, price{5, 50, 500, 20}, quality{0.1F, 0.5F, 0.9F, 1},
      hour{0, 6, 12, 23}, score{0.1F, 0.2F, 0.3F, 0.4F}, label{0, 1, 0, 1};
  const std::vector<std::string_view> country{"fr", "de", "fr", "us"};
  const std::vector<std::int64_t> category{0, 1, 2, 3};
  ff::batch b(p.get_schema());
  const auto& s = p.get_schema();
  b.set(s.index("user_age"), age);
  b.set(s.index("user_country"), country);
  b.set(s.index("price"), price);
  b.set(s.index("quality"), quality);
  b.set(s.index("category"), category);
  b.set(s.index("hour"), hour);
  b.set(s.index("retrieval_score"), score);
  b.set(s.index("label"), label);
  p.fit(b);
  return p;
}

struct tables {
  std::shared_ptr<feature_table> users;
  std::shared_ptr<feature_table> items;
  std::vector<float> price, quality;
  std::vector<std::int64_t> category;
  tables() {
    const std::vector<std::uint64_t> user_ids{3, 9};
    users = std::make_shared<feature_table>(user_ids);
    users->set_numeric({"user_age"}, funnel::matrix(std::vector<float>{31.0F, 44.0F}, 2, 1));
    users->add_string("user_country", {"de", "us"});
    catalogue cat;
    items = std::make_shared<feature_table>(cat.ids);
    funnel::matrix block(n_items, 2);
    for (std::size_t i = 0; i < n_items; ++i) {
      price.push_back(static_cast<float>(3 + 11 * i));
      quality.push_back(static_cast<float>(i % 10) / 10.0F);
      category.push_back(static_cast<std::int64_t>(i % 5));  // 4 was never seen in training
      block.row(i)[0] = price.back();
      block.row(i)[1] = quality.back();
    }
    items->set_numeric({"price", "quality"}, std::move(block));
    items->add_integer("category", category);
  }
  feature_join join() const {
    feature_join j;
    j.users = users;
    j.items = items;
    j.context = {"hour"};
    j.score = "retrieval_score";
    j.missing = {"label"};
    return j;
  }
};

/// What the features module writes for one candidate, the row filled by hand.
template <class P>
std::vector<float> transform_directly(const P& p, const tables& t, std::optional<std::size_t> user,
                                      float hour, const candidate& c) {
  const auto& s = p.get_schema();
  ff::row r(s);
  // A row raises on a column this request did not set: absent user columns and the label are
  // missing explicitly.
  for (std::size_t c = 0; c < s.size(); ++c) r.set_missing(c);
  if (user) {
    r.set(s.index("user_age"), std::vector<float>{31.0F, 44.0F}[*user]);
    r.set(s.index("user_country"), std::string_view(*user == 0 ? "de" : "us"));
  }
  const std::size_t row = (c.id - 1000) / 7;
  r.set(s.index("price"), t.price[row]);
  r.set(s.index("quality"), t.quality[row]);
  r.set(s.index("category"), t.category[row]);
  r.set(s.index("hour"), hour);
  r.set(s.index("retrieval_score"), c.score);
  std::vector<float> out(p.width());
  p.transform(r, out);
  return out;
}

/// Ranks by the first feature columns (a host model, enough to make ranking depend on features).
struct feature_sum_scorer {
  void score_batch(funnel::matrix_view rows, std::span<float> out) const {
    for (std::size_t i = 0; i < rows.rows(); ++i) {
      float s = 0;
      for (std::size_t j = 0; j < rows.cols(); ++j) s += rows(i, j) * static_cast<float>(j % 3);
      out[i] = s;
    }
  }
};

/// A model registry serving the feature-sum scorer as version "v1".
auto v1_models() {
  auto models = std::make_shared<model_registry<feature_sum_scorer>>();
  models->add("v1", std::make_shared<const feature_sum_scorer>());
  return models;
}

pipeline_options relaxed() {
  pipeline_options o;
  o.retrieval_budget = o.ranking_budget = o.rerank_budget = std::chrono::seconds(30);
  return o;
}

}  // namespace

TEST_CASE(
    "rerank_stage: MMR and DPP through the stage equal the re-rankers on a hand-built slate") {
  const catalogue cat;
  const auto c = ranked_candidates();
  request q;
  q.id = 4;
  q.slate_size = 8;

  const rr::mmr mmr({0.5, rr::similarity_kind::cosine});
  auto got = c;
  rerank_stage(mmr, cat.attributes).rerank(got, q);
  const auto want = rerank_directly(cat, c, mmr, 8);
  CHECK(got == want);
  // MMR did move items (else this test could not tell the stage from a no-op).
  CHECK(std::vector(got.begin(), got.begin() + 8) != std::vector(c.begin(), c.begin() + 8));

  rr::dpp_options d;
  d.theta = 0.5;
  d.jitter = 0.01;
  const rr::dpp dpp(d);
  got = c;
  rerank_stage(dpp, cat.attributes).rerank(got, q);
  CHECK(got == rerank_directly(cat, c, dpp, 8));

  // A chain (MMR then a genre cap) is one stage, reading embeddings and group keys.
  const rr::chain both(mmr, rr::group_cap("genre", {.max_per_group = 2}));
  got = c;
  rerank_stage(both, cat.attributes).rerank(got, q);
  CHECK(got == rerank_directly(cat, c, both, 8));
  CHECK(got.size() == 8);  // 4 genres x 2
}

TEST_CASE("rerank_stage: an unknown candidate raises not_found naming it, or is dropped") {
  const catalogue cat;
  auto c = ranked_candidates();
  c.insert(c.begin() + 2, candidate{777777, 0.99F});
  const auto before = c;
  request q;
  q.slate_size = 5;
  const rr::mmr mmr({0.5, rr::similarity_kind::cosine});
  REQUIRE_THROWS_AS(rerank_stage(mmr, cat.attributes).rerank(c, q), funnel::not_found);
  REQUIRE_THROWS_WITH(rerank_stage(mmr, cat.attributes).rerank(c, q), ContainsSubstring("777777"));
  CHECK(c == before);  // a failed re-ranker leaves the list as it came in

  rerank_stage_options o;
  o.unknown = unknown_item::drop;
  rerank_stage(mmr, cat.attributes, o).rerank(c, q);
  CHECK(std::none_of(c.begin(), c.end(), [](const candidate& x) { return x.id == 777777; }));
  CHECK(c.size() == before.size() - 1);
}

TEST_CASE("rerank_stage: the context hook and the observer see the request") {
  const catalogue cat;
  auto c = ranked_candidates();
  request q;
  q.id = 42;
  q.slate_size = 6;
  rerank_stage_options o;
  std::uint64_t seed_seen = 0;
  std::size_t traced = 0;
  o.context = [&](const request& r, rr::context& ctx) {
    seed_seen = ctx.seed;
    ctx.k = r.slate_size / 2;
  };
  o.observe = [&](const request& /*r*/, rr::slate& s) { traced = s.trace().size(); };
  const rr::mmr mmr({0.5, rr::similarity_kind::cosine});
  auto want = rerank_directly(cat, c, mmr, 3);
  rerank_stage(mmr, cat.attributes, o).rerank(c, q);
  CHECK(seed_seen == 42);
  CHECK(traced == ranked_candidates().size());
  CHECK(c == want);
}

TEST_CASE("item_attributes: sizes are checked and repeated ids rejected") {
  const std::vector<std::uint64_t> ids{5, 6, 5};
  CHECK_THROWS_WITH(item_attributes(ids), ContainsSubstring("id 5 appears twice"));
  auto a = item_attributes::dense(3);
  CHECK(a.row(2) == 2);
  CHECK(a.row(3) == detail::id_index::absent);
  CHECK_THROWS_AS(a.set_groups("genre", {1, 2}), funnel::dimension_mismatch);
  const funnel::matrix m(4, 2);
  CHECK_THROWS_WITH(a.set_embeddings(m.view()), ContainsSubstring("embeddings has 4 rows"));
}

TEST_CASE("feature_stage: rows equal the features pipeline's transform of the joined values") {
  auto p = fitted_features();
  const tables t;
  const feature_stage stage(p, t.join());
  const auto loaded = ff::any_pipeline::from_json(p.to_json());
  const feature_stage erased(loaded, t.join());
  REQUIRE(stage.width() == p.width());

  const auto c = ranked_candidates();
  const std::vector<float> context{18.0F};
  request q;
  q.query.user = 9;
  q.context = context;
  std::vector<float> rows(c.size() * stage.width()), rows2(rows.size());
  stage.build(q, c, rows);
  erased.build(q, c, rows2);
  for (std::size_t i = 0; i < c.size(); ++i) {
    const auto want = transform_directly(p, t, 1, 18.0F, c[i]);
    INFO("candidate " << i);
    CHECK(std::memcmp(want.data(), rows.data() + i * stage.width(), want.size() * 4) == 0);
  }
  // The JSON-loaded (type-erased) features pipeline writes the same bits.
  CHECK(std::memcmp(rows.data(), rows2.data(), rows.size() * 4) == 0);

  // A new user: the user's columns are missing, exactly as the module sees a row without them.
  q.query.user = 12345;
  stage.build(q, c, rows);
  const auto want = transform_directly(p, t, std::nullopt, 18.0F, c[0]);
  CHECK(std::memcmp(want.data(), rows.data(), want.size() * 4) == 0);
}

TEST_CASE("feature_stage: binding and input errors name what is wrong") {
  auto p = fitted_features();
  const tables t;
  auto j = t.join();
  j.missing.clear();
  CHECK_THROWS_WITH(feature_stage(p, j), ContainsSubstring("schema column 'label' is fed by no"));
  j = t.join();
  j.missing.push_back("price");
  CHECK_THROWS_WITH(feature_stage(p, j),
                    ContainsSubstring("'price' is fed by both the item table and the missing"));
  j = t.join();
  j.context = {"user_country"};
  CHECK_THROWS_AS(feature_stage(p, j), funnel::invalid_argument);
  j = t.join();
  j.score = "nope";
  CHECK_THROWS_WITH(feature_stage(p, j),
                    ContainsSubstring("feature_join.score names column 'nope'"));
  CHECK_THROWS_AS(feature_stage(make_features(), t.join()), funnel::not_fitted);

  const feature_stage stage(p, t.join());
  request q;  // no context, the stage reads one value
  candidate_list c{{item_id(1), 0.5F}};
  std::vector<float> rows(stage.width());
  CHECK_THROWS_AS(stage.build(q, c, rows), funnel::dimension_mismatch);
  const std::vector<float> context{3.0F};
  q.context = context;
  c[0].id = 5;
  CHECK_THROWS_WITH(stage.build(q, c, rows),
                    ContainsSubstring("candidate id 5 is not in the item"));
}

TEST_CASE(
    "adapters: compile-time and JSON pipelines with features and MMR serve the slate the "
    "modules give when called directly") {
  const catalogue cat;
  auto p = fitted_features();
  const tables t;
  const auto models = v1_models();
  const rr::mmr mmr({0.6, rr::similarity_kind::cosine});
  const list_retriever retriever{ranked_candidates()};

  auto static_pipeline = make_pipeline(
      std::tuple{retriever_slot<list_retriever>{"list", retriever, 100}}, std::tuple{},
      feature_stage(p, t.join()), ranker<feature_sum_scorer>{models},
      std::tuple{named<rerank_stage<rr::mmr>>{"mmr", rerank_stage(mmr, cat.attributes)}},
      relaxed());

  stage_registry stages;
  stages.add_retriever("list", any_retrieval_stage(retriever));
  stages.add_feature_table("users", t.users);
  stages.add_feature_table("items", t.items);
  stages.add_item_attributes("catalogue", cat.attributes);
  auto erased = std::make_shared<model_registry<any_scoring_stage>>();
  erased->add("v1", std::make_shared<const any_scoring_stage>(feature_sum_scorer{}));
  stages.add_models("model", erased);
  auto config = funnel::parse_json(R"({
      "type": "pipeline", "version": 1,
      "retrievers": [{"stage": "list", "quota": 100}],
      "features": {"type": "features", "users": "users", "items": "items", "context": ["hour"],
                   "score": "retrieval_score", "missing": ["label"]},
      "ranker": {"models": "model"},
      "rerankers": [{"type": "mmr", "items": "catalogue", "lambda": 0.6}],
      "budgets_us": {"retrieval": 30000000, "ranking": 30000000, "rerank": 30000000}})",
                                   "test");
  config["features"]["pipeline"] = p.to_json();
  const auto dynamic_pipeline = stages.build(config);

  const std::vector<float> context{7.0F};
  request q;
  q.id = 3;
  q.query.user = 3;
  q.context = context;
  q.slate_size = 6;
  const auto a = static_pipeline.run(q);
  const auto b = dynamic_pipeline.run(q);
  REQUIRE(a.slate.size() == 6);
  CHECK(a.slate == b.slate);
  CHECK(b.trace.stages.back().stage == "rerank:mmr");

  // The modules by hand: features for every merged candidate, the model, then MMR.
  auto ranked = retriever.items;
  // Fusion of one list by RRF: score 1 / (60 + rank), order unchanged.
  for (std::size_t r = 0; r < ranked.size(); ++r)
    ranked[r].score = static_cast<float>(1.0 / (60.0 + static_cast<double>(r + 1)));
  std::vector<float> scores(ranked.size());
  funnel::matrix rows(ranked.size(), p.width());
  for (std::size_t i = 0; i < ranked.size(); ++i) {
    const auto row = transform_directly(p, t, 0, 7.0F, ranked[i]);
    std::copy(row.begin(), row.end(), rows.row(i).begin());
  }
  feature_sum_scorer{}.score_batch(rows.view(), scores);
  for (std::size_t i = 0; i < ranked.size(); ++i) ranked[i].score = scores[i];
  std::sort(ranked.begin(), ranked.end(), [](const candidate& x, const candidate& y) {
    return x.score > y.score || (x.score == y.score && x.id < y.id);
  });
  auto want = rerank_directly(cat, ranked, mmr, 6);
  want.resize(6);
  CHECK(a.slate == want);
}

TEST_CASE("stage_registry: built-in stage types reject bad configuration naming the field") {
  const catalogue cat;
  stage_registry stages;
  stages.add_retriever("list", any_retrieval_stage(list_retriever{ranked_candidates()}));
  stages.add_features("none", any_feature_stage(feature_stage(fitted_features(), tables().join())));
  auto erased = std::make_shared<model_registry<any_scoring_stage>>();
  erased->add("v1", std::make_shared<const any_scoring_stage>(feature_sum_scorer{}));
  stages.add_models("model", erased);
  stages.add_item_attributes("catalogue", cat.attributes);
  auto with_reranker = [](const std::string& entry) {
    return funnel::parse_json(R"({"type": "pipeline", "version": 1, "retrievers": ["list"],
        "features": "none", "ranker": {"models": "model"}, "rerankers": [)" +
                                  entry + "]}",
                              "test");
  };
  CHECK_THROWS_WITH(stages.build(with_reranker(R"({"type": "mmx", "items": "catalogue"})")),
                    ContainsSubstring("pipeline.rerankers[0].type: unknown re-ranker type 'mmx'"));
  CHECK_THROWS_WITH(
      stages.build(with_reranker(R"({"type": "mmr", "items": "catalogue", "lamda": 0.5})")),
      ContainsSubstring("pipeline.rerankers[0].lamda: unknown field"));
  CHECK_THROWS_WITH(
      stages.build(with_reranker(R"({"type": "mmr", "items": "catalogue", "lambda": 1.5})")),
      ContainsSubstring("pipeline.rerankers[0]: ") && ContainsSubstring("lambda"));
  CHECK_THROWS_AS(stages.build(with_reranker(R"({"type": "mmr", "items": "shelf"})")),
                  funnel::not_found);
  CHECK_THROWS_WITH(stages.build(with_reranker(R"({"type": "dpp", "items": "catalogue",
                                                  "similarity": "euclid"})")),
                    ContainsSubstring("pipeline.rerankers[0].similarity: unknown value 'euclid'"));
  CHECK_THROWS_WITH(
      stages.build(with_reranker(R"({"type": "mmr", "stage": "x", "items": "catalogue"})")),
      ContainsSubstring("not both"));
  const auto ok = stages.build(with_reranker(
      R"({"type": "sliding_window", "items": "catalogue", "group": "genre", "window": 3,
          "max_per_window": 1, "name": "spread"})"));
  request q;
  q.slate_size = 5;
  const std::vector<float> context{1.0F};
  q.context = context;
  // Without a user the user's features are missing (NaN), so is the host model's score, and the
  // re-ranker refuses NaN scores: the pipeline fails open, serving the ranked list as it was.
  const auto degraded = ok.run(q);
  REQUIRE(degraded.trace.degraded.size() == 1);
  CHECK_THAT(degraded.trace.degraded[0],
             ContainsSubstring("rerank:spread skipped:") && ContainsSubstring("NaN score"));
  CHECK(degraded.slate.size() == 5);
  q.query.user = 3;
  const auto r = ok.run(q);
  CHECK(r.trace.degraded.empty());
  CHECK(r.trace.stages.back().stage == "rerank:spread");
  // No two items of a genre within any 3 consecutive positions.
  for (std::size_t i = 0; i + 1 < r.slate.size(); ++i) {
    for (std::size_t j = i + 1; j < std::min(r.slate.size(), i + 3); ++j)
      CHECK(cat.genre[cat.row_of(r.slate[i].id)] != cat.genre[cat.row_of(r.slate[j].id)]);
  }

  auto bad_features = with_reranker("");
  bad_features["features"] = funnel::parse_json(
      R"({"type": "features", "pipeline": "no_such_file.json", "items": "items"})", "test");
  CHECK_THROWS_AS(stages.build(bad_features), funnel::not_found);  // table 'items' unregistered
}

TEST_CASE("adapters: one pipeline with feature and MMR stages serves many threads, same slates",
          "[concurrency]") {
  const catalogue cat;
  auto p = fitted_features();
  const tables t;
  const auto models = v1_models();
  const auto pl = make_pipeline(
      std::tuple{retriever_slot<list_retriever>{"list", {ranked_candidates()}, 100}}, std::tuple{},
      feature_stage(p, t.join()), ranker<feature_sum_scorer>{models},
      std::tuple{named<rerank_stage<rr::mmr>>{
          "mmr", rerank_stage(rr::mmr({0.6, rr::similarity_kind::cosine}), cat.attributes)}},
      relaxed());
  const std::vector<float> context{7.0F};
  auto request_for = [&](std::uint64_t user) {
    request q;
    q.id = user;
    q.query.user = user;
    q.context = context;
    q.slate_size = 6;
    return q;
  };
  const auto want3 = pl.run(request_for(3)).slate;
  const auto want9 = pl.run(request_for(9)).slate;
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int k = 0; k < 3; ++k) {
    threads.emplace_back([&, k] {
      for (int i = 0; i < 40; ++i) {
        const std::uint64_t user = (i + k) % 2 == 0 ? 3 : 9;
        const auto got = pl.run(request_for(user)).slate;
        if (got != (user == 3 ? want3 : want9)) ++wrong;
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(wrong == 0);
}

TEST_CASE("feature_stage: models are bound to the features pipeline's output names, in order") {
  auto p = fitted_features();
  const auto names = p.output_names();
  const feature_stage stage(p, tables().join());
  CHECK(stage.output_names() == names);
  CHECK(any_feature_stage(stage).output_names() == names);
  struct named_model {
    std::vector<std::string> names;
    std::size_t num_features() const noexcept { return names.size(); }
    const std::vector<std::string>& feature_names() const noexcept { return names; }
    void score_batch(funnel::matrix_view rows, std::span<float> out) const {
      for (std::size_t i = 0; i < rows.rows(); ++i) out[i] = rows(i, 0);
    }
  };
  auto registry = [](std::vector<std::string> n) {
    auto r = std::make_shared<model_registry<named_model>>();
    r->add("v1", std::make_shared<const named_model>(named_model{std::move(n)}));
    return r;
  };
  auto build = [&](std::vector<std::string> n) {
    return make_pipeline(std::tuple{retriever_slot<list_retriever>{"a", {}}}, std::tuple{}, stage,
                         ranker<named_model>{registry(std::move(n))}, std::tuple{});
  };
  CHECK_NOTHROW(build(names));
  auto swapped = names;
  REQUIRE(swapped.size() >= 2);
  std::swap(swapped[0], swapped[1]);
  CHECK_THROWS_WITH(build(swapped),
                    ContainsSubstring("feature 0 is '" + names[0] + "' in the features but '" +
                                      names[1] + "' in the model"));
  CHECK_THROWS_AS(build({names.begin(), names.end() - 1}), funnel::dimension_mismatch);
}

TEST_CASE(
    "rerank_stage: min_max relevance lets MMR's lambda act on unbounded margins, and the "
    "served scores stay the margins") {
  // Items 0 and 1 are duplicates (same embedding) with margins 100 and 99; item 2 is orthogonal
  // with margin 0. On margins as they are, 0.5 * 99 - 0.5 * 1 beats 0.5 * 0: the duplicate is
  // second. Normalised to [0, 1], 0.5 * 0.99 - 0.5 < 0.5 * 0: the orthogonal item is.
  auto items = std::make_shared<item_attributes>(item_attributes::dense(3));
  items->set_embeddings(
      std::make_shared<const funnel::matrix>(std::vector<float>{1, 0, 1, 0, 0, 1}, 3, 2));
  const rr::mmr mmr(rr::mmr_options{0.5, rr::similarity_kind::cosine});
  const candidate_list in{{0, 100.0F}, {1, 99.0F}, {2, 0.0F}};
  request q;
  q.slate_size = 3;
  auto as_is = in;
  rerank_stage(mmr, items).rerank(as_is, q);
  CHECK(as_is == candidate_list{{0, 100.0F}, {1, 99.0F}, {2, 0.0F}});
  rerank_stage_options o;
  o.relevance = relevance_scale::min_max;
  auto normed = in;
  rerank_stage(mmr, items, o).rerank(normed, q);
  CHECK(normed == candidate_list{{0, 100.0F}, {2, 0.0F}, {1, 99.0F}});
  // Equal scores normalise to 1 (no division by zero) and come back unchanged.
  candidate_list flat{{0, -3.5F}, {1, -3.5F}, {2, -3.5F}};
  rerank_stage(mmr, items, o).rerank(flat, q);
  for (const auto& c : flat) CHECK(c.score == -3.5F);
}
