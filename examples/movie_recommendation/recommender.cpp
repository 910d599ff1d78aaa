#include "recommender.hpp"

#include <funnel/bandits/mab.hpp>
#include <funnel/bandits/ope.hpp>
#include <funnel/core/contract.hpp>
#include <funnel/core/csv.hpp>
#include <funnel/core/error.hpp>
#include <funnel/core/random.hpp>
#include <funnel/core/timer.hpp>
#include <funnel/drift/ks.hpp>
#include <funnel/drift/stats.hpp>
#include <funnel/features/categorical.hpp>
#include <funnel/features/numeric.hpp>
#include <funnel/features/pipeline.hpp>
#include <funnel/pipeline/model_registry.hpp>
#include <funnel/pipeline/pipeline.hpp>
#include <funnel/rerank/explore.hpp>
#include <funnel/rerank/mmr.hpp>
#include <funnel/rerank/slate.hpp>
#include <funnel/retrieval/als.hpp>
#include <funnel/retrieval/covisitation.hpp>
#include <funnel/retrieval/hnsw_index.hpp>
#include <funnel/retrieval/popularity.hpp>
#include <funnel/scoring/gbdt.hpp>
#include <funnel/scoring/logistic.hpp>
#include <funnel/scoring/tree_ensemble.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <mutex>
#include <numeric>
#include <set>
#include <sstream>
#include <stdexcept>
#include <tuple>
#include <unordered_set>

#include "pipeline_parts.hpp"

