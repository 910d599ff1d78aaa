#include "http_server.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <arpa/inet.h>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <fcntl.h>
#include <functional>
#include <future>
#include <mutex>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <optional>
#include <poll.h>
#include <string_view>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>
#include <unordered_set>
#include <vector>

namespace service {

namespace {

using clock_type = std::chrono::steady_clock;

enum class io { data, timeout, closed };

/// Reads what is there into `buf`, waiting until `deadline` at most.
io read_some(int fd, std::string& buf, clock_type::time_point deadline) {
  for (;;) {
    const auto left =
        std::chrono::ceil<std::chrono::milliseconds>(deadline - clock_type::now()).count();
    if (left <= 0) return io::timeout;
    pollfd p{fd, POLLIN, 0};
    const int n = ::poll(&p, 1, static_cast<int>(std::min<long long>(left, 60'000)));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return io::closed;
    if (n == 0) continue;  // the loop re-checks the deadline
    char tmp[4096];
    const ssize_t got = ::recv(fd, tmp, sizeof tmp, 0);
    if (got > 0) {
      buf.append(tmp, static_cast<std::size_t>(got));
      return io::data;
    }
    if (got < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    return io::closed;
  }
}

/// Writes all of `data`, each wait for the socket at most `timeout`. False on failure.
bool write_all(int fd, std::string_view data, std::chrono::milliseconds timeout) {
  while (!data.empty()) {
    pollfd p{fd, POLLOUT, 0};
    const int n = ::poll(&p, 1, static_cast<int>(timeout.count()));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    const ssize_t sent = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (sent < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (sent <= 0) return false;
    data.remove_prefix(static_cast<std::size_t>(sent));
  }
  return true;
}

/// Closes our side for writing, then reads (and drops) what the client still sends for a short
/// while: closing with unread bytes would reset the connection and could lose the reply.
void linger(int fd) {
  ::shutdown(fd, SHUT_WR);
  const auto until = clock_type::now() + std::chrono::milliseconds(500);
  std::string sink;
  for (std::size_t total = 0; total < (1U << 20);) {
    sink.clear();
    if (read_some(fd, sink, until) != io::data) return;
    total += sink.size();
  }
}

const char* reason(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 408:
      return "Request Timeout";
    case 411:
      return "Length Required";
    case 413:
      return "Payload Too Large";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    default:
      return "Status";
  }
}

std::string render(const reply& r, bool keep_alive) {
  return fmt::format(
      "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: {}\r\n\r\n{}",
      r.status, reason(r.status), r.content_type, r.body.size(),
      keep_alive ? "keep-alive" : "close", r.body);
}

int hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/// Percent-decoding of a query component ('+' is a space); a malformed escape stays as it is.
std::string decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
      out += static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

/// A parsed request head.
struct head {
  request req;
  bool http10 = false;
  std::optional<std::string> connection;
  std::optional<std::size_t> content_length;
  bool chunked = false;
  bool expect_continue = false;
};

/// Parses the head (without the blank line). nullopt: malformed (400).
std::optional<head> parse_head(std::string_view text) {
  head h;
  auto eol = text.find("\r\n");
  const auto line = text.substr(0, eol);
  const auto sp1 = line.find(' ');
  const auto sp2 = line.rfind(' ');
  if (sp1 == std::string_view::npos || sp2 == sp1) return std::nullopt;
  h.req.method = std::string(line.substr(0, sp1));
  const auto target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  const auto version = line.substr(sp2 + 1);
  if (version == "HTTP/1.0") {
    h.http10 = true;
  } else if (version != "HTTP/1.1") {
    return std::nullopt;
  }
  if (target.empty() || target.front() != '/') return std::nullopt;
  const auto q = target.find('?');
  h.req.path = decode(target.substr(0, q));
  if (q != std::string_view::npos) {
    auto query = target.substr(q + 1);
    while (!query.empty()) {
      const auto amp = query.find('&');
      const auto pair = query.substr(0, amp);
      const auto eq = pair.find('=');
      if (!pair.empty()) {
        h.req.params.emplace(decode(pair.substr(0, eq)), eq == std::string_view::npos
                                                             ? std::string()
                                                             : decode(pair.substr(eq + 1)));
      }
      if (amp == std::string_view::npos) break;
      query.remove_prefix(amp + 1);
    }
  }
  while (eol != std::string_view::npos) {
    const auto start = eol + 2;
    eol = text.find("\r\n", start);
    const auto field = text.substr(start, eol == std::string_view::npos ? eol : eol - start);
    if (field.empty()) continue;
    const auto colon = field.find(':');
    if (colon == std::string_view::npos || colon == 0) return std::nullopt;
    const auto name = field.substr(0, colon);
    const auto value = trim(field.substr(colon + 1));
    if (iequals(name, "Content-Length")) {
      std::size_t n = 0;
      if (value.empty() || value.size() > 18) return std::nullopt;
      for (const char c : value) {
        if (c < '0' || c > '9') return std::nullopt;
        n = n * 10 + static_cast<std::size_t>(c - '0');
      }
      if (h.content_length && *h.content_length != n) return std::nullopt;
      h.content_length = n;
    } else if (iequals(name, "Transfer-Encoding")) {
      h.chunked = true;
    } else if (iequals(name, "Connection")) {
      h.connection = std::string(value);
    } else if (iequals(name, "Expect")) {
      h.expect_continue = iequals(value, "100-continue");
    } else if (iequals(name, "Authorization")) {
      constexpr std::string_view bearer = "Bearer ";
      if (value.size() > bearer.size() && value.substr(0, bearer.size()) == bearer)
        h.req.token = std::string(value.substr(bearer.size()));
    }
  }
  return h;
}

}  // namespace

struct http_server::impl {
  impl(recommendation_service& s, server_options o) : svc(s), opt(std::move(o)) {
    if (::pipe2(wake, O_CLOEXEC) != 0) wake[0] = wake[1] = -1;
  }
  ~impl() {
    if (listen_fd >= 0) ::close(listen_fd);
    for (const int fd : wake)
      if (fd >= 0) ::close(fd);
  }

  recommendation_service& svc;
  server_options opt;
  int listen_fd = -1;
  int wake[2] = {-1, -1};
  std::atomic<bool> stopping{false};

  std::mutex mu;  // pending and active connections
  std::condition_variable cv;
  std::deque<int> pending;
  std::unordered_set<int> active;

  std::mutex compute_mu;
  std::condition_variable compute_cv;
  std::deque<std::function<void()>> jobs;
  bool compute_stop = false;

  void io_loop();
  void compute_loop();
  void serve(int fd);
  reply dispatch(const request& req);
  /// An error reply the layer makes itself (counted like the routes' replies), then the close.
  void refuse(int fd, int status, const std::string& path, const std::string& message,
              bool wait = true) {
    svc.count_reply(path, status);
    reply r{status, "application/json", fmt::format("{{\"error\":\"{}\"}}\n", message)};
    if (write_all(fd, render(r, false), opt.write_timeout) && wait) linger(fd);
  }
};

void http_server::impl::compute_loop() {
  for (;;) {
    std::function<void()> job;
    {
      std::unique_lock lock(compute_mu);
      compute_cv.wait(lock, [&] { return compute_stop || !jobs.empty(); });
      if (jobs.empty()) return;
      job = std::move(jobs.front());
      jobs.pop_front();
    }
    job();
  }
}

reply http_server::impl::dispatch(const request& req) {
  // Only the pipeline and the learned state need a compute worker; health, metrics and admin
  // requests are answered on the connection's own thread, so they never wait behind the load.
  if (req.path != "/recommend" && req.path != "/feedback") return svc.handle(req);
  auto task = std::make_shared<std::packaged_task<reply()>>([&] { return svc.handle(req); });
  auto result = task->get_future();
  {
    const std::lock_guard lock(compute_mu);
    jobs.emplace_back([task] { (*task)(); });
  }
  compute_cv.notify_one();
  return result.get();
}

void http_server::impl::serve(int fd) {
  std::string buf;
  for (std::size_t served = 0; served < opt.keep_alive_requests && !stopping.load(); ++served) {
    const auto ready = clock_type::now();
    const auto deadline = ready + opt.request_timeout;
    const auto idle_deadline = std::min(deadline, ready + opt.idle_timeout);
    std::size_t head_end = std::string::npos;
    for (;;) {
      while (buf.starts_with("\r\n")) buf.erase(0, 2);  // blank lines between requests
      head_end = buf.find("\r\n\r\n");
      if (head_end != std::string::npos) break;
      if (buf.size() > opt.max_head) return refuse(fd, 431, "-", "request head over the limit");
      const auto got = read_some(fd, buf, buf.empty() ? idle_deadline : deadline);
      if (got == io::closed) return;
      if (got == io::timeout) {
        if (buf.empty()) return;  // an idle keep-alive connection: closed quietly
        return refuse(fd, 408, "-", "request not received in time");
      }
    }
    if (head_end > opt.max_head) return refuse(fd, 431, "-", "request head over the limit");
    auto h = parse_head(std::string_view(buf).substr(0, head_end));
    if (!h) return refuse(fd, 400, "-", "malformed request");
    const std::string& path = h->req.path;
    if (h->chunked) return refuse(fd, 411, path, "chunked bodies are not accepted");
    const std::size_t length = h->content_length.value_or(0);
    if (length > opt.max_body)
      return refuse(fd, 413, path, fmt::format("body over {} bytes", opt.max_body));
    const std::size_t total = head_end + 4 + length;
    if (h->expect_continue && buf.size() < total &&
        !write_all(fd, "HTTP/1.1 100 Continue\r\n\r\n", opt.write_timeout)) {
      return;
    }
    while (buf.size() < total) {
      const auto got = read_some(fd, buf, deadline);
      if (got == io::closed) return;
      if (got == io::timeout) return refuse(fd, 408, path, "request body not received in time");
    }
    h->req.body = buf.substr(head_end + 4, length);
    buf.erase(0, total);
    const auto r = dispatch(h->req);
    const bool keep = served + 1 < opt.keep_alive_requests && !stopping.load() &&
                      (h->connection ? !iequals(*h->connection, "close") &&
                                           (!h->http10 || iequals(*h->connection, "keep-alive"))
                                     : !h->http10);
    if (!write_all(fd, render(r, keep), opt.write_timeout) || !keep) return;
  }
}

void http_server::impl::io_loop() {
  for (;;) {
    int fd = -1;
    {
      std::unique_lock lock(mu);
      cv.wait(lock, [&] { return stopping.load() || !pending.empty(); });
      if (stopping.load()) return;
      fd = pending.front();
      pending.pop_front();
      active.insert(fd);
    }
    serve(fd);
    {
      // Closed only once out of `active`, under the lock: stop() shuts down active sockets and
      // must never reach a number the system has given to a new connection.
      const std::lock_guard lock(mu);
      active.erase(fd);
      ::close(fd);
    }
  }
}

http_server::http_server(recommendation_service& svc, server_options options)
    : impl_(std::make_unique<impl>(svc, std::move(options))) {}

http_server::~http_server() {
  stop();
}

int http_server::bind(const std::string& host, int port) {
  if (impl_->listen_fd >= 0 || port < 0 || port > 65535) return -1;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* found = nullptr;
  if (::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found) != 0) return -1;
  int fd = -1;
  for (auto* a = found; a != nullptr && fd < 0; a = a->ai_next) {
    fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    const int yes = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    if (::bind(fd, a->ai_addr, a->ai_addrlen) != 0 || ::listen(fd, 1024) != 0) {
      ::close(fd);
      fd = -1;
    }
  }
  ::freeaddrinfo(found);
  if (fd < 0) return -1;
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  impl_->listen_fd = fd;
  std::uint16_t p = 0;
  if (addr.ss_family == AF_INET6) {
    sockaddr_in6 a6{};
    std::memcpy(&a6, &addr, sizeof a6);
    p = a6.sin6_port;
  } else {
    sockaddr_in a4{};
    std::memcpy(&a4, &addr, sizeof a4);
    p = a4.sin_port;
  }
  return ntohs(p);
}

bool http_server::run() {
  auto& m = *impl_;
  if (m.listen_fd < 0 || m.wake[0] < 0) return false;
  std::vector<std::thread> compute, io;
  for (std::size_t i = 0; i < std::max<std::size_t>(m.opt.threads, 1); ++i)
    compute.emplace_back([&m] { m.compute_loop(); });
  for (std::size_t i = 0; i < std::max<std::size_t>(m.opt.io_threads, 1); ++i)
    io.emplace_back([&m] { m.io_loop(); });
  while (!m.stopping.load()) {
    pollfd p[2] = {{m.listen_fd, POLLIN, 0}, {m.wake[0], POLLIN, 0}};
    if (::poll(p, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (p[1].revents != 0) break;
    const int fd = ::accept4(m.listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EMFILE || errno == ENFILE)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      continue;
    }
    // Without TCP_NODELAY a reply can wait for the client's delayed ACK (~40 ms).
    const int yes = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof yes);
    std::unique_lock lock(m.mu);
    if (m.pending.size() >= m.opt.max_pending) {
      lock.unlock();
      m.refuse(fd, 503, "-", "too many connections", /*wait=*/false);
      ::close(fd);
      continue;
    }
    m.pending.push_back(fd);
    lock.unlock();
    m.cv.notify_one();
  }
  m.stopping.store(true);
  {
    const std::lock_guard lock(m.mu);
    for (const int fd : m.pending) ::close(fd);
    m.pending.clear();
    for (const int fd : m.active) ::shutdown(fd, SHUT_RDWR);
  }
  m.cv.notify_all();
  for (auto& t : io) t.join();
  {
    const std::lock_guard lock(m.compute_mu);
    m.compute_stop = true;
  }
  m.compute_cv.notify_all();
  for (auto& t : compute) t.join();
  return true;
}

void http_server::stop() {
  auto& m = *impl_;
  if (m.stopping.exchange(true)) return;
  if (m.wake[1] >= 0) {
    const char c = 'x';
    [[maybe_unused]] const auto n = ::write(m.wake[1], &c, 1);
  }
  m.cv.notify_all();
}

}  // namespace service
