// The flagship's learned two-tower retriever: the tower data it writes for train_towers.py, the
// towers it serves through funnel::onnx, and their evaluation next to ALS (towers.hpp).
#include "towers.hpp"

#include <funnel/core/error.hpp>
#include <funnel/core/file.hpp>
#include <funnel/core/json.hpp>
#include <funnel/core/timer.hpp>
#include <funnel/onnx/onnx_model.hpp>
#include <funnel/onnx/two_tower.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <map>
#include <numeric>
#include <optional>
#include <unordered_set>

#include "pipeline_parts.hpp"

namespace movie {
namespace detail {
namespace {

constexpr const char* where = "app.towers";

/// The towers' view of the catalogue, built from the movie metadata and one training log: dense
/// ids (row 0 of both id tables is the unknown id), the item features and the user features.
/// write_tower_data and evaluate_towers build it from the same split, so the ids agree.
class tower_catalogue {
 public:
  tower_catalogue(const dataset& data, const fr::interaction_log& train) {
    std::map<std::string, std::size_t> genre_ids;
    for (const auto& [id, m] : data.movies)
      for (const auto& g : m.genres) genre_ids.emplace(g, 0);
    std::size_t next = 0;
    for (auto& [g, idx] : genre_ids) idx = next++;
    genres_ = genre_ids.size();
    // Movies with training ratings first (ids 1..I, by movie id), then the rest of the catalogue
    // (keys past the id table: the item tower serves them from their features alone).
    std::map<std::uint64_t, double> counts;
    for (const auto& r : train.interactions()) counts[train.items().external(r.item)] += 1.0;
    std::vector<std::uint64_t> order;
    for (const auto& [id, c] : counts) order.push_back(id);
    trained_items_ = order.size();
    std::vector<std::uint64_t> rest;
    for (const auto& [id, m] : data.movies)
      if (counts.count(id) == 0) rest.push_back(id);
    std::sort(rest.begin(), rest.end());
    order.insert(order.end(), rest.begin(), rest.end());
    movies_.push_back(0);  // key 0: never served (the unknown row)
    item_features_.assign(item_width(), 0.0F);
    for (const auto id : order) {
      key_of_.emplace(id, movies_.size());
      movies_.push_back(id);
      std::vector<float> f(item_width(), 0.0F);
      if (const auto m = data.movies.find(id); m != data.movies.end()) {
        for (const auto& g : m->second.genres) f[genre_ids[g]] = 1.0F;
        if (std::isfinite(m->second.year)) {
          f[genres_] = static_cast<float>((m->second.year - 1990.0) / 20.0);
        } else {
          f[genres_ + 1] = 1.0F;  // year unknown
        }
      }
      const auto c = counts.find(id);
      f[genres_ + 2] = static_cast<float>(std::log1p(c == counts.end() ? 0.0 : c->second) / 5.0);
      item_features_.insert(item_features_.end(), f.begin(), f.end());
    }
    for (std::uint32_t u = 0; u < train.num_users(); ++u)
      user_key_.emplace(train.users().external(u), u + 1);
    keys_.resize(catalogue());
    std::iota(keys_.begin(), keys_.end(), std::uint64_t{1});
  }

  /// genres one-hot, (year - 1990) / 20, year unknown, log1p(training ratings) / 5
  [[nodiscard]] std::size_t item_width() const noexcept { return genres_ + 3; }
  /// mean genre one-hot of the history, log1p(history length) / 5
  [[nodiscard]] std::size_t user_width() const noexcept { return genres_ + 1; }
  [[nodiscard]] std::size_t num_user_ids() const noexcept { return user_key_.size() + 1; }
  [[nodiscard]] std::size_t num_item_ids() const noexcept { return trained_items_ + 1; }
  [[nodiscard]] std::size_t catalogue() const noexcept { return movies_.size() - 1; }
  [[nodiscard]] std::size_t cold_items() const noexcept { return catalogue() - trained_items_; }

