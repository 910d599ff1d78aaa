// End-to-end serving benchmark of funnel::pipeline (issue 12):
//   1M items x 64-d clustered embeddings in funnel's HNSW (M 16, ef_construction 100, cosine)
//   + funnel's popularity model  -> RRF fusion with quotas 700 + 300 (~1,000 candidates)
//   -> seen filter -> 30 features through funnel::features (user table, item table, context,
//   retrieval score) -> a 300-tree depth-6 GBDT trained with funnel's fit_gbdt -> MMR to 20.
// Built index and model are cached next to the executable (funnel's own save/load), so reruns
// start in seconds. The same stages are also wired by JSON (stage_registry with the built-in
// "features" and "mmr" types) and served interleaved with the compile-time pipeline.
//
//   bench_pipeline [--items N] [--requests N] [--mode latency|throughput|both]
//                  [--threads T] [--seconds S] [--cache DIR]
// Latency on one core:  nice -n -10 taskset -c 1 bench_pipeline --mode latency
// Throughput, 2 threads: nice -n -10 taskset -c 0,1 bench_pipeline --mode throughput
#include <funnel/core/random.hpp>
#include <funnel/core/timer.hpp>
#include <funnel/features.hpp>
#include <funnel/pipeline.hpp>
#include <funnel/rerank.hpp>
#include <funnel/retrieval/hnsw_index.hpp>
#include <funnel/retrieval/popularity.hpp>
#include <funnel/scoring/gbdt.hpp>
#include <funnel/scoring/tree_ensemble.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <string>
#include <thread>
#include <time.h>
#include <vector>

namespace fp = funnel::pipeline;
namespace ff = funnel::features;
namespace fr = funnel::retrieval;
namespace fs = funnel::scoring;
using funnel::candidate_list;

namespace {

constexpr std::size_t dim = 64;
constexpr std::size_t clusters = 1000;
constexpr std::size_t user_cols = 6;
constexpr std::size_t item_cols = 20;
constexpr std::uint64_t seed = 20261123;

struct args {
  std::size_t items = 1'000'000;
  std::size_t users = 100'000;
  std::size_t requests = 2000;
  std::size_t warmup = 200;
  std::size_t threads = 2;
  double seconds = 10.0;
  std::size_t cascade = 0;  ///< > 0: also serve a cascade (light GBDT on all, main on the top n)
  std::string mode = "both";
  std::filesystem::path cache;
};

using funnel::thread_cpu_us;

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0.0;
  std::sort(v.begin(), v.end());
  const auto i = static_cast<std::size_t>(std::ceil(p * static_cast<double>(v.size()))) - 1;
  return v[std::min(i, v.size() - 1)];
}

/// The synthetic world: clustered item embeddings, users near a mix of clusters, feature tables.
struct world {
  funnel::matrix centers{clusters, dim};
  funnel::matrix items;
  std::vector<std::uint32_t> item_cluster;
  funnel::matrix users;
  funnel::matrix user_features;  // users x 6
  funnel::matrix item_features;  // items x 20

  explicit world(const args& a) : items(a.items, dim), users(a.users, dim) {
    funnel::rng g(seed);
    for (std::size_t c = 0; c < clusters; ++c)
      for (auto& x : centers.row(c)) x = static_cast<float>(g.normal());
    item_cluster.resize(a.items);
    item_features = funnel::matrix(a.items, item_cols);
    for (std::size_t i = 0; i < a.items; ++i) {
      const auto c = static_cast<std::uint32_t>(g.below(clusters));
      item_cluster[i] = c;
      auto e = items.row(i);
      for (std::size_t d = 0; d < dim; ++d)
        e[d] = centers.row(c)[d] + static_cast<float>(0.6 * g.normal());
      auto f = item_features.row(i);
      f[0] = static_cast<float>(std::exp(2.0 * g.normal()));  // popularity-like count
      for (std::size_t j = 1; j < item_cols; ++j)
        f[j] = static_cast<float>(g.normal() + 0.5 * e[j % dim]);
    }
    user_features = funnel::matrix(a.users, user_cols);
    for (std::size_t u = 0; u < a.users; ++u) {
      const auto c1 = g.below(clusters);
      const auto c2 = g.below(clusters);
      auto e = users.row(u);
      for (std::size_t d = 0; d < dim; ++d) {
        e[d] = 0.7F * centers.row(c1)[d] + 0.3F * centers.row(c2)[d] +
               static_cast<float>(0.3 * g.normal());
      }
      for (auto& x : user_features.row(u)) x = static_cast<float>(g.normal());
    }
  }
};

