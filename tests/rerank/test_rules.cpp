#include <funnel/core/random.hpp>
#include <funnel/rerank.hpp>

#include <algorithm>
#include <map>
#include <vector>

#include "funnel_catch.hpp"

namespace rr = funnel::rerank;

namespace {
std::vector<std::uint64_t> ids_of(const rr::slate& s) {
  std::vector<std::uint64_t> out;
  for (const auto& e : s.entries()) out.push_back(e.item.id);
  return out;
}
funnel::candidate_list descending(std::size_t n) {
  funnel::candidate_list c;
  for (std::size_t i = 0; i < n; ++i) c.push_back({i, static_cast<float>(n - i)});
  return c;
}
}  // namespace

TEST_CASE("sliding_window: hand-computed fill a,b,c,a,b and the unplaceable a removed") {
  // groups a a a b b c, at most 1 per window of 3
  const std::vector<std::uint64_t> g{0, 0, 0, 1, 1, 2};
  rr::slate s(descending(6));
  s.set_groups("genre", g);
  rr::sliding_window("genre", {.window = 3, .max_per_window = 1}).rerank(s, {});
  CHECK(ids_of(s) == std::vector<std::uint64_t>{0, 3, 5, 1, 4});
  const auto t = s.trace();
  CHECK(t[2].removed());
  CHECK(t[2].has(rr::rule::window));
  CHECK(t[1].has(rr::rule::window));  // passed over, then placed at 3
  CHECK_FALSE(t[0].has(rr::rule::window));
}

TEST_CASE("sliding_window: the constraint holds on every window of random slates") {
  funnel::rng r(3);
  for (int rep = 0; rep < 30; ++rep) {
    const std::size_t n = 200;
    std::vector<std::uint64_t> g(n);
    for (auto& x : g) {
      // skewed: group 0 half the time, no_group sometimes
      const double u = r.uniform();
      x = u < 0.5 ? 0 : (u < 0.55 ? rr::no_group : 1 + r.below(6));
    }
    const std::size_t w = 2 + r.below(6);
    const std::size_t m = 1 + r.below(2);
    for (bool drop : {true, false}) {
      rr::slate s(descending(n));
      s.set_groups("g", g);
      rr::sliding_window("g", {.window = w, .max_per_window = m, .drop_unplaced = drop})
          .rerank(s, {});
      const auto e = s.entries();
      std::size_t placed = 0;
      for (const auto& t : s.trace()) placed += (!t.removed() && !t.has(rr::rule::window)) ? 1 : 0;
      CHECK(placed <= e.size());
      if (!drop) {
        REQUIRE(e.size() == n);
      }
      // the constrained prefix: everything when dropping; otherwise up to the first item that
      // was never placed (those follow at the end, marked and in order)
      std::size_t prefix = e.size();
      if (!drop) {
        // items left over keep their relative order at the end: find where the fill stopped
        prefix = 0;
        std::map<std::uint64_t, std::size_t> count;
        for (std::size_t i = 0; i < e.size(); ++i) {
          const auto key = g[e[i].origin];
          if (i >= w && g[e[i - w].origin] != rr::no_group) --count[g[e[i - w].origin]];
          if (key != rr::no_group && count[key] >= m) break;
          if (key != rr::no_group) ++count[key];
          prefix = i + 1;
        }
      }
      for (std::size_t start = 0; start < prefix; ++start) {
        std::map<std::uint64_t, std::size_t> count;
        for (std::size_t i = start; i < std::min(prefix, start + w); ++i) {
          const auto key = g[e[i].origin];
          if (key != rr::no_group) REQUIRE(++count[key] <= m);
        }
      }
      // greedy: the first item is always the top item
      CHECK(e[0].item.id == 0);
    }
  }
}

