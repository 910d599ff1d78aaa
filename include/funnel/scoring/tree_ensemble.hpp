#pragma once
/// @file tree_ensemble.hpp
/// @brief A validated ensemble of decision trees (XGBoost / LightGBM / funnel-trained GBDT) with
/// exact margins, a compiled fast evaluator for serving, and funnel's own JSON format.
///
/// The value type is deliberately close to XGBoost's `RegTree`: node 0 is the root, children are
/// node indices, leaves keep their value in `value`, internal nodes keep split `gain` and `cover`
/// (sum of hessians) for importance and TreeSHAP. Trainers grow trees with `tree::expand`.

#include <funnel/core/contract.hpp>
#include <funnel/core/json.hpp>
#include <funnel/core/serialize.hpp>
#include <funnel/core/views.hpp>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace funnel::scoring {

/// @brief How margins become predictions.
enum class output_transform : std::uint8_t {
  identity,  ///< regression, ranking, raw scores
  sigmoid,   ///< binary classification: 1 / (1 + exp(-scale * margin))
  softmax,   ///< multi-class probabilities over the groups
  exp,       ///< count / gamma / tweedie regression: exp(margin)
  argmax,    ///< multi-class label (XGBoost multi:softmax): index of the largest margin
};

/// @brief How a numeric split compares: XGBoost goes left when `float(x) < threshold`;
/// LightGBM goes left when `double(x) <= threshold`.
enum class split_rule : std::uint8_t { less, less_equal };

/// @brief The type in which leaf values are summed: XGBoost sums float32 in tree order, LightGBM
/// sums doubles. Matching it is what makes margins bit-exact.
enum class accumulation : std::uint8_t { float32, float64 };

/// @brief One node. A leaf has `left == right == -1`.
struct tree_node {
  std::int32_t left = -1;     ///< left child index, -1 for a leaf
  std::int32_t right = -1;    ///< right child index, -1 for a leaf
  std::int32_t feature = -1;  ///< split feature (internal nodes)
  double threshold = 0.0;     ///< numeric split value (see split_rule)
  double value = 0.0;         ///< leaf value (for internal nodes: informative only)
  double gain = 0.0;          ///< loss reduction of the split (importance)
  double cover = 0.0;         ///< sum of hessians reaching the node (TreeSHAP, importance)
  bool default_left = false;  ///< where a missing value (NaN) goes
  bool zero_is_missing =
      false;                 ///< LightGBM missing_type=Zero: |x| <= 1e-35 also takes the default
  bool categorical = false;  ///< categorical split: categories listed in `categories` go right
  std::vector<std::uint32_t> categories;  ///< sorted, unique; only for categorical splits

  [[nodiscard]] bool is_leaf() const noexcept { return left < 0; }
  friend bool operator==(const tree_node&, const tree_node&) = default;
};

/// @brief A LightGBM linear leaf: value = constant + sum(coeffs[i] * x[features[i]]), or the plain
/// leaf value when one of those features is missing.
struct linear_leaf {
  double constant = 0.0;
  std::vector<std::int32_t> features;
  std::vector<double> coeffs;
  friend bool operator==(const linear_leaf&, const linear_leaf&) = default;
};

/// @brief One regression tree. Build one with `tree::leaf_only` then `expand` (as a trainer
/// grows it), or fill `nodes` directly (as an importer does) and let `tree_ensemble` validate.
struct tree {
  std::vector<tree_node> nodes{tree_node{}};  ///< node 0 is the root
  std::int32_t group = 0;                     ///< output (class) this tree adds to
  /// @brief predict_leaf reports `node index - leaf_index_offset` (LightGBM numbers its leaves
  /// apart from internal nodes; XGBoost reports node ids, offset 0).
  std::int32_t leaf_index_offset = 0;
  /// @brief Per node (empty, or one entry per node): LightGBM linear leaves.
  std::vector<linear_leaf> linear;

