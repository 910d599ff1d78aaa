// Candidate generators: interaction log, ALS, co-visitation, popularity.
#include <funnel/core/error.hpp>
#include <funnel/core/random.hpp>
#include <funnel/retrieval/als.hpp>
#include <funnel/retrieval/covisitation.hpp>
#include <funnel/retrieval/popularity.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "funnel_catch.hpp"

using namespace funnel::retrieval;

namespace {

/// Planted structure: users in `groups` groups, each group interacts with a random 40% of its own
/// block of items and never with another group's block.
interaction_log planted(std::size_t groups, std::size_t users_per_group,
                        std::size_t items_per_group, std::uint64_t seed) {
  funnel::rng r(seed);
  interaction_log log;
  for (std::size_t g = 0; g < groups; ++g) {
    for (std::size_t u = 0; u < users_per_group; ++u) {
      const auto user = g * 1000 + u;
      for (std::size_t i = 0; i < items_per_group; ++i) {
        if (r.uniform() < 0.4)
          log.add(user, 100000 + g * 1000 + i, 1.0F, static_cast<std::int64_t>(r.below(1000)));
      }
    }
  }
  return log;
}

}  // namespace

TEST_CASE("interaction_log: CSV load maps external ids densely and names bad cells") {
  const auto t = funnel::parse_csv(
      "userId,movieId,rating,timestamp\n7,100,4.5,10\n7,200,3,20\n9,100,5,30\n", "ratings.csv");
  const auto log = interaction_log::from_table(t);
  CHECK(log.size() == 3);
  CHECK(log.num_users() == 2);
  CHECK(log.num_items() == 2);
  CHECK(log.users().at(9, "user") == 1);
  CHECK(log.items().external(1) == 200);
  CHECK(log.interactions()[0].weight == 4.5F);
  CHECK_THROWS_WITH(log.users().at(8, "user"), ContainsSubstring("unknown user id 8"));

  CHECK_THROWS_WITH(
      interaction_log::from_table(
          funnel::parse_csv("userId,movieId,rating,timestamp\nx,1,1,1\n", "b.csv")),
      ContainsSubstring("b.csv:2: column 'userId': 'x' is not a non-negative integer id"));
  // A 1 MB id cell is quoted by its first 40 bytes and its size, not whole.
  try {
    const auto log = interaction_log::from_table(funnel::parse_csv(
        "userId,movieId,rating,timestamp\n" + std::string(1 << 20, 'z') + ",1,1,1\n", "c.csv"));
    FAIL("no error");
  } catch (const funnel::parse_error& e) {
    const std::string what = e.what();
    CHECK_THAT(what, ContainsSubstring("(1048576 bytes) is not a non-negative integer id"));
    CHECK(what.size() < 200);
  }
  CHECK_THROWS_WITH(interaction_log::from_table(
                        funnel::parse_csv("userId,movieId,rating,timestamp\n1,1,-1,1\n", "w.csv")),
                    ContainsSubstring("w.csv:2: column 'rating': weight must be finite and >= 0"));
  CHECK_THROWS_WITH(interaction_log::from_table(
                        funnel::parse_csv("userId,movieId,rating,timestamp\n1,1,1,NA\n", "t.csv")),
                    ContainsSubstring("t.csv:2: column 'timestamp'"));
  CHECK_THROWS_AS(interaction_log::from_table(funnel::parse_csv("user,movieId\n1,1\n", "c.csv")),
                  funnel::not_found);
}

TEST_CASE("load_interactions_csv: reads a file with the given columns and CSV options") {
  const auto path = std::filesystem::temp_directory_path() / "funnel-test-interactions.tsv";
  {
    std::ofstream out(path);
    out << "who\twhat\tplays\n3\t50\t2\n4\t50\t1\n3\t60\t5\n";
  }
  const auto log = load_interactions_csv(
      path, {.columns = {.user = "who", .item = "what", .weight = "plays", .timestamp = ""},
             .csv = {.delimiter = '\t'}});
  CHECK(log.size() == 3);
  CHECK(log.num_users() == 2);
  CHECK(log.num_items() == 2);
  CHECK(log.interactions()[2].weight == 5.0F);
  CHECK(log.interactions()[2].timestamp == 0);
  CHECK_THROWS_WITH(load_interactions_csv(path), ContainsSubstring("userId"));
  std::filesystem::remove(path);
  CHECK_THROWS_AS(load_interactions_csv(path), funnel::io_error);
}

