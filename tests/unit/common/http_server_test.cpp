// HttpServer against hostile clients, over real loopback sockets: slow-loris headers and bodies, too
// many connections, oversized headers and bodies. Limits are shortened so that each test takes about a
// second.
#include "common/http_server.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <memory>
#include <poll.h>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

#include <arpa/inet.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "common/http_client.h"
#include "common/pki.h"

namespace pgstack {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

class Client {
 public:
  explicit Client(std::uint16_t port) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;
  }
  ~Client() { ::close(fd_); }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  bool connected() const { return connected_; }
  bool send(std::string_view bytes) {
    return ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size());
  }
  // What arrives until the server closes, a whole reply is in (by Content-Length) or `timeout` passes.
  std::string receive(std::chrono::milliseconds timeout = 5000ms) {
    std::string received;
    const auto deadline = Clock::now() + timeout;
    while (!whole_reply(received)) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      if (left <= 0) break;
      pollfd ready{fd_, POLLIN, 0};
      if (::poll(&ready, 1, static_cast<int>(left)) <= 0) break;
      char chunk[4096];
      const ssize_t count = ::recv(fd_, chunk, sizeof(chunk), 0);
      if (count <= 0) {
        closed_ = true;
        break;
      }
      received.append(chunk, static_cast<std::size_t>(count));
    }
    return received;
  }
  // True when the server closed the connection within `timeout`.
  bool closed_within(std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    while (!closed_ && Clock::now() < deadline)
      receive(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()));
    return closed_;
  }

 private:
  static bool whole_reply(const std::string& text) {
    const auto end = text.find("\r\n\r\n");
    if (end == std::string::npos) return false;
    const auto length = text.find("Content-Length: ");
    if (length == std::string::npos || length > end) return true;
    return text.size() >= end + 4 + std::stoul(text.substr(length + 16));
  }

  int fd_;
  bool connected_ = false;
  bool closed_ = false;
};

int status_of(const std::string& reply) {
  if (reply.rfind("HTTP/1.1 ", 0) != 0 || reply.size() < 12) return 0;
  return std::stoi(reply.substr(9, 3));
}

HttpServerLimits short_limits() {
  HttpServerLimits limits;
  limits.max_connections = 4;
  limits.header_timeout = 1000ms;
  limits.body_timeout = 1000ms;
  limits.idle_timeout = 1000ms;
  limits.write_timeout = 1000ms;
  return limits;
}

struct TestServer {
  explicit TestServer(HttpServerLimits limits)
      : server(
            "127.0.0.1", 0,
            [](const HttpRequest& request) {
              return HttpReply{
                  200, "text/plain", "hello " + request.path + " " + std::to_string(request.body.size()), {}};
            },
            limits) {
    EXPECT_TRUE(server.start().ok());
  }
  std::uint16_t port() { return server.port(); }
  HttpServer server;
};

constexpr std::string_view kRequest = "GET /ok HTTP/1.1\r\nHost: x\r\n\r\n";

// Sends a request header a byte at a time, `every` apart, until stopped or the server closes.
class SlowLoris {
 public:
  SlowLoris(std::uint16_t port, std::string bytes, std::chrono::milliseconds every)
      : client_(port), thread_([this, bytes = std::move(bytes), every] {
          for (std::size_t i = 0; !stop_ && i < bytes.size(); ++i) {
            if (!client_.send(bytes.substr(i, 1))) break;
            std::this_thread::sleep_for(every);
          }
        }) {}
  ~SlowLoris() {
    stop_ = true;
    thread_.join();
  }
  Client& client() { return client_; }

