#include "search.hpp"

#include <funnel/core/error.hpp>
#include <funnel/core/file.hpp>
#include <funnel/core/gzip.hpp>
#include <funnel/core/libsvm.hpp>
#include <funnel/core/timer.hpp>
#include <funnel/metrics/ranking.hpp>
#include <funnel/pipeline/model_registry.hpp>
#include <funnel/pipeline/pipeline.hpp>
#include <funnel/scoring/gbdt.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <numeric>
#include <sstream>
#include <tuple>

namespace search_rank {

namespace fp = funnel::pipeline;
namespace fs = funnel::scoring;

namespace {

std::string read_maybe_gzip(const std::filesystem::path& path) {
  auto bytes = funnel::read_file(path);
  return funnel::is_gzip(bytes) ? funnel::gunzip(bytes, path.string()) : bytes;
}

void index_groups(ranking_set& s) {
  s.group_begin.resize(s.groups.size());
  std::size_t at = 0;
  for (std::size_t q = 0; q < s.groups.size(); ++q) {
    s.group_begin[q] = at;
    at += s.groups[q];
  }
}

/// RetrievalStage: the documents the index matched for the query (here: the query's group, in file
/// order). The score only carries that order into the pipeline's merge.
struct query_documents {
  const ranking_set* set = nullptr;
  [[nodiscard]] funnel::candidate_list retrieve(const fp::request& r, std::size_t k) const {
    const auto q = static_cast<std::size_t>(r.id);
    const auto begin = set->group_begin[q], size = std::min(k, set->groups[q]);
    funnel::candidate_list out(size);
    for (std::size_t i = 0; i < size; ++i)
      out[i] = {begin + i, static_cast<float>(set->groups[q] - i)};
    return out;
  }
};

/// FeatureStage: the stored feature row of each candidate document.
struct document_features {
  const ranking_set* set = nullptr;
  [[nodiscard]] std::size_t width() const noexcept { return set->features.cols(); }
  void build(const fp::request&, std::span<const funnel::candidate> c, std::span<float> out) const {
    const auto w = width();
    for (std::size_t i = 0; i < c.size(); ++i) {
      const auto row = set->features.row(static_cast<std::size_t>(c[i].id));
      std::copy(row.begin(), row.end(), out.begin() + static_cast<std::ptrdiff_t>(i * w));
    }
  }
};

double median(std::vector<double> v) {
  if (v.empty()) return 0.0;
  const auto mid = v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2);
  std::nth_element(v.begin(), mid, v.end());
  return *mid;
}

double percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0.0;
  std::sort(v.begin(), v.end());
  const auto i =
      std::min(v.size() - 1, static_cast<std::size_t>(q * static_cast<double>(v.size())));
  return v[i];
}

/// Scores that reproduce an order: the first document gets the highest.
std::vector<double> scores_of_orders(const ranking_set& set,
                                     const std::vector<served_query>& served) {
  std::vector<double> s(set.rows(), 0.0);
  for (const auto& q : served) {
    for (std::size_t p = 0; p < q.order.size(); ++p)
      s[q.order[p]] = static_cast<double>(q.order.size() - p);
  }
  return s;
}

fs::tree_ensemble train_lambdamart(const ranking_set& train, std::size_t rounds, std::size_t leaves,
                                   double learning_rate, const options& opt) {
  fs::gbdt_data d;
  d.features = train.features.view();
  d.labels = train.relevance;
  d.group_sizes = train.groups;
  fs::gbdt_options o;
  o.objective = fs::gbdt_objective::lambdarank;
  o.growth = fs::growth_policy::lossguide;
  o.max_depth = 0;
  o.max_leaves = leaves;
  o.rounds = rounds;
  o.learning_rate = learning_rate;
  o.lambda = 0.0;  // LightGBM's lambda_l2 default
  o.min_child_weight = opt.min_child_weight;
  o.base_score = 0.0;  // LightGBM's lambdarank starts every document at 0
  o.lambdarank_truncation = 30;
  o.seed = opt.seed;
  o.threads = opt.threads;
  return fs::fit_gbdt(d, o).model;
}

}  // namespace