  /// @brief A tree that is a single leaf.
  [[nodiscard]] static tree leaf_only(double value, double cover = 0.0, std::int32_t group = 0);
  /// @brief Turns leaf `node` into a numeric split with two new leaves; returns {left, right}.
  /// @throws invalid_argument when `node` is not a leaf of this tree.
  std::pair<std::int32_t, std::int32_t> expand(std::int32_t node, std::int32_t feature,
                                               double threshold, bool default_left,
                                               double left_value, double right_value, double gain,
                                               double left_cover, double right_cover);
  /// @brief Like expand, with a categorical split (categories in `right_categories` go right).
  std::pair<std::int32_t, std::int32_t> expand_categorical(
      std::int32_t node, std::int32_t feature, std::vector<std::uint32_t> right_categories,
      bool default_left, double left_value, double right_value, double gain, double left_cover,
      double right_cover);

  [[nodiscard]] std::size_t size() const noexcept { return nodes.size(); }
  /// @brief Longest root-to-leaf path (edges); valid trees only.
  [[nodiscard]] int depth() const;
  friend bool operator==(const tree&, const tree&) = default;
};

/// @brief Everything about an ensemble except its trees: the model's own description, as the
/// source file's header states it (not options: nothing here is tuned, every field is part of
/// what the model computes, so it is `header()`, not `*_options`).
struct ensemble_header {
  std::size_t num_features = 0;  ///< rows must have exactly this many values
  /// Outputs per row (classes for multi-class). Bounded by what the model holds: at most
  /// max(1, number of trees, base_margin values), so a file cannot ask for memory it doesn't back.
  std::size_t num_groups = 1;
  std::vector<double> base_margin{0.0};  ///< per group (or one value for all), in margin space
  output_transform transform = output_transform::identity;
  double sigmoid_scale = 1.0;  ///< LightGBM `sigmoid:` parameter
  split_rule rule = split_rule::less;
  accumulation sum = accumulation::float32;
  bool average_output = false;  ///< LightGBM random forest: margin = sum / trees per group
  std::string objective;        ///< source objective name, informative ("binary:logistic")
  /// Input feature names in column order (XGBoost `feature_names`, LightGBM `feature_names=`,
  /// gbdt_options::feature_names); empty, or num_features unique non-empty names.
  std::vector<std::string> feature_names;
  /// Input feature types in column order as the source wrote them (XGBoost "q", "c", "int",
  /// "float", "i"); empty, or num_features entries.
  std::vector<std::string> feature_types;
  /// Producer and format version, informative ("xgboost 1.7.4", "lightgbm v4"); empty if unknown.
  std::string source_version;
  friend bool operator==(const ensemble_header&, const ensemble_header&) = default;
};

/// @brief Global importance kinds (as XGBoost's get_score).
enum class importance_type : std::uint8_t { weight, gain, cover, total_gain, total_cover };
/// @brief Names as XGBoost's get_score spells them ("weight", "gain", "cover", "total_gain",
/// "total_cover"): `to_string`, `parse_enum`.
constexpr auto enum_names_of(importance_type) {
  return enum_names<importance_type, 5>{"importance type",
                                        {{{importance_type::weight, "weight"},
                                          {importance_type::gain, "gain"},
                                          {importance_type::cover, "cover"},
                                          {importance_type::total_gain, "total_gain"},
                                          {importance_type::total_cover, "total_cover"}}}};
}

namespace detail {
/// @brief Compact node of the compiled evaluator (16 bytes, children of a leaf point to itself).
struct fast_node {
  float threshold;        ///< go left when x < threshold (LightGBM thresholds pre-converted)
  std::uint32_t feature;  ///< feature index | flag bits
  std::uint32_t left;     ///< global node index
  std::uint32_t right;    ///< global node index
};
inline constexpr std::uint32_t fast_default_left = 1U << 31;
inline constexpr std::uint32_t fast_special = 1U << 30;  ///< categorical / zero-missing: slow path
inline constexpr std::uint32_t fast_feature_mask = fast_special - 1;

/// @brief The compiled form: all trees' nodes in one array, breadth-first per tree.
struct compiled_forest {
  std::vector<fast_node> nodes;
  std::vector<std::uint32_t> roots;        ///< per tree
  std::vector<std::uint32_t> depths;       ///< per tree: steps to walk (leaves self-loop)
  std::vector<std::uint32_t> groups;       ///< per tree
  std::vector<float> leaf_f;               ///< per global node: leaf value as float
  std::vector<double> leaf_d;              ///< per global node: leaf value as double
  std::vector<std::int32_t> source_node;   ///< per global node: index in its source tree
  std::vector<std::uint32_t> cat_words;    ///< bitsets of special categorical nodes
  std::vector<std::uint32_t> cat_begin;    ///< per global node: first word (special nodes)
  std::vector<std::uint32_t> cat_count;    ///< per global node: number of words
  std::vector<std::uint8_t> special_kind;  ///< per global node: 0 numeric, 1 categorical, 2 zero
  bool has_special = false;
  bool has_linear = false;

