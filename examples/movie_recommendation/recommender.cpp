#include "recommender.hpp"

#include <funnel/core/csv.hpp>
#include <funnel/core/error.hpp>
#include <funnel/core/random.hpp>
#include <funnel/core/timer.hpp>
#include <funnel/drift/ks.hpp>
#include <funnel/drift/stats.hpp>
#include <funnel/pipeline/model_registry.hpp>
#include <funnel/pipeline/pipeline.hpp>
#include <funnel/rerank/explore.hpp>
#include <funnel/rerank/mmr.hpp>
#include <funnel/rerank/slate.hpp>
#include <funnel/retrieval/als.hpp>
#include <funnel/retrieval/covisitation.hpp>
#include <funnel/retrieval/popularity.hpp>
#include <funnel/scoring/gbdt.hpp>
#include <funnel/scoring/logistic.hpp>
#include <funnel/scoring/tree_ensemble.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <numeric>
#include <set>
#include <sstream>
#include <tuple>
#include <unordered_set>

namespace movie {

namespace fr = funnel::retrieval;
namespace fp = funnel::pipeline;
namespace rr = funnel::rerank;

namespace {

constexpr double day = 86400.0;

std::vector<std::string> split_genres(std::string_view s) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= s.size()) {
    const auto end = s.find('|', start);
    const auto piece = s.substr(start, end == std::string_view::npos ? s.npos : end - start);
    if (!piece.empty() && piece != "(no genres listed)") out.emplace_back(piece);
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return out;
}

/// Samples index r with probability proportional to 1 / (r + 1)^s.
class zipf {
 public:
  zipf(std::size_t n, double s) : cdf_(n) {
    double acc = 0;
    for (std::size_t r = 0; r < n; ++r)
      cdf_[r] = acc += 1.0 / std::pow(static_cast<double>(r + 1), s);
    for (auto& c : cdf_) c /= acc;
  }
  std::size_t operator()(funnel::rng& g) const {
    const auto it = std::lower_bound(cdf_.begin(), cdf_.end(), g.uniform());
    return std::min(static_cast<std::size_t>(it - cdf_.begin()), cdf_.size() - 1);
  }

 private:
  std::vector<double> cdf_;
};

/// What the feature builder, the re-ranker and the evaluation know about items and users, built
/// from one training log (no later data).
struct knowledge {
  std::shared_ptr<const fr::als_model> als;
  std::shared_ptr<const fr::covisitation_model> covis;
  std::shared_ptr<const fr::popularity_model> pop;
  struct item_stat {
    double count = 0, mean = 0;
    std::int64_t first = 0, last = 0;
  };
  std::unordered_map<std::uint64_t, item_stat> items;
  std::unordered_map<std::uint64_t, std::uint32_t> genre_row;  // item -> row of `genres`
  funnel::matrix genres;                                       // one-hot genre rows, last row 0
  std::unordered_map<std::uint64_t, double> year;
  double default_year = 1995.0;
  std::int64_t now = 0;
  std::size_t genre_count = 0;

