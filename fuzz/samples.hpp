#pragma once
// Small, really fitted instances of every object funnel saves or loads, made in code (a few
// milliseconds each). Used by fuzz/seeds/make_seeds.cpp (the seed corpora of the formats that
// have no committed fixture) and by the kill-during-save test (tests/reliability/).

#include <funnel/bandits/linear.hpp>
#include <funnel/bandits/mab.hpp>
#include <funnel/drift/profile.hpp>
#include <funnel/features.hpp>
#include <funnel/metrics/calibration.hpp>
#include <funnel/retrieval/als.hpp>
#include <funnel/retrieval/covisitation.hpp>
#include <funnel/retrieval/hnsw_index.hpp>
#include <funnel/retrieval/interactions.hpp>
#include <funnel/retrieval/popularity.hpp>
#include <funnel/scoring/logistic.hpp>
#include <funnel/scoring/logistic_ftrl.hpp>

#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace funnel::samples {

namespace ff = funnel::features;

/// The schema the sample features pipeline reads; the sample pipeline configs feed it from the
/// fuzz registry's tables (users: age, country; items: price, category), the request context
/// (hour) and the retrieval score (retrieval_score).
inline ff::schema feature_schema() {
  return ff::schema({{"age", ff::column_type::numeric},
                     {"country", ff::column_type::string},
                     {"price", ff::column_type::numeric},
                     {"category", ff::column_type::integer},
                     {"hour", ff::column_type::numeric},
                     {"retrieval_score", ff::column_type::numeric}});
}

/// Every component kind over feature_schema(), unfitted.
inline ff::any_pipeline features_unfitted() {
  ff::imputer median;
  median.strategy = ff::impute_strategy::median;
  ff::quantile_bucketizer q;
  q.num_bins = 4;
  ff::log_transform sl;
  sl.signed_log = true;
  auto p = ff::pipeline(
      feature_schema(),
      ff::numeric_column("age", {median, ff::winsorizer{}, ff::standard_scaler{}},
                         {.missing_indicator = true}),
      ff::numeric_column("price", {median, ff::log_transform{}, ff::robust_scaler{}}),
      ff::numeric_column("hour", {ff::min_max_scaler{}}),
      ff::numeric_column("retrieval_score", {q}, {.output = "score_bucket"}),
      ff::numeric_column("price", {sl, ff::clip{-1e30, 12.0}}, {.output = "price_clipped"}),
      ff::interaction("age", "price"),
      ff::one_hot("country", {.handle_unknown = ff::unknown_policy::other, .min_frequency = 3}),
      ff::one_hot("category", {.handle_unknown = ff::unknown_policy::ignore}),
      ff::ordinal_encoder("country", {.handle_unknown = ff::unknown_policy::ignore}),
      ff::count_encoder("category", {.normalize = true}),
      ff::target_encoder("country", {.smoothing = 2.0}),
      ff::feature_hasher({"country", "category"}, {.num_features = 8, .seed = 11}),
      ff::hashed_cross({"country", "category"}, {.num_buckets = 16, .seed = 5}));
  return ff::any_pipeline::from_json(p.to_json());
}

/// features_unfitted(), fitted on 40 rows.
inline ff::any_pipeline features_fitted() {
  auto p = features_unfitted();
  const auto& s = p.get_schema();
  constexpr std::size_t n = 40;
  const std::string_view countries[] = {"fr", "de", "us", "fr", "it"};
  std::vector<float> age(n), price(n), hour(n), score(n), y(n);
  std::vector<std::string_view> country(n);
  std::vector<std::int64_t> category(n);
  for (std::size_t i = 0; i < n; ++i) {
    age[i] = i % 9 == 0 ? std::nanf("") : 18.0F + static_cast<float>(i % 50);
    price[i] = static_cast<float>(i) * 1.5F;
    hour[i] = static_cast<float>(i % 24);
    score[i] = 1.0F - static_cast<float>(i) / static_cast<float>(n);
    y[i] = static_cast<float>(i % 3 == 0);
    country[i] = countries[i % 5];
    category[i] = static_cast<std::int64_t>(i % 4);
  }
  ff::batch b(s);
  b.set(s.index("age"), age);
  b.set(s.index("country"), country);
  b.set(s.index("price"), price);
  b.set(s.index("category"), category);
  b.set(s.index("hour"), hour);
  b.set(s.index("retrieval_score"), score);
  p.fit(b, y);
  return p;
}

/// A 5-feature logistic model.
inline scoring::logistic_model logistic(double intercept = 0.1) {
  return scoring::logistic_model({0.5, -1.25, 0.0, 3.0, -0.001}, intercept);
}

/// An FTRL learner after 30 updates on 16 hashed features.
inline scoring::ftrl_logistic ftrl() {
  scoring::ftrl_options o;
  o.num_features = 16;
  scoring::ftrl_logistic f(o);
  for (std::uint32_t i = 0; i < 30; ++i) {
    const std::vector<std::uint32_t> idx{i % 16, (i * 7 + 3) % 16 > i % 16 ? (i * 7 + 3) % 16 : 15};
    const std::vector<float> val{1.0F, 0.5F};
    if (idx[0] == idx[1]) continue;
    (void)f.update(sparse_row_view{idx, val}, static_cast<int>(i % 2));
  }
  return f;
}

