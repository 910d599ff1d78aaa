#include <funnel/bandits.hpp>

#include <cmath>
#include <fstream>
#include <numeric>
#include <string>
#include <vector>

#include "funnel_catch.hpp"

using namespace funnel::bandits;

namespace {

const policy_kind all_kinds[] = {policy_kind::epsilon_greedy, policy_kind::ucb1,
                                 policy_kind::thompson_bernoulli, policy_kind::thompson_gaussian,
                                 policy_kind::softmax};

mab make(policy_kind kind, std::size_t arms, std::uint64_t seed = 11) {
  mab_options c;
  c.kind = kind;
  c.seed = seed;
  c.epsilon = 0.1;
  c.temperature = 0.1;
  c.noise_variance = 0.25;
  c.propensity_samples = 400;
  mab m(c);
  for (std::size_t i = 0; i < arms; ++i) m.add_arm(100 + i);
  return m;
}

// Bernoulli environment with its own generator, so policy and world randomness stay separate.
struct world {
  std::vector<double> p;
  funnel::rng g{99};
  double pull(arm_id a) { return g.bernoulli(p[a - 100]) ? 1.0 : 0.0; }
};

}  // namespace

TEST_CASE("mab: every policy converges to the best arm") {
  for (const auto kind : all_kinds) {
    INFO(to_string(kind));
    auto m = make(kind, 5);
    world w{{0.2, 0.3, 0.65, 0.4, 0.35}};
    std::vector<int> late(5, 0);
    for (int t = 0; t < 6000; ++t) {
      const auto d = m.select();
      if (t >= 4000) ++late[d.arm - 100];
      m.update(d.arm, w.pull(d.arm));
    }
    const auto best = std::max_element(late.begin(), late.end()) - late.begin();
    CHECK(best == 2);
    CHECK(late[2] > 1200);  // > 60% of the last 2000 decisions
  }
}

TEST_CASE("mab: propensities sum to one and match the empirical choice frequencies") {
  for (const auto kind : all_kinds) {
    INFO(to_string(kind));
    auto m = make(kind, 4);
    world w{{0.3, 0.5, 0.45, 0.2}};
    for (int t = 0; t < 300; ++t) {
      const auto d = m.select();
      m.update(d.arm, w.pull(d.arm));
    }
    std::vector<double> p(m.size());
    m.propensities(p);
    CHECK_THAT(std::accumulate(p.begin(), p.end(), 0.0), WithinAbs(1.0, 1e-12));
    // Frequencies of const select() with a separate generator, state frozen.
    funnel::rng g(5);
    std::vector<double> freq(m.size(), 0.0);
    const int draws = 20000;
    for (int i = 0; i < draws; ++i) {
      const auto d = m.select(g);
      freq[d.arm - 100] += 1.0 / draws;
      CHECK(d.propensity == Approx(p[d.arm - 100]).margin(1e-12));
    }
    // Thompson's propensities are a 400-sample Monte Carlo estimate: sd <= 0.025.
    const double tol =
        (kind == policy_kind::thompson_bernoulli || kind == policy_kind::thompson_gaussian) ? 0.08
                                                                                            : 0.015;
    for (std::size_t i = 0; i < p.size(); ++i) CHECK_THAT(freq[i], WithinAbs(p[i], tol));
  }
}

TEST_CASE("mab: merging two replicas equals one policy fed both streams") {
  for (const auto kind : all_kinds) {
    INFO(to_string(kind));
    auto base = make(kind, 4);
    auto single = base;
    auto r1 = base.replica(1);
    auto r2 = base.replica(2);
    world w{{0.3, 0.5, 0.45, 0.2}};
    funnel::rng g(3);
    for (int t = 0; t < 500; ++t) {
      const arm_id a1 = 100 + g.below(4);
      const arm_id a2 = 100 + g.below(4);
      const double x1 = w.pull(a1);
      const double x2 = w.pull(a2);
      r1.update(a1, x1);
      r2.update(a2, x2);
      single.update(a1, x1);
      single.update(a2, x2);
    }
    base.merge(r1);
    base.merge(r2);
    CHECK(base.updates() == single.updates());
    const auto got = base.arms();
    const auto want = single.arms();
    REQUIRE(got.size() == want.size());
    for (std::size_t i = 0; i < got.size(); ++i) {
      CHECK(got[i].id == want[i].id);
      CHECK(got[i].n == want[i].n);  // integer counts and 0/1 rewards add exactly
      CHECK(got[i].mean == want[i].mean);
    }
    if (kind != policy_kind::thompson_bernoulli && kind != policy_kind::thompson_gaussian) {
      std::vector<double> p1(4), p2(4);
      base.propensities(p1);
      single.propensities(p2);
      CHECK(p1 == p2);
    }
  }
}

