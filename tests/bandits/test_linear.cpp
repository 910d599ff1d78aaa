#include <funnel/bandits.hpp>

#include <cmath>
#include <vector>

#include "funnel_catch.hpp"

using namespace funnel::bandits;

namespace {

// Three arms with true parameters; reward = theta_a . x + N(0, 0.1^2).
struct linear_world {
  std::vector<std::vector<double>> theta{{0.5, 0.0, 0.1}, {0.0, 0.6, 0.1}, {0.2, 0.2, 0.3}};
  funnel::rng g{21};
  std::vector<float> context() {
    return {static_cast<float>(g.uniform()), static_cast<float>(g.uniform()), 1.0f};
  }
  double mean(std::size_t a, const std::vector<float>& x) const {
    double m = 0;
    for (std::size_t j = 0; j < x.size(); ++j) m += theta[a][j] * x[j];
    return m;
  }
  std::size_t best(const std::vector<float>& x) const {
    std::size_t b = 0;
    for (std::size_t a = 1; a < theta.size(); ++a) {
      if (mean(a, x) > mean(b, x)) b = a;
    }
    return b;
  }
  double reward(std::size_t a, const std::vector<float>& x) {
    return mean(a, x) + g.normal(0.0, 0.1);
  }
};

linear_bandit make(linear_kind kind) {
  linear_bandit_options c;
  c.kind = kind;
  c.dimension = 3;
  c.alpha = 0.5;
  c.v = 0.1;
  c.propensity_samples = 20;
  linear_bandit b(c);
  for (arm_id a = 0; a < 3; ++a) b.add_arm(a);
  return b;
}

}  // namespace

TEST_CASE("linear: LinUCB and linear Thompson learn the best arm per context") {
  for (const auto kind : {linear_kind::lin_ucb, linear_kind::lin_thompson}) {
    auto b = make(kind);
    linear_world w;
    int correct = 0;
    const int steps = 1500;
    for (int t = 0; t < steps; ++t) {
      const auto x = w.context();
      const auto d = b.select(x);
      CHECK(d.propensity > 0.0);
      CHECK(d.propensity <= 1.0);
      if (t >= steps - 500 && d.arm == w.best(x)) ++correct;
      b.update(d.arm, x, w.reward(d.arm, x));
    }
    INFO((kind == linear_kind::lin_ucb ? "lin_ucb" : "lin_thompson"));
    CHECK(correct > 400);  // > 80% of the last 500 contexts
  }
}

TEST_CASE("linear: merging two replicas equals one policy fed both streams") {
  auto base = make(linear_kind::lin_ucb);
  auto single = base;
  auto r1 = base.replica(1);
  auto r2 = base.replica(2);
  linear_world w;
  funnel::rng g(2);
  for (int t = 0; t < 300; ++t) {
    const auto x1 = w.context();
    const auto x2 = w.context();
    const arm_id a1 = g.below(3);
    const arm_id a2 = g.below(3);
    const double y1 = w.reward(a1, x1);
    const double y2 = w.reward(a2, x2);
    r1.update(a1, x1, y1);
    r2.update(a2, x2, y2);
    single.update(a1, x1, y1);
    single.update(a2, x2, y2);
  }
  base.merge(r1);
  base.merge(r2);
  std::vector<double> p1(3), p2(3);
  for (int t = 0; t < 20; ++t) {
    const auto x = w.context();
    base.predict(x, p1);
    single.predict(x, p2);
    // Sherman-Morrison updates vs one re-inversion: equal up to rounding.
    for (int a = 0; a < 3; ++a) CHECK_THAT(p1[a], WithinAbs(p2[a], 1e-9));
    CHECK(base.select(x).arm == single.select(x).arm);
  }
}

