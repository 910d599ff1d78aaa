#include <funnel/core/random.hpp>
#include <funnel/rerank.hpp>

#include <thread>
#include <vector>

#include "funnel_catch.hpp"

namespace rr = funnel::rerank;

namespace {
funnel::candidate_list descending(std::size_t n) {
  funnel::candidate_list c;
  for (std::size_t i = 0; i < n; ++i) c.push_back({i, static_cast<float>(n - i)});
  return c;
}
// Picks the last item of the pool with probability 1 (a deterministic "policy").
struct pick_last {
  rr::exploration_choice choose(std::span<const funnel::candidate> pool, funnel::rng&) const {
    return {pool.size() - 1, 1.0};
  }
};
}  // namespace

static_assert(rr::Reranker<rr::mmr>);
static_assert(rr::Reranker<rr::dpp>);
static_assert(rr::Reranker<rr::sliding_window>);
static_assert(rr::Reranker<rr::explore_slots<rr::uniform_exploration>>);
static_assert(rr::Reranker<rr::chain<rr::dedup, rr::truncate>>);
static_assert(rr::Reranker<rr::reranker_list>);
static_assert(rr::ExplorationPolicy<pick_last>);

TEST_CASE("explore_slots: the policy's item lands in the slot with its propensity logged") {
  rr::slate s(descending(10));
  rr::explore_slots<pick_last>({2, 5}, {}, {.pool_depth = 4}).rerank(s, {});
  // slot 2: pool = items at 2..5 -> 5 moves to 2; slot 5: pool = items at 5..8 = {4,6,7,8} -> 8
  std::vector<std::uint64_t> ids;
  for (const auto& e : s.entries()) ids.push_back(e.item.id);
  CHECK(ids == std::vector<std::uint64_t>{0, 1, 5, 2, 3, 8, 4, 6, 7, 9});
  const auto t = s.trace();
  CHECK(t[5].has(rr::rule::exploration));
  CHECK(t[5].propensity == 1.0);
  CHECK(std::isnan(t[4].propensity));
}

TEST_CASE("explore_slots: uniform policy is seeded by the context and reports 1 / pool size") {
  auto run = [](std::uint64_t seed) {
    rr::slate s(descending(50));
    rr::explore_slots<rr::uniform_exploration>({3}, {}, {.pool_depth = 20})
        .rerank(s, {.seed = seed});
    const auto t = s.trace();
    for (const auto& x : t) {
      if (x.has(rr::rule::exploration)) {
        CHECK_THAT(x.propensity, WithinAbs(1.0 / 20.0, 1e-15));
        CHECK(x.final_rank == 3);
        CHECK(x.original_rank >= 3);
        CHECK(x.original_rank < 23);
      }
    }
    return s.entries()[3].item.id;
  };
  CHECK(run(1) == run(1));
  bool differs = false;
  for (std::uint64_t seed = 2; seed < 10; ++seed) differs = differs || run(seed) != run(1);
  CHECK(differs);
}

TEST_CASE("explore_slots: a policy returning a bad index or propensity is a typed error") {
  rr::slate s(descending(5));
  rr::explore_slots<rr::callback_exploration> bad_index(
      {0}, {[](std::span<const funnel::candidate> p, funnel::rng&) {
        return rr::exploration_choice{p.size(), 0.5};
      }});
  CHECK_THROWS_WITH(bad_index.rerank(s, {}), ContainsSubstring("index 5 from a pool of 5"));
  rr::explore_slots<rr::callback_exploration> bad_p(
      {0}, {[](std::span<const funnel::candidate>, funnel::rng&) {
        return rr::exploration_choice{0, 0.0};
      }});
  CHECK_THROWS_WITH(bad_p.rerank(s, {}), ContainsSubstring("propensity 0"));
  CHECK_THROWS_AS(rr::explore_slots<rr::uniform_exploration>({1, 1}, {}), funnel::invalid_argument);
}

