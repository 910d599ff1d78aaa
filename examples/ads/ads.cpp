#include "ads.hpp"

#include <funnel/bandits/mab.hpp>
#include <funnel/core/error.hpp>
#include <funnel/core/random.hpp>
#include <funnel/core/timer.hpp>
#include <funnel/experiments/bucketing.hpp>
#include <funnel/experiments/sequential.hpp>
#include <funnel/experiments/statistics.hpp>
#include <funnel/features/murmur.hpp>
#include <funnel/metrics/calibration.hpp>
#include <funnel/metrics/classification.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <numeric>

namespace ads {

namespace {

double sigmoid(double x) {
  return 1.0 / (1.0 + std::exp(-x));
}

double percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0.0;
  std::sort(v.begin(), v.end());
  const auto i = static_cast<std::size_t>(std::ceil(q * static_cast<double>(v.size()))) - 1;
  return v[std::min(i, v.size() - 1)];
}

std::uint32_t below(funnel::rng& g, std::size_t n) {
  return static_cast<std::uint32_t>(g.below(static_cast<std::uint64_t>(n)));
}

/// Poisson draw by Knuth's product of uniforms (means here are a few dozen at most).
std::size_t poisson(funnel::rng& g, double mean) {
  const double limit = std::exp(-mean);
  std::size_t k = 0;
  double p = g.uniform();
  while (p > limit) {
    ++k;
    p *= g.uniform();
  }
  return k;
}

/// Appends the decimal digits of v to a hash.
void hash_number(funnel::features::murmur3_32& h, std::uint32_t v) {
  std::array<char, 16> buf{};
  const auto res = std::to_chars(buf.data(), buf.data() + buf.size(), v);
  h.update(std::string_view(buf.data(), static_cast<std::size_t>(res.ptr - buf.data())));
}

void require(bool ok, std::string_view what) {
  if (!ok) funnel::raise<funnel::invalid_argument>("app.ads", "{}", what);
}

}  // namespace

// ---- market ------------------------------------------------------------------------------------

market::market(const market_options& opt) : opt_(opt) {
  require(opt.users > 0 && opt.segments > 0 && opt.sites > 0 && opt.site_categories > 0 &&
              opt.devices > 0 && opt.ads > 0 && opt.advertisers > 0 && opt.candidates > 0,
          "market sizes must be positive");
  require(opt.base_ctr > 0.0 && opt.base_ctr < 1.0, "base_ctr must be in (0, 1)");
  funnel::rng g(opt.seed);
  const auto normals = [&](std::size_t n, double sd) {
    std::vector<double> v(n);
    for (auto& x : v) x = g.normal(0.0, sd);
    return v;
  };
  user_segment_.resize(opt.users);
  user_device_.resize(opt.users);
  for (std::size_t u = 0; u < opt.users; ++u) {
    user_segment_[u] = below(g, opt.segments);
    user_device_[u] = below(g, opt.devices);
  }
  user_effect_ = normals(opt.users, 0.5);
  site_effect_ = normals(opt.sites, 0.4);
  ad_effect_ = normals(opt.ads, 0.4);
  device_effect_ = normals(opt.devices, 0.2);
  hour_effect_.resize(24);
  for (std::size_t h = 0; h < 24; ++h) {
    hour_effect_[h] = 0.15 * std::sin(2.0 * 3.141592653589793 * static_cast<double>(h) / 24.0);
  }
  segment_x_category_ = normals(opt.segments * opt.site_categories, 0.8);
  device_x_category_ = normals(opt.devices * opt.site_categories, 0.4);
  site_category_.resize(opt.sites);
  for (std::size_t s = 0; s < opt.sites; ++s) {
    site_category_[s] = static_cast<std::uint32_t>(s % opt.site_categories);
  }
  // Site traffic is Zipf-like: a few big publishers, a long tail.
  site_cdf_.resize(opt.sites);
  double acc = 0.0;
  for (std::size_t s = 0; s < opt.sites; ++s) {
    acc += 1.0 / std::pow(static_cast<double>(s + 1), 0.8);
    site_cdf_[s] = acc;
  }
  for (auto& c : site_cdf_) c /= acc;
  ads_by_category_.resize(opt.site_categories);
  for (std::size_t i = 0; i < opt.ads; ++i) {
    ad a;
    a.id = static_cast<std::uint32_t>(i);
    a.advertiser = below(g, opt.advertisers);
    a.category = static_cast<std::uint32_t>(i % opt.site_categories);
    a.bid = 0.5 * std::exp(g.normal(0.0, 0.5));  // per click, median $0.50
    ads_by_category_[a.category].push_back(a.id);
    ads_.push_back(a);
  }
  // Calibrate the intercept so the mean CTR of a random candidate of a random request is
  // base_ctr (bisection on a fixed sample).
  funnel::rng cal(opt.seed ^ 0xca11b0a7ULL);
  std::vector<std::pair<request, std::uint32_t>> sample;
  std::vector<std::uint32_t> cands;
  for (int i = 0; i < 20000; ++i) {
    const auto r = next_request(cal);
    candidates(r, cal, cands);
    sample.emplace_back(r, cands[below(cal, cands.size())]);
  }
  double lo = -10.0;
  double hi = 5.0;
  for (int it = 0; it < 60; ++it) {
    intercept_ = 0.5 * (lo + hi);
    double mean = 0.0;
    for (const auto& [r, a] : sample) mean += true_ctr(r, ads_[a]);
    mean /= static_cast<double>(sample.size());
    (mean < opt.base_ctr ? lo : hi) = intercept_;
  }
}

