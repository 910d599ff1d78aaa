// Smoke test of the reference service (examples/recommendation_service): trains the flagship's
// pipeline on a small synthetic log, serves it over HTTP on an ephemeral loopback port, sends one
// request of each kind (and malformed ones), checks the replies, snapshots and restores the
// learned state, and stops the server.
#ifdef FUNNEL_EXAMPLES_HTTPLIB

#include <funnel/core/file.hpp>
#include <funnel/core/json.hpp>

#include <arpa/inet.h>
#include <filesystem>
#include <memory>
#include <netinet/in.h>
#include <poll.h>
#include <string>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include "funnel_catch.hpp"
#include "http_server.hpp"
#include "service.hpp"

// After funnel's headers: httplib.h pulls in <resolv.h>, whose `_res` macro breaks Eigen.
#include <httplib.h>

namespace {

const movie::dataset& small_data() {
  static const auto data = movie::synthetic_dataset(/*users=*/200, /*items=*/400, /*genres=*/8,
                                                    /*per_user=*/20, /*seed=*/5);
  return data;
}

movie::serving_options small_options() {
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
  return c;
}

std::shared_ptr<movie::serving_system> small_system() {
  return std::make_shared<movie::serving_system>(small_data(), small_options());
}

std::filesystem::path fresh_dir(const std::string& name) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("funnel-service-" + name + "-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  return dir;
}

/// A service with a running HTTP server on 127.0.0.1:<ephemeral>; stopped on destruction.
struct running_service {
  explicit running_service(service::service_options cfg, service::server_options server = {})
      : svc(std::move(cfg)), http(svc, std::move(server)) {
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

/// A raw loopback connection that sends its request slowly.
struct slow_client {
  explicit slow_client(int port) : fd(::socket(AF_INET, SOCK_STREAM, 0)) {
    REQUIRE(fd >= 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) == 0);
  }
  ~slow_client() { ::close(fd); }
  slow_client(const slow_client&) = delete;
  slow_client& operator=(const slow_client&) = delete;
  /// Sends `s`; false once the server has closed the connection.
  bool send(const std::string& s) const {
    return ::send(fd, s.data(), s.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(s.size());
  }
  /// What the server sent so far (without waiting).
  std::string received() {
    char buf[1024];
    pollfd p{fd, POLLIN, 0};
    while (::poll(&p, 1, 0) > 0) {
      const auto n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) break;
      got.append(buf, static_cast<std::size_t>(n));
    }
    return got;
  }
  int fd;
  std::string got;
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
  for (int i = 0; i < 20; ++i)  // invented paths share one label: the metrics stay bounded
    CHECK(cli.Get("/probe-" + std::to_string(i))->status == 404);

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
        "funnel_service_http_replies_total{endpoint=\"other\",code=\"404\"} 21",
        "funnel_service_model_info{role=\"canary\",version=\"v2\"} 1",
        "funnel_service_canary_share 0.5", "funnel_service_bandit_arm_pulls{arm=\"ranks +[0, 1)\"}",
        "process_resident_memory_bytes"}) {
    INFO(needle);
    CHECK(m->body.find(needle) != std::string::npos);
  }
  CHECK(m->body.find("probe-") == std::string::npos);
  CHECK(m->body.find("/nowhere") == std::string::npos);
}