TEST_CASE("chain and reranker_list apply the same rules in the same order") {
  funnel::rng r(4);
  const std::size_t n = 120;
  const std::size_t d = 8;
  funnel::candidate_list c;
  for (std::size_t i = 0; i < n; ++i) c.push_back({i, static_cast<float>(r.uniform())});
  std::vector<float> emb(n * d);
  for (auto& x : emb) x = static_cast<float>(r.normal());
  std::vector<std::uint64_t> genre(n);
  for (auto& g : genre) g = r.below(5);
  auto setup = [&](rr::slate& s) {
    s.reset(c);
    s.set_embeddings(funnel::matrix_view(emb, n, d));
    s.set_groups("genre", genre);
  };
  const rr::chain fixed(rr::group_decay("genre"), rr::mmr({.lambda = 0.5}),
                        rr::sliding_window("genre", {.window = 4, .max_per_window = 2}),
                        rr::truncate());
  rr::reranker_list dynamic;
  dynamic.add("decay", rr::group_decay("genre"))
      .add("mmr", rr::mmr({.lambda = 0.5}))
      .add("window", rr::sliding_window("genre", {.window = 4, .max_per_window = 2}))
      .add("truncate", rr::truncate());
  REQUIRE(dynamic.size() == 4);
  CHECK(dynamic[1].name() == "mmr");
  rr::slate a;
  rr::slate b;
  setup(a);
  setup(b);
  fixed.rerank(a, {.k = 30});
  dynamic.rerank(b, {.k = 30});
  CHECK(a.candidates() == b.candidates());
  CHECK(a.size() == 30);
  // reuse: a second request on the same slate object gives the same answer
  setup(a);
  fixed.rerank(a, {.k = 30});
  CHECK(a.candidates() == b.candidates());
}

TEST_CASE("const re-rankers are shared across threads, one slate per thread", "[concurrency]") {
  const std::size_t n = 200;
  const std::size_t d = 16;
  funnel::rng r(8);
  std::vector<float> emb(n * d);
  for (auto& x : emb) x = static_cast<float>(r.normal());
  funnel::candidate_list c;
  for (std::size_t i = 0; i < n; ++i) c.push_back({i, static_cast<float>(r.uniform())});
  std::vector<std::uint64_t> genre(n);
  for (auto& g : genre) g = r.below(4);
  const rr::chain ch(rr::dpp({.window = 8}), rr::group_cap("genre", {.max_per_group = 10}),
                     rr::pin_items(), rr::explore_slots<rr::uniform_exploration>({5}, {}),
                     rr::truncate());
  const std::vector<rr::pin> pins{{42, 0}};
  auto run = [&] {
    rr::slate s(c);
    s.set_embeddings(funnel::matrix_view(emb, n, d));
    s.set_groups("genre", genre);
    ch.rerank(s, {.k = 25, .seed = 3, .pins = pins});
    return s.candidates();
  };
  const auto expected = run();
  std::vector<funnel::candidate_list> got(4);
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < got.size(); ++t) {
    threads.emplace_back([&, t] {
      for (int rep = 0; rep < 5; ++rep) got[t] = run();
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& g : got) CHECK(g == expected);
  CHECK(expected[0].id == 42);
}

TEST_CASE(
    "mmr and dpp: a NaN in an embedding is a typed error naming the item, not a wrong order") {
  const std::vector<float> emb{1, 0, std::nanf(""), 1, 0, 1};
  const funnel::candidate_list c{{1, 1.0F}, {2, 0.9F}, {3, 0.8F}};
  rr::slate s(c);
  s.set_embeddings(funnel::matrix_view(emb, 3, 2));
  CHECK_THROWS_WITH(rr::mmr({.lambda = 0.5}).rerank(s, {}), ContainsSubstring("ids 2 and 1"));
  s.reset(c);
  s.set_embeddings(funnel::matrix_view(emb, 3, 2));
  CHECK_THROWS_WITH(rr::dpp().rerank(s, {}), ContainsSubstring("id 2"));
  s.reset(c);
  s.set_embeddings(funnel::matrix_view(emb, 3, 2));
  CHECK_THROWS_WITH(rr::dpp({.window = 2}).rerank(s, {}), ContainsSubstring("id 2"));
}

TEST_CASE("explore_slots: an unbounded pool depth means every item below the slot") {
  rr::slate s(descending(6));
  rr::explore_slots<pick_last>({1}, {}, {.pool_depth = rr::npos}).rerank(s, {});
  CHECK(s.entries()[1].item.id == 5);
}
