// EtcdClient and EtcdWatch against a real single-member etcd started by each test.
#include "store/etcd_client.h"

#include <chrono>
#include <condition_variable>
#include <cstring>
#include <functional>
#include <mutex>
#include <thread>
#include <unistd.h>

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "common/http_client.h"
#include "common/pki.h"
#include "common/process.h"
#include "support/etcd_server.h"

namespace pgstack::store {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// Polls `condition` until it holds or `timeout` passes.
bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
  const Clock::time_point deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(50ms);
  }
  return condition();
}

// Collects what a watch delivers, for the test thread to wait on.
class EventLog {
 public:
  WatchCallback callback() {
    return [this](const std::vector<WatchEvent>& events) {
      std::lock_guard lock(mutex_);
      events_.insert(events_.end(), events.begin(), events.end());
      changed_.notify_all();
    };
  }
  bool wait_for(std::size_t count, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return events_.size() >= count; });
  }
  std::vector<WatchEvent> events() {
    std::lock_guard lock(mutex_);
    return events_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<WatchEvent> events_;
};

// A port where the kernel completes connections but nobody ever answers.
class SilentListener {
 public:
  SilentListener() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    const bool listening = ::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
                           ::listen(fd_, 16) == 0 &&
                           ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length) == 0;
    EXPECT_TRUE(listening) << std::strerror(errno);
    port_ = ntohs(address.sin_port);
  }
  ~SilentListener() { ::close(fd_); }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  int fd_ = -1;
  int port_ = 0;
};

class EtcdClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto started = testing::EtcdServer::start();
    ASSERT_TRUE(started.ok()) << started.error().message;
    server_ = std::move(started).value();
    client_ = std::make_unique<EtcdClient>(std::vector<std::string>{server_->endpoint()});
  }

  // The store's current revision, so a watch can start right after it without racing the writes.
  std::int64_t current_revision() {
    auto range = client_->get_prefix("/nothing-here/");
    EXPECT_TRUE(range.ok()) << range.error().message;
    return range.ok() ? range->revision : 0;
  }

  std::unique_ptr<testing::EtcdServer> server_;
  std::unique_ptr<EtcdClient> client_;
};

TEST(PrefixRangeEnd, IncrementsTheLastByteThatCanBeIncremented) {
  EXPECT_EQ(prefix_range_end("/a/"), "/a0");
  EXPECT_EQ(prefix_range_end("a\xff"), "b");
  EXPECT_EQ(prefix_range_end("\xff\xff"), std::string(1, '\0'));
  EXPECT_EQ(prefix_range_end(""), std::string(1, '\0'));
}

TEST_F(EtcdClientTest, PutThenGetReturnsValueAndRevisions) {
  auto first = client_->put("/t/key", "hello");
  ASSERT_TRUE(first.ok()) << first.error().message;
  auto kv = client_->get("/t/key");
  ASSERT_TRUE(kv.ok()) << kv.error().message;
  ASSERT_TRUE(kv->has_value());
  EXPECT_EQ((*kv)->key, "/t/key");
  EXPECT_EQ((*kv)->value, "hello");
  EXPECT_EQ((*kv)->create_revision, *first);
  EXPECT_EQ((*kv)->mod_revision, *first);
  EXPECT_EQ((*kv)->version, 1);
  EXPECT_EQ((*kv)->lease, 0);

  auto second = client_->put("/t/key", "again");
  ASSERT_TRUE(second.ok()) << second.error().message;
  EXPECT_GT(*second, *first);
  kv = client_->get("/t/key");
  ASSERT_TRUE(kv.ok() && kv->has_value());
  EXPECT_EQ((*kv)->value, "again");
  EXPECT_EQ((*kv)->create_revision, *first);
  EXPECT_EQ((*kv)->mod_revision, *second);
  EXPECT_EQ((*kv)->version, 2);
}

