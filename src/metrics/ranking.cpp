#include <funnel/metrics/ranking.hpp>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "metrics/check.hpp"

namespace funnel::metrics {
namespace {

void check_query(std::string_view where, std::span<const float> rel, std::span<const float> score) {
  if (rel.size() != score.size()) {
    raise<dimension_mismatch>(where, "score has {} values, relevance has {}", score.size(),
                              rel.size());
  }
  if (rel.empty()) raise<invalid_argument>(where, "query without documents");
  for (std::size_t i = 0; i < rel.size(); ++i) {
    if (!std::isfinite(rel[i]) || rel[i] < 0) {
      raise<invalid_argument>(where, "relevance[{}] = {} must be finite and >= 0", i, rel[i]);
    }
    if (std::isnan(score[i])) raise<invalid_argument>(where, "score[{}] is NaN", i);
  }
}

// Document indices by descending score; ties keep input order.
std::vector<std::size_t> ranked(std::span<const float> score) {
  std::vector<std::size_t> order(score.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return score[a] > score[b]; });
  return order;
}

std::size_t effective_k(std::size_t k, std::size_t n) {
  return k == 0 ? n : k;
}

}  // namespace

double ndcg_at(std::span<const float> relevance, std::span<const float> score, std::size_t k,
               const ndcg_options& options) {
  check_query("metrics.ndcg_at", relevance, score);
  const std::size_t n = relevance.size();
  const std::size_t kk = std::min(effective_k(k, n), n);
  std::vector<double> gain(n);
  for (std::size_t i = 0; i < n; ++i) {
    gain[i] = options.gain == ndcg_gain::linear ? relevance[i] : std::exp2(relevance[i]) - 1.0;
  }
  // sklearn: discount = 1 / (log(i + 2) / log(2)), zero from rank k on.
  std::vector<double> discount(n, 0.0);
  for (std::size_t i = 0; i < kk; ++i) {
    discount[i] = 1.0 / (std::log(static_cast<double>(i) + 2.0) / std::log(2.0));
  }
  // Ideal DCG: gains sorted descending (ties are irrelevant there).
  std::vector<double> ideal = gain;
  std::sort(ideal.begin(), ideal.end(), std::greater<>());
  double idcg = 0;
  for (std::size_t i = 0; i < kk; ++i) idcg += discount[i] * ideal[i];
  if (idcg == 0) return options.empty_query_value;
  // DCG with tied scores sharing the average gain of their group (sklearn _tie_averaged_dcg).
  const auto order = ranked(score);
  std::vector<double> cum(n);
  std::partial_sum(discount.begin(), discount.end(), cum.begin());
  double dcg = 0;
  double prev_cum = 0;
  for (std::size_t start = 0; start < n;) {
    std::size_t end = start;
    double g = 0;
    while (end < n && score[order[end]] == score[order[start]]) g += gain[order[end++]];
    const double avg = g / static_cast<double>(end - start);
    const double dsum = cum[end - 1] - prev_cum;
    prev_cum = cum[end - 1];
    dcg += avg * dsum;
    start = end;
  }
  return dcg / idcg;
}

double precision_at(std::span<const float> relevance, std::span<const float> score, std::size_t k) {
  check_query("metrics.precision_at", relevance, score);
  const auto order = ranked(score);
  const std::size_t kk = effective_k(k, order.size());
  double hits = 0;
  for (std::size_t r = 0; r < std::min(kk, order.size()); ++r)
    hits += relevance[order[r]] > 0 ? 1 : 0;
  return hits / static_cast<double>(kk);
}

double recall_at(std::span<const float> relevance, std::span<const float> score, std::size_t k) {
  check_query("metrics.recall_at", relevance, score);
  const auto order = ranked(score);
  const std::size_t kk = std::min(effective_k(k, order.size()), order.size());
  double hits = 0;
  double total = 0;
  for (std::size_t r = 0; r < order.size(); ++r) {
    const bool rel = relevance[order[r]] > 0;
    total += rel ? 1 : 0;
    if (r < kk) hits += rel ? 1 : 0;
  }
  return total > 0 ? hits / total : 0.0;
}

