#pragma once
/// @file adapters.hpp
/// @brief funnel's own modules as pipeline stages, without glue code: `rerank_stage` runs any
/// funnel::rerank re-ranker (MMR, DPP, rules, chains) on the pipeline's ranked candidates, and
/// `feature_stage` builds the ranker's rows with a funnel::features pipeline, joining user, item
/// and context features. The per-item data both need lives in tables keyed by external id
/// (`item_attributes` for re-rankers, `feature_table` for features), shared by the stages.

#include <funnel/core/error.hpp>
#include <funnel/core/views.hpp>
#include <funnel/features/pipeline.hpp>
#include <funnel/pipeline/stages.hpp>
#include <funnel/rerank/chain.hpp>
#include <funnel/rerank/slate.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace funnel::pipeline {

namespace detail {

/// @brief External id -> row. Identity (no hash lookup) when the ids are exactly 0..n-1.
class id_index {
 public:
  static constexpr std::uint32_t absent = std::numeric_limits<std::uint32_t>::max();

  id_index() = default;
  /// @throws invalid_argument on a repeated id or more than 2^32 - 1 ids (naming `who`).
  id_index(std::span<const std::uint64_t> ids, std::string_view who);

  /// @brief The row of `id`, or `absent`.
  [[nodiscard]] std::uint32_t find(std::uint64_t id) const noexcept {
    if (dense_) return id < n_ ? static_cast<std::uint32_t>(id) : absent;
    const auto it = rows_.find(id);
    return it == rows_.end() ? absent : it->second;
  }
  [[nodiscard]] std::size_t size() const noexcept { return n_; }

 private:
  std::size_t n_ = 0;
  bool dense_ = true;
  std::unordered_map<std::uint64_t, std::uint32_t> rows_;
};

}  // namespace detail

/// @brief What an adapter does with a candidate its table has no row for.
enum class unknown_item {
  error,  ///< raise not_found naming the id (the default: a catalogue out of sync is a bug)
  drop,   ///< re-rankers: remove the candidate; features: leave its item columns missing
};

/// @brief Per-item attributes re-rankers read (embeddings, group keys, timestamps, dedup keys),
/// one row per item, looked up by candidate id. Immutable once shared with a stage.
class item_attributes {
 public:
  /// @brief Items `ids[i]` in row i of every attribute. @throws invalid_argument on a repeated id.
  explicit item_attributes(std::span<const std::uint64_t> ids);
  /// @brief `n` items whose ids are their rows, 0..n-1 (no hash lookup).
  [[nodiscard]] static item_attributes dense(std::size_t n);

  /// @brief Embeddings, row i for item i. A view: `m` must outlive every stage using this table.
  /// @throws dimension_mismatch when m.rows() differs from size().
  item_attributes& set_embeddings(matrix_view m);
  /// @brief Embeddings owned with the table. @throws dimension_mismatch.
  item_attributes& set_embeddings(std::shared_ptr<const matrix> m);
  /// @brief A group-key column ("genre", "author"); rerank::no_group = none.
  /// @throws dimension_mismatch, invalid_argument on an empty name.
  item_attributes& set_groups(std::string name, std::vector<std::uint64_t> keys);
  /// @brief Timestamps (freshness; the unit of rerank::context::now). @throws dimension_mismatch.
  item_attributes& set_timestamps(std::vector<double> t);
  /// @brief Dedup keys (content hash, canonical URL id). @throws dimension_mismatch.
  item_attributes& set_dedup_keys(std::vector<std::uint64_t> keys);

  [[nodiscard]] std::size_t size() const noexcept { return index_.size(); }
  /// @brief The row of `id`, or detail::id_index::absent.
  [[nodiscard]] std::uint32_t row(std::uint64_t id) const noexcept { return index_.find(id); }
  [[nodiscard]] const matrix_view& embeddings() const noexcept { return embeddings_; }

  /// @brief Per-request buffers the gathered attributes are viewed from (reused across requests).
  struct gather_buffers {
    std::vector<std::vector<std::uint64_t>> groups;
    std::vector<double> timestamps;
    std::vector<std::uint64_t> dedup;
  };
  /// @brief Sets the attributes of items `rows` (one per slate item, in slate order) on `s`:
  /// embeddings by row indirection (no copy), the small attributes gathered into `buf`.
  void attach(rerank::slate& s, std::span<const std::uint32_t> rows, gather_buffers& buf) const;

 private:
  item_attributes() = default;
  void check_rows(std::size_t n, std::string_view what) const;