namespace movie {

// The system's parts; those the service shares are declared in pipeline_parts.hpp.
namespace detail {

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

/// The raw signals every ranking feature is derived from, one row per (user, candidate). Both
/// feature sets below are functions of these columns, so the ranker's training rows and its
/// serving rows come from one builder (no training/serving skew).
enum raw_column : std::size_t {
  c_rrf,           // fused retrieval score (reciprocal rank fusion, x60)
  c_als,           // ALS inner product
  c_covis,         // co-visitation score
  c_item_ratings,  // ratings of the item in the training log
  c_item_mean,     // its mean rating (NaN: unseen item)
  c_user_ratings,  // length of the user's history
  c_affinity,      // cosine of the user's genre profile and the item's genres
  c_year,          // release year (NaN: unknown)
  c_days_last,     // days since the item was last rated (NaN: unseen)
  c_days_first,    // days since it was first rated (NaN: unseen)
  c_item_genre,    // first listed genre (categorical, -1 = none)
  c_user_genre,    // the user's most frequent genre (categorical, -1 = none)
  c_item,          // the item id (categorical; ids are folded mod 2^24 to stay exact in float)
  raw_width
};
constexpr std::array<const char*, raw_width> raw_names = {
    "retrieval_rrf", "als_score",      "covis_score", "item_ratings",    "item_mean_rating",
    "user_ratings",  "genre_affinity", "year",        "days_since_last", "days_since_first",
    "item_genre",    "user_genre",     "item"};
constexpr bool is_categorical(std::size_t c) noexcept {
  return c >= c_item_genre;
}

void fill_raw(const knowledge& k, const fp::request& req, std::span<const funnel::candidate> cands,
              std::span<float> out) {
  constexpr float nan = std::numeric_limits<float>::quiet_NaN();
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
  const auto top = std::max_element(profile.begin(), profile.end());
  const float user_genre =
      top == profile.end() || *top <= 0.0 ? -1.0F : static_cast<float>(top - profile.begin());
  const auto days = [&](std::int64_t t) {
    return static_cast<float>(std::max(0.0, static_cast<double>(k.now - t) / day));
  };
  for (std::size_t i = 0; i < cands.size(); ++i) {
    const auto id = cands[i].id;
    auto row = out.subspan(i * raw_width, raw_width);
    row[c_rrf] = cands[i].score * 60.0F;  // RRF scores are ~1/60 per list
    double als_score = 0.0;
    if (!uvec.empty()) {
      if (const auto it = k.als->items().find(id)) {
        const auto v = k.als->item_factors().row(*it);
        als_score = std::inner_product(v.begin(), v.end(), uvec.begin(), 0.0);
      }
    }
    row[c_als] = static_cast<float>(als_score);
    const auto cv = covis.find(id);
    row[c_covis] = cv == covis.end() ? 0.0F : cv->second;
    const auto st = k.items.find(id);
    const bool known = st != k.items.end();
    row[c_item_ratings] = known ? static_cast<float>(st->second.count) : 0.0F;
    row[c_item_mean] = known ? static_cast<float>(st->second.mean) : nan;
    row[c_user_ratings] = static_cast<float>(req.query.history.size());
    const auto g = k.genre_vector(id);
    double dot = 0, gn = 0;
    for (std::size_t j = 0; j < k.genre_count; ++j) {
      dot += profile[j] * static_cast<double>(g[j]);
      gn += static_cast<double>(g[j]) * static_cast<double>(g[j]);
    }
    row[c_affinity] = static_cast<float>(pnorm > 0 && gn > 0 ? dot / (pnorm * std::sqrt(gn)) : 0.0);
    const auto y = k.year.find(id);
    row[c_year] = y == k.year.end() ? nan : static_cast<float>(y->second);
    row[c_days_last] = known ? days(st->second.last) : nan;
    row[c_days_first] = known ? days(st->second.first) : nan;
    const auto fg = k.first_genre.find(id);
    row[c_item_genre] = fg == k.first_genre.end() ? -1.0F : static_cast<float>(fg->second);
    row[c_user_genre] = user_genre;
    row[c_item] = static_cast<float>(id % (std::uint64_t{1} << 24U));
  }
}

/// The hand-written feature set (the example's first version): fixed transforms of the raw row.
constexpr std::size_t hand_width = 10;
void hand_row(const knowledge& k, std::span<const float> raw, std::span<float> f) {
  const auto or_else = [](float v, float fallback) { return std::isnan(v) ? fallback : v; };
  f[0] = raw[c_rrf];
  f[1] = raw[c_als];
  f[2] = raw[c_covis];
  f[3] = std::log1p(raw[c_item_ratings]);
  f[4] = or_else(raw[c_item_mean], 0.0F);
  f[5] = std::log1p(raw[c_user_ratings]);
  f[6] = raw[c_affinity];
  f[7] = static_cast<float>(
      ((std::isnan(raw[c_year]) ? k.default_year : static_cast<double>(raw[c_year])) - 2000.0) /
      10.0);
  f[8] = std::isnan(raw[c_days_last]) ? 10.0F : std::log1p(raw[c_days_last]);
  f[9] = std::isnan(raw[c_days_first]) ? 0.0F : std::log1p(raw[c_days_first]);
}

/// The input schema of the features pipeline: the raw columns, numeric or integer categories.
ff::schema raw_schema() {
  std::vector<ff::column_spec> cols;
  for (std::size_t c = 0; c < raw_width; ++c) {
    cols.push_back({raw_names[c],
                    is_categorical(c) ? ff::column_type::integer : ff::column_type::numeric,
                    ff::missing_policy::allow});
  }
  return ff::schema(std::move(cols));
}

/// The ranker's features as a funnel::features pipeline, fitted on the ranker's training rows:
/// imputation with missing indicators, log + standardisation of the heavy-tailed counts, quantile
/// buckets for year and user activity, ordinal genre codes and an out-of-fold target encoding of
/// the item (its rate of later ratings among the candidates it appeared in).
ff::any_pipeline make_feature_pipeline() {
  ff::imputer mean_fill;
  ff::imputer median_fill;
  median_fill.strategy = ff::impute_strategy::median;
  const ff::standard_scaler scale;
  const ff::log_transform log;
  std::vector<ff::any_component> c;
  c.emplace_back(ff::numeric_column("retrieval_rrf", {scale}));
  c.emplace_back(ff::numeric_column("als_score", {scale}));
  c.emplace_back(ff::numeric_column("covis_score", {log, scale}));
  c.emplace_back(ff::numeric_column("item_ratings", {log, scale}));
  c.emplace_back(
      ff::numeric_column("item_mean_rating", {mean_fill, scale}, {.missing_indicator = true}));
  c.emplace_back(ff::numeric_column("user_ratings", {log, ff::quantile_bucketizer{}}));
  c.emplace_back(ff::numeric_column("genre_affinity", {}));
  c.emplace_back(ff::numeric_column("year", {median_fill, ff::quantile_bucketizer{}},
                                    {.missing_indicator = true}));
  c.emplace_back(ff::numeric_column("days_since_last", {median_fill, log, scale},
                                    {.missing_indicator = true}));
  c.emplace_back(ff::numeric_column("days_since_first", {median_fill, log, scale}));
  // Genres as ordinal codes, not one-hot: the served ranker is a GBDT, which splits codes as
  // well as indicator columns, and its training cost grows with the width (one-hot genres and a
  // hashed genre cross made the matrix 98 wide and both fits over ten times slower on MovieLens).
  c.emplace_back(ff::ordinal_encoder("item_genre", {.handle_unknown = ff::unknown_policy::ignore}));
  c.emplace_back(ff::ordinal_encoder("user_genre", {.handle_unknown = ff::unknown_policy::ignore}));
  c.emplace_back(ff::target_encoder("item", {.smoothing = 20.0}));
  return ff::any_pipeline(raw_schema(), std::move(c));
}

/// Raw rows (row-major) as a columnar features batch; owns the column copies the batch views.
class raw_batch {
 public:
  raw_batch(const ff::schema& s, std::span<const float> raw, std::size_t rows)
      : num_(raw_width), cat_(raw_width), batch_(s) {
    for (std::size_t c = 0; c < raw_width; ++c) {
      if (is_categorical(c)) {
        cat_[c].resize(rows);
        for (std::size_t i = 0; i < rows; ++i)
          cat_[c][i] = static_cast<std::int64_t>(raw[i * raw_width + c]);
        batch_.set(c, std::span<const std::int64_t>(cat_[c]));
      } else {
        num_[c].resize(rows);
        for (std::size_t i = 0; i < rows; ++i) num_[c][i] = raw[i * raw_width + c];
        batch_.set(c, std::span<const float>(num_[c]));
      }
    }
  }
  raw_batch(const raw_batch&) = delete;
  raw_batch& operator=(const raw_batch&) = delete;
  [[nodiscard]] const ff::batch& get() const noexcept { return batch_; }

