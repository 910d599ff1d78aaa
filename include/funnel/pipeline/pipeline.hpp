#pragma once
/// @file pipeline.hpp
/// @brief retrieval -> merge -> filters -> features -> ranking -> re-ranking, with per-stage
/// budgets, fail-open fallbacks, a trace of every request, feature logging, and versioned models.
/// One engine serves both compositions: stages held in a std::tuple (compile time, no virtual
/// calls) or in std::vectors of type-erased stages (configured from JSON at run time).

#include <funnel/core/error.hpp>
#include <funnel/core/json.hpp>
#include <funnel/core/timer.hpp>
#include <funnel/pipeline/binding.hpp>
#include <funnel/pipeline/model_registry.hpp>
#include <funnel/pipeline/stages.hpp>

#include <algorithm>
#include <chrono>
#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <tuple>
#include <unordered_map>
#include <vector>

namespace funnel::pipeline {

/// @brief How the candidate lists of several retrievers become one.
enum class fusion_method {
  reciprocal_rank,   ///< sum of weight / (rrf_k + rank) (Cormack et al. 2009): scale-free
  normalized_score,  ///< sum of weight * min-max normalised score per retriever
};

/// @brief Serving parameters of a pipeline.
struct pipeline_options {
  fusion_method fusion = fusion_method::reciprocal_rank;
  double rrf_k = 60.0;
  /// Budgets per stage, each capped by the request's own deadline.
  std::chrono::microseconds retrieval_budget = std::chrono::milliseconds(5);
  std::chrono::microseconds ranking_budget = std::chrono::milliseconds(5);
  std::chrono::microseconds rerank_budget = std::chrono::milliseconds(2);
  /// Rows scored between two deadline checks of the ranker.
  std::size_t score_block = 256;
  /// Also record each stage's CPU time on the request's thread (stage_trace::cpu_micros): tells
  /// a stage that computes from one that waited (descheduled on a loaded host, blocked on I/O).
  /// Costs two clock reads (~0.1-0.5 us each) per stage.
  bool trace_cpu = false;
};

/// @brief What one stage did for one request.
struct stage_trace {
  std::string stage;  ///< "retrieve:als", "filter:seen", "features", "rank", "rerank:mmr" ...
  double micros = 0.0;
  std::size_t candidates_in = 0;
  std::size_t candidates_out = 0;
  std::string note;         ///< why it degraded, if it did
  double cpu_micros = 0.0;  ///< CPU time of the request's thread (0 unless options.trace_cpu)
};

/// @brief The trace of one request: timings, counts, what degraded and which model served.
struct trace {
  std::uint64_t request_id = 0;
  std::vector<stage_trace> stages;
  std::vector<std::string> degraded;  ///< one line per fallback taken
  /// Caveats of how this request was served that are not fallbacks: a model bound to the
  /// features by width only (it carries no feature names), or not bound at all (it declares no
  /// feature count). One line each, prefixed by the stage ("rank: ", "shadow: ", "light: ").
  std::vector<std::string> warnings;
  std::string model_version;  ///< version that ranked (empty if ranking was skipped)
  bool canary = false;
  double total_micros = 0.0;
  double total_cpu_micros = 0.0;  ///< 0 unless pipeline_options::trace_cpu
};

/// @brief The trace as JSON: {"request_id", "stages": [{"stage", "micros", "candidates_in",
/// "candidates_out", "note", "cpu_micros"}], "degraded", "warnings", "model_version", "canary",
/// "total_micros", "total_cpu_micros"} (every field, always present).
[[nodiscard]] json to_json(const trace& t);

/// @brief A served slate and how it was made.
struct result {
  candidate_list slate;
  struct trace trace;
};

/// @brief Exactly what a model scored: logged so training data matches serving (no skew).
struct scored_batch {
  std::uint64_t request_id = 0;
  std::string model_version;
  bool shadow = false;                 ///< scored by the shadow model, not served
  std::span<const std::uint64_t> ids;  ///< candidate ids, one per feature row
  matrix_view features;
  std::span<const float> scores;
};

/// @brief Receives scored batches; called on the request's thread (must be thread-safe).
using feature_logger = std::function<void(const scored_batch&)>;

namespace detail {

/// @brief Wall time, and the thread's CPU time when asked, of one stage.
class stage_timer {
 public:
  explicit stage_timer(bool cpu) noexcept : cpu_(cpu), cpu0_(cpu ? thread_cpu_us() : 0.0) {}
  void reset() noexcept {
    w_.reset();
    if (cpu_) cpu0_ = thread_cpu_us();
  }
  /// @brief Writes the elapsed times into `st`.
  void stamp(stage_trace& st) const noexcept {
    st.micros = w_.elapsed_us();
    if (cpu_) st.cpu_micros = thread_cpu_us() - cpu0_;
  }
  /// @brief `st` with the elapsed times.
  [[nodiscard]] stage_trace done(stage_trace st) const noexcept {
    stamp(st);
    return st;
  }

