#pragma once
/// @file http_server.hpp
/// @brief The HTTP/1.1 layer of the service, on POSIX sockets: connection handling is separated
/// from compute. Many cheap I/O threads read requests (one connection each, reading with poll()
/// against a per-request deadline); only a complete request reaches one of the few compute
/// workers that run the pipeline. A client that sends its request too slowly gets 408 and its
/// connection is closed when the deadline passes, and it never occupies a compute worker; a body
/// over the limit gets 413 before it is read. Every route is translated to
/// recommendation_service::handle.
///
/// cpp-httplib served this before; its blocking reads time out per operation only (a client
/// sending a byte every 1.9 s kept a worker for as long as it liked) and it has no hook to bound a
/// request, so the service now reads its requests itself. The smoke test still speaks to it with
/// httplib's client. Not supported (refused with a 4xx or 5xx, never a hang): chunked request
/// bodies (411), Expect: 100-continue (417), request heads over 8 KiB (431).

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "service.hpp"

namespace service {

/// @brief Transport limits.
struct server_options {
  std::size_t threads = 2;      ///< compute workers: /recommend and /feedback run on these
  std::size_t io_threads = 64;  ///< connections read and written at once (more wait to be read)
  /// A request (head and body) must arrive within this, counted from when its connection was
  /// ready for it; later: 408 and the connection is closed.
  std::chrono::milliseconds request_timeout{5000};
  /// An idle keep-alive connection (no byte of a next request) is closed after this.
  std::chrono::milliseconds idle_timeout{2000};
  std::chrono::milliseconds write_timeout{2000};  ///< per write of a reply
  std::size_t max_body = 16 * 1024;               ///< larger bodies: 413
  std::size_t max_head = 8 * 1024;                ///< larger request heads: 431
  std::size_t keep_alive_requests = 100;          ///< requests per connection, then it is closed
  std::size_t max_pending = 1024;  ///< accepted connections waiting for an I/O thread; more: 503
};

/// @brief An HTTP server in front of a recommendation_service.
class http_server {
 public:
  http_server(recommendation_service& svc, server_options options);
  ~http_server();
  http_server(const http_server&) = delete;
  http_server& operator=(const http_server&) = delete;

  /// @brief Binds `host`:`port`; port 0 picks a free port. Returns the port, or -1 on failure.
  int bind(const std::string& host, int port);
  /// @brief Serves until stop() (blocks). Returns false if it could not serve (not bound).
  bool run();
  /// @brief Stops run() (any thread, also before run() started). Open connections are closed.
  void stop();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace service