TEST_CASE("group_cap: at most c per group, keeping each group's best-ranked items") {
  funnel::rng r(9);
  const std::size_t n = 300;
  std::vector<std::uint64_t> g(n);
  for (auto& x : g) x = r.below(7);
  rr::slate s(descending(n));
  s.set_groups("seller", g);
  rr::group_cap("seller", {.max_per_group = 4}).rerank(s, {});
  std::map<std::uint64_t, std::vector<std::uint64_t>> kept;
  for (const auto& e : s.entries()) kept[g[e.origin]].push_back(e.item.id);
  std::map<std::uint64_t, std::vector<std::uint64_t>> expected;
  for (std::size_t i = 0; i < n; ++i) {
    if (expected[g[i]].size() < 4) expected[g[i]].push_back(i);
  }
  CHECK(kept == expected);
  CHECK(s.size() == 28);
  for (const auto& t : s.trace()) CHECK(t.removed() == t.has(rr::rule::cap));
  CHECK_THROWS_WITH(rr::group_cap("author", {.max_per_group = 2}).rerank(s, {}),
                    ContainsSubstring("'author'"));
}

TEST_CASE("group_decay: home-mixer's (1 - floor) * decay^i + floor, factors 1, 0.625, 0.4375") {
  CHECK_THAT(rr::group_decay_factor(0, 0.5, 0.25), WithinAbs(1.0, 1e-15));
  CHECK_THAT(rr::group_decay_factor(1, 0.5, 0.25), WithinAbs(0.625, 1e-15));
  CHECK_THAT(rr::group_decay_factor(2, 0.5, 0.25), WithinAbs(0.4375, 1e-15));
  CHECK_THAT(rr::group_decay_factor(60, 0.5, 0.25), WithinAbs(0.25, 1e-15));
  // a: 1.0, 0.9, 0.7; b: 0.8 -> a 1.0, b 0.8, a 0.9 * 0.625 = 0.5625, a 0.7 * 0.4375 = 0.30625
  const funnel::candidate_list c{{1, 1.0F}, {2, 0.9F}, {3, 0.8F}, {4, 0.7F}};
  const std::vector<std::uint64_t> author{7, 7, 8, 7};
  rr::slate s(c);
  s.set_groups("author", author);
  rr::group_decay("author").rerank(s, {});
  CHECK(ids_of(s) == std::vector<std::uint64_t>{1, 3, 2, 4});
  CHECK_THAT(s.entries()[2].item.score, WithinAbs(0.5625, 1e-6));
  CHECK_THAT(s.entries()[3].item.score, WithinAbs(0.30625, 1e-6));
  const auto t = s.trace();
  CHECK(t[1].has(rr::rule::decay));
  CHECK_FALSE(t[0].has(rr::rule::decay));
  CHECK(t[1].original_rank == 1);
  CHECK(t[1].final_rank == 2);
}

TEST_CASE("freshness: score times 1 + weight * 2^(-age / half_life)") {
  const funnel::candidate_list c{{1, 1.0F}, {2, 1.0F}, {3, 1.0F}, {4, 1.0F}};
  const std::vector<double> ts{80, 90, 100, std::nan("")};
  rr::slate s(c);
  s.set_timestamps(ts);
  rr::freshness({.half_life = 10.0, .weight = 1.0}).rerank(s, {.now = 100});
  CHECK(ids_of(s) == std::vector<std::uint64_t>{3, 2, 1, 4});
  CHECK_THAT(s.entries()[0].item.score, WithinAbs(2.0, 1e-6));
  CHECK_THAT(s.entries()[1].item.score, WithinAbs(1.5, 1e-6));
  CHECK_THAT(s.entries()[2].item.score, WithinAbs(1.25, 1e-6));
  CHECK_THAT(s.entries()[3].item.score, WithinAbs(1.0, 1e-6));
  rr::slate none(c);
  CHECK_THROWS_AS(rr::freshness({.half_life = 10.0, .weight = 1.0}).rerank(none, {}),
                  funnel::invalid_argument);
  CHECK_THROWS_AS(rr::freshness({.half_life = 0.0, .weight = 1.0}), funnel::invalid_argument);
}

