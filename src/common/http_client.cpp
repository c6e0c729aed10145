#include "common/http_client.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <fmt/format.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>

namespace pgstack {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using Done = std::function<void(beast::error_code)>;

constexpr std::uint64_t kMaxResponseBody = std::uint64_t{64} * 1024 * 1024;
constexpr std::size_t kMaxErrorBody = std::size_t{64} * 1024;

enum class StepEnd { kFinished, kTimedOut, kCancelled };

std::mutex tls_files_mutex;
TlsClientFiles tls_files;  // guarded by tls_files_mutex
// Set only inside http_get_unverified, on its own thread.
thread_local bool skip_server_verification = false;

Result<std::unique_ptr<asio::ssl::context>> client_context() {
  const TlsClientFiles files = tls_client_files();
  auto context = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client);
  context->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                       asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1);
  beast::error_code error;
  if (files.ca_file.empty()) {
    context->set_default_verify_paths(error);
  } else {
    context->load_verify_file(files.ca_file, error);
  }
  if (error)
    return make_error(ErrorCode::kUnavailable,
                      fmt::format("TLS: cannot load the CA {}: {}", files.ca_file, error.message()));
  if (!files.certificate_file.empty()) {
    context->use_certificate_chain_file(files.certificate_file, error);
    if (!error) context->use_private_key_file(files.private_key_file, asio::ssl::context::pem, error);
    if (error)
      return make_error(ErrorCode::kUnavailable, fmt::format("TLS: cannot load the client certificate {}: {}",
                                                             files.certificate_file, error.message()));
  }
  context->set_verify_mode(skip_server_verification ? asio::ssl::verify_none : asio::ssl::verify_peer);
  return context;
}

// Drives one connection's asynchronous operations from the calling thread, one at a time, so each
// step can be bounded by a deadline or interrupted from another thread through io_context::stop().
class Exchange {
 public:
  Exchange(std::string method, std::string url, const std::atomic<bool>* cancelled)
      : method_(std::move(method)), url_(std::move(url)), cancelled_(cancelled), resolver_(ioc_), socket_(ioc_) {}

  asio::io_context& context() { return ioc_; }
  beast::flat_buffer& buffer() { return buffer_; }

  // A kept-alive connection taken for another request: errors name that request.
  void reuse_for(std::string method, std::string url) {
    method_ = std::move(method);
    url_ = std::move(url);
  }