  [[nodiscard]] funnel::row_view genre_vector(std::uint64_t item) const {
    const auto it = genre_row.find(item);
    return genres.row(it == genre_row.end() ? genres.rows() - 1 : it->second);
  }
};

/// Per user: items of the training log oldest first (external ids) and their ratings.
struct histories {
  std::vector<std::vector<std::uint64_t>> items;
  std::vector<std::vector<float>> weights;
};

histories build_histories(const fr::interaction_log& log) {
  std::vector<fr::interaction> rows = log.interactions();
  std::stable_sort(rows.begin(), rows.end(),
                   [](const auto& a, const auto& b) { return a.timestamp < b.timestamp; });
  histories h;
  h.items.resize(log.num_users());
  h.weights.resize(log.num_users());
  for (const auto& r : rows) {
    h.items[r.user].push_back(log.items().external(r.item));
    h.weights[r.user].push_back(r.weight);
  }
  return h;
}

constexpr std::size_t feature_count = 10;
const std::array<const char*, feature_count> feature_names = {"fused retrieval score (RRF)",
                                                              "ALS score",
                                                              "co-visitation score",
                                                              "log item popularity",
                                                              "item mean rating",
                                                              "log user activity",
                                                              "genre affinity (cosine)",
                                                              "movie year",
                                                              "log days since item last rated",
                                                              "log days since item first rated"};

/// FeatureBuilder: one row per (user, candidate), computed from the training knowledge only.
struct movie_features {
  std::shared_ptr<const knowledge> kb;
  [[nodiscard]] std::size_t width() const noexcept { return feature_count; }
  void build(const fp::request& req, std::span<const funnel::candidate> cands,
             std::span<float> out) const {
    const auto& k = *kb;
    // ALS user vector.
    std::span<const float> uvec;
    if (req.query.user) {
      if (const auto u = k.als->users().find(*req.query.user)) uvec = k.als->user_factors().row(*u);
    }
    // Co-visitation scores of the whole neighbourhood of the history.
    std::unordered_map<std::uint64_t, float> covis;
    for (const auto& c : k.covis->retrieve(req.query, 1000)) covis.emplace(c.id, c.score);
    // Genre profile of the user.
    std::vector<double> profile(k.genre_count, 0.0);
    for (const auto item : req.query.history) {
      const auto g = k.genre_vector(item);
      for (std::size_t j = 0; j < k.genre_count; ++j) profile[j] += static_cast<double>(g[j]);
    }
    const double pnorm =
        std::sqrt(std::inner_product(profile.begin(), profile.end(), profile.begin(), 0.0));
    const double activity = std::log1p(static_cast<double>(req.query.history.size()));
    for (std::size_t i = 0; i < cands.size(); ++i) {
      const auto id = cands[i].id;
      auto row = out.subspan(i * feature_count, feature_count);
      row[0] = cands[i].score * 60.0F;  // RRF scores are ~1/60 per list
      double als_score = 0.0;
      if (!uvec.empty()) {
        if (const auto it = k.als->items().find(id)) {
          const auto v = k.als->item_factors().row(*it);
          als_score = std::inner_product(v.begin(), v.end(), uvec.begin(), 0.0);
        }
      }
      row[1] = static_cast<float>(als_score);
      const auto cv = covis.find(id);
      row[2] = cv == covis.end() ? 0.0F : cv->second;
      const auto st = k.items.find(id);
      const bool known = st != k.items.end();
      row[3] = static_cast<float>(std::log1p(known ? st->second.count : 0.0));
      row[4] = static_cast<float>(known ? st->second.mean : 0.0);
      row[5] = static_cast<float>(activity);
      const auto g = k.genre_vector(id);
      double dot = 0, gn = 0;
      for (std::size_t j = 0; j < k.genre_count; ++j) {
        dot += profile[j] * static_cast<double>(g[j]);
        gn += static_cast<double>(g[j]) * static_cast<double>(g[j]);
      }
      row[6] = static_cast<float>(pnorm > 0 && gn > 0 ? dot / (pnorm * std::sqrt(gn)) : 0.0);
      const auto y = k.year.find(id);
      row[7] =
          static_cast<float>(((y == k.year.end() ? k.default_year : y->second) - 2000.0) / 10.0);
      const auto days = [&](std::int64_t t) {
        return static_cast<float>(std::log1p(std::max(0.0, static_cast<double>(k.now - t) / day)));
      };
      row[8] = known ? days(st->second.last) : 10.0F;
      row[9] = known ? days(st->second.first) : 0.0F;
    }
  }
};

/// Scorer that keeps the retrieval (fusion) order: feature 0 is the fused score.
struct fused_order {
  void score_batch(funnel::matrix_view x, std::span<float> out) const noexcept {
    for (std::size_t i = 0; i < x.rows(); ++i) out[i] = x.row(i)[0];
  }
};

/// Reranker: MMR by genre over the top of the ranked list, then optionally one exploration slot.
struct genre_rerank {
  std::shared_ptr<const knowledge> kb;
  rr::mmr mmr;
  std::optional<rr::explore_slots<rr::uniform_exploration>> explore;
  std::size_t k = 20;
  std::size_t pool = 100;

