// Gradients of the GBDT objectives and the evaluation metrics.
#include <funnel/core/error.hpp>
#include <funnel/metrics/classification.hpp>
#include <funnel/metrics/ranking.hpp>
#include <funnel/scoring/gbdt.hpp>

#include <algorithm>
#include <cmath>
#include <numeric>
#if defined(__SSE2__)
#include <immintrin.h>
#endif

#include "scoring/gbdt_detail.hpp"

namespace funnel::scoring {
namespace detail {

namespace {
double sigmoid(double x) {
  return 1.0 / (1.0 + std::exp(-x));
}

/// Rows per task of elementwise gradients (handed to whichever thread is free).
constexpr std::size_t gradient_block = 8192;

/// Writes a gradient without reading its cache line first (a streaming store, x86-64): both
/// threads read every row's gradient while a tree grows, so an ordinary store would wait for
/// the other core to give up each line, one line at a time.
inline void store(grad_pair& to, grad_pair v) {
#if defined(__SSE2__)
  _mm_stream_pd(&to.g, _mm_set_pd(v.h, v.g));
#else
  to = v;
#endif
}
/// Orders the streaming stores before whatever follows (the end of the pool's task).
inline void stored() {
#if defined(__SSE2__)
  _mm_sfence();
#endif
}

/// Gradients of rows [begin, end) of a pointwise objective.
void pointwise_gradients(const gbdt_options& o, const gbdt_data& d, std::size_t k,
                         std::span<const double> margins, std::span<grad_pair> out,
                         std::size_t begin, std::size_t end) {
  auto weight = [&](std::size_t i) {
    return d.weights.empty() ? 1.0 : static_cast<double>(d.weights[i]);
  };
  switch (o.objective) {
    case gbdt_objective::binary_logistic:
      for (std::size_t i = begin; i < end; ++i) {
        const double y = d.labels[i];
        const double w = weight(i) * (y > 0.5 ? o.scale_pos_weight : 1.0);
        const double p = sigmoid(margins[i]);
        store(out[i], {(p - y) * w, std::max(p * (1.0 - p), 1e-16) * w});
      }
      stored();
      return;
    case gbdt_objective::squared_error:
      for (std::size_t i = begin; i < end; ++i) {
        const double w = weight(i);
        out[i] = {(margins[i] - d.labels[i]) * w, w};
      }
      return;
    case gbdt_objective::poisson:
      for (std::size_t i = begin; i < end; ++i) {
        const double w = weight(i);
        out[i] = {(std::exp(margins[i]) - d.labels[i]) * w,
                  std::exp(margins[i] + o.poisson_max_delta_step) * w};
      }
      return;
    case gbdt_objective::multi_softmax: {
      std::vector<double> p(k);
      for (std::size_t i = begin; i < end; ++i) {
        const double* m = margins.data() + i * k;
        const double mx = *std::max_element(m, m + k);
        double sum = 0;
        for (std::size_t c = 0; c < k; ++c) sum += (p[c] = std::exp(m[c] - mx));
        const auto label = static_cast<std::size_t>(d.labels[i]);
        const double w = weight(i);
        for (std::size_t c = 0; c < k; ++c) {
          const double pc = p[c] / sum;
          out[i * k + c] = {((c == label ? pc - 1.0 : pc)) * w,
                            std::max(2.0 * pc * (1.0 - pc), 1e-16) * w};
        }
      }
      return;
    }
    case gbdt_objective::lambdarank:
      return;
  }
}
}  // namespace

void compute_gradients(const gbdt_options& o, const gbdt_data& d, std::size_t num_groups,
                       std::span<const double> margins, std::span<grad_pair> out,
                       worker_pool& pool) {
  if (o.objective != gbdt_objective::lambdarank) {
    const std::size_t n = d.num_rows();
    pool.for_each((n + gradient_block - 1) / gradient_block, [&](std::size_t b, std::size_t) {
      pointwise_gradients(o, d, num_groups, margins, out, b * gradient_block,
                          std::min(n, (b + 1) * gradient_block));
    });
    return;
  }
  // Queries are independent: tasks of consecutive queries of at least 256 rows, handed to
  // whichever thread is free (query sizes vary, and a query's cost grows with its size squared).
  const auto& groups = d.group_sizes;
  std::vector<std::size_t> first_group{0};
  std::vector<std::size_t> first_row{0};
  std::size_t row = 0;
  for (std::size_t q = 0; q < groups.size(); ++q) {
    row += groups[q];
    if (row - first_row.back() >= 256 || q + 1 == groups.size()) {
      first_group.push_back(q + 1);
      first_row.push_back(row);
    }
  }
  pool.for_each(first_group.size() - 1, [&](std::size_t k, std::size_t) {
    lambdarank_gradients(o, d, margins, out, first_group[k], first_group[k + 1], first_row[k]);
  });
}

void lambdarank_gradients(const gbdt_options& o, const gbdt_data& d,
                          std::span<const double> margins, std::span<grad_pair> out,
                          std::size_t first_group, std::size_t last_group, std::size_t begin) {
  // LightGBM's LambdarankNDCG (sigmoid = 1, norm = true): pairs of documents with different
  // labels, at least one ranked within the truncation level, weighted by |delta NDCG|.
  std::vector<std::size_t> order;
  for (std::size_t q = first_group; q < last_group; ++q) {
    const std::size_t size = d.group_sizes[q];
    const std::size_t end = begin + size;
    for (std::size_t i = begin; i < end; ++i) out[i] = {0.0, 0.0};
    order.resize(size);
    std::iota(order.begin(), order.end(), begin);
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t a, std::size_t b) { return margins[a] > margins[b]; });
    // Ideal DCG at the truncation level.
    std::vector<double> labels_sorted(size);
    for (std::size_t r = 0; r < size; ++r) labels_sorted[r] = d.labels[begin + r];
    std::sort(labels_sorted.begin(), labels_sorted.end(), std::greater<>());
    const std::size_t trunc = std::min(o.lambdarank_truncation, size);
    double max_dcg = 0;
    for (std::size_t r = 0; r < trunc; ++r)
      max_dcg += (std::exp2(labels_sorted[r]) - 1.0) / std::log2(2.0 + static_cast<double>(r));
    if (max_dcg <= 0) {
      begin = end;
      continue;
    }
    const double inverse_max_dcg = 1.0 / max_dcg;
    const double best = margins[order.front()];
    const double worst = margins[order.back()];
    double sum_lambdas = 0;
    for (std::size_t i = 0; i < std::min(size - 1, trunc); ++i) {
      for (std::size_t j = i + 1; j < size; ++j) {
        const auto a = order[i];
        const auto b = order[j];
        if (d.labels[a] == d.labels[b]) continue;
        const bool a_high = d.labels[a] > d.labels[b];
        const auto high = a_high ? a : b;
        const auto low = a_high ? b : a;
        const std::size_t high_rank = a_high ? i : j;
        const std::size_t low_rank = a_high ? j : i;
        const double delta_score = margins[high] - margins[low];
        const double dcg_gap = (std::exp2(d.labels[high]) - 1.0) - (std::exp2(d.labels[low]) - 1.0);
        const double paired_discount =
            std::fabs(1.0 / std::log2(2.0 + static_cast<double>(high_rank)) -
                      1.0 / std::log2(2.0 + static_cast<double>(low_rank)));
        double delta_ndcg = dcg_gap * paired_discount * inverse_max_dcg;
        if (best != worst) delta_ndcg /= (0.01 + std::fabs(delta_score));
        const double p_lambda = 1.0 / (1.0 + std::exp(delta_score));
        const double p_hessian = p_lambda * (1.0 - p_lambda);
        const double lambda = -p_lambda * delta_ndcg;
        const double hess = p_hessian * delta_ndcg;
        out[high].g += lambda;
        out[high].h += hess;
        out[low].g -= lambda;
        out[low].h += hess;
        sum_lambdas -= 2.0 * lambda;
      }
    }
    if (sum_lambdas > 0) {
      const double norm = std::log2(1.0 + sum_lambdas) / sum_lambdas;
      for (std::size_t i = begin; i < end; ++i) {
        out[i].g *= norm;
        out[i].h *= norm;
      }
    }
    if (!d.weights.empty()) {
      for (std::size_t i = begin; i < end; ++i) {
        out[i].g *= d.weights[i];
        out[i].h *= d.weights[i];
      }
    }
    begin = end;
  }
}

}  // namespace detail