TEST_F(EtcdClientTest, ValuesOfEveryPaddingLengthAndBinaryBytesRoundTrip) {
  const std::string bytes("\0\xff=a/\n\x80z", 8);
  for (std::size_t length = 0; length <= bytes.size(); ++length) {
    const std::string key = "/bin/" + std::string(bytes.data(), length);
    const std::string value = bytes.substr(0, length);
    ASSERT_TRUE(client_->put(key, value).ok()) << length;
    auto kv = client_->get(key);
    ASSERT_TRUE(kv.ok()) << kv.error().message;
    ASSERT_TRUE(kv->has_value()) << length;
    EXPECT_EQ((*kv)->key, key) << length;
    EXPECT_EQ((*kv)->value, value) << length;
  }
}

// etcd serves only TLS and answers only holders of a certificate from pgstack's CA (issue 10).
TEST_F(EtcdClientTest, EtcdctlWithoutAClientCertificateGetsNothing) {
  ASSERT_TRUE(client_->put("/secret", "value").ok());
  const std::string endpoint = "--endpoints=" + server_->endpoint();
  const std::string ca = "--cacert=" + server_->ca_file().string();
  auto without = run_command({"etcdctl", endpoint, ca, "--dial-timeout=1s", "--command-timeout=2s", "get", "/secret"},
                             {.extra_environment = {{"ETCDCTL_API", "3"}}});
  ASSERT_TRUE(without.ok());
  EXPECT_NE(without->exit_code, 0);
  EXPECT_EQ(without->standard_output.find("value"), std::string::npos) << without->standard_output;
  auto in_clear = run_command({"etcdctl", "--endpoints=http://" + server_->endpoint().substr(8), "--dial-timeout=1s",
                               "--command-timeout=2s", "get", "/secret"},
                              {.extra_environment = {{"ETCDCTL_API", "3"}}});
  ASSERT_TRUE(in_clear.ok());
  EXPECT_NE(in_clear->exit_code, 0);
  EXPECT_EQ(in_clear->standard_output.find("value"), std::string::npos) << in_clear->standard_output;
  auto with = run_command({"etcdctl", endpoint, ca, "--cert=" + server_->client_certificate().string(),
                           "--key=" + server_->client_private_key().string(), "--dial-timeout=3s", "get", "/secret"},
                          {.extra_environment = {{"ETCDCTL_API", "3"}}});
  ASSERT_TRUE(with.ok());
  EXPECT_EQ(with->exit_code, 0) << with->standard_error;
  EXPECT_NE(with->standard_output.find("value"), std::string::npos) << with->standard_output;
  // A certificate from another CA is refused too.
  auto stranger = pki::create_ca("someone else");
  ASSERT_TRUE(stranger.ok());
  auto foreign = pki::issue_certificate(*stranger, {"intruder", {}, {}, pki::Usage::kClient});
  ASSERT_TRUE(foreign.ok());
  const auto dir = server_->directory();
  ASSERT_TRUE(pki::write_key_pair(*foreign, dir / "intruder.crt", dir / "intruder.key").ok());
  auto intruder = run_command(
      {"etcdctl", endpoint, ca, "--cert=" + (dir / "intruder.crt").string(), "--key=" + (dir / "intruder.key").string(),
       "--dial-timeout=1s", "--command-timeout=2s", "get", "/secret"},
      {.extra_environment = {{"ETCDCTL_API", "3"}}});
  ASSERT_TRUE(intruder.ok());
  EXPECT_NE(intruder->exit_code, 0);
  EXPECT_EQ(intruder->standard_output.find("value"), std::string::npos);
}

TEST_F(EtcdClientTest, GetOfMissingKeyIsEmpty) {
  auto kv = client_->get("/t/missing");
  ASSERT_TRUE(kv.ok()) << kv.error().message;
  EXPECT_FALSE(kv->has_value());
}

