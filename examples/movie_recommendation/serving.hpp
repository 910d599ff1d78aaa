#pragma once
/// @file serving.hpp
/// @brief The flagship's served system for a long-running service: the same stages as the
/// evaluation's served pipeline (ALS through HNSW + co-visitation + popularity, the features
/// pipeline, the GBDT ranker behind a model registry, MMR by genre and one exploration slot
/// chosen by an epsilon-greedy bandit), trained once on a whole log and then serving requests
/// from many threads while the bandit learns from feedback.

#include <funnel/bandits/mab.hpp>
#include <funnel/core/json.hpp>
#include <funnel/core/views.hpp>
#include <funnel/pipeline/model_registry.hpp>
#include <funnel/pipeline/pipeline.hpp>
#include <funnel/scoring/tree_ensemble.hpp>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "recommender.hpp"

namespace movie {

/// @brief How the served system is trained and how its pipeline serves.
struct serving_options {
  options model;                                ///< the experiment's knobs (ALS, HNSW, GBDT...)
  funnel::pipeline::pipeline_options pipeline;  ///< stage budgets of a request
  bool per_user_labels = true;  ///< ranker labels: each user's later ratings (else a time slice)
};

/// @brief The exploration decision of one served request.
struct exploration_decision {
  std::uint64_t item = 0;
  std::size_t position = 0;  ///< 0-based slot position
  std::uint64_t arm = 0;     ///< bandit arm: the depth band the item was drawn from
  double propensity = 1.0;
};

/// @brief One served request.
struct served_slate {
  funnel::pipeline::result result;
  std::optional<exploration_decision> explored;  ///< set when the slate has the slot
  bool known_user = false;                       ///< false: cold start (popularity, no history)
};

/// @brief The trained system. recommend() and the bandit's methods are thread-safe.
class serving_system {
 public:
  using ranker_registry = funnel::pipeline::model_registry<funnel::scoring::tree_ensemble>;

  /// @brief Trains every stage on the whole of `data.log` (registering the GBDT as `version`).
  /// @throws as run_experiment on a log too small to train on.
  serving_system(const dataset& data, const serving_options& so,
                 const std::string& version = "gbdt-v1");
  ~serving_system();
  serving_system(const serving_system&) = delete;
  serving_system& operator=(const serving_system&) = delete;

  /// @brief A hash (16 hex digits) of everything training reads: the log, the movies, the
  /// training options and the format of the saved files. Keys the directory of save().
  [[nodiscard]] static std::string fingerprint(const dataset& data, const serving_options& so);
  /// @brief Saves the trained models (ALS, its HNSW index, co-visitation, popularity, the fitted
  /// features pipeline, the GBDT and the ranker's training rows) to `dir`, each file atomically
  /// and `manifest.json` (every file's size and checksum) last: a directory without a manifest,
  /// or with a file that does not match it, is never loaded. @throws io_error.
  void save(const std::filesystem::path& dir) const;
  /// @brief The system save() wrote to `dir`, for the same `data` and options (the caller keys
  /// `dir` by fingerprint()), in seconds instead of training. @throws funnel::error (io_error,
  /// parse_error, dimension_mismatch...) on a missing, damaged or inconsistent file.
  [[nodiscard]] static std::unique_ptr<serving_system> load(const dataset& data,
                                                            const serving_options& so,
                                                            const std::filesystem::path& dir,
                                                            const std::string& version = "gbdt-v1");

  /// @brief Serves `k` items to `user` (an unknown user gets the cold-start slate).
  [[nodiscard]] served_slate recommend(std::uint64_t request_id, std::uint64_t user,
                                       std::size_t k) const;
  /// @brief Whether `user` has a history in the training log.
  [[nodiscard]] bool knows(std::uint64_t user) const;

  /// @brief The ranker versions (hot swap, rollback, canary, shadow).
  [[nodiscard]] ranker_registry& rankers() noexcept;
  /// @brief The GBDT trained at start-up.
  [[nodiscard]] const funnel::scoring::tree_ensemble& trained_ranker() const noexcept;
  /// @brief Names of the ranker's features, in order.
  [[nodiscard]] const std::vector<std::string>& feature_names() const noexcept;
  /// @brief The ranker's training rows (features then the trained GBDT's score), at most
  /// `max_rows` of them: the reference of a drift monitor.
  [[nodiscard]] funnel::matrix reference_rows(std::size_t max_rows) const;
  /// @brief Logs what the ranker scores (call before serving; see pipeline::set_feature_logger).
  void set_feature_logger(funnel::pipeline::feature_logger logger);

  /// @brief Feeds a reward back to the exploration bandit's `arm`. @throws not_found for an
  /// unknown arm, invalid_argument for a non-finite reward.
  void reward(std::uint64_t arm, double value);
  /// @brief The bandit's state (funnel::bandits::mab JSON).
  [[nodiscard]] funnel::json bandit_state() const;
  /// @brief Replaces the bandit's state with one saved by bandit_state(). @throws parse_error.
  void restore_bandit(const funnel::json& state);
  /// @brief The bandit's arms (name = the depth band), pulls, mean reward and P(choose) now.
  [[nodiscard]] std::vector<explore_arm> bandit_arms() const;

  [[nodiscard]] std::size_t users() const noexcept;
  [[nodiscard]] std::size_t items() const noexcept;

 private:
  struct impl;
  explicit serving_system(std::unique_ptr<impl> i);
  std::unique_ptr<impl> impl_;
};

/// @brief How start_system() got its system.
struct start_report {
  bool loaded = false;  ///< from a save (else trained, and saved when possible)
  double seconds = 0.0;
  std::string note;  ///< why a save was not used or not written (empty when all went well)
};

/// @brief The system for `data`: loaded from `<root>/<fingerprint>/` when a save of the same
/// data and options is there and loads, else trained and saved there. A damaged or
/// inconsistent save is retrained and replaced, never a crash. An empty `root`: always trains.
[[nodiscard]] std::shared_ptr<serving_system> start_system(const dataset& data,
                                                           const serving_options& so,
                                                           const std::filesystem::path& root,
                                                           start_report* report = nullptr);

}  // namespace movie
