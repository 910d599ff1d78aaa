#pragma once
/// @file recommender.hpp
/// @brief The flagship example's system: a movie recommender built from funnel's stages
/// (ALS through an HNSW index + co-visitation + popularity retrieval merged by funnel::pipeline,
/// features from a funnel::features pipeline, logistic and GBDT rankers trained in funnel on a
/// later slice of the training period, MMR re-ranking by genre with one exploration slot chosen by
/// an epsilon-greedy bandit, a drift check of ratings over time), evaluated stage by stage on
/// held-out future interactions. Compiled into the example and into its smoke test.

#include <funnel/retrieval/interactions.hpp>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace movie {

/// @brief What the recommender knows about a movie besides its ratings.
struct movie_info {
  std::string title;
  double year = 0.0;  ///< NaN when unknown
  std::vector<std::string> genres;
};

/// @brief Ratings plus movie metadata.
struct dataset {
  funnel::retrieval::interaction_log log;
  std::unordered_map<std::uint64_t, movie_info> movies;
};

/// @brief Loads dslabs::movielens written as CSV (movieId,title,year,genres,userId,rating,
/// timestamp). @throws funnel::io_error, funnel::parse_error naming file, line and column.
[[nodiscard]] dataset load_movielens(const std::filesystem::path& path);

/// @brief A log with planted structure, for the smoke test: each user prefers one of `genres`
/// genres (80% of their interactions, Zipf-popular within the genre), the rest follow global
/// popularity. Timestamps are spread evenly over ~200 days.
[[nodiscard]] dataset synthetic_dataset(std::size_t users, std::size_t items, std::size_t genres,
                                        std::size_t per_user, std::uint64_t seed);

/// @brief Knobs of the experiment (defaults: the MovieLens run).
struct options {
  std::size_t k = 20;                ///< slate size and metric cut-off
  double test_quantile = 0.8;        ///< time quantile where the test period starts
  double label_quantile = 0.8;       ///< within train: where the ranker's label slice starts
  std::size_t min_test_users = 100;  ///< below this, also evaluate a per-user split
  std::size_t als_factors = 64;
  std::size_t als_iterations = 15;
  double als_alpha = 5.0;
  double als_regularization = 10.0;
  std::size_t hnsw_m = 16;                 ///< HNSW graph degree of the ALS item index
  std::size_t hnsw_ef_construction = 100;  ///< HNSW build-time candidate list
  std::size_t hnsw_ef = 400;               ///< HNSW search candidate list (max(ef, k) is used)
  std::size_t gbdt_rounds = 100;           ///< boosting rounds of the GBDT rankers
  std::size_t max_ranker_users = 0;        ///< users whose candidates train the ranker (0: all)
  std::size_t quota = 200;                 ///< candidates per retriever
  double mmr_lambda = 0.85;                ///< MMR trade-off (1 = relevance only)
  std::size_t explore_position = 19;       ///< 0-based slot filled by the exploration policy
  std::size_t explore_depth = 30;          ///< pool the exploration slot draws from
  double explore_epsilon = 0.2;            ///< epsilon of the epsilon-greedy exploration bandit
  std::uint64_t seed = 7;
  std::function<void(std::string_view)> progress;  ///< optional progress lines
};

/// @brief recall@k and NDCG@k of one stage, averaged over the evaluated users.
struct stage_quality {
  std::string stage;
  double recall = 0.0;
  double ndcg = 0.0;
};

/// @brief Latency of one pipeline stage over the served requests.
struct stage_latency {
  std::string stage;  ///< the pipeline trace's stage name ("retrieve:als-hnsw", "rank", ...)
  double p50_ms = 0.0;
  double p99_ms = 0.0;
};

/// @brief One arm of the exploration bandit.
struct explore_arm {
  std::string name;  ///< the depth band of the ranked list it draws from
  std::size_t pulls = 0;
  double mean_reward = 0.0;  ///< share of its explored items the user rated in the test period
  double propensity = 0.0;   ///< probability the policy picks it now
};

/// @brief What the exploration slot did.
struct exploration_report {
  std::size_t position = 0;  ///< 0-based slot position
  std::size_t decisions = 0;
  double slot_hit_rate_bandit = 0.0;   ///< share of explored items rated in the test period
  double slot_hit_rate_uniform = 0.0;  ///< ... with a uniform choice from the same pool
  double min_propensity = 0.0;         ///< over the logged decisions
  double max_propensity = 0.0;
  /// Off-policy check of the logged propensities: the uniform slot's hit rate estimated from the
  /// bandit's logs alone (IPS with its standard error, and SNIPS), to compare with the measured
  /// slot_hit_rate_uniform.
  double ips_uniform = 0.0;
  double ips_std_error = 0.0;
  double snips_uniform = 0.0;
  std::vector<explore_arm> arms;
};

/// @brief Everything measured on one train/test split.
struct split_report {
  std::string protocol;  ///< "temporal" or "per-user (last 20%)"
  std::size_t train_interactions = 0;
  std::size_t test_interactions = 0;
  std::size_t eval_users = 0;   ///< users with training history and test interactions
  std::size_t ranker_rows = 0;  ///< training rows of the ranker
  std::size_t quota = 0;        ///< candidates per retriever
  double ranker_positive_rate = 0.0;
  std::size_t feature_count = 0;  ///< outputs of the features pipeline
  double candidate_recall = 0.0;  ///< share of test items present in the merged pool
  double ann_recall_k = 0.0;      ///< HNSW top-k vs exact ALS top-k (mean overlap per user)
  double ann_recall_quota = 0.0;  ///< ... at the retrieval quota
  std::vector<stage_quality> stages;
  double p50_ms = 0.0;  ///< end-to-end latency per request (full pipeline)
  double p99_ms = 0.0;
  std::vector<stage_latency> latency_by_stage;  ///< per stage of the served pipeline
  exploration_report exploration;
  double genres_per_slate_ranked = 0.0;     ///< distinct genres in the top k, before re-ranking
  double genres_per_slate_reranked = 0.0;   ///< ... and after
  std::vector<std::string> ranker_weights;  ///< largest logistic coefficients, "feature: coef"
};

/// @brief Drift of the rating distribution: the test period against the training period.
struct drift_report {
  double ks_statistic = 0.0;
  double ks_pvalue = 1.0;
  double psi = 0.0;
  std::string psi_verdict;
  double train_mean = 0.0;
  double test_mean = 0.0;
  std::vector<std::pair<int, double>> mean_by_year;  ///< (year, mean rating)
};

/// @brief The whole report.
struct report {
  std::size_t users = 0, items = 0, interactions = 0;
  std::vector<split_report> splits;  ///< temporal first
  drift_report drift;
  double seconds = 0.0;
};

/// @brief Runs the experiment. @throws funnel::invalid_argument when the log is too small to
/// split, plus whatever the stages throw on bad input.
[[nodiscard]] report run_experiment(const dataset& data, const options& opt = {});

/// @brief The report as aligned text.
[[nodiscard]] std::string format_report(const report& r, std::size_t k);

/// @brief The report as a small self-contained HTML page.
[[nodiscard]] std::string html_report(const report& r, std::size_t k);

}  // namespace movie