ranking_set ranking_set::slice_queries(std::size_t begin, std::size_t end) const {
  if (begin > end || end > queries()) {
    funnel::raise<funnel::invalid_argument>("app.ranking_set", "queries [{}, {}) of {}", begin, end,
                                            queries());
  }
  ranking_set out;
  const auto r0 = begin < queries() ? group_begin[begin] : rows();
  const auto r1 = end < queries() ? group_begin[end] : rows();
  out.features = funnel::matrix(r1 - r0, features.cols());
  for (std::size_t r = r0; r < r1; ++r) {
    const auto row = features.row(r);
    std::copy(row.begin(), row.end(), out.features.data() + (r - r0) * features.cols());
  }
  out.relevance.assign(relevance.begin() + static_cast<std::ptrdiff_t>(r0),
                       relevance.begin() + static_cast<std::ptrdiff_t>(r1));
  out.groups.assign(groups.begin() + static_cast<std::ptrdiff_t>(begin),
                    groups.begin() + static_cast<std::ptrdiff_t>(end));
  index_groups(out);
  return out;
}

ranking_set load_ranking(const std::filesystem::path& data, const std::filesystem::path& query,
                         std::size_t min_cols) {
  funnel::libsvm_options lo;
  lo.min_cols = min_cols;
  const auto parsed = funnel::parse_libsvm(read_maybe_gzip(data), data.string(), lo);
  ranking_set s;
  s.features = parsed.features.to_dense(0.0F);  // LightGBM reads an absent entry as 0
  s.relevance.assign(parsed.labels.begin(), parsed.labels.end());
  std::istringstream in(read_maybe_gzip(query));
  std::string line;
  std::size_t line_no = 0, total = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.empty() || line == "\r") continue;
    std::size_t used = 0;
    long long v = -1;
    try {
      v = std::stoll(line, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || v <= 0) {
      funnel::raise<funnel::invalid_argument>("app.load_ranking",
                                              "{}:{}: '{}' is not a positive query size",
                                              query.string(), line_no, line);
    }
    s.groups.push_back(static_cast<std::size_t>(v));
    total += static_cast<std::size_t>(v);
  }
  if (total != s.rows()) {
    funnel::raise<funnel::invalid_argument>(
        "app.load_ranking", "{}: query sizes add up to {} documents, {} has {} rows",
        query.string(), total, data.string(), s.rows());
  }
  index_groups(s);
  return s;
}

namespace {
funnel::metrics::ranking_report ndcg_report(const ranking_set& set, std::span<const double> scores,
                                            std::size_t k) {
  funnel::metrics::ndcg_options o;
  o.gain = funnel::metrics::ndcg_gain::exponential;
  o.empty_query_value = 1.0;
  // funnel's metrics take scores as floats (as served models write them); these are the double
  // margins the comparison with LightGBM is made on, rounded once here.
  const std::vector<float> s(scores.begin(), scores.end());
  return funnel::metrics::evaluate_ranking(funnel::metrics::ranking_metric::ndcg, set.relevance, s,
                                           set.groups, k, o);
}
}  // namespace

double ndcg(const ranking_set& set, std::span<const double> scores, std::size_t k) {
  return ndcg_report(set, scores, k).mean;
}

double ndcg_standard_error(const ranking_set& set, std::span<const double> scores, std::size_t k) {
  const auto r = ndcg_report(set, scores, k);
  const auto n = static_cast<double>(r.per_query.size());
  if (n < 2) return 0.0;
  double ss = 0;
  for (const auto v : r.per_query) ss += (v - r.mean) * (v - r.mean);
  return std::sqrt(ss / (n - 1) / n);
}