  detail::id_index index_;
  matrix_view embeddings_;
  std::shared_ptr<const matrix> owned_embeddings_;
  std::vector<std::pair<std::string, std::vector<std::uint64_t>>> groups_;
  std::vector<double> timestamps_;
  std::vector<std::uint64_t> dedup_;
};

/// @brief The relevance a re-ranker sees. The ranker's scores are margins (docs/design.md):
/// unbounded, on the model's scale (log-odds, raw ...), while MMR weighs relevance against a
/// similarity in [-1, 1]; DPP's exp_theta quality takes any real score.
enum class relevance_scale : std::uint8_t {
  /// The candidates' scores unchanged: MMR's lambda then trades margin units against similarity.
  as_is,
  /// Min-max normalised over the slate to [0, 1] (every score 1 when all are equal) before the
  /// re-ranker runs, so MMR's lambda means the same whatever the model's scale; the scores of the
  /// re-ranked list are mapped back to the margins (exactly for items the re-ranker did not
  /// rescore).
  min_max,
};

/// @brief Options of a rerank_stage.
struct rerank_stage_options {
  /// Candidates without a row in the item attributes: error (default) or drop.
  unknown_item unknown = unknown_item::error;
  /// What relevance the re-ranker sees (as_is by default; min_max for MMR over margins).
  relevance_scale relevance = relevance_scale::as_is;
  /// Fills the re-rankers' context from the request. Before it runs: k = request.slate_size,
  /// seed = request.id (log it to replay exploration); set `now`, blocked ids or pins here.
  std::function<void(const request&, rerank::context&)> context{};
  /// Sees the slate after re-ranking (per-item traces, exploration propensities), to log them.
  /// Under relevance_scale::min_max the slate's scores are the normalised ones.
  std::function<void(const request&, rerank::slate&)> observe{};
};

namespace detail {

/// @brief One thread's re-ranking scratch (slate and gather buffers keep their capacity).
struct rerank_scratch {
  rerank::slate slate;
  std::vector<std::uint32_t> rows;
  candidate_list kept;
  candidate_list raw;     ///< relevance_scale::min_max: the candidates as they came in
  candidate_list normed;  ///< relevance_scale::min_max: the same, scores normalised
  item_attributes::gather_buffers buffers;
  bool busy = false;
};

/// @brief The calling thread's scratch, or a fresh one when it is already in use (a re-ranker
/// that runs another pipeline from inside its own rerank call).
class scratch_lease {
 public:
  scratch_lease() {
    thread_local rerank_scratch tls;
    if (tls.busy) {
      own_ = std::make_unique<rerank_scratch>();
      s_ = own_.get();
    } else {
      s_ = &tls;
    }
    s_->busy = true;
  }
  ~scratch_lease() { s_->busy = false; }
  scratch_lease(const scratch_lease&) = delete;
  scratch_lease& operator=(const scratch_lease&) = delete;
  [[nodiscard]] rerank_scratch& get() const noexcept { return *s_; }

 private:
  std::unique_ptr<rerank_scratch> own_;
  rerank_scratch* s_ = nullptr;
};

}  // namespace detail

/// @brief Any funnel::rerank re-ranker (mmr, dpp, group_cap, sliding_window, chain,
/// reranker_list ...) as a pipeline RerankStage: the ranked candidates become a slate with their
/// items' attributes attached, the re-ranker runs, the slate becomes the candidate list again.
/// Allocation-free in steady state (per-thread scratch); thread-safe. If the re-ranker throws,
/// the candidate list is left as it came in.
template <rerank::Reranker R>
class rerank_stage {
 public:
  /// @brief `items` may be null for re-rankers that read no attributes (truncate, pins, blocks).
  rerank_stage(R reranker, std::shared_ptr<const item_attributes> items,
               rerank_stage_options options = {})
      : r_(std::make_shared<const R>(std::move(reranker))),
        items_(std::move(items)),
        o_(std::make_shared<const rerank_stage_options>(std::move(options))) {}