  void rerank(funnel::candidate_list& c, const fp::request& req) const {
    if (c.size() > pool) c.resize(pool);
    if (c.empty()) return;
    // MMR wants relevance on the scale of the similarity (cosine in [0, 1]): min-max the scores.
    const auto [lo, hi] = std::minmax_element(
        c.begin(), c.end(), [](const auto& a, const auto& b) { return a.score < b.score; });
    const float lo_s = lo->score, span = hi->score - lo->score;
    for (auto& x : c) x.score = span > 0 ? (x.score - lo_s) / span : 1.0F;
    std::vector<std::uint32_t> rows(c.size());
    for (std::size_t i = 0; i < c.size(); ++i) {
      const auto it = kb->genre_row.find(c[i].id);
      rows[i] = it == kb->genre_row.end() ? static_cast<std::uint32_t>(kb->genres.rows() - 1)
                                          : it->second;
    }
    rr::slate s(c);
    s.set_embeddings(kb->genres.view(), rows);
    rr::context ctx;
    ctx.k = k;
    ctx.seed = req.id;
    mmr.rerank(s, ctx);
    if (explore) explore->rerank(s, ctx);
    s.write(c);
  }
};

std::shared_ptr<const knowledge> learn(const dataset& data, const fr::interaction_log& log,
                                       const options& opt,
                                       const std::function<void(std::string)>& say) {
  auto kb = std::make_shared<knowledge>();
  funnel::stopwatch w;
  fr::als_options ao;
  ao.factors = opt.als_factors;
  ao.iterations = opt.als_iterations;
  ao.alpha = opt.als_alpha;
  ao.regularization = opt.als_regularization;
  ao.seed = opt.seed;
  ao.compute_loss = false;
  say(fmt::format("fitting ALS ({} factors, {} iterations) on {} ratings", ao.factors,
                  ao.iterations, log.size()));
  kb->als = std::make_shared<const fr::als_model>(fr::als_model::fit(log, ao));
  say(fmt::format("ALS fitted in {:.1f} s", w.elapsed_us() * 1e-6));
  fr::covisitation_options co;
  co.window = 7 * 24 * 3600;
  co.top_n = 100;
  kb->covis = std::make_shared<const fr::covisitation_model>(fr::covisitation_model::fit(log, co));
  fr::popularity_options po;
  po.half_life = 180 * day;  // recent popularity: what people watch now
  kb->pop = std::make_shared<const fr::popularity_model>(fr::popularity_model::fit(log, po));

  std::int64_t now = 0;
  for (const auto& r : log.interactions()) {
    auto& st = kb->items[log.items().external(r.item)];
    if (st.count == 0) st.first = st.last = r.timestamp;
    st.first = std::min(st.first, r.timestamp);
    st.last = std::max(st.last, r.timestamp);
    st.mean += (static_cast<double>(r.weight) - st.mean) / (st.count + 1);
    st.count += 1;
    now = std::max(now, r.timestamp);
  }
  kb->now = now;
  // Genre one-hot rows (every movie of the metadata, known to the catalogue before any rating).
  std::map<std::string, std::size_t> genre_ids;
  for (const auto& [id, m] : data.movies)
    for (const auto& g : m.genres) genre_ids.emplace(g, 0);
  std::size_t next = 0;
  for (auto& [g, idx] : genre_ids) idx = next++;
  kb->genre_count = genre_ids.size();
  funnel::matrix genres(data.movies.size() + 1, std::max<std::size_t>(kb->genre_count, 1));
  std::uint32_t row = 0;
  std::vector<double> years;
  for (const auto& [id, m] : data.movies) {
    for (const auto& g : m.genres) genres(row, genre_ids[g]) = 1.0F;
    kb->genre_row.emplace(id, row++);
    if (std::isfinite(m.year)) {
      kb->year.emplace(id, m.year);
      years.push_back(m.year);
    }
  }
  if (!years.empty()) {
    std::nth_element(years.begin(), years.begin() + static_cast<std::ptrdiff_t>(years.size() / 2),
                     years.end());
    kb->default_year = years[years.size() / 2];
  }
  kb->genres = std::move(genres);
  return kb;
}

fr::user_query query_for(std::uint64_t user, const histories& h, std::uint32_t dense) {
  fr::user_query q;
  q.user = user;
  q.history = h.items[dense];
  q.history_weights = h.weights[dense];
  return q;
}

fp::pipeline_options serving_options() {
  fp::pipeline_options po;
  // Generous budgets: the evaluation must measure the models, not a busy machine's fallbacks.
  po.retrieval_budget = std::chrono::seconds(1);
  po.ranking_budget = std::chrono::seconds(1);
  po.rerank_budget = std::chrono::seconds(1);
  return po;
}

auto retrievers(const knowledge& kb, std::size_t quota) {
  return std::tuple{
      fp::retriever_slot<fp::any_retriever>{"als", fp::any_retriever(kb.als), quota},
      fp::retriever_slot<fp::any_retriever>{"covisitation", fp::any_retriever(kb.covis), quota},
      fp::retriever_slot<fp::any_retriever>{"popularity", fp::any_retriever(kb.pop), quota}};
}

/// recall@k (hits / min(|relevant|, k)) and binary NDCG@k of one list.
std::pair<double, double> quality(std::span<const funnel::candidate> list,
                                  const std::unordered_set<std::uint64_t>& relevant,
                                  std::size_t k) {
  double hits = 0, dcg = 0, idcg = 0;
  const std::size_t n = std::min(k, list.size());
  for (std::size_t r = 0; r < n; ++r) {
    if (relevant.count(list[r].id) != 0) {
      hits += 1;
      dcg += 1.0 / std::log2(static_cast<double>(r) + 2.0);
    }
  }
  const std::size_t ideal = std::min(k, relevant.size());
  for (std::size_t r = 0; r < ideal; ++r) idcg += 1.0 / std::log2(static_cast<double>(r) + 2.0);
  return {ideal == 0 ? 0.0 : hits / static_cast<double>(ideal), idcg == 0 ? 0.0 : dcg / idcg};
}

double distinct_genres(std::span<const funnel::candidate> list, const knowledge& kb,
                       std::size_t k) {
  std::vector<char> seen(kb.genres.cols(), 0);
  for (std::size_t r = 0; r < std::min(k, list.size()); ++r) {
    const auto g = kb.genre_vector(list[r].id);
    for (std::size_t j = 0; j < g.size(); ++j)
      if (g[j] > 0) seen[j] = 1;
  }
  return static_cast<double>(std::count(seen.begin(), seen.end(), 1));
}

/// Per user (dense index): the set of external items of `log`.
std::vector<std::unordered_set<std::uint64_t>> item_sets(const fr::interaction_log& log) {
  std::vector<std::unordered_set<std::uint64_t>> s(log.num_users());
  for (const auto& r : log.interactions()) s[r.user].insert(log.items().external(r.item));
  return s;
}

/// Fits the ranker on the training period: retrievers learn from its earlier part, labels are
/// the items each user rated in its later part (never the test period).
struct rankers {
  funnel::scoring::logistic_model logistic;
  funnel::scoring::tree_ensemble gbdt;
};

rankers train_ranker(const dataset& data, const fr::interaction_log& train, bool per_user,
                     const options& opt, split_report& rep,
                     const std::function<void(std::string)>& say) {
  // The label slice follows the protocol being evaluated: a later time slice of the training
  // period (temporal), or each user's later training ratings (per-user).
  auto [fit, label] = per_user ? train.split_per_user(1.0 - opt.label_quantile)
                               : train.split_by_time(train.time_quantile(opt.label_quantile));
  say(fmt::format("ranker: retrievers on {} earlier ratings, labels from {} later ones", fit.size(),
                  label.size()));
  const auto kb = learn(data, fit, opt, say);
  const auto hist = build_histories(fit);
  const auto labels = item_sets(label);
  auto registry = std::make_shared<fp::model_registry<fused_order>>();
  registry->add("fused", std::make_shared<const fused_order>());
  auto p = fp::make_pipeline(retrievers(*kb, opt.quota), std::tuple{}, movie_features{kb},
                             fp::ranker<fused_order>{registry}, std::tuple{}, serving_options());
  std::vector<float> x;
  std::vector<int> y;
  std::uint64_t current_user = 0;
  p.set_feature_logger([&](const fp::scored_batch& b) {
    const auto& rel = labels[*fit.users().find(current_user)];
    for (std::size_t i = 0; i < b.ids.size(); ++i) {
      const auto row = b.features.row(i);
      x.insert(x.end(), row.begin(), row.end());
      y.push_back(rel.count(b.ids[i]) != 0 ? 1 : 0);
    }
  });
  std::size_t users = 0;
  funnel::stopwatch progress_clock;
  for (std::uint32_t u = 0; u < label.num_users(); ++u) {
    if (labels[u].empty() || hist.items[u].empty()) continue;
    current_user = label.users().external(u);
    fp::request req;
    req.id = current_user;
    req.query = query_for(current_user, hist, u);
    req.slate_size = 3 * opt.quota;
    (void)p.run(req);
    ++users;
    if (progress_clock.elapsed_us() > 2e6) {
      say(fmt::format("ranker: collected candidates and features of {} users", users));
      progress_clock.reset();
    }
  }
  const std::size_t n = y.size();
  const auto positives = static_cast<std::size_t>(std::count(y.begin(), y.end(), 1));
  if (n == 0 || positives == 0 || positives == n) {
    funnel::raise<funnel::invalid_argument>(
        "movie.train_ranker", "the label slice gave {} rows with {} positives: too little data", n,
        positives);
  }
  rep.ranker_rows = n;
  rep.ranker_positive_rate = static_cast<double>(positives) / static_cast<double>(n);
  // Standardise, fit, then fold the standardisation into the coefficients (served on raw rows).
  std::vector<double> mean(feature_count, 0.0), sd(feature_count, 0.0);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < feature_count; ++j) mean[j] += x[i * feature_count + j];
  for (auto& m : mean) m /= static_cast<double>(n);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < feature_count; ++j) {
      const double d = x[i * feature_count + j] - mean[j];
      sd[j] += d * d;
    }
  for (auto& s : sd)
    s = std::sqrt(s / static_cast<double>(n)) > 1e-9 ? std::sqrt(s / static_cast<double>(n)) : 1.0;
  std::vector<float> z(x.size());
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < feature_count; ++j)
      z[i * feature_count + j] = static_cast<float>((x[i * feature_count + j] - mean[j]) / sd[j]);
  say(fmt::format("ranker: fitting logistic regression on {} rows ({} users, {:.2f}% positive)", n,
                  users, 100.0 * rep.ranker_positive_rate));
  funnel::scoring::logistic_options lo;
  lo.C = 1.0;
  const auto fitted =
      funnel::scoring::fit_logistic(funnel::matrix_view(z.data(), n, feature_count), y, lo);
  std::vector<double> coef(feature_count);
  double intercept = fitted.model.intercept();
  for (std::size_t j = 0; j < feature_count; ++j) {
    coef[j] = fitted.model.coef()[j] / sd[j];
    intercept -= coef[j] * mean[j];
    rep.ranker_weights.push_back(fmt::format("{:<34} {:+.3f} (per standard deviation)",
                                             feature_names[j], fitted.model.coef()[j]));
  }
  funnel::scoring::gbdt_options go;
  go.objective = funnel::scoring::gbdt_objective::binary_logistic;
  go.rounds = opt.gbdt_rounds;
  go.learning_rate = 0.1;
  go.max_depth = 6;
  go.threads = 2;
  say(fmt::format("ranker: training GBDT ({} rounds, depth 6, binary logistic) on the same rows",
                  go.rounds));
  std::vector<float> yf(y.begin(), y.end());
  funnel::scoring::gbdt_data gd;
  gd.features = funnel::matrix_view(x.data(), n, feature_count);
  gd.labels = yf;
  auto trained = funnel::scoring::train_gbdt(gd, go);
  say("ranker: GBDT trained");
  return {funnel::scoring::logistic_model(std::move(coef), intercept), std::move(trained.model)};
}

