#pragma once
/// @file ads.hpp
/// @brief The ads example's system, on a simulated market whose average click-through rate is
/// calibrated to a real, published one (Avazu's CTR data set: 16.98% clicks over 40,428,967 mobile
/// ad impressions, 10 days of October 2014). The market is simulated: no public data set here
/// has bids, auctions or creatives.
///   1. request -> candidate ads -> pCTR from a logistic model on hashed features and hashed
///      crosses (MurmurHash3 via funnel::features), trained online with funnel::scoring's
///      FTRL-proximal -> auction by expected value bid x pCTR with generalised second-price
///      pricing and a reserve -> served ad; log loss / AUC / calibration over time
///      (funnel::metrics).
///   2. choosing among creatives with funnel::bandits: Thompson sampling vs UCB1 vs epsilon-greedy,
///      regret and clicks.
///   3. an A/B test of two ranking models (with and without feature crosses) with
///      funnel::experiments: deterministic bucketing, SRM check, CUPED, mSPRT.
/// Compiled into the example and into its smoke test.

#include <funnel/core/random.hpp>
#include <funnel/core/views.hpp>
#include <funnel/scoring/logistic_ftrl.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ads {

/// @brief Avazu's click rate (clicks / impressions of its Kaggle training set), the figure the
/// market is calibrated to.
inline constexpr double avazu_ctr = 0.1698;

/// @brief Shape of the simulated market.
struct market_options {
  std::size_t users = 50000;
  std::size_t segments = 12;  ///< user interest segments
  std::size_t sites = 40;
  std::size_t site_categories = 8;
  std::size_t devices = 3;
  std::size_t ads = 60;
  std::size_t advertisers = 15;
  std::size_t candidates = 10;  ///< at most this many ads per request (targeting)
  double base_ctr = avazu_ctr;  ///< mean CTR of a random candidate of a random request
  std::uint64_t seed = 2026;
};

/// @brief One ad: who pays, what it is about, what it bids per click.
struct ad {
  std::uint32_t id = 0;
  std::uint32_t advertiser = 0;
  std::uint32_t category = 0;  ///< the site category it targets
  double bid = 0.0;            ///< per click
};

/// @brief One ad request: who asks, where, on what device, when.
struct request {
  std::uint32_t user = 0;
  std::uint32_t segment = 0;
  std::uint32_t site = 0;
  std::uint32_t site_category = 0;
  std::uint32_t device = 0;
  std::uint32_t hour = 0;
};

/// @brief A simulated market: users, sites, ads, and a hidden true CTR with main effects,
/// interactions (segment x ad category, device x ad category) that only crossed features can
/// learn, and a per-user effect no feature sees.
class market {
 public:
  /// @brief @throws funnel::invalid_argument on a zero size or base_ctr outside (0, 1).
  explicit market(const market_options& opt);
  /// @brief A request of a uniformly drawn user.
  [[nodiscard]] request next_request(funnel::rng& g) const;
  /// @brief A request of user `user`. Precondition: user < users.
  [[nodiscard]] request request_of(std::uint32_t user, funnel::rng& g) const;
  /// @brief Candidate ads for a request: the ads targeting its site category or the next two (at
  /// most `candidates`, drawn at random when more target it).
  void candidates(const request& r, funnel::rng& g, std::vector<std::uint32_t>& out) const;
  /// @brief The hidden probability that this request clicks this ad.
  [[nodiscard]] double true_ctr(const request& r, const ad& a) const noexcept;
  [[nodiscard]] const std::vector<ad>& all_ads() const noexcept { return ads_; }
  [[nodiscard]] const market_options& options() const noexcept { return opt_; }

 private:
  market_options opt_;
  double intercept_ = 0.0;
  std::vector<ad> ads_;
  std::vector<std::uint32_t> user_segment_, user_device_;
  std::vector<double> user_effect_, site_effect_, ad_effect_, device_effect_, hour_effect_;
  std::vector<double> segment_x_category_, device_x_category_;
  std::vector<std::uint32_t> site_category_;
  std::vector<double> site_cdf_;
  std::vector<std::vector<std::uint32_t>> ads_by_category_;
};