double hit_rate_at(std::span<const float> relevance, std::span<const float> score, std::size_t k) {
  check_query("metrics.hit_rate_at", relevance, score);
  const auto order = ranked(score);
  const std::size_t kk = std::min(effective_k(k, order.size()), order.size());
  for (std::size_t r = 0; r < kk; ++r) {
    if (relevance[order[r]] > 0) return 1.0;
  }
  return 0.0;
}

double average_precision_at(std::span<const float> relevance, std::span<const float> score,
                            std::size_t k) {
  check_query("metrics.average_precision_at", relevance, score);
  const auto order = ranked(score);
  const std::size_t kk = std::min(effective_k(k, order.size()), order.size());
  double total = 0;
  for (const double r : relevance) total += r > 0 ? 1 : 0;
  if (total == 0) return 0.0;
  double hits = 0;
  double sum = 0;
  for (std::size_t r = 0; r < kk; ++r) {
    if (relevance[order[r]] > 0) {
      hits += 1;
      sum += hits / static_cast<double>(r + 1);
    }
  }
  return sum / std::min(static_cast<double>(effective_k(k, order.size())), total);
}

double reciprocal_rank(std::span<const float> relevance, std::span<const float> score) {
  check_query("metrics.reciprocal_rank", relevance, score);
  const auto order = ranked(score);
  for (std::size_t r = 0; r < order.size(); ++r) {
    if (relevance[order[r]] > 0) return 1.0 / static_cast<double>(r + 1);
  }
  return 0.0;
}

namespace {

// One query's value of `metric`.
double query_metric(ranking_metric metric, std::span<const float> rel, std::span<const float> sc,
                    std::size_t k, const ndcg_options& options) {
  switch (metric) {
    case ranking_metric::ndcg:
      return ndcg_at(rel, sc, k, options);
    case ranking_metric::precision:
      return precision_at(rel, sc, k);
    case ranking_metric::recall:
      return recall_at(rel, sc, k);
    case ranking_metric::hit_rate:
      return hit_rate_at(rel, sc, k);
    case ranking_metric::map:
      return average_precision_at(rel, sc, k);
    case ranking_metric::mrr:
      return reciprocal_rank(rel, sc);
  }
  raise<invalid_argument>("metrics.evaluate_ranking", "unknown ranking_metric {}",
                          static_cast<int>(metric));
}

}  // namespace

ranking_report evaluate_ranking(ranking_metric metric, std::span<const float> relevance,
                                std::span<const float> score,
                                std::span<const std::size_t> group_sizes, std::size_t k,
                                const ndcg_options& options) {
  if (relevance.size() != score.size()) {
    raise<dimension_mismatch>("metrics.evaluate_ranking", "score has {} values, relevance has {}",
                              score.size(), relevance.size());
  }
  const std::size_t total = std::accumulate(group_sizes.begin(), group_sizes.end(), std::size_t{0});
  if (total != relevance.size()) {
    raise<dimension_mismatch>("metrics.evaluate_ranking",
                              "group sizes add up to {}, but there are {} documents", total,
                              relevance.size());
  }
  if (group_sizes.empty()) raise<invalid_argument>("metrics.evaluate_ranking", "no query");
  ranking_report r;
  std::size_t offset = 0;
  for (std::size_t q = 0; q < group_sizes.size(); ++q) {
    const auto rel = relevance.subspan(offset, group_sizes[q]);
    const auto sc = score.subspan(offset, group_sizes[q]);
    offset += group_sizes[q];
    try {
      r.per_query.push_back(query_metric(metric, rel, sc, k, options));
    } catch (const error& e) {
      raise<invalid_argument>("metrics.evaluate_ranking", "query {}: {}", q, e.what());
    }
  }
  r.mean = std::accumulate(r.per_query.begin(), r.per_query.end(), 0.0) /
           static_cast<double>(r.per_query.size());
  return r;
}

}  // namespace funnel::metrics