TEST_CASE("interaction_log: the time split never puts a later interaction in train") {
  const auto log = planted(3, 20, 30, 1);
  const auto cutoff = log.time_quantile(0.8);
  const auto [train, test] = log.split_by_time(cutoff);
  CHECK(train.size() + test.size() == log.size());
  CHECK(train.size() > 0);
  CHECK(test.size() > 0);
  std::int64_t latest_train = 0;
  std::int64_t earliest_test = std::numeric_limits<std::int64_t>::max();
  for (const auto& r : train.interactions()) latest_train = std::max(latest_train, r.timestamp);
  for (const auto& r : test.interactions()) earliest_test = std::min(earliest_test, r.timestamp);
  CHECK(latest_train < cutoff);
  CHECK(earliest_test >= cutoff);
  CHECK(train.items().size() == log.items().size());  // shared id maps: indices agree
}

TEST_CASE("interaction_log: user_items sums repeated pairs and keeps empty users") {
  interaction_log log;
  log.add(1, 10, 1.0F);
  log.add(2, 20, 2.0F);
  log.add(1, 10, 3.0F);
  const auto m = log.user_items();
  CHECK(m.rows() == 2);
  CHECK(m.row(0).values.size() == 1);
  CHECK(m.row(0).values[0] == 4.0F);
  CHECK(m.row(1).indices[0] == 1);
  CHECK_THROWS_AS(log.add(3, 30, std::nanf("")), funnel::invalid_argument);
}

TEST_CASE("als: recovers planted group structure, loss never increases (Cholesky)") {
  const auto log = planted(4, 25, 40, 7);
  als_options o;
  o.factors = 8;
  o.iterations = 8;
  o.threads = 2;
  const auto model = fit_als(log, o);
  REQUIRE(model.history().size() == 8);
  for (std::size_t i = 1; i < model.history().size(); ++i) {
    CHECK(model.history()[i].loss <= model.history()[i - 1].loss * (1.0 + 1e-9));
  }
  // Every user's top-10 unseen items come from the user's own block.
  std::size_t right = 0;
  std::size_t total = 0;
  for (std::size_t g = 0; g < 4; ++g) {
    for (std::size_t u = 0; u < 25; ++u) {
      user_query q;
      q.user = g * 1000 + u;
      const auto got = model.retrieve(q, 10);
      for (const auto& c : got) {
        right += (c.id - 100000) / 1000 == g ? 1 : 0;
        ++total;
      }
    }
  }
  CHECK(total == 4 * 25 * 10);
  CHECK(right == total);
}

TEST_CASE(
    "als: conjugate gradient reaches nearly the Cholesky objective; seeds are deterministic") {
  const auto log = planted(3, 20, 30, 3);
  als_options o;
  o.factors = 6;
  o.iterations = 10;
  o.threads = 1;
  const auto exact = fit_als(log, o);
  o.solver = als_solver::conjugate_gradient;
  const auto cg = fit_als(log, o);
  CHECK(cg.history().back().loss <= exact.history().back().loss * 1.05);
  o.solver = als_solver::cholesky;
  o.threads = 2;
  const auto again = fit_als(log, o);
  CHECK(again.item_factors() == exact.item_factors());  // threads do not change the result
}

TEST_CASE("als: fold-in of a known user's history approximates the trained vector") {
  const auto log = planted(3, 20, 30, 5);
  als_options o;
  o.factors = 6;
  o.iterations = 10;
  const auto model = fit_als(log, o);
  // The user half-step is exactly fold-in; the last half-step updated items, so fold-in of the
  // full history must rank the same group first.
  std::vector<std::uint64_t> history;
  for (const auto& r : log.interactions()) {
    if (r.user == 0) history.push_back(log.items().external(r.item));
  }
  user_query q;
  q.history = history;
  const auto got = model.retrieve(q, 5);
  REQUIRE(got.size() == 5);
  for (const auto& c : got) CHECK((c.id - 100000) / 1000 == 0);
  for (const auto& c : got) CHECK(std::find(history.begin(), history.end(), c.id) == history.end());
}