request market::request_of(std::uint32_t user, funnel::rng& g) const {
  request r;
  r.user = user;
  r.segment = user_segment_[user];
  r.device = user_device_[user];
  const double u = g.uniform();
  r.site = static_cast<std::uint32_t>(std::min<std::size_t>(
      static_cast<std::size_t>(std::lower_bound(site_cdf_.begin(), site_cdf_.end(), u) -
                               site_cdf_.begin()),
      opt_.sites - 1));
  r.site_category = site_category_[r.site];
  r.hour = below(g, 24);
  return r;
}

request market::next_request(funnel::rng& g) const {
  return request_of(below(g, opt_.users), g);
}

void market::candidates(const request& r, funnel::rng& g, std::vector<std::uint32_t>& out) const {
  // Targeting: ads of the site's category and of the next two categories (broad match), so the
  // candidates of one request differ in category and the user's interests matter to the ranking.
  out.clear();
  for (std::size_t j = 0; j < std::min<std::size_t>(3, opt_.site_categories); ++j) {
    const auto& same = ads_by_category_[(r.site_category + j) % opt_.site_categories];
    out.insert(out.end(), same.begin(), same.end());
  }
  if (out.empty()) out.push_back(below(g, ads_.size()));
  // Partial Fisher-Yates: a random subset of at most `candidates` targeting ads.
  const std::size_t n = std::min(opt_.candidates, out.size());
  for (std::size_t i = 0; i < n; ++i) {
    std::swap(out[i], out[i + below(g, out.size() - i)]);
  }
  out.resize(n);
}

double market::true_ctr(const request& r, const ad& a) const noexcept {
  const std::size_t c = a.category;
  const double logit = intercept_ + user_effect_[r.user] + site_effect_[r.site] + ad_effect_[a.id] +
                       device_effect_[r.device] + hour_effect_[r.hour] +
                       segment_x_category_[r.segment * opt_.site_categories + c] +
                       device_x_category_[r.device * opt_.site_categories + c];
  return sigmoid(logit);
}

// ---- features and model -----------------------------------------------------------------------

feature_encoder::feature_encoder(unsigned bits, bool crosses) : bits_(bits), crosses_(crosses) {
  if (bits < 4 || bits > 30) {
    funnel::raise<funnel::invalid_argument>("app.feature_encoder", "bits {} must be in [4, 30]",
                                            bits);
  }
}

void feature_encoder::encode(const request& r, const ad& a, std::vector<std::uint32_t>& out) const {
  out.clear();
  const std::uint32_t mask = (std::uint32_t{1} << bits_) - 1U;
  using field = std::pair<std::string_view, std::uint32_t>;
  const std::array<field, 8> fields = {field{"site", r.site},
                                       field{"sitecat", r.site_category},
                                       field{"device", r.device},
                                       field{"hour", r.hour},
                                       field{"segment", r.segment},
                                       field{"ad", a.id},
                                       field{"advertiser", a.advertiser},
                                       field{"adcat", a.category}};
  const auto token = [&](std::initializer_list<std::size_t> which) {
    funnel::features::murmur3_32 h(0);
    bool first = true;
    for (const auto i : which) {
      if (!first) h.update("^");
      first = false;
      h.update(fields[i].first);
      h.update("=");
      hash_number(h, fields[i].second);
    }
    out.push_back(h.finish() & mask);
  };
  for (std::size_t i = 0; i < fields.size(); ++i) token({i});
  if (crosses_) {
    token({4, 7});  // segment x ad category: interest match
    token({2, 7});  // device x ad category
    token({0, 5});  // site x ad: placement fit
    token({3, 7});  // hour x ad category
  }
  // Sparse rows want distinct, sorted indices: colliding tokens share one slot.
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
}

