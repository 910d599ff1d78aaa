#include "http_server.hpp"

#include <httplib.h>

namespace service {

struct http_server::impl {
  httplib::Server server;
};

namespace {

request to_request(const httplib::Request& in) {
  request r;
  r.method = in.method;
  r.path = in.path;
  for (const auto& [k, v] : in.params) r.params.emplace(k, v);  // the first of repeated keys
  r.body = in.body;
  const auto auth = in.get_header_value("Authorization");
  constexpr std::string_view bearer = "Bearer ";
  if (auth.size() > bearer.size() && auth.compare(0, bearer.size(), bearer) == 0)
    r.token = auth.substr(bearer.size());
  return r;
}

}  // namespace

http_server::http_server(recommendation_service& svc, server_options options)
    : impl_(std::make_unique<impl>()) {
  auto& s = impl_->server;
  const std::size_t threads = options.threads;
  s.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  // Without TCP_NODELAY a reply written as headers then body waits for the client's delayed ACK
  // (Nagle): ~40 ms added to every keep-alive request.
  s.set_tcp_nodelay(true);
  s.set_read_timeout(options.read_timeout);
  s.set_write_timeout(options.write_timeout);
  s.set_keep_alive_timeout(2);
  s.set_keep_alive_max_count(options.keep_alive_requests);
  s.set_payload_max_length(options.max_body);
  const auto route = [&svc](const httplib::Request& in, httplib::Response& out) {
    const auto r = svc.handle(to_request(in));
    out.status = r.status;
    out.set_content(r.body, r.content_type.c_str());
  };
  for (const char* path : {"/recommend", "/metrics", "/healthz", "/readyz"}) s.Get(path, route);
  for (const char* path : {"/feedback", "/admin/models"}) s.Post(path, route);
  // Replies httplib makes itself (413 over the body limit, 404 of an unknown path, 400 of a
  // request it cannot parse) are counted too; the routes count their own in handle().
  s.set_logger([&svc](const httplib::Request& in, const httplib::Response& out) {
    if (out.status == 413 || out.status == 400 || out.status == 404 || out.status == 405) {
      if (out.body.empty() || out.body.front() != '{') svc.count_reply(in.path, out.status);
    }
  });
  s.set_exception_handler([](const httplib::Request&, httplib::Response& out, std::exception_ptr) {
    out.status = 500;
    out.set_content("{\"error\":\"internal error\"}\n", "application/json");
  });
}

http_server::~http_server() {
  stop();
}

int http_server::bind(const std::string& host, int port) {
  if (port == 0) return impl_->server.bind_to_any_port(host);
  return impl_->server.bind_to_port(host, port) ? port : -1;
}

bool http_server::run() {
  return impl_->server.listen_after_bind();
}

void http_server::stop() {
  impl_->server.stop();
}

}  // namespace service