  // Whether a kept-alive connection can carry another request: open, and nothing arrived since its last
  // response (an idle HTTP/1.1 connection receives nothing; a FIN, a reset or a TLS alert means the server
  // is done with it).
  bool idle_and_open() {
    if (!socket_.is_open() || buffer_.size() != 0) return false;
    if (tls_ && SSL_pending(tls_->native_handle()) > 0) return false;
    char byte = 0;
    const ssize_t peeked = ::recv(socket_.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    return peeked < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
  }

  // Calls `use` with the stream to read and write: the TLS stream once handshaken, else the socket.
  template <typename Use>
  void with_stream(Use&& use) {
    if (tls_) {
      use(*tls_);
    } else {
      use(socket_);
    }
  }

  // TLS over the connected socket; the server's certificate must chain to the CA and name `url.host`.
  Result<bool> handshake(const HttpUrl& url, Clock::time_point deadline, std::chrono::milliseconds timeout) {
    auto context = client_context();
    RETURN_IF_ERROR(context);
    tls_context_ = std::move(context).value();
    tls_.emplace(socket_, *tls_context_);
    SSL* ssl = tls_->native_handle();
    beast::error_code error;
    static_cast<void>(asio::ip::make_address(url.host, error));  // only whether it parses matters
    if (!error) {
      X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), url.host.c_str());
    } else {
      SSL_set_tlsext_host_name(ssl, url.host.c_str());
      SSL_set1_host(ssl, url.host.c_str());
    }
    error = {};
    const StepEnd end = step(
        [&](const Done& done) {
          tls_->async_handshake(asio::ssl::stream_base::client, [done](beast::error_code ec) { done(ec); });
        },
        deadline, error);
    if (end != StepEnd::kFinished || error) return failure(end, error, "in the TLS handshake", timeout);
    return true;
  }

  // Runs the operation `initiate` starts until it completes, the deadline passes or we are cancelled;
  // on the last two the connection is closed and the operation drained before returning.
  template <typename Initiate>
  StepEnd step(Initiate&& initiate, std::optional<Clock::time_point> deadline, beast::error_code& error) {
    bool finished = false;
    initiate(Done([&](beast::error_code ec) {
      error = ec;
      finished = true;
    }));
    while (!finished) {  // NOLINT(bugprone-infinite-loop): the completion handler sets it
      ioc_.restart();
      if (is_cancelled()) break;  // checked after restart(): cancel() sets the flag before stop()
      if (!deadline) {
        ioc_.run();
        continue;
      }
      ioc_.run_until(*deadline);
      if (!finished && Clock::now() >= *deadline) break;
    }
    if (finished) return StepEnd::kFinished;
    const StepEnd end = is_cancelled() ? StepEnd::kCancelled : StepEnd::kTimedOut;
    close();
    while (!finished) {  // NOLINT(bugprone-infinite-loop): the completion handler sets it
      ioc_.restart();
      ioc_.run();
    }
    return end;
  }

  Error failure(StepEnd end, const beast::error_code& error, std::string_view doing,
                std::chrono::milliseconds timeout) const {
    switch (end) {
      case StepEnd::kTimedOut:
        return make_error(ErrorCode::kUnavailable,
                          fmt::format("{} {}: timed out after {} ms while {}", method_, url_, timeout.count(), doing));
      case StepEnd::kCancelled:
        return make_error(ErrorCode::kUnavailable, fmt::format("{} {}: cancelled while {}", method_, url_, doing));
      case StepEnd::kFinished: break;
    }
    return make_error(ErrorCode::kUnavailable,
                      fmt::format("{} {}: failed while {}: {}", method_, url_, doing, error.message()));
  }

  Result<bool> connect(const HttpUrl& url, Clock::time_point deadline, std::chrono::milliseconds timeout) {
    beast::error_code error;
    std::vector<tcp::endpoint> endpoints;
    StepEnd end = StepEnd::kFinished;
    // An IP address needs no resolver (whose first use starts a thread).
    const auto address = asio::ip::make_address(url.host, error);
    if (!error) {
      endpoints.emplace_back(address, static_cast<unsigned short>(std::stoi(url.port)));
    } else {
      end = step(
          [&](const Done& done) {
            resolver_.async_resolve(
                url.host, url.port,
                [&endpoints, done](beast::error_code ec, const tcp::resolver::results_type& results) {
                  for (const auto& entry : results) endpoints.push_back(entry.endpoint());
                  done(ec);
                });
          },
          deadline, error);
      if (end != StepEnd::kFinished || error) return failure(end, error, "resolving the host", timeout);
    }
    end = step(
        [&](const Done& done) {
          asio::async_connect(socket_, endpoints, [done](beast::error_code ec, const tcp::endpoint&) { done(ec); });
        },
        deadline, error);
    if (end != StepEnd::kFinished || error) return failure(end, error, "connecting", timeout);
    if (url.tls) return handshake(url, deadline, timeout);
    return true;
  }

  Result<bool> send(const http::request<http::string_body>& request, Clock::time_point deadline,
                    std::chrono::milliseconds timeout) {
    beast::error_code error;
    const StepEnd end = step(
        [&](const Done& done) {
          with_stream([&](auto& stream) {
            http::async_write(stream, request, [done](beast::error_code ec, std::size_t) { done(ec); });
          });
        },
        deadline, error);
    if (end != StepEnd::kFinished || error) return failure(end, error, "sending the request", timeout);
    return true;
  }

  // A long-lived response from a server that becomes unreachable (a partition, a host gone) would
  // stay silent for ever: TCP keepalives end it after about 5 + 3 x 1 s, and unacknowledged data after 8 s.
  void detect_dead_peer() {
    const int fd = socket_.native_handle();
    const int on = 1;
    const int idle = 5;
    const int interval = 1;
    const int count = 3;
    const unsigned int user_timeout_ms = 8000;
    ::setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on);
    ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
    ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &interval, sizeof interval);
    ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &count, sizeof count);
    ::setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &user_timeout_ms, sizeof user_timeout_ms);
  }

  void close() {
    beast::error_code ignored;
    resolver_.cancel();
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
  }

 private:
  bool is_cancelled() const { return cancelled_ != nullptr && cancelled_->load(); }

  std::string method_;
  std::string url_;
  const std::atomic<bool>* cancelled_;
  asio::io_context ioc_;
  tcp::resolver resolver_;
  tcp::socket socket_;
  std::unique_ptr<asio::ssl::context> tls_context_;
  std::optional<asio::ssl::stream<tcp::socket&>> tls_;
  beast::flat_buffer buffer_;
};