split_report evaluate(const dataset& data, const fr::interaction_log& train,
                      const fr::interaction_log& test, std::string protocol, bool per_user,
                      const options& opt, const std::function<void(std::string)>& say) {
  split_report rep;
  rep.protocol = std::move(protocol);
  rep.train_interactions = train.size();
  rep.test_interactions = test.size();
  rep.quota = opt.quota;
  auto models = train_ranker(data, train, per_user, opt, rep, say);
  auto model = std::make_shared<const funnel::scoring::logistic_model>(std::move(models.logistic));
  auto gbdt = std::make_shared<const funnel::scoring::tree_ensemble>(std::move(models.gbdt));
  say("serving models: retrievers refitted on the whole training period");
  const auto kb = learn(data, train, opt, say);
  const auto hist = build_histories(train);
  const auto truth = item_sets(test);

  auto fused_registry = std::make_shared<fp::model_registry<fused_order>>();
  fused_registry->add("fused", std::make_shared<const fused_order>());
  auto registry = std::make_shared<fp::model_registry<funnel::scoring::logistic_model>>();
  registry->add("logistic-v1", model);
  auto gbdt_registry = std::make_shared<fp::model_registry<funnel::scoring::tree_ensemble>>();
  gbdt_registry->add("gbdt-v1", gbdt);
  const movie_features features{kb};
  const auto so = serving_options();
  auto merged = fp::make_pipeline(retrievers(*kb, opt.quota), std::tuple{}, features,
                                  fp::ranker<fused_order>{fused_registry}, std::tuple{}, so);
  auto ranked =
      fp::make_pipeline(retrievers(*kb, opt.quota), std::tuple{}, features,
                        fp::ranker<funnel::scoring::logistic_model>{registry}, std::tuple{}, so);
  auto ranked_gbdt = fp::make_pipeline(retrievers(*kb, opt.quota), std::tuple{}, features,
                                       fp::ranker<funnel::scoring::tree_ensemble>{gbdt_registry},
                                       std::tuple{}, so);
  const rr::mmr mmr(rr::mmr_options{opt.mmr_lambda, rr::similarity_kind::cosine});
  auto diversified = fp::make_pipeline(
      retrievers(*kb, opt.quota), std::tuple{}, features,
      fp::ranker<funnel::scoring::tree_ensemble>{gbdt_registry},
      std::tuple{fp::named<genre_rerank>{"mmr-genre", genre_rerank{kb, mmr, std::nullopt, opt.k}}},
      so);
  auto full = fp::make_pipeline(
      retrievers(*kb, opt.quota), std::tuple{}, features,
      fp::ranker<funnel::scoring::tree_ensemble>{gbdt_registry},
      std::tuple{fp::named<genre_rerank>{
          "mmr-genre+explore", genre_rerank{kb, mmr,
                                            rr::explore_slots<rr::uniform_exploration>(
                                                {opt.explore_position}, {}, opt.explore_depth),
                                            opt.k}}},
      so);

  const std::vector<std::string> names = {"popularity (baseline)",
                                          "ALS alone",
                                          "co-visitation alone",
                                          "merged candidates (RRF)",
                                          "ranked (logistic)",
                                          "ranked (GBDT)",
                                          "re-ranked (GBDT + MMR by genre)",
                                          "+ exploration slot (served)"};
  std::vector<double> recall(names.size(), 0.0), ndcg(names.size(), 0.0);
  std::vector<double> latency;
  double pool_hits = 0, pool_total = 0, genres_ranked = 0, genres_reranked = 0;
  funnel::stopwatch w;
  std::size_t users = 0;
  for (std::uint32_t u = 0; u < test.num_users(); ++u) {
    if (truth[u].empty() || hist.items[u].empty()) continue;
    const auto user = test.users().external(u);
    fp::request req;
    req.id = user;
    req.query = query_for(user, hist, u);
    req.slate_size = opt.k;
    std::vector<funnel::candidate_list> lists;
    lists.push_back(kb->pop->retrieve(req.query, opt.k));
    lists.push_back(kb->als->retrieve(req.query, opt.k));
    lists.push_back(kb->covis->retrieve(req.query, opt.k));
    fp::request pool_req = req;
    pool_req.slate_size = 3 * opt.quota;
    const auto pool = merged.run(pool_req).slate;
    for (const auto& c : pool) pool_hits += truth[u].count(c.id) != 0 ? 1.0 : 0.0;
    pool_total += static_cast<double>(truth[u].size());
    lists.push_back(merged.run(req).slate);
    lists.push_back(ranked.run(req).slate);
    lists.push_back(ranked_gbdt.run(req).slate);
    lists.push_back(diversified.run(req).slate);
    const auto served = full.run(req);
    latency.push_back(served.trace.total_micros * 1e-3);
    lists.push_back(served.slate);
    for (std::size_t s = 0; s < lists.size(); ++s) {
      const auto [rc, nd] = quality(lists[s], truth[u], opt.k);
      recall[s] += rc;
      ndcg[s] += nd;
    }
    genres_ranked += distinct_genres(lists[5], *kb, opt.k);
    genres_reranked += distinct_genres(lists[6], *kb, opt.k);
    ++users;
    if (w.elapsed_us() > 2e6) {
      say(fmt::format("evaluated {} users", users));
      w.reset();
    }
  }
  rep.eval_users = users;
  if (users == 0) return rep;
  const auto nu = static_cast<double>(users);
  for (std::size_t s = 0; s < names.size(); ++s)
    rep.stages.push_back({names[s], recall[s] / nu, ndcg[s] / nu});
  rep.candidate_recall = pool_total > 0 ? pool_hits / pool_total : 0.0;
  rep.genres_per_slate_ranked = genres_ranked / nu;
  rep.genres_per_slate_reranked = genres_reranked / nu;
  std::sort(latency.begin(), latency.end());
  const auto pct = [&](double q) {
    return latency[std::min(latency.size() - 1,
                            static_cast<std::size_t>(q * static_cast<double>(latency.size())))];
  };
  rep.p50_ms = pct(0.5);
  rep.p99_ms = pct(0.99);
  return rep;
}