TEST_CASE("mab: save and load mid-stream continues bit for bit") {
  for (const auto kind : all_kinds) {
    INFO(to_string(kind));
    mab_options c;
    c.kind = kind;
    c.window = kind == policy_kind::ucb1 ? 50 : 0;  // exercise the window's state too
    c.discount = kind == policy_kind::softmax ? 0.99 : 1.0;
    mab a(c);
    for (arm_id i = 0; i < 5; ++i) a.add_arm(i, {2.0, 1.0, 1.0});
    funnel::rng world_rng(4);
    for (int t = 0; t < 300; ++t) {
      const auto d = a.select();
      a.update(d.arm, world_rng.uniform() < 0.1 * static_cast<double>(d.arm + 1) ? 1.0 : 0.0);
    }
    auto b = mab::from_json(funnel::parse_json(a.to_json().dump(), "test"));
    CHECK(b.to_json() == a.to_json());
    funnel::rng wa(8), wb(8);
    for (int t = 0; t < 300; ++t) {
      const auto da = a.select();
      const auto db = b.select();
      REQUIRE(da.arm == db.arm);
      REQUIRE(da.propensity == db.propensity);
      a.update(da.arm, wa.uniform() < 0.3 ? 1.0 : 0.0);
      b.update(db.arm, wb.uniform() < 0.3 ? 1.0 : 0.0);
    }
    CHECK(a.to_json().dump() == b.to_json().dump());
  }
  // Through a file, atomically written.
  auto m = make(policy_kind::thompson_bernoulli, 3);
  m.update(101, 1.0);
  const auto path = funnel::test::scratch_dir("bandits-save") / "policy.json";
  m.save(path);
  auto loaded = mab::load(path);
  CHECK(loaded.select().arm == m.select().arm);
}

TEST_CASE("mab: bad input gets typed errors naming the arm or field") {
  auto m = make(policy_kind::thompson_bernoulli, 2);
  CHECK_THROWS_AS(m.update(7, 1.0), funnel::not_found);
  CHECK_THROWS_WITH(m.update(7, 1.0), ContainsSubstring("unknown arm 7"));
  CHECK_THROWS_AS(m.update(100, 1.5), funnel::invalid_argument);
  CHECK_THROWS_WITH(m.update(100, -0.1), ContainsSubstring("outside [0, 1]"));
  CHECK_THROWS_AS(m.update(100, NAN), funnel::invalid_argument);
  CHECK_THROWS_AS(m.add_arm(100), funnel::invalid_argument);
  CHECK_THROWS_AS(m.add_arm(5, {1.0, 2.0, 0.0}), funnel::invalid_argument);  // sum > n
  CHECK_THROWS_AS(m.remove_arm(5), funnel::not_found);
  mab empty;
  CHECK_THROWS_AS(empty.select(), funnel::not_fitted);
  mab_options bad;
  bad.epsilon = 2.0;
  CHECK_THROWS_WITH(mab(bad), ContainsSubstring("epsilon"));
  bad = {};
  bad.discount = 0.9;
  bad.window = 10;
  CHECK_THROWS_AS(mab(bad), funnel::invalid_argument);
  // A batch with one bad reward changes nothing.
  const auto before = m.to_json();
  const std::vector<std::pair<arm_id, double>> batch{{100, 1.0}, {101, 3.0}};
  CHECK_THROWS_AS(m.update_batch(batch), funnel::invalid_argument);
  CHECK(m.to_json() == before);
  // Corrupt state files name the field.
  auto j = m.to_json();
  j["arms"][1]["stats"] = {1.0, 2.0};
  CHECK_THROWS_WITH(mab::from_json(j), ContainsSubstring("mab.arms[1]"));
  j = m.to_json();
  j["config"]["kind"] = "greedy";
  CHECK_THROWS_AS(mab::from_json(j), funnel::parse_error);
  j = m.to_json();
  j["rng"] = "zz";
  CHECK_THROWS_AS(mab::from_json(j), funnel::parse_error);
  // Merging needs the same kind, and stationary statistics.
  auto ucb = make(policy_kind::ucb1, 2);
  CHECK_THROWS_AS(m.merge(ucb), funnel::invalid_argument);
  mab_options disc;
  disc.discount = 0.9;
  mab d1(disc), d2(disc);
  CHECK_THROWS_AS(d1.merge(d2), funnel::unsupported);
}

