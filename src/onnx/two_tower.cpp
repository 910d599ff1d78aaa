// Two-tower retrieval: the item tower fills an inner-product HNSW index offline, the user tower
// embeds each request, the index answers.

#include <funnel/core/error.hpp>
#include <funnel/onnx/two_tower.hpp>

#include <algorithm>

namespace funnel::scoring {
namespace {

constexpr const char* where = "scoring.two_tower_retriever";

std::int64_t tower_id(std::optional<std::uint64_t> id, const two_tower_options& o) {
  if (!id.has_value()) return o.unknown_id;
  const bool known = o.num_ids <= 0 || *id < static_cast<std::uint64_t>(o.num_ids);
  return known ? static_cast<std::int64_t>(*id) : o.unknown_id;
}

// Runs `tower` on rows of ids and features; `ids` may be empty when the tower has no id input.
void run_tower(const onnx_model& tower, const tower_layout& layout, std::size_t rows,
               std::span<const std::int64_t> ids, std::span<const float> features,
               std::span<float> out) {
  std::vector<onnx_input> in(tower.inputs().size());
  if (layout.id_input >= 0) in[static_cast<std::size_t>(layout.id_input)] = ids;
  if (layout.feature_input >= 0) in[static_cast<std::size_t>(layout.feature_input)] = features;
  std::vector<std::span<float>> outs(tower.outputs().size());
  outs[0] = out;
  tower.run(rows, in, outs);
}

}  // namespace

tower_layout tower_layout::of(const onnx_model& tower) {
  tower_layout l;
  for (std::size_t k = 0; k < tower.inputs().size(); ++k) {
    const auto& p = tower.inputs()[k];
    const bool id = p.dtype == onnx_dtype::int64;
    int& slot = id ? l.id_input : l.feature_input;
    if (slot >= 0 || (id && p.row_size != 1) || (!id && p.shape.size() != 1)) {
      raise<unsupported>(where,
                         "a tower takes at most one int64 id per row and one float32 "
                         "feature row; input '{}' does not fit",
                         p.name);
    }
    slot = static_cast<int>(k);
    if (!id) l.num_features = p.row_size;
  }
  l.dim = tower.outputs().front().row_size;
  return l;
}

retrieval::hnsw_index embed_items(const onnx_model& item_tower, std::span<const std::uint64_t> ids,
                                  matrix_view features, const two_tower_options& options) {
  const auto layout = tower_layout::of(item_tower);
  const std::size_t rows = ids.size();
  if (features.cols() != layout.num_features ||
      (layout.num_features > 0 && features.rows() != rows)) {
    raise<dimension_mismatch>(where, "{} ids and {} rows of {} features; the item tower takes {}",
                              rows, features.rows(), features.cols(), layout.num_features);
  }
  std::vector<std::int64_t> tower_ids(rows);
  for (std::size_t i = 0; i < rows; ++i) tower_ids[i] = tower_id(ids[i], options);
  std::vector<float> x(rows * layout.num_features);
  for (std::size_t i = 0; i < rows && layout.num_features > 0; ++i) {
    std::copy_n(features.row(i).data(), layout.num_features, x.data() + i * layout.num_features);
  }
  std::vector<float> embeddings(rows * layout.dim);
  run_tower(item_tower, layout, rows, tower_ids, x, embeddings);
  retrieval::hnsw_index index({.dim = layout.dim,
                               .metric = retrieval::metric::inner_product,
                               .M = options.M,
                               .ef_construction = options.ef_construction,
                               .capacity = rows});
  index.add_batch(ids, matrix_view(embeddings, rows, layout.dim));
  return index;
}

two_tower_retriever::two_tower_retriever(onnx_model user_tower,
                                         std::shared_ptr<const retrieval::hnsw_index> items,
                                         const two_tower_options& options)
    : tower_(std::move(user_tower)),
      items_(std::move(items)),
      options_(options),
      layout_(tower_layout::of(tower_)) {
  if (!items_) raise<invalid_argument>(where, "no item index");
  if (items_->options().dim != layout_.dim) {
    raise<dimension_mismatch>(where, "the user tower embeds in {} dimensions, the items in {}",
                              layout_.dim, items_->options().dim);
  }
  if (items_->options().metric != retrieval::metric::inner_product) {
    raise<invalid_argument>(where,
                            "the item index must use the inner_product metric (towers "
                            "are trained on dot products)");
  }
}

std::vector<float> two_tower_retriever::embed_user(std::optional<std::uint64_t> user,
                                                   row_view features) const {
  if (features.size() != layout_.num_features) {
    raise<dimension_mismatch>(where, "{} user features, the user tower takes {}", features.size(),
                              layout_.num_features);
  }
  const std::int64_t id = tower_id(user, options_);
  std::vector<float> embedding(layout_.dim);
  run_tower(tower_, layout_, 1, {&id, 1}, features, embedding);
  return embedding;
}

candidate_list two_tower_retriever::retrieve(const pipeline::request& req, std::size_t k) const {
  const auto query = embed_user(req.query.user, req.context);
  retrieval::search_options search;
  search.ef = options_.ef;
  if (!req.query.exclude_history || req.query.history.empty()) {
    return items_->search(query, k, search);
  }
  std::vector<std::uint64_t> seen(req.query.history.begin(), req.query.history.end());
  std::sort(seen.begin(), seen.end());
  const auto unseen = [&](std::uint64_t id) {
    return !std::binary_search(seen.begin(), seen.end(), id);
  };
  return items_->search(query, k, search, retrieval::filter::where(unseen));
}

}  // namespace funnel::scoring