drift_report rating_drift(const fr::interaction_log& train, const fr::interaction_log& test) {
  drift_report d;
  std::vector<double> a, b;
  for (const auto& r : train.interactions()) a.push_back(r.weight);
  for (const auto& r : test.interactions()) b.push_back(r.weight);
  const auto ks = funnel::drift::ks_2samp(a, b);
  d.ks_statistic = ks.statistic;
  d.ks_pvalue = ks.pvalue;
  d.psi = funnel::drift::psi_samples(a, b);
  d.psi_verdict = std::string(funnel::drift::to_string(funnel::drift::psi_verdict(d.psi)));
  d.train_mean = std::accumulate(a.begin(), a.end(), 0.0) / static_cast<double>(a.size());
  d.test_mean = std::accumulate(b.begin(), b.end(), 0.0) / static_cast<double>(b.size());
  std::map<int, std::pair<double, double>> by_year;
  for (const auto* log : {&train, &test})
    for (const auto& r : log->interactions()) {
      const int year = 1970 + static_cast<int>(static_cast<double>(r.timestamp) / (365.2425 * day));
      by_year[year].first += r.weight;
      by_year[year].second += 1;
    }
  for (const auto& [y, s] : by_year) d.mean_by_year.emplace_back(y, s.first / s.second);
  return d;
}

}  // namespace

