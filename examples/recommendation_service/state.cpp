// The service's learned state (snapshot and restore) and its /metrics page.
#include <funnel/core/error.hpp>
#include <funnel/core/file.hpp>
#include <funnel/core/json.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <vector>

#include "service.hpp"

namespace service {

namespace {

constexpr const char* state_type = "funnel.example.service_state";

double unix_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

funnel::json recommendation_service::state_json() const {
  auto j = funnel::json_header(state_type, 1);
  j["saved_at"] = unix_seconds();
  j["bandit"] = system_->bandit_state();
  const std::lock_guard lock(learn_mu_);
  j["reward_adwin"] = reward_adwin_.to_json();
  j["score_page_hinkley"] = score_ph_.to_json();
  j["feedback"] = {{"applied", counts_.applied},
                   {"recorded", counts_.recorded},
                   {"late", counts_.late},
                   {"duplicate", counts_.duplicate}};
  // The newest dedupe keys, so a duplicate of an event from before a restart is still caught.
  funnel::json seen = funnel::json::array();
  const std::size_t n = std::min(cfg_.snapshot_dedupe, seen_order_.size());
  for (auto it = seen_order_.end() - static_cast<std::ptrdiff_t>(n); it != seen_order_.end(); ++it)
    seen.push_back({it->first, it->second});
  j["dedupe"] = std::move(seen);
  j["models"] = models_json();
  return j;
}

funnel::json recommendation_service::models_json() const {
  const auto active = system_->rankers().active().version;
  const std::lock_guard lock(admin_mu_);
  funnel::json loaded = funnel::json::object();
  for (const auto& [version, file] : loaded_files_) loaded[version] = file;
  return {{"loaded", std::move(loaded)},
          {"active", active},
          {"canary", canary_version_},
          {"canary_share", canary_share_},
          {"shadow", shadow_version_}};
}

std::vector<std::string> recommendation_service::restore_models(const funnel::json& j) {
  // Parsed whole first, then applied step by step: a version whose file is gone or no longer
  // loads is skipped (and named), and the roles that name it are not restored; the rest is.
  std::map<std::string, std::string> loaded;
  std::string active, canary, shadow;
  double share = 0.0;
  try {
    loaded = funnel::json_get<std::map<std::string, std::string>>(j, "loaded", "state models");
    active = funnel::json_get<std::string>(j, "active", "state models");
    canary = funnel::json_get<std::string>(j, "canary", "state models");
    share = funnel::json_get_finite<double>(j, "canary_share", "state models");
    shadow = funnel::json_get<std::string>(j, "shadow", "state models");
  } catch (const funnel::error& e) {
    return {fmt::format("the model versions: {}", e.what())};
  }
  std::vector<std::string> skipped;
  auto& reg = system_->rankers();
  const std::lock_guard lock(admin_mu_);
  for (const auto& [version, file] : loaded) {
    try {
      load_version(version, file);
    } catch (const std::exception& e) {
      skipped.push_back(fmt::format("version '{}' ({}): {}", version, file, e.what()));
    }
  }
  const auto known = [&](const std::string& v) {
    const auto vs = reg.versions();
    return std::find(vs.begin(), vs.end(), v) != vs.end();
  };
  if (known(active)) {
    if (reg.active().version != active) reg.activate(active);
  } else {
    skipped.push_back(fmt::format("active version '{}' is gone", active));
  }
  if (!canary.empty() && share > 0.0 && share <= 1.0 && known(canary)) {
    reg.set_canary(canary, share, /*salt=*/1);
    canary_version_ = canary;
    canary_share_ = share;
  }
  if (!shadow.empty() && known(shadow)) {
    reg.set_shadow(shadow);
    shadow_version_ = shadow;
  }
  return skipped;
}

void recommendation_service::load_state(const funnel::json& j) {
  funnel::check_json_header(j, state_type, 1, "service state");
  const auto& fb = funnel::json_field(j, "feedback", "service state");
  feedback_counts c;
  c.applied = funnel::json_get<std::uint64_t>(fb, "applied", "feedback");
  c.recorded = funnel::json_get<std::uint64_t>(fb, "recorded", "feedback");
  c.late = funnel::json_get<std::uint64_t>(fb, "late", "feedback");
  c.duplicate = funnel::json_get<std::uint64_t>(fb, "duplicate", "feedback");
  auto adwin = funnel::drift::adwin::from_json(funnel::json_field(j, "reward_adwin"));
  auto ph = funnel::drift::page_hinkley::from_json(funnel::json_field(j, "score_page_hinkley"));
  const auto keys = funnel::json_get<std::vector<std::vector<std::uint64_t>>>(j, "dedupe");
  for (const auto& k : keys) {
    if (k.size() != 2)
      funnel::raise<funnel::parse_error>("app.service_state", "dedupe key of {}", k.size());
  }
  system_->restore_bandit(funnel::json_field(j, "bandit", "service state"));
  // Everything parsed: only now does the live state change.
  const std::lock_guard lock(learn_mu_);
  counts_ = c;
  reward_adwin_ = std::move(adwin);
  score_ph_ = std::move(ph);
  for (const auto& k : keys) {
    if (seen_.insert({k[0], k[1]}).second) seen_order_.emplace_back(k[0], k[1]);
  }
}

void recommendation_service::snapshot() {
  if (cfg_.state_dir.empty() || !system_) return;
  funnel::write_file_atomic(cfg_.state_dir / "state.json", state_json().dump());
  snapshots_.fetch_add(1);
  metrics_.add("funnel_service_snapshots_total");
}

bool recommendation_service::restore() {
  const auto path = cfg_.state_dir / "state.json";
  if (cfg_.state_dir.empty() || !std::filesystem::exists(path)) return true;
  try {
    const auto j = funnel::load_json_file(path);
    load_state(j);
    // Model versions, roles and shares (absent from snapshots older than them): best effort.
    if (j.contains("models")) {
      for (const auto& s : restore_models(j["models"])) {
        fmt::print(stderr, "restore: skipped {}\n", s);
        metrics_.add("funnel_service_restore_skipped_total");
      }
    }
    metrics_.add("funnel_service_restores_total");
    return true;
  } catch (const funnel::error&) {
    std::error_code ec;
    std::filesystem::rename(path, cfg_.state_dir / "state.json.corrupt", ec);
    return false;
  }
}

std::string recommendation_service::models_prometheus() const {
  std::string out =
      "# HELP funnel_service_model_info Ranker versions by role (active, canary, shadow).\n"
      "# TYPE funnel_service_model_info gauge\n";
  auto& reg = system_->rankers();
  out += fmt::format("funnel_service_model_info{{role=\"active\",version=\"{}\"}} 1\n",
                     label_value(reg.active().version));
  const std::lock_guard lock(admin_mu_);
  if (!canary_version_.empty()) {
    out += fmt::format("funnel_service_model_info{{role=\"canary\",version=\"{}\"}} 1\n",
                       label_value(canary_version_));
  }
  if (!shadow_version_.empty()) {
    out += fmt::format("funnel_service_model_info{{role=\"shadow\",version=\"{}\"}} 1\n",
                       label_value(shadow_version_));
  }
  out += fmt::format(
      "# HELP funnel_service_canary_share Share of users routed to the canary version.\n"
      "# TYPE funnel_service_canary_share gauge\nfunnel_service_canary_share {}\n"
      "# TYPE funnel_service_model_versions gauge\nfunnel_service_model_versions {}\n",
      canary_share_, reg.versions().size());
  return out;
}

std::string recommendation_service::learning_prometheus() const {
  std::string out =
      "# HELP funnel_service_bandit_arm The exploration slot's arms (depth bands).\n"
      "# TYPE funnel_service_bandit_arm_pulls gauge\n";
  std::string mean = "# TYPE funnel_service_bandit_arm_mean_reward gauge\n";
  std::string prob = "# TYPE funnel_service_bandit_arm_propensity gauge\n";
  for (const auto& a : system_->bandit_arms()) {
    const auto arm = label_value(a.name);
    out += fmt::format("funnel_service_bandit_arm_pulls{{arm=\"{}\"}} {}\n", arm, a.pulls);
    mean +=
        fmt::format("funnel_service_bandit_arm_mean_reward{{arm=\"{}\"}} {}\n", arm, a.mean_reward);
    prob +=
        fmt::format("funnel_service_bandit_arm_propensity{{arm=\"{}\"}} {}\n", arm, a.propensity);
  }
  out += mean + prob;
  const std::lock_guard lock(learn_mu_);
  out += fmt::format(
      "# HELP funnel_service_reward_mean ADWIN's mean reward over its window (feedback).\n"
      "# TYPE funnel_service_reward_mean gauge\nfunnel_service_reward_mean {}\n"
      "# TYPE funnel_service_reward_window gauge\nfunnel_service_reward_window {}\n"
      "# TYPE funnel_service_reward_detections gauge\nfunnel_service_reward_detections {}\n"
      "# HELP funnel_service_score_page_hinkley Page-Hinkley statistics of the top score.\n"
      "# TYPE funnel_service_score_page_hinkley gauge\n"
      "funnel_service_score_page_hinkley{{direction=\"up\"}} {}\n"
      "funnel_service_score_page_hinkley{{direction=\"down\"}} {}\n"
      "# TYPE funnel_service_feedback_events gauge\nfunnel_service_feedback_events {}\n",
      reward_adwin_.estimation(), reward_adwin_.width(), reward_adwin_.detections(),
      score_ph_.increase_statistic(), score_ph_.decrease_statistic(), counts_.events());
  return out;
}

reply recommendation_service::metrics_text() {
  std::string out = metrics_.render();
  out += fmt::format(
      "# TYPE funnel_service_ready gauge\nfunnel_service_ready {}\n"
      "# TYPE process_resident_memory_bytes gauge\nprocess_resident_memory_bytes {}\n",
      ready_.load() ? 1 : 0, resident_bytes());
  if (ready_.load() && system_) {  // ready_ first: system_ is set before ready, never after
    out += models_prometheus();
    out += learning_prometheus();
    const std::lock_guard lock(drift_mu_);
    out += fmt::format(
        "# TYPE funnel_service_drift_rows_dropped gauge\nfunnel_service_drift_rows_dropped {}\n",
        drift_dropped_);
    out += drift_text_;
  }
  return {200, "text/plain; version=0.0.4", std::move(out)};
}

}  // namespace service