TEST_CASE("als: unknown user with unknown history gives an empty list; bad input is typed") {
  const auto log = planted(2, 10, 10, 9);
  als_options o;
  o.factors = 4;
  o.iterations = 2;
  const auto model = fit_als(log, o);
  user_query q;
  q.user = 424242;
  CHECK(model.retrieve(q, 10).empty());
  const std::vector<std::uint64_t> unknown{1, 2, 3};
  q.history = unknown;
  CHECK(model.retrieve(q, 10).empty());
  const std::vector<float> w{1.0F};
  CHECK_THROWS_AS(model.fold_in(unknown, w), funnel::dimension_mismatch);
  const std::vector<float> short_vec(3);
  CHECK_THROWS_AS(model.score_all(short_vec), funnel::dimension_mismatch);
  CHECK_THROWS_AS(fit_als(interaction_log{}, o), funnel::invalid_argument);
  o.factors = 0;
  CHECK_THROWS_AS(fit_als(log, o), funnel::invalid_argument);
}

TEST_CASE("als: JSON round trip is bit-exact and damaged documents name the problem") {
  const auto log = planted(2, 10, 10, 11);
  als_options o;
  o.factors = 4;
  o.iterations = 2;
  const auto model = fit_als(log, o);
  const auto dir = funnel::test::scratch_dir("als");
  model.save(dir / "als.json");
  const auto back = als_model::load(dir / "als.json");
  CHECK(back.item_factors() == model.item_factors());
  CHECK(back.user_factors() == model.user_factors());
  auto j = model.to_json();
  j["item_factors"].erase(0);
  CHECK_THROWS_WITH(als_model::from_json(j), ContainsSubstring("do not match"));
  j = model.to_json();
  j.erase("alpha");
  // A field the JSON layer rejects is reported under the model's id, with the same message.
  CHECK_THROWS_WITH(als_model::from_json(j),
                    ContainsSubstring("[funnel.parse_error.retrieval.als_model]") &&
                        ContainsSubstring("missing field 'alpha'"));
  j = model.to_json();
  j["type"] = "funnel.retrieval.popularity_model";
  CHECK_THROWS_WITH(als_model::from_json(j),
                    ContainsSubstring("[funnel.parse_error.retrieval.als_model]") &&
                        ContainsSubstring("expected type 'funnel.retrieval.als_model'"));
}

TEST_CASE("covisitation: counts on a hand-checkable log") {
  // user 1: A(t=0) B(t=10) C(t=20); user 2: A(t=0) B(t=5); user 3: A(t=0) C(t=100000)
  interaction_log log;
  log.add(1, 'A', 1, 0);
  log.add(1, 'B', 1, 10);
  log.add(1, 'C', 1, 20);
  log.add(2, 'A', 1, 0);
  log.add(2, 'B', 1, 5);
  log.add(3, 'A', 1, 0);
  log.add(3, 'C', 1, 100000);
  covisitation_options o;
  o.window = 100;
  o.normalization = covisit_normalization::none;
  const auto m = fit_covisitation(log, o);
  // A-B co-visit twice (users 1, 2); A-C once (user 1; user 3 is outside the window); B-C once.
  const auto a = m.neighbours('A');
  REQUIRE(a.size() == 2);
  CHECK(a[0].id == 'B');
  CHECK(a[0].score == 2.0F);
  CHECK(a[1].id == 'C');
  CHECK(a[1].score == 1.0F);
  CHECK(m.neighbours('Z').empty());

  o.normalization = covisit_normalization::cosine;  // n_A = 3, n_B = 2, n_C = 2
  const auto cos = fit_covisitation(log, o);
  CHECK_THAT(cos.neighbours('A')[0].score, WithinRel(2.0 / std::sqrt(6.0), 1e-6));
  o.normalization = covisit_normalization::conditional;
  const auto cond = fit_covisitation(log, o);
  CHECK_THAT(cond.neighbours('B')[0].score, WithinRel(2.0 / 2.0, 1e-6));
  CHECK_THAT(cond.neighbours('A')[0].score, WithinRel(2.0 / 3.0, 1e-6));

  o.max_lag = 1;  // user 1's A and C are two positions apart: no longer a pair
  o.normalization = covisit_normalization::none;
  const auto lag = fit_covisitation(log, o);
  CHECK(lag.neighbours('A').size() == 1);
}

