// Soak test of the serving path (scripts/soak.sh): a pipeline configured from JSON (HNSW +
// popularity retrieval, seen filter, the features stage joining user and item tables, a logistic
// ranker from a model registry, MMR) served from 2 threads for [minutes], while the main thread
// hot-swaps the model every 100 ms and changes the canary share every second, and a drift monitor
// observes every request. Reports requests served, failed requests (must be 0), monitor
// observations against requests (0 lost) and resident memory (/proc/self/statm) every 5 s, with
// its growth after warm-up (must stay under 5%). Exit status 0 only when all three hold.
//   funnel_soak [minutes=10]
#include <funnel/drift/monitor.hpp>
#include <funnel/pipeline.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

#include "../samples.hpp"

namespace fp = funnel::pipeline;
namespace fr = funnel::retrieval;
using clock_type = std::chrono::steady_clock;

namespace {

constexpr std::size_t items = 20000;
constexpr std::size_t users = 2000;
constexpr std::size_t dim = 32;

double resident_mb() {
  std::ifstream statm("/proc/self/statm");
  std::size_t size = 0;
  std::size_t resident = 0;
  statm >> size >> resident;
  return static_cast<double>(resident) * static_cast<double>(::sysconf(_SC_PAGESIZE)) / 1048576.0;
}

/// Nearest items to the user's embedding.
struct ann_retriever {
  std::shared_ptr<const fr::hnsw_index> index;
  std::shared_ptr<const funnel::matrix> user_vectors;
  funnel::candidate_list retrieve(const fp::request& q, std::size_t k) const {
    const auto u = static_cast<std::size_t>(q.query.user.value_or(0) % users);
    return index->search(user_vectors->row(u), k);
  }
};

std::shared_ptr<const fp::any_scoring_stage> ranker(std::size_t width, std::uint64_t seed) {
  std::mt19937_64 g(seed);
  std::normal_distribution<double> w(0.0, 0.3);
  std::vector<double> coef(width);
  for (auto& c : coef) c = w(g);
  return std::make_shared<const fp::any_scoring_stage>(
      std::make_shared<const funnel::scoring::logistic_model>(std::move(coef), w(g)));
}

}  // namespace