  [[nodiscard]] std::optional<std::uint64_t> item_key(std::uint64_t movie) const {
    const auto it = key_of_.find(movie);
    return it == key_of_.end() ? std::nullopt : std::optional<std::uint64_t>(it->second);
  }
  [[nodiscard]] std::uint64_t movie(std::uint64_t key) const { return movies_.at(key); }
  [[nodiscard]] std::optional<std::uint64_t> user_key(std::optional<std::uint64_t> user) const {
    if (!user) return std::nullopt;
    const auto it = user_key_.find(*user);
    return it == user_key_.end() ? std::nullopt : std::optional<std::uint64_t>(it->second);
  }
  /// Keys 1..catalogue() and their feature rows.
  [[nodiscard]] std::span<const std::uint64_t> item_keys() const { return keys_; }
  [[nodiscard]] funnel::matrix_view item_features() const {
    return {item_features_.data() + item_width(), catalogue(), item_width()};
  }
  [[nodiscard]] funnel::row_view item_row(std::uint64_t key) const {
    return {item_features_.data() + key * item_width(), item_width()};
  }
  /// The user tower's features of a history of movie ids (what train_towers.py trains on).
  void user_features(std::span<const std::uint64_t> history, std::span<float> out) const {
    std::fill(out.begin(), out.end(), 0.0F);
    std::size_t known = 0;
    for (const auto m : history) {
      const auto k = item_key(m);
      if (!k) continue;
      const auto row = item_row(*k);
      for (std::size_t g = 0; g < genres_; ++g) out[g] += row[g];
      ++known;
    }
    if (known > 0)
      for (std::size_t g = 0; g < genres_; ++g) out[g] /= static_cast<float>(known);
    out[genres_] = static_cast<float>(std::log1p(static_cast<double>(history.size())) / 5.0);
  }

 private:
  std::size_t genres_ = 0;
  std::size_t trained_items_ = 0;
  std::vector<std::uint64_t> movies_;  // key -> movie id
  std::unordered_map<std::uint64_t, std::uint64_t> key_of_;
  std::unordered_map<std::uint64_t, std::uint64_t> user_key_;
  std::vector<float> item_features_;  // row per key (row 0: zeros)
  std::vector<std::uint64_t> keys_;   // 1..catalogue()
};

/// RetrievalStage: the two-tower retriever in the pipeline's id space. The towers work on dense
/// keys; this maps the user, the history (for the features and the history filter) and the
/// results between movie ids and keys, and computes the user tower's features from the history.
struct towers_stage {
  std::shared_ptr<const tower_catalogue> cat;
  std::shared_ptr<const funnel::scoring::two_tower_retriever> towers;
  bool withhold_user = false;  ///< serve every user as unknown (cold start through features)

  /// The user tower's embedding of the request's user (or the unknown id) and history.
  [[nodiscard]] std::vector<float> embed(const fp::request& req) const {
    std::vector<float> features(cat->user_width());
    cat->user_features(req.query.history, features);
    return towers->embed_user(withhold_user ? std::nullopt : cat->user_key(req.query.user),
                              features);
  }

  /// The exact top k (a scan of every item vector `items`, row key - 1), history excluded: what
  /// the HNSW search approximates.
  [[nodiscard]] funnel::candidate_list exact(const fp::request& req, funnel::matrix_view items,
                                             std::size_t k) const {
    const auto q = embed(req);
    std::vector<funnel::candidate> all;
    all.reserve(items.rows());
    std::unordered_set<std::uint64_t> seen(req.query.history.begin(), req.query.history.end());
    for (std::size_t r = 0; r < items.rows(); ++r) {
      const auto movie = cat->movie(r + 1);
      if (req.query.exclude_history && seen.count(movie) != 0) continue;
      const auto v = items.row(r);
      all.push_back({movie, std::inner_product(v.begin(), v.end(), q.begin(), 0.0F)});
    }
    const auto n = std::min(k, all.size());
    std::partial_sort(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(n), all.end(),
                      [](const auto& a, const auto& b) { return a.score > b.score; });
    all.resize(n);
    return all;
  }

  [[nodiscard]] funnel::candidate_list retrieve(const fp::request& req, std::size_t k) const {
    std::vector<std::uint64_t> history;
    history.reserve(req.query.history.size());
    for (const auto m : req.query.history)
      if (const auto key = cat->item_key(m)) history.push_back(*key);
    std::vector<float> features(cat->user_width());
    cat->user_features(req.query.history, features);
    fp::request r;
    r.id = req.id;
    r.query.user = withhold_user ? std::nullopt : cat->user_key(req.query.user);
    r.query.history = history;
    r.query.exclude_history = req.query.exclude_history;
    r.context = features;
    r.slate_size = req.slate_size;
    r.deadline = req.deadline;
    auto out = towers->retrieve(r, k);
    for (auto& c : out) c.id = cat->movie(c.id);
    return out;
  }
};

std::pair<fr::interaction_log, fr::interaction_log> per_user_split(const dataset& data,
                                                                   const options& opt) {
  return data.log.split_per_user(1.0 - opt.test_quantile);
}

std::string per_user_protocol(const options& opt) {
  return fmt::format("per-user (last {:.0f}% of each user)", 100 * (1.0 - opt.test_quantile));
}

double percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0.0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(q * static_cast<double>(v.size())))];
}

}  // namespace
}  // namespace detail