// Kept-alive connections of this process, by server and TLS identity, for http_request: a new TLS
// connection to etcd costs milliseconds (a handshake, the CA read and checked), a kept one nothing. A
// connection idle for kIdleLimit is closed rather than reused: renewed certificates are taken up, and a
// server's own idle timeout (pgstack's HttpServer: 30 s) is rarely met.
constexpr auto kIdleLimit = std::chrono::seconds(15);
constexpr std::size_t kIdlePerServer = 8;

class IdleConnections {
 public:
  // The newest idle connection to `key` that is still usable; nothing when there is none.
  std::unique_ptr<Exchange> take(const std::string& key) {
    std::vector<std::unique_ptr<Exchange>> stale;  // closed outside the lock
    std::unique_ptr<Exchange> found;
    {
      std::lock_guard lock(mutex_);
      auto entry = idle_.find(key);
      if (entry == idle_.end()) return nullptr;
      auto& connections = entry->second;
      const auto now = Clock::now();
      while (!connections.empty() && !found) {
        auto [since, exchange] = std::move(connections.back());
        connections.pop_back();
        if (now - since < kIdleLimit && exchange->idle_and_open()) {
          found = std::move(exchange);
        } else {
          stale.push_back(std::move(exchange));
        }
      }
      if (connections.empty()) idle_.erase(entry);
    }
    return found;
  }

  void give(const std::string& key, std::unique_ptr<Exchange> exchange) {
    std::unique_ptr<Exchange> surplus;
    std::lock_guard lock(mutex_);
    auto& connections = idle_[key];
    if (connections.size() >= kIdlePerServer) {
      surplus = std::move(connections.front().second);  // the oldest goes
      connections.erase(connections.begin());
    }
    connections.emplace_back(Clock::now(), std::move(exchange));
  }

 private:
  std::mutex mutex_;
  std::map<std::string, std::vector<std::pair<Clock::time_point, std::unique_ptr<Exchange>>>> idle_;
};

std::atomic<std::uint64_t> connections_opened{0};

IdleConnections& idle_connections() {
  static auto* const connections = new IdleConnections();  // never destroyed: threads may use it at exit
  return *connections;
}

// Which connections a request may reuse: the same server, scheme and TLS files (tests and tools switch
// them within one process).
std::string connection_key(const HttpUrl& url) {
  if (!url.tls) return fmt::format("http://{}:{}", url.host, url.port);
  const TlsClientFiles files = tls_client_files();
  return fmt::format("https://{}:{}\n{}\n{}\n{}{}", url.host, url.port, files.ca_file, files.certificate_file,
                     files.private_key_file, skip_server_verification ? "\nunverified" : "");
}

Result<http::verb> parse_method(std::string_view method) {
  const http::verb verb = http::string_to_verb(beast::string_view(method.data(), method.size()));
  if (verb == http::verb::unknown)
    return make_error(ErrorCode::kInvalidInput, fmt::format("unknown HTTP method \"{}\"", method));
  return verb;
}

http::request<http::string_body> make_request(http::verb verb, const HttpUrl& url, std::string_view body,
                                              const HttpHeaders& headers) {
  http::request<http::string_body> request{verb, url.target, 11};
  const bool default_port = url.port == (url.tls ? "443" : "80");
  request.set(http::field::host, default_port ? url.host : url.host + ":" + url.port);
  request.set(http::field::user_agent, "pgstack");
  for (const auto& [name, value] : headers) request.set(name, value);
  request.body() = std::string(body);
  request.prepare_payload();
  return request;
}

std::string lower(std::string_view text) {
  std::string result(text);
  std::transform(result.begin(), result.end(), result.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return result;
}

template <typename Fields>
std::map<std::string, std::string> header_map(const Fields& fields) {
  std::map<std::string, std::string> result;
  for (const auto& field : fields) {
    const auto name = field.name_string();
    const auto value = field.value();
    result[lower(std::string_view(name.data(), name.size()))] = std::string(value.data(), value.size());
  }
  return result;
}

}  // namespace

