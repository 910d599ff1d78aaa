// The reference service: the flagship's pipeline behind HTTP (see docs/service.md).
//   example_recommendation_service --data build/movielens.csv [--port 8080] [--host 127.0.0.1]
//       [--threads 2] [--io-threads 64] [--request-timeout-ms 5000] [--state-dir DIR]
//       [--admin-token T | env FUNNEL_ADMIN_TOKEN] [--snapshot-ms 5000] [--synthetic USERS]
// It listens at once (/healthz 200, /readyz 503), loads the models it saved for the same log and
// options (or trains and saves them), restores the last snapshot of learned state and model
// versions, then is ready. SIGTERM / SIGINT: stop, write a last snapshot, exit 0.
#include <funnel/core/error.hpp>

#include <fmt/format.h>

#include <atomic>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <map>
#include <pthread.h>
#include <sched.h>
#include <string>
#include <thread>

#include "http_server.hpp"
#include "service.hpp"

namespace {

struct args {
  std::string data;
  std::size_t synthetic_users = 0;
  std::string host = "127.0.0.1";
  int port = 8080;
  service::service_options svc;
  service::server_options server;
  long snapshot_ms = 5000;
};

args parse(int argc, char** argv) {
  args a;
  if (const char* t = std::getenv("FUNNEL_ADMIN_TOKEN")) a.svc.admin_token = t;
  a.svc.state_dir = "service-state";
  std::map<std::string, std::string> kv;
  for (int i = 1; i + 1 < argc; i += 2) kv[argv[i]] = argv[i + 1];
  if (argc % 2 == 0) throw std::invalid_argument("options come in pairs: --name value");
  for (const auto& [k, v] : kv) {
    if (k == "--data")
      a.data = v;
    else if (k == "--synthetic")
      a.synthetic_users = std::stoul(v);
    else if (k == "--host")
      a.host = v;
    else if (k == "--port")
      a.port = std::stoi(v);
    else if (k == "--threads")
      a.server.threads = std::stoul(v);
    else if (k == "--io-threads")
      a.server.io_threads = std::stoul(v);
    else if (k == "--request-timeout-ms")
      a.server.request_timeout = std::chrono::milliseconds(std::stol(v));
    else if (k == "--state-dir")
      a.svc.state_dir = v;
    else if (k == "--admin-token")
      a.svc.admin_token = v;
    else if (k == "--snapshot-ms")
      a.snapshot_ms = std::stol(v);
    else
      throw std::invalid_argument("unknown option " + k);
  }
  if (a.server.threads == 0 || a.server.threads > 64)
    throw std::invalid_argument("--threads must be in [1, 64]");
  if (a.server.io_threads == 0 || a.server.io_threads > 4096)
    throw std::invalid_argument("--io-threads must be in [1, 4096]");
  if (a.server.request_timeout < std::chrono::milliseconds(100))
    throw std::invalid_argument("--request-timeout-ms must be >= 100");
  if (a.snapshot_ms < 100) throw std::invalid_argument("--snapshot-ms must be >= 100");
  if (a.data.empty() && a.synthetic_users == 0)
    throw std::invalid_argument("give --data movielens.csv or --synthetic USERS");
  a.server.max_body = a.svc.max_body;
  return a;
}

/// Service-sized training (a restart must not take minutes): fewer ALS iterations and boosting
/// rounds than the evaluation, the ranker's rows from at most 150 users.
movie::serving_options training() {
  movie::serving_options c;
  c.model.als_factors = 32;
  c.model.als_iterations = 8;
  c.model.gbdt_rounds = 60;
  c.model.max_ranker_users = 150;
  c.model.progress = [](std::string_view line) {
    fmt::print("{}\n", line);
    std::fflush(stdout);
  };
  c.pipeline.retrieval_budget = std::chrono::milliseconds(25);
  c.pipeline.ranking_budget = std::chrono::milliseconds(25);
  c.pipeline.rerank_budget = std::chrono::milliseconds(10);
  return c;
}

int serve(const args& a) {
  service::recommendation_service svc(a.svc);
  service::http_server http(svc, a.server);
  // A restart right after a crash may find the port still held for a moment by the dying
  // process: retried for up to 10 s.
  int port = http.bind(a.host, a.port);
  for (int attempt = 0; port < 0 && attempt < 100; ++attempt) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    port = http.bind(a.host, a.port);
  }
  if (port < 0) {
    fmt::print(stderr, "cannot bind {}:{}\n", a.host, a.port);
    return 1;
  }
  fmt::print(
      "listening on {}:{} ({} compute workers, {} I/O threads, request timeout {} ms); "
      "training\n",
      a.host, port, a.server.threads, a.server.io_threads, a.server.request_timeout.count());
  std::fflush(stdout);
  std::thread listener([&] { http.run(); });