 private:
  stopwatch w_;
  bool cpu_;
  double cpu0_;
};

}  // namespace detail

/// @brief The ranking stage: a versioned main model, an optional light model used as the first
/// stage of a cascade and as the fallback when the main model is late. The pipeline binds both to
/// its feature builder when it is built (see binding.hpp): the light model and every version of
/// the registry (also those added later) must read the builder's columns, by name where both
/// sides have names, and all must be on one score scale.
template <ScoringStage S>
struct ranker {
  std::shared_ptr<model_registry<S>> models{};  ///< required
  std::shared_ptr<const S> light{};             ///< optional
  std::size_t cascade_top_n = 0;  ///< > 0 with a light model: main model scores the top n only
};

/// @brief The pipeline engine; see make_pipeline() and pipeline (run time).
template <class Retrievers, class Filters, FeatureStage Builder, ScoringStage S, class Rerankers>
class basic_pipeline {
 public:
  /// @brief Binds the ranker's models to `features` (binding.hpp) and keeps the stages.
  /// @throws invalid_argument (no model registry, score_block 0, a model whose feature names or
  /// scale do not match, naming the first mismatch); dimension_mismatch (a model whose width
  /// differs from features.width()).
  basic_pipeline(Retrievers retrievers, Filters filters, Builder features, ranker<S> rank,
                 Rerankers rerankers, pipeline_options options = {})
      : retrievers_(std::move(retrievers)),
        filters_(std::move(filters)),
        features_(std::move(features)),
        ranker_(std::move(rank)),
        rerankers_(std::move(rerankers)),
        options_(options) {
    if (!ranker_.models)
      raise<invalid_argument>("pipeline.basic_pipeline", "ranker has no model registry");
    if (options_.score_block == 0)
      raise<invalid_argument>("pipeline.basic_pipeline", "score_block must be > 0");
    auto binding = binding_of(features_);
    if (ranker_.light) {
      light_warning_ = bind_model(*ranker_.light, binding, "the light model");
      binding.scale = detail::scale_of(*ranker_.light);
    }
    ranker_.models->bind(binding);
  }

  /// @brief Logs what every model scores (served and shadow). Not thread-safe with run().
  void set_feature_logger(feature_logger logger) { logger_ = std::move(logger); }
  [[nodiscard]] const pipeline_options& options() const noexcept { return options_; }
  /// @brief The model registry, read only (versions, active, shadow).
  [[nodiscard]] const model_registry<S>& models() const noexcept { return *ranker_.models; }
  /// @brief The model registry, for hot swap, rollback, shadow and canary (every version added
  /// is checked against this pipeline's features, see model_registry::bind).
  [[nodiscard]] model_registry<S>& models() noexcept { return *ranker_.models; }