std::vector<double> score_all(const fs::tree_ensemble& model, const ranking_set& set) {
  std::vector<double> out(set.rows());
  std::vector<double> row(set.features.cols());
  double m = 0;
  for (std::size_t i = 0; i < set.rows(); ++i) {
    const auto r = set.features.row(i);
    std::copy(r.begin(), r.end(), row.begin());
    model.margins(std::span<const double>(row), std::span<double>(&m, 1));
    out[i] = m;
  }
  return out;
}

std::vector<served_query> serve_cascade(const ranking_set& set,
                                        std::shared_ptr<const fs::tree_ensemble> cheap,
                                        std::shared_ptr<const fs::tree_ensemble> expensive,
                                        std::size_t top_n, std::size_t repeats) {
  if (repeats == 0 || !expensive || (top_n > 0 && !cheap)) {
    funnel::raise<funnel::invalid_argument>(
        "app.serve_cascade",
        "need repeats >= 1 (got {}), an expensive model and, for top_n > "
        "0, a cheap one",
        repeats);
  }
  for (const auto* m : {cheap.get(), expensive.get()}) {
    if (m && m->num_features() > set.features.cols()) {
      funnel::raise<funnel::invalid_argument>("app.serve_cascade",
                                              "a model reads {} features, the documents have {}",
                                              m->num_features(), set.features.cols());
    }
  }
  const std::size_t widest =
      set.groups.empty() ? 0 : *std::max_element(set.groups.begin(), set.groups.end());
  auto registry = std::make_shared<fp::model_registry<fs::tree_ensemble>>();
  registry->add("lambdamart", std::move(expensive));
  fp::ranker<fs::tree_ensemble> rank{registry, top_n > 0 ? std::move(cheap) : nullptr, top_n};
  fp::pipeline_options po;
  // Generous budgets: the figures must measure the models, not a busy machine's fallbacks.
  po.retrieval_budget = std::chrono::seconds(1);
  po.ranking_budget = std::chrono::seconds(1);
  po.rerank_budget = std::chrono::seconds(1);
  const auto p = fp::make_pipeline(
      std::tuple{fp::retriever_slot<query_documents>{"index", query_documents{&set}, widest}},
      std::tuple{}, document_features{&set}, std::move(rank), std::tuple{}, po);
  std::vector<served_query> out(set.queries());
  std::vector<double> total(repeats), ranking(repeats);
  for (std::size_t q = 0; q < set.queries(); ++q) {
    fp::request req;
    req.id = q;
    req.slate_size = widest;
    for (std::size_t k = 0; k < repeats; ++k) {
      auto res = p.run(req);
      if (!res.trace.degraded.empty()) {
        funnel::raise<funnel::invalid_argument>("app.serve_cascade", "query {} degraded: {}", q,
                                                res.trace.degraded.front());
      }
      total[k] = res.trace.total_micros;
      ranking[k] = 0;
      for (const auto& st : res.trace.stages)
        if (st.stage == "rank") ranking[k] = st.micros;
      if (k == 0) {
        for (const auto& c : res.slate) out[q].order.push_back(static_cast<std::size_t>(c.id));
      }
    }
    out[q].total_us = median(total);
    out[q].rank_us = median(ranking);
  }
  return out;
}