/// HNSW by the user's embedding.
struct ann_retriever {
  const fr::hnsw_index* index;
  const funnel::matrix* users;
  candidate_list retrieve(const fp::request& q, std::size_t k) const {
    if (!q.query.user || *q.query.user >= users->rows())
      funnel::raise<funnel::not_found>("app.ann", "no embedding for this user");
    fr::search_options o;
    o.ef = k;
    return index->search(users->row(*q.query.user), k, o);
  }
};

fr::hnsw_index build_or_load_index(const world& w, const args& a) {
  const auto path = a.cache / ("pipeline_hnsw_" + std::to_string(a.items) + ".bin");
  if (std::filesystem::exists(path)) {
    funnel::stopwatch t;
    auto idx = fr::hnsw_index::load(path);
    if (idx.options().dim != dim || idx.options().metric != fr::metric::cosine) {
      funnel::raise<funnel::invalid_argument>("app.bench_pipeline", "{}: not a {}-d cosine index",
                                              path.string(), dim);
    }
    std::printf("index: loaded %s in %.1f s\n", path.c_str(), t.elapsed_s());
    return idx;
  }
  fr::hnsw_options p;
  p.dim = dim;
  p.metric = fr::metric::cosine;
  p.M = 16;
  p.ef_construction = 100;
  p.capacity = a.items;
  fr::hnsw_index idx(p);
  funnel::stopwatch t;
  const std::size_t chunk = 50'000;
  std::vector<std::uint64_t> ids;
  for (std::size_t b = 0; b < a.items; b += chunk) {
    const auto n = std::min(chunk, a.items - b);
    ids.resize(n);
    for (std::size_t i = 0; i < n; ++i) ids[i] = b + i;
    idx.add_batch(ids, w.items.view().middle_rows(b, n), 2);
    std::fprintf(stderr, "\rindex: %zu / %zu items, %.0f s", b + n, a.items, t.elapsed_s());
  }
  std::fprintf(stderr, "\n");
  std::printf("index: built %zu x %zu (M 16, ef_construction 100, 2 threads) in %.1f s\n", a.items,
              dim, t.elapsed_s());
  idx.save(path);
  return idx;
}

ff::schema feature_schema() {
  std::vector<ff::column_spec> cols;
  auto add = [&](std::string name) {
    cols.push_back({std::move(name), ff::column_type::numeric, ff::missing_policy::allow});
  };
  for (std::size_t j = 0; j < user_cols; ++j) add(fmt::format("u{}", j));
  for (std::size_t j = 0; j < item_cols; ++j) add(fmt::format("i{}", j));
  add("hour");
  add("weekday");
  add("retrieval_score");
  return ff::schema(std::move(cols));
}

/// 30 outputs: 6 user + 20 item columns (scaled; the count logged), 2 context, the retrieval
/// score and one user x item interaction.
ff::any_pipeline make_features(const ff::schema& s) {
  std::vector<ff::any_component> c;
  for (std::size_t j = 0; j < user_cols; ++j)
    c.emplace_back(ff::numeric_column(fmt::format("u{}", j), {ff::standard_scaler{}}));
  c.emplace_back(ff::numeric_column("i0", {ff::log_transform{}, ff::standard_scaler{}}));
  for (std::size_t j = 1; j < item_cols; ++j)
    c.emplace_back(ff::numeric_column(fmt::format("i{}", j), {ff::standard_scaler{}}));
  c.emplace_back(ff::numeric_column("hour", {ff::min_max_scaler{}}));
  c.emplace_back(ff::numeric_column("weekday", {ff::min_max_scaler{}}));
  c.emplace_back(ff::numeric_column("retrieval_score", {}));
  c.emplace_back(ff::interaction("u0", "i1"));
  return ff::any_pipeline(s, std::move(c));
}