namespace {

/// Metrics of one value per row (rmse, poisson_nll) refuse multi-class probability rows.
void check_one_per_row(const char* metric, std::size_t rows, std::size_t predictions) {
  if (predictions != rows) {
    raise<invalid_argument>("scoring.gbdt",
                            "{} needs one prediction per row; got {} for {} rows (multi_softmax "
                            "gives num_classes per row)",
                            metric, predictions, rows);
  }
}

}  // namespace

eval_metric eval_metric::auc() {
  return {"auc", true,
          [](std::span<const float> y, std::span<const double> p, std::size_t,
             std::span<const std::size_t>) {
            // metrics take scores as float, as a served model writes them
            const std::vector<float> scores(p.begin(), p.end());
            return metrics::roc_auc(y, scores);
          }};
}

eval_metric eval_metric::logloss() {
  return {"logloss", false,
          [](std::span<const float> y, std::span<const double> p, std::size_t k,
             std::span<const std::size_t>) {
            constexpr double eps = 1e-15;
            const std::size_t per_row = std::max<std::size_t>(k, 1);
            if (p.size() != y.size() * per_row) {
              raise<invalid_argument>("scoring.gbdt",
                                      "logloss needs {} predictions per row; got {} for {} rows",
                                      per_row, p.size(), y.size());
            }
            for (std::size_t i = 0; i < p.size(); ++i) {
              if (!(p[i] >= 0.0 && p[i] <= 1.0))
                raise<invalid_argument>("scoring.gbdt",
                                        "logloss needs probabilities; prediction {} is {} (a "
                                        "ranking or regression model's scores?)",
                                        i, p[i]);
            }
            double sum = 0;
            if (k <= 1) {
              for (std::size_t i = 0; i < y.size(); ++i) {
                const double q = std::clamp(p[i], eps, 1.0 - eps);
                sum -= y[i] > 0.5F ? std::log(q) : std::log(1.0 - q);
              }
            } else {
              for (std::size_t i = 0; i < y.size(); ++i)
                sum -= std::log(std::clamp(p[i * k + static_cast<std::size_t>(y[i])], eps, 1.0));
            }
            return sum / static_cast<double>(y.size());
          }};
}

