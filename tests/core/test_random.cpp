#include <funnel/core/random.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>
#include <vector>

#include "funnel_catch.hpp"

TEST_CASE("rng: the same seed gives the same stream, different seeds differ") {
  funnel::rng a(42);
  funnel::rng b(42);
  funnel::rng c(43);
  bool differs = false;
  for (int i = 0; i < 100; ++i) {
    const auto x = a();
    CHECK(x == b());
    differs |= (x != c());
  }
  CHECK(differs);
}

TEST_CASE("rng: the stream is pinned (portable across platforms)") {
  // Reference values of xoshiro256** seeded through splitmix64(0); a change here breaks every
  // seeded model users have trained.
  funnel::rng r(0);
  const std::uint64_t first = r();
  funnel::rng again(0);
  CHECK(again() == first);
  CHECK(first == 0x99ec5f36cb75f2b4ULL);
}

TEST_CASE("rng: uniform, below, normal, gamma and beta have the right moments") {
  funnel::rng r(7);
  const int n = 200000;
  double su = 0;
  double sn = 0;
  double sn2 = 0;
  double sg = 0;
  double sb = 0;
  double sgs = 0;
  std::vector<int> counts(7, 0);
  for (int i = 0; i < n; ++i) {
    const double u = r.uniform();
    REQUIRE(u >= 0.0);
    REQUIRE(u < 1.0);
    su += u;
    const double z = r.normal();
    sn += z;
    sn2 += z * z;
    sg += r.gamma(3.0);
    sgs += r.gamma(0.5);
    sb += r.beta(2.0, 5.0);
    counts[r.below(7)]++;
  }
  CHECK_THAT(su / n, WithinAbs(0.5, 0.005));
  CHECK_THAT(sn / n, WithinAbs(0.0, 0.01));
  CHECK_THAT(sn2 / n, WithinAbs(1.0, 0.02));
  CHECK_THAT(sg / n, WithinAbs(3.0, 0.03));
  CHECK_THAT(sgs / n, WithinAbs(0.5, 0.01));
  CHECK_THAT(sb / n, WithinAbs(2.0 / 7.0, 0.003));
  for (int c : counts) CHECK_THAT(c / double(n), WithinAbs(1.0 / 7.0, 0.005));
}

TEST_CASE("rng: shuffle is a permutation and deterministic for a seed") {
  std::vector<int> v(100);
  std::iota(v.begin(), v.end(), 0);
  auto w = v;
  funnel::rng a(1);
  funnel::rng b(1);
  a.shuffle(std::span<int>(v));
  b.shuffle(std::span<int>(w));
  CHECK(v == w);
  auto s = v;
  std::sort(s.begin(), s.end());
  for (int i = 0; i < 100; ++i) CHECK(s[i] == i);
  CHECK(v != s);  // a no-op shuffle fails here
  funnel::rng c(2);
  auto x = s;
  c.shuffle(std::span<int>(x));
  CHECK(x != v);  // another seed, another permutation
}

TEST_CASE("rng: shuffle draws every permutation of 4 items about equally often") {
  funnel::rng r(7);
  std::map<std::array<int, 4>, int> seen;
  const int n = 24000;
  for (int t = 0; t < n; ++t) {
    std::array<int, 4> a{0, 1, 2, 3};
    r.shuffle(std::span<int>(a));
    ++seen[a];
  }
  REQUIRE(seen.size() == 24);
  for (const auto& [perm, count] : seen) CHECK_THAT(count, WithinAbs(1000, 150));
}

TEST_CASE("rng: gamma and beta of a hostile shape return NaN at once instead of recursing") {
  funnel::rng r(3);
  CHECK(std::isnan(r.gamma(-1e308)));
  CHECK(std::isnan(r.gamma(0.0)));
  CHECK(std::isnan(r.gamma(std::numeric_limits<double>::quiet_NaN())));
  CHECK(std::isnan(r.gamma(std::numeric_limits<double>::infinity())));
  CHECK(std::isnan(r.beta(-1.0, 2.0)));
  CHECK(std::isfinite(r.gamma(1e300)));
  CHECK(r.gamma(1e-300) >= 0.0);
}

TEST_CASE("rng: state() then set_state() continues the stream bit for bit, spare normal included") {
  funnel::rng a(99);
  (void)a.normal();  // leaves a spare normal pending
  for (int i = 0; i < 5; ++i) (void)a();
  funnel::rng b(1);
  b.set_state(a.state());
  CHECK(b.normal() == a.normal());  // the pending spare
  for (int i = 0; i < 100; ++i) CHECK(b() == a());
}

TEST_CASE("rng: set_state rejects the all-zero state") {
  funnel::rng g;
  funnel::rng::state_type zero;
  CHECK_THROWS_AS(g.set_state(zero), funnel::invalid_argument);
}
