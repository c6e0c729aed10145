#include "common/http_server.h"

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <list>
#include <mutex>

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

}  // namespace

struct HttpServer::Impl {
  std::string address;
  std::uint16_t port;
  HttpRequestHandler handler;
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
  std::string tls_certificate, tls_private_key;  // empty: plain http

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

  void serve(std::shared_ptr<tcp::socket> socket) {
    if (tls_certificate.empty()) {
      serve_stream(*socket);
    } else {
      asio::ssl::context context(asio::ssl::context::tls_server);
      context.set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                          asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1);
      beast::error_code error;
      context.use_certificate_chain_file(tls_certificate, error);
      if (!error) context.use_private_key_file(tls_private_key, asio::ssl::context::pem, error);
      asio::ssl::stream<tcp::socket&> stream(*socket, context);
      if (!error) stream.handshake(asio::ssl::stream_base::server, error);
      if (!error) serve_stream(stream);
    }
    beast::error_code ignored;
    socket->shutdown(tcp::socket::shutdown_both, ignored);
    socket->close(ignored);
    std::lock_guard lock(connections_mutex);
    connections.remove(socket);
  }

  template <typename Stream>
  void serve_stream(Stream& stream) {
    beast::flat_buffer buffer;
    beast::error_code error;
    while (!stopping) {
      http::request_parser<http::string_body> parser;
      parser.body_limit(kMaxRequestBodyBytes);
      http::read(stream, buffer, parser, error);
      if (error == http::error::body_limit) {
        http::response<http::string_body> too_large{http::status::payload_too_large, 11};
        too_large.set(http::field::content_type, "application/problem+json");
        too_large.body() = R"({"title":"request body too large","status":413})";
        too_large.prepare_payload();
        http::write(stream, too_large, error);
        break;
      }
      if (error) break;
      const auto& raw = parser.get();
      HttpReply response;
      try {
        response = handler(to_request(raw));
      } catch (const std::exception& failure) {
        // A handler bug must not take the server down; it is reported as what it is.
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
      http::write(stream, out, error);
      if (error || !out.keep_alive()) break;
    }
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

HttpServer::HttpServer(std::string address, std::uint16_t port, HttpRequestHandler handler) : impl_(std::make_unique<Impl>()) {
  impl_->address = std::move(address);
  impl_->port = port;
  impl_->handler = std::move(handler);
}

HttpServer::~HttpServer() { stop(); }

void HttpServer::use_tls(std::string certificate_file, std::string private_key_file) {
  impl_->tls_certificate = std::move(certificate_file);
  impl_->tls_private_key = std::move(private_key_file);
}

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
  return true;
}

void HttpServer::stop() {
  if (!impl_ || impl_->stopping.exchange(true)) return;
  beast::error_code ignored;
  if (impl_->acceptor) {
    // Closing from another thread does not wake a blocking accept on Linux; shutdown() does.
    ::shutdown(impl_->acceptor->native_handle(), SHUT_RDWR);
    impl_->acceptor->close(ignored);
  }
  if (impl_->accept_thread.joinable()) impl_->accept_thread.join();
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
}

}  // namespace pgstack