/// @brief Hashed one-hot features of a (request, ad) pair: "name=value" tokens and, optionally,
/// crosses "a=x^b=y", hashed with MurmurHash3 x86_32 (funnel::features::murmur3_32, the hash of
/// funnel::features::feature_hasher and hashed_cross) into 2^bits slots.
class feature_encoder {
 public:
  /// @brief @throws funnel::invalid_argument when bits is not in [4, 30].
  feature_encoder(unsigned bits, bool crosses);
  /// @brief Writes the active slots of (r, a) into `out` (cleared first); every value is 1.
  void encode(const request& r, const ad& a, std::vector<std::uint32_t>& out) const;
  [[nodiscard]] std::size_t width() const noexcept { return std::size_t{1} << bits_; }
  [[nodiscard]] bool crosses() const noexcept { return crosses_; }

 private:
  unsigned bits_;
  bool crosses_;
};

/// @brief A CTR model: an encoder and an FTRL-proximal logistic learner.
struct ctr_model {
  feature_encoder encoder;
  funnel::scoring::ftrl_logistic learner;
  /// @brief pCTR of (r, a) with the current weights (`scratch` is reused between calls).
  [[nodiscard]] double predict(const request& r, const ad& a, std::vector<std::uint32_t>& scratch,
                               std::vector<float>& ones) const;
  /// @brief Learns one impression; returns the pCTR made before the update.
  double learn(const request& r, const ad& a, int clicked, std::vector<std::uint32_t>& scratch,
               std::vector<float>& ones);
};

/// @brief A new CTR model. @throws as feature_encoder and ftrl_logistic.
[[nodiscard]] ctr_model make_ctr_model(unsigned bits, bool crosses,
                                       const funnel::scoring::ftrl_options& ftrl);

/// @brief One bidder in an auction.
struct bidder {
  std::uint32_t ad = 0;
  double bid = 0.0;   ///< per click
  double pctr = 0.0;  ///< predicted click probability
};

/// @brief Outcome of one auction.
struct auction_outcome {
  bool served = false;
  std::size_t winner = 0;  ///< index into the bidders
  double price = 0.0;      ///< per click, charged only when the ad is clicked
  double ecpm = 0.0;       ///< winner's bid x pCTR
};

/// @brief Ranks by expected value bid x pCTR among bidders with bid >= reserve and prices the
/// winner by generalised second price: the least per-click price that keeps its rank,
/// max(reserve, next bid x next pCTR / own pCTR), never above its bid. Ties go to the first
/// bidder. Nothing is served when no bid reaches the reserve. @throws funnel::invalid_argument on
/// a negative or non-finite bid or reserve, or a pCTR outside (0, 1].
[[nodiscard]] auction_outcome run_auction(std::span<const bidder> bidders, double reserve);

/// @brief Metrics of one window of served impressions (progressive validation: every
/// prediction was made before the model saw that impression's label).
struct window_metrics {
  std::size_t impressions = 0;
  double ctr = 0.0;        ///< observed
  double mean_pctr = 0.0;  ///< predicted
  double log_loss = 0.0;
  double log_loss_constant = 0.0;  ///< predicting the CTR observed so far (a constant model)
  double auc = 0.0;
  double auc_no_crosses = 0.0;  ///< the shadow model without crosses, same impressions
  double auc_oracle = 0.0;      ///< the hidden true CTR: the best any model could do
  double ece = 0.0;             ///< expected calibration error, 10 quantile bins
};

/// @brief Knobs of part 1.
struct online_options {
  std::size_t requests = 200000;
  std::size_t windows = 8;
  unsigned bits = 20;
  double reserve = 0.3;  ///< per click
  funnel::scoring::ftrl_options ftrl{.alpha = 0.05, .beta = 1.0, .l1 = 0.5, .l2 = 1.0};
  std::uint64_t seed = 7;
};

/// @brief Part 1's report, plus the trained models (for the A/B test).
struct online_report {
  std::size_t requests = 0, served = 0, clicks = 0;
  double revenue = 0.0;  ///< sum of prices of clicked ads
  double mean_price = 0.0, mean_bid = 0.0;
  bool prices_within_bounds = true;  ///< reserve <= price <= bid for every served ad
  std::size_t price_violations = 0;
  std::vector<window_metrics> windows;
  window_metrics overall;
  std::vector<std::pair<double, double>> calibration;  ///< last window: (mean pCTR, CTR) per bin
  double auction_us_p50 = 0.0, auction_us_p99 = 0.0;   ///< candidates -> served ad, one request
  std::size_t nonzero_weights = 0;
};