using namespace detail;

void write_tower_data(const dataset& data, const options& opt, const std::filesystem::path& dir) {
  const auto [train, test] = per_user_split(data, opt);
  const tower_catalogue cat(data, train);
  std::filesystem::create_directories(dir);
  std::string s = "user,item,rating\n";
  for (const auto& r : train.interactions()) {
    s += fmt::format("{},{},{}\n", r.user + 1, *cat.item_key(train.items().external(r.item)),
                     r.weight);
  }
  funnel::write_file_atomic(dir / "interactions.csv", s);
  s = "user";
  for (std::size_t j = 0; j < cat.user_width(); ++j) s += fmt::format(",f{}", j);
  s += '\n';
  const auto hist = build_histories(train);
  std::vector<float> f(cat.user_width());
  for (std::uint32_t u = 0; u < train.num_users(); ++u) {
    cat.user_features(hist.items[u], f);
    s += fmt::format("{},{}\n", u + 1, fmt::join(f, ","));
  }
  funnel::write_file_atomic(dir / "users.csv", s);
  s = "item,movie";
  for (std::size_t j = 0; j < cat.item_width(); ++j) s += fmt::format(",f{}", j);
  s += '\n';
  for (const auto key : cat.item_keys())
    s += fmt::format("{},{},{}\n", key, cat.movie(key), fmt::join(cat.item_row(key), ","));
  funnel::write_file_atomic(dir / "items.csv", s);
  funnel::json meta = {{"type", "movie.tower_data"},         {"protocol", per_user_protocol(opt)},
                       {"num_user_ids", cat.num_user_ids()}, {"num_item_ids", cat.num_item_ids()},
                       {"catalogue", cat.catalogue()},       {"user_features", cat.user_width()},
                       {"item_features", cat.item_width()},  {"train_interactions", train.size()}};
  funnel::write_file_atomic(dir / "tower_data.json", meta.dump(1) + "\n");
}