  /// @brief Re-ranks `c` in place.
  /// @throws not_found for a candidate without attributes (unknown_item::error); whatever the
  /// re-ranker throws (e.g. rerank.mmr without embeddings).
  void rerank(candidate_list& c, const request& q) const {
    detail::scratch_lease lease;
    auto& s = lease.get();
    std::span<const candidate> in = c;
    if (items_) {
      s.rows.clear();
      s.kept.clear();
      for (const auto& x : c) {
        const auto row = items_->row(x.id);
        if (row == detail::id_index::absent) {
          if (o_->unknown == unknown_item::error) {
            raise<not_found>("pipeline.rerank_stage", "candidate id {} has no item attributes",
                             x.id);
          }
          continue;
        }
        s.rows.push_back(row);
        s.kept.push_back(x);
      }
      in = s.kept;
    }
    const bool normalise = o_->relevance == relevance_scale::min_max && !in.empty();
    double lo = 0.0;
    double span = 0.0;
    if (normalise) {
      s.raw.assign(in.begin(), in.end());
      s.normed = s.raw;
      lo = s.raw[0].score;
      double hi = lo;
      for (const auto& x : s.raw) {
        lo = std::min(lo, static_cast<double>(x.score));
        hi = std::max(hi, static_cast<double>(x.score));
      }
      span = hi - lo;
      for (auto& x : s.normed) {
        x.score = span > 0.0 ? static_cast<float>((x.score - lo) / span) : 1.0F;
      }
      in = s.normed;
    }
    s.slate.reset(in);
    if (items_) items_->attach(s.slate, s.rows, s.buffers);
    rerank::context ctx;
    ctx.k = q.slate_size;
    ctx.seed = q.id;
    if (o_->context) o_->context(q, ctx);
    r_->rerank(s.slate, ctx);
    if (o_->observe) o_->observe(q, s.slate);
    s.slate.write(c);
    if (normalise) {
      const auto& e = s.slate.entries();
      for (std::size_t i = 0; i < c.size(); ++i) {
        const auto o = e[i].origin;
        c[i].score = e[i].item.score == s.normed[o].score
                         ? s.raw[o].score
                         : static_cast<float>(lo + static_cast<double>(e[i].item.score) * span);
      }
    }
  }

  /// @brief The wrapped re-ranker.
  [[nodiscard]] const R& reranker() const noexcept { return *r_; }
  [[nodiscard]] const std::shared_ptr<const item_attributes>& items() const noexcept {
    return items_;
  }

 private:
  std::shared_ptr<const R> r_;
  std::shared_ptr<const item_attributes> items_;
  std::shared_ptr<const rerank_stage_options> o_;
};

/// @brief Typed feature columns keyed by external id: a user table (keyed by user id) or an item
/// table (keyed by item id). Numeric columns are one row-major block, so one candidate's values
/// share cache lines (a request reads ~1000 random rows of a catalogue much larger than cache).
class feature_table {
 public:
  /// @brief Entities `ids[i]` in row i. @throws invalid_argument on a repeated id.
  explicit feature_table(std::span<const std::uint64_t> ids);
  /// @brief `n` entities whose ids are their rows, 0..n-1.
  [[nodiscard]] static feature_table dense(std::size_t n);

  /// @brief The numeric columns `names`, column j of `values` (one row per entity); NaN = missing.
  /// Replaces earlier numeric columns. @throws dimension_mismatch, invalid_argument (a name
  /// empty or used twice in the table).
  feature_table& set_numeric(std::vector<std::string> names, matrix values);
  /// @brief An integer categorical column; features::missing_integer = missing.
  /// @throws dimension_mismatch, invalid_argument.
  feature_table& add_integer(std::string name, std::vector<std::int64_t> values);
  /// @brief A string categorical column. @throws dimension_mismatch, invalid_argument.
  feature_table& add_string(std::string name, std::vector<std::string> values);

  [[nodiscard]] std::size_t size() const noexcept { return index_.size(); }
  /// @brief The row of `id`, or detail::id_index::absent.
  [[nodiscard]] std::uint32_t row(std::uint64_t id) const noexcept { return index_.find(id); }

  /// @brief Where a named column lives.
  struct column_ref {
    features::column_type type = features::column_type::numeric;
    std::size_t index = 0;  ///< column in the numeric block, or index of the integer/string column
  };
  /// @brief The column `name`, if the table has it.
  [[nodiscard]] std::optional<column_ref> find(std::string_view name) const;

  [[nodiscard]] float numeric(std::uint32_t row, std::size_t col) const noexcept {
    return numeric_(row, col);
  }
  [[nodiscard]] std::int64_t integer(std::uint32_t row, std::size_t col) const noexcept {
    return integers_[col].second[row];
  }
  [[nodiscard]] std::string_view string(std::uint32_t row, std::size_t col) const noexcept {
    return strings_[col].second[row];
  }

 private:
  feature_table() = default;
  void check_new(const std::string& name, std::size_t n) const;

  detail::id_index index_;
  std::vector<std::string> numeric_names_;
  matrix numeric_;
  std::vector<std::pair<std::string, std::vector<std::int64_t>>> integers_;
  std::vector<std::pair<std::string, std::vector<std::string>>> strings_;
};