Result<HttpUrl> parse_http_url(std::string_view url) {
  constexpr std::string_view kScheme = "http://";
  constexpr std::string_view kTlsScheme = "https://";
  const bool tls = url.substr(0, kTlsScheme.size()) == kTlsScheme;
  if (!tls && url.substr(0, kScheme.size()) != kScheme)
    return make_error(ErrorCode::kInvalidInput,
                      fmt::format("URL \"{}\" is not supported: expected http[s]://host[:port][/path]", url));
  std::string_view rest = url.substr(tls ? kTlsScheme.size() : kScheme.size());
  const std::size_t slash = rest.find('/');
  const std::string_view authority = rest.substr(0, slash);
  HttpUrl result;
  result.target = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  if (authority.empty() || authority.find('@') != std::string_view::npos)
    return make_error(ErrorCode::kInvalidInput,
                      fmt::format("URL \"{}\" has no usable host: expected http://host[:port][/path]", url));
  std::string_view host = authority;
  std::string_view port = tls ? "443" : "80";
  result.tls = tls;
  if (authority.front() == '[') {  // [::1]:2379
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos)
      return make_error(ErrorCode::kInvalidInput, fmt::format("URL \"{}\" has an unterminated IPv6 address", url));
    host = authority.substr(1, close - 1);
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':')
        return make_error(ErrorCode::kInvalidInput, fmt::format("URL \"{}\" has junk after the host", url));
      port = authority.substr(close + 2);
    }
  } else if (const std::size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  const bool port_ok = !port.empty() && port.size() <= 5 &&
                       std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; }) &&
                       std::stoi(std::string(port)) <= 65535;
  if (host.empty() || !port_ok)
    return make_error(ErrorCode::kInvalidInput,
                      fmt::format("URL \"{}\" has a bad host or port: expected http://host[:port][/path]", url));
  result.host = std::string(host);
  result.port = std::string(port);
  return result;
}

Result<HttpResponse> http_get_unverified(std::string_view url, std::chrono::milliseconds timeout) {
  struct Unverified {
    Unverified() { skip_server_verification = true; }
    ~Unverified() { skip_server_verification = false; }
    Unverified(const Unverified&) = delete;
    Unverified& operator=(const Unverified&) = delete;
  } unverified;
  return http_request("GET", url, {}, {}, timeout);
}

Result<HttpResponse> http_request(std::string_view method, std::string_view url, std::string_view body,
                                  const HttpHeaders& headers, std::chrono::milliseconds timeout) {
  auto parsed = parse_http_url(url);
  RETURN_IF_ERROR(parsed);
  auto verb = parse_method(method);
  RETURN_IF_ERROR(verb);

  const Clock::time_point deadline = Clock::now() + timeout;
  const std::string key = connection_key(*parsed);
  const auto request = make_request(*verb, *parsed, body, headers);
  // A kept-alive connection first; a second attempt only when the server had closed that one before it
  // read a byte of the request (it answered nothing), on a new connection.
  for (bool first_attempt = true;; first_attempt = false) {
    std::unique_ptr<Exchange> exchange = first_attempt ? idle_connections().take(key) : nullptr;
    const bool reused = exchange != nullptr;
    if (reused) {
      exchange->reuse_for(std::string(method), std::string(url));
    } else {
      exchange = std::make_unique<Exchange>(std::string(method), std::string(url), nullptr);
      RETURN_IF_ERROR(exchange->connect(*parsed, deadline, timeout));
      connections_opened.fetch_add(1, std::memory_order_relaxed);
    }
    beast::error_code error;
    StepEnd end = exchange->step(
        [&](const Done& done) {
          exchange->with_stream([&](auto& stream) {
            http::async_write(stream, request, [done](beast::error_code ec, std::size_t) { done(ec); });
          });
        },
        deadline, error);
    if (end == StepEnd::kFinished && error && reused) continue;
    if (end != StepEnd::kFinished || error) return exchange->failure(end, error, "sending the request", timeout);

    http::response_parser<http::string_body> parser;
    parser.body_limit(kMaxResponseBody);
    end = exchange->step(
        [&](const Done& done) {
          exchange->with_stream([&](auto& stream) {
            http::async_read(stream, exchange->buffer(), parser,
                             [done](beast::error_code ec, std::size_t) { done(ec); });
          });
        },
        deadline, error);
    if (end == StepEnd::kFinished && error && reused && !parser.got_some()) continue;
    if (end != StepEnd::kFinished || error) return exchange->failure(end, error, "reading the response", timeout);

    auto message = parser.release();
    if (message.keep_alive()) {
      idle_connections().give(key, std::move(exchange));
    } else {
      exchange->close();
    }
    HttpResponse response;
    response.status = static_cast<int>(message.result_int());
    response.headers = header_map(message);
    response.body = std::move(message.body());
    return response;
  }
}

