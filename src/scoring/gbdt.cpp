// Histogram gradient boosting: validation and the boosting loop (binning and tree growth are
// in gbdt_grow.cpp).
#include <funnel/core/error.hpp>
#include <funnel/core/random.hpp>
#include <funnel/core/timer.hpp>
#include <funnel/scoring/gbdt.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <limits>
#include <numeric>
#include <string_view>

#include "core/csr_check.hpp"
#include "scoring/feature_names.hpp"
#include "scoring/gbdt_detail.hpp"

namespace funnel::scoring {
namespace {

using detail::grad_pair;

/// Bounds checked before anything is allocated (documented on gbdt_options).
constexpr std::size_t max_rows = std::numeric_limits<std::uint32_t>::max();
constexpr float max_rank_label = 31;

void validate(const gbdt_data& d, const gbdt_options& o, const char* which) {
  const std::size_t n = d.num_rows();
  if (d.sparse_features != nullptr && d.features.rows() > 0)
    raise<invalid_argument>("scoring.gbdt", "{} data has both dense and sparse features", which);
  if (n == 0 || d.num_features() == 0)
    raise<invalid_argument>("scoring.gbdt", "{} data is empty ({} x {})", which, n,
                            d.num_features());
  if (n > max_rows)  // rows are numbered in 32 bits while trees grow
    raise<invalid_argument>("scoring.gbdt", "{} data has {} rows; at most {}", which, n, max_rows);
  if (d.sparse_features != nullptr) {
    const auto& x = *d.sparse_features;
    funnel::detail::check_csr(x, "scoring.gbdt", fmt::format("{} data's sparse features", which),
                              true);
    funnel::detail::check_trainable_width(x, "scoring.gbdt",
                                          fmt::format("{} data's sparse features", which));
  }
  if (d.labels.size() != n)
    raise<dimension_mismatch>("scoring.gbdt", "{} data: {} labels for {} rows", which,
                              d.labels.size(), n);
  if (!d.weights.empty() && d.weights.size() != n)
    raise<dimension_mismatch>("scoring.gbdt", "{} data: {} weights for {} rows", which,
                              d.weights.size(), n);
  for (std::size_t i = 0; i < d.weights.size(); ++i) {
    if (!std::isfinite(d.weights[i]) || d.weights[i] < 0)
      raise<invalid_argument>("scoring.gbdt",
                              "{} data: weight of row {} is {} (must be finite and >= 0)", which, i,
                              d.weights[i]);
  }
  for (std::size_t i = 0; i < n; ++i) {
    const float y = d.labels[i];
    if (!std::isfinite(y))
      raise<invalid_argument>("scoring.gbdt", "{} data: label of row {} is {}", which, i, y);
    switch (o.objective) {
      case gbdt_objective::binary_logistic:
        if (y != 0.0F && y != 1.0F)
          raise<invalid_argument>("scoring.gbdt",
                                  "{} data: label of row {} is {}; binary_logistic needs 0 or 1",
                                  which, i, y);
        break;
      case gbdt_objective::multi_softmax:
        if (y < 0 || y != std::floor(y) || y >= static_cast<float>(o.num_classes)) {
          raise<invalid_argument>(
              "scoring.gbdt",
              "{} data: label of row {} is {}; multi_softmax needs an integer in [0, {})", which, i,
              y, o.num_classes);
        }
        break;
      case gbdt_objective::poisson:
        if (y < 0)
          raise<invalid_argument>("scoring.gbdt",
                                  "{} data: label of row {} is {}; poisson needs labels >= 0",
                                  which, i, y);
        break;
      case gbdt_objective::lambdarank:
        // The gain 2^label - 1 (as LightGBM's default label_gain, which stops at 30).
        if (y < 0 || y > max_rank_label)
          raise<invalid_argument>("scoring.gbdt",
                                  "{} data: label of row {} is {}; lambdarank needs labels >= 0 "
                                  "and <= {}",
                                  which, i, y, max_rank_label);
        break;
      case gbdt_objective::squared_error:
        break;
    }
  }
  if (o.objective == gbdt_objective::lambdarank && d.group_sizes.empty())
    raise<invalid_argument>("scoring.gbdt", "{} data: lambdarank needs query groups", which);
  // Each group within the rows left, so the sum cannot wrap around.
  std::size_t total = 0;
  for (std::size_t g = 0; g < d.group_sizes.size(); ++g) {
    const std::size_t size = d.group_sizes[g];
    if (size == 0)
      raise<invalid_argument>("scoring.gbdt", "{} data: query group {} is empty", which, g);
    if (size > n - total) {
      raise<invalid_argument>("scoring.gbdt",
                              "{} data: query group {} has {} rows; only {} are left of {}", which,
                              g, size, n - total, n);
    }
    total += size;
  }
  if (!d.group_sizes.empty() && total != n)
    raise<invalid_argument>("scoring.gbdt", "{} data: query groups sum to {} but there are {} rows",
                            which, total, n);
  if (!d.weights.empty()) {
    double sum = 0;
    for (const float w : d.weights) sum += w;
    if (!(sum > 0)) raise<invalid_argument>("scoring.gbdt", "{} data: weights sum to 0", which);
  }
}

void validate_options(const gbdt_options& o, std::size_t cols) {
  if (o.rounds == 0) raise<invalid_argument>("scoring.gbdt", "rounds must be > 0");
  if (!(o.learning_rate > 0) || !std::isfinite(o.learning_rate))
    raise<invalid_argument>("scoring.gbdt", "learning_rate {} must be > 0 and finite",
                            o.learning_rate);
  if (o.threads > gbdt_max_threads)
    raise<invalid_argument>("scoring.gbdt", "threads {} must be <= {}", o.threads,
                            gbdt_max_threads);
  if (o.growth != growth_policy::depthwise && o.growth != growth_policy::lossguide)
    raise<invalid_argument>("scoring.gbdt", "unknown growth policy {}",
                            static_cast<unsigned>(o.growth));
  if (!(o.poisson_max_delta_step >= 0) || !std::isfinite(o.poisson_max_delta_step))
    raise<invalid_argument>("scoring.gbdt", "poisson_max_delta_step {} must be >= 0 and finite",
                            o.poisson_max_delta_step);
  if (o.base_score && !std::isfinite(*o.base_score))
    raise<invalid_argument>("scoring.gbdt", "base_score {} must be finite", *o.base_score);
  if (!(o.lambda >= 0) || !(o.alpha >= 0) || !(o.min_child_weight >= 0) ||
      !(o.min_split_gain >= 0)) {
    raise<invalid_argument>("scoring.gbdt",
                            "lambda, alpha, min_child_weight and min_split_gain must be >= 0");
  }
  if (!(o.subsample > 0 && o.subsample <= 1))
    raise<invalid_argument>("scoring.gbdt", "subsample {} must be in (0, 1]", o.subsample);
  if (!(o.colsample_bytree > 0 && o.colsample_bytree <= 1))
    raise<invalid_argument>("scoring.gbdt", "colsample_bytree {} must be in (0, 1]",
                            o.colsample_bytree);
  if (o.max_bins < 2 || o.max_bins > 256)
    raise<invalid_argument>("scoring.gbdt", "max_bins {} must be in [2, 256]", o.max_bins);
  if (o.growth == growth_policy::depthwise && o.max_depth == 0)
    raise<invalid_argument>("scoring.gbdt", "depthwise growth needs max_depth > 0");
  if (static_cast<unsigned>(o.objective) > static_cast<unsigned>(gbdt_objective::poisson)) {
    raise<invalid_argument>("scoring.gbdt", "unknown objective {}",
                            static_cast<unsigned>(o.objective));
  }
  if (o.objective == gbdt_objective::multi_softmax && o.num_classes < 2)
    raise<invalid_argument>("scoring.gbdt", "multi_softmax needs num_classes >= 2");
  if (o.objective == gbdt_objective::multi_softmax && o.num_classes > gbdt_max_classes)
    raise<invalid_argument>("scoring.gbdt", "num_classes {} must be <= {}", o.num_classes,
                            gbdt_max_classes);
  if (!o.monotone.empty() && o.monotone.size() != cols)
    raise<dimension_mismatch>("scoring.gbdt", "monotone has {} entries for {} features",
                              o.monotone.size(), cols);
  for (std::size_t f = 0; f < o.monotone.size(); ++f) {
    if (o.monotone[f] < -1 || o.monotone[f] > 1)
      raise<invalid_argument>("scoring.gbdt", "monotone[{}] = {} must be -1, 0 or 1", f,
                              o.monotone[f]);
  }
  if (!(o.scale_pos_weight > 0) || !std::isfinite(o.scale_pos_weight))
    raise<invalid_argument>("scoring.gbdt", "scale_pos_weight {} must be > 0 and finite",
                            o.scale_pos_weight);
  if (!o.feature_names.empty()) {
    if (o.feature_names.size() != cols) {
      raise<dimension_mismatch>("scoring.gbdt", "feature_names has {} names for {} features",
                                o.feature_names.size(), cols);
    }
    detail::check_unique_names(o.feature_names, "scoring.gbdt");
  }
}

double estimated_base(const gbdt_options& o, const gbdt_data& d) {
  double sum = 0;
  double wsum = 0;
  for (std::size_t i = 0; i < d.labels.size(); ++i) {
    const double w = d.weights.empty() ? 1.0 : d.weights[i];
    sum += w * d.labels[i];
    wsum += w;
  }
  const double mean = wsum > 0 ? sum / wsum : 0.0;
  switch (o.objective) {
    case gbdt_objective::binary_logistic:
      return std::clamp(mean, 1e-6, 1.0 - 1e-6);
    case gbdt_objective::poisson:
      return std::max(mean, 1e-6);
    case gbdt_objective::squared_error:
      return mean;
    default:
      return 0.5;
  }
}

/// Margin-space base score (not checked against float's range: base_margin_of).
double base_margin_unchecked(const gbdt_options& o, double base) {
  switch (o.objective) {
    case gbdt_objective::binary_logistic:
      if (!(base > 0 && base < 1))
        raise<invalid_argument>("scoring.gbdt",
                                "base_score {} must be in (0, 1) for binary_logistic", base);
      return std::log(base / (1.0 - base));
    case gbdt_objective::poisson:
      if (!(base > 0))
        raise<invalid_argument>("scoring.gbdt", "base_score {} must be > 0 for poisson", base);
      return std::log(base);
    case gbdt_objective::squared_error:
      return base;
    case gbdt_objective::multi_softmax:
    case gbdt_objective::lambdarank:
      return 0.0;  // XGBoost adds 0.5 to every class: no effect
  }
  return 0.0;
}

/// Margin-space base score, finite as the float the model keeps.
double base_margin_of(const gbdt_options& o, double base) {
  const double margin = base_margin_unchecked(o, base);
  if (!std::isfinite(static_cast<float>(margin)))
    raise<invalid_argument>(
        "scoring.gbdt", "base_score {} gives a margin of {}, not finite as a float", base, margin);
  return margin;
}

void to_predictions(const gbdt_options& o, std::size_t k, std::span<const double> margins,
                    std::vector<double>& out) {
  out.assign(margins.begin(), margins.end());
  switch (o.objective) {
    case gbdt_objective::binary_logistic:
      for (auto& v : out) v = 1.0 / (1.0 + std::exp(-v));
      break;
    case gbdt_objective::poisson:
      for (auto& v : out) v = std::exp(v);
      break;
    case gbdt_objective::multi_softmax:
      for (std::size_t i = 0; i < out.size(); i += k) {
        const double mx = *std::max_element(out.begin() + static_cast<std::ptrdiff_t>(i),
                                            out.begin() + static_cast<std::ptrdiff_t>(i + k));
        double s = 0;
        for (std::size_t c = 0; c < k; ++c) s += (out[i + c] = std::exp(out[i + c] - mx));
        for (std::size_t c = 0; c < k; ++c) out[i + c] /= s;
      }
      break;
    default:
      break;
  }
}

/// The leaf of `t` a row reaches; `value(f)` is the row's value of feature f (NaN = missing).
template <typename Value>
std::int32_t leaf_of(const tree& t, const Value& value) {
  std::int32_t n = 0;
  while (!t.nodes[static_cast<std::size_t>(n)].is_leaf()) {
    const auto& node = t.nodes[static_cast<std::size_t>(n)];
    n = next_node(node, value(static_cast<std::size_t>(node.feature)), split_rule::less);
  }
  return n;
}

/// Adds the leaf value of `t` reached by each row of `d` to margins (group g of k).
void add_tree(const tree& t, const gbdt_data& d, std::size_t g, std::size_t k,
              std::span<double> margins) {
  for (std::size_t i = 0; i < d.num_rows(); ++i) {
    std::int32_t leaf = 0;
    if (d.sparse_features != nullptr) {
      const auto row = d.sparse_features->row(i);
      leaf = leaf_of(t, [&](std::size_t f) {
        const auto it = std::lower_bound(row.indices.begin(), row.indices.end(), f);
        return it != row.indices.end() && *it == f
                   ? row.values[static_cast<std::size_t>(it - row.indices.begin())]
                   : std::numeric_limits<float>::quiet_NaN();
      });
    } else {
      const auto row = d.features.row(i);
      leaf = leaf_of(t, [&](std::size_t f) { return row[f]; });
    }
    margins[i * k + g] += t.nodes[static_cast<std::size_t>(leaf)].value;
  }
}

// The checks fit_gbdt makes before any work.
void validate_inputs(const gbdt_data& train, const gbdt_options& o, const gbdt_data* valid,
                     const eval_metric* metric) {
  validate_options(o, train.num_features());
  validate(train, o, "training");
  if (valid) {
    validate(*valid, o, "validation");
    if (valid->num_features() != train.num_features()) {
      raise<dimension_mismatch>("scoring.gbdt", "validation data has {} columns, training data {}",
                                valid->num_features(), train.num_features());
    }
  }
  if (metric != nullptr && !metric->compute)
    raise<invalid_argument>("scoring.gbdt", "metric {} has no compute function", metric->name);
  if (o.early_stopping_rounds > 0 && (!valid || !metric)) {
    raise<invalid_argument>("scoring.gbdt",
                            "early_stopping_rounds needs a validation set and a metric");
  }
}

// The rows of this tree's sample (all when subsample >= 1).
std::vector<std::uint32_t> sample_rows(const gbdt_options& o, std::size_t n, rng& random) {
  std::vector<std::uint32_t> rows;
  if (o.subsample >= 1.0) {
    rows.resize(n);
    std::iota(rows.begin(), rows.end(), std::uint32_t{0});
    return rows;
  }
  rows.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    if (random.uniform() < o.subsample) rows.push_back(static_cast<std::uint32_t>(i));
  }
  return rows;
}

/// Positions of the row array per margin update task.
constexpr std::size_t margin_block = 8192;

// Tree t's leaf values added to the margins (group g of k) of the rows of its leaves, which
// together hold every position of `rows` once: tasks of margin_block positions, so a large leaf
// is shared by the threads (each margin is written by one task: the same for any thread count).
void add_leaves(const tree& t, std::vector<detail::leaf_range>& leaves,
                const std::vector<std::uint32_t>& rows, std::size_t g, std::size_t k,
                std::vector<double>& margins, detail::worker_pool& pool) {
  std::sort(leaves.begin(), leaves.end(),
            [](const detail::leaf_range& a, const detail::leaf_range& b) {
              return a.begin < b.begin || (a.begin == b.begin && a.end < b.end);
            });
  const std::size_t n = rows.size();
  pool.for_each((n + margin_block - 1) / margin_block, [&](std::size_t b, std::size_t) {
    const std::size_t from = b * margin_block;
    const std::size_t to = std::min(n, from + margin_block);
    // The first leaf that ends after `from`, then each one in order up to `to`.
    auto l = std::upper_bound(leaves.begin(), leaves.end(), from,
                              [](std::size_t p, const detail::leaf_range& r) { return p < r.end; });
    for (std::size_t p = from; p < to; ++l) {
      const double v = t.nodes[static_cast<std::size_t>(l->leaf)].value;
      const std::size_t last = std::min(to, l->end);
      for (; p < last; ++p) margins[rows[p] * k + g] += v;
    }
  });
}

// Group g's gradients (of k per row): all of them when k = 1, else copied into `gh`.
std::span<const grad_pair> group_gradients(std::size_t k, std::size_t g,
                                           const std::vector<grad_pair>& all_gh,
                                           std::vector<grad_pair>& gh) {
  if (k == 1) return all_gh;
  gh.resize(all_gh.size() / k);
  for (std::size_t i = 0; i < gh.size(); ++i) gh[i] = all_gh[i * k + g];
  return gh;
}

// The columns this tree may split on (colsample_bytree of them, all when it is 1).
std::vector<unsigned char> sample_columns(const gbdt_options& o, std::size_t cols, rng& random) {
  std::vector<unsigned char> used(cols, 1);
  if (o.colsample_bytree < 1.0) {
    std::vector<std::size_t> order(cols);
    std::iota(order.begin(), order.end(), 0);
    random.shuffle(std::span<std::size_t>(order));
    const auto keep = std::max<std::size_t>(
        1, static_cast<std::size_t>(o.colsample_bytree * static_cast<double>(cols)));
    std::fill(used.begin(), used.end(), 0);
    for (std::size_t j = 0; j < keep; ++j) used[order[j]] = 1;
  }
  return used;
}

// The model keeps leaf values and sums margins in float: a fit whose margins leave float's range
// (a learning rate of 1e300, labels of 1e39) is refused by name, not kept as a model of inf.
void check_margins(const gbdt_options& o, std::span<const double> margins, std::size_t round) {
  constexpr double largest = std::numeric_limits<float>::max();
  for (const double m : margins) {
    if (!(std::fabs(m) <= largest)) {
      raise<invalid_argument>("scoring.gbdt",
                              "after round {} a training margin is {}, not finite as a float "
                              "(learning_rate {}, lambda {}, min_child_weight {})",
                              round, m, o.learning_rate, o.lambda, o.min_child_weight);
    }
  }
}

// The best validation round so far (early stopping).
struct best_round_tracker {
  double best = 0;
  std::size_t round = 0;
};

// The margins of both sets, as the metric's predictions, and their history.
struct round_margins {
  std::span<const double> train;
  std::span<const double> valid;
};

// The round's metrics into `p` and `result`'s histories; tracks the best validation round.
void record_metrics(const gbdt_options& o, std::size_t k, const gbdt_data& train,
                    const gbdt_data* valid, const eval_metric& m, round_margins margins,
                    std::size_t round, gbdt_progress& p, gbdt_fit& result, best_round_tracker& best,
                    std::vector<double>& preds) {
  p.metric_name = m.name;
  // A value that is not a number would steer early stopping silently (v < best never holds).
  const auto checked = [&](double v, const char* which) {
    if (!std::isfinite(v))
      raise<invalid_argument>("scoring.gbdt", "metric {} is {} on the {} data after round {}",
                              m.name, v, which, round);
    return v;
  };
  to_predictions(o, k, margins.train, preds);
  p.train_metric = checked(m.compute(train.labels, preds, k, train.group_sizes), "training");
  result.train_history.push_back(*p.train_metric);
  if (valid) {
    to_predictions(o, k, margins.valid, preds);
    p.valid_metric = checked(m.compute(valid->labels, preds, k, valid->group_sizes), "validation");
    result.valid_history.push_back(*p.valid_metric);
    const double v = *p.valid_metric;
    if (best.round == 0 || (m.higher_is_better ? v > best.best : v < best.best)) {
      best.best = v;
      best.round = round;
    }
  }
}

// The trained model's ensemble_header (XGBoost's names for the objectives).
ensemble_header trained_params(const gbdt_options& o, std::size_t cols, std::size_t k,
                               double base_margin) {
  ensemble_header params;
  params.num_features = cols;
  params.num_groups = k;
  params.base_margin = {base_margin};
  params.rule = split_rule::less;
  params.sum = accumulation::float32;
  params.feature_names = o.feature_names;
  // Each objective's output transform and XGBoost name, in gbdt_objective's order.
  struct exported {
    output_transform transform;
    const char* objective;
  };
  static constexpr std::array<exported, 5> of{{{output_transform::sigmoid, "binary:logistic"},
                                               {output_transform::identity, "reg:squarederror"},
                                               {output_transform::softmax, "multi:softprob"},
                                               {output_transform::identity, "rank:ndcg"},
                                               {output_transform::exp, "count:poisson"}}};
  static_assert(static_cast<std::size_t>(gbdt_objective::poisson) + 1 == of.size());
  const exported& e = of[static_cast<std::size_t>(o.objective)];
  params.transform = e.transform;
  params.objective = e.objective;
  return params;
}

}  // namespace