towers_report evaluate_towers(const dataset& data, const options& opt,
                              const std::filesystem::path& dir) {
  funnel::stopwatch total;
  const auto say = [&](const std::string& line) {
    if (opt.progress) opt.progress(fmt::format("[{:6.1f} s] {}", total.elapsed_us() * 1e-6, line));
  };
  towers_report rep;
  rep.protocol = per_user_protocol(opt);
  const auto [train, test] = per_user_split(data, opt);
  rep.train_interactions = train.size();
  rep.test_interactions = test.size();
  const auto cat = std::make_shared<const tower_catalogue>(data, train);
  rep.catalogue = cat->catalogue();
  rep.cold_items = cat->cold_items();

  // The towers, and a check that they were trained on this split's ids.
  const auto info = funnel::load_json_file(dir / "towers.json");
  const auto users_table = funnel::json_get<std::size_t>(info, "num_user_ids", "towers.json");
  const auto items_table = funnel::json_get<std::size_t>(info, "num_item_ids", "towers.json");
  if (users_table != cat->num_user_ids() || items_table != cat->num_item_ids()) {
    funnel::raise<funnel::invalid_argument>(
        where,
        "{}: the towers know {} user and {} item ids, this split has {} and {}: they were "
        "trained on other data (rerun --write-tower-data and train_towers.py)",
        dir.string(), users_table, items_table, cat->num_user_ids(), cat->num_item_ids());
  }
  rep.training = fmt::format(
      "{} epochs of {} training pairs in {:.1f} s (dim {}, temperature {}, final loss {:.4f})",
      funnel::json_get<int>(info, "epochs", "towers.json"),
      funnel::json_get<std::size_t>(info, "pairs", "towers.json"),
      funnel::json_get<double>(info, "seconds", "towers.json"),
      funnel::json_get<int>(info, "dim", "towers.json"),
      funnel::json_get<double>(info, "temperature", "towers.json"),
      funnel::json_get<std::vector<double>>(info, "loss", "towers.json").back());
  auto user_tower = funnel::scoring::load_onnx(dir / "user_tower.onnx");
  const auto item_tower = funnel::scoring::load_onnx(dir / "item_tower.onnx");
  funnel::stopwatch w;
  funnel::scoring::two_tower_options item_opt;
  item_opt.unknown_id = 0;
  item_opt.num_ids = static_cast<std::int64_t>(cat->num_item_ids());
  item_opt.M = opt.hnsw_m;
  item_opt.ef_construction = opt.hnsw_ef_construction;
  auto index = std::make_shared<const fr::hnsw_index>(
      funnel::scoring::embed_items(item_tower, cat->item_keys(), cat->item_features(), item_opt));
  rep.embed_seconds = w.elapsed_us() * 1e-6;
  rep.dim = index->options().dim;
  say(
      fmt::format("item tower: {} movies embedded ({} without training ratings) and indexed in "
                  "{:.2f} s",
                  rep.catalogue, rep.cold_items, rep.embed_seconds));
  funnel::scoring::two_tower_options user_opt;
  user_opt.unknown_id = 0;
  user_opt.num_ids = static_cast<std::int64_t>(cat->num_user_ids());
  user_opt.ef = std::max(opt.hnsw_ef, opt.quota);
  const auto towers = std::make_shared<const funnel::scoring::two_tower_retriever>(
      std::move(user_tower), index, user_opt);
  const towers_stage stage{cat, towers, false};
  const towers_stage cold_stage{cat, towers, true};

  // The served system as run_experiment builds it on this split, then with the towers added.
  split_report ranker_rep;
  auto models = train_ranker(data, train, true, opt, ranker_rep, say);
  say("serving models: retrievers refitted on the whole training period");
  const auto kb = learn(data, train, opt, say);
  const auto hist = build_histories(train);
  const auto truth = item_sets(test);
  auto registry = std::make_shared<fp::model_registry<funnel::scoring::tree_ensemble>>();
  registry->add("gbdt-v2",
                std::make_shared<const funnel::scoring::tree_ensemble>(std::move(models.gbdt)));
  const piped_features features{kb, models.features};
  const auto so = serving_options();
  auto bandit = make_bandit_state(opt);
  auto bandit_towers = make_bandit_state(opt);
  auto served = make_served_pipeline(kb, features, registry, bandit, opt, so);
  using bandit_rerank = genre_rerank<depth_bandit_exploration>;
  const rr::mmr mmr(rr::mmr_options{opt.mmr_lambda, rr::similarity_kind::cosine});
  auto served_towers = fp::make_pipeline(
      std::tuple_cat(retrievers(*kb, opt),
                     std::tuple{fp::retriever_slot<fp::any_retrieval_stage>{
                         "two-tower", fp::any_retrieval_stage(stage), opt.quota}}),
      std::tuple{}, features, fp::ranker<funnel::scoring::tree_ensemble>{registry},
      std::tuple{fp::named<bandit_rerank>{
          "mmr-genre+bandit-explore",
          bandit_rerank{kb, mmr,
                        rr::explore_slots<depth_bandit_exploration>(
                            {opt.explore_position}, depth_bandit_exploration{bandit_towers},
                            {.pool_depth = opt.explore_depth}),
                        opt.k}}},
      so);
  const als_hnsw ann{kb->als, kb->ann, opt.hnsw_ef};

  // Every item vector, for the exact top k the HNSW search approximates.
  std::vector<float> item_vectors;
  for (const auto key : cat->item_keys()) {
    const auto v = index->vector(key);
    item_vectors.insert(item_vectors.end(), v.begin(), v.end());
  }
  const funnel::matrix_view items(item_vectors, cat->catalogue(), rep.dim);

  enum : std::size_t { r_pop, r_als, r_ann, r_exact, r_towers, r_cold, r_count };
  const std::array<const char*, r_count> names = {
      "popularity (baseline)",   "ALS alone (exact)",  "ALS via HNSW",
      "two-tower alone (exact)", "two-tower via HNSW", "two-tower via HNSW, user id withheld"};
  std::vector<double> recall(r_count, 0.0), ndcg(r_count, 0.0);
  std::array<double, 2> served_recall{}, served_ndcg{};
  std::vector<double> latency, latency_towers;
  std::map<std::string, std::vector<double>> stage_ms;
  // The bandit learns from the replayed future, as in run_experiment.
  const auto feedback = [&](explore_state& b, std::size_t before, std::uint32_t u) {
    if (b.journal.size() <= before) return;
    auto& rec = b.journal.back();
    rec.reward = truth[u].count(rec.item) != 0 ? 1.0 : 0.0;
    b.bandit.update(rec.arm, rec.reward);
  };
  std::size_t users = 0;
  w.reset();
  for (std::uint32_t u = 0; u < test.num_users(); ++u) {
    if (truth[u].empty() || hist.items[u].empty()) continue;
    const auto user = test.users().external(u);
    fp::request req;
    req.id = user;
    req.query = query_for(user, hist, u);
    req.slate_size = opt.k;
    std::array<funnel::candidate_list, r_count> lists;
    lists[r_pop] = kb->pop->retrieve(req.query, opt.k);
    lists[r_als] = kb->als->retrieve(req.query, opt.k);
    lists[r_ann] = ann.retrieve(req.query, opt.k);
    lists[r_exact] = stage.exact(req, items, opt.k);
    lists[r_towers] = stage.retrieve(req, opt.k);
    lists[r_cold] = cold_stage.retrieve(req, opt.k);
    for (std::size_t s = 0; s < r_count; ++s) {
      const auto [rc, nd] = quality(lists[s], truth[u], opt.k);
      recall[s] += rc;
      ndcg[s] += nd;
    }
    // The two served pipelines, alternating which runs first (caches, frequency).
    const auto run = [&](bool with_towers) {
      const std::size_t before = (with_towers ? bandit_towers : bandit)->journal.size();
      const auto res = with_towers ? served_towers.run(req) : served.run(req);
      feedback(with_towers ? *bandit_towers : *bandit, before, u);
      (with_towers ? latency_towers : latency).push_back(res.trace.total_micros * 1e-3);
      if (with_towers)
        for (const auto& st : res.trace.stages) stage_ms[st.stage].push_back(st.micros * 1e-3);
      const auto [rc, nd] = quality(res.slate, truth[u], opt.k);
      served_recall[with_towers ? 1 : 0] += rc;
      served_ndcg[with_towers ? 1 : 0] += nd;
    };
    const bool towers_first = (users % 2) == 1;
    run(towers_first);
    run(!towers_first);
    ++users;
    if (w.elapsed_us() > 2e6) {
      say(fmt::format("towers: evaluated {} users", users));
      w.reset();
    }
  }
  rep.eval_users = users;
  if (users == 0) return rep;
  const auto nu = static_cast<double>(users);
  for (std::size_t s = 0; s < r_count; ++s)
    rep.retrievers.push_back({names[s], recall[s] / nu, ndcg[s] / nu});
  rep.served.push_back(
      {"served (ALS + co-visitation + popularity)", served_recall[0] / nu, served_ndcg[0] / nu});
  rep.served.push_back(
      {"served + two-tower retriever", served_recall[1] / nu, served_ndcg[1] / nu});
  rep.p50_ms = percentile(latency, 0.5);
  rep.p99_ms = percentile(latency, 0.99);
  rep.p50_ms_towers = percentile(latency_towers, 0.5);
  rep.p99_ms_towers = percentile(latency_towers, 0.99);
  for (const auto& [name, ms] : stage_ms)
    rep.latency_by_stage.push_back({name, percentile(ms, 0.5), percentile(ms, 0.99)});
  say("towers: done");
  return rep;
}