/// @brief Where each input column of a features pipeline comes from.
struct feature_join {
  std::shared_ptr<const feature_table> users{};  ///< looked up by request.query.user
  std::shared_ptr<const feature_table> items{};  ///< looked up by candidate id
  /// context[i] names the schema column fed by request.context[i] (numeric or integer columns).
  std::vector<std::string> context{};
  std::string score{};  ///< schema column fed by the candidate's retrieval score ("" = none)
  /// Schema columns deliberately left missing (e.g. the label column of the training schema).
  std::vector<std::string> missing{};
  /// Candidates the item table lacks: error (default) or drop = their item columns stay missing.
  unknown_item unknown = unknown_item::error;
};

namespace detail {

/// @brief One schema column's source, resolved when the stage is built.
struct column_binding {
  enum class source : std::uint8_t { user, item, context, score, missing };
  source from = source::missing;
  features::column_type type = features::column_type::numeric;
  std::size_t schema_col = 0;
  std::size_t index = 0;  ///< table column, or position in request.context
};

/// @brief Resolves every schema column of `s` against `join`.
/// @throws not_found naming a column no source feeds (or a listed name the schema lacks);
/// invalid_argument naming a column two sources feed, or fed with the wrong type.
std::vector<column_binding> bind_columns(const features::schema& s, const feature_join& join);

/// @brief Fills the request-constant columns (user, context) of `r`.
/// @throws dimension_mismatch when request.context has the wrong length.
void fill_request_columns(features::row& r, std::span<const column_binding> b,
                          const feature_join& join, const request& q);
/// @brief Fills the candidate's columns (item, score) of `r`. @throws not_found (unknown item).
void fill_candidate_columns(features::row& r, std::span<const column_binding> b,
                            const feature_join& join, const candidate& c);

}  // namespace detail

/// @brief A fitted funnel::features pipeline (compile-time `features::pipeline<...>` or JSON-loaded
/// `features::any_pipeline`) as the pipeline's FeatureStage: for each candidate, one input row
/// joins the user's columns, the item's columns, the request's context and the retrieval score,
/// and the features pipeline transforms it — exactly its serving path, so the ranker sees the
/// rows the features module would write for the same values (no training/serving skew).
template <class P>
class feature_stage {
 public:
  /// @throws not_fitted for an unfitted pipeline; not_found / invalid_argument from binding
  /// the schema's columns (see feature_join).
  feature_stage(P features, feature_join join)
      : p_(std::make_shared<const P>(std::move(features))),
        join_(std::make_shared<const feature_join>(std::move(join))),
        width_(p_->width()),
        names_(std::make_shared<const std::vector<std::string>>(p_->output_names())),
        bindings_(std::make_shared<const std::vector<detail::column_binding>>(
            detail::bind_columns(p_->get_schema(), *join_))) {}

  [[nodiscard]] std::size_t width() const noexcept { return width_; }
  /// @brief The features pipeline's output column names, in order: what a model bound to this
  /// stage must read (binding.hpp).
  [[nodiscard]] std::vector<std::string> output_names() const { return *names_; }

  /// @brief One row per candidate into `out` (candidates.size() x width()).
  /// @throws dimension_mismatch (out size, context length), not_found (unknown item under
  /// unknown_item::error), invalid_argument (a value the schema's policy rejects).
  void build(const request& q, std::span<const candidate> candidates, std::span<float> out) const {
    if (out.size() != candidates.size() * width_) {
      raise<dimension_mismatch>("pipeline.feature_stage",
                                "output has {} floats, {} candidates x {} features need {}",
                                out.size(), candidates.size(), width_, candidates.size() * width_);
    }
    features::row r(p_->get_schema());
    detail::fill_request_columns(r, *bindings_, *join_, q);
    for (std::size_t i = 0; i < candidates.size(); ++i) {
      detail::fill_candidate_columns(r, *bindings_, *join_, candidates[i]);
      p_->transform(r, out.subspan(i * width_, width_), i);
    }
  }

  /// @brief The wrapped features pipeline.
  [[nodiscard]] const P& features() const noexcept { return *p_; }
  [[nodiscard]] const feature_join& join() const noexcept { return *join_; }

 private:
  std::shared_ptr<const P> p_;
  std::shared_ptr<const feature_join> join_;
  std::size_t width_;
  std::shared_ptr<const std::vector<std::string>> names_;
  std::shared_ptr<const std::vector<detail::column_binding>> bindings_;
};

}  // namespace funnel::pipeline