TEST_CASE("linear: save and load mid-stream continues bit for bit") {
  for (const auto kind : {linear_kind::lin_ucb, linear_kind::lin_thompson}) {
    auto a = make(kind);
    linear_world w;
    for (int t = 0; t < 200; ++t) {
      const auto x = w.context();
      const auto d = a.select(x);
      a.update(d.arm, x, w.reward(d.arm, x));
    }
    auto b = linear_bandit::from_json(funnel::parse_json(a.to_json().dump(), "test"));
    for (int t = 0; t < 200; ++t) {
      const auto x = w.context();
      const auto da = a.select(x);
      const auto db = b.select(x);
      REQUIRE(da.arm == db.arm);
      REQUIRE(da.propensity == db.propensity);
      const double r = w.reward(da.arm, x);
      a.update(da.arm, x, r);
      b.update(db.arm, x, r);
    }
    CHECK(a.to_json().dump() == b.to_json().dump());
  }
}

TEST_CASE("linear: a document written as funnel.bandits.linear (0.1) still loads") {
  auto a = make(linear_kind::lin_ucb);
  auto j = a.to_json();
  CHECK(j["type"] == "funnel.bandits.linear_bandit");
  j["type"] = "funnel.bandits.linear";
  const auto b = linear_bandit::from_json(j);
  CHECK(b.to_json().dump() == a.to_json().dump());
  j["type"] = "funnel.bandits.linear_policy";
  CHECK_THROWS_AS(linear_bandit::from_json(j), funnel::parse_error);
}

TEST_CASE("linear: NaN context, wrong width and unknown arm get typed errors") {
  auto b = make(linear_kind::lin_ucb);
  const std::vector<float> nan_x{0.1f, NAN, 1.0f};
  const std::vector<float> short_x{0.1f, 1.0f};
  const std::vector<float> x{0.1f, 0.2f, 1.0f};
  CHECK_THROWS_AS(b.select(nan_x), funnel::invalid_argument);
  CHECK_THROWS_WITH(b.select(nan_x), ContainsSubstring("feature 1"));
  CHECK_THROWS_AS(b.select(short_x), funnel::dimension_mismatch);
  CHECK_THROWS_AS(b.update(9, x, 1.0), funnel::not_found);
  CHECK_THROWS_AS(b.update(0, x, NAN), funnel::invalid_argument);
  CHECK_THROWS_AS(b.update(0, nan_x, 1.0), funnel::invalid_argument);
  CHECK_THROWS_AS(b.add_arm(0), funnel::invalid_argument);
  linear_bandit_options c;
  CHECK_THROWS_WITH(linear_bandit(c), ContainsSubstring("dimension"));
  linear_bandit empty(linear_bandit_options{.dimension = 3});
  CHECK_THROWS_AS(empty.select(x), funnel::not_fitted);
  auto j = b.to_json();
  j["arms"][0]["a_inv"] = std::vector<double>{1.0, 2.0};
  CHECK_THROWS_WITH(linear_bandit::from_json(j), ContainsSubstring("arms[0].a_inv"));
}

TEST_CASE("linear: propensity_samples beyond the maximum is a parse_error at load") {
  const auto b = make(linear_kind::lin_thompson);
  auto j = b.to_json();
  j["config"]["propensity_samples"] = std::uint64_t{1} << 31;  // select() ran for minutes
  CHECK_THROWS_WITH(linear_bandit::from_json(j), ContainsSubstring("propensity_samples"));
  CHECK_THROWS_AS(linear_bandit::from_json(j), funnel::parse_error);
  linear_bandit_options c;
  c.dimension = 2;
  c.propensity_samples = max_propensity_samples + 1;
  CHECK_THROWS_AS(linear_bandit(c), funnel::invalid_argument);
  j = b.to_json();
  j["config"]["alpha"] = true;
  CHECK_THROWS_AS(linear_bandit::from_json(j), funnel::parse_error);
  j = b.to_json();
  j["arms"][0]["theta"] = {1.0, "x", 0.0};
  CHECK_THROWS_AS(linear_bandit::from_json(j), funnel::parse_error);
}
