#pragma once
/// @file http_server.hpp
/// @brief The HTTP layer of the service on cpp-httplib (Debian's libcpp-httplib-dev): a fixed
/// pool of worker threads, read and write timeouts (a slow client holds a worker for at most the
/// timeout, then its connection is closed), a body size limit (413 above it, before the body is
/// read), and every route translated to recommendation_service::handle.

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "service.hpp"

namespace service {

/// @brief Transport limits.
struct server_options {
  std::size_t threads = 2;                        ///< worker threads
  std::chrono::milliseconds read_timeout{2000};   ///< per read of a request
  std::chrono::milliseconds write_timeout{2000};  ///< per write of a reply
  std::size_t max_body = 16 * 1024;               ///< larger bodies: 413
  /// Requests per connection before it is closed. httplib gives a worker to a connection until
  /// it closes, so with 2 workers a third client waits until one closes: a small count bounds
  /// that wait (with 100, admin requests waited ~5 s behind two busy load connections).
  std::size_t keep_alive_requests = 5;
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
  /// @brief Serves until stop() (blocks). Returns false if it could not serve.
  bool run();
  /// @brief Stops run() (any thread, also a signal-waiting one).
  void stop();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace service