TEST_F(EtcdClientTest, GetPrefixReturnsOnlyKeysUnderThePrefixSorted) {
  for (const char* key : {"/p/b", "/p/a", "/pa/x", "/q", "/p"}) ASSERT_TRUE(client_->put(key, key).ok());
  auto range = client_->get_prefix("/p/");
  ASSERT_TRUE(range.ok()) << range.error().message;
  ASSERT_EQ(range->items.size(), 2u);
  EXPECT_EQ(range->items[0].key, "/p/a");
  EXPECT_EQ(range->items[1].key, "/p/b");
  EXPECT_EQ(range->items[1].value, "/p/b");
  EXPECT_EQ(range->revision, current_revision());

  auto everything = client_->get_prefix("");
  ASSERT_TRUE(everything.ok()) << everything.error().message;
  EXPECT_EQ(everything->items.size(), 5u);
}

TEST_F(EtcdClientTest, PutIfCreatesOnlyWhenAbsentAndUpdatesOnlyTheExpectedRevision) {
  auto created = client_->put_if("/t/cas", "one", 0);
  ASSERT_TRUE(created.ok()) << created.error().message;

  auto again = client_->put_if("/t/cas", "two", 0);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, ErrorCode::kConflict);
  EXPECT_NE(again.error().message.find("already exists"), std::string::npos) << again.error().message;

  auto updated = client_->put_if("/t/cas", "three", *created);
  ASSERT_TRUE(updated.ok()) << updated.error().message;
  EXPECT_GT(*updated, *created);

  auto stale = client_->put_if("/t/cas", "four", *created);
  ASSERT_FALSE(stale.ok());
  EXPECT_EQ(stale.error().code, ErrorCode::kConflict);
  EXPECT_NE(stale.error().message.find("has changed"), std::string::npos) << stale.error().message;
  EXPECT_NE(stale.error().message.find(std::to_string(*updated)), std::string::npos) << stale.error().message;

  auto kv = client_->get("/t/cas");
  ASSERT_TRUE(kv.ok() && kv->has_value());
  EXPECT_EQ((*kv)->value, "three");

  auto missing = client_->put_if("/t/never", "x", 5);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::kConflict);
  EXPECT_NE(missing.error().message.find("no longer exists"), std::string::npos) << missing.error().message;
}

TEST_F(EtcdClientTest, RemoveReportsWhetherSomethingWasDeleted) {
  ASSERT_TRUE(client_->put("/r/a", "1").ok());
  auto removed = client_->remove("/r/a");
  ASSERT_TRUE(removed.ok()) << removed.error().message;
  EXPECT_TRUE(*removed);
  removed = client_->remove("/r/a");
  ASSERT_TRUE(removed.ok()) << removed.error().message;
  EXPECT_FALSE(*removed);
}

TEST_F(EtcdClientTest, RemoveIfDeletesOnlyTheExpectedRevision) {
  auto written = client_->put("/r/b", "1");
  ASSERT_TRUE(written.ok());
  auto stale = client_->remove_if("/r/b", *written - 1);
  ASSERT_FALSE(stale.ok());
  EXPECT_EQ(stale.error().code, ErrorCode::kConflict);
  auto removed = client_->remove_if("/r/b", *written);
  ASSERT_TRUE(removed.ok()) << removed.error().message;
  EXPECT_TRUE(*removed);
  auto kv = client_->get("/r/b");
  ASSERT_TRUE(kv.ok());
  EXPECT_FALSE(kv->has_value());
}

TEST_F(EtcdClientTest, RemovePrefixDeletesOnlyUnderThePrefix) {
  for (const char* key : {"/d/a", "/d/b", "/d/c/d", "/da", "/e"}) ASSERT_TRUE(client_->put(key, "v").ok());
  auto removed = client_->remove_prefix("/d/");
  ASSERT_TRUE(removed.ok()) << removed.error().message;
  EXPECT_EQ(*removed, 3);
  auto rest = client_->get_prefix("");
  ASSERT_TRUE(rest.ok());
  ASSERT_EQ(rest->items.size(), 2u);
  EXPECT_EQ(rest->items[0].key, "/da");

  auto everything = client_->remove_prefix("");
  ASSERT_FALSE(everything.ok());
  EXPECT_EQ(everything.error().code, ErrorCode::kInvalidInput);
}

