#pragma once
/// @file model_registry.hpp
/// @brief Versioned models swapped atomically while requests are in flight, with rollback, a
/// shadow model (scored and logged, never served) and canary routing by deterministic bucketing.

#include <funnel/core/error.hpp>
#include <funnel/pipeline/binding.hpp>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <utility>
#include <vector>

namespace funnel::pipeline {

/// @brief A model a request holds for its whole duration (the registry may move on meanwhile).
template <class Model>
struct model_snapshot {
  std::shared_ptr<const Model> model;  ///< never null in a snapshot returned by the registry
  std::string version;
  bool canary = false;  ///< routed to the canary version
  /// Empty when the model was bound to the features by name; else why it was not (bound by
  /// width only, or unchecked): the pipeline copies it into trace::warnings.
  std::string warning;
};

/// @brief Deterministic bucket in [0, 1) of `unit` (a user id) under `salt`: splitmix64 of the
/// salted id, so a unit stays in the same arm across requests, replicas and restarts.
inline double canary_bucket(std::uint64_t unit, std::uint64_t salt) noexcept {
  std::uint64_t z = unit ^ (salt * 0x9e37'79b9'7f4a'7c15ULL) ^ 0xd1b5'4a32'd192'ed03ULL;
  z = (z ^ (z >> 30)) * 0xbf58'476d'1ce4'e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d0'49bb'1331'11ebULL;
  z ^= z >> 31;
  return static_cast<double>(z >> 11) * 0x1.0p-53;
}

/// @brief Holds named model versions and which one serves. Readers (`route`, `active`, `shadow`)
/// copy one pointer to an immutable routing state under a shared lock (held for the copy only),
/// so a request never sees a half-updated registry and a model stays alive while any request
/// holds it.
///
/// One registry holds models of one score scale (score_scale, when the model type declares it):
/// canary, shadow and rollback compare or swap their scores, so a version on another scale is
/// refused at add(). A pipeline binds the registry to its feature builder (bind()); from then on
/// every version added must read exactly the builder's columns (see bind_model). Writers
/// serialise on a mutex and publish a new state. (libstdc++'s
/// std::atomic<std::shared_ptr> would make readers lock-free, but its internal lock bit is
/// invisible to ThreadSanitizer, which must be able to verify this class.)
template <class Model>
class model_registry {
 public:
  /// @brief Builds a model from a file; must throw (a funnel::error) on an invalid file.
  using loader = std::function<std::shared_ptr<const Model>(const std::filesystem::path&)>;

  model_registry() : state_(std::make_shared<const state>()) {}
  model_registry(const model_registry&) = delete;
  model_registry& operator=(const model_registry&) = delete;

  /// @brief Adds (or replaces) `version`. The first version added becomes active.
  /// @throws invalid_argument for a null model, an empty version name, a model whose scale
  /// differs from the other versions', or one whose feature names differ from a bound
  /// builder's (naming the first position); dimension_mismatch when its width differs from a
  /// bound builder's. The registry is unchanged when it throws.
  void add(const std::string& version, std::shared_ptr<const Model> model) {
    if (!model)
      raise<invalid_argument>("pipeline.model_registry", "version '{}': null model", version);
    if (version.empty()) raise<invalid_argument>("pipeline.model_registry", "empty version name");
    std::lock_guard lock(write_);
    auto next = std::make_shared<state>(*snapshot_state());
    const auto scale = detail::scale_of(*model);
    if (scale) {
      for (const auto& [v, other] : next->versions) {
        if (v != version && other.scale) {
          check_same_scale(*scale, *other.scale, "pipeline.model_registry",
                           "model version '" + version + "'", "version '" + v + "'");
        }
      }
    }
    entry e{std::move(model), scale, {}};
    for (const auto& b : next->bindings) {
      auto w = bind_model(*e.model, b, "model version '" + version + "'");
      if (e.warning.empty()) e.warning = std::move(w);
    }
    next->versions.insert_or_assign(version, std::move(e));
    if (next->active.empty()) next->active = version;
    publish(std::move(next));
  }

  /// @brief Binds the registry to a feature builder: checks every version now held against
  /// `b` (see bind_model) and every version added later. Binding the same builder twice (two
  /// pipelines over one registry) is a no-op.
  /// @throws as add(), naming the first version that does not bind; the registry is unchanged.
  void bind(const feature_binding& b) {
    std::lock_guard lock(write_);
    auto next = std::make_shared<state>(*snapshot_state());
    if (std::find(next->bindings.begin(), next->bindings.end(), b) != next->bindings.end()) return;
    for (auto& [v, e] : next->versions) {
      auto w = bind_model(*e.model, b, "model version '" + v + "'");
      if (e.warning.empty()) e.warning = std::move(w);
    }
    next->bindings.push_back(b);
    publish(std::move(next));
  }

  /// @brief The scale of the registry's models, if any version declares one.
  [[nodiscard]] std::optional<score_scale> scale() const {
    const auto s = snapshot_state();
    for (const auto& [_, e] : s->versions)
      if (e.scale) return e.scale;
    return std::nullopt;
  }

  /// @brief Loads `version` from `path` with `load`; on any error the registry is unchanged (the
  /// old model keeps serving) and the error propagates.
  void load(const std::string& version, const std::filesystem::path& path, const loader& load) {
    add(version, load(path));  // load() runs before any state changes
  }

  /// @brief How many earlier active versions rollback() can return to: a service that swaps
  /// every few seconds for months must not grow (nor copy on every publish) an unbounded history.
  static constexpr std::size_t max_rollback_depth = 32;

  /// @brief Makes `version` the one served; the previous active version is kept for rollback
  /// (the last max_rollback_depth of them). @throws not_found for an unknown version.
  void activate(const std::string& version) {
    std::lock_guard lock(write_);
    auto next = std::make_shared<state>(*snapshot_state());
    require(*next, version);
    if (next->active != version) {
      next->history.push_back(next->active);
      if (next->history.size() > max_rollback_depth) next->history.erase(next->history.begin());
      next->active = version;
    }
    publish(std::move(next));
  }

  /// @brief Serves the version active before the last activate(). @throws invalid_argument when
  /// there is nothing to roll back to.
  void rollback() {
    std::lock_guard lock(write_);
    auto next = std::make_shared<state>(*snapshot_state());
    if (next->history.empty())
      raise<invalid_argument>("pipeline.model_registry", "no earlier version to roll back to");
    next->active = next->history.back();
    next->history.pop_back();
    publish(std::move(next));
  }

  /// @brief Scores `version` alongside the served model on every request (logged, not served);
  /// nullopt turns shadowing off. @throws not_found.
  void set_shadow(const std::optional<std::string>& version) {
    std::lock_guard lock(write_);
    auto next = std::make_shared<state>(*snapshot_state());
    if (version) require(*next, *version);
    next->shadow = version.value_or("");
    publish(std::move(next));
  }

  /// @brief Routes a `fraction` of units (by canary_bucket(unit, salt)) to `version`; fraction 0
  /// turns the canary off. @throws not_found, invalid_argument for a fraction outside [0, 1].
  void set_canary(const std::string& version, double fraction, std::uint64_t salt = 0) {
    if (!(fraction >= 0.0 && fraction <= 1.0)) {
      raise<invalid_argument>("pipeline.model_registry", "canary fraction {} outside [0, 1]",
                              fraction);
    }
    std::lock_guard lock(write_);
    auto next = std::make_shared<state>(*snapshot_state());
    require(*next, version);
    next->canary = fraction > 0.0 ? version : "";
    next->canary_fraction = fraction;
    next->canary_salt = salt;
    publish(std::move(next));
  }

  /// @brief The model that serves `unit`: the canary if its bucket falls in the canary fraction,
  /// else the active version. @throws not_found when the registry is empty.
  [[nodiscard]] model_snapshot<Model> route(std::uint64_t unit) const {
    const auto s = snapshot_state();
    if (s->active.empty()) raise<not_found>("pipeline.model_registry", "no model registered");
    if (!s->canary.empty() && canary_bucket(unit, s->canary_salt) < s->canary_fraction) {
      return snap(*s, s->canary, true);
    }
    return snap(*s, s->active, false);
  }

  /// @brief The active model. @throws not_found when empty.
  [[nodiscard]] model_snapshot<Model> active() const {
    const auto s = snapshot_state();
    if (s->active.empty()) raise<not_found>("pipeline.model_registry", "no model registered");
    return snap(*s, s->active, false);
  }

  /// @brief The shadow model, if one is set.
  [[nodiscard]] std::optional<model_snapshot<Model>> shadow() const {
    const auto s = snapshot_state();
    if (s->shadow.empty()) return std::nullopt;
    return snap(*s, s->shadow, false);
  }

  /// @brief Known versions, sorted.
  [[nodiscard]] std::vector<std::string> versions() const {
    std::vector<std::string> out;
    for (const auto& [v, _] : snapshot_state()->versions) out.push_back(v);
    return out;
  }

 private:
  struct entry {
    std::shared_ptr<const Model> model;
    std::optional<score_scale> scale;
    std::string warning;  ///< from bind_model: empty when bound by name
  };
  struct state {
    std::map<std::string, entry> versions;
    std::vector<feature_binding> bindings;
    std::string active;
    std::vector<std::string> history;
    std::string shadow;
    std::string canary;
    double canary_fraction = 0.0;
    std::uint64_t canary_salt = 0;
  };
  static model_snapshot<Model> snap(const state& s, const std::string& version, bool canary) {
    const auto& e = s.versions.at(version);
    return {e.model, version, canary, e.warning};
  }
  static void require(const state& s, const std::string& version) {
    if (!s.versions.contains(version))
      raise<not_found>("pipeline.model_registry", "unknown model version '{}'", version);
  }
  [[nodiscard]] std::shared_ptr<const state> snapshot_state() const {
    std::shared_lock lock(read_);
    return state_;
  }
  void publish(std::shared_ptr<state> next) {
    std::shared_ptr<const state> old;
    {
      std::unique_lock lock(read_);
      old = std::exchange(state_, std::shared_ptr<const state>(std::move(next)));
    }  // the old state (and perhaps a model) is released outside the lock
  }

  std::mutex write_;
  mutable std::shared_mutex read_;
  std::shared_ptr<const state> state_;
};

}  // namespace funnel::pipeline
