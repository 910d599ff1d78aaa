#pragma once
/// @file two_tower.hpp
/// @brief Two-tower retrieval (docs/neural.md): the item tower (ONNX) embeds the catalogue
/// offline into an HNSW index; per request the user tower embeds the user (an id, when the tower
/// has an id input, and the request's context features) and the index returns the items of
/// largest inner product. Cold-start users and items come through their features (an id outside
/// the tower's table is served as `unknown_id`).
///
/// @code
/// auto items = funnel::scoring::embed_items(item_tower, item_ids, item_features);
/// funnel::scoring::two_tower_retriever retriever(user_tower, std::move(items));
/// auto slate = retriever.retrieve(request, 100);  // request.query.user, request.context
/// @endcode

#include <funnel/core/views.hpp>
#include <funnel/onnx/onnx_model.hpp>
#include <funnel/pipeline/stages.hpp>
#include <funnel/retrieval/hnsw_index.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

namespace funnel::scoring {

/// @brief How a tower's inputs are fed and how the item index is built.
struct two_tower_options {
  /// the id fed to a tower's int64 input for an id it has no row for (a new user or item), and
  /// for a request without a user; it must be a row of the table
  std::int64_t unknown_id = 0;
  /// number of rows of the tower's id table (ids >= this are unknown); 0: every id is known
  std::int64_t num_ids = 0;
  std::size_t M = 16;                 ///< HNSW graph degree of the item index
  std::size_t ef_construction = 200;  ///< HNSW build beam of the item index
  std::size_t ef = 0;                 ///< search beam (0: the index's default)
};

/// @brief A tower's inputs: at most one int64 input of one value per row (the id) and at most
/// one float32 input (the features); the output the embedding. Checked by embed_items and
/// two_tower_retriever. @throws unsupported naming what does not fit.
struct tower_layout {
  int id_input = -1;       ///< index of the id input, or -1
  int feature_input = -1;  ///< index of the feature input, or -1
  std::size_t num_features = 0;
  std::size_t dim = 0;  ///< embedding dimension (the first output's row size)
  [[nodiscard]] static tower_layout of(const onnx_model& tower);
};

/// @brief Runs the item tower over a catalogue (`ids[i]` with the features in row i of
/// `features`; `features` may have no columns when the tower takes none) and indexes the
/// embeddings for inner-product search, keyed by the ids.
/// @throws as tower_layout::of; dimension_mismatch when the rows, ids and feature width differ.
[[nodiscard]] retrieval::hnsw_index embed_items(const onnx_model& item_tower,
                                                std::span<const std::uint64_t> ids,
                                                matrix_view features,
                                                const two_tower_options& options = {});

/// @brief The retrieval stage of a two-tower model: user tower, then HNSW search of the items.
/// Satisfies pipeline::RetrievalStage. Const members are thread-safe.
class two_tower_retriever {
 public:
  /// @throws as tower_layout::of; dimension_mismatch when the user tower's embedding and the
  /// index differ in dimension; invalid_argument when the index's metric is not inner_product.
  two_tower_retriever(onnx_model user_tower, std::shared_ptr<const retrieval::hnsw_index> items,
                      const two_tower_options& options = {});

  /// @brief The user's embedding: `user` (or unknown_id) and `features` through the user tower.
  /// @throws dimension_mismatch when features.size() is not the tower's feature width.
  [[nodiscard]] std::vector<float> embed_user(std::optional<std::uint64_t> user,
                                              row_view features) const;
  /// @brief The k items of largest inner product with the user's embedding (the user's id
  /// `req.query.user`, the features `req.context`), best first; the user's history excluded
  /// when `req.query.exclude_history`. @throws as embed_user.
  [[nodiscard]] candidate_list retrieve(const pipeline::request& req, std::size_t k) const;

  /// @brief The item index.
  [[nodiscard]] const retrieval::hnsw_index& items() const noexcept { return *items_; }

 private:
  onnx_model tower_;
  std::shared_ptr<const retrieval::hnsw_index> items_;
  two_tower_options options_;
  tower_layout layout_;
};

}  // namespace funnel::scoring