TEST_F(EtcdClientTest, LeaseExpiresAndTakesItsKeysWithIt) {
  auto lease = client_->grant_lease(2s);
  ASSERT_TRUE(lease.ok()) << lease.error().message;
  ASSERT_TRUE(client_->put("/l/leader", "me", *lease).ok());
  auto kv = client_->get("/l/leader");
  ASSERT_TRUE(kv.ok() && kv->has_value());
  EXPECT_EQ((*kv)->lease, *lease);

  EXPECT_TRUE(eventually(
      [&] {
        auto current = client_->get("/l/leader");
        return current.ok() && !current->has_value();
      },
      10s));
  auto alive = client_->keep_alive(*lease);
  ASSERT_TRUE(alive.ok()) << alive.error().message;
  EXPECT_FALSE(*alive);
}

TEST_F(EtcdClientTest, KeepAliveKeepsTheLeaseAndRevokeEndsIt) {
  auto lease = client_->grant_lease(2s);
  ASSERT_TRUE(lease.ok()) << lease.error().message;
  ASSERT_TRUE(client_->put("/l/held", "me", *lease).ok());
  // Twice the TTL, refreshing every half second.
  const Clock::time_point until = Clock::now() + 4s;
  while (Clock::now() < until) {
    auto alive = client_->keep_alive(*lease);
    ASSERT_TRUE(alive.ok()) << alive.error().message;
    ASSERT_TRUE(*alive);
    std::this_thread::sleep_for(500ms);
  }
  auto kv = client_->get("/l/held");
  ASSERT_TRUE(kv.ok());
  EXPECT_TRUE(kv->has_value());

  auto revoked = client_->revoke_lease(*lease);
  ASSERT_TRUE(revoked.ok()) << revoked.error().message;
  EXPECT_TRUE(*revoked);
  kv = client_->get("/l/held");
  ASSERT_TRUE(kv.ok());
  EXPECT_FALSE(kv->has_value());
  revoked = client_->revoke_lease(*lease);
  ASSERT_TRUE(revoked.ok()) << revoked.error().message;
  EXPECT_FALSE(*revoked);
  auto alive = client_->keep_alive(*lease);
  ASSERT_TRUE(alive.ok()) << alive.error().message;
  EXPECT_FALSE(*alive);
}

TEST_F(EtcdClientTest, CreateIfAbsentWithLeaseElectsOneLeader) {
  auto lease = client_->grant_lease(10s);
  ASSERT_TRUE(lease.ok()) << lease.error().message;
  auto first = client_->create_if_absent_with_lease("/l/elect", "a", *lease);
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_TRUE(*first);
  auto second = client_->create_if_absent_with_lease("/l/elect", "b", *lease);
  ASSERT_TRUE(second.ok()) << second.error().message;
  EXPECT_FALSE(*second);
  auto kv = client_->get("/l/elect");
  ASSERT_TRUE(kv.ok() && kv->has_value());
  EXPECT_EQ((*kv)->value, "a");
  EXPECT_EQ((*kv)->lease, *lease);
}

TEST_F(EtcdClientTest, WatchSeesPutsAndDeletesInOrder) {
  EventLog log;
  auto watch = client_->watch_prefix("/w/", current_revision() + 1, log.callback());
  ASSERT_TRUE(client_->put("/w/a", "1").ok());
  ASSERT_TRUE(client_->put("/w/b", "2").ok());
  ASSERT_TRUE(client_->put("/x", "outside").ok());
  ASSERT_TRUE(client_->remove("/w/a").ok());
  auto last = client_->put("/w/c", "3");
  ASSERT_TRUE(last.ok());

  ASSERT_TRUE(log.wait_for(4, 10s));
  const auto events = log.events();
  ASSERT_EQ(events.size(), 4u);
  EXPECT_EQ(events[0].type, WatchEventType::kPut);
  EXPECT_EQ(events[0].kv.key, "/w/a");
  EXPECT_EQ(events[0].kv.value, "1");
  EXPECT_EQ(events[1].type, WatchEventType::kPut);
  EXPECT_EQ(events[1].kv.key, "/w/b");
  EXPECT_EQ(events[2].type, WatchEventType::kDelete);
  EXPECT_EQ(events[2].kv.key, "/w/a");
  EXPECT_EQ(events[3].type, WatchEventType::kPut);
  EXPECT_EQ(events[3].kv.key, "/w/c");
  for (std::size_t i = 1; i < events.size(); ++i) EXPECT_GT(events[i].kv.mod_revision, events[i - 1].kv.mod_revision);
  EXPECT_EQ(watch->last_revision(), *last);
}