double ctr_model::predict(const request& r, const ad& a, std::vector<std::uint32_t>& scratch,
                          std::vector<float>& ones) const {
  encoder.encode(r, a, scratch);
  ones.assign(scratch.size(), 1.0F);
  return learner.predict(funnel::sparse_row_view{scratch, ones});
}

double ctr_model::learn(const request& r, const ad& a, int clicked,
                        std::vector<std::uint32_t>& scratch, std::vector<float>& ones) {
  encoder.encode(r, a, scratch);
  ones.assign(scratch.size(), 1.0F);
  return learner.update(funnel::sparse_row_view{scratch, ones}, clicked);
}

ctr_model make_ctr_model(unsigned bits, bool crosses, const funnel::scoring::ftrl_options& ftrl) {
  feature_encoder enc(bits, crosses);
  auto o = ftrl;
  o.num_features = enc.width();
  return {enc, funnel::scoring::ftrl_logistic(o)};
}

// ---- auction ----------------------------------------------------------------------------------

auction_outcome run_auction(std::span<const bidder> bidders, double reserve) {
  if (!(reserve >= 0.0) || !std::isfinite(reserve)) {
    funnel::raise<funnel::invalid_argument>("app.auction", "reserve {} must be >= 0", reserve);
  }
  auction_outcome out;
  double best = -1.0;
  double second = -1.0;
  for (std::size_t i = 0; i < bidders.size(); ++i) {
    const auto& b = bidders[i];
    if (!(b.bid >= 0.0) || !std::isfinite(b.bid) || !(b.pctr > 0.0 && b.pctr <= 1.0)) {
      funnel::raise<funnel::invalid_argument>("app.auction", "bidder {} (ad {}): bid {}, pCTR {}",
                                              i, b.ad, b.bid, b.pctr);
    }
    if (b.bid < reserve) continue;
    const double ev = b.bid * b.pctr;
    if (ev > best) {
      second = best;
      best = ev;
      out.winner = i;
      out.served = true;
    } else if (ev > second) {
      second = ev;
    }
  }
  if (!out.served) return out;
  const auto& w = bidders[out.winner];
  out.ecpm = best;
  // The least price per click whose expected value still beats the runner-up.
  const double gsp = second > 0.0 ? second / w.pctr : 0.0;
  out.price = std::min(w.bid, std::max(reserve, gsp));
  return out;
}

// ---- part 1: online CTR model and auction ------------------------------------------------------

namespace {

window_metrics measure(const std::vector<float>& y, const std::vector<float>& p,
                       const std::vector<float>& p_const, const std::vector<float>& p_plain,
                       const std::vector<float>& p_true) {
  namespace fm = funnel::metrics;
  window_metrics w;
  w.impressions = y.size();
  if (y.empty()) return w;
  w.ctr = std::accumulate(y.begin(), y.end(), 0.0) / static_cast<double>(y.size());
  w.mean_pctr = std::accumulate(p.begin(), p.end(), 0.0) / static_cast<double>(p.size());
  const bool both = w.ctr > 0.0 && w.ctr < 1.0;
  if (both) {
    w.log_loss = fm::log_loss(y, p);
    w.log_loss_constant = fm::log_loss(y, p_const);
    w.auc = fm::roc_auc(y, p);
    w.auc_no_crosses = fm::roc_auc(y, p_plain);
    w.auc_oracle = fm::roc_auc(y, p_true);
  }
  w.ece = fm::expected_calibration_error(y, p, 10, fm::bin_strategy::quantile);
  return w;
}

}  // namespace