dataset load_movielens(const std::filesystem::path& path) {
  const auto table = funnel::read_csv(path);
  dataset d;
  d.log = fr::interaction_log::from_table(table);
  const auto ids = table.numeric("movieId");
  const auto titles = table.strings("title");
  const auto years = table.numeric("year");
  const auto genres = table.strings("genres");
  for (std::size_t r = 0; r < table.rows(); ++r) {
    const auto id = static_cast<std::uint64_t>(ids[r]);
    if (d.movies.count(id) != 0) continue;
    d.movies.emplace(id, movie_info{titles[r], years[r], split_genres(genres[r])});
  }
  return d;
}

dataset synthetic_dataset(std::size_t users, std::size_t items, std::size_t genres,
                          std::size_t per_user, std::uint64_t seed) {
  if (users == 0 || items < genres || genres == 0 || per_user == 0 ||
      per_user * 2 > items / genres) {
    funnel::raise<funnel::invalid_argument>(
        "movie.synthetic_dataset",
        "need users > 0, per_user > 0 and items / genres >= 2 per_user "
        "(got users={}, items={}, genres={}, per_user={})",
        users, items, genres, per_user);
  }
  funnel::rng g(seed);
  dataset d;
  const std::size_t per_genre = items / genres;
  for (std::size_t i = 0; i < items; ++i) {
    d.movies.emplace(i + 1, movie_info{fmt::format("movie {}", i + 1),
                                       1980.0 + static_cast<double>(g.below(40)),
                                       {fmt::format("genre{}", i % genres)}});
  }
  const zipf in_genre(per_genre, 0.8), global(items, 0.8);
  const std::int64_t start = 1'000'000'000;
  for (std::size_t u = 0; u < users; ++u) {
    const std::size_t fav = u % genres;
    std::unordered_set<std::size_t> taken;
    std::vector<std::int64_t> times(per_user);
    for (auto& t : times) t = start + static_cast<std::int64_t>(g.below(200 * 86400));
    std::sort(times.begin(), times.end());
    for (std::size_t n = 0; n < per_user; ++n) {
      std::size_t item = 0;
      do {
        item = g.uniform() < 0.8 ? in_genre(g) * genres + fav : global(g);
      } while (!taken.insert(item).second);
      const float rating = 3.0F + static_cast<float>(g.below(5)) * 0.5F;
      d.log.add(u + 1, item + 1, rating, times[n]);
    }
  }
  return d;
}

