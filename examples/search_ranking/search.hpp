#pragma once
/// @file search.hpp
/// @brief The search-ranking example's system: LightGBM's learning-to-rank data (query groups of
/// graded documents), a LambdaMART ranker trained in funnel against LightGBM's own model loaded
/// with funnel's importer, NDCG@k per stage, and a two-stage cascade served by
/// funnel::pipeline (a cheap model on every document, the expensive one on the top n) with its
/// latency/quality trade-off. Compiled into the example and into its smoke test.

#include <funnel/core/views.hpp>
#include <funnel/scoring/tree_ensemble.hpp>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace search_rank {

/// @brief Documents of consecutive queries: dense features (absent libsvm entries are 0, as
/// LightGBM reads them), graded relevance, and the size of each query group.
struct ranking_set {
  funnel::matrix features;
  std::vector<float> relevance;
  std::vector<std::size_t> groups;       ///< documents per query, in file order
  std::vector<std::size_t> group_begin;  ///< first row of each query

  [[nodiscard]] std::size_t rows() const noexcept { return relevance.size(); }
  [[nodiscard]] std::size_t queries() const noexcept { return groups.size(); }
  /// @brief Queries [begin, end) as a set of their own.
  /// @throws funnel::invalid_argument when the range is invalid.
  [[nodiscard]] ranking_set slice_queries(std::size_t begin, std::size_t end) const;
};

/// @brief Reads a libsvm file (plain or gzip) and its `.query` file of group sizes.
/// `min_cols` widens the matrix (a test file read with the training width).
/// @throws funnel::io_error, funnel::parse_error (libsvm or gzip, naming file and line),
/// funnel::invalid_argument when the group sizes do not add up to the rows or one is 0.
[[nodiscard]] ranking_set load_ranking(const std::filesystem::path& data,
                                       const std::filesystem::path& query,
                                       std::size_t min_cols = 0);

/// @brief Knobs of the experiment (defaults: LightGBM's fixture configuration).
struct options {
  std::size_t rounds = 50;  ///< LambdaMART trees (LightGBM's model has 50)
  std::size_t leaves = 31;
  double learning_rate = 0.1;
  double min_child_weight = 1e-3;  ///< LightGBM's min_sum_hessian_in_leaf
  std::size_t cheap_rounds = 5;    ///< the cascade's first stage: a small LambdaMART
  std::size_t cheap_leaves = 31;
  double cheap_learning_rate = 0.1;
  std::vector<std::size_t> cascade_n = {1, 3, 5, 10, 0};  ///< 0 = every document
  std::size_t latency_repeats = 25;  ///< each query served this many times (median kept)
  std::uint64_t seed = 7;
  std::size_t threads = 1;
  std::function<void(std::string_view)> progress;  ///< optional progress lines
};

/// @brief NDCG at the four cut-offs of one ranking stage, plus what it costs to run.
struct stage_quality {
  std::string stage;
  double ndcg1 = 0, ndcg3 = 0, ndcg5 = 0, ndcg10 = 0;
  double ndcg10_se = 0;         ///< standard error of NDCG@10 over the queries
  double tree_evaluations = 0;  ///< per query (documents scored x trees)
};

/// @brief One point of the cascade trade-off.
struct cascade_point {
  std::size_t n = 0;  ///< 0 = every document (the expensive model alone)
  double ndcg10 = 0;
  double ndcg10_se = 0;           ///< standard error over the queries
  double expensive_docs = 0;      ///< documents per query the expensive model scored
  double tree_evaluations = 0;    ///< per query, both stages
  double p50_us = 0, p90_us = 0;  ///< per-query latency of the served pipeline
  double rank_us = 0;             ///< mean time of the ranking stage alone
  bool equals_expensive = false;  ///< every query's order equals the expensive model's
};

/// @brief Everything the example measures.
struct report {
  std::size_t train_rows = 0, train_queries = 0, test_rows = 0, test_queries = 0, features = 0;
  std::size_t funnel_trees = 0, lightgbm_trees = 0, cheap_trees = 0;
  double train_seconds = 0;           ///< wall clock
  double train_cpu_seconds = 0;       ///< process CPU time (the machine may be shared)
  std::vector<stage_quality> stages;  ///< input order, cheap, funnel LambdaMART, LightGBM
  std::vector<cascade_point> cascade;
  double seconds = 0;
};

/// @brief NDCG@k (exponential gain 2^rel - 1; a query without relevant documents counts 1, as
/// LightGBM's metric does) of `scores` over the queries of `set`.
/// @throws funnel::dimension_mismatch when scores and rows differ.
[[nodiscard]] double ndcg(const ranking_set& set, std::span<const double> scores, std::size_t k);

/// @brief Standard error of the mean of per-query NDCG@k (how much of a difference is noise).
[[nodiscard]] double ndcg_standard_error(const ranking_set& set, std::span<const double> scores,
                                         std::size_t k);

/// @brief Margins of `model` for every row of `set` (double rows, LightGBM's arithmetic).
[[nodiscard]] std::vector<double> score_all(const funnel::scoring::tree_ensemble& model,
                                            const ranking_set& set);

/// @brief What the served cascade returned for one query.
struct served_query {
  std::vector<std::size_t> order;  ///< rows of the query's documents, best first
  double total_us = 0;             ///< median end-to-end latency over the repeats
  double rank_us = 0;              ///< median ranking-stage time
};

/// @brief Serves every query of `set` through a funnel::pipeline whose ranker runs `cheap` on
/// all documents and `expensive` on the cheap model's top `top_n` (0 = on all; then `cheap` is
/// not used). Each query is served `repeats` times (>= 1).
/// @throws funnel::invalid_argument for repeats == 0 or a model narrower than the features.
[[nodiscard]] std::vector<served_query> serve_cascade(
    const ranking_set& set, std::shared_ptr<const funnel::scoring::tree_ensemble> cheap,
    std::shared_ptr<const funnel::scoring::tree_ensemble> expensive, std::size_t top_n,
    std::size_t repeats);

/// @brief Trains the funnel rankers on `train`, scores `test` with them and with `imported`
/// (LightGBM's model), and measures the cascade. @throws funnel::invalid_argument when a set is
/// empty or the imported model expects more features than the data has.
[[nodiscard]] report run(const ranking_set& train, const ranking_set& test,
                         const funnel::scoring::tree_ensemble& imported, const options& opt = {});

/// @brief The report as aligned text.
[[nodiscard]] std::string format_report(const report& r);

}  // namespace search_rank