online_report run_online(const market& m, const online_options& opt, ctr_model& with_crosses,
                         ctr_model& without_crosses) {
  require(opt.requests > 0 && opt.windows > 0, "online: requests and windows must be positive");
  funnel::rng g(opt.seed);
  online_report rep;
  rep.requests = opt.requests;
  std::vector<std::uint32_t> cands, scratch;
  std::vector<float> ones;
  std::vector<bidder> bidders;
  std::vector<float> y;  // labels and predicted CTRs as funnel's metrics take them
  std::vector<float> p, p_const, p_plain, p_true;
  std::vector<double> auction_us;
  std::vector<float> all_y;
  std::vector<float> all_p, all_const, all_plain, all_true;
  double clicks_so_far = 1.0;  // constant model: CTR so far with one pseudo-click in 10
  double shown_so_far = 10.0;
  double sum_price = 0.0, sum_bid = 0.0;
  const std::size_t per_window = (opt.requests + opt.windows - 1) / opt.windows;
  const auto& all_ads = m.all_ads();
  for (std::size_t t = 0; t < opt.requests; ++t) {
    const auto r = m.next_request(g);
    const funnel::stopwatch sw;
    m.candidates(r, g, cands);
    bidders.clear();
    for (const auto a : cands) {
      bidders.push_back({a, all_ads[a].bid, with_crosses.predict(r, all_ads[a], scratch, ones)});
    }
    const auto won = run_auction(bidders, opt.reserve);
    auction_us.push_back(sw.elapsed_us());
    if (won.served) {
      const auto& w = bidders[won.winner];
      const auto& a = all_ads[w.ad];
      ++rep.served;
      sum_price += won.price;
      sum_bid += a.bid;
      if (won.price > a.bid + 1e-12 || won.price < opt.reserve - 1e-12) {
        rep.prices_within_bounds = false;
        ++rep.price_violations;
      }
      const double truth = m.true_ctr(r, a);
      const int clicked = g.bernoulli(truth) ? 1 : 0;
      rep.clicks += static_cast<std::size_t>(clicked);
      if (clicked != 0) rep.revenue += won.price;
      y.push_back(static_cast<float>(clicked));
      p.push_back(static_cast<float>(with_crosses.learn(r, a, clicked, scratch, ones)));
      p_plain.push_back(static_cast<float>(without_crosses.learn(r, a, clicked, scratch, ones)));
      p_const.push_back(static_cast<float>(clicks_so_far / shown_so_far));
      p_true.push_back(static_cast<float>(truth));
      clicks_so_far += clicked;
      shown_so_far += 1.0;
    }
    if ((t + 1) % per_window == 0 || t + 1 == opt.requests) {
      if (t + 1 == opt.requests && !y.empty()) {
        const auto bins =
            funnel::metrics::calibration_curve(y, p, 10, funnel::metrics::bin_strategy::quantile);
        for (std::size_t b = 0; b < bins.prob_pred.size(); ++b) {
          rep.calibration.emplace_back(bins.prob_pred[b], bins.prob_true[b]);
        }
      }
      rep.windows.push_back(measure(y, p, p_const, p_plain, p_true));
      all_y.insert(all_y.end(), y.begin(), y.end());
      all_p.insert(all_p.end(), p.begin(), p.end());
      all_const.insert(all_const.end(), p_const.begin(), p_const.end());
      all_plain.insert(all_plain.end(), p_plain.begin(), p_plain.end());
      all_true.insert(all_true.end(), p_true.begin(), p_true.end());
      y.clear();
      p.clear();
      p_const.clear();
      p_plain.clear();
      p_true.clear();
    }
  }
  rep.overall = measure(all_y, all_p, all_const, all_plain, all_true);
  rep.mean_price = rep.served > 0 ? sum_price / static_cast<double>(rep.served) : 0.0;
  rep.mean_bid = rep.served > 0 ? sum_bid / static_cast<double>(rep.served) : 0.0;
  rep.auction_us_p50 = percentile(auction_us, 0.5);
  rep.auction_us_p99 = percentile(auction_us, 0.99);
  for (std::size_t i = 0; i < with_crosses.encoder.width(); ++i) {
    rep.nonzero_weights += with_crosses.learner.weight(i) != 0.0 ? 1 : 0;
  }
  return rep;
}

// ---- part 2: creatives with bandits -----------------------------------------------------------

