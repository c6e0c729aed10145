// A small HTTP/1.1 server (Boost.Beast) for the REST API and admin endpoints: one thread accepts, each
// connection is served on its own thread with keep-alive. Handlers are plain functions of the request.
#pragma once

#include <atomic>
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
  std::map<std::string, std::string> query;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
};

struct HttpReply {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::map<std::string, std::string> headers;
};

using HttpRequestHandler = std::function<HttpReply(const HttpRequest&)>;

class HttpServer {
 public:
  HttpServer(std::string address, std::uint16_t port, HttpRequestHandler handler);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Serve HTTPS with these PEM files (before start()). They are read for each connection, so a renewed
  // certificate is used without a restart.
  void use_tls(std::string certificate_file, std::string private_key_file);

  // Binds and starts serving; port 0 picks a free one (see port()).
  Result<bool> start();
  std::uint16_t port() const { return bound_port_; }
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::uint16_t bound_port_ = 0;
};

// Bodies larger than this are refused with 413: manifests are small.
inline constexpr std::size_t kMaxRequestBodyBytes = 4 * 1024 * 1024;

}  // namespace pgstack
