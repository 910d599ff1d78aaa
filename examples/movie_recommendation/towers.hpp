#pragma once
/// @file towers.hpp
/// @brief The flagship's learned two-tower retriever (built with funnel::onnx only): the example
/// writes the training part of its per-user split for train_towers.py (python3-torch), which
/// trains a user and an item tower and exports them to ONNX; the example then embeds the
/// catalogue with the item tower into an HNSW index (scoring::embed_items), serves the user
/// tower per request (scoring::two_tower_retriever) as a fourth retriever of the served pipeline,
/// and compares it with ALS on the same held-out ratings.

#include <cstddef>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "recommender.hpp"

namespace movie {

/// @brief What evaluate_towers measured on the per-user split.
struct towers_report {
  std::string protocol;
  std::size_t train_interactions = 0;
  std::size_t test_interactions = 0;
  std::size_t eval_users = 0;
  std::size_t catalogue = 0;   ///< movies embedded by the item tower
  std::size_t cold_items = 0;  ///< ... of which without a training rating (features only)
  std::size_t dim = 0;         ///< embedding dimension
  double embed_seconds = 0.0;  ///< item tower over the catalogue + HNSW build
  std::string training;        ///< what train_towers.py reported (towers.json)
  std::vector<stage_quality> retrievers;  ///< each retriever alone, top k, history excluded
  std::vector<stage_quality> served;      ///< the served pipeline without / with the towers
  double p50_ms = 0.0, p99_ms = 0.0;      ///< served pipeline, three retrievers
  double p50_ms_towers = 0.0, p99_ms_towers = 0.0;  ///< ... with the two-tower retriever
  std::vector<stage_latency> latency_by_stage;      ///< stages of the pipeline with towers
};

/// @brief Writes DIR/interactions.csv, users.csv, items.csv and tower_data.json: the training
/// part of the per-user split (`split_per_user(1 - test_quantile)`, the held-out ratings never)
/// and the feature tables the towers read, with the dense ids the towers use.
/// @throws funnel::io_error when DIR cannot be written.
void write_tower_data(const dataset& data, const options& opt, const std::filesystem::path& dir);

/// @brief Loads DIR/user_tower.onnx and item_tower.onnx (train_towers.py), rebuilds the split
/// and the rankers as run_experiment does, and measures the towers against ALS: each retriever
/// alone (recall@k, NDCG@k) and the served pipeline with and without the two-tower retriever
/// (quality, p50/p99 per request and per stage, one thread).
/// @throws funnel::io_error / parse_error / unsupported from the files; invalid_argument when
/// the towers were trained on another split (their id tables do not match this data).
[[nodiscard]] towers_report evaluate_towers(const dataset& data, const options& opt,
                                            const std::filesystem::path& dir);

/// @brief The towers report as aligned text.
[[nodiscard]] std::string format_towers_report(const towers_report& r, std::size_t k);

}  // namespace movie