/// A bandit of `kind` with 4 arms after 40 rewards.
inline bandits::mab mab(bandits::policy_kind kind) {
  bandits::mab_options c;
  c.kind = kind;
  bandits::mab m(c);
  for (bandits::arm_id a = 1; a <= 4; ++a) m.add_arm(a);
  for (int i = 0; i < 40; ++i) {
    const auto d = m.select();
    m.update(d.arm, (i + static_cast<int>(d.arm)) % 3 == 0 ? 1.0 : 0.0);
  }
  return m;
}

/// A linear bandit of `kind` (dimension 3, 3 arms) after 20 rewards.
inline bandits::linear_bandit linear(bandits::linear_kind kind) {
  bandits::linear_bandit_options c;
  c.kind = kind;
  c.dimension = 3;
  c.propensity_samples = 20;
  bandits::linear_bandit m(c);
  for (bandits::arm_id a = 1; a <= 3; ++a) m.add_arm(a);
  for (int i = 0; i < 20; ++i) {
    const std::vector<float> x{1.0F, static_cast<float>(i % 5) * 0.2F, -0.5F};
    const auto d = m.select(x);
    m.update(d.arm, x, d.arm == 2 ? 1.0 : 0.0);
  }
  return m;
}

/// A drift reference of two numeric features, one categorical and the score (last).
inline drift::reference_profile drift_profile(std::size_t n = 200) {
  std::vector<double> a(n), b(n), cat(n), score(n);
  for (std::size_t i = 0; i < n; ++i) {
    a[i] = std::sin(static_cast<double>(i)) * 10.0;
    b[i] = i % 17 == 0 ? std::nan("") : static_cast<double>(i % 23);
    cat[i] = static_cast<double>(i % 4);
    score[i] = static_cast<double>(i) / static_cast<double>(n);
  }
  drift::profile_options o;
  o.max_reference_sample = 50;
  drift::reference_profile p;
  p.add_numeric("a", a, o);
  p.add_numeric("b", b, o);
  p.add_categorical("cat", cat);
  p.add_numeric("score", score, o);
  return p;
}

/// Platt and isotonic calibrators fitted on 30 scores.
inline metrics::platt_calibrator platt() {
  std::vector<float> y(30);
  std::vector<float> s(30);
  for (std::size_t i = 0; i < 30; ++i) {
    s[i] = static_cast<float>(i) / 10.0F - 1.5F;
    y[i] = (i % 3 == 0 || i > 20) ? 1.0F : 0.0F;
  }
  metrics::platt_calibrator c;
  c.fit(y, s);
  return c;
}
inline metrics::isotonic_calibrator isotonic() {
  std::vector<float> y(30);
  std::vector<float> s(30);
  for (std::size_t i = 0; i < 30; ++i) {
    s[i] = static_cast<float>(i) / 10.0F - 1.5F;
    y[i] = (i % 3 == 0 || i > 20) ? 1.0F : 0.0F;
  }
  metrics::isotonic_calibrator c;
  c.fit(y, s);
  return c;
}

/// 8 users x 12 items, timestamps increasing.
inline retrieval::interaction_log interactions() {
  retrieval::interaction_log log;
  std::int64_t t = 0;
  for (std::uint64_t u = 0; u < 8; ++u) {
    for (std::uint64_t k = 0; k < 6; ++k) log.add(100 + u, (u * 5 + k * 3) % 12, 1.0F, t += 60);
  }
  return log;
}
inline retrieval::als_model als(std::size_t factors = 3) {
  retrieval::als_options o;
  o.factors = factors;
  o.iterations = 2;
  o.threads = 1;
  return retrieval::fit_als(interactions(), o);
}
inline retrieval::popularity_model popularity(bool segments = true) {
  retrieval::segment_map seg;
  for (std::uint64_t i = 0; segments && i < 12; ++i) seg[i] = {i % 2 == 0 ? "even" : "odd"};
  retrieval::popularity_options o;
  o.half_life = 600.0;
  return retrieval::fit_popularity(interactions(), o, seg);
}
inline retrieval::covisitation_model covisitation(std::size_t top_n = 50) {
  retrieval::covisitation_options o;
  o.top_n = top_n;
  return retrieval::fit_covisitation(interactions(), o);
}

/// An HNSW index of `n` vectors of dimension 4 under `m`.
inline retrieval::hnsw_index hnsw(std::size_t n, retrieval::metric m = retrieval::metric::l2) {
  retrieval::hnsw_options p;
  p.dim = 4;
  p.metric = m;
  p.M = 4;
  p.ef_construction = 16;
  retrieval::hnsw_index h(p);
  for (std::size_t i = 0; i < n; ++i) {
    const float x = static_cast<float>(i);
    const std::vector<float> v{std::sin(x), std::cos(x), x / 10.0F, 1.0F};
    h.add(i, v);
  }
  return h;
}

}  // namespace funnel::samples
