// A small HTTP/1.1 server (Boost.Beast) for the REST API and admin endpoints: one thread accepts, each
// connection is served on its own thread with keep-alive. Handlers are plain functions of the request.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "common/error.h"

namespace pgstack {

struct HttpRequest {
  std::string method;  // GET, POST, ...
  std::string path;    // without the query string, percent-decoded
  std::string target;  // as sent: path and query, not decoded (split it before decoding segments)
  std::map<std::string, std::string> query;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  std::string remote_address;  // the peer's IP address, for rate limits and the audit trail
};

struct HttpReply {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::map<std::string, std::string> headers;
};

using HttpRequestHandler = std::function<HttpReply(const HttpRequest&)>;

// Bodies larger than this are refused with 413: manifests are small.
inline constexpr std::size_t kMaxRequestBodyBytes = 4 * 1024 * 1024;

// What one client may take of the server: threads, time and memory. Past a limit the client gets a
// problem (503, 408, 431, 413) and its connection is closed; the other clients are not held up.
struct HttpServerLimits {
  std::size_t max_connections = 128;                  // served at once; past it 503 with Retry-After
  std::chrono::milliseconds header_timeout{10'000};   // the whole request header, from its first byte
  std::chrono::milliseconds body_timeout{30'000};     // the whole body, once the header is in
  std::chrono::milliseconds idle_timeout{30'000};     // keep-alive: until the next request starts
  std::chrono::milliseconds write_timeout{30'000};    // the whole reply
  std::size_t max_header_bytes = 16 * 1024;           // request line and fields; past it 431
  std::size_t max_header_fields = 100;                // past it 431
  std::size_t max_body_bytes = kMaxRequestBodyBytes;  // past it 413
};

class HttpServer {
 public:
  HttpServer(std::string address, std::uint16_t port, HttpRequestHandler handler, HttpServerLimits limits = {});
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Serve HTTPS with these PEM files (before start()). They are read for each connection, so a renewed
  // certificate is used without a restart.
  void use_tls(std::string certificate_file, std::string private_key_file);

  // Binds and starts serving; port 0 picks a free one (see port()).
  Result<bool> start();
  std::uint16_t port() const { return bound_port_; }
  // Connections being served now (never more than limits.max_connections).
  std::size_t connections() const;
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::uint16_t bound_port_ = 0;
};

}  // namespace pgstack