report run(const ranking_set& train, const ranking_set& test, const fs::tree_ensemble& imported,
           const options& opt) {
  funnel::stopwatch total;
  const auto say = [&](const std::string& line) {
    if (opt.progress) opt.progress(fmt::format("[{:5.1f} s] {}", total.elapsed_us() * 1e-6, line));
  };
  if (train.queries() == 0 || test.queries() == 0) {
    funnel::raise<funnel::invalid_argument>("app.run", "empty set: {} training, {} test queries",
                                            train.queries(), test.queries());
  }
  if (imported.num_features() > test.features.cols()) {
    funnel::raise<funnel::invalid_argument>(
        "app.run", "the imported model reads {} features, the test documents have {}",
        imported.num_features(), test.features.cols());
  }
  report r;
  r.train_rows = train.rows();
  r.train_queries = train.queries();
  r.test_rows = test.rows();
  r.test_queries = test.queries();
  r.features = train.features.cols();
  r.lightgbm_trees = imported.num_trees();

  say(
      fmt::format("training LambdaMART in funnel: {} trees of {} leaves on {} documents / {} "
                  "queries",
                  opt.rounds, opt.leaves, train.rows(), train.queries()));
  funnel::stopwatch w;
  const auto cpu0 = std::clock();
  auto main = std::make_shared<const fs::tree_ensemble>(
      train_lambdamart(train, opt.rounds, opt.leaves, opt.learning_rate, opt));
  r.train_seconds = w.elapsed_us() * 1e-6;
  r.train_cpu_seconds = static_cast<double>(std::clock() - cpu0) / CLOCKS_PER_SEC;
  say(fmt::format(
      "trained in {:.2f} s ({:.2f} s CPU); training the cheap first stage ({} trees of {} leaves)",
      r.train_seconds, r.train_cpu_seconds, opt.cheap_rounds, opt.cheap_leaves));
  auto cheap = std::make_shared<const fs::tree_ensemble>(
      train_lambdamart(train, opt.cheap_rounds, opt.cheap_leaves, opt.cheap_learning_rate, opt));
  r.funnel_trees = main->num_trees();
  r.cheap_trees = cheap->num_trees();

  const double docs_per_query =
      static_cast<double>(test.rows()) / static_cast<double>(test.queries());
  const auto stage = [&](std::string name, const std::vector<double>& s, double trees) {
    stage_quality q;
    q.stage = std::move(name);
    q.ndcg1 = ndcg(test, s, 1);
    q.ndcg3 = ndcg(test, s, 3);
    q.ndcg5 = ndcg(test, s, 5);
    q.ndcg10 = ndcg(test, s, 10);
    q.ndcg10_se = ndcg_standard_error(test, s, 10);
    q.tree_evaluations = trees * docs_per_query;
    return q;
  };
  std::vector<double> file_order(test.rows());
  for (std::size_t q = 0; q < test.queries(); ++q)
    for (std::size_t i = 0; i < test.groups[q]; ++i)
      file_order[test.group_begin[q] + i] = static_cast<double>(test.groups[q] - i);
  r.stages.push_back(stage("unranked (file order)", file_order, 0));
  r.stages.push_back(stage(fmt::format("cheap: funnel LambdaMART, {} trees", r.cheap_trees),
                           score_all(*cheap, test), static_cast<double>(r.cheap_trees)));
  r.stages.push_back(stage(fmt::format("funnel LambdaMART, {} trees", r.funnel_trees),
                           score_all(*main, test), static_cast<double>(r.funnel_trees)));
  r.stages.push_back(stage(fmt::format("LightGBM model.txt, {} trees", r.lightgbm_trees),
                           score_all(imported, test), static_cast<double>(r.lightgbm_trees)));

  // The expensive model's own order of each query (float path and tie rule of the pipeline),
  // computed without the pipeline: the cascade with n >= the query size must reproduce it.
  std::vector<std::vector<std::size_t>> reference(test.queries());
  for (std::size_t q = 0; q < test.queries(); ++q) {
    const auto b = test.group_begin[q], n = test.groups[q];
    std::vector<float> s(n);
    main->score_batch(test.features.view().middle_rows(b, n), s);
    std::vector<std::size_t> idx(n);
    std::iota(idx.begin(), idx.end(), std::size_t{0});
    std::sort(idx.begin(), idx.end(),
              [&](std::size_t a, std::size_t c) { return s[a] > s[c] || (s[a] == s[c] && a < c); });
    for (const auto i : idx) reference[q].push_back(b + i);
  }
  for (const auto n : opt.cascade_n) {
    say(n == 0 ? std::string("serving: expensive model on every document")
               : fmt::format("serving: cascade with the expensive model on the top {}", n));
    const auto served = serve_cascade(test, cheap, main, n, opt.latency_repeats);
    cascade_point pt;
    pt.n = n;
    const auto order_scores = scores_of_orders(test, served);
    pt.ndcg10 = ndcg(test, order_scores, 10);
    pt.ndcg10_se = ndcg_standard_error(test, order_scores, 10);
    std::vector<double> tot, rank;
    double expensive_docs = 0;
    pt.equals_expensive = true;
    for (std::size_t q = 0; q < test.queries(); ++q) {
      tot.push_back(served[q].total_us);
      rank.push_back(served[q].rank_us);
      const auto docs = test.groups[q];
      const bool cascaded = n > 0 && n < docs;
      expensive_docs += static_cast<double>(cascaded ? n : docs);
      pt.tree_evaluations += static_cast<double>(
          cascaded ? docs * r.cheap_trees + n * r.funnel_trees : docs * r.funnel_trees);
      pt.equals_expensive = pt.equals_expensive && served[q].order == reference[q];
    }
    const auto nq = static_cast<double>(test.queries());
    pt.expensive_docs = expensive_docs / nq;
    pt.tree_evaluations /= nq;
    pt.p50_us = percentile(tot, 0.5);
    pt.p90_us = percentile(tot, 0.9);
    pt.rank_us = std::accumulate(rank.begin(), rank.end(), 0.0) / nq;
    r.cascade.push_back(pt);
  }
  r.seconds = total.elapsed_us() * 1e-6;
  say("done");
  return r;
}

