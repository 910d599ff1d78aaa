#pragma once
/// @file service.hpp
/// @brief The reference service around the flagship's pipeline, without sockets: each endpoint
/// takes a parsed request and returns a status and a body, so it is tested directly and the
/// HTTP layer (http_server.hpp) only translates. Endpoints: GET /recommend, POST /feedback,
/// GET /metrics (Prometheus text), GET /healthz, GET /readyz, POST /admin/models. Learned state
/// (the exploration bandit, the reward and score drift detectors, the feedback counters and the
/// dedupe window) and the model versions the admin API loaded (with the active, canary and shadow
/// roles) are snapshotted atomically and restored on start.

#include <funnel/drift/detectors.hpp>
#include <funnel/drift/monitor.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "metrics.hpp"
#include "serving.hpp"

namespace service {

/// @brief Limits and locations of a service.
struct service_options {
  std::size_t max_k = 100;                 ///< k above this: 400
  std::size_t max_body = 16 * 1024;        ///< bytes; a larger body: 413 (enforced by the server)
  std::string admin_token;                 ///< empty: the admin endpoint is disabled (404)
  std::filesystem::path state_dir;         ///< snapshots and ranker files; empty: none
  std::size_t dedupe_window = 100'000;     ///< (request id, item) pairs remembered
  std::size_t decision_window = 100'000;   ///< exploration decisions kept for their feedback
  std::size_t snapshot_dedupe = 20'000;    ///< newest dedupe keys written to a snapshot
  std::size_t drift_rows_per_request = 8;  ///< scored rows per request given to the monitor
  std::size_t drift_window = 5'000;        ///< rows per drift monitor window
  std::size_t drift_backlog = 50'000;      ///< rows waiting for drift_tick(); more are dropped
};

/// @brief A request as the HTTP layer parsed it.
struct request {
  std::string method;
  std::string path;
  std::map<std::string, std::string> params;  ///< query parameters
  std::string body;
  std::string token;  ///< from "Authorization: Bearer <token>" (empty if absent)
};

/// @brief A reply: status, content type and body.
struct reply {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
};

/// @brief The state snapshots restore: what the learned parts and counters were.
struct feedback_counts {
  std::uint64_t applied = 0;    ///< rewarded the bandit (the explored item of a known request)
  std::uint64_t recorded = 0;   ///< another item of a known request: drift detectors only
  std::uint64_t late = 0;       ///< its request is no longer (or never was) in the window
  std::uint64_t duplicate = 0;  ///< (request id, item) seen before: ignored
  /// Events that changed learned state (applied + recorded + late): what a crash can lose.
  [[nodiscard]] std::uint64_t events() const noexcept { return applied + recorded + late; }
};

/// @brief The service. handle() is thread-safe and never throws.
class recommendation_service {
 public:
  explicit recommendation_service(service_options cfg);
  ~recommendation_service();
  recommendation_service(const recommendation_service&) = delete;
  recommendation_service& operator=(const recommendation_service&) = delete;

  /// @brief Serves with `system` from now on (call once, before ready): binds the drift monitor
  /// to its features, writes its trained ranker to <state_dir>/models/ranker-trained.json and
  /// registers the titles shown in slates.
  void attach(std::shared_ptr<movie::serving_system> system,
              std::unordered_map<std::uint64_t, std::string> titles = {});
  /// @brief Restores <state_dir>/state.json if present. Returns false (and starts fresh, the
  /// file renamed to state.json.corrupt) when it does not parse.
  bool restore();
  /// @brief Writes the learned state to <state_dir>/state.json atomically. @throws io_error.
  void snapshot();
  /// @brief Feeds the rows the requests logged since the last call to the drift monitor, which
  /// evaluates a window when it closes. Called by a background thread (main.cpp: every second)
  /// so that no request waits for an evaluation.
  void drift_tick();
  /// @brief /readyz answers 200 from now on (after attach and restore).
  void set_ready() noexcept { ready_.store(true); }

  /// @brief Routes one request.
  [[nodiscard]] reply handle(const request& req);
  /// @brief Counts a reply the HTTP layer produced itself (413, 404 of an unknown path, ...).
  void count_reply(const std::string& path, int status);

  [[nodiscard]] feedback_counts feedback() const;
  [[nodiscard]] std::uint64_t snapshots() const noexcept { return snapshots_.load(); }

 private:
  reply recommend(const request& req);
  reply feedback(const request& req);
  reply admin(const request& req);
  reply admin_action(const std::string& action, const funnel::json& body);
  reply metrics_text();
  void observe_scored(const funnel::pipeline::scored_batch& b);
  void remember_decision(std::uint64_t request_id, const movie::exploration_decision& d);
  [[nodiscard]] funnel::json state_json() const;
  void load_state(const funnel::json& j);
  [[nodiscard]] std::string models_prometheus() const;
  [[nodiscard]] funnel::json models_json() const;
  /// Loads the versions of a snapshot's "models" and sets its roles; returns what it skipped.
  std::vector<std::string> restore_models(const funnel::json& j);
  /// Loads `file` of <state_dir>/models as `version` (admin_mu_ held). @throws funnel::error.
  void load_version(const std::string& version, const std::string& file);
  [[nodiscard]] std::string learning_prometheus() const;

  service_options cfg_;
  std::shared_ptr<movie::serving_system> system_;
  std::unordered_map<std::uint64_t, std::string> titles_;
  std::unique_ptr<funnel::drift::monitor> monitor_;
  // Rows (features + score) logged by requests, waiting for drift_tick(); bounded.
  std::mutex drift_mu_;
  std::vector<float> drift_rows_;
  std::size_t drift_width_ = 0;
  std::string drift_text_;  // the last report in Prometheus text
  std::uint64_t drift_dropped_ = 0;
  std::atomic<bool> ready_{false};
  std::atomic<std::uint64_t> next_request_;
  std::atomic<std::uint64_t> snapshots_{0};
  metrics metrics_;

  // The learned state besides the bandit (which the serving system locks itself).
  struct decision {
    std::uint64_t arm = 0;
    std::uint64_t item = 0;
  };
  struct pair_hash {
    std::size_t operator()(const std::pair<std::uint64_t, std::uint64_t>& p) const noexcept {
      return std::hash<std::uint64_t>{}(p.first * 0x9e37'79b9'7f4a'7c15ULL ^ p.second);
    }
  };
  mutable std::mutex learn_mu_;
  std::unordered_map<std::uint64_t, decision> decisions_;
  std::deque<std::uint64_t> decision_order_;
  std::unordered_set<std::pair<std::uint64_t, std::uint64_t>, pair_hash> seen_;
  std::deque<std::pair<std::uint64_t, std::uint64_t>> seen_order_;
  feedback_counts counts_;
  funnel::drift::adwin reward_adwin_;
  funnel::drift::page_hinkley score_ph_;

  // What the admin endpoint set (the registry does not report the canary share).
  mutable std::mutex admin_mu_;
  std::string canary_version_;
  double canary_share_ = 0.0;
  std::string shadow_version_;
  std::map<std::string, std::string> loaded_files_;  // version -> file, loaded by the admin API
};

}  // namespace service
