#include "common/http_server.h"

#include <cctype>
#include <list>
#include <map>
#include <mutex>
#include <optional>
#include <poll.h>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <fmt/format.h>

namespace pgstack {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

std::string percent_decode(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() && std::isxdigit(static_cast<unsigned char>(text[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(text[i + 2]))) {
      out += static_cast<char>(std::stoi(std::string(text.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else if (text[i] == '+') {
      out += ' ';
    } else {
      out += text[i];
    }
  }
  return out;
}

HttpRequest to_request(const http::request<http::string_body>& raw) {
  HttpRequest request;
  request.method = std::string(raw.method_string());
  const std::string_view target(raw.target().data(), raw.target().size());
  const auto question = target.find('?');
  request.path = percent_decode(target.substr(0, question));
  request.target = std::string(target);
  if (question != std::string_view::npos) {
    std::string_view rest = target.substr(question + 1);
    while (!rest.empty()) {
      const auto amp = rest.find('&');
      const std::string_view pair = rest.substr(0, amp);
      const auto equals = pair.find('=');
      request.query[percent_decode(pair.substr(0, equals))] =
          equals == std::string_view::npos ? "" : percent_decode(pair.substr(equals + 1));
      if (amp == std::string_view::npos) break;
      rest = rest.substr(amp + 1);
    }
  }
  for (const auto& field : raw) {
    std::string name(field.name_string());
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    request.headers[name] = std::string(field.value());
  }
  request.body = raw.body();
  return request;
}

using Clock = std::chrono::steady_clock;
using RequestParser = http::request_parser<http::string_body>;

// Waits until `socket` is ready for `events`; false once `deadline` passes.
bool wait_ready(tcp::socket& socket, short events, Clock::time_point deadline) {
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return false;
    pollfd ready{socket.native_handle(), events, 0};
    const int count = ::poll(&ready, 1, static_cast<int>(std::min<long long>(left, 60'000)));
    if (count > 0 || (count < 0 && errno != EINTR)) return true;  // the next read or write says what
  }
}

// The socket is non-blocking: every wait is a poll() bounded by `deadline`, so a client that sends (or
// reads) a byte now and then cannot hold its thread past the deadline.
beast::error_code read_before(tcp::socket& socket, beast::flat_buffer& buffer, RequestParser& parser, bool whole,
                              Clock::time_point deadline) {
  beast::error_code error;
  while (!(whole ? parser.is_done() : parser.is_header_done())) {
    http::read_some(socket, buffer, parser, error);
    if (error != asio::error::would_block) {
      if (error) return error;
      continue;
    }
    error = {};
    if (!wait_ready(socket, POLLIN, deadline)) return asio::error::timed_out;
  }
  return error;
}

beast::error_code write_before(tcp::socket& socket, http::response<http::string_body>& reply,
                               Clock::time_point deadline) {
  http::serializer<false, http::string_body> serializer(reply);
  beast::error_code error;
  while (!serializer.is_done()) {
    http::write_some(socket, serializer, error);
    if (error != asio::error::would_block) {
      if (error) return error;
      continue;
    }
    error = {};
    if (!wait_ready(socket, POLLOUT, deadline)) return asio::error::timed_out;
  }
  return error;
}

// "100 Continue" to a client that asked with Expect (curl does for large bodies, then waits a second).
beast::error_code write_continue(tcp::socket& socket, Clock::time_point deadline) {
  constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
  std::size_t written = 0;
  beast::error_code error;
  while (written < kContinue.size()) {
    written += socket.write_some(asio::buffer(kContinue.substr(written)), error);
    if (error != asio::error::would_block) {
      if (error) return error;
      continue;
    }
    error = {};
    if (!wait_ready(socket, POLLOUT, deadline)) return asio::error::timed_out;
  }
  return error;
}

// A problem the server answers itself (RFC 7807, as the API's), then it closes the connection.
void refuse(tcp::socket& socket, http::status status, std::string_view title, std::string_view detail,
            Clock::time_point deadline, std::string_view retry_after = {}) {
  http::response<http::string_body> reply{status, 11};
  reply.set(http::field::server, "pgstack");
  reply.set(http::field::content_type, "application/problem+json");
  if (!retry_after.empty())
    reply.set(http::field::retry_after, beast::string_view(retry_after.data(), retry_after.size()));
  reply.keep_alive(false);
  reply.body() = fmt::format(R"({{"type":"about:blank","title":"{}","status":{},"detail":"{}"}})", title,
                             static_cast<int>(status), detail);
  reply.prepare_payload();
  (void)write_before(socket, reply, deadline);
}

// After a refusal, reads and drops what the client still sends (until `deadline`) before the close, so
// that a client writing a large body reads the problem rather than a reset connection.
void linger(tcp::socket& socket, Clock::time_point deadline) {
  beast::error_code error;
  socket.shutdown(tcp::socket::shutdown_send, error);
  char dropped[16384];
  while (!error && wait_ready(socket, POLLIN, deadline)) {
    if (socket.read_some(asio::buffer(dropped), error) == 0 && error != asio::error::would_block) break;
    if (error == asio::error::would_block) error = {};
  }
}

// The handler's answer to one request, as the HTTP response to send. A handler bug must not take the
// server down; it is reported as what it is.
http::response<http::string_body> dispatch(const HttpRequestHandler& handler,
                                           const http::request<http::string_body>& raw, tcp::socket& socket) {
  HttpReply response;
  try {
    HttpRequest request = to_request(raw);
    beast::error_code peer_error;
    const auto peer = socket.remote_endpoint(peer_error);
    if (!peer_error) request.remote_address = peer.address().to_string();
    response = handler(request);
  } catch (const std::exception& failure) {
    std::string detail = failure.what();
    for (auto& c : detail) {
      if (c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20) c = ' ';
    }
    response = {500, "application/problem+json",
                fmt::format(R"({{"title":"internal error","status":500,"detail":"{}"}})", detail)};
  }
  http::response<http::string_body> out{static_cast<http::status>(response.status), raw.version()};
  out.set(http::field::server, "pgstack");
  out.set(http::field::content_type, response.content_type);
  for (const auto& [name, value] : response.headers) out.set(name, value);
  out.keep_alive(raw.keep_alive());
  out.body() = std::move(response.body);
  out.prepare_payload();
  return out;
}

}  // namespace

struct HttpServer::Impl {
  std::string address;
  std::uint16_t port;
  HttpRequestHandler handler;
  HttpServerLimits limits;
  std::string tls_certificate, tls_private_key;  // empty: plain http
  asio::io_context io;
  std::unique_ptr<tcp::acceptor> acceptor;
  std::thread accept_thread;
  std::atomic<bool> stopping{false};
  std::mutex connections_mutex;
  std::list<std::shared_ptr<tcp::socket>> connections;
  struct Worker {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done = std::make_shared<std::atomic<bool>>(false);
  };
  std::list<Worker> workers;

  // Joins the threads of closed connections so a long-running server does not accumulate them.
  void reap_finished_workers() {
    std::list<Worker> finished;
    {
      std::lock_guard lock(connections_mutex);
      for (auto it = workers.begin(); it != workers.end();) {
        if (*it->done) {
          finished.splice(finished.end(), workers, it++);
        } else {
          ++it;
        }
      }
    }
    for (auto& worker : finished) worker.thread.join();
  }

  http::response<http::string_body> respond(const http::request<http::string_body>& raw, tcp::socket& socket) {
    return dispatch(handler, raw, socket);
  }

  // TLS connections are served with blocking reads and writes (OpenSSL keeps state between them that
  // a non-blocking retry could lose); their deadlines are kept by a watchdog that shuts the socket
  // down when one passes, which ends the blocked call. The limits are the same as in clear.
  std::mutex deadlines_mutex;
  std::map<int, Clock::time_point> deadlines;  // by socket descriptor
  std::thread watchdog;

  void set_deadline(const tcp::socket& socket, Clock::time_point deadline) {
    std::lock_guard lock(deadlines_mutex);
    deadlines[const_cast<tcp::socket&>(socket).native_handle()] = deadline;
  }
  void clear_deadline(const tcp::socket& socket) {
    std::lock_guard lock(deadlines_mutex);
    deadlines.erase(const_cast<tcp::socket&>(socket).native_handle());
  }
  void watch_deadlines() {
    while (!stopping) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      std::lock_guard lock(deadlines_mutex);
      const auto now = Clock::now();
      for (auto it = deadlines.begin(); it != deadlines.end();) {
        if (it->second > now) {
          ++it;
          continue;
        }
        ::shutdown(it->first, SHUT_RDWR);
        it = deadlines.erase(it);
      }
    }
  }

  void serve_tls(tcp::socket& socket) {
    beast::error_code error;
    asio::ssl::context context(asio::ssl::context::tls_server);
    context.set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                        asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1);
    // Read for each connection, so a renewed certificate is served without a restart.
    context.use_certificate_chain_file(tls_certificate, error);
    if (!error) context.use_private_key_file(tls_private_key, asio::ssl::context::pem, error);
    if (error) return;
    asio::ssl::stream<tcp::socket&> stream(socket, context);
    set_deadline(socket, Clock::now() + limits.header_timeout);
    stream.handshake(asio::ssl::stream_base::server, error);
    beast::flat_buffer buffer;
    bool first = true;
    while (!stopping && !error) {
      RequestParser parser;
      parser.header_limit(static_cast<std::uint32_t>(limits.max_header_bytes));
      parser.body_limit(limits.max_body_bytes);
      set_deadline(socket,
                   Clock::now() + (first ? limits.header_timeout : limits.idle_timeout + limits.header_timeout));
      first = false;
      http::read_header(stream, buffer, parser, error);
      if (!error && std::distance(parser.get().begin(), parser.get().end()) >
                        static_cast<std::ptrdiff_t>(limits.max_header_fields))
        error = http::error::header_limit;
      if (!error && !parser.is_done() && beast::iequals(parser.get()[http::field::expect], "100-continue")) {
        set_deadline(socket, Clock::now() + limits.write_timeout);
        asio::write(stream, asio::buffer(std::string_view("HTTP/1.1 100 Continue\r\n\r\n")), error);
      }
      set_deadline(socket, Clock::now() + limits.body_timeout);
      if (!error) http::read(stream, buffer, parser, error);
      std::optional<http::response<http::string_body>> out;
      if (error == http::error::header_limit || error == http::error::body_limit) {
        const bool header = error == http::error::header_limit;
        out.emplace(header ? http::status::request_header_fields_too_large : http::status::payload_too_large, 11);
        out->set(http::field::content_type, "application/problem+json");
        out->body() =
            header
                ? fmt::format(
                      R"({{"title":"RequestHeaderFieldsTooLarge","status":431,"detail":"the request header is over {} bytes or {} fields"}})",
                      limits.max_header_bytes, limits.max_header_fields)
                : fmt::format(
                      R"({{"title":"PayloadTooLarge","status":413,"detail":"the request body is over {} bytes"}})",
                      limits.max_body_bytes);
        out->keep_alive(false);
        out->prepare_payload();
      } else if (!error) {
        out = respond(parser.get(), socket);
      }
      if (!out) break;
      set_deadline(socket, Clock::now() + limits.write_timeout);
      beast::error_code write_error;
      http::write(stream, *out, write_error);
      if (error || write_error || !out->keep_alive()) break;
    }
    // close_notify, bounded like everything else: a peer that stopped reading must not hold the thread.
    set_deadline(socket, Clock::now() + std::chrono::seconds(1));
    beast::error_code ignored;
    stream.shutdown(ignored);
    clear_deadline(socket);
  }

  void serve(const std::shared_ptr<tcp::socket>& socket) {
    if (!tls_certificate.empty()) {
      serve_tls(*socket);
      clear_deadline(*socket);
      close_connection(socket);
      return;
    }
    beast::flat_buffer buffer;
    beast::error_code error;
    socket->non_blocking(true, error);
    bool first = true;
    while (!stopping && !error) {
      RequestParser parser;
      parser.header_limit(static_cast<std::uint32_t>(limits.max_header_bytes));
      parser.body_limit(limits.max_body_bytes);
      // The first request's header is due within header_timeout of the accept; later ones may wait
      // idle_timeout before they start.
      if (!first && buffer.size() == 0 && !wait_ready(*socket, POLLIN, Clock::now() + limits.idle_timeout)) break;
      first = false;
      error = read_before(*socket, buffer, parser, false, Clock::now() + limits.header_timeout);
      if (!error && std::distance(parser.get().begin(), parser.get().end()) >
                        static_cast<std::ptrdiff_t>(limits.max_header_fields))
        error = http::error::header_limit;
      if (!error && !parser.is_done() && beast::iequals(parser.get()[http::field::expect], "100-continue"))
        error = write_continue(*socket, Clock::now() + limits.write_timeout);
      if (!error) error = read_before(*socket, buffer, parser, true, Clock::now() + limits.body_timeout);
      const auto refuse_by = Clock::now() + std::chrono::seconds(1);
      bool refused = true;
      if (error == http::error::header_limit) {
        refuse(*socket, http::status::request_header_fields_too_large, "RequestHeaderFieldsTooLarge",
               fmt::format("the request header is over {} bytes or {} fields", limits.max_header_bytes,
                           limits.max_header_fields),
               refuse_by);
      } else if (error == http::error::body_limit) {
        refuse(*socket, http::status::payload_too_large, "PayloadTooLarge",
               fmt::format("the request body is over {} bytes", limits.max_body_bytes), refuse_by);
      } else if (error == asio::error::timed_out && parser.got_some()) {
        refuse(*socket, http::status::request_timeout, "RequestTimeout",
               fmt::format("the request header must arrive within {} ms and its body within {} ms",
                           limits.header_timeout.count(), limits.body_timeout.count()),
               refuse_by);
      } else if (error && error.category() == http::make_error_code(http::error::bad_target).category() &&
                 error != http::error::end_of_stream && error != http::error::partial_message) {
        refuse(*socket, http::status::bad_request, "BadRequest", "the request is not valid HTTP/1.1", refuse_by);
      } else {
        refused = false;
      }
      if (refused) linger(*socket, refuse_by);
      if (error) break;
      http::response<http::string_body> out = respond(parser.get(), *socket);
      error = write_before(*socket, out, Clock::now() + limits.write_timeout);
      if (error || !out.keep_alive()) break;
    }
    close_connection(socket);
  }

  // Under the mutex: stop() shuts the sockets in `connections` down from its own thread, and an Asio
  // socket must not be closed while another thread uses it (found by TSan).
  void close_connection(const std::shared_ptr<tcp::socket>& socket) {
    beast::error_code ignored;
    std::lock_guard lock(connections_mutex);
    socket->shutdown(tcp::socket::shutdown_both, ignored);
    socket->close(ignored);
    connections.remove(socket);
  }

  void accept_loop() {
    while (!stopping) {
      auto socket = std::make_shared<tcp::socket>(io);
      beast::error_code error;
      acceptor->accept(*socket, error);
      if (error) {
        if (stopping) break;
        continue;
      }
      reap_finished_workers();
      std::lock_guard lock(connections_mutex);
      if (connections.size() >= limits.max_connections && !tls_certificate.empty()) {
        // A TLS client would not read a problem in clear: it is refused by closing.
        socket->close(error);
        continue;
      }
      if (connections.size() >= limits.max_connections) {
        // Past the bound a client gets an answer at once rather than a thread; nothing of it is read.
        socket->non_blocking(true, error);
        refuse(*socket, http::status::service_unavailable, "Unavailable",
               fmt::format("the server is serving {} connections, its limit: retry later", connections.size()),
               Clock::now(), "1");
        socket->shutdown(tcp::socket::shutdown_send, error);
        char drained[4096];
        for (int round = 0; round < 16 && socket->read_some(asio::buffer(drained), error) > 0; ++round) {
        }
        socket->close(error);
        continue;
      }
      connections.push_back(socket);
      Worker worker;
      worker.thread = std::thread([this, socket, done = worker.done] {
        serve(socket);
        *done = true;
      });
      workers.push_back(std::move(worker));
    }
  }
};

HttpServer::HttpServer(std::string address, std::uint16_t port, HttpRequestHandler handler, HttpServerLimits limits)
    : impl_(std::make_unique<Impl>()) {
  impl_->address = std::move(address);
  impl_->port = port;
  impl_->handler = std::move(handler);
  impl_->limits = limits;
}

std::size_t HttpServer::connections() const {
  std::lock_guard lock(impl_->connections_mutex);
  return impl_->connections.size();
}

HttpServer::~HttpServer() { stop(); }

Result<bool> HttpServer::start() {
  beast::error_code error;
  const auto address = asio::ip::make_address(impl_->address, error);
  if (error) return make_error(ErrorCode::kInvalidInput, fmt::format("bad listen address \"{}\"", impl_->address));
  auto acceptor = std::make_unique<tcp::acceptor>(impl_->io);
  const tcp::endpoint endpoint(address, impl_->port);
  acceptor->open(endpoint.protocol(), error);
  if (!error) acceptor->set_option(asio::socket_base::reuse_address(true), error);
  if (!error) acceptor->bind(endpoint, error);
  if (!error) acceptor->listen(asio::socket_base::max_listen_connections, error);
  if (error)
    return make_error(ErrorCode::kUnavailable,
                      fmt::format("cannot listen on {}:{}: {}", impl_->address, impl_->port, error.message()));
  bound_port_ = acceptor->local_endpoint().port();
  impl_->acceptor = std::move(acceptor);
  impl_->accept_thread = std::thread([this] { impl_->accept_loop(); });
  if (!impl_->tls_certificate.empty()) impl_->watchdog = std::thread([this] { impl_->watch_deadlines(); });
  return true;
}

void HttpServer::use_tls(std::string certificate_file, std::string private_key_file) {
  impl_->tls_certificate = std::move(certificate_file);
  impl_->tls_private_key = std::move(private_key_file);
}

void HttpServer::stop() {
  if (!impl_ || impl_->stopping.exchange(true)) return;
  beast::error_code ignored;
  // shutdown() wakes a blocking accept on Linux (closing does not); the acceptor is closed only after
  // the accept thread has ended: an Asio socket must not be used from two threads at once (TSan).
  if (impl_->acceptor) ::shutdown(impl_->acceptor->native_handle(), SHUT_RDWR);
  if (impl_->accept_thread.joinable()) impl_->accept_thread.join();
  if (impl_->acceptor) impl_->acceptor->close(ignored);
  std::list<Impl::Worker> workers;
  {
    std::lock_guard lock(impl_->connections_mutex);
    for (auto& socket : impl_->connections) {
      socket->shutdown(tcp::socket::shutdown_both, ignored);
    }
    workers.swap(impl_->workers);
  }
  for (auto& worker : workers) {
    if (worker.thread.joinable()) worker.thread.join();
  }
  if (impl_->watchdog.joinable()) impl_->watchdog.join();
}

}  // namespace pgstack