 private:
  std::vector<std::vector<float>> num_;
  std::vector<std::vector<std::int64_t>> cat_;
  ff::batch batch_;
};

void piped_features::build(const fp::request& req, std::span<const funnel::candidate> cands,
                           std::span<float> out) const {
  std::vector<float> raw(cands.size() * raw_width);
  fill_raw(*kb, req, cands, raw);
  const raw_batch b(features->get_schema(), raw, cands.size());
  features->transform(b.get(), out);
}

/// FeatureStage of the raw signals (what the ranker's training rows are logged from).
struct raw_features {
  std::shared_ptr<const knowledge> kb;
  [[nodiscard]] std::size_t width() const noexcept { return raw_width; }
  void build(const fp::request& req, std::span<const funnel::candidate> cands,
             std::span<float> out) const {
    fill_raw(*kb, req, cands, out);
  }
};

/// FeatureStage of the hand-written features.
struct hand_features {
  std::shared_ptr<const knowledge> kb;
  [[nodiscard]] std::size_t width() const noexcept { return hand_width; }
  void build(const fp::request& req, std::span<const funnel::candidate> cands,
             std::span<float> out) const {
    std::vector<float> raw(cands.size() * raw_width);
    fill_raw(*kb, req, cands, raw);
    for (std::size_t i = 0; i < cands.size(); ++i) {
      hand_row(*kb, std::span<const float>(raw).subspan(i * raw_width, raw_width),
               out.subspan(i * hand_width, hand_width));
    }
  }
};

/// ScoringStage that keeps the retrieval (fusion) order: feature 0 is the fused score.
struct fused_order {
  void score_batch(funnel::matrix_view x, std::span<float> out) const noexcept {
    for (std::size_t i = 0; i < x.rows(); ++i) out[i] = x.row(i)[0];
  }
};

std::shared_ptr<const knowledge> learn(const dataset& data, const fr::interaction_log& log,
                                       const options& opt,
                                       const std::function<void(std::string)>& say,
                                       const fitted_retrievers* fitted) {
  auto kb = std::make_shared<knowledge>();
  if (fitted != nullptr) {
    kb->als = fitted->als;
    kb->covis = fitted->covis;
    kb->pop = fitted->pop;
    kb->ann = fitted->ann;
  } else {
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
    kb->als = std::make_shared<const fr::als_model>(fr::fit_als(log, ao));
    say(fmt::format("ALS fitted in {:.1f} s", w.elapsed_us() * 1e-6));
    w.reset();
    fr::hnsw_options hp;
    hp.dim = kb->als->factors();
    hp.metric = fr::metric::inner_product;
    hp.M = opt.hnsw_m;
    hp.ef_construction = opt.hnsw_ef_construction;
    hp.capacity = kb->als->items().size();
    hp.seed = opt.seed;
    auto ann = std::make_shared<fr::hnsw_index>(hp);
    ann->add_batch(kb->als->items().externals(), kb->als->item_factors().view(), 1);
    kb->ann = std::move(ann);
    say(
        fmt::format("HNSW index of {} ALS item vectors (inner product, M {}, ef_construction {}) "
                    "built in {:.1f} s",
                    kb->ann->size(), hp.M, hp.ef_construction, w.elapsed_us() * 1e-6));
    fr::covisitation_options co;
    co.window = 7 * 24 * 3600;
    co.top_n = 100;
    kb->covis = std::make_shared<const fr::covisitation_model>(fr::fit_covisitation(log, co));
    fr::popularity_options po;
    po.half_life = 180 * day;  // recent popularity: what people watch now
    kb->pop = std::make_shared<const fr::popularity_model>(fr::fit_popularity(log, po));
  }

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
    if (!m.genres.empty())
      kb->first_genre.emplace(id, static_cast<std::int64_t>(genre_ids[m.genres.front()]));
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

/// Share of `exact`'s ids found in `approx` (1 when `exact` is empty).
double overlap(std::span<const funnel::candidate> approx,
               std::span<const funnel::candidate> exact) {
  if (exact.empty()) return 1.0;
  std::unordered_set<std::uint64_t> a;
  for (const auto& c : approx) a.insert(c.id);
  double hits = 0;
  for (const auto& c : exact) hits += a.count(c.id) != 0 ? 1.0 : 0.0;
  return hits / static_cast<double>(exact.size());
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

funnel::scoring::tree_ensemble fit_gbdt(const std::vector<float>& x, std::size_t width,
                                        const std::vector<float>& y, const options& opt,
                                        std::vector<std::string> names = {}) {
  funnel::scoring::gbdt_options go;
  go.objective = funnel::scoring::gbdt_objective::binary_logistic;
  go.rounds = opt.gbdt_rounds;
  go.learning_rate = 0.1;
  go.max_depth = 6;
  go.threads = 2;
  go.feature_names = std::move(names);  // kept by the model: the pipeline binds by them
  funnel::scoring::gbdt_data gd;
  gd.features = funnel::matrix_view(x.data(), y.size(), width);
  gd.labels = y;
  return funnel::scoring::fit_gbdt(gd, go).model;
}

/// Fits the rankers on the training period: retrievers learn from its earlier part, labels are
/// the items each user rated in its later part (never the test period).
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
  auto p = fp::make_pipeline(retrievers(*kb, opt), std::tuple{}, raw_features{kb},
                             fp::ranker<fused_order>{registry}, std::tuple{}, serving_options());
  std::vector<float> raw;
  std::vector<float> y;
  std::uint64_t current_user = 0;
  p.set_feature_logger([&](const fp::scored_batch& b) {
    const auto& rel = labels[*fit.users().find(current_user)];
    for (std::size_t i = 0; i < b.ids.size(); ++i) {
      const auto row = b.features.row(i);
      raw.insert(raw.end(), row.begin(), row.end());
      y.push_back(rel.count(b.ids[i]) != 0 ? 1.0F : 0.0F);
    }
  });
  std::size_t users = 0;
  funnel::stopwatch progress_clock;
  for (std::uint32_t u = 0; u < label.num_users(); ++u) {
    if (labels[u].empty() || hist.items[u].empty()) continue;
    if (opt.max_ranker_users != 0 && users >= opt.max_ranker_users) break;
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
  const auto positives = static_cast<std::size_t>(std::count(y.begin(), y.end(), 1.0F));
  if (n == 0 || positives == 0 || positives == n) {
    funnel::raise<funnel::invalid_argument>(
        "app.train_ranker", "the label slice gave {} rows with {} positives: too little data", n,
        positives);
  }
  rep.ranker_rows = n;
  rep.ranker_positive_rate = static_cast<double>(positives) / static_cast<double>(n);

  // The hand-written features (the comparison) and the features pipeline (served).
  std::vector<float> hand(n * hand_width);
  for (std::size_t i = 0; i < n; ++i) {
    hand_row(*kb, std::span<const float>(raw).subspan(i * raw_width, raw_width),
             std::span<float>(hand).subspan(i * hand_width, hand_width));
  }
  auto features = std::make_shared<ff::any_pipeline>(make_feature_pipeline());
  funnel::matrix x;
  {
    const raw_batch b(features->get_schema(), raw, n);
    const auto folds = ff::make_folds(n, 5, opt.seed);
    x = features->fit_transform(b.get(), y, folds);
  }
  const auto names = features->output_names();
  rep.feature_count = names.size();
  say(fmt::format("ranker: features pipeline fitted: {} raw columns -> {} features on {} rows",
                  static_cast<std::size_t>(raw_width), names.size(), n));

  say(fmt::format("ranker: fitting logistic regression on {} rows ({} users, {:.2f}% positive)", n,
                  users, 100.0 * rep.ranker_positive_rate));
  funnel::scoring::logistic_options lo;
  lo.C = 1.0;
  auto fitted = funnel::scoring::fit_logistic(x.view(), y, lo);
  {
    std::vector<std::size_t> order(names.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    const auto coef = fitted.model.coef();
    std::sort(order.begin(), order.end(),
              [&](std::size_t a, std::size_t b) { return std::abs(coef[a]) > std::abs(coef[b]); });
    for (std::size_t j = 0; j < std::min<std::size_t>(8, order.size()); ++j)
      rep.ranker_weights.push_back(fmt::format("{:<34} {:+.3f}", names[order[j]], coef[order[j]]));
  }
  say(fmt::format("ranker: training GBDT ({} rounds, depth 6) on the hand-written features",
                  opt.gbdt_rounds));
  auto gbdt_hand = fit_gbdt(hand, hand_width, y, opt);
  say(fmt::format("ranker: training GBDT ({} rounds, depth 6) on the {} pipeline features",
                  opt.gbdt_rounds, names.size()));
  std::vector<float> xv(x.data(), x.data() + x.size());
  auto gbdt = fit_gbdt(xv, names.size(), y, opt, names);
  say("ranker: GBDTs trained");
  return {std::move(features),  names,           std::move(fitted.model),
          std::move(gbdt_hand), std::move(gbdt), std::move(x)};
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
  using funnel::scoring::logistic_model;
  using funnel::scoring::tree_ensemble;
  say("serving models: retrievers refitted on the whole training period");
  const auto kb = learn(data, train, opt, say);
  const auto hist = build_histories(train);
  const auto truth = item_sets(test);

  auto fused_registry = std::make_shared<fp::model_registry<fused_order>>();
  fused_registry->add("fused", std::make_shared<const fused_order>());
  auto logistic_registry = std::make_shared<fp::model_registry<logistic_model>>();
  logistic_registry->add("logistic-v1",
                         std::make_shared<const logistic_model>(std::move(models.logistic)));
  auto hand_registry = std::make_shared<fp::model_registry<tree_ensemble>>();
  hand_registry->add("gbdt-hand-v1",
                     std::make_shared<const tree_ensemble>(std::move(models.gbdt_hand)));
  auto gbdt_registry = std::make_shared<fp::model_registry<tree_ensemble>>();
  gbdt_registry->add("gbdt-v2", std::make_shared<const tree_ensemble>(std::move(models.gbdt)));
  const piped_features features{kb, models.features};
  // The served features must be the columns the models were trained on, by name and in order:
  // make_pipeline binds them (and every version added to the registry later); this states it.
  if (!funnel::check_feature_binding(
          features.output_names(), gbdt_registry->active().model->feature_names(),
          gbdt_registry->active().model->num_features(), "movie_recommendation.gbdt")) {
    throw std::logic_error("movie_recommendation: the GBDT lost its feature names");
  }
  const auto so = serving_options();
  auto merged = fp::make_pipeline(retrievers(*kb, opt), std::tuple{}, raw_features{kb},
                                  fp::ranker<fused_order>{fused_registry}, std::tuple{}, so);
  auto ranked = fp::make_pipeline(retrievers(*kb, opt), std::tuple{}, features,
                                  fp::ranker<logistic_model>{logistic_registry}, std::tuple{}, so);
  auto ranked_hand = fp::make_pipeline(retrievers(*kb, opt), std::tuple{}, hand_features{kb},
                                       fp::ranker<tree_ensemble>{hand_registry}, std::tuple{}, so);
  auto ranked_gbdt = fp::make_pipeline(retrievers(*kb, opt), std::tuple{}, features,
                                       fp::ranker<tree_ensemble>{gbdt_registry}, std::tuple{}, so);
  const rr::mmr mmr(rr::mmr_options{opt.mmr_lambda, rr::similarity_kind::cosine});
  using uniform_rerank = genre_rerank<rr::uniform_exploration>;
  auto diversified = fp::make_pipeline(
      retrievers(*kb, opt), std::tuple{}, features, fp::ranker<tree_ensemble>{gbdt_registry},
      std::tuple{
          fp::named<uniform_rerank>{"mmr-genre", uniform_rerank{kb, mmr, std::nullopt, opt.k}}},
      so);
  auto uniform = fp::make_pipeline(
      retrievers(*kb, opt), std::tuple{}, features, fp::ranker<tree_ensemble>{gbdt_registry},
      std::tuple{fp::named<uniform_rerank>{
          "mmr-genre+uniform-explore",
          uniform_rerank{kb, mmr,
                         rr::explore_slots<rr::uniform_exploration>(
                             {opt.explore_position}, {}, {.pool_depth = opt.explore_depth}),
                         opt.k}}},
      so);
  auto bandit = make_bandit_state(opt);
  auto full = make_served_pipeline(kb, features, gbdt_registry, bandit, opt, so);

  enum stage_index : std::size_t {
    s_pop,
    s_als,
    s_ann,
    s_covis,
    s_merged,
    s_logistic,
    s_hand,
    s_gbdt,
    s_mmr,
    s_uniform,
    s_bandit,
    s_count
  };
  const std::array<const char*, s_count> names = {"popularity (baseline)",
                                                  "ALS alone (exact)",
                                                  "ALS via HNSW",
                                                  "co-visitation alone",
                                                  "merged candidates (RRF)",
                                                  "ranked (logistic)",
                                                  "ranked (GBDT, hand features)",
                                                  "ranked (GBDT)",
                                                  "re-ranked (GBDT + MMR by genre)",
                                                  "+ uniform exploration slot",
                                                  "+ bandit exploration slot (served)"};
  std::vector<double> recall(s_count, 0.0), ndcg(s_count, 0.0);
  std::vector<double> latency;
  std::map<std::string, std::vector<double>> stage_ms;
  double pool_hits = 0, pool_total = 0, genres_ranked = 0, genres_reranked = 0;
  double ann_quota = 0, ann_k = 0, uniform_hits = 0, bandit_hits = 0, slots = 0;
  const als_hnsw ann{kb->als, kb->ann, opt.hnsw_ef};
  funnel::stopwatch w;
  std::size_t users = 0;
  for (std::uint32_t u = 0; u < test.num_users(); ++u) {
    if (truth[u].empty() || hist.items[u].empty()) continue;
    const auto user = test.users().external(u);
    fp::request req;
    req.id = user;
    req.query = query_for(user, hist, u);
    req.slate_size = opt.k;
    std::vector<funnel::candidate_list> lists(s_count);
    lists[s_pop] = kb->pop->retrieve(req.query, opt.k);
    lists[s_als] = kb->als->retrieve(req.query, opt.k);
    lists[s_ann] = ann.retrieve(req.query, opt.k);
    lists[s_covis] = kb->covis->retrieve(req.query, opt.k);
    ann_k += overlap(lists[s_ann], lists[s_als]);
    ann_quota +=
        overlap(ann.retrieve(req.query, opt.quota), kb->als->retrieve(req.query, opt.quota));
    fp::request pool_req = req;
    pool_req.slate_size = 3 * opt.quota;
    const auto pool = merged.run(pool_req).slate;
    for (const auto& c : pool) pool_hits += truth[u].count(c.id) != 0 ? 1.0 : 0.0;
    pool_total += static_cast<double>(truth[u].size());
    lists[s_merged] = merged.run(req).slate;
    lists[s_logistic] = ranked.run(req).slate;
    lists[s_hand] = ranked_hand.run(req).slate;
    lists[s_gbdt] = ranked_gbdt.run(req).slate;
    lists[s_mmr] = diversified.run(req).slate;
    lists[s_uniform] = uniform.run(req).slate;
    const std::size_t journal_before = bandit->journal.size();
    const auto served = full.run(req);
    latency.push_back(served.trace.total_micros * 1e-3);
    for (const auto& st : served.trace.stages) stage_ms[st.stage].push_back(st.micros * 1e-3);
    lists[s_bandit] = served.slate;
    // Feedback: the reward of the exploration decision is whether the user rated the explored
    // item in the test period (a replay of the future standing in for clicks).
    if (bandit->journal.size() > journal_before) {
      auto& rec = bandit->journal.back();
      const double reward = truth[u].count(rec.item) != 0 ? 1.0 : 0.0;
      rec.reward = reward;
      bandit->bandit.update(rec.arm, reward);
      bandit_hits += reward;
      if (lists[s_uniform].size() > opt.explore_position)
        uniform_hits += truth[u].count(lists[s_uniform][opt.explore_position].id) != 0 ? 1.0 : 0.0;
      slots += 1;
    }
    for (std::size_t s = 0; s < s_count; ++s) {
      const auto [rc, nd] = quality(lists[s], truth[u], opt.k);
      recall[s] += rc;
      ndcg[s] += nd;
    }
    genres_ranked += distinct_genres(lists[s_gbdt], *kb, opt.k);
    genres_reranked += distinct_genres(lists[s_mmr], *kb, opt.k);
    ++users;
    if (w.elapsed_us() > 2e6) {
      say(fmt::format("evaluated {} users", users));
      w.reset();
    }
  }
  rep.eval_users = users;
  if (users == 0) return rep;
  const auto nu = static_cast<double>(users);
  for (std::size_t s = 0; s < s_count; ++s)
    rep.stages.push_back({names[s], recall[s] / nu, ndcg[s] / nu});
  rep.candidate_recall = pool_total > 0 ? pool_hits / pool_total : 0.0;
  rep.genres_per_slate_ranked = genres_ranked / nu;
  rep.genres_per_slate_reranked = genres_reranked / nu;
  rep.ann_recall_k = ann_k / nu;
  rep.ann_recall_quota = ann_quota / nu;
  const auto pct = [](std::vector<double>& v, double q) {
    std::sort(v.begin(), v.end());
    return v[std::min(v.size() - 1, static_cast<std::size_t>(q * static_cast<double>(v.size())))];
  };
  rep.p50_ms = pct(latency, 0.5);
  rep.p99_ms = pct(latency, 0.99);
  for (auto& [stage, ms] : stage_ms)
    rep.latency_by_stage.push_back({stage, pct(ms, 0.5), pct(ms, 0.99)});
  // The exploration slot.
  auto& ex = rep.exploration;
  ex.position = opt.explore_position;
  ex.decisions = bandit->journal.size();
  ex.slot_hit_rate_bandit = slots > 0 ? bandit_hits / slots : 0.0;
  ex.slot_hit_rate_uniform = slots > 0 ? uniform_hits / slots : 0.0;
  if (!bandit->journal.empty()) {
    ex.min_propensity = 1.0;
    ex.max_propensity = 0.0;
    for (const auto& rec : bandit->journal) {
      ex.min_propensity = std::min(ex.min_propensity, rec.propensity);
      ex.max_propensity = std::max(ex.max_propensity, rec.propensity);
    }
  }
  if (!bandit->journal.empty()) {
    std::vector<fb::logged_decision> logs;
    for (const auto& rec : bandit->journal) {
      fb::logged_decision l;
      l.reward = rec.reward;
      l.logging_propensity = rec.propensity;
      l.target_probability = 1.0 / static_cast<double>(rec.pool);
      logs.push_back(l);
    }
    const auto ips = fb::ips(logs);
    ex.ips_uniform = ips.value;
    ex.ips_std_error = ips.std_error;
    ex.snips_uniform = fb::snips(logs).value;
  }
  std::vector<double> p(depth_arms);
  bandit->bandit.propensities(p);
  const auto arms = bandit->bandit.arms();
  for (std::size_t a = 0; a < arms.size(); ++a) {
    std::size_t pulls = 0;
    for (const auto& rec : bandit->journal) pulls += rec.arm == arms[a].id ? 1 : 0;
    ex.arms.push_back(
        {fmt::format("ranks +[{}, {})", depth_edges[arms[a].id], depth_edges[arms[a].id + 1]),
         pulls, arms[a].mean, p[a]});
  }
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

}  // namespace detail

using namespace detail;

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
        "app.synthetic_dataset",
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
    s += fmt::format(
        "rankers: logistic regression and GBDT on {} rows ({:.2f}% positive), {} features from "
        "the features pipeline\n",
        sp.ranker_rows, 100 * sp.ranker_positive_rate, sp.feature_count);
    s += fmt::format("{:<36} {:>10} {:>10} {:>14}\n", "stage", fmt::format("recall@{}", k),
                     fmt::format("NDCG@{}", k), "vs popularity");
    const double base = sp.stages.empty() ? 0.0 : sp.stages.front().ndcg;
    for (const auto& st : sp.stages) {
      s += fmt::format("{:<36} {:>10.4f} {:>10.4f} {:>14}\n", st.stage, st.recall, st.ndcg,
                       base > 0 ? fmt::format("x{:.2f} NDCG", st.ndcg / base) : "-");
    }
    s += fmt::format(
        "HNSW vs exact ALS: recall {:.4f} at top {}, {:.4f} at top {} (the retrieval quota)\n",
        sp.ann_recall_k, k, sp.ann_recall_quota, sp.quota);
    s += fmt::format("merged candidate pool ({} per retriever) holds {:.1f}% of the test ratings\n",
                     sp.quota, 100 * sp.candidate_recall);
    s += fmt::format("distinct genres in the top {}: {:.2f} ranked -> {:.2f} re-ranked\n", k,
                     sp.genres_per_slate_ranked, sp.genres_per_slate_reranked);
    const auto& ex = sp.exploration;
    s += fmt::format(
        "exploration slot (position {}): {} decisions by an epsilon-greedy bandit over depth "
        "bands,\n  explored item rated in the test period {:.2f}% (uniform choice from the same "
        "pool: {:.2f}%), propensities in [{:.4f}, {:.4f}]\n",
        ex.position + 1, ex.decisions, 100 * ex.slot_hit_rate_bandit,
        100 * ex.slot_hit_rate_uniform, ex.min_propensity, ex.max_propensity);
    s += fmt::format(
        "  off-policy check: the uniform slot's hit rate estimated from the bandit's logs: IPS "
        "{:.2f}% +- {:.2f}%, SNIPS {:.2f}% (measured: {:.2f}%)\n",
        100 * ex.ips_uniform, 100 * ex.ips_std_error, 100 * ex.snips_uniform,
        100 * ex.slot_hit_rate_uniform);
    for (const auto& a : ex.arms) {
      s += fmt::format("  arm {:<16} pulls {:>5}  mean reward {:.4f}  P(choose) now {:.3f}\n",
                       a.name, a.pulls, a.mean_reward, a.propensity);
    }
    s +=
        fmt::format("latency per request (full pipeline, 1 thread): p50 {:.2f} ms, p99 {:.2f} ms\n",
                    sp.p50_ms, sp.p99_ms);
    for (const auto& l : sp.latency_by_stage) {
      s += fmt::format("  {:<32} p50 {:>7.3f} ms  p99 {:>7.3f} ms\n", l.stage, l.p50_ms, l.p99_ms);
    }
    s += "largest logistic coefficients (features pipeline outputs):\n";
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
        "<p>HNSW vs exact ALS recall: {:.4f} at top {}, {:.4f} at top {}. Candidate pool recall "
        "{:.1f}%. Distinct genres in the top {}: {:.2f} → {:.2f}. Latency per request: p50 "
        "{:.2f} ms, p99 {:.2f} ms.</p>",
        sp.ann_recall_k, k, sp.ann_recall_quota, sp.quota, 100 * sp.candidate_recall, k,
        sp.genres_per_slate_ranked, sp.genres_per_slate_reranked, sp.p50_ms, sp.p99_ms);
    h += "<table><tr><th>pipeline stage</th><th>p50 ms</th><th>p99 ms</th></tr>";
    for (const auto& l : sp.latency_by_stage)
      h += fmt::format("<tr><td>{}</td><td>{:.3f}</td><td>{:.3f}</td></tr>", l.stage, l.p50_ms,
                       l.p99_ms);
    h += "</table>";
    const auto& ex = sp.exploration;
    h += fmt::format(
        "<h3>Exploration slot</h3><p>{} decisions; explored item rated later {:.2f}% (uniform: "
        "{:.2f}%); propensities in [{:.4f}, {:.4f}].</p><table><tr><th>arm</th><th>pulls</th>"
        "<th>mean reward</th><th>P(choose)</th></tr>",
        ex.decisions, 100 * ex.slot_hit_rate_bandit, 100 * ex.slot_hit_rate_uniform,
        ex.min_propensity, ex.max_propensity);
    for (const auto& a : ex.arms)
      h += fmt::format("<tr><td>{}</td><td>{}</td><td>{:.4f}</td><td>{:.3f}</td></tr>", a.name,
                       a.pulls, a.mean_reward, a.propensity);
    h += "</table>";
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