gbdt_fit fit_gbdt(const gbdt_data& train, const gbdt_options& o, const gbdt_data* valid,
                  const eval_metric* metric) {
  validate_inputs(train, o, valid, metric);
  const std::size_t n = train.num_rows();
  const std::size_t cols = train.num_features();
  const std::size_t k = o.objective == gbdt_objective::multi_softmax ? o.num_classes : 1;

  detail::worker_pool pool(o.threads);
  const detail::binned_matrix bins =
      train.sparse_features != nullptr
          ? detail::bin_features(*train.sparse_features, o.max_bins, pool,
                                 detail::bin_storage::automatic, train.weights)
          : detail::bin_features(train.features, o.max_bins, pool, detail::bin_storage::automatic,
                                 train.weights);
  detail::tree_grower grower(bins, o, pool);
  const double base = o.base_score.value_or(estimated_base(o, train));
  const double base_margin = base_margin_of(o, base);

  std::vector<double> margins(n * k, base_margin);
  std::vector<double> valid_margins(valid ? valid->num_rows() * k : 0, base_margin);
  std::vector<grad_pair> all_gh(n * k);
  std::vector<grad_pair> gh;
  std::vector<tree> trees;
  rng random(o.seed);
  gbdt_fit result;
  best_round_tracker best;
  stopwatch clock;
  std::vector<double> preds;

  for (std::size_t round = 1; round <= o.rounds; ++round) {
    detail::compute_gradients(o, train, k, margins, all_gh, pool);
    for (std::size_t g = 0; g < k; ++g) {
      std::vector<std::uint32_t> rows = sample_rows(o, n, random);
      const std::vector<unsigned char> used = sample_columns(o, cols, random);
      std::vector<detail::leaf_range> leaves;
      tree t = grower.grow(group_gradients(k, g, all_gh, gh), rows, used, leaves);
      t.group = static_cast<std::int32_t>(g);
      if (o.subsample >= 1.0) {  // every row is in one leaf: by ranges of the row array
        add_leaves(t, leaves, rows, g, k, margins, pool);
      } else {
        add_tree(t, train, g, k, margins);  // rows left out of the sample move too
      }
      if (valid) add_tree(t, *valid, g, k, valid_margins);
      trees.push_back(std::move(t));
    }
    check_margins(o, margins, round);

    gbdt_progress p;
    p.iteration = round;
    p.rounds = o.rounds;
    if (metric) {
      record_metrics(o, k, train, valid, *metric, {margins, valid_margins}, round, p, result, best,
                     preds);
    }
    p.elapsed_seconds = clock.elapsed_s();
    p.remaining_seconds =
        p.elapsed_seconds / static_cast<double>(round) * static_cast<double>(o.rounds - round);
    if (o.on_progress) o.on_progress(p);
    if (o.early_stopping_rounds > 0 && round - best.round >= o.early_stopping_rounds) break;
  }
  result.best_iteration =
      (o.early_stopping_rounds > 0 && best.round > 0) ? best.round : trees.size() / k;
  trees.resize(result.best_iteration * k);

  ensemble_header params = trained_params(o, cols, k, base_margin);
  result.model = tree_ensemble(std::move(params), std::move(trees));
  return result;
}

std::function<void(const gbdt_progress&)> console_progress(std::size_t every) {
  return [every = std::max<std::size_t>(every, 1)](const gbdt_progress& p) {
    if (p.iteration % every != 0 && p.iteration != p.rounds) return;
    std::fprintf(stderr, "[gbdt] round %zu/%zu", p.iteration, p.rounds);
    if (p.train_metric)
      std::fprintf(stderr, "  train %s %.6f", p.metric_name.c_str(), *p.train_metric);
    if (p.valid_metric)
      std::fprintf(stderr, "  valid %s %.6f", p.metric_name.c_str(), *p.valid_metric);
    std::fprintf(stderr, "  %.1fs elapsed, ~%.1fs left\n", p.elapsed_seconds, p.remaining_seconds);
  };
}

}  // namespace funnel::scoring