  const auto data = a.data.empty() ? movie::synthetic_dataset(a.synthetic_users, 2000, 12, 40, 7)
                                   : movie::load_movielens(a.data);
  std::unordered_map<std::uint64_t, std::string> titles;
  for (const auto& [id, m] : data.movies) titles.emplace(id, m.title);
  // Trained models are saved under <state-dir>/trained/<fingerprint of the log and options>/: a
  // restart on the same data loads them in seconds instead of training again.
  movie::start_report started;
  auto system = movie::start_system(
      data, training(), a.svc.state_dir.empty() ? a.svc.state_dir : a.svc.state_dir / "trained",
      &started);
  if (!started.note.empty()) fmt::print("{}\n", started.note);
  fmt::print("models {} in {:.1f} s\n", started.loaded ? "loaded from the last save" : "trained",
             started.seconds);
  svc.attach(std::move(system), std::move(titles));
  const bool restored = svc.restore();
  const auto fb = svc.feedback();
  fmt::print("{}; feedback events so far {}\nready\n",
             restored ? "state restored" : "state file corrupt: starting fresh", fb.events());
  std::fflush(stdout);
  svc.set_ready();

  // Background work until a signal; the signal thread is the only one that receives SIGINT/SIGTERM.
  std::mutex mu;
  std::condition_variable cv;
  bool stopping = false;
  std::thread signals([&] {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    int sig = 0;
    sigwait(&set, &sig);
    const std::lock_guard lock(mu);
    stopping = true;
    cv.notify_all();
  });
  // Every second the drift monitor takes the rows requests logged (its window evaluations run
  // here, never on a request's thread); every snapshot_ms the learned state is written. Started
  // at real-time priority (chrt, as the load test does), this thread would take a core from the
  // compute workers for a window evaluation (~0.1 s): it drops to ordinary scheduling (the
  // server's threads, created before, keep theirs).
  int policy = 0;
  sched_param param{};
  if (pthread_getschedparam(pthread_self(), &policy, &param) == 0 &&
      (policy == SCHED_FIFO || policy == SCHED_RR)) {
    param.sched_priority = 0;
    pthread_setschedparam(pthread_self(), SCHED_OTHER, &param);
  }
  std::unique_lock lock(mu);
  auto next_snapshot = std::chrono::steady_clock::now() + std::chrono::milliseconds(a.snapshot_ms);
  while (!cv.wait_for(lock, std::chrono::seconds(1), [&] { return stopping; })) {
    try {
      svc.drift_tick();
      if (std::chrono::steady_clock::now() >= next_snapshot) {
        svc.snapshot();
        next_snapshot = std::chrono::steady_clock::now() + std::chrono::milliseconds(a.snapshot_ms);
      }
    } catch (const std::exception& e) {
      fmt::print(stderr, "background work failed: {}\n", e.what());
    }
  }
  lock.unlock();
  http.stop();
  listener.join();
  signals.join();
  svc.snapshot();
  fmt::print("stopped; last snapshot written ({} feedback events)\n", svc.feedback().events());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // Block the stop signals before any thread starts, so every thread inherits the mask and only
  // sigwait() sees them.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
  try {
    return serve(parse(argc, argv));
  } catch (const std::exception& e) {
    fmt::print(stderr, "error: {}\n", e.what());
    return 1;
  }
}
