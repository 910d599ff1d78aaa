// Smoke test of the reference service (examples/recommendation_service): trains the flagship's
// pipeline on a small synthetic log, serves it over HTTP on an ephemeral loopback port, sends one
// request of each kind (and malformed ones), checks the replies, snapshots and restores the
// learned state, and stops the server.
#ifdef FUNNEL_EXAMPLES_HTTPLIB

#include <funnel/core/file.hpp>
#include <funnel/core/json.hpp>

#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <unistd.h>

#include "funnel_catch.hpp"
#include "http_server.hpp"
#include "service.hpp"

// After funnel's headers: httplib.h pulls in <resolv.h>, whose `_res` macro breaks Eigen.
#include <httplib.h>

namespace {

std::shared_ptr<movie::serving_system> small_system() {
  static const auto data = movie::synthetic_dataset(/*users=*/200, /*items=*/400, /*genres=*/8,
                                                    /*per_user=*/20, /*seed=*/5);
  movie::serving_options c;
  c.model.als_factors = 8;
  c.model.als_iterations = 4;
  c.model.quota = 60;
  c.model.gbdt_rounds = 10;
  c.model.max_ranker_users = 60;
  // Budgets no sanitizer build misses: the test checks the replies, not the fallbacks.
  c.pipeline.retrieval_budget = std::chrono::seconds(5);
  c.pipeline.ranking_budget = std::chrono::seconds(5);
  c.pipeline.rerank_budget = std::chrono::seconds(5);
  return std::make_shared<movie::serving_system>(data, c);
}

std::filesystem::path fresh_dir(const std::string& name) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("funnel-service-" + name + "-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  return dir;
}

/// A service with a running HTTP server on 127.0.0.1:<ephemeral>; stopped on destruction.
struct running_service {
  explicit running_service(service::service_options cfg) : svc(std::move(cfg)), http(svc, {}) {
    port = http.bind("127.0.0.1", 0);
    REQUIRE(port > 0);
    thread = std::thread([this] { http.run(); });
  }
  ~running_service() {
    http.stop();
    thread.join();
  }
  running_service(const running_service&) = delete;
  running_service& operator=(const running_service&) = delete;
  [[nodiscard]] httplib::Client client() const {
    httplib::Client c("127.0.0.1", port);
    c.set_read_timeout(std::chrono::seconds(20));
    return c;
  }
  service::recommendation_service svc;
  service::http_server http;
  int port = 0;
  std::thread thread;
};

funnel::json body_of(const httplib::Result& r) {
  REQUIRE(r);
  return funnel::parse_json(r->body, "reply");
}

}  // namespace

TEST_CASE("service: one request of each kind over HTTP, malformed ones refused", "[service]") {
  service::service_options cfg;
  cfg.state_dir = fresh_dir("smoke");
  cfg.admin_token = "s3cret";
  cfg.max_k = 50;
  running_service s(cfg);
  auto cli = s.client();

  // Alive at once, ready only once the system is attached.
  CHECK(cli.Get("/healthz")->status == 200);
  CHECK(cli.Get("/readyz")->status == 503);
  CHECK(cli.Get("/recommend?user=1&k=5")->status == 503);
  s.svc.attach(small_system());
  CHECK(s.svc.restore());
  s.svc.set_ready();
  CHECK(cli.Get("/readyz")->status == 200);

  // A known user: a slate of k with the exploration slot; a cold-start user: popularity.
  const auto rec = cli.Get("/recommend?user=3&k=20&trace=1");
  REQUIRE(rec->status == 200);
  const auto slate = body_of(rec);
  CHECK(slate["items"].size() == 20);
  CHECK(slate["cold_start"] == false);
  CHECK(slate["model_version"] == "gbdt-v1");
  REQUIRE(slate.contains("explored"));
  CHECK(slate["trace"]["stages"].size() >= 5);
  const auto cold = body_of(cli.Get("/recommend?user=987654321&k=5"));
  CHECK(cold["cold_start"] == true);
  CHECK(cold["items"].size() == 5);
  CHECK(cli.Get("/recommend?user=abc")->status == 400);
  CHECK(cli.Get("/recommend?user=1&k=51")->status == 400);
  CHECK(cli.Get("/recommend?user=1&k=0")->status == 400);
  CHECK(cli.Get("/recommend")->status == 400);
  CHECK(cli.Get("/nowhere")->status == 404);

  // Feedback: the explored item rewards the bandit; twice is a duplicate; unknown request late.
  const auto id = slate["request_id"].get<std::uint64_t>();
  const auto item = slate["explored"]["item"].get<std::uint64_t>();
  const std::string fb = funnel::json{{"request_id", id}, {"item", item}, {"reward", 1}}.dump();
  CHECK(body_of(cli.Post("/feedback", fb, "application/json"))["status"] == "applied");
  CHECK(body_of(cli.Post("/feedback", fb, "application/json"))["status"] == "duplicate");
  CHECK(body_of(cli.Post("/feedback", R"({"request_id":1,"item":2,"reward":0})",
                         "application/json"))["status"] == "late");
  CHECK(cli.Post("/feedback", "{not json", "application/json")->status == 400);
  CHECK(cli.Post("/feedback", R"({"request_id":1,"item":2,"reward":7})", "application/json")
            ->status == 400);
  CHECK(cli.Post("/feedback", std::string(cfg.max_body + 1, 'x'), "application/json")->status ==
        413);

  // Admin: refused without the token or with a wrong one; load, canary, activate, rollback.
  const std::string load = R"({"action":"load","version":"v2","file":"ranker-trained.json"})";
  CHECK(cli.Post("/admin/models", load, "application/json")->status == 403);
  httplib::Headers wrong{{"Authorization", "Bearer nope"}};
  CHECK(cli.Post("/admin/models", wrong, load, "application/json")->status == 403);
  httplib::Headers auth{{"Authorization", "Bearer s3cret"}};
  CHECK(cli.Post("/admin/models", auth, load, "application/json")->status == 200);
  const auto canary =
      body_of(cli.Post("/admin/models", auth, R"({"action":"canary","version":"v2","share":0.5})",
                       "application/json"));
  CHECK(canary["canary_share"] == 0.5);
  CHECK(body_of(cli.Post("/admin/models", auth, R"({"action":"activate","version":"v2"})",
                         "application/json"))["active"] == "v2");
  CHECK(body_of(cli.Post("/admin/models", auth, R"({"action":"rollback"})",
                         "application/json"))["active"] == "gbdt-v1");
  CHECK(
      cli.Post("/admin/models", auth, R"({"action":"activate","version":"v9"})", "application/json")
          ->status == 404);
  CHECK(cli.Post("/admin/models", auth, R"({"action":"load","version":"x","file":"../etc"})",
                 "application/json")
            ->status == 400);
  CHECK(cli.Post("/admin/models", auth, R"({"action":"explode"})", "application/json")->status ==
        400);

  // Metrics: Prometheus text with the histograms, counters, model roles and bandit arms.
  const auto m = cli.Get("/metrics");
  REQUIRE(m->status == 200);
  for (const char* needle :
       {"funnel_service_request_duration_seconds_bucket{endpoint=\"/recommend\",le=\"+Inf\"}",
        "funnel_service_stage_duration_seconds_count{stage=\"rank\"}",
        "funnel_service_feedback_total{outcome=\"duplicate\"} 1",
        "funnel_service_http_replies_total{endpoint=\"/feedback\",code=\"413\"} 1",
        "funnel_service_model_info{role=\"canary\",version=\"v2\"} 1",
        "funnel_service_canary_share 0.5", "funnel_service_bandit_arm_pulls{arm=\"ranks +[0, 1)\"}",
        "process_resident_memory_bytes"}) {
    INFO(needle);
    CHECK(m->body.find(needle) != std::string::npos);
  }
}