/// Fits the features on sampled (user, item) pairs and trains (or loads) the 300-tree GBDT on
/// their rows, with a label that depends on the user-item affinity the features only partly see.
fs::tree_ensemble fit_models(const world& w, const args& a, ff::any_pipeline& features,
                             fs::tree_ensemble* light) {
  const std::size_t n = 20'000;
  funnel::rng g(seed + 1);
  const auto& s = features.get_schema();
  std::vector<std::vector<float>> cols(s.size(), std::vector<float>(n));
  std::vector<float> label(n);
  for (std::size_t r = 0; r < n; ++r) {
    const auto u = g.below(w.users.rows());
    const auto i = g.below(w.items.rows());
    for (std::size_t j = 0; j < user_cols; ++j) cols[j][r] = w.user_features(u, j);
    for (std::size_t j = 0; j < item_cols; ++j) cols[user_cols + j][r] = w.item_features(i, j);
    cols[26][r] = static_cast<float>(g.below(24));
    cols[27][r] = static_cast<float>(g.below(7));
    cols[28][r] = static_cast<float>(g.uniform(0.0, 0.033));
    const double z = 0.8 * w.user_features(u, 0) * w.item_features(i, 1) +
                     0.5 * std::log(w.item_features(i, 0)) - 0.4 * w.item_features(i, 2) +
                     0.3 * w.user_features(u, 3) * w.item_features(i, 5) +
                     0.2 * std::sin(cols[26][r] / 4.0) + 0.5 * g.normal();
    label[r] = g.uniform() < 1.0 / (1.0 + std::exp(-z)) ? 1.0F : 0.0F;
  }
  ff::batch b(s);
  for (std::size_t c = 0; c < s.size(); ++c) b.set(c, cols[c]);
  features.fit(b);
  const auto x = features.transform(b);
  std::printf("features: %zu inputs -> %zu outputs\n", s.size(), features.width());

  const auto train = [&](std::size_t rounds, std::size_t depth, double learning_rate) {
    fs::gbdt_options o;
    o.rounds = rounds;
    o.max_depth = depth;
    o.learning_rate = learning_rate;
    o.threads = 2;
    o.seed = seed;
    fs::gbdt_data d;
    d.features = x.view();
    d.labels = label;
    return fs::fit_gbdt(d, o).model;
  };
  if (light != nullptr) *light = train(30, 4, 0.3);
  const auto path = a.cache / fmt::format("pipeline_gbdt_300_{}.json", a.items);
  if (std::filesystem::exists(path)) return fs::tree_ensemble::load(path);
  funnel::stopwatch t;
  auto model = train(300, 6, 0.1);
  std::printf("gbdt: trained 300 trees, depth 6, on %zu x %zu in %.1f s\n", n, x.cols(),
              t.elapsed_s());
  model.save(path);
  return model;
}

struct stage_stats {
  double sum_us = 0;
  double sum_cpu_us = 0;
  std::size_t n = 0;
};