std::string format_towers_report(const towers_report& r, std::size_t k) {
  std::string s;
  s += fmt::format("== two-tower retriever, {} split: {} train / {} test ratings, {} users ==\n",
                   r.protocol, r.train_interactions, r.test_interactions, r.eval_users);
  s += fmt::format("towers: {}\n", r.training);
  s += fmt::format(
      "item tower: {} movies ({} without training ratings, served from their features) in "
      "{} dimensions, embedded and indexed in {:.2f} s\n",
      r.catalogue, r.cold_items, r.dim, r.embed_seconds);
  s += fmt::format("{:<44} {:>10} {:>10}\n", "retriever alone (history excluded)",
                   fmt::format("recall@{}", k), fmt::format("NDCG@{}", k));
  for (const auto& q : r.retrievers)
    s += fmt::format("{:<44} {:>10.4f} {:>10.4f}\n", q.stage, q.recall, q.ndcg);
  s += fmt::format("{:<44} {:>10} {:>10} {:>9} {:>9}\n", "served pipeline (GBDT, MMR, bandit)",
                   fmt::format("recall@{}", k), fmt::format("NDCG@{}", k), "p50 ms", "p99 ms");
  const std::array<std::pair<double, double>, 2> lat = {
      std::pair{r.p50_ms, r.p99_ms}, std::pair{r.p50_ms_towers, r.p99_ms_towers}};
  for (std::size_t i = 0; i < r.served.size() && i < lat.size(); ++i) {
    s += fmt::format("{:<44} {:>10.4f} {:>10.4f} {:>9.3f} {:>9.3f}\n", r.served[i].stage,
                     r.served[i].recall, r.served[i].ndcg, lat[i].first, lat[i].second);
  }
  s += "stages of the pipeline with the towers (p50 / p99 ms):";
  for (const auto& st : r.latency_by_stage)
    s += fmt::format(" {} {:.3f}/{:.3f};", st.stage, st.p50_ms, st.p99_ms);
  s += '\n';
  return s;
}

}  // namespace movie