  // Perfect-tree (implicit heap) copies of the trees the SIMD batch kernel can take: numeric
  // splits only, depth <= perfect_max_depth. A leaf above the bottom level is padded into a
  // subtree whose leaves all repeat its value, so every row walks exactly `depth` levels and the
  // child of level-index j is 2j + (went right). Nodes of one level are contiguous, so small
  // levels fit in one or two vector registers and are looked up by permutes instead of loads.
  std::vector<float> perf_threshold;        ///< per eligible tree: 2^depth - 1 (+ 16 padding)
  std::vector<std::uint32_t> perf_feature;  ///< same layout; feature | fast_default_left
  std::vector<float> perf_leaf_f;           ///< per eligible tree: 2^depth leaf values (+ 16)
  std::vector<double> perf_leaf_d;          ///< same, double (float64 accumulation only)
  std::vector<std::uint32_t> perf_node;     ///< per tree: offset in perf_threshold, or npos
  std::vector<std::uint32_t> perf_leaf;     ///< per tree: offset in perf_leaf_f / perf_leaf_d
  std::vector<std::uint32_t> perf_run_end;  ///< per eligible tree: end of its eligible run
  std::uint8_t simd = 0;                    ///< simd_none / simd_avx2 / simd_avx512: batch kernel
};
inline constexpr std::uint32_t perfect_npos = 0xFFFFFFFFU;
inline constexpr std::uint8_t simd_none = 0;    ///< portable interleaved walk only
inline constexpr std::uint8_t simd_avx2 = 1;    ///< AVX2 perfect-tree kernel, 8 rows per vector
inline constexpr std::uint8_t simd_avx512 = 2;  ///< AVX-512 perfect-tree kernel, 16 rows
inline constexpr int perfect_max_depth = 8;
}  // namespace detail

/// @brief A validated, immutable tree ensemble. All const members are thread-safe.
///
/// Every scoring entry point checks its input (row width == num_features(), output sizes) and
/// throws dimension_mismatch; the `_unchecked` variants are the allocation-free noexcept fast
/// paths for callers that validated the width once (a pipeline, per request).
///
/// @code
/// auto model = funnel::scoring::load_xgboost("model.json");
/// float p = model.predict(row);             // transformed (sigmoid for binary:logistic)
/// float m = model.score(row);               // margin, bit-exact with XGBoost
/// @endcode
class tree_ensemble : public json_file_io<tree_ensemble> {
 public:
  tree_ensemble() = default;
  /// @brief Validates `trees` against `params` and compiles the fast evaluator.
  /// @throws parse_error naming tree and node (bad child pointers, cycles, unreachable nodes,
  /// feature out of range, NaN thresholds or leaf values, unsorted categories).
  tree_ensemble(ensemble_header params, std::vector<tree> trees);

  [[nodiscard]] const ensemble_header& header() const noexcept { return params_; }
  [[nodiscard]] const std::vector<tree>& trees() const noexcept { return trees_; }
  [[nodiscard]] std::size_t num_trees() const noexcept { return trees_.size(); }
  [[nodiscard]] std::size_t num_features() const noexcept { return params_.num_features; }
  [[nodiscard]] std::size_t num_groups() const noexcept { return params_.num_groups; }
  [[nodiscard]] bool empty() const noexcept { return trees_.empty() && params_.num_features == 0; }
  /// @brief Approximate bytes the model holds (source trees and compiled evaluator): what
  /// capacity planning needs, and what a loader's bounds are checked against (it stays within a
  /// small multiple of the model file's size).
  [[nodiscard]] std::size_t memory_bytes() const noexcept;