Result<bool> HttpLineStream::run(std::string_view method, std::string_view url, std::string_view body,
                                 const HttpHeaders& headers, std::chrono::milliseconds timeout,
                                 const LineHandler& on_line) {
  auto parsed = parse_http_url(url);
  RETURN_IF_ERROR(parsed);
  auto verb = parse_method(method);
  RETURN_IF_ERROR(verb);

  Exchange exchange(std::string(method), std::string(url), &cancelled_);
  {
    std::lock_guard lock(mutex_);
    if (cancelled_) return true;
    active_ = &exchange.context();
  }
  // Declared after `exchange` so that cancel() stops touching its loop before it is destroyed.
  struct Registration {
    HttpLineStream& stream;
    ~Registration() {
      std::lock_guard lock(stream.mutex_);
      stream.active_ = nullptr;
    }
  } registration{*this};

  const Clock::time_point deadline = Clock::now() + timeout;
  if (auto connected = exchange.connect(*parsed, deadline, timeout); !connected)
    return cancelled_ ? Result<bool>(true) : Result<bool>(connected.error());
  exchange.detect_dead_peer();
  const auto request = make_request(*verb, *parsed, body, headers);
  if (auto sent = exchange.send(request, deadline, timeout); !sent)
    return cancelled_ ? Result<bool>(true) : Result<bool>(sent.error());

  http::response_parser<http::buffer_body> parser;
  // A watch may stream for days. Not boost::none: Beast 1.74 then rejects any Content-Length body.
  parser.body_limit(std::numeric_limits<std::uint64_t>::max());
  beast::error_code error;
  StepEnd end = exchange.step(
      [&](const Done& done) {
        exchange.with_stream([&](auto& stream) {
          http::async_read_header(stream, exchange.buffer(), parser,
                                  [done](beast::error_code ec, std::size_t) { done(ec); });
        });
      },
      deadline, error);
  if (end == StepEnd::kCancelled) return true;
  if (end != StepEnd::kFinished || error) return exchange.failure(end, error, "reading the response header", timeout);

  const int status = static_cast<int>(parser.get().result_int());
  const bool failed = status < 200 || status >= 300;
  std::string pending;
  char chunk[16384];
  while (!parser.is_done()) {
    parser.get().body().data = chunk;
    parser.get().body().size = sizeof chunk;
    end = exchange.step(
        [&](const Done& done) {
          exchange.with_stream([&](auto& stream) {
            http::async_read_some(stream, exchange.buffer(), parser,
                                  [done](beast::error_code ec, std::size_t) { done(ec); });
          });
        },
        // Only an error response is bounded: a healthy stream may stay quiet for hours.
        failed ? std::optional<Clock::time_point>(deadline) : std::nullopt, error);
    if (end == StepEnd::kCancelled) return true;
    if (error == http::error::need_buffer) error = {};
    if (end != StepEnd::kFinished || error) return exchange.failure(end, error, "reading the response body", timeout);
    pending.append(chunk, sizeof chunk - parser.get().body().size);
    if (failed) {
      if (pending.size() > kMaxErrorBody) break;
      continue;
    }
    std::size_t start = 0;
    for (std::size_t end_of_line; (end_of_line = pending.find('\n', start)) != std::string::npos;
         start = end_of_line + 1) {
      std::string_view line(pending.data() + start, end_of_line - start);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (!line.empty() && !on_line(line)) return true;
    }
    pending.erase(0, start);
  }
  if (failed) {
    return make_error(status >= 500 ? ErrorCode::kUnavailable : ErrorCode::kInvalidInput,
                      fmt::format("{} {}: HTTP {}: {}", method, url, status, pending));
  }
  if (!pending.empty() && !on_line(pending)) return true;
  return false;
}

std::string basic_authorization(std::string_view user, std::string_view password) {
  const std::string plain = fmt::format("{}:{}", user, password);
  std::string encoded(4 * ((plain.size() + 2) / 3) + 1, '\0');
  const int size =
      EVP_EncodeBlock(reinterpret_cast<unsigned char*>(encoded.data()),
                      reinterpret_cast<const unsigned char*>(plain.data()), static_cast<int>(plain.size()));
  encoded.resize(static_cast<std::size_t>(std::max(size, 0)));
  return "Basic " + encoded;
}

std::uint64_t http_connections_opened() { return connections_opened.load(std::memory_order_relaxed); }

void set_tls_client_files(TlsClientFiles files) {
  std::lock_guard lock(tls_files_mutex);
  tls_files = std::move(files);
}

TlsClientFiles tls_client_files() {
  std::lock_guard lock(tls_files_mutex);
  return tls_files;
}

void HttpLineStream::cancel() {
  cancelled_ = true;
  std::lock_guard lock(mutex_);
  if (active_ != nullptr) active_->stop();
}

}  // namespace pgstack