int main(int argc, char** argv) {
  const double minutes = argc > 1 ? std::atof(argv[1]) : 10.0;
  const auto duration = std::chrono::duration_cast<clock_type::duration>(
      std::chrono::duration<double>(minutes * 60.0));
  const auto warmup = std::max(duration / 10, clock_type::duration(std::chrono::seconds(30)));
  std::mt19937_64 g(20261206);
  std::normal_distribution<float> normal;

  // Catalog: clustered item embeddings in HNSW, a popularity ranking, item and user tables.
  std::printf("building the catalog (%zu items x %zu-d)...\n", items, dim);
  std::fflush(stdout);
  funnel::matrix centers(64, dim);
  for (std::size_t i = 0; i < centers.size(); ++i) centers.data()[i] = normal(g);
  fr::hnsw_options hp;
  hp.dim = dim;
  hp.metric = fr::metric::cosine;
  hp.M = 12;
  hp.ef_construction = 64;
  auto index = std::make_shared<fr::hnsw_index>(hp);
  funnel::matrix item_vectors(items, dim);
  std::vector<std::uint64_t> ids(items);
  for (std::size_t i = 0; i < items; ++i) {
    ids[i] = i;
    for (std::size_t j = 0; j < dim; ++j) {
      item_vectors(i, j) = centers(i % 64, j) + 0.3F * normal(g);
    }
  }
  index->add_batch(ids, item_vectors.view(), 2);
  index->set_default_ef(64);
  auto user_vectors = std::make_shared<funnel::matrix>(users, dim);
  for (std::size_t i = 0; i < user_vectors->size(); ++i) user_vectors->data()[i] = normal(g);
  fr::interaction_log log;
  for (std::uint64_t e = 0; e < 50000; ++e) {
    log.add(e % users,
            static_cast<std::uint64_t>(
                std::min<double>(items - 1, std::exp(std::abs(normal(g)) * 3.0))),
            1.0F, static_cast<std::int64_t>(e));
  }
  const auto popular = fr::fit_popularity(log);

  auto user_table = std::make_shared<fp::feature_table>(fp::feature_table::dense(users));
  funnel::matrix age(users, 1);
  std::vector<std::string> country(users);
  const char* countries[] = {"fr", "de", "us", "it", "es"};
  for (std::size_t u = 0; u < users; ++u) {
    age(u, 0) = 18.0F + static_cast<float>(u % 60);
    country[u] = countries[u % 5];
  }
  user_table->set_numeric({"age"}, std::move(age));
  user_table->add_string("country", std::move(country));
  auto item_table = std::make_shared<fp::feature_table>(fp::feature_table::dense(items));
  funnel::matrix price(items, 1);
  std::vector<std::int64_t> category(items);
  for (std::size_t i = 0; i < items; ++i) {
    price(i, 0) = static_cast<float>(i % 100) * 0.7F;
    category[i] = static_cast<std::int64_t>(i % 4);
  }
  item_table->set_numeric({"price"}, std::move(price));
  item_table->add_integer("category", std::move(category));
  auto attrs = std::make_shared<fp::item_attributes>(fp::item_attributes::dense(items));
  attrs->set_embeddings(item_vectors.view());

  const auto features = funnel::samples::features_fitted();
  const std::size_t width = features.width();
  auto models = std::make_shared<fp::model_registry<fp::any_scoring_stage>>();
  const std::vector<std::string> versions{"a", "b", "c", "d"};
  for (std::size_t v = 0; v < versions.size(); ++v) models->add(versions[v], ranker(width, v));

  fp::stage_registry stages;
  stages.add_retriever("ann", fp::any_retrieval_stage(ann_retriever{index, user_vectors}));
  stages.add_retriever("popular", fp::any_retrieval_stage(popular));
  stages.add_filter("seen", fp::any_filter_stage(fp::seen_filter{}));
  stages.add_feature_table("users", user_table);
  stages.add_feature_table("items", item_table);
  stages.add_item_attributes("items", attrs);
  stages.add_models("ranker", models);
  auto config = funnel::parse_json(R"({
    "type": "funnel.pipeline.config", "version": 1,
    "retrievers": [{"stage": "ann", "quota": 200}, {"stage": "popular", "quota": 50}],
    "filters": ["seen"],
    "features": {"type": "features", "users": "users", "items": "items", "context": ["hour"],
                 "score": "retrieval_score", "unknown_items": "drop"},
    "ranker": {"models": "ranker"},
    "rerankers": [{"type": "mmr", "items": "items", "lambda": 0.7}],
    "budgets_us": {"retrieval": 1000000, "ranking": 1000000, "rerank": 1000000}
  })",
                                   "soak");
  config["features"]["pipeline"] = features.to_json();
  const auto pipeline = stages.build(config);

  // Drift monitor over the request's hour and user age, and the top score.
  funnel::drift::reference_profile reference;
  {
    std::vector<double> hour(5000), user_age(5000), score(5000);
    for (std::size_t i = 0; i < 5000; ++i) {
      hour[i] = static_cast<double>(i % 24);
      user_age[i] = 18.0 + static_cast<double>(i % 60);
      score[i] = 0.5 + 0.1 * static_cast<double>(normal(g));
    }
    reference.add_numeric("hour", hour);
    reference.add_numeric("age", user_age);
    reference.add_numeric("score", score);
  }
  funnel::drift::monitor_options mo;
  mo.window.kind = funnel::drift::window_options::kind_t::unbounded;
  mo.min_live_count = 1;
  funnel::drift::monitor monitor(reference, mo);

  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> served{0};
  std::atomic<std::uint64_t> failed{0};
  std::atomic<std::uint64_t> observed{0};
  std::atomic<std::uint64_t> canary_served{0};
  std::atomic<std::uint64_t> degraded{0};  // fail-open fallbacks (budgets of 1 s: none expected)
  auto serve = [&](std::uint64_t seed) {
    std::mt19937_64 r(seed);
    std::vector<std::uint64_t> history(5);
    std::vector<float> context(1);
    std::uint64_t n = 0;
    while (!stop.load(std::memory_order_relaxed)) {
      fp::request req;
      req.id = seed * 1'000'000'000ULL + n++;
      const auto user = r() % users;
      req.query.user = user;
      for (auto& h : history) h = r() % items;
      req.query.history = history;
      context[0] = static_cast<float>(r() % 24);
      req.context = context;
      req.slate_size = 20;
      try {
        const auto result = pipeline.run(req);
        if (result.slate.empty()) throw std::runtime_error("empty slate");
        if (result.trace.canary) canary_served.fetch_add(1, std::memory_order_relaxed);
        if (!result.trace.degraded.empty() && degraded.fetch_add(1) < 5) {
          std::fprintf(stderr, "request degraded: %s\n", result.trace.degraded.front().c_str());
        }
        const float row[2] = {context[0], 18.0F + static_cast<float>(user % 60)};
        monitor.observe(funnel::row_view(row, 2), result.slate.front().score);
        observed.fetch_add(1, std::memory_order_relaxed);
        served.fetch_add(1, std::memory_order_relaxed);
      } catch (const std::exception& e) {
        if (failed.fetch_add(1) < 5) std::fprintf(stderr, "request failed: %s\n", e.what());
      }
    }
  };

  std::printf("serving for %.1f minutes from 2 threads (warm-up %.0f s)...\n", minutes,
              std::chrono::duration<double>(warmup).count());
  std::fflush(stdout);
  const auto start = clock_type::now();
  std::thread t1(serve, 1);
  std::thread t2(serve, 2);
  std::uint64_t swaps = 0;
  std::uint64_t canary_changes = 0;
  double rss_warm = 0;
  double rss_max_after = 0;
  double rss_last = 0;
  auto next_sample = start;
  auto next_canary = start;
  for (auto now = start; now - start < duration; now = clock_type::now()) {
    // Hot swap: a freshly built model replaces one version, which then serves.
    const auto& v = versions[swaps % versions.size()];
    models->add(v, ranker(width, 100 + swaps));
    models->activate(v);
    ++swaps;
    if (now >= next_canary) {
      const double shares[] = {0.0, 0.05, 0.2, 0.5};
      models->set_canary(versions[(canary_changes + 1) % versions.size()],
                         shares[canary_changes % 4], canary_changes);
      ++canary_changes;
      next_canary += std::chrono::seconds(1);
    }
    if (now >= next_sample) {
      rss_last = resident_mb();
      const double t = std::chrono::duration<double>(now - start).count();
      const bool warm = now - start >= warmup;
      if (warm && rss_warm == 0) rss_warm = rss_last;
      if (warm) rss_max_after = std::max(rss_max_after, rss_last);
      std::printf("t=%6.0f s  served %10llu  failed %llu  rss %.1f MB%s\n", t,
                  static_cast<unsigned long long>(served.load()),
                  static_cast<unsigned long long>(failed.load()), rss_last,
                  warm ? "" : "  (warm-up)");
      std::fflush(stdout);
      next_sample += std::chrono::seconds(5);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  stop = true;
  t1.join();
  t2.join();
  const double seconds = std::chrono::duration<double>(clock_type::now() - start).count();
  // The unbounded window holds every observation since the start: its score count is the truth.
  const auto report = monitor.evaluate_now();
  const double monitored = report.features.back().live_count;
  rss_last = resident_mb();
  rss_max_after = std::max(rss_max_after, rss_last);
  const double growth = rss_warm > 0 ? (rss_max_after - rss_warm) / rss_warm * 100.0 : 0.0;
  const auto n = served.load();
  std::printf("\nsoak: %.0f s, 2 threads, %llu model hot swaps, %llu canary share changes\n",
              seconds, static_cast<unsigned long long>(swaps),
              static_cast<unsigned long long>(canary_changes));
  std::printf("requests served      %llu (%.0f/s), %llu by a canary\n",
              static_cast<unsigned long long>(n), static_cast<double>(n) / seconds,
              static_cast<unsigned long long>(canary_served.load()));
  std::printf("failed requests      %llu (degraded, served by a fallback: %llu)\n",
              static_cast<unsigned long long>(failed.load()),
              static_cast<unsigned long long>(degraded.load()));
  std::printf("monitor observations %.0f of %llu requests (%lld lost)\n", monitored,
              static_cast<unsigned long long>(n),
              static_cast<long long>(n) - static_cast<long long>(monitored));
  std::printf(
      "resident memory      %.1f MB after warm-up, max %.1f MB after, %.1f MB at end: "
      "growth %.2f%%\n",
      rss_warm, rss_max_after, rss_last, growth);
  const bool ok =
      failed.load() == 0 && static_cast<double>(n) == monitored && growth < 5.0 && n > 0;
  std::printf("%s\n", ok ? "PASS" : "FAIL");
  return ok ? 0 : 1;
}