TEST_CASE("mab: arms added at run time are explored; removed arms stop being chosen") {
  auto m = make(policy_kind::ucb1, 3);
  world w{{0.2, 0.3, 0.4, 0.9}};
  for (int t = 0; t < 300; ++t) {
    const auto d = m.select();
    m.update(d.arm, w.pull(d.arm));
  }
  m.add_arm(103);
  CHECK(m.select().arm == 103);  // UCB tries a new arm first
  int newest = 0;
  for (int t = 0; t < 2000; ++t) {
    const auto d = m.select();
    if (d.arm == 103) ++newest;
    m.update(d.arm, w.pull(d.arm));
  }
  CHECK(newest > 1000);
  m.remove_arm(103);
  for (int t = 0; t < 200; ++t) CHECK(m.select().arm != 103);
}

TEST_CASE("mab: warm-start priors steer the first decisions") {
  mab_options c;
  c.kind = policy_kind::epsilon_greedy;
  c.epsilon = 0.0;
  mab m(c);
  m.add_arm(1, {100.0, 20.0, 20.0});
  m.add_arm(2, {100.0, 70.0, 70.0});
  m.add_arm(3, {100.0, 40.0, 40.0});
  CHECK(m.select().arm == 2);
  CHECK(m.arms()[1].mean == 0.7);
}

TEST_CASE("mab: a sliding window or discounting follows a change of the best arm") {
  for (int variant = 0; variant < 2; ++variant) {
    mab_options c;
    c.kind = policy_kind::thompson_bernoulli;
    c.propensity_samples = 100;
    if (variant == 0)
      c.window = 500;
    else
      c.discount = 0.995;
    mab m(c);
    m.add_arm(100);
    m.add_arm(101);
    world w{{0.7, 0.3}};
    for (int t = 0; t < 3000; ++t) {
      const auto d = m.select();
      m.update(d.arm, w.pull(d.arm));
    }
    w.p = {0.3, 0.7};
    int late = 0;
    for (int t = 0; t < 3000; ++t) {
      const auto d = m.select();
      if (t >= 2000 && d.arm == 101) ++late;
      m.update(d.arm, w.pull(d.arm));
    }
    INFO((variant == 0 ? "window" : "discount"));
    CHECK(late > 800);
    if (variant == 0) CHECK(m.arms()[0].n + m.arms()[1].n == Approx(500.0));
  }
}

TEST_CASE("mab: slates hold k distinct arms with valid conditional propensities") {
  for (const auto kind : all_kinds) {
    INFO(to_string(kind));
    auto m = make(kind, 6);
    world w{{0.1, 0.2, 0.3, 0.4, 0.5, 0.6}};
    for (int t = 0; t < 400; ++t) {
      const auto d = m.select();
      m.update(d.arm, w.pull(d.arm));
    }
    std::vector<decision> slate(3);
    m.select_slate(3, slate);
    CHECK(slate[0].arm != slate[1].arm);
    CHECK(slate[1].arm != slate[2].arm);
    CHECK(slate[0].arm != slate[2].arm);
    for (const auto& d : slate) {
      CHECK(d.propensity > 0.0);
      CHECK(d.propensity <= 1.0);
    }
    CHECK_THROWS_AS(m.select_slate(7, slate), funnel::invalid_argument);
  }
  // Softmax's first position is a plain softmax draw: its propensity is the arm's probability.
  auto s = make(policy_kind::softmax, 3);
  s.update(101, 1.0);
  std::vector<double> p(3);
  s.propensities(p);
  std::vector<decision> slate(2);
  s.select_slate(2, slate);
  CHECK(slate[0].propensity == Approx(p[slate[0].arm - 100]));
}