  /// @brief Serves one request. Thread-safe: one pipeline serves many threads. Fails open: a
  /// retriever that throws or finds its budget spent is skipped; a late ranker falls back to the
  /// light model or to retrieval order; a late or throwing re-ranker is skipped; each is
  /// recorded in the trace.
  [[nodiscard]] result run(const request& req) const {
    const detail::stage_timer total(options_.trace_cpu);
    result out;
    out.trace.request_id = req.id;
    auto candidates = retrieve(req, out.trace);
    apply_filters(req, candidates, out.trace);
    rank(req, candidates, out.trace);
    apply_rerankers(req, candidates, out.trace);
    if (candidates.size() > req.slate_size) candidates.resize(req.slate_size);
    out.slate = std::move(candidates);
    stage_trace t;
    total.stamp(t);
    out.trace.total_micros = t.micros;
    out.trace.total_cpu_micros = t.cpu_micros;
    return out;
  }

 private:
  template <class Set, class F>
  static void for_each(const Set& set, F&& f) {
    if constexpr (requires { std::tuple_size<Set>::value; }) {
      std::apply([&](const auto&... s) { (f(s), ...); }, set);
    } else {
      for (const auto& s : set) f(s);
    }
  }

  static bool better(const candidate& a, const candidate& b) {
    return a.score > b.score || (a.score == b.score && a.id < b.id);
  }

  candidate_list retrieve(const request& req, trace& tr) const {
    const auto budget = req.deadline.capped(options_.retrieval_budget);
    std::vector<std::pair<double, candidate_list>> lists;  // (weight, list), in retriever order
    bool any_primary = false;
    auto run_one = [&](const auto& slot) {
      stage_trace st;
      st.stage = "retrieve:" + slot.name;
      const detail::stage_timer w(options_.trace_cpu);
      if (budget.expired()) {
        st.note = "skipped: retrieval budget spent";
      } else {
        try {
          auto got = detail::call_retrieve(slot.stage, req, slot.quota);
          if (got.size() > slot.quota) got.resize(slot.quota);
          st.candidates_out = got.size();
          if (!got.empty()) lists.emplace_back(slot.weight, std::move(got));
        } catch (const std::exception& e) {
          st.note = std::string("skipped: ") + e.what();
        }
      }
      w.stamp(st);
      if (!st.note.empty()) tr.degraded.push_back(st.stage + " " + st.note);
      tr.stages.push_back(std::move(st));
    };
    for_each(retrievers_, [&](const auto& slot) {
      if (slot.fallback) return;
      const auto before = lists.size();
      run_one(slot);
      any_primary |= lists.size() > before;
    });
    if (!any_primary) {
      for_each(retrievers_, [&](const auto& slot) {
        if (slot.fallback) run_one(slot);
      });
      if (!lists.empty())
        tr.degraded.push_back("retrieval: no primary candidates, fallback retrievers used");
    }
    const detail::stage_timer w(options_.trace_cpu);
    auto merged = fuse(lists);
    std::size_t total_in = 0;
    for (const auto& [_, l] : lists) total_in += l.size();
    tr.stages.push_back(w.done({"merge", 0, total_in, merged.size(), {}, 0}));
    return merged;
  }

  candidate_list fuse(const std::vector<std::pair<double, candidate_list>>& lists) const {
    std::unordered_map<std::uint64_t, double> score;
    for (const auto& [weight, list] : lists) {
      if (options_.fusion == fusion_method::reciprocal_rank) {
        for (std::size_t r = 0; r < list.size(); ++r) {
          score[list[r].id] += weight / (options_.rrf_k + static_cast<double>(r + 1));
        }
      } else {
        const auto [lo, hi] = std::minmax_element(
            list.begin(), list.end(),
            [](const candidate& a, const candidate& b) { return a.score < b.score; });
        const double span = static_cast<double>(hi->score) - static_cast<double>(lo->score);
        for (const auto& c : list) {
          const double norm = span > 0 ? (static_cast<double>(c.score) - lo->score) / span : 1.0;
          score[c.id] += weight * norm;
        }
      }
    }
    candidate_list merged;
    merged.reserve(score.size());
    for (const auto& [id, s] : score) merged.push_back({id, static_cast<float>(s)});
    std::sort(merged.begin(), merged.end(), better);
    return merged;
  }

  void apply_filters(const request& req, candidate_list& c, trace& tr) const {
    for_each(filters_, [&](const auto& f) {
      const detail::stage_timer w(options_.trace_cpu);
      const auto in = c.size();
      f.stage.filter(req, c);
      tr.stages.push_back(w.done({"filter:" + f.name, 0, in, c.size(), {}, 0}));
    });
  }

