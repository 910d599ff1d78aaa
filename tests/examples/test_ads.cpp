// Smoke test of the ads example on a small simulated market: the online CTR model must learn
// (AUC above chance, log loss below a constant model), GSP prices must stay within [reserve, bid],
// Thompson sampling must waste fewer clicks than epsilon-greedy, and the A/B analysis must flag an
// injected sample-ratio mismatch, pass a fair split, and reduce variance with CUPED.
#include <funnel/core/error.hpp>

#include <algorithm>
#include <array>
#include <cmath>

#include "ads.hpp"
#include "funnel_catch.hpp"

namespace {

const ads::options& small_options() {
  static const ads::options opt = [] {
    ads::options o;
    o.market.users = 12000;
    o.online.requests = 40000;
    o.online.windows = 4;
    o.online.bits = 18;
    o.bandits.horizon = 30000;
    o.bandits.runs = 4;
    o.ab.users = 12000;  // enough units for a 52/48 split to be detectable at p < 0.001
    return o;
  }();
  return opt;
}

const ads::report& small_run() {
  static const ads::report r = ads::run(small_options());
  return r;
}

}  // namespace

TEST_CASE("ads: the online CTR model ranks clicks above chance and beats a constant") {
  const auto& r = small_run();
  INFO(ads::format_report(r, small_options()));
  const auto& o = r.online;
  REQUIRE(o.windows.size() == 4);
  CHECK(o.overall.auc > 0.6);
  CHECK(o.overall.log_loss < o.overall.log_loss_constant);
  // It keeps learning: the last window ranks better than the first, never better than the oracle.
  CHECK(o.windows.back().auc > o.windows.front().auc);
  CHECK(o.windows.back().auc <= o.windows.back().auc_oracle + 0.01);
  // Calibrated to within a few points of CTR on the last window.
  CHECK(o.overall.auc > o.overall.auc_no_crosses);
  CHECK(o.windows.back().ece < 0.05);
  CHECK(std::abs(o.windows.back().mean_pctr - o.windows.back().ctr) < 0.02);
}

TEST_CASE("ads: every served ad pays a GSP price within [reserve, bid]") {
  const auto& r = small_run();
  const auto& o = r.online;
  CHECK(o.served > o.requests / 2);
  CHECK(o.prices_within_bounds);
  CHECK(o.price_violations == 0);
  CHECK(o.mean_price <= o.mean_bid);
  CHECK(o.mean_price >= small_options().online.reserve);
}

TEST_CASE("ads: run_auction ranks by bid x pCTR and charges the generalised second price") {
  // Expected values: 0.10, 0.08, 0.15 -> the third wins and pays 0.10 / 0.30 per click.
  const std::array<ads::bidder, 3> b = {ads::bidder{1, 1.0, 0.10}, ads::bidder{2, 2.0, 0.04},
                                        ads::bidder{3, 0.5, 0.30}};
  const auto out = ads::run_auction(b, 0.05);
  REQUIRE(out.served);
  CHECK(out.winner == 2);
  CHECK_THAT(out.price, WithinRel(0.10 / 0.30, 1e-12));
  // A reserve above the third bid excludes it: the first wins, paying 0.08 / 0.10.
  const auto reserved = ads::run_auction(b, 0.6);
  REQUIRE(reserved.served);
  CHECK(reserved.winner == 0);
  CHECK_THAT(reserved.price, WithinRel(0.8, 1e-12));
  // A lone eligible bidder pays the reserve; nobody eligible, nothing served.
  const auto lone = ads::run_auction(b, 1.5);
  REQUIRE(lone.served);
  CHECK(lone.winner == 1);
  CHECK_THAT(lone.price, WithinRel(1.5, 1e-12));
  CHECK_FALSE(ads::run_auction(b, 3.0).served);
  const std::array<ads::bidder, 1> bad = {ads::bidder{1, 1.0, 0.0}};
  CHECK_THROWS_AS(ads::run_auction(bad, 0.0), funnel::invalid_argument);
}

TEST_CASE("ads: Thompson sampling has less regret than epsilon-greedy on the seeded market") {
  const auto& r = small_run();
  INFO(ads::format_report(r, small_options()));
  const auto& p = r.bandits.policies;
  REQUIRE(p.size() == 3);
  CHECK(p[0].name.rfind("Thompson", 0) == 0);
  CHECK(p[2].name.rfind("epsilon", 0) == 0);
  CHECK(p[0].regret < p[2].regret);
  CHECK(p[0].best_share > p[2].best_share);
  // Every policy beats showing creatives uniformly at random (regret = mean gap x horizon).
  double mean_gap = 0.0;
  const double best = *std::max_element(r.bandits.ctrs.begin(), r.bandits.ctrs.end());
  for (const double c : r.bandits.ctrs)
    mean_gap += (best - c) / static_cast<double>(r.bandits.ctrs.size());
  for (const auto& x : p)
    CHECK(x.regret < mean_gap * static_cast<double>(small_options().bandits.horizon));
}

TEST_CASE("ads: the A/B analysis flags an injected 52/48 split and passes the fair one") {
  const auto& r = small_run();
  INFO(ads::format_report(r, small_options()));
  const auto& a = r.ab;
  CHECK(a.users_a + a.users_b == small_options().ab.users);
  CHECK_FALSE(a.srm_flag_fair);
  CHECK(a.srm_flag_injected);
  CHECK(a.srm_p_injected < 0.001);
}

TEST_CASE("ads: CUPED with pre-period clicks shrinks the variance of the A/B metric") {
  const auto& r = small_run();
  INFO(ads::format_report(r, small_options()));
  const auto& a = r.ab;
  CHECK(a.covariate_corr > 0.3);
  CHECK(a.cuped_variance_ratio < 1.0);
  // The variance shrinks by 1 - corr^2 (up to the pooled-mean details).
  CHECK_THAT(a.cuped_variance_ratio, WithinAbs(1.0 - a.covariate_corr * a.covariate_corr, 0.02));
  CHECK(a.cuped_upper - a.cuped_lower < a.lift_upper - a.lift_lower);
  CHECK(a.msprt_lower <= a.msprt_upper);
}
