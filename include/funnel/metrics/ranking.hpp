#pragma once
/// @file ranking.hpp
/// @brief Ranking metrics per query and averaged over queries. Documents are ranked by score,
/// descending; ties keep input order (stable) for every metric except NDCG, which averages over
/// tied groups exactly like scikit-learn's `ndcg_score` (ignore_ties=False).

#include <cstddef>
#include <span>
#include <vector>

namespace funnel::metrics {

/// @brief The gain of a graded relevance in DCG.
enum class ndcg_gain {
  linear,       ///< gain = rel (scikit-learn `ndcg_score`)
  exponential,  ///< gain = 2^rel - 1 (LightGBM lambdarank/ndcg, XGBoost rank:ndcg, Burges et al.)
};

/// @brief Options of NDCG.
struct ndcg_options {
  ndcg_gain gain = ndcg_gain::linear;  ///< linear = scikit-learn; exponential = LightGBM/XGBoost
  /// Value of a query without any relevant document: 0 like scikit-learn; LightGBM uses 1.
  double empty_query_value = 0.0;
};

/// @brief NDCG@k of one query (for every metric here, k = 0 means all documents); discount
/// 1/log2(rank + 1).
/// @throws dimension_mismatch, invalid_argument (negative or NaN relevance, NaN score).
[[nodiscard]] double ndcg_at(std::span<const float> relevance, std::span<const float> score,
                             std::size_t k = 0, const ndcg_options& options = {});
/// @brief Fraction of the top k that is relevant (relevance > 0); divides by k even when the query
/// has fewer documents (the convention of most recsys toolkits).
[[nodiscard]] double precision_at(std::span<const float> relevance, std::span<const float> score,
                                  std::size_t k);
/// @brief Fraction of relevant documents found in the top k; 0 for a query without relevant ones.
[[nodiscard]] double recall_at(std::span<const float> relevance, std::span<const float> score,
                               std::size_t k);
/// @brief 1 when the top k holds a relevant document, else 0.
[[nodiscard]] double hit_rate_at(std::span<const float> relevance, std::span<const float> score,
                                 std::size_t k);
/// @brief AP@k = sum_{i<=k, rel_i} precision@i / min(k, #relevant); 0 without relevant documents.
/// With k = 0 (all) and no tied scores this equals scikit-learn's `average_precision_score`.
[[nodiscard]] double average_precision_at(std::span<const float> relevance,
                                          std::span<const float> score, std::size_t k = 0);
/// @brief 1 / rank of the first relevant document; 0 if none.
[[nodiscard]] double reciprocal_rank(std::span<const float> relevance,
                                     std::span<const float> score);

/// @brief Per-query values of one metric and their mean.
struct ranking_report {
  std::vector<double> per_query;  ///< one value per query, in input order
  double mean = 0;                ///< unweighted mean over queries
};

/// @brief Which ranking metric to evaluate over many queries.
enum class ranking_metric { ndcg, precision, recall, hit_rate, map, mrr };

/// @brief Evaluates `metric` at `k` on consecutive query groups of sizes `group_sizes` (the
/// LightGBM/XGBoost "group" layout). `options` applies to NDCG only; MRR ignores k.
/// @throws dimension_mismatch when sizes do not add up to the lengths, invalid_argument for an
/// empty query or bad values (the message names the query).
[[nodiscard]] ranking_report evaluate_ranking(ranking_metric metric,
                                              std::span<const float> relevance,
                                              std::span<const float> score,
                                              std::span<const std::size_t> group_sizes,
                                              std::size_t k = 0, const ndcg_options& options = {});

}  // namespace funnel::metrics