TEST_CASE("block, dedup, pin, truncate: hand-checked business rules with traces") {
  rr::slate s(descending(8));
  const std::vector<std::uint64_t> key{0, 1, 0, 2, 3, 3, 4, 5};
  s.set_dedup_keys(key);
  const std::vector<std::uint64_t> blocked{6};
  rr::block_items({4}).rerank(s, {.blocked = blocked});
  CHECK(ids_of(s) == std::vector<std::uint64_t>{0, 1, 2, 3, 5, 7});
  rr::dedup().rerank(s, {});
  CHECK(ids_of(s) == std::vector<std::uint64_t>{0, 1, 3, 5, 7});  // 2 dups 0; 5 kept (4 blocked)
  const std::vector<rr::pin> pins{{7, 0}, {5, 0}, {1, 99}, {42, 1}};
  rr::pin_items().rerank(s, {.pins = pins});
  CHECK(ids_of(s) == std::vector<std::uint64_t>{7, 5, 0, 3, 1});
  rr::truncate().rerank(s, {.k = 3});
  CHECK(ids_of(s) == std::vector<std::uint64_t>{7, 5, 0});
  const auto t = s.trace();
  CHECK(t[4].has(rr::rule::blocked));
  CHECK(t[6].has(rr::rule::blocked));
  CHECK(t[2].has(rr::rule::dedup));
  CHECK(t[7].has(rr::rule::pinned));
  CHECK(t[7].final_rank == 0);
  CHECK(t[1].has(rr::rule::truncated));
  CHECK(t[3].has(rr::rule::truncated));
  CHECK(t[3].removed());
  CHECK_THAT(s.explain(), ContainsSubstring("id 7: rank 7 -> 0 [pinned]"));
  rr::slate no_keys(descending(2));
  CHECK_THROWS_AS(rr::dedup().rerank(no_keys, {}), funnel::invalid_argument);
}

TEST_CASE("slate: attribute views of the wrong size are dimension errors naming the attribute") {
  rr::slate s(descending(3));
  const std::vector<std::uint64_t> two{1, 2};
  CHECK_THROWS_WITH(s.set_groups("genre", two), ContainsSubstring("groups 'genre' has 2 entries"));
  CHECK_THROWS_AS(s.set_dedup_keys(two), funnel::dimension_mismatch);
  const funnel::candidate_list bad{{1, std::nanf("")}};
  CHECK_THROWS_AS(rr::slate(bad), funnel::invalid_argument);
}

TEST_CASE("rule options: one aggregate per rule, defaults, read back, errors name the field") {
  // Defaults (home-mixer's decay and floor; one item per group and window of 4).
  CHECK(rr::group_decay("g").options().decay == 0.5);
  CHECK(rr::group_decay("g").options().floor == 0.25);
  CHECK(rr::sliding_window("g").options().window == 4);
  CHECK(rr::sliding_window("g").options().max_per_window == 1);
  CHECK(rr::sliding_window("g").options().drop_unplaced);
  CHECK(rr::group_cap("g").options().max_per_group == 1);
  CHECK(rr::freshness().options().half_life == 1.0);
  const rr::sliding_window w("g", {.window = 7, .max_per_window = 2, .drop_unplaced = false});
  CHECK(w.options().window == 7);
  CHECK(w.options().max_per_window == 2);
  CHECK_FALSE(w.options().drop_unplaced);
  CHECK_THROWS_WITH(rr::sliding_window("g", {.window = 0}),
                    ContainsSubstring("sliding_window_options.window = 0"));
  CHECK_THROWS_WITH(rr::sliding_window("g", {.max_per_window = 0}),
                    ContainsSubstring("sliding_window_options.max_per_window = 0"));
  CHECK_THROWS_WITH(rr::group_cap("g", {.max_per_group = 0}),
                    ContainsSubstring("group_cap_options.max_per_group"));
  CHECK_THROWS_WITH(rr::group_decay("g", {.decay = 1.5}),
                    ContainsSubstring("group_decay_options.decay = 1.5"));
  CHECK_THROWS_WITH(rr::group_decay("g", {.floor = -0.1}),
                    ContainsSubstring("group_decay_options.floor = -0.1"));
  CHECK_THROWS_WITH(rr::freshness({.half_life = 0.0}),
                    ContainsSubstring("freshness_options.half_life = 0"));
  CHECK_THROWS_WITH(rr::freshness({.weight = -1.0}),
                    ContainsSubstring("freshness_options.weight = -1"));
  CHECK_THROWS_WITH(rr::mmr({.lambda = 2.0}), ContainsSubstring("mmr_options.lambda = 2"));
  CHECK_THROWS_WITH(rr::dpp({.theta = 1.0}), ContainsSubstring("dpp_options.theta = 1"));
  CHECK(
      rr::explore_slots<rr::uniform_exploration>({1}, {}, {.pool_depth = 9}).options().pool_depth ==
      9);
}