bandit_report run_bandits(const bandit_options& opt) {
  require(opt.relative_ctr.size() >= 2, "bandits: need at least 2 creatives");
  require(opt.horizon > 0 && opt.runs > 0, "bandits: horizon and runs must be positive");
  bandit_report rep;
  for (const double rel : opt.relative_ctr) {
    const double c = rel * opt.base_ctr;
    require(c > 0.0 && c < 1.0, "bandits: every creative CTR must be in (0, 1)");
    rep.ctrs.push_back(c);
  }
  const double best = *std::max_element(rep.ctrs.begin(), rep.ctrs.end());
  const auto best_arm = static_cast<std::size_t>(
      std::max_element(rep.ctrs.begin(), rep.ctrs.end()) - rep.ctrs.begin());
  rep.oracle_clicks = best * static_cast<double>(opt.horizon);
  namespace fb = funnel::bandits;
  const std::array<std::pair<std::string, fb::policy_kind>, 3> kinds = {
      std::pair{std::string("Thompson sampling (Beta(1,1))"), fb::policy_kind::thompson_bernoulli},
      std::pair{fmt::format("UCB1 (c = {})", opt.ucb_c), fb::policy_kind::ucb1},
      std::pair{fmt::format("epsilon-greedy (eps = {})", opt.epsilon),
                fb::policy_kind::epsilon_greedy}};
  for (const auto& [name, kind] : kinds) {
    std::vector<double> regrets;
    double clicks = 0.0, best_share = 0.0;
    for (std::size_t run = 0; run < opt.runs; ++run) {
      fb::mab_options cfg;
      cfg.kind = kind;
      cfg.seed = opt.seed * 1000003ULL + run;
      cfg.epsilon = opt.epsilon;
      cfg.ucb_c = opt.ucb_c;
      fb::mab policy(cfg);
      for (std::size_t a = 0; a < rep.ctrs.size(); ++a) policy.add_arm(a);
      // The market's clicks use their own generator, the same for every policy in a run, so the
      // policies face the same click draws per (impression, creative).
      funnel::rng world(opt.seed * 7919ULL + run);
      double regret = 0.0;
      std::size_t on_best = 0;
      for (std::size_t t = 0; t < opt.horizon; ++t) {
        const double u = world.uniform();
        const auto d = policy.select();
        const auto arm = static_cast<std::size_t>(d.arm);
        const bool click = u < rep.ctrs[arm];
        regret += best - rep.ctrs[arm];
        on_best += arm == best_arm ? 1 : 0;
        clicks += click ? 1.0 : 0.0;
        policy.update(d.arm, click ? 1.0 : 0.0);
      }
      regrets.push_back(regret);
      best_share += static_cast<double>(on_best) / static_cast<double>(opt.horizon);
    }
    const double n = static_cast<double>(opt.runs);
    policy_result pr;
    pr.name = name;
    pr.regret = std::accumulate(regrets.begin(), regrets.end(), 0.0) / n;
    double ss = 0.0;
    for (const double x : regrets) ss += (x - pr.regret) * (x - pr.regret);
    pr.regret_sd = opt.runs > 1 ? std::sqrt(ss / (n - 1.0)) : 0.0;
    pr.clicks = clicks / n;
    pr.best_share = best_share / n;
    rep.policies.push_back(pr);
  }
  return rep;
}

// ---- part 3: A/B test of two ranking models ----------------------------------------------------