 private:
  Client client_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

bool wait_for(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return condition();
}

TEST(HttpServerHostile, SlowLorisClientsDoNotHoldUpANormalRequest) {
  TestServer test(short_limits());
  const std::string header = "GET /slow HTTP/1.1\r\nHost: x\r\nX-Padding: " + std::string(200, 'a');
  std::vector<std::unique_ptr<SlowLoris>> lorises;
  for (int i = 0; i < 3; ++i) lorises.push_back(std::make_unique<SlowLoris>(test.port(), header, 50ms));
  ASSERT_TRUE(wait_for([&] { return test.server.connections() == 3; }, 2000ms));

  Client normal(test.port());
  const auto started = Clock::now();
  ASSERT_TRUE(normal.send(kRequest));
  const std::string reply = normal.receive();
  EXPECT_EQ(status_of(reply), 200) << reply;
  EXPECT_LT(Clock::now() - started, 500ms);

  // Each slow header is cut at the header deadline with a 408, though bytes keep coming.
  for (auto& loris : lorises) {
    const std::string cut = loris->client().receive(3000ms);
    EXPECT_EQ(status_of(cut), 408) << cut;
    EXPECT_NE(cut.find("application/problem+json"), std::string::npos);
  }
  EXPECT_TRUE(wait_for([&] { return test.server.connections() == 0; }, 2000ms));
}

TEST(HttpServerHostile, PastTheConnectionBoundClientsGet503AtOnce) {
  TestServer test(short_limits());
  std::atomic<bool> sampling{true};
  std::atomic<std::size_t> most{0};
  std::thread sampler([&] {
    while (sampling) {
      most = std::max<std::size_t>(most, test.server.connections());
      std::this_thread::sleep_for(1ms);
    }
  });
  // As many slow clients as the bound, and more.
  std::vector<std::unique_ptr<SlowLoris>> lorises;
  for (int i = 0; i < 4; ++i) lorises.push_back(std::make_unique<SlowLoris>(test.port(), std::string(kRequest), 100ms));
  ASSERT_TRUE(wait_for([&] { return test.server.connections() == 4; }, 2000ms));
  for (int i = 0; i < 3; ++i) {
    Client extra(test.port());
    const auto started = Clock::now();
    const std::string reply = extra.receive(1000ms);
    EXPECT_EQ(status_of(reply), 503) << reply;
    EXPECT_NE(reply.find("Retry-After: 1"), std::string::npos) << reply;
    EXPECT_LT(Clock::now() - started, 500ms);
    EXPECT_TRUE(extra.closed_within(500ms));
  }
  // Once the slow clients are cut off at their header deadline, requests are served again.
  ASSERT_TRUE(wait_for([&] { return test.server.connections() == 0; }, 3000ms));
  Client normal(test.port());
  ASSERT_TRUE(normal.send(kRequest));
  EXPECT_EQ(status_of(normal.receive()), 200);
  sampling = false;
  sampler.join();
  EXPECT_LE(most.load(), 4u);
}

// A burst far past the bound: every client is answered (200 or 503), none waits, the bound holds.
TEST(HttpServerHostile, ABurstOfConnectionsIsAnsweredWithinTheBound) {
  HttpServerLimits limits = short_limits();
  HttpServer server(
      "127.0.0.1", 0,
      [](const HttpRequest&) {
        std::this_thread::sleep_for(50ms);  // long enough for the connections to overlap
        return HttpReply{200, "text/plain", "ok", {}};
      },
      limits);
  ASSERT_TRUE(server.start().ok());
  std::atomic<bool> sampling{true};
  std::atomic<std::size_t> most{0};
  std::thread sampler([&] {
    while (sampling) {
      most = std::max<std::size_t>(most, server.connections());
      std::this_thread::yield();
    }
  });
  std::atomic<int> served{0};
  std::atomic<int> refused{0};
  std::atomic<int> other{0};
  std::vector<std::thread> clients;
  for (int i = 0; i < 40; ++i) {
    clients.emplace_back([&] {
      Client client(server.port());
      (void)client.send("GET /ok HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
      const int status = status_of(client.receive(3000ms));
      (status == 200 ? served : status == 503 ? refused : other)++;
    });
  }
  for (auto& client : clients) client.join();
  sampling = false;
  sampler.join();
  EXPECT_EQ(served + refused, 40) << other << " clients got neither 200 nor 503";
  EXPECT_GE(served.load(), 4);
  EXPECT_LE(most.load(), limits.max_connections);
}

TEST(HttpServerHostile, SlowBodyIsCutAtTheBodyDeadline) {
  TestServer test(short_limits());
  Client client(test.port());
  ASSERT_TRUE(client.send("POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc"));
  const auto started = Clock::now();
  const std::string reply = client.receive(3000ms);
  EXPECT_EQ(status_of(reply), 408) << reply;
  EXPECT_LT(Clock::now() - started, 2500ms);
  EXPECT_TRUE(client.closed_within(500ms));
}

TEST(HttpServerHostile, IdleKeepAliveAndSilentConnectionsAreClosed) {
  TestServer test(short_limits());
  Client idle(test.port());
  ASSERT_TRUE(idle.send(kRequest));
  EXPECT_EQ(status_of(idle.receive()), 200);
  EXPECT_TRUE(idle.closed_within(2500ms));
  Client silent(test.port());
  EXPECT_TRUE(silent.closed_within(2500ms));
}

TEST(HttpServerHostile, OversizedHeadersAre431AndBodies413) {
  HttpServerLimits limits = short_limits();
  limits.max_header_bytes = 1024;
  limits.max_header_fields = 10;
  limits.max_body_bytes = 1000;
  TestServer test(limits);
  {
    Client client(test.port());
    ASSERT_TRUE(client.send("GET / HTTP/1.1\r\nX-Big: " + std::string(2000, 'a') + "\r\n\r\n"));
    const std::string reply = client.receive();
    EXPECT_EQ(status_of(reply), 431) << reply;
    EXPECT_NE(reply.find("1024 bytes"), std::string::npos) << reply;
  }
  {
    std::string many = "GET / HTTP/1.1\r\n";
    for (int i = 0; i < 20; ++i) many += "X-" + std::to_string(i) + ": 1\r\n";
    Client client(test.port());
    ASSERT_TRUE(client.send(many + "\r\n"));
    EXPECT_EQ(status_of(client.receive()), 431);
  }
  {
    Client client(test.port());
    ASSERT_TRUE(client.send("POST / HTTP/1.1\r\nContent-Length: 5000\r\n\r\n" + std::string(5000, 'x')));
    const std::string reply = client.receive();
    EXPECT_EQ(status_of(reply), 413) << reply;
    EXPECT_NE(reply.find("1000 bytes"), std::string::npos) << reply;
  }
  {
    Client client(test.port());
    ASSERT_TRUE(client.send("POST / HTTP/1.1\r\nContent-Length: 1000\r\n\r\n" + std::string(1000, 'x')));
    EXPECT_EQ(status_of(client.receive()), 200);
  }
  // The fifth connection against a bound of 4: the server counts one out when its worker has closed it,
  // which can lag behind the client (under TSan on a busy machine it did).
  ASSERT_TRUE(wait_for([&] { return test.server.connections() == 0; }, 5000ms));
  {
    Client client(test.port());
    ASSERT_TRUE(client.send("NOT HTTP AT ALL\r\n\r\n"));
    EXPECT_EQ(status_of(client.receive()), 400);
  }
}

TEST(HttpServerHostile, ExpectContinueIsAnsweredBeforeTheBody) {
  TestServer test(short_limits());
  Client client(test.port());
  ASSERT_TRUE(client.send("PUT /x HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n"));
  const std::string go_on = client.receive(500ms);
  EXPECT_EQ(go_on, "HTTP/1.1 100 Continue\r\n\r\n");
  ASSERT_TRUE(client.send("abc"));
  const std::string reply = client.receive();
  EXPECT_EQ(status_of(reply), 200) << reply;
  EXPECT_NE(reply.find("hello /x 3"), std::string::npos) << reply;
}

TEST(HttpServerHostile, TargetIsKeptAsSent) {
  HttpRequest seen;
  HttpServer server("127.0.0.1", 0, [&](const HttpRequest& request) {
    seen = request;
    return HttpReply{};
  });
  ASSERT_TRUE(server.start().ok());
  Client client(server.port());
  ASSERT_TRUE(client.send("GET /a%2Fb/c?x=%41 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  EXPECT_EQ(status_of(client.receive()), 200);
  EXPECT_EQ(seen.target, "/a%2Fb/c?x=%41");
  EXPECT_EQ(seen.query["x"], "A");
}

// An HTTPS server that answers with the request's path, its certificate from a CA of its own (dir/ca.crt).
struct HttpsEchoServer {
  std::filesystem::path dir;
  std::unique_ptr<HttpServer> server;

  void start() {
    char pattern[] = "/tmp/pgstack-https-test-XXXXXX";
    dir = ::mkdtemp(pattern);
    auto ca = pki::create_ca("test CA");
    ASSERT_TRUE(ca.ok()) << ca.error().message;
    auto leaf = pki::issue_certificate(*ca, {.common_name = "api", .ip_addresses = {"127.0.0.1"}});
    ASSERT_TRUE(leaf.ok()) << leaf.error().message;
    ASSERT_TRUE(pki::write_key_pair(*leaf, dir / "api.crt", dir / "api.key").ok());
    ASSERT_TRUE(pki::write_certificate(ca->certificate_pem, dir / "ca.crt").ok());
    server = std::make_unique<HttpServer>(
        "127.0.0.1", 0,
        [](const HttpRequest& request) {
          return HttpReply{200, "text/plain", request.path, {}};
        },
        short_limits());
    server->use_tls((dir / "api.crt").string(), (dir / "api.key").string());
    ASSERT_TRUE(server->start().ok());
  }
  ~HttpsEchoServer() {
    if (server) server->stop();
    std::error_code ignored;
    if (!dir.empty()) std::filesystem::remove_all(dir, ignored);
  }
};

// Over HTTPS the limits hold as in clear: clients that never finish a TLS handshake (or never send a
// request after one) are cut at the header deadline, and a real request is served afterwards.
TEST(HttpServerHostile, SilentTlsClientsAreCutAtTheDeadlineAndHttpsStillServes) {
  HttpsEchoServer https;
  ASSERT_NO_FATAL_FAILURE(https.start());
  HttpServer& server = *https.server;
  const std::filesystem::path& dir = https.dir;
  const TlsClientFiles saved = tls_client_files();
  set_tls_client_files({(dir / "ca.crt").string(), "", ""});
  std::vector<std::unique_ptr<Client>> silent;
  for (int i = 0; i < 4; ++i) silent.push_back(std::make_unique<Client>(server.port()));
  for (auto& client : silent) EXPECT_TRUE(client->closed_within(3000ms));
  // The server closed them; its slots free up once their threads have finished.
  EXPECT_TRUE(wait_for([&] { return server.connections() == 0; }, 2000ms));
  auto served = http_request("GET", fmt::format("https://127.0.0.1:{}/ok", server.port()), "", {}, 5s);
  set_tls_client_files(saved);
  ASSERT_TRUE(served.ok()) << served.error().message;
  EXPECT_EQ(served->status, 200);
  EXPECT_EQ(served->body, "/ok");
}

// http_get_unverified reads a server whose CA this process does not trust (what `pgstack join` does
// to download the CA it then checks against its token); a verified request to the same server still
// fails, on a connection of its own.
TEST(HttpClientTls, AnUnverifiedGetReadsAServerOfAnotherCaAndVerifiedRequestsStillRefuseIt) {
  HttpsEchoServer https;
  ASSERT_NO_FATAL_FAILURE(https.start());
  const std::filesystem::path& dir = https.dir;
  auto other = pki::create_ca("another CA");
  ASSERT_TRUE(other.ok());
  ASSERT_TRUE(pki::write_certificate(other->certificate_pem, dir / "other.crt").ok());
  HttpServer& server = *https.server;
  const TlsClientFiles saved = tls_client_files();
  set_tls_client_files({(dir / "other.crt").string(), "", ""});
  const std::string url = fmt::format("https://127.0.0.1:{}/ca", server.port());
  EXPECT_FALSE(http_request("GET", url, "", {}, 5s).ok());
  auto unverified = http_get_unverified(url, 5s);
  ASSERT_TRUE(unverified.ok()) << unverified.error().message;
  EXPECT_EQ(unverified->body, "/ca");
  EXPECT_FALSE(http_request("GET", url, "", {}, 5s).ok()) << "a verified request reused the unverified connection";
  set_tls_client_files(saved);
}

}  // namespace
// http_request keeps its connection: more requests to the same server open none; one the server closed
// while it was idle is noticed and replaced, and the request still succeeds.
TEST(HttpClientKeepAlive, ReusesTheConnectionAndReplacesOneTheServerClosed) {
  TestServer test(short_limits());  // closes an idle keep-alive connection after 1 s
  const std::string url = "http://127.0.0.1:" + std::to_string(test.port()) + "/a";
  const auto opened = http_connections_opened();
  for (int i = 0; i < 5; ++i) {
    auto reply = http_request("GET", url);
    ASSERT_TRUE(reply.ok()) << reply.error().message;
    EXPECT_EQ(reply->body, "hello /a 0");
  }
  EXPECT_EQ(http_connections_opened() - opened, 1u);
  std::this_thread::sleep_for(1500ms);
  auto after = http_request("POST", url, "xyz");
  ASSERT_TRUE(after.ok()) << after.error().message;
  EXPECT_EQ(after->body, "hello /a 3");
  EXPECT_EQ(http_connections_opened() - opened, 2u);
}

// Threads at once each get a connection of their own, and give it back for the others.
TEST(HttpClientKeepAlive, ConcurrentRequestsShareAFewConnections) {
  TestServer test(HttpServerLimits{});
  const std::string url = "http://127.0.0.1:" + std::to_string(test.port()) + "/b";
  const auto opened = http_connections_opened();
  std::atomic<int> answered{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 25; ++i) {
        auto reply = http_request("GET", url);
        if (reply.ok() && reply->body == "hello /b 0") ++answered;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(answered.load(), 100);
  EXPECT_LE(http_connections_opened() - opened, 4u);
}

}  // namespace pgstack