/// @brief Runs part 1 and leaves the served model (with crosses) in `with_crosses` and a shadow
/// model trained on the same impressions without crosses in `without_crosses`.
[[nodiscard]] online_report run_online(const market& m, const online_options& opt,
                                       ctr_model& with_crosses, ctr_model& without_crosses);

/// @brief Knobs of part 2.
struct bandit_options {
  std::vector<double> relative_ctr = {0.80, 0.90, 1.00, 1.10, 1.25};  ///< creative CTR / base
  double base_ctr = avazu_ctr;
  std::size_t horizon = 100000;  ///< impressions per run
  std::size_t runs = 10;         ///< independent seeded runs per policy
  double epsilon = 0.1;
  double ucb_c = 1.0;
  std::uint64_t seed = 11;
};

/// @brief One policy's mean over runs.
struct policy_result {
  std::string name;
  double regret = 0.0;     ///< expected regret: sum over impressions of best CTR - chosen CTR
  double regret_sd = 0.0;  ///< standard deviation over runs
  double clicks = 0.0;
  double best_share = 0.0;  ///< share of impressions on the best creative
};

/// @brief Part 2's report.
struct bandit_report {
  std::vector<double> ctrs;
  double oracle_clicks = 0.0;           ///< expected clicks always showing the best creative
  std::vector<policy_result> policies;  ///< Thompson, UCB1, epsilon-greedy
};

/// @brief Runs part 2. @throws funnel::invalid_argument on fewer than 2 creatives or a CTR
/// outside (0, 1).
[[nodiscard]] bandit_report run_bandits(const bandit_options& opt);

/// @brief Knobs of part 3.
struct ab_options {
  std::size_t users = 20000;
  double requests_per_user = 6.0;  ///< mean per period (users differ: Gamma-distributed)
  std::string salt = "ads-ranker-crosses-v1";
  double srm_drop = 1.0 / 13.0;  ///< injected loss of treatment units: turns 50/50 into 52/48
  std::size_t look_every = 500;  ///< mSPRT look interval, in users
  double reserve = 0.3;
  std::uint64_t seed = 5;
};

/// @brief Part 3's report.
struct ab_report {
  std::size_t users_a = 0, users_b = 0;
  double srm_p_fair = 1.0;
  bool srm_flag_fair = false;
  std::size_t injected_b = 0;
  double srm_p_injected = 1.0;
  bool srm_flag_injected = false;
  double mean_a = 0.0, mean_b = 0.0;        ///< clicks per user in the experiment period
  double revenue_a = 0.0, revenue_b = 0.0;  ///< revenue per user
  double welch_p = 1.0;
  double lift = 0.0, lift_lower = 0.0, lift_upper = 0.0;  ///< absolute, 95%
  double rel_lift = 0.0, rel_lower = 0.0, rel_upper = 0.0;
  double cuped_theta = 0.0, cuped_variance_ratio = 1.0, cuped_p = 1.0;
  double cuped_lower = 0.0, cuped_upper = 0.0;  ///< 95% on the adjusted metric
  double covariate_corr = 0.0;
  double msprt_tau2 = 0.0;
  std::size_t msprt_stop_users = 0;  ///< users seen at the first rejecting look (0 = never)
  double msprt_p = 1.0, msprt_lower = 0.0, msprt_upper = 0.0;
};

/// @brief Runs part 3: control ranks with `control`, treatment with `treatment` (both frozen).
[[nodiscard]] ab_report run_ab_test(const market& m, const ctr_model& control,
                                    const ctr_model& treatment, const ab_options& opt);

/// @brief All three parts.
struct report {
  online_report online;
  bandit_report bandits;
  ab_report ab;
  double seconds = 0.0;
};

/// @brief Options of the whole run.
struct options {
  market_options market;
  online_options online;
  bandit_options bandits;
  ab_options ab;
  std::function<void(std::string_view)> progress;
};

/// @brief Runs the three parts. @throws as the parts do.
[[nodiscard]] report run(const options& opt);

/// @brief The report as aligned text.
[[nodiscard]] std::string format_report(const report& r, const options& opt);

}  // namespace ads