  /// Scores rows [0, rows) of x with `s` in blocks, checking `until` between blocks; returns
  /// false (scores incomplete) if the deadline passed.
  bool score_rows(const S& s, matrix_view x, std::span<float> scores, const deadline& until) const {
    for (std::size_t begin = 0; begin < x.rows(); begin += options_.score_block) {
      if (until.expired()) return false;
      const auto n = std::min(options_.score_block, x.rows() - begin);
      s.score_batch(x.middle_rows(begin, n), scores.subspan(begin, n));
    }
    return true;
  }

  void log(const request& req, const std::string& version, bool shadow,
           std::span<const std::uint64_t> ids, matrix_view x, std::span<const float> scores) const {
    if (logger_) logger_(scored_batch{req.id, version, shadow, ids, x, scores});
  }

  void rank(const request& req, candidate_list& c, trace& tr) const {
    if (c.empty()) return;
    const auto until = req.deadline.capped(options_.ranking_budget);
    detail::stage_timer w(options_.trace_cpu);
    const std::size_t n = c.size();
    const std::size_t width = features_.width();
    std::vector<float> rows(n * width);
    features_.build(req, c, rows);
    const matrix_view x(rows.data(), n, width);
    std::vector<std::uint64_t> ids(n);
    for (std::size_t i = 0; i < n; ++i) ids[i] = c[i].id;
    tr.stages.push_back(w.done({"features", 0, n, n, {}, 0}));
    w.reset();

    const auto model = ranker_.models->route(req.query.user.value_or(req.id));
    tr.model_version = model.version;
    tr.canary = model.canary;
    if (!model.warning.empty()) tr.warnings.push_back("rank: " + model.warning);
    std::vector<float> light_scores;
    auto score_light = [&]() {
      if (!light_warning_.empty()) tr.warnings.push_back("light: " + light_warning_);
      light_scores.assign(n, 0.0F);
      ranker_.light->score_batch(x, light_scores);
    };
    auto order_by = [&](std::span<const float> s) {
      for (std::size_t i = 0; i < n; ++i) c[i].score = s[i];
      std::sort(c.begin(), c.end(), better);
    };
    auto degrade = [&](const std::string& why) {
      if (ranker_.light) {
        if (light_scores.empty()) score_light();
        order_by(light_scores);
        tr.degraded.push_back("rank: " + why + ", ranked by the light model");
      } else {
        tr.degraded.push_back("rank: " + why + ", retrieval order kept");
      }
      tr.stages.push_back(w.done({"rank", 0, n, n, why, 0}));
    };
    if (until.expired()) return degrade("ranking budget spent before ranking");

    std::vector<float> scores(n, 0.0F);
    if (ranker_.light && ranker_.cascade_top_n > 0 && ranker_.cascade_top_n < n) {
      // Cascade: the light model orders everything, the main model re-scores the top n.
      score_light();
      std::vector<std::size_t> order(n);
      for (std::size_t i = 0; i < n; ++i) order[i] = i;
      std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        return light_scores[a] > light_scores[b];
      });
      const auto top = ranker_.cascade_top_n;
      std::vector<float> top_rows(top * width);
      std::vector<std::uint64_t> top_ids(top);
      for (std::size_t r = 0; r < top; ++r) {
        std::copy_n(rows.data() + order[r] * width, width, top_rows.data() + r * width);
        top_ids[r] = ids[order[r]];
      }
      const matrix_view tx(top_rows.data(), top, width);
      std::vector<float> top_scores(top);
      if (!score_rows(*model.model, tx, top_scores, until)) return degrade("main model late");
      log(req, model.version, false, top_ids, tx, top_scores);
      candidate_list ranked;
      ranked.reserve(n);
      for (std::size_t r = 0; r < top; ++r) ranked.push_back({top_ids[r], top_scores[r]});
      std::sort(ranked.begin(), ranked.end(), better);
      // The rest keep the light model's order below every main-model-scored candidate.
      for (std::size_t r = top; r < n; ++r)
        ranked.push_back({ids[order[r]], light_scores[order[r]]});
      c = std::move(ranked);
      tr.stages.push_back(w.done(
          {"rank", 0, n, n, "cascade: light on all, main on top " + std::to_string(top), 0}));
      shadow_score(req, tx, top_ids, until, tr);
      return;
    }
    if (!score_rows(*model.model, x, scores, until)) return degrade("main model late");
    log(req, model.version, false, ids, x, scores);
    order_by(scores);
    tr.stages.push_back(w.done({"rank", 0, n, n, {}, 0}));
    shadow_score(req, x, ids, until, tr);
  }

  /// The shadow model scores what the main model scored; logged, never served, skipped if late.
  void shadow_score(const request& req, matrix_view x, std::span<const std::uint64_t> ids,
                    const deadline& until, trace& tr) const {
    const auto shadow = ranker_.models->shadow();
    if (!shadow) return;
    const detail::stage_timer w(options_.trace_cpu);
    if (!shadow->warning.empty()) tr.warnings.push_back("shadow: " + shadow->warning);
    std::vector<float> s(x.rows());
    if (!score_rows(*shadow->model, x, s, until)) {
      tr.degraded.push_back("shadow " + shadow->version + ": skipped, ranking budget spent");
      return;
    }
    log(req, shadow->version, true, ids, x, s);
    tr.stages.push_back(w.done({"shadow:" + shadow->version, 0, x.rows(), 0, {}, 0}));
  }

  /// A re-ranker that throws is skipped: the list it was given is restored and served (a
  /// diversity pass failing must not fail the request).
  void apply_rerankers(const request& req, candidate_list& c, trace& tr) const {
    const auto until = req.deadline.capped(options_.rerank_budget);
    candidate_list backup;
    for_each(rerankers_, [&](const auto& r) {
      stage_trace st{"rerank:" + r.name, 0, c.size(), c.size(), {}, 0};
      const detail::stage_timer w(options_.trace_cpu);
      if (until.expired()) {
        st.note = "skipped: re-ranking budget spent";
        tr.degraded.push_back(st.stage + " " + st.note);
      } else {
        backup.assign(c.begin(), c.end());
        try {
          r.stage.rerank(c, req);
        } catch (const std::exception& e) {
          c.swap(backup);
          st.note = std::string("skipped: ") + e.what();
          tr.degraded.push_back(st.stage + " " + st.note);
        }
        st.candidates_out = c.size();
      }
      w.stamp(st);
      tr.stages.push_back(std::move(st));
    });
  }

  Retrievers retrievers_;
  Filters filters_;
  Builder features_;
  ranker<S> ranker_;
  Rerankers rerankers_;
  pipeline_options options_;
  feature_logger logger_;
  std::string light_warning_;  ///< bind_model's warning for the light model
};

/// @brief A pipeline composed at compile time: stage types known, no virtual calls.
/// @code
/// auto p = funnel::pipeline::make_pipeline(std::tuple{retriever_slot<als_model>{"als", als, 500}},
///                                          std::tuple{named<seen_filter>{"seen", {}}},
///                                          my_features{}, ranker<gbdt>{registry}, std::tuple{});
/// @endcode
template <class Retrievers, class Filters, FeatureStage Builder, ScoringStage S, class Rerankers>
auto make_pipeline(Retrievers retrievers, Filters filters, Builder features, ranker<S> rank,
                   Rerankers rerankers, pipeline_options options = {}) {
  return basic_pipeline<Retrievers, Filters, Builder, S, Rerankers>(
      std::move(retrievers), std::move(filters), std::move(features), std::move(rank),
      std::move(rerankers), options);
}

/// @brief The run-time pipeline: type-erased stages, built from JSON with a stage_registry.
using pipeline = basic_pipeline<std::vector<retriever_slot<any_retrieval_stage>>,
                                std::vector<named<any_filter_stage>>, any_feature_stage,
                                any_scoring_stage, std::vector<named<any_rerank_stage>>>;

}  // namespace funnel::pipeline
