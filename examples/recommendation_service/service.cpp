#include "service.hpp"

#include <funnel/core/error.hpp>
#include <funnel/core/file.hpp>
#include <funnel/core/json.hpp>
#include <funnel/core/timer.hpp>
#include <funnel/drift/profile.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <optional>
#include <stdexcept>
#include <string_view>

namespace service {

namespace {

reply json_reply(int status, const funnel::json& body) {
  return {status, "application/json", body.dump() + "\n"};
}

reply error_reply(int status, const std::string& message) {
  return json_reply(status, funnel::json{{"error", message}});
}

/// A path as a metrics label: one of the service's endpoints ("-": a request that did not
/// parse), else "other". A label per path a client invents would grow the counters and the
/// /metrics page without bound.
std::string endpoint_label(const std::string& path) {
  static constexpr std::array<std::string_view, 7> known = {
      "/recommend", "/feedback", "/metrics", "/healthz", "/readyz", "/admin/models", "-"};
  return std::find(known.begin(), known.end(), path) != known.end() ? path : "other";
}

/// A decimal unsigned integer, the whole string; nullopt otherwise.
std::optional<std::uint64_t> parse_uint(const std::string& s) {
  std::uint64_t v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || end != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

/// Compares without an early exit, so the time taken tells nothing about the token.
bool same_token(const std::string& a, const std::string& b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (std::size_t i = 0; i < a.size(); ++i)
    diff |= static_cast<unsigned char>(a[i] ^ (i < b.size() ? b[i] : 0));
  return diff == 0;
}

std::uint64_t boot_request_base() {
  // Request ids stay unique across restarts (and below 2^53, exact in every JSON reader).
  const auto s = std::chrono::duration_cast<std::chrono::seconds>(
                     std::chrono::system_clock::now().time_since_epoch())
                     .count();
  return static_cast<std::uint64_t>(s % 4'000'000'000) * 1'000'000ULL;
}

funnel::drift::page_hinkley_options score_ph_options() {
  funnel::drift::page_hinkley_options o;
  o.threshold = 50.0;
  return o;
}

}  // namespace

recommendation_service::recommendation_service(service_options cfg)
    : cfg_(std::move(cfg)), next_request_(boot_request_base()), score_ph_(score_ph_options()) {}

recommendation_service::~recommendation_service() = default;

void recommendation_service::attach(std::shared_ptr<movie::serving_system> system,
                                    std::unordered_map<std::uint64_t, std::string> titles) {
  titles_ = std::move(titles);
  std::vector<funnel::drift::feature_spec> schema;
  for (const auto& name : system->feature_names()) schema.push_back({name});
  schema.push_back({"score"});
  const auto ref = system->reference_rows(20'000);
  drift_width_ = schema.size();
  funnel::drift::monitor_options mo;
  mo.window.size = cfg_.drift_window;
  monitor_ = std::make_unique<funnel::drift::monitor>(
      funnel::drift::fit_reference_profile(ref.view(), schema), mo);
  system->set_feature_logger(
      [this](const funnel::pipeline::scored_batch& b) { observe_scored(b); });
  if (!cfg_.state_dir.empty()) {
    std::filesystem::create_directories(cfg_.state_dir / "models");
    funnel::write_file_atomic(cfg_.state_dir / "models" / "ranker-trained.json",
                              system->trained_ranker().to_json().dump());
  }
  system_ = std::move(system);
}

void recommendation_service::observe_scored(const funnel::pipeline::scored_batch& b) {
  if (b.shadow || b.ids.empty()) return;
  const std::size_t n = std::min(cfg_.drift_rows_per_request, b.ids.size());
  {
    const std::lock_guard lock(drift_mu_);
    if (drift_rows_.size() / drift_width_ + n > cfg_.drift_backlog) {
      drift_dropped_ += n;
    } else {
      // Rows spread over the batch: the batch is in retrieval order, and the reference is every
      // candidate the ranker was trained on, not the best-retrieved ones.
      const std::size_t stride = b.ids.size() / n;
      for (std::size_t i = 0; i < n; ++i) {
        const auto row = b.features.row(i * stride);
        drift_rows_.insert(drift_rows_.end(), row.begin(), row.end());
        drift_rows_.push_back(b.scores[i * stride]);
      }
    }
  }
  const float top = *std::max_element(b.scores.begin(), b.scores.end());
  const std::lock_guard lock(learn_mu_);
  score_ph_.update(static_cast<double>(top));
}

void recommendation_service::drift_tick() {
  if (!monitor_) return;
  std::vector<float> rows;
  {
    const std::lock_guard lock(drift_mu_);
    rows.swap(drift_rows_);
  }
  const std::size_t width = drift_width_;
  for (std::size_t r = 0; r + width <= rows.size(); r += width) {
    monitor_->observe(funnel::row_view(rows.data() + r, width - 1), rows[r + width - 1]);
  }
  const auto report = monitor_->last_report();
  auto text = report.features.empty() ? std::string() : report.to_prometheus("model=\"ranker\"");
  const std::lock_guard lock(drift_mu_);
  drift_text_ = std::move(text);
}

reply recommendation_service::handle(const request& req) {
  const funnel::stopwatch clock;
  const std::string endpoint = endpoint_label(req.path);
  reply r;
  try {
    if (req.path == "/healthz") {
      r = json_reply(200, {{"status", "alive"}});
    } else if (req.path == "/readyz") {
      r = ready_.load() ? json_reply(200, {{"status", "ready"}})
                        : error_reply(503, "training or restoring state");
    } else if (req.path == "/metrics" && req.method == "GET") {
      r = metrics_text();
    } else if (req.path == "/admin/models" && req.method == "POST") {
      r = admin(req);
    } else if (!ready_.load() && (req.path == "/recommend" || req.path == "/feedback")) {
      r = error_reply(503, "not ready");
    } else if (req.path == "/recommend" && req.method == "GET") {
      r = recommend(req);
    } else if (req.path == "/feedback" && req.method == "POST") {
      r = feedback(req);
    } else {
      r = error_reply(404, "no such endpoint");
    }
  } catch (const std::exception& e) {
    metrics_.add("funnel_service_failed_total",
                 fmt::format("endpoint=\"{}\"", label_value(endpoint)));
    r = error_reply(500, e.what());
  }
  metrics_.request_latency(endpoint, clock.elapsed_us() * 1e-6);
  metrics_.reply(endpoint, r.status);
  return r;
}

void recommendation_service::count_reply(const std::string& path, int status) {
  metrics_.reply(endpoint_label(path), status);
}

reply recommendation_service::recommend(const request& req) {
  const auto user_it = req.params.find("user");
  if (user_it == req.params.end()) return error_reply(400, "missing parameter 'user'");
  const auto user = parse_uint(user_it->second);
  if (!user) return error_reply(400, "'user' must be an unsigned integer");
  std::size_t k = 20;
  if (const auto it = req.params.find("k"); it != req.params.end()) {
    const auto v = parse_uint(it->second);
    if (!v || *v == 0 || *v > cfg_.max_k) {
      return error_reply(400, fmt::format("'k' must be an integer in [1, {}]", cfg_.max_k));
    }
    k = static_cast<std::size_t>(*v);
  }
  const auto trace_it = req.params.find("trace");
  const bool want_trace = trace_it != req.params.end() && trace_it->second == "1";
  const std::uint64_t id = next_request_.fetch_add(1);
  const auto served = system_->recommend(id, *user, k);
  const auto& tr = served.result.trace;
  for (const auto& st : tr.stages) metrics_.stage_latency(st.stage, st.micros * 1e-6);
  metrics_.add("funnel_service_served_total",
               fmt::format("version=\"{}\",canary=\"{}\"", label_value(tr.model_version),
                           tr.canary ? "true" : "false"));
  if (!tr.degraded.empty()) metrics_.add("funnel_service_degraded_total");
  if (!served.known_user) metrics_.add("funnel_service_cold_start_total");
  funnel::json items = funnel::json::array();
  for (const auto& c : served.result.slate) {
    funnel::json item{{"id", c.id}, {"score", c.score}};
    if (const auto t = titles_.find(c.id); t != titles_.end()) item["title"] = t->second;
    items.push_back(std::move(item));
  }
  funnel::json body{{"request_id", id},
                    {"user", *user},
                    {"cold_start", !served.known_user},
                    {"model_version", tr.model_version},
                    {"canary", tr.canary},
                    {"degraded", tr.degraded},
                    {"items", std::move(items)}};
  if (served.explored) {
    const auto& e = *served.explored;
    body["explored"] = {{"item", e.item}, {"position", e.position}, {"propensity", e.propensity}};
    remember_decision(id, e);
  }
  if (want_trace) body["trace"] = funnel::pipeline::to_json(tr);
  return json_reply(200, body);
}

void recommendation_service::remember_decision(std::uint64_t request_id,
                                               const movie::exploration_decision& d) {
  const std::lock_guard lock(learn_mu_);
  decisions_[request_id] = {d.arm, d.item};
  decision_order_.push_back(request_id);
  while (decision_order_.size() > cfg_.decision_window) {
    decisions_.erase(decision_order_.front());
    decision_order_.pop_front();
  }
}

reply recommendation_service::feedback(const request& req) {
  funnel::json j;
  std::uint64_t request_id = 0, item = 0;
  double reward = 0.0;
  try {
    j = funnel::parse_json(req.body, "feedback body");
    if (!j.is_object()) return error_reply(400, "feedback body must be a JSON object");
    request_id = funnel::json_get<std::uint64_t>(j, "request_id", "feedback");
    item = funnel::json_get<std::uint64_t>(j, "item", "feedback");
    reward = funnel::json_get_finite<double>(j, "reward", "feedback");
  } catch (const funnel::parse_error& e) {
    return error_reply(400, e.what());
  }
  if (reward < 0.0 || reward > 1.0) return error_reply(400, "'reward' must be in [0, 1]");
  std::string outcome;
  {
    const std::lock_guard lock(learn_mu_);
    if (!seen_.insert({request_id, item}).second) {
      ++counts_.duplicate;
      outcome = "duplicate";
    } else {
      seen_order_.emplace_back(request_id, item);
      while (seen_order_.size() > cfg_.dedupe_window) {
        seen_.erase(seen_order_.front());
        seen_order_.pop_front();
      }
      const auto d = decisions_.find(request_id);
      if (d == decisions_.end()) {
        ++counts_.late;
        outcome = "late";
      } else if (d->second.item == item) {
        system_->reward(d->second.arm, reward);
        ++counts_.applied;
        outcome = "applied";
      } else {
        ++counts_.recorded;
        outcome = "recorded";
      }
      if (reward_adwin_.update(reward)) metrics_.add("funnel_service_reward_drift_total");
    }
  }
  metrics_.add("funnel_service_feedback_total", fmt::format("outcome=\"{}\"", outcome));
  return json_reply(200, {{"status", outcome}});
}

feedback_counts recommendation_service::feedback() const {
  const std::lock_guard lock(learn_mu_);
  return counts_;
}

reply recommendation_service::admin(const request& req) {
  if (cfg_.admin_token.empty()) return error_reply(404, "admin API disabled (no token configured)");
  if (!same_token(req.token, cfg_.admin_token)) return error_reply(403, "bad or missing token");
  funnel::json j;
  std::string action;
  try {
    j = funnel::parse_json(req.body, "admin body");
    if (!j.is_object()) return error_reply(400, "admin body must be a JSON object");
    action = funnel::json_get<std::string>(j, "action", "admin");
  } catch (const funnel::parse_error& e) {
    return error_reply(400, e.what());
  }
  try {
    return admin_action(action, j);
  } catch (const funnel::not_found& e) {
    return error_reply(404, e.what());
  } catch (const funnel::io_error& e) {
    return error_reply(404, e.what());
  } catch (const funnel::error& e) {
    return error_reply(400, e.what());
  }
}

void recommendation_service::load_version(const std::string& version, const std::string& file) {
  if (cfg_.state_dir.empty() || file.empty() || file.find('/') != std::string::npos ||
      file.front() == '.') {
    funnel::raise<funnel::invalid_argument>("app.service_admin",
                                            "'file' must name a file of <state_dir>/models");
  }
  system_->rankers().load(
      version, cfg_.state_dir / "models" / file, [](const std::filesystem::path& p) {
        return std::make_shared<const funnel::scoring::tree_ensemble>(
            funnel::scoring::tree_ensemble::from_json(funnel::load_json_file(p)));
      });
  loaded_files_[version] = file;
}

reply recommendation_service::admin_action(const std::string& action, const funnel::json& j) {
  if (!ready_.load()) return error_reply(503, "not ready");
  auto& reg = system_->rankers();
  const std::lock_guard lock(admin_mu_);
  if (action == "load") {
    const auto version = funnel::json_get<std::string>(j, "version", "admin");
    const auto file = funnel::json_get<std::string>(j, "file", "admin");
    // Only files of <state_dir>/models: the token allows swapping models, not reading the disk.
    if (cfg_.state_dir.empty() || file.empty() || file.find('/') != std::string::npos ||
        file.front() == '.') {
      return error_reply(400, "'file' must name a file of <state_dir>/models");
    }
    load_version(version, file);
  } else if (action == "activate") {
    reg.activate(funnel::json_get<std::string>(j, "version", "admin"));
  } else if (action == "rollback") {
    reg.rollback();
  } else if (action == "canary") {
    const auto version = funnel::json_get<std::string>(j, "version", "admin");
    const auto share = funnel::json_get_finite<double>(j, "share", "admin");
    reg.set_canary(version, share, /*salt=*/1);
    canary_version_ = share > 0.0 ? version : "";
    canary_share_ = share;
  } else if (action == "shadow") {
    const auto& v = funnel::json_field(j, "version", "admin");
    const auto version =
        v.is_null() ? std::nullopt : std::optional(funnel::json_as<std::string>(v, "version"));
    reg.set_shadow(version);
    shadow_version_ = version.value_or("");
  } else if (action != "status") {
    return error_reply(400, fmt::format("unknown action '{}' (load, activate, rollback, canary, "
                                        "shadow, status)",
                                        action.substr(0, 40)));
  }
  metrics_.add("funnel_service_admin_total", fmt::format("action=\"{}\"", action));
  return json_reply(200, {{"active", reg.active().version},
                          {"versions", reg.versions()},
                          {"canary", canary_version_},
                          {"canary_share", canary_share_},
                          {"shadow", shadow_version_}});
}

}  // namespace service