struct run_stats {
  std::vector<double> wall, cpu;
  std::map<std::string, stage_stats> stages;
  double candidates = 0;
  std::size_t degraded = 0;
  void add(const fp::result& r, double wall_us, double cpu_us) {
    wall.push_back(wall_us);
    cpu.push_back(cpu_us);
    for (const auto& s : r.trace.stages) {
      auto& st = stages[s.stage];
      st.sum_us += s.micros;
      st.sum_cpu_us += s.cpu_micros;
      ++st.n;
      if (s.stage == "features") candidates += static_cast<double>(s.candidates_in);
    }
    degraded += r.trace.degraded.empty() ? 0 : 1;
  }
  void print(const char* name) const {
    const auto mean = [&](const std::vector<double>& v) {
      double t = 0;
      for (double x : v) t += x;
      return t / static_cast<double>(v.size());
    };
    const double mean_total = mean(wall);
    const double mean_cpu = mean(cpu);
    std::printf(
        "%s: %zu requests, %.0f candidates ranked/request, %zu degraded\n"
        "  wall  p50 %.2f ms  p90 %.2f ms  p99 %.2f ms  mean %.2f ms\n"
        "  cpu   p50 %.2f ms  p90 %.2f ms  p99 %.2f ms\n",
        name, wall.size(), candidates / static_cast<double>(wall.size()), degraded,
        percentile(wall, 0.5) / 1e3, percentile(wall, 0.9) / 1e3, percentile(wall, 0.99) / 1e3,
        mean_total / 1e3, percentile(cpu, 0.5) / 1e3, percentile(cpu, 0.9) / 1e3,
        percentile(cpu, 0.99) / 1e3);
    std::printf("    %-18s %10s %7s %10s %7s\n", "stage", "wall us", "share", "cpu us", "share");
    for (const auto& [stage, st] : stages) {
      const double w = st.sum_us / static_cast<double>(wall.size());
      const double c = st.sum_cpu_us / static_cast<double>(wall.size());
      std::printf("    %-18s %10.1f %6.1f%% %10.1f %6.1f%%\n", stage.c_str(), w,
                  100.0 * w / mean_total, c, 100.0 * c / mean_cpu);
    }
  }
};

fp::request make_request(funnel::rng& g, const args& a, std::uint64_t id,
                         std::vector<std::uint64_t>& history, std::vector<float>& context) {
  fp::request q;
  q.id = id;
  q.query.user = g.below(a.users);
  history.resize(10);
  for (auto& h : history) h = g.below(a.items);
  q.query.history = history;
  context = {static_cast<float>(g.below(24)), static_cast<float>(g.below(7))};
  q.context = context;
  q.slate_size = 20;
  q.deadline = funnel::deadline::after(std::chrono::seconds(1));
  return q;
}

}  // namespace