TEST_CASE("mab: epsilon decays with the number of updates") {
  mab_options c;
  c.kind = policy_kind::epsilon_greedy;
  c.epsilon = 0.5;
  c.epsilon_decay = 0.01;
  mab m(c);
  m.add_arm(1);
  m.add_arm(2);
  std::vector<double> p(2);
  m.update(1, 1.0);
  m.propensities(p);
  CHECK(p[0] == Approx(0.5 / (1.0 + 0.01) / 2.0));  // arm 1 is not greedy: arm 2 is unplayed
  for (int i = 0; i < 99; ++i) m.update(1, 1.0);
  m.propensities(p);
  CHECK(p[0] == Approx(0.5 / (1.0 + 1.0) / 2.0));
}

TEST_CASE("mab: a saved arm count of -1e308 is a parse_error, not an endless gamma recursion") {
  for (const auto kind : {policy_kind::thompson_bernoulli, policy_kind::thompson_gaussian}) {
    auto m = make(kind, 3);
    auto j = m.to_json();
    j["arms"][1]["stats"] = {-1e308, 0.0, 0.0};
    CHECK_THROWS_AS(mab::from_json(j), funnel::parse_error);
    j = m.to_json();
    j["arms"][1]["stats"] = {1.0, 0.0, -1.0};  // sum of squares below zero
    CHECK_THROWS_AS(mab::from_json(j), funnel::parse_error);
  }
  // Beta-Bernoulli: more successes than trials would give the sampler a negative shape
  auto m = make(policy_kind::thompson_bernoulli, 2);
  auto j = m.to_json();
  j["arms"][0]["stats"] = {1.0, 5.0, 5.0};
  CHECK_THROWS_WITH(mab::from_json(j), ContainsSubstring("mab.arms[0].stats"));
  j = m.to_json();
  j["arms"][0]["propensity"] = 7.5;
  CHECK_THROWS_AS(mab::from_json(j), funnel::parse_error);
}

TEST_CASE("mab: propensity_samples beyond the documented maximum is rejected at load and setup") {
  auto m = make(policy_kind::thompson_bernoulli, 3);
  auto j = m.to_json();
  j["config"]["propensity_samples"] = std::uint64_t{1} << 31;  // used to run for minutes
  CHECK_THROWS_WITH(mab::from_json(j), ContainsSubstring("propensity_samples"));
  CHECK_THROWS_AS(mab::from_json(j), funnel::parse_error);
  mab_options c;
  c.propensity_samples = max_propensity_samples + 1;
  CHECK_THROWS_AS(mab(c), funnel::invalid_argument);
  c.propensity_samples = max_propensity_samples;
  CHECK_NOTHROW(mab(c));
}

TEST_CASE("mab: hostile files (1e999, booleans for numbers, wrong types) are parse_errors") {
  const auto m = make(policy_kind::thompson_gaussian, 2);
  const auto good = m.to_json().dump();
  const auto dir = funnel::test::scratch_dir("mab_hostile");
  const auto replace = [&](std::string from, std::string to) {
    auto s = good;
    const auto at = s.find(from);
    REQUIRE(at != std::string::npos);
    s.replace(at, from.size(), to);
    return s;
  };
  const std::string bad[] = {
      replace("\"epsilon\":", "\"epsilon\":1e999,\"x\":"),
      replace("\"seed\":", "\"seed\":true,\"x\":"),
      replace("\"arms\":", "\"arms\":{\"a\":1},\"x\":"),
      replace("\"window\":[]", "\"window\":[[1, true]]"),
      replace("\"window\":[]", "\"window\":[[100, 1e999]]"),
      replace("\"updates\":", "\"updates\":-1,\"x\":"),
  };
  for (const auto& text : bad) {
    std::ofstream(dir / "m.json") << text;
    CHECK_THROWS_AS(mab::load(dir / "m.json"), funnel::parse_error);
  }
}
