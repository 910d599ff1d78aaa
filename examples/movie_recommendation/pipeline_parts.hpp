#pragma once
/// @file pipeline_parts.hpp
/// @brief The parts of the flagship's system that a service shares with the evaluation: what is
/// learned from a log (knowledge), the stages (ALS through HNSW, the features pipeline, MMR by
/// genre with a bandit exploration slot) and the ranker's training. Internal to the examples.

#include <funnel/bandits/mab.hpp>
#include <funnel/core/random.hpp>
#include <funnel/core/views.hpp>
#include <funnel/features/pipeline.hpp>
#include <funnel/pipeline/pipeline.hpp>
#include <funnel/rerank/explore.hpp>
#include <funnel/rerank/mmr.hpp>
#include <funnel/rerank/slate.hpp>
#include <funnel/retrieval/als.hpp>
#include <funnel/retrieval/covisitation.hpp>
#include <funnel/retrieval/filter.hpp>
#include <funnel/retrieval/hnsw_index.hpp>
#include <funnel/retrieval/popularity.hpp>
#include <funnel/scoring/logistic.hpp>
#include <funnel/scoring/tree_ensemble.hpp>

#include <algorithm>
#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <tuple>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "recommender.hpp"

namespace movie::detail {

namespace fr = funnel::retrieval;
namespace fp = funnel::pipeline;
namespace rr = funnel::rerank;
namespace ff = funnel::features;
namespace fb = funnel::bandits;

/// What the feature builder, the re-ranker and the evaluation know about items and users, built
/// from one training log (no later data).
struct knowledge {
  std::shared_ptr<const fr::als_model> als;
  std::shared_ptr<const fr::covisitation_model> covis;
  std::shared_ptr<const fr::popularity_model> pop;
  std::shared_ptr<const fr::hnsw_index> ann;  // the ALS item factors, inner product
  struct item_stat {
    double count = 0, mean = 0;
    std::int64_t first = 0, last = 0;
  };
  std::unordered_map<std::uint64_t, item_stat> items;
  std::unordered_map<std::uint64_t, std::uint32_t> genre_row;  // item -> row of `genres`
  funnel::matrix genres;                                       // one-hot genre rows, last row 0
  std::unordered_map<std::uint64_t, double> year;
  std::unordered_map<std::uint64_t, std::int64_t> first_genre;  // id of the first listed genre
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

/// FeatureStage through the fitted features pipeline (the served feature set).
struct piped_features {
  std::shared_ptr<const knowledge> kb;
  std::shared_ptr<const ff::any_pipeline> features;
  [[nodiscard]] std::size_t width() const { return features->width(); }
  /// The columns' names: the pipeline binds every model it serves to them, by name and order.
  [[nodiscard]] std::vector<std::string> output_names() const { return features->output_names(); }
  void build(const fp::request& req, std::span<const funnel::candidate> cands,
             std::span<float> out) const;
};

/// RetrievalStage: ALS candidates through the HNSW index of the item factors (inner product), the
/// user's factor (or its fold-in) as the query, the history filtered out inside the search.
struct als_hnsw {
  std::shared_ptr<const fr::als_model> als;
  std::shared_ptr<const fr::hnsw_index> index;
  std::size_t ef = 0;
  [[nodiscard]] funnel::candidate_list retrieve(const fr::user_query& q, std::size_t k) const {
    std::vector<float> vec;
    if (q.user) {
      if (const auto u = als->users().find(*q.user)) {
        const auto r = als->user_factors().row(*u);
        vec.assign(r.begin(), r.end());
      }
    }
    if (vec.empty()) {
      auto folded = als->fold_in(q.history, q.history_weights);
      if (!folded) return {};
      vec = std::move(*folded);
    }
    fr::search_options so;
    so.ef = std::max(ef, k);
    if (!q.exclude_history || q.history.empty()) return index->retrieve(vec, k, so);
    const fr::allow_list seen(q.history);
    const auto unseen = [&seen](std::uint64_t id) { return !seen.contains(id); };
    return index->retrieve(vec, k, unseen, so);
  }
};

/// Arms of the exploration bandit: the depth band of the ranked list below the exploration slot
/// that the slot draws from: [0,1) = no exploration (the next ranked item), [1,5), [5,15), [15,30).
constexpr std::array<std::size_t, 5> depth_edges = {0, 1, 5, 15, 30};
constexpr std::size_t depth_arms = depth_edges.size() - 1;

/// One exploration decision, kept for the bandit's feedback and the report.
struct explore_record {
  fb::arm_id arm = 0;
  std::uint64_t item = 0;
  double propensity = 1.0;
  std::size_t pool = 0;  // items the slot chose from
  double reward = 0.0;   // filled in by the serving loop's feedback
};

/// What the exploration policy shares with the serving loop: the bandit (updated between
/// requests with the reward of each decision) and the decisions' journal.
struct explore_state {
  explicit explore_state(const fb::mab_options& c) : bandit(c) {}
  mutable std::mutex mu;
  fb::mab bandit;
  std::vector<explore_record> journal;
  bool keep_journal = true;  ///< false in a long-running service: the journal would grow forever
};

/// The decision of the last exploration slot filled on this thread (reset by the caller before
/// a request): the pipeline runs a request's stages on the caller's thread, so a service reads
/// here which item its request explored, with which arm and propensity.
inline thread_local std::optional<explore_record> last_exploration;

/// ExplorationPolicy: an epsilon-greedy bandit chooses the depth band, a uniform draw the item
/// within it. The propensity is exact: P(index) = sum over arms of P(arm) x [index in its band] /
/// |band|, the bands clipped to the pool (an empty band falls back to the pool's last item).
struct depth_bandit_exploration {
  std::shared_ptr<explore_state> state;
  [[nodiscard]] rr::exploration_choice choose(std::span<const funnel::candidate> pool,
                                              funnel::rng& r) const {
    const std::lock_guard lock(state->mu);
    const std::size_t m = pool.size();
    const auto band = [m](std::size_t a) {
      const std::size_t lo = std::min(depth_edges[a], m - 1);
      const std::size_t hi = std::max(std::min(depth_edges[a + 1], m), lo + 1);
      return std::pair{lo, hi};
    };
    const auto d = state->bandit.select(r);
    const auto [lo, hi] = band(static_cast<std::size_t>(d.arm));
    const std::size_t index = lo + static_cast<std::size_t>(r.below(hi - lo));
    std::array<double, depth_arms> p{};
    state->bandit.propensities(p);
    double propensity = 0.0;
    for (std::size_t a = 0; a < depth_arms; ++a) {
      const auto [alo, ahi] = band(a);
      if (index >= alo && index < ahi) propensity += p[a] / static_cast<double>(ahi - alo);
    }
    const explore_record rec{d.arm, pool[index].id, std::min(propensity, 1.0), m, 0.0};
    if (state->keep_journal) state->journal.push_back(rec);
    last_exploration = rec;
    return {index, std::min(propensity, 1.0)};
  }
};

/// RerankStage: MMR by genre over the top of the ranked list, then optionally one exploration slot.
template <class Explore>
struct genre_rerank {
  std::shared_ptr<const knowledge> kb;
  rr::mmr mmr;
  std::optional<rr::explore_slots<Explore>> explore;
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
    ctx.k = std::max(k, req.slate_size);  // a larger slate asked for is diversified whole
    ctx.seed = req.id;
    mmr.rerank(s, ctx);
    if (explore) explore->rerank(s, ctx);
    s.write(c);
  }
};

inline auto retrievers(const knowledge& kb, const options& opt) {
  return std::tuple{
      fp::retriever_slot<fp::any_retrieval_stage>{
          "als-hnsw", fp::any_retrieval_stage(als_hnsw{kb.als, kb.ann, opt.hnsw_ef}), opt.quota},
      fp::retriever_slot<fp::any_retrieval_stage>{"covisitation", fp::any_retrieval_stage(kb.covis),
                                                  opt.quota},
      fp::retriever_slot<fp::any_retrieval_stage>{"popularity", fp::any_retrieval_stage(kb.pop),
                                                  opt.quota}};
}

/// The rankers trained on the training period, and the fitted features pipeline they read.
struct rankers {
  std::shared_ptr<const ff::any_pipeline> features;
  /// The names of the columns the pipeline-feature models were trained on, in order.
  std::vector<std::string> feature_names;
  funnel::scoring::logistic_model logistic;  // on the pipeline's features
  funnel::scoring::tree_ensemble gbdt_hand;  // on the hand-written features
  funnel::scoring::tree_ensemble gbdt;       // on the pipeline's features (served)
  funnel::matrix train_features;  // the pipeline's features of the training rows (drift reference)
};

/// The exploration bandit: epsilon-greedy over the depth bands, one arm per band.
inline std::shared_ptr<explore_state> make_bandit_state(const options& opt) {
  fb::mab_options bc;
  bc.kind = fb::policy_kind::epsilon_greedy;
  bc.epsilon = opt.explore_epsilon;
  bc.seed = opt.seed;
  auto bandit = std::make_shared<explore_state>(bc);
  for (std::size_t a = 0; a < depth_arms; ++a) bandit->bandit.add_arm(a);
  return bandit;
}

/// The served pipeline: the three retrievers, the features pipeline, the GBDT versions of
/// `models`, MMR by genre with the bandit's exploration slot.
inline auto make_served_pipeline(
    const std::shared_ptr<const knowledge>& kb, const piped_features& features,
    std::shared_ptr<fp::model_registry<funnel::scoring::tree_ensemble>> models,
    const std::shared_ptr<explore_state>& bandit, const options& opt,
    const fp::pipeline_options& po) {
  using bandit_rerank = genre_rerank<depth_bandit_exploration>;
  const rr::mmr mmr(rr::mmr_options{opt.mmr_lambda, rr::similarity_kind::cosine});
  return fp::make_pipeline(
      retrievers(*kb, opt), std::tuple{}, features,
      fp::ranker<funnel::scoring::tree_ensemble>{std::move(models)},
      std::tuple{fp::named<bandit_rerank>{
          "mmr-genre+bandit-explore",
          bandit_rerank{kb, mmr,
                        rr::explore_slots<depth_bandit_exploration>(
                            {opt.explore_position}, depth_bandit_exploration{bandit},
                            {.pool_depth = opt.explore_depth}),
                        opt.k}}},
      po);
}

/// The evaluation's pipeline options: budgets raised to 1 s (measure the models, not fallbacks).
[[nodiscard]] fp::pipeline_options serving_options();

/// recall@k (hits / min(|relevant|, k)) and binary NDCG@k of one list.
[[nodiscard]] std::pair<double, double> quality(std::span<const funnel::candidate> list,
                                                const std::unordered_set<std::uint64_t>& relevant,
                                                std::size_t k);

/// Per user (dense index of `log`): the set of its external items.
[[nodiscard]] std::vector<std::unordered_set<std::uint64_t>> item_sets(
    const fr::interaction_log& log);

/// Builds the histories of `log`.
[[nodiscard]] histories build_histories(const fr::interaction_log& log);

/// The query of `user` (dense index `dense` of the histories' log).
[[nodiscard]] fr::user_query query_for(std::uint64_t user, const histories& h, std::uint32_t dense);

/// The fitted retrieval models of a knowledge: what learn() trains (the rest it counts).
struct fitted_retrievers {
  std::shared_ptr<const fr::als_model> als;
  std::shared_ptr<const fr::covisitation_model> covis;
  std::shared_ptr<const fr::popularity_model> pop;
  std::shared_ptr<const fr::hnsw_index> ann;
};

/// Fits ALS (and its HNSW index), co-visitation, popularity and the item statistics on `log`;
/// with `fitted` (models saved from an earlier fit on the same log) only the statistics.
[[nodiscard]] std::shared_ptr<const knowledge> learn(const dataset& data,
                                                     const fr::interaction_log& log,
                                                     const options& opt,
                                                     const std::function<void(std::string)>& say,
                                                     const fitted_retrievers* fitted = nullptr);

/// Fits the rankers on `train`: retrievers learn from its earlier part, labels are the items each
/// user rated in its later part (a later time slice, or each user's later ratings when
/// `per_user`). Fills rep's ranker fields.
[[nodiscard]] rankers train_ranker(const dataset& data, const fr::interaction_log& train,
                                   bool per_user, const options& opt, split_report& rep,
                                   const std::function<void(std::string)>& say);

}  // namespace movie::detail