report run_experiment(const dataset& data, const options& opt) {
  funnel::stopwatch total;
  const auto say = [&](const std::string& line) {
    if (opt.progress) opt.progress(fmt::format("[{:6.1f} s] {}", total.elapsed_us() * 1e-6, line));
  };
  report r;
  r.users = data.log.num_users();
  r.items = data.log.num_items();
  r.interactions = data.log.size();
  const auto cutoff = data.log.time_quantile(opt.test_quantile);
  auto [train, test] = data.log.split_by_time(cutoff);
  say(fmt::format("temporal split at the {:.0f}% time quantile: {} train / {} test ratings",
                  100 * opt.test_quantile, train.size(), test.size()));
  r.drift = rating_drift(train, test);
  r.splits.push_back(evaluate(data, train, test, "temporal", false, opt, say));
  if (r.splits.back().eval_users < opt.min_test_users) {
    say(fmt::format("only {} test users have training history: also evaluating a per-user split",
                    r.splits.back().eval_users));
    auto [ptrain, ptest] = data.log.split_per_user(1.0 - opt.test_quantile);
    r.splits.push_back(evaluate(
        data, ptrain, ptest,
        fmt::format("per-user (last {:.0f}% of each user)", 100 * (1.0 - opt.test_quantile)), true,
        opt, say));
  }
  r.seconds = total.elapsed_us() * 1e-6;
  say("done");
  return r;
}