TEST_F(EtcdClientTest, WatchWithoutStartRevisionSeesLaterChanges) {
  ASSERT_TRUE(client_->put("/w/before", "old").ok());
  EventLog log;
  auto watch = client_->watch_prefix("/w/", 0, log.callback());
  // The watch is set up asynchronously: keep writing until it reports one of the writes.
  ASSERT_TRUE(eventually([&] { return client_->put("/w/after", "new").ok() && log.wait_for(1, 200ms); }, 10s));
  for (const auto& event : log.events()) EXPECT_EQ(event.kv.key, "/w/after");
}

TEST_F(EtcdClientTest, WatchFromAnOldRevisionReplaysHistory) {
  auto first = client_->put("/h/a", "1");
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(client_->put("/h/a", "2").ok());
  ASSERT_TRUE(client_->remove("/h/a").ok());
  EventLog log;
  auto watch = client_->watch_prefix("/h/", *first, log.callback());
  ASSERT_TRUE(log.wait_for(3, 10s));
  const auto events = log.events();
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].kv.value, "1");
  EXPECT_EQ(events[1].kv.value, "2");
  EXPECT_EQ(events[2].type, WatchEventType::kDelete);
}

TEST_F(EtcdClientTest, WatchResumesAfterEtcdRestartsWithoutRepeatingEvents) {
  EventLog log;
  auto watch = client_->watch_prefix("/w/", current_revision() + 1, log.callback());
  ASSERT_TRUE(client_->put("/w/a", "before").ok());
  ASSERT_TRUE(log.wait_for(1, 10s));

  auto restarted = server_->restart();
  ASSERT_TRUE(restarted.ok()) << restarted.error().message;
  ASSERT_TRUE(client_->put("/w/b", "after").ok());
  ASSERT_TRUE(log.wait_for(2, 15s));
  const auto events = log.events();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].kv.key, "/w/a");
  EXPECT_EQ(events[1].kv.key, "/w/b");
}

TEST_F(EtcdClientTest, WatchStopsPromptlyWhileStreamingAndWhileReconnecting) {
  EventLog log;
  auto watch = client_->watch_prefix("/w/", current_revision() + 1, log.callback());
  ASSERT_TRUE(client_->put("/w/a", "1").ok());
  ASSERT_TRUE(log.wait_for(1, 10s));
  Clock::time_point started = Clock::now();
  watch->stop();
  EXPECT_LT(Clock::now() - started, 1s);

  auto reconnecting = client_->watch_prefix("/w/", 0, log.callback());
  ASSERT_TRUE(server_->stop().ok());
  std::this_thread::sleep_for(300ms);  // let it fail and enter its retry wait: what we want to interrupt
  started = Clock::now();
  reconnecting.reset();
  EXPECT_LT(Clock::now() - started, 1s);
}

TEST_F(EtcdClientTest, FailsOverToTheNextEndpoint) {
  const std::string dead = "http://127.0.0.1:" + std::to_string(testing::free_tcp_port());
  EtcdClient client({dead, server_->endpoint()}, 2s);
  ASSERT_TRUE(client.put("/f/a", "1").ok());
  auto kv = client.get("/f/a");
  ASSERT_TRUE(kv.ok()) << kv.error().message;
  ASSERT_TRUE(kv->has_value());

  EventLog log;
  auto watch = client.watch_prefix("/f/", current_revision() + 1, log.callback());
  ASSERT_TRUE(client.put("/f/b", "2").ok());
  EXPECT_TRUE(log.wait_for(1, 10s));
}