eval_metric eval_metric::rmse() {
  return {"rmse", false,
          [](std::span<const float> y, std::span<const double> p, std::size_t,
             std::span<const std::size_t>) {
            check_one_per_row("rmse", y.size(), p.size());
            double sum = 0;
            for (std::size_t i = 0; i < y.size(); ++i) sum += (p[i] - y[i]) * (p[i] - y[i]);
            return std::sqrt(sum / static_cast<double>(y.size()));
          }};
}

eval_metric eval_metric::poisson_nll() {
  return {"poisson-nloglik", false,
          [](std::span<const float> y, std::span<const double> p, std::size_t,
             std::span<const std::size_t>) {
            check_one_per_row("poisson-nloglik", y.size(), p.size());
            double sum = 0;
            for (std::size_t i = 0; i < y.size(); ++i) {
              const double mu = std::max(p[i], 1e-16);
              sum += mu - y[i] * std::log(mu) + std::lgamma(static_cast<double>(y[i]) + 1.0);
            }
            return sum / static_cast<double>(y.size());
          }};
}

eval_metric eval_metric::ndcg(std::size_t k) {
  return {"ndcg@" + std::to_string(k), true,
          [k](std::span<const float> y, std::span<const double> p, std::size_t,
              std::span<const std::size_t> groups) {
            if (groups.empty()) {
              raise<invalid_argument>("scoring.gbdt",
                                      "ndcg@{} needs query groups (gbdt_data::group_sizes)", k);
            }
            check_one_per_row("ndcg", y.size(), p.size());
            std::size_t rows = 0;
            for (const auto size : groups) {
              if (size > y.size() - rows)
                raise<invalid_argument>("scoring.gbdt",
                                        "ndcg@{}: query groups cover more than the {} rows", k,
                                        y.size());
              rows += size;
            }
            metrics::ndcg_options opt;
            opt.gain = metrics::ndcg_gain::exponential;
            opt.empty_query_value =
                1.0;  // LightGBM's convention for queries without relevant documents
            std::size_t begin = 0;
            double sum = 0;
            const std::vector<float> scores(p.begin(), p.end());
            const std::span<const float> s(scores);
            for (const auto size : groups) {
              sum += metrics::ndcg_at(y.subspan(begin, size), s.subspan(begin, size), k, opt);
              begin += size;
            }
            return sum / static_cast<double>(groups.size());
          }};
}

}  // namespace funnel::scoring