std::string format_report(const report& r, std::size_t k) {
  std::string s;
  s += fmt::format("MovieLens-style log: {} users, {} items, {} ratings ({:.1f} s end to end)\n",
                   r.users, r.items, r.interactions, r.seconds);
  for (const auto& sp : r.splits) {
    s += fmt::format("\n== {} split: {} train / {} test ratings, {} users evaluated ==\n",
                     sp.protocol, sp.train_interactions, sp.test_interactions, sp.eval_users);
    s += fmt::format("rankers: logistic regression and GBDT on {} rows, {:.2f}% positive\n",
                     sp.ranker_rows, 100 * sp.ranker_positive_rate);
    s += fmt::format("{:<30} {:>10} {:>10} {:>14}\n", "stage", fmt::format("recall@{}", k),
                     fmt::format("NDCG@{}", k), "vs popularity");
    const double base = sp.stages.empty() ? 0.0 : sp.stages.front().ndcg;
    for (const auto& st : sp.stages) {
      s += fmt::format("{:<30} {:>10.4f} {:>10.4f} {:>14}\n", st.stage, st.recall, st.ndcg,
                       base > 0 ? fmt::format("x{:.2f} NDCG", st.ndcg / base) : "-");
    }
    s += fmt::format("merged candidate pool ({} per retriever) holds {:.1f}% of the test ratings\n",
                     sp.quota, 100 * sp.candidate_recall);
    s += fmt::format("distinct genres in the top {}: {:.2f} ranked -> {:.2f} re-ranked\n", k,
                     sp.genres_per_slate_ranked, sp.genres_per_slate_reranked);
    s +=
        fmt::format("latency per request (full pipeline, 1 thread): p50 {:.2f} ms, p99 {:.2f} ms\n",
                    sp.p50_ms, sp.p99_ms);
    s += "ranker coefficients:\n";
    for (const auto& w : sp.ranker_weights) s += "  " + w + "\n";
  }
  const auto& d = r.drift;
  s += fmt::format(
      "\n== drift of ratings, test period vs training period ==\nmean {:.3f} -> {:.3f}, KS D = "
      "{:.4f} (p = {:.3g}), PSI = {:.4f} ({})\n",
      d.train_mean, d.test_mean, d.ks_statistic, d.ks_pvalue, d.psi, d.psi_verdict);
  s += "mean rating by year:";
  for (const auto& [y, m] : d.mean_by_year) s += fmt::format(" {}:{:.2f}", y, m);
  s += "\n";
  return s;
}

std::string html_report(const report& r, std::size_t k) {
  std::string h =
      "<!doctype html><html><head><meta charset=\"utf-8\"><title>funnel movie recommendation "
      "report</title><style>body{font-family:sans-serif;max-width:60em;margin:2em auto}"
      "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3em .6em;text-align:"
      "right}td:first-child,th:first-child{text-align:left}.bar{background:#4a7;height:.8em}"
      "</style></head><body><h1>funnel: movie recommendation</h1>";
  h += fmt::format("<p>{} users, {} items, {} ratings; {:.1f} s end to end.</p>", r.users, r.items,
                   r.interactions, r.seconds);
  for (const auto& sp : r.splits) {
    h += fmt::format(
        "<h2>{} split</h2><p>{} train / {} test ratings, {} users evaluated; ranker "
        "trained on {} rows.</p>",
        sp.protocol, sp.train_interactions, sp.test_interactions, sp.eval_users, sp.ranker_rows);
    h += fmt::format("<table><tr><th>stage</th><th>recall@{0}</th><th>NDCG@{0}</th><th></th></tr>",
                     k);
    double best = 1e-12;
    for (const auto& st : sp.stages) best = std::max(best, st.ndcg);
    for (const auto& st : sp.stages) {
      h += fmt::format(
          "<tr><td>{}</td><td>{:.4f}</td><td>{:.4f}</td><td style=\"width:12em\">"
          "<div class=\"bar\" style=\"width:{:.0f}%\"></div></td></tr>",
          st.stage, st.recall, st.ndcg, 100 * st.ndcg / best);
    }
    h += "</table>";
    h += fmt::format(
        "<p>Candidate pool recall {:.1f}%. Distinct genres in the top {}: {:.2f} → "
        "{:.2f}. Latency per request: p50 {:.2f} ms, p99 {:.2f} ms.</p>",
        100 * sp.candidate_recall, k, sp.genres_per_slate_ranked, sp.genres_per_slate_reranked,
        sp.p50_ms, sp.p99_ms);
  }
  const auto& d = r.drift;
  h += fmt::format(
      "<h2>Rating drift</h2><p>Mean {:.3f} → {:.3f}; KS D = {:.4f} (p = {:.3g}); PSI "
      "= {:.4f} ({}).</p><table><tr><th>year</th><th>mean rating</th></tr>",
      d.train_mean, d.test_mean, d.ks_statistic, d.ks_pvalue, d.psi, d.psi_verdict);
  for (const auto& [y, m] : d.mean_by_year)
    h += fmt::format("<tr><td>{}</td><td>{:.2f}</td></tr>", y, m);
  h += "</table></body></html>\n";
  return h;
}

}  // namespace movie