std::string format_report(const report& r) {
  std::string s;
  s += fmt::format(
      "LightGBM lambdarank data: {} training documents in {} queries, {} test documents in {} "
      "queries, {} features ({:.1f} s end to end)\n",
      r.train_rows, r.train_queries, r.test_rows, r.test_queries, r.features, r.seconds);
  s += fmt::format("funnel LambdaMART trained in {:.2f} s wall, {:.2f} s CPU (1 thread)\n",
                   r.train_seconds, r.train_cpu_seconds);
  s += "\n== NDCG on the test queries (gain 2^rel - 1, as LightGBM) ==\n";
  s += fmt::format("{:<36} {:>8} {:>8} {:>8} {:>8} {:>8} {:>14}\n", "stage", "NDCG@1", "NDCG@3",
                   "NDCG@5", "NDCG@10", "+- s.e.", "trees x docs");
  for (const auto& st : r.stages) {
    s += fmt::format("{:<36} {:>8.4f} {:>8.4f} {:>8.4f} {:>8.4f} {:>8.4f} {:>14.0f}\n", st.stage,
                     st.ndcg1, st.ndcg3, st.ndcg5, st.ndcg10, st.ndcg10_se, st.tree_evaluations);
  }
  s += fmt::format(
      "\n== two-stage cascade (funnel::pipeline ranker): cheap model on every document, funnel "
      "LambdaMART on the top n ==\n");
  s += fmt::format("{:>6} {:>9} {:>8} {:>16} {:>14} {:>9} {:>9} {:>9}  {}\n", "n", "NDCG@10",
                   "+- s.e.", "expensive docs", "trees x docs", "p50 us", "p90 us", "rank us", "");
  for (const auto& c : r.cascade) {
    s += fmt::format("{:>6} {:>9.4f} {:>8.4f} {:>16.1f} {:>14.0f} {:>9.1f} {:>9.1f} {:>9.1f}  {}\n",
                     c.n == 0 ? std::string("all") : std::to_string(c.n), c.ndcg10, c.ndcg10_se,
                     c.expensive_docs, c.tree_evaluations, c.p50_us, c.p90_us, c.rank_us,
                     c.equals_expensive ? "= expensive model's order" : "");
  }
  s += "(latency: per query, median of repeated runs, whole pipeline: retrieve, features, rank)\n";
  s += fmt::format(
      "note: {} test queries; NDCG differences below about two standard errors are noise\n",
      r.test_queries);
  return s;
}

}  // namespace search_rank