int main(int argc, char** argv) {
  args a;
  a.cache = std::filesystem::absolute(argv[0]).parent_path();
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    const char* v = argv[i + 1];
    if (k == "--items") {
      a.items = std::stoul(v);
    } else if (k == "--requests") {
      a.requests = std::stoul(v);
    } else if (k == "--threads") {
      a.threads = std::stoul(v);
    } else if (k == "--seconds") {
      a.seconds = std::stod(v);
    } else if (k == "--cascade") {
      a.cascade = std::stoul(v);
    } else if (k == "--mode") {
      a.mode = v;
    } else if (k == "--cache") {
      a.cache = v;
    } else {
      std::fprintf(stderr, "unknown option %s\n", k.c_str());
      return 2;
    }
  }
  a.users = std::min(a.users, a.items);

  funnel::stopwatch setup;
  const world w(a);
  std::printf("world: %zu items, %zu users, %zu-d, generated in %.1f s\n", a.items, a.users, dim,
              setup.elapsed_s());
  const auto index = build_or_load_index(w, a);

  // Popularity from a synthetic, skewed interaction log (funnel's popularity model as is).
  fr::interaction_log log;
  {
    funnel::rng g(seed + 2);
    for (std::size_t e = 0; e < 200'000; ++e) {
      const double u = g.uniform();
      log.add(g.below(a.users),
              static_cast<std::uint64_t>(u * u * u * static_cast<double>(a.items)));
    }
  }
  fr::popularity_options po;
  po.top_n = 2000;
  const auto popular = fr::fit_popularity(log, po);

  auto features = make_features(feature_schema());
  fs::tree_ensemble light_model;
  auto gbdt = std::make_shared<const fs::tree_ensemble>(fit_models(w, a, features, &light_model));
  auto light = std::make_shared<const fs::tree_ensemble>(std::move(light_model));
  std::printf("gbdt: %zu trees\n", gbdt->num_trees());

  // Tables the feature stage joins, and the attributes MMR reads (embeddings: a view, no copy).
  auto users = std::make_shared<fp::feature_table>(fp::feature_table::dense(a.users));
  {
    std::vector<std::string> names;
    for (std::size_t j = 0; j < user_cols; ++j) names.push_back(fmt::format("u{}", j));
    users->set_numeric(names, w.user_features);
  }
  auto items = std::make_shared<fp::feature_table>(fp::feature_table::dense(a.items));
  {
    std::vector<std::string> names;
    for (std::size_t j = 0; j < item_cols; ++j) names.push_back(fmt::format("i{}", j));
    items->set_numeric(names, w.item_features);
  }
  fp::feature_join join;
  join.users = users;
  join.items = items;
  join.context = {"hour", "weekday"};
  join.score = "retrieval_score";
  auto attributes = std::make_shared<fp::item_attributes>(fp::item_attributes::dense(a.items));
  attributes->set_embeddings(w.items.view());

  auto models = std::make_shared<fp::model_registry<fs::tree_ensemble>>();
  models->add("gbdt-300", gbdt);
  fp::pipeline_options opt;
  opt.retrieval_budget = opt.ranking_budget = opt.rerank_budget = std::chrono::seconds(1);
  opt.trace_cpu = true;
  const funnel::rerank::mmr mmr({0.7, funnel::rerank::similarity_kind::cosine});
  const auto static_pipeline = fp::make_pipeline(
      std::tuple{fp::retriever_slot<ann_retriever>{"ann", {&index, &w.users}, 700},
                 fp::retriever_slot<fr::popularity_model>{"popular", popular, 300}},
      std::tuple{fp::named<fp::seen_filter>{"seen", {}}},
      fp::feature_stage<ff::any_pipeline>(features, join), fp::ranker<fs::tree_ensemble>{models},
      std::tuple{fp::named<fp::rerank_stage<funnel::rerank::mmr>>{
          "mmr", fp::rerank_stage(mmr, attributes)}},
      opt);

  // The same stages with a cascade: a 30-tree depth-4 GBDT on all candidates, the 300-tree
  // model on the top `cascade`.
  const auto cascade_pipeline = fp::make_pipeline(
      std::tuple{fp::retriever_slot<ann_retriever>{"ann", {&index, &w.users}, 700},
                 fp::retriever_slot<fr::popularity_model>{"popular", popular, 300}},
      std::tuple{fp::named<fp::seen_filter>{"seen", {}}},
      fp::feature_stage<ff::any_pipeline>(features, join),
      fp::ranker<fs::tree_ensemble>{models, light, std::max<std::size_t>(a.cascade, 1)},
      std::tuple{fp::named<fp::rerank_stage<funnel::rerank::mmr>>{
          "mmr", fp::rerank_stage(mmr, attributes)}},
      opt);

  fp::stage_registry reg;
  reg.add_retriever("ann", fp::any_retrieval_stage(ann_retriever{&index, &w.users}));
  reg.add_retriever("popular", fp::any_retrieval_stage(popular));
  reg.add_filter("seen", fp::any_filter_stage(fp::seen_filter{}));
  reg.add_feature_table("users", users);
  reg.add_feature_table("items", items);
  reg.add_item_attributes("catalogue", attributes);
  auto erased = std::make_shared<fp::model_registry<fp::any_scoring_stage>>();
  erased->add("gbdt-300", std::make_shared<const fp::any_scoring_stage>(gbdt));
  reg.add_models("gbdt", erased);
  auto config = funnel::parse_json(R"({
      "type": "funnel.pipeline.config", "version": 1,
      "retrievers": [{"stage": "ann", "quota": 700}, {"stage": "popular", "quota": 300}],
      "filters": ["seen"],
      "features": {"type": "features", "users": "users", "items": "items",
                   "context": ["hour", "weekday"], "score": "retrieval_score"},
      "ranker": {"models": "gbdt"},
      "rerankers": [{"type": "mmr", "items": "catalogue", "lambda": 0.7}],
      "budgets_us": {"retrieval": 1000000, "ranking": 1000000, "rerank": 1000000},
      "trace_cpu": true})",
                                   "bench");
  config["features"]["pipeline"] = features.to_json();
  const auto json_pipeline = reg.build(config);
  std::printf("setup: %.1f s\n\n", setup.elapsed_s());

  if (a.mode == "latency" || a.mode == "both") {
    // Requests alternate between the two compositions (same request stream): their ratio is
    // immune to the machine's load drifting during the run.
    run_stats st, js, cs;
    funnel::rng g(seed + 3);
    std::vector<std::uint64_t> history;
    std::vector<float> context;
    std::size_t same = 0;
    for (std::size_t r = 0; r < a.warmup + a.requests; ++r) {
      const auto q = make_request(g, a, r, history, context);
      double c0 = thread_cpu_us();
      funnel::stopwatch t;
      const auto x = static_pipeline.run(q);
      const double wall_s = t.elapsed_us();
      const double cpu_s = thread_cpu_us() - c0;
      c0 = thread_cpu_us();
      t.reset();
      const auto y = json_pipeline.run(q);
      const double wall_j = t.elapsed_us();
      const double cpu_j = thread_cpu_us() - c0;
      if (a.cascade > 0) {
        c0 = thread_cpu_us();
        t.reset();
        const auto z = cascade_pipeline.run(q);
        const double wall_c = t.elapsed_us();
        if (r >= a.warmup) cs.add(z, wall_c, thread_cpu_us() - c0);
      }
      if (r < a.warmup) continue;
      st.add(x, wall_s, cpu_s);
      js.add(y, wall_j, cpu_j);
      same += x.slate == y.slate ? 1 : 0;
    }
    st.print("compile-time pipeline (one thread)");
    js.print("JSON-configured pipeline (one thread)");
    std::printf("identical slates: %zu / %zu; JSON / compile-time p50 ratio %.3f\n\n", same,
                a.requests, percentile(js.wall, 0.5) / percentile(st.wall, 0.5));
    if (a.cascade > 0) {
      cs.print(fmt::format("cascade pipeline, main model on the top {}", a.cascade).c_str());
    }
  }
  if (a.mode == "throughput" || a.mode == "both") {
    std::atomic<bool> stop{false};
    std::vector<std::size_t> done(a.threads, 0);
    std::vector<run_stats> per(a.threads);
    std::vector<std::thread> pool;
    funnel::stopwatch t;
    for (std::size_t k = 0; k < a.threads; ++k) {
      pool.emplace_back([&, k] {
        funnel::rng g(seed + 10 + k);
        std::vector<std::uint64_t> history;
        std::vector<float> context;
        for (std::uint64_t r = 0; !stop.load(std::memory_order_relaxed); ++r) {
          const auto q = make_request(g, a, r, history, context);
          const double c0 = thread_cpu_us();
          funnel::stopwatch w1;
          const auto x = static_pipeline.run(q);
          per[k].add(x, w1.elapsed_us(), thread_cpu_us() - c0);
          ++done[k];
        }
      });
    }
    std::this_thread::sleep_for(std::chrono::duration<double>(a.seconds));
    stop = true;
    for (auto& th : pool) th.join();
    const double secs = t.elapsed_s();
    std::size_t total = 0;
    run_stats all;
    for (std::size_t k = 0; k < a.threads; ++k) {
      total += done[k];
      all.wall.insert(all.wall.end(), per[k].wall.begin(), per[k].wall.end());
      all.cpu.insert(all.cpu.end(), per[k].cpu.begin(), per[k].cpu.end());
      all.candidates += per[k].candidates;
      all.degraded += per[k].degraded;
      for (const auto& [s, v] : per[k].stages) {
        all.stages[s].sum_us += v.sum_us;
        all.stages[s].sum_cpu_us += v.sum_cpu_us;
        all.stages[s].n += v.n;
      }
    }
    std::printf("throughput: %zu threads, %.1f s, %zu requests: %.0f requests/s\n", a.threads, secs,
                total, static_cast<double>(total) / secs);
    all.print("compile-time pipeline under concurrent load");
  }
  return 0;
}