TEST_CASE("covisitation: retrieval weights recent history more and excludes it") {
  interaction_log log;
  log.add(1, 'A', 1, 0);
  log.add(1, 'X', 1, 1);
  log.add(2, 'B', 1, 0);
  log.add(2, 'Y', 1, 1);
  covisitation_options o;
  o.normalization = covisit_normalization::none;
  o.history_decay = 0.5;
  const auto m = fit_covisitation(log, o);
  const std::vector<std::uint64_t> history{'A', 'B'};  // B is the most recent
  user_query q;
  q.history = history;
  const auto got = m.retrieve(q, 10);
  REQUIRE(got.size() == 2);
  CHECK(got[0].id == 'Y');
  CHECK(got[0].score == 1.0F);
  CHECK(got[1].id == 'X');
  CHECK(got[1].score == 0.5F);
  const auto only_x = m.retrieve(q, 10, [](std::uint64_t id) { return id == 'X'; });
  REQUIRE(only_x.size() == 1);
  user_query empty;
  CHECK(m.retrieve(empty, 10).empty());
  const auto back = covisitation_model::from_json(m.to_json());
  CHECK(back.retrieve(q, 10) == got);
}

TEST_CASE("covisitation: retrieval equals a hash-map sum and full sort over the neighbours") {
  // The reference is the definition (scores summed per id in history order, most recent first;
  // history excluded; all sorted by score then id; the first k allowed), which retrieve() now
  // computes with dense sums and a partial sort.
  funnel::rng r(17);
  interaction_log log;
  for (std::uint64_t u = 0; u < 60; ++u)
    for (int i = 0; i < 25; ++i)
      log.add(u, r.below(150), 1.0F, static_cast<std::int64_t>(r.below(500)));
  covisitation_options o;
  o.window = 200;
  o.top_n = 30;
  const auto m = fit_covisitation(log, o);
  const auto reference = [&](const user_query& q, std::size_t k, auto allow) {
    std::map<std::uint64_t, double> sums;
    double weight = 1.0;
    for (std::size_t i = q.history.size(); i-- > 0;) {
      const double w = weight * (q.history_weights.empty() ? 1.0 : q.history_weights[i]);
      for (const auto& c : m.neighbours(q.history[i])) sums[c.id] += w * c.score;
      weight *= o.history_decay;
    }
    if (q.exclude_history)
      for (const auto h : q.history) sums.erase(h);
    funnel::candidate_list all;
    for (const auto& [id, s] : sums) all.push_back({id, static_cast<float>(s)});
    std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) {
      return a.score > b.score || (a.score == b.score && a.id < b.id);
    });
    funnel::candidate_list out;
    for (const auto& c : all)
      if (out.size() < k && allow(c.id)) out.push_back(c);
    return out;
  };
  const auto even = [](std::uint64_t id) { return id % 2 == 0; };
  for (int trial = 0; trial < 50; ++trial) {
    std::vector<std::uint64_t> history;
    std::vector<float> weights;
    for (std::uint64_t i = 0, n = 1 + r.below(20); i < n; ++i) {
      history.push_back(r.below(170));  // some ids the log never saw
      weights.push_back(static_cast<float>(0.5 + r.uniform()));
    }
    user_query q;
    q.history = history;
    if (trial % 2 == 0) q.history_weights = weights;
    q.exclude_history = trial % 3 != 0;
    const std::size_t k = 1 + r.below(40);
    INFO("trial " << trial);
    CHECK(m.retrieve(q, k) == reference(q, k, [](std::uint64_t) { return true; }));
    CHECK(m.retrieve(q, k, even) == reference(q, k, even));
  }
}