TEST_F(EtcdClientTest, HttpRequestReturnsStatusBodyAndLowerCasedHeaders) {
  auto response = http_request("GET", server_->endpoint() + "/health");
  ASSERT_TRUE(response.ok()) << response.error().message;
  EXPECT_EQ(response->status, 200);
  EXPECT_NE(response->body.find("health"), std::string::npos) << response->body;
  EXPECT_EQ(response->headers.at("content-type"), "text/plain; charset=utf-8");

  auto missing = http_request("GET", server_->endpoint() + "/no-such-page");
  ASSERT_TRUE(missing.ok()) << missing.error().message;
  EXPECT_EQ(missing->status, 404);
}

TEST_F(EtcdClientTest, HttpLineStreamReportsAnErrorStatusWithItsBody) {
  HttpLineStream stream;
  bool called = false;
  auto result = stream.run("POST", server_->endpoint() + "/v3/watch", R"({"create_request":{"key":"!!"}})", {}, 5s,
                           [&](std::string_view) { return called = true; });
  ASSERT_FALSE(result.ok());
  EXPECT_FALSE(called);
  EXPECT_NE(result.error().message.find("illegal base64"), std::string::npos) << result.error().message;
}

TEST(EtcdClientUnreachable, RefusedConnectionIsUnavailableAtOnce) {
  const std::string url = "http://127.0.0.1:" + std::to_string(testing::free_tcp_port());
  EtcdClient client({url}, 5s);
  const Clock::time_point started = Clock::now();
  auto kv = client.get("/a");
  EXPECT_LT(Clock::now() - started, 1s);
  ASSERT_FALSE(kv.ok());
  EXPECT_EQ(kv.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(kv.error().message.find(url), std::string::npos) << kv.error().message;
}

TEST(EtcdClientUnreachable, SilentServerTimesOut) {
  SilentListener silent;
  EtcdClient client({silent.url()}, 300ms);
  const Clock::time_point started = Clock::now();
  auto written = client.put("/a", "b");
  const auto elapsed = Clock::now() - started;
  EXPECT_GE(elapsed, 250ms);
  EXPECT_LT(elapsed, 2s);
  ASSERT_FALSE(written.ok());
  EXPECT_EQ(written.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(written.error().message.find("timed out"), std::string::npos) << written.error().message;
}

TEST(HttpLineStream, CancelFromAnotherThreadEndsAQuietStream) {
  SilentListener silent;
  HttpLineStream stream;
  std::thread canceller([&] {
    std::this_thread::sleep_for(200ms);
    stream.cancel();
  });
  const Clock::time_point started = Clock::now();
  auto result = stream.run("POST", silent.url() + "/v3/watch", "{}", {}, 10s, [](std::string_view) { return true; });
  canceller.join();
  EXPECT_LT(Clock::now() - started, 1s);
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_TRUE(*result);
}

TEST(HttpUrl, ParsesHostPortAndTarget) {
  auto url = parse_http_url("http://127.0.0.1:2379/v3/kv/range");
  ASSERT_TRUE(url.ok());
  EXPECT_EQ(url->host, "127.0.0.1");
  EXPECT_EQ(url->port, "2379");
  EXPECT_EQ(url->target, "/v3/kv/range");
  url = parse_http_url("http://[::1]:80");
  ASSERT_TRUE(url.ok());
  EXPECT_EQ(url->host, "::1");
  EXPECT_EQ(url->target, "/");
  url = parse_http_url("http://etcd");
  ASSERT_TRUE(url.ok());
  EXPECT_EQ(url->port, "80");
  EXPECT_FALSE(url->tls);
  url = parse_http_url("https://etcd");
  ASSERT_TRUE(url.ok());
  EXPECT_EQ(url->port, "443");
  EXPECT_TRUE(url->tls);
  EXPECT_FALSE(parse_http_url("ftp://etcd:2379").ok());
  EXPECT_FALSE(parse_http_url("https://user@etcd:2379").ok());
  EXPECT_FALSE(parse_http_url("http://etcd:port/").ok());
  EXPECT_FALSE(parse_http_url("http:///x").ok());
  EXPECT_FALSE(parse_http_url("http://etcd:70000/").ok());
}

}  // namespace
}  // namespace pgstack::store
