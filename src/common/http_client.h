// A small synchronous HTTP/1.1 client for talking to etcd, Patroni and the controller, over http or
// https. http_request keeps connections alive and reuses them (per server and TLS files, for up to 30 s
// idle); a line stream has its own. A connection failure or a timeout is ErrorCode::kUnavailable.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/error.h"

namespace boost::asio {
class io_context;
}  // namespace boost::asio

namespace pgstack {

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

struct HttpResponse {
  int status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // names lower-cased
};

struct HttpUrl {
  std::string host;
  std::string port;    // "80" (http) or "443" (https) when the URL has none
  std::string target;  // path and query, "/" when the URL has none
  bool tls = false;    // https
};

// Accepts http[s]://host[:port][/path]; user info is rejected as kInvalidInput.
Result<HttpUrl> parse_http_url(std::string_view url);

// How this process verifies https servers and proves who it is to them: pgstack's processes trust
// one CA (the installation's, common/pki.h) and have one client certificate each. Process-wide; every
// https request reads the files again, so renewed certificates are used without a restart. No CA:
// the system's default trust store. The server's name (or IP) is always checked against its certificate.
struct TlsClientFiles {
  std::string ca_file;
  std::string certificate_file;  // optional client certificate (etcd's client-cert-auth)
  std::string private_key_file;
};
void set_tls_client_files(TlsClientFiles files);
// "Basic <base64(user:password)>" for an Authorization header.
std::string basic_authorization(std::string_view user, std::string_view password);
TlsClientFiles tls_client_files();

// One request/response exchange. Any HTTP status is a successful result; `timeout` bounds the
// whole exchange (resolve, connect, send, receive).
Result<HttpResponse> http_request(std::string_view method, std::string_view url, std::string_view body = {},
                                  const HttpHeaders& headers = {},
                                  std::chrono::milliseconds timeout = std::chrono::seconds(5));

// A GET that does not verify the server's certificate, for one use only: downloading a CA that the caller
// keeps only when its digest is one it already trusts (`pgstack join`, whose token carries the digest).
// Its connection is never reused for a verified request.
Result<HttpResponse> http_get_unverified(std::string_view url,
                                         std::chrono::milliseconds timeout = std::chrono::seconds(5));

// How many connections http_request has opened in this process (kept-alive ones are reused).
std::uint64_t http_connections_opened();

// Reads a long-lived (usually chunked) response line by line, for etcd's watch and similar streams.
// cancel() may be called from any thread and makes a running or later run() return promptly.
class HttpLineStream {
 public:
  // Returns false to stop reading.
  using LineHandler = std::function<bool(std::string_view line)>;

  HttpLineStream() = default;
  HttpLineStream(const HttpLineStream&) = delete;
  HttpLineStream& operator=(const HttpLineStream&) = delete;

  // Sends the request and hands every non-empty body line to `on_line`. `timeout` bounds connecting,
  // sending and receiving the response header; the body may then stay idle for as long as it likes.
  // true: stopped by the handler or cancel(); false: the server ended the response.
  // A status other than 2xx is an error carrying the response body (kUnavailable for 5xx,
  // kInvalidInput otherwise).
  Result<bool> run(std::string_view method, std::string_view url, std::string_view body, const HttpHeaders& headers,
                   std::chrono::milliseconds timeout, const LineHandler& on_line);

  // Final: once cancelled, every later run() returns true at once.
  void cancel();
  bool cancelled() const { return cancelled_.load(); }

 private:
  std::atomic<bool> cancelled_{false};
  std::mutex mutex_;
  boost::asio::io_context* active_ = nullptr;  // the running exchange's loop, guarded by mutex_
};

}  // namespace pgstack