ab_report run_ab_test(const market& m, const ctr_model& control, const ctr_model& treatment,
                      const ab_options& opt) {
  namespace fe = funnel::experiments;
  require(opt.users >= 100, "ab: need at least 100 users");
  require(opt.users <= m.options().users, "ab: more users than the market has");
  const fe::bucketer bucket(opt.salt, 2);
  funnel::rng g(opt.seed);
  std::vector<std::uint32_t> cands, scratch;
  std::vector<float> ones;
  std::vector<bidder> bidders;
  const auto& all_ads = m.all_ads();
  // One period of a user's traffic served by `model`: (clicks, revenue).
  const auto serve = [&](std::uint32_t user, std::size_t n_requests, const ctr_model& model) {
    double clicks = 0.0, revenue = 0.0;
    for (std::size_t i = 0; i < n_requests; ++i) {
      const auto r = m.request_of(user, g);
      m.candidates(r, g, cands);
      bidders.clear();
      for (const auto a : cands) {
        bidders.push_back({a, all_ads[a].bid, model.predict(r, all_ads[a], scratch, ones)});
      }
      const auto won = run_auction(bidders, opt.reserve);
      if (!won.served) continue;
      if (g.bernoulli(m.true_ctr(r, all_ads[bidders[won.winner].ad]))) {
        clicks += 1.0;
        revenue += won.price;
      }
    }
    return std::pair{clicks, revenue};
  };

  std::vector<double> y_a, x_a, y_b, x_b, rev_a, rev_b;
  std::vector<int> variant_of;  // in arrival order
  std::vector<double> y_order;
  // Gamma(2) activity: heavy users and light users, the variance CUPED removes.
  for (std::size_t u = 0; u < opt.users; ++u) {
    const auto user = static_cast<std::uint32_t>(u);
    const auto v = bucket.assign(fmt::format("user-{}", user));
    const double activity = opt.requests_per_user * g.gamma(2.0) / 2.0;
    // Pre-period: everyone saw the production (control) model.
    const auto pre = serve(user, poisson(g, activity), control);
    const bool is_b = v.has_value() && *v == 1;
    const auto during = serve(user, poisson(g, activity), is_b ? treatment : control);
    (is_b ? y_b : y_a).push_back(during.first);
    (is_b ? x_b : x_a).push_back(pre.first);
    (is_b ? rev_b : rev_a).push_back(during.second);
    variant_of.push_back(is_b ? 1 : 0);
    y_order.push_back(during.first);
  }
  ab_report rep;
  rep.users_a = y_a.size();
  rep.users_b = y_b.size();
  const std::array<double, 2> weights = {0.5, 0.5};
  {
    const std::array<double, 2> counts = {static_cast<double>(rep.users_a),
                                          static_cast<double>(rep.users_b)};
    const auto srm = fe::srm_check(counts, weights);
    rep.srm_p_fair = srm.test.p_value;
    rep.srm_flag_fair = srm.mismatch;
    // A logging bug that loses a share of treatment users (e.g. a client crash in B).
    std::size_t kept_b = 0;
    funnel::rng drop(opt.seed ^ 0xd70bULL);
    for (std::size_t i = 0; i < rep.users_b; ++i) kept_b += drop.uniform() >= opt.srm_drop ? 1 : 0;
    rep.injected_b = kept_b;
    const std::array<double, 2> injected = {static_cast<double>(rep.users_a),
                                            static_cast<double>(kept_b)};
    const auto bad = fe::srm_check(injected, weights);
    rep.srm_p_injected = bad.test.p_value;
    rep.srm_flag_injected = bad.mismatch;
  }
  const auto sa = fe::summarize(y_a);
  const auto sb = fe::summarize(y_b);
  rep.mean_a = sa.mean;
  rep.mean_b = sb.mean;
  rep.revenue_a = fe::summarize(rev_a).mean;
  rep.revenue_b = fe::summarize(rev_b).mean;
  rep.welch_p = fe::welch_ttest(sa, sb).p_value;
  const auto abs_lift = fe::absolute_lift(sa, sb);
  rep.lift = abs_lift.estimate;
  rep.lift_lower = abs_lift.lower;
  rep.lift_upper = abs_lift.upper;
  const auto rel = fe::relative_lift(sa, sb);
  rep.rel_lift = rel.estimate;
  rep.rel_lower = rel.lower;
  rep.rel_upper = rel.upper;
  const auto cu = fe::cuped(y_a, x_a, y_b, x_b);
  rep.cuped_theta = cu.theta;
  rep.cuped_variance_ratio = cu.variance_ratio;
  rep.cuped_p = cu.test.p_value;
  const auto cu_lift = fe::absolute_lift(cu.a, cu.b);
  rep.cuped_lower = cu_lift.lower;
  rep.cuped_upper = cu_lift.upper;
  {
    std::vector<double> x(x_a), yy(y_a);
    x.insert(x.end(), x_b.begin(), x_b.end());
    yy.insert(yy.end(), y_b.begin(), y_b.end());
    const double mx = std::accumulate(x.begin(), x.end(), 0.0) / static_cast<double>(x.size());
    const double my = std::accumulate(yy.begin(), yy.end(), 0.0) / static_cast<double>(yy.size());
    double sxy = 0.0, sxx = 0.0, syy = 0.0;
    for (std::size_t i = 0; i < x.size(); ++i) {
      sxy += (x[i] - mx) * (yy[i] - my);
      sxx += (x[i] - mx) * (x[i] - mx);
      syy += (yy[i] - my) * (yy[i] - my);
    }
    rep.covariate_corr = sxx > 0 && syy > 0 ? sxy / std::sqrt(sxx * syy) : 0.0;
  }
  // Sequential: the mixing variance is set before the experiment from the pre-period (the
  // effect we care about is ~5% of clicks per user), then the test is peeked at every
  // look_every users without inflating its error rate.
  const double pre_mean = (std::accumulate(x_a.begin(), x_a.end(), 0.0) +
                           std::accumulate(x_b.begin(), x_b.end(), 0.0)) /
                          static_cast<double>(x_a.size() + x_b.size());
  rep.msprt_tau2 = std::max(1e-6, (0.05 * pre_mean) * (0.05 * pre_mean));
  fe::msprt seq(rep.msprt_tau2, {.alpha = 0.05});
  for (std::size_t i = 0; i < y_order.size(); ++i) {
    if (variant_of[i] == 1) {
      seq.add_b(y_order[i]);
    } else {
      seq.add_a(y_order[i]);
    }
    if ((i + 1) % opt.look_every == 0 || i + 1 == y_order.size()) {
      seq.look();
      if (seq.rejected() && rep.msprt_stop_users == 0) rep.msprt_stop_users = i + 1;
    }
  }
  rep.msprt_p = seq.p_value();
  rep.msprt_lower = seq.lower();
  rep.msprt_upper = seq.upper();
  return rep;
}