TEST_CASE("service: learned state survives a restart through its snapshot", "[service]") {
  service::service_options cfg;
  cfg.state_dir = fresh_dir("restart");
  const auto system = small_system();
  std::uint64_t events = 0;
  {
    service::recommendation_service first(cfg);
    first.attach(system);
    first.set_ready();
    const auto r = first.handle({"GET", "/recommend", {{"user", "4"}, {"k", "20"}}, "", ""});
    const auto j = funnel::parse_json(r.body, "reply");
    const std::string fb = funnel::json{
        {"request_id", j["request_id"]},
        {"item", j["explored"]["item"]},
        {"reward", 1}}.dump();
    CHECK(first.handle({"POST", "/feedback", {}, fb, ""}).status == 200);
    CHECK(first.handle({"POST", "/feedback", {}, R"({"request_id":7,"item":8,"reward":0})", ""})
              .status == 200);
    events = first.feedback().events();
    REQUIRE(events == 2);
    first.snapshot();
    // Not snapshotted: lost by a crash now (what the load test counts across SIGKILL).
    CHECK(first.handle({"POST", "/feedback", {}, R"({"request_id":7,"item":9,"reward":0})", ""})
              .status == 200);
  }
  service::recommendation_service second(cfg);
  second.attach(system);
  REQUIRE(second.restore());
  CHECK(second.feedback().events() == events);
  CHECK(second.feedback().applied == 1);
  // The restored dedupe window still knows a pre-restart event.
  second.set_ready();
  const auto dup =
      second.handle({"POST", "/feedback", {}, R"({"request_id":7,"item":8,"reward":0})", ""});
  CHECK(dup.body.find("duplicate") != std::string::npos);

  // A corrupt snapshot is set aside and the service starts fresh.
  funnel::write_file_atomic(cfg.state_dir / "state.json", "{\"type\": 3");
  service::recommendation_service third(cfg);
  third.attach(system);
  CHECK_FALSE(third.restore());
  CHECK(third.feedback().events() == 0);
  CHECK(std::filesystem::exists(cfg.state_dir / "state.json.corrupt"));
}

TEST_CASE("service: without a configured token the admin endpoint is disabled", "[service]") {
  service::recommendation_service svc(service::service_options{});
  const auto r = svc.handle({"POST", "/admin/models", {}, R"({"action":"status"})", ""});
  CHECK(r.status == 404);
  CHECK(svc.handle({"GET", "/metrics", {}, "", ""}).status == 200);
  CHECK(svc.handle({"POST", "/feedback", {}, "{}", ""}).status == 503);
}

TEST_CASE("service: the drift monitor evaluates off the request path, in drift_tick", "[service]") {
  service::service_options cfg;
  cfg.drift_window = 100;  // 8 rows per request: a window closes every 13 requests
  service::recommendation_service svc(cfg);
  svc.attach(small_system());
  svc.set_ready();
  for (int u = 1; u <= 20; ++u)
    REQUIRE(svc.handle({"GET", "/recommend", {{"user", std::to_string(u)}}, "", ""}).status == 200);
  const auto before = svc.handle({"GET", "/metrics", {}, "", ""}).body;
  CHECK(before.find("funnel_drift_psi") == std::string::npos);  // requests never evaluate
  svc.drift_tick();
  const auto after = svc.handle({"GET", "/metrics", {}, "", ""}).body;
  CHECK(after.find("funnel_drift_psi{feature=\"score\",model=\"ranker\"}") != std::string::npos);
  CHECK(after.find("funnel_service_drift_rows_dropped 0") != std::string::npos);
}

#endif  // FUNNEL_EXAMPLES_HTTPLIB