TEST_CASE("popularity: half-life decay formula, segments and unknown-segment fallback") {
  interaction_log log;
  log.add(1, 10, 1, 0);  // age 100 at now = 100: weight 2^-1 with half-life 100
  log.add(2, 10, 1, 0);
  log.add(3, 20, 1, 100);  // age 0: weight 1
  log.add(4, 30, 1, 50);   // age 50: 2^-0.5
  popularity_options o;
  o.half_life = 100.0;
  segment_map seg{{10, {"drama"}}, {30, {"drama", "comedy"}}};
  const auto m = fit_popularity(log, o, seg);
  const auto& g = m.top();
  REQUIRE(g.size() == 3);
  CHECK(g[0].id == 10);
  CHECK_THAT(g[0].score, WithinRel(1.0, 1e-6));  // 2 * 0.5
  CHECK(g[1].id == 20);                          // tie at 1.0: smaller id first
  CHECK_THAT(g[2].score, WithinRel(std::exp2(-0.5), 1e-6));
  CHECK(m.top("drama").size() == 2);
  CHECK(m.top("comedy")[0].id == 30);
  CHECK_THROWS_AS(m.top("horror"), funnel::not_found);
  user_query q;
  q.segment = "horror";  // unknown: falls back to global
  const std::vector<std::uint64_t> seen{10};
  q.history = seen;
  const auto got = m.retrieve(q, 5);
  REQUIRE(got.size() == 2);
  CHECK(got[0].id == 20);
  const auto back = popularity_model::from_json(m.to_json());
  CHECK(back.top("drama") == m.top("drama"));
  o.half_life = -1;
  CHECK_THROWS_AS(fit_popularity(log, o), funnel::invalid_argument);
}

TEST_CASE("candidate generators: hostile files are parse_errors, never a model that reads OOB") {
  const auto log = planted(2, 10, 10, 11);
  als_options ao;
  ao.factors = 4;
  ao.iterations = 1;
  const auto als = fit_als(log, ao);
  REQUIRE(als.to_json()["user_ids"].size() % 2 == 0);
  auto j = als.to_json();
  // 20 users x 2^63 factors wraps to 0 = the size of an empty array: used to load
  j["factors"] = std::uint64_t{1} << 63;
  j["user_factors"] = funnel::json::array();
  j["item_factors"] = funnel::json::array();
  CHECK_THROWS_WITH(als_model::from_json(j), ContainsSubstring("do not match"));
  j = als.to_json();
  j["factors"] = true;
  CHECK_THROWS_AS(als_model::from_json(j), funnel::parse_error);
  j = als.to_json();
  j["user_factors"][0] = "x";
  CHECK_THROWS_AS(als_model::from_json(j), funnel::parse_error);
  j = als.to_json();
  j["item_factors"][3] = 1e300;  // beyond float
  CHECK_THROWS_AS(als_model::from_json(j), funnel::parse_error);

  covisitation_options co;
  const auto cov = fit_covisitation(log, co);
  for (const auto& [key, value] :
       std::vector<std::pair<std::string, funnel::json>>{{"top_n", 0},
                                                         {"history_decay", 5.0},
                                                         {"window", -1},
                                                         {"max_lag", true},
                                                         {"offsets", "x"},
                                                         {"neighbour_scores", {1, 2}}}) {
    auto c = cov.to_json();
    c[key] = value;
    INFO(key);
    CHECK_THROWS_AS(covisitation_model::from_json(c), funnel::parse_error);
  }

  popularity_options po;
  const auto pop = fit_popularity(log, po);
  auto p = pop.to_json();
  p["segments"][""]["scores"][0] = false;
  CHECK_THROWS_AS(popularity_model::from_json(p), funnel::parse_error);
  p = pop.to_json();
  p["segments"] = {1, 2};
  CHECK_THROWS_AS(popularity_model::from_json(p), funnel::parse_error);

  const auto dir = funnel::test::scratch_dir("candidates_hostile");
  const char* texts[] = {
      R"({"type": "als_model", "version": 1, "factors": 1e999})",
      R"({"type": "popularity_model", "version": 1, "segments": {"": {"ids": [1], "scores": [1e999]}}})",
      R"({"type": "covisitation_model", "version": 1, "window": 1e999})"};
  for (const char* t : texts) {
    std::ofstream(dir / "m.json") << t;
    CHECK_THROWS_AS(als_model::load(dir / "m.json"), funnel::parse_error);
    CHECK_THROWS_AS(popularity_model::load(dir / "m.json"), funnel::parse_error);
    CHECK_THROWS_AS(covisitation_model::load(dir / "m.json"), funnel::parse_error);
  }
}