// ---- the whole run ----------------------------------------------------------------------------

report run(const options& opt) {
  const funnel::stopwatch total;
  const auto say = [&](const std::string& line) {
    if (opt.progress) opt.progress(line);
  };
  report r;
  const market m(opt.market);
  auto served_model = make_ctr_model(opt.online.bits, true, opt.online.ftrl);
  auto plain_model = make_ctr_model(opt.online.bits, false, opt.online.ftrl);
  say(fmt::format("part 1: {} ad requests, online FTRL CTR model, GSP auctions",
                  opt.online.requests));
  r.online = run_online(m, opt.online, served_model, plain_model);
  say(fmt::format("part 2: {} creatives, {} impressions x {} runs per policy",
                  opt.bandits.relative_ctr.size(), opt.bandits.horizon, opt.bandits.runs));
  r.bandits = run_bandits(opt.bandits);
  say(fmt::format("part 3: A/B test over {} users (control: no crosses, treatment: crosses)",
                  opt.ab.users));
  r.ab = run_ab_test(m, plain_model, served_model, opt.ab);
  r.seconds = total.elapsed_s();
  return r;
}

std::string format_report(const report& r, const options& opt) {
  std::string s;
  const auto& o = r.online;
  s += fmt::format(
      "Simulated ad market calibrated to Avazu's click rate ({:.2f}%): {} users, {} sites, {} ads "
      "from {} advertisers, <= {} candidates per request\n\n",
      100.0 * opt.market.base_ctr, opt.market.users, opt.market.sites, opt.market.ads,
      opt.market.advertisers, opt.market.candidates);
  s += "1. Online CTR model (FTRL-proximal, hashed features + crosses, 2^" +
       std::to_string(opt.online.bits) + " slots) -> GSP auction\n";
  s += fmt::format(
      "   {} requests, {} served ({:.1f}%), {} clicks (CTR {:.2f}%), revenue {:.0f}, mean price "
      "{:.3f} vs mean bid {:.3f} (reserve {:.2f})\n",
      o.requests, o.served, 100.0 * static_cast<double>(o.served) / static_cast<double>(o.requests),
      o.clicks, 100.0 * o.overall.ctr, o.revenue, o.mean_price, o.mean_bid, opt.online.reserve);
  s += fmt::format("   GSP prices within [reserve, bid] for every served ad: {} ({} violations)\n",
                   o.prices_within_bounds ? "yes" : "NO", o.price_violations);
  s += fmt::format(
      "   candidates -> scored -> auction, per request: p50 {:.1f} us, p99 {:.1f} us; "
      "{} non-zero weights\n",
      o.auction_us_p50, o.auction_us_p99, o.nonzero_weights);
  s += "   progressive validation (predict, then learn) per window of requests:\n";
  s += fmt::format("   {:>6} {:>8} {:>8} {:>9} {:>9} {:>12} {:>7} {:>10} {:>7} {:>7}\n", "window",
                   "shown", "CTR", "mean pCTR", "log loss", "const loss", "AUC", "no-cross",
                   "oracle", "ECE");
  const auto row = [&](const std::string& name, const window_metrics& w) {
    s += fmt::format(
        "   {:>6} {:>8} {:>7.2f}% {:>8.2f}% {:>9.4f} {:>12.4f} {:>7.4f} {:>10.4f} "
        "{:>7.4f} {:>7.4f}\n",
        name, w.impressions, 100.0 * w.ctr, 100.0 * w.mean_pctr, w.log_loss, w.log_loss_constant,
        w.auc, w.auc_no_crosses, w.auc_oracle, w.ece);
  };
  for (std::size_t i = 0; i < o.windows.size(); ++i) row(std::to_string(i + 1), o.windows[i]);
  row("all", o.overall);
  s += "   calibration of the last window (mean pCTR -> observed CTR):";
  for (const auto& [pp, pt] : o.calibration) s += fmt::format(" {:.3f}->{:.3f}", pp, pt);
  s += "\n\n";

  const auto& b = r.bandits;
  s += fmt::format("2. Creatives: {} impressions per run, {} seeded runs per policy, CTRs",
                   opt.bandits.horizon, opt.bandits.runs);
  for (const double c : b.ctrs) s += fmt::format(" {:.2f}%", 100.0 * c);
  s += fmt::format(" (expected clicks always showing the best: {:.0f})\n", b.oracle_clicks);
  s += fmt::format("   {:<32} {:>10} {:>8} {:>10} {:>12}\n", "policy", "regret", "sd", "clicks",
                   "best share");
  for (const auto& p : b.policies) {
    s += fmt::format("   {:<32} {:>10.1f} {:>8.1f} {:>10.1f} {:>11.1f}%\n", p.name, p.regret,
                     p.regret_sd, p.clicks, 100.0 * p.best_share);
  }
  s += "\n";

  const auto& a = r.ab;
  s += fmt::format(
      "3. A/B test of two ranking models: A = pCTR without crosses, B = with crosses "
      "(bucketing salt '{}')\n",
      opt.ab.salt);
  s += fmt::format("   users A {} / B {}; SRM chi-square p = {:.3f} -> {}\n", a.users_a, a.users_b,
                   a.srm_p_fair, a.srm_flag_fair ? "MISMATCH" : "ok");
  s += fmt::format(
      "   injected logging loss of {:.1f}% of B: A {} / B {} ({:.1f}/{:.1f}); SRM p = "
      "{:.2e} -> {}\n",
      100.0 * opt.ab.srm_drop, a.users_a, a.injected_b,
      100.0 * static_cast<double>(a.users_a) / static_cast<double>(a.users_a + a.injected_b),
      100.0 * static_cast<double>(a.injected_b) / static_cast<double>(a.users_a + a.injected_b),
      a.srm_p_injected, a.srm_flag_injected ? "MISMATCH (experiment invalid)" : "ok");
  s += fmt::format("   clicks per user: A {:.4f}, B {:.4f}; revenue per user: A {:.4f}, B {:.4f}\n",
                   a.mean_a, a.mean_b, a.revenue_a, a.revenue_b);
  s += fmt::format(
      "   Welch t-test: lift {:+.4f} [{:+.4f}, {:+.4f}] clicks/user ({:+.2f}% [{:+.2f}%, "
      "{:+.2f}%]), p = {:.2e}\n",
      a.lift, a.lift_lower, a.lift_upper, 100.0 * a.rel_lift, 100.0 * a.rel_lower,
      100.0 * a.rel_upper, a.welch_p);
  s += fmt::format(
      "   CUPED (pre-period clicks, corr {:.3f}): theta {:.3f}, variance x {:.3f}, "
      "lift CI [{:+.4f}, {:+.4f}], p = {:.2e}\n",
      a.covariate_corr, a.cuped_theta, a.cuped_variance_ratio, a.cuped_lower, a.cuped_upper,
      a.cuped_p);
  s += fmt::format(
      "   mSPRT (tau^2 {:.2e}, a look every {} users): {}; always-valid p = {:.2e}, "
      "95% CI [{:+.4f}, {:+.4f}]\n",
      a.msprt_tau2, opt.ab.look_every,
      a.msprt_stop_users > 0 ? fmt::format("significant after {} users", a.msprt_stop_users)
                             : std::string("not significant"),
      a.msprt_p, a.msprt_lower, a.msprt_upper);
  s += fmt::format("\ntotal {:.1f} s\n", r.seconds);
  return s;
}

}  // namespace ads