  /// @brief Input feature names in column order; empty when the model carries none.
  [[nodiscard]] const std::vector<std::string>& feature_names() const noexcept {
    return params_.feature_names;
  }
  /// @brief Input feature types as the source wrote them ("q", "c", ...); empty if none.
  [[nodiscard]] const std::vector<std::string>& feature_types() const noexcept {
    return params_.feature_types;
  }
  /// @brief The scale of score(): identity -> raw, sigmoid -> log_odds, exp -> log,
  /// softmax / argmax -> multiclass_logits. A LightGBM model with `sigmoid:` != 1 is log_odds
  /// of `sigmoid_scale * score()`: its probability is sigmoid(sigmoid_scale * score()), so compare
  /// its scores with another log_odds scorer's only when both scales are 1 (params()).
  [[nodiscard]] score_scale scale() const noexcept;

  // ---- one row (serving path) ----
  /// @brief Margin of group 0 for one row (ScoringStage concept), bit-exact with the source
  /// library.
  /// @throws dimension_mismatch when row.size() != num_features().
  [[nodiscard]] float score(row_view row) const;
  /// @brief score() without the width check. Precondition: row.size() >= num_features().
  /// Allocation-free.
  [[nodiscard]] float score_unchecked(row_view row) const noexcept;
  /// @brief Margins of every group into `out` (size num_groups()).
  /// @throws dimension_mismatch naming the sizes (row width, output slots).
  void margins(row_view row, std::span<float> out) const;
  /// @brief margins() without checks (row.size() >= num_features(), out.size() >= num_groups()).
  void margins_unchecked(row_view row, std::span<float> out) const noexcept;
  /// @brief Margins computed in double from a double row (LightGBM parity on double inputs).
  /// @throws dimension_mismatch naming the sizes.
  void margins(std::span<const double> row, std::span<double> out) const;
  /// @brief Transformed output of group 0 (probability for binary models).
  /// @throws dimension_mismatch when row.size() != num_features().
  [[nodiscard]] float predict(row_view row) const;
  /// @brief predict() without the width check. Allocation-free for any number of groups.
  [[nodiscard]] float predict_unchecked(row_view row) const noexcept;
  /// @brief Transformed outputs of every group (softmax over groups for multi-class).
  /// @throws dimension_mismatch naming the sizes.
  void predict(row_view row, std::span<float> out) const;
  /// @brief predict(row, out) without checks.
  void predict_unchecked(row_view row, std::span<float> out) const noexcept;
  /// @brief Leaf reached in every tree (node index - tree.leaf_index_offset) into `out` (size
  /// num_trees()). @throws dimension_mismatch naming the sizes.
  void predict_leaf(row_view row, std::span<std::int32_t> out) const;

  // ---- batches ----
  /// @brief Margins of group 0 for each row (ScoringStage concept). @throws dimension_mismatch.
  void score_batch(matrix_view rows, std::span<float> out) const;
  /// @brief Margins, rows x num_groups row-major. `threads` > 1 splits rows over std::threads.
  /// @throws dimension_mismatch.
  void margins_batch(matrix_view rows, std::span<float> out, unsigned threads = 1) const;
  /// @brief Transformed outputs, rows x num_groups row-major. @throws dimension_mismatch.
  void predict_batch(matrix_view rows, std::span<float> out, unsigned threads = 1) const;
  /// @brief Leaf indices, rows x num_trees row-major. @throws dimension_mismatch.
  void predict_leaf_batch(matrix_view rows, std::span<std::int32_t> out) const;
  /// @brief Margins of sparse rows (rows x num_groups row-major): a value not stored is `absent`,
  /// so say what it means: NaN (missing) is how XGBoost and fit_gbdt read a CSR matrix, 0 is how
  /// LightGBM and scikit-learn do. rows.cols may be below num_features() (the features past it
  /// are absent too). Rows are made dense a block at a time (a buffer of about 1 MB per thread)
  /// and scored by the batch kernels, so the result is margins_batch of rows.to_dense(absent).
  /// @throws dimension_mismatch (rows.cols > num_features(), an inconsistent matrix, out.size()).
  void margins_batch(const csr_matrix& rows, std::span<float> out, float absent,
                     unsigned threads = 1) const;
  /// @brief predict_batch of sparse rows (see the margins_batch above).
  /// @throws dimension_mismatch.
  void predict_batch(const csr_matrix& rows, std::span<float> out, float absent,
                     unsigned threads = 1) const;