TEST_CASE("service: slow clients get 408 and never hold the compute workers", "[service]") {
  service::service_options cfg;
  service::server_options server;
  server.threads = 2;
  server.io_threads = 8;
  server.request_timeout = std::chrono::milliseconds(1500);
  running_service s(cfg, server);
  s.svc.attach(small_system());
  s.svc.set_ready();
  // Three clients (more than the two compute workers) trickle their requests a byte at a time,
  // each byte well within any per-read timeout: two heads, one body that never completes.
  std::vector<std::unique_ptr<slow_client>> slow;
  for (int i = 0; i < 3; ++i) slow.push_back(std::make_unique<slow_client>(s.port));
  REQUIRE(slow[0]->send("GET /recommend?user=1&k=5 HTTP/1.1\r\nHost: x\r\nX-Slow: "));
  REQUIRE(slow[1]->send("GET /recommend?user=2&k=5 HTTP/1.1\r\nHost: x\r\nX-Slow: "));
  REQUIRE(slow[2]->send("POST /feedback HTTP/1.1\r\nHost: x\r\nContent-Length: 60\r\n\r\n{"));
  const auto start = std::chrono::steady_clock::now();
  auto cli = s.client();
  int served = 0;
  while (std::chrono::steady_clock::now() - start < std::chrono::milliseconds(1200)) {
    for (auto& c : slow) c->send("a");
    // Meanwhile normal requests are answered at once.
    const auto t0 = std::chrono::steady_clock::now();
    const auto r = cli.Get("/recommend?user=3&k=10");
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::milliseconds(1000));
    ++served;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  CHECK(served >= 3);
  // Past the deadline each slow client has a 408 and a closed connection.
  for (auto& c : slow) {
    std::string got;
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (got.empty() && std::chrono::steady_clock::now() < until) {
      c->send("a");
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      got = c->received();
    }
    INFO(got);
    CHECK(got.starts_with("HTTP/1.1 408 "));
    CHECK(got.find("\"error\"") != std::string::npos);
  }
  const auto elapsed = std::chrono::steady_clock::now() - start;
  CHECK(elapsed >= std::chrono::milliseconds(1400));
  CHECK(elapsed < std::chrono::milliseconds(5000));
  const auto m = cli.Get("/metrics");
  REQUIRE(m);
  CHECK(m->body.find("funnel_service_http_replies_total{endpoint=\"-\",code=\"408\"} 2") !=
        std::string::npos);
  CHECK(m->body.find("funnel_service_http_replies_total{endpoint=\"/feedback\",code=\"408\"} 1") !=
        std::string::npos);
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

TEST_CASE("service: trained models are saved, loaded on restart, retrained when damaged",
          "[service]") {
  const auto root = fresh_dir("trained");
  const auto& data = small_data();
  const auto opts = small_options();
  const auto dir = root / movie::serving_system::fingerprint(data, opts);
  movie::start_report rep;
  const auto trained = movie::start_system(data, opts, root, &rep);
  CHECK_FALSE(rep.loaded);
  CHECK(rep.note.empty());
  REQUIRE(std::filesystem::exists(dir / "manifest.json"));
  // Another log or other options: another directory.
  auto other = opts;
  other.model.gbdt_rounds += 1;
  CHECK(movie::serving_system::fingerprint(data, other) != dir.filename().string());

  const auto slate_of = [](const movie::serving_system& s) {
    std::vector<std::uint64_t> ids;
    for (const auto& c : s.recommend(/*request_id=*/11, /*user=*/3, 20).result.slate)
      ids.push_back(c.id);
    return ids;
  };
  const auto loaded = movie::start_system(data, opts, root, &rep);
  CHECK(rep.loaded);
  CHECK(rep.note.empty());
  CHECK(slate_of(*loaded) == slate_of(*trained));  // the same models, the same slate
  CHECK(loaded->feature_names() == trained->feature_names());
  CHECK(loaded->reference_rows(50).rows() == trained->reference_rows(50).rows());

  // A damaged file (one byte changed, or cut short) is caught: retrained, saved again.
  for (const char* name : {"hnsw.bin", "ranker.json", "manifest.json"}) {
    INFO(name);
    auto bytes = funnel::read_file(dir / name);
    if (std::string(name) == "hnsw.bin")
      bytes[bytes.size() / 2] = static_cast<char>(bytes[bytes.size() / 2] ^ 0x5a);
    else
      bytes.resize(bytes.size() / 2);
    funnel::write_file_atomic(dir / name, bytes);
    const auto again = movie::start_system(data, opts, root, &rep);
    CHECK_FALSE(rep.loaded);
    CHECK(rep.note.find("not used") != std::string::npos);
    CHECK(again->feature_names() == trained->feature_names());
    const auto reloaded = movie::start_system(data, opts, root, &rep);
    CHECK(reloaded);
    CHECK(rep.loaded);  // the save was replaced
  }
  std::filesystem::remove_all(root);
}

TEST_CASE("service: model versions, active, canary and shadow survive a restart", "[service]") {
  service::service_options cfg;
  cfg.state_dir = fresh_dir("versions");
  cfg.admin_token = "t";
  const auto admin = [](service::recommendation_service& svc, const std::string& body) {
    const auto r = svc.handle({"POST", "/admin/models", {}, body, "t"});
    INFO(r.body);
    CHECK(r.status == 200);
    return funnel::parse_json(r.body, "reply");
  };
  {
    service::recommendation_service first(cfg);
    first.attach(small_system());
    first.set_ready();
    std::filesystem::copy_file(cfg.state_dir / "models" / "ranker-trained.json",
                               cfg.state_dir / "models" / "gone.json");
    admin(first, R"({"action":"load","version":"v2","file":"ranker-trained.json"})");
    admin(first, R"({"action":"load","version":"v3","file":"ranker-trained.json"})");
    admin(first, R"({"action":"load","version":"v4","file":"gone.json"})");
    admin(first, R"({"action":"activate","version":"v2"})");
    admin(first, R"({"action":"canary","version":"v3","share":0.25})");
    admin(first, R"({"action":"shadow","version":"v4"})");
    first.snapshot();
  }
  std::filesystem::remove(cfg.state_dir / "models" / "gone.json");
  service::recommendation_service second(cfg);
  second.attach(small_system());
  REQUIRE(second.restore());
  second.set_ready();
  const auto status = admin(second, R"({"action":"status"})");
  CHECK(status["active"] == "v2");
  CHECK(status["versions"] == funnel::json{"gbdt-v1", "v2", "v3"});  // v4's file is gone
  CHECK(status["canary"] == "v3");
  CHECK(status["canary_share"] == 0.25);
  CHECK(status["shadow"] == "");
  const auto m = second.handle({"GET", "/metrics", {}, "", ""}).body;
  CHECK(m.find("funnel_service_restore_skipped_total 1") != std::string::npos);
  CHECK(m.find("funnel_service_model_info{role=\"canary\",version=\"v3\"} 1") != std::string::npos);
  const auto r = second.handle({"GET", "/recommend", {{"user", "5"}, {"k", "10"}}, "", ""});
  CHECK(r.status == 200);
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