  /// @brief Name of the kernel the batch paths use: "avx512-perfect-trees" (16 rows per AVX-512
  /// vector through perfect-tree copies of the numeric trees of depth <= 8, chosen at run time
  /// when the CPU has AVX-512F), "avx2-perfect-trees" (the same walk, 8 rows per AVX2 vector, on
  /// CPUs with AVX2 but no AVX-512F, or forced with FUNNEL_TREES_KERNEL=avx2) or "interleaved-16"
  /// (16 rows walked together, portable; FUNNEL_TREES_KERNEL=portable forces it).
  [[nodiscard]] const char* batch_kernel() const noexcept;

  /// @brief Applies the output transform to one row of margins in place.
  void transform(std::span<float> margins) const noexcept;
  /// @brief Applies the output transform in double.
  void transform(std::span<double> margins) const noexcept;

  /// @brief Global importance per feature (size num_features()); zero for unused features.
  /// "gain"/"cover" are averages over splits (XGBoost's get_score), "total_*" are sums.
  [[nodiscard]] std::vector<double> importance(importance_type type) const;

  /// @brief Reference evaluator on the source nodes (no compiled layout); used to cross-check
  /// the fast path. @throws dimension_mismatch naming the sizes.
  void margins_reference(row_view row, std::span<float> out) const;

  /// @brief Saves funnel's JSON (`type` "funnel.scoring.tree_ensemble", version 2: adds feature
  /// names, types and source version to version 1, which still loads, as does the earlier type
  /// "funnel.tree_ensemble"); round-trips bit for bit.
  [[nodiscard]] json to_json() const;
  /// @brief Loads funnel's JSON. @throws parse_error naming the field, tree and node.
  [[nodiscard]] static tree_ensemble from_json(const json& j);

  friend bool operator==(const tree_ensemble& a, const tree_ensemble& b) {
    return a.params_ == b.params_ && a.trees_ == b.trees_;
  }

 private:
  friend struct tree_ensemble_access;
  void compile();
  void build_perfect(const std::vector<bool>& tree_special);
  template <bool Special, class Acc>
  void margins_block(const float* rows, std::size_t stride, std::size_t count, Acc* out,
                     bool perfect) const noexcept;
  template <bool Special, class Acc>
  void row_sum(const float* row, Acc* out, const Acc* leaf) const noexcept;
  [[nodiscard]] std::uint32_t special_step(std::uint32_t node, float x) const noexcept;
  [[nodiscard]] std::uint32_t walk(std::size_t t, const float* row) const noexcept;
  template <class Acc>
  void group_margins(const float* row, std::size_t first, std::size_t count,
                     float* out) const noexcept;
  void check_row(std::size_t width, const char* what) const;
  void margins_rows(matrix_view rows, std::size_t first, std::size_t count,
                    float* out) const noexcept;

  ensemble_header params_;
  std::vector<tree> trees_;
  detail::compiled_forest fast_;
  std::vector<float> base_f_;   ///< per group
  std::vector<double> base_d_;  ///< per group
  double average_divisor_ = 1.0;
};

/// @brief Margin of one node-level decision on the source representation: the child taken by `x`
/// at internal node `n`. Shared by the reference evaluator, TreeSHAP and tests.
[[nodiscard]] std::int32_t next_node(const tree_node& n, double x, split_rule rule) noexcept;

}  // namespace funnel::scoring
