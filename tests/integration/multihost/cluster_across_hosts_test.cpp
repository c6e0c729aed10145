// pgstack itself across test hosts (issue 16): three hosts each run an etcd member and an agent, a
// fourth runs the controller and the clients. A 3-member SGCluster spreads over the three hosts, and
// a workload writes unique ids through the cluster's client address (`pgstack connstr`: every host's
// proxy) while a fault hits it; the write checker (support/write_history.h) then says whether any
// acknowledged write was lost, written twice, or accepted by two primaries at once.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <iostream>
#include <map>
#include <set>
#include <string>
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "postgres/postgres_session.h"
#include "support/hosts_installation.h"
#include "support/pgstack_runtime.h"
#include "support/write_history.h"
#include "support/write_workload.h"

namespace pgstack::testing {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr const char* kCluster = "spread";
constexpr int kClientHost = HostsInstallation::kClientHost;
// Which Postgres took a write, as the workload records it. inet_server_addr() is empty behind
// PgBouncer (it reaches Postgres over the Unix socket); listen_addresses names the member's host.
constexpr const char* kMemberExpression = "current_setting('listen_addresses') || ':' || current_setting('port')";

std::string cluster_document(const std::string& mode) {
  return json{{"apiVersion", "stackgres.io/v1"},
              {"kind", "SGCluster"},
              {"metadata", {{"name", kCluster}}},
              {"spec",
               {{"instances", 3},
                {"postgres", {{"version", "latest"}}},
                {"replication", {{"mode", mode}}},
                {"pods", {{"persistentVolume", {{"size", "5Gi"}}}}}}}}
      .dump();
}

std::string primary_of(const json& status) { return primary_in(status); }

json member_named(const json& status, const std::string& name) {
  for (const auto& member : status.value("members", json::array())) {
    if (member.value("name", "") == name) return member;
  }
  return json::object();
}

// Every member on the primary's timeline and streaming, each on a host of its own.
bool spread_and_streaming(const json& status) {
  const json list = status.value("members", json::array());
  if (list.size() != 3 || primary_of(status).empty()) return false;
  const json timeline = member_named(status, primary_of(status)).value("timeline", json());
  std::set<std::string> hosts;
  for (const auto& member : list) {
    hosts.insert(member.value("host", ""));
    if (member.value("timeline", json()) != timeline) return false;
    if (member.value("role", "") != "primary" && member.value("state", "") != "streaming") return false;
  }
  return hosts.size() == 3;
}

// Keyword/value conninfo over the members' own Postgres (not the proxies), as `user`.
std::string direct_conninfo(const json& status, const json& user) {
  std::vector<std::string> hosts;
  std::vector<std::string> ports;
  for (const auto& endpoint : status["endpoints"].value("readWriteDirect", json::array())) {
    const std::string text = endpoint.get<std::string>();
    hosts.push_back(text.substr(0, text.rfind(':')));
    ports.push_back(text.substr(text.rfind(':') + 1));
  }
  return fmt::format("host={} port={} dbname=app user={} password='{}' target_session_attrs=read-write",
                     fmt::join(hosts, ","), fmt::join(ports, ","), user.value("username", ""),
                     user.value("password", ""));
}

// Each distinct error of the history once, with how often: why writes failed.
std::string errors_of(const std::vector<WriteRecord>& history) {
  std::map<std::string, int> counts;
  for (const auto& record : history) {
    if (!record.error.empty()) ++counts[record.error];
  }
  std::string text;
  for (const auto& [error, count] : counts) text += fmt::format("  {} x {}\n", count, error);
  return text;
}

double seconds(std::chrono::microseconds duration) { return static_cast<double>(duration.count()) / 1e6; }

class ClusterAcrossHosts : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto started = Clock::now();
    auto installation = HostsInstallation::start({PGSTACK_CONTROLLER_BINARY, PGSTACK_AGENT_BINARY, PGSTACK_CLI_BINARY});
    ASSERT_TRUE(installation) << installation.error().message;
    installation_ = std::move(installation).value();
    std::cout << fmt::format("3 hosts with etcd and an agent each, the controller on a fourth: {:.1f} s\n",
                             std::chrono::duration<double>(Clock::now() - started).count());
  }
  void TearDown() override {
    if (HasFailure() && installation_) {
      std::cout << "---- status ----\n" << installation_->get(std::string("sgclusters/") + kCluster).dump(2) << "\n";
      std::cout << installation_->logs_tail();
    }
    installation_.reset();
  }

  json status() const {
    const json status = installation_->get(std::string("sgclusters/") + kCluster).value("status", json());
    return status.is_object() ? status : json::object();
  }

  // Creates the cluster, waits until it is spread and streaming, and makes the workload's table.
  void create_cluster(const std::string& mode) {
    auto created = installation_->api("POST", "sgclusters", cluster_document(mode));
    ASSERT_TRUE(created.ok() && created->status == 201) << (created.ok() ? created->body : created.error().message);
    const auto started = Clock::now();
    ASSERT_TRUE(wait_until([this] { return spread_and_streaming(status()); }, 300s, 1s)) << status().dump(2);
    std::cout << fmt::format("{} members on 3 hosts, streaming, after {:.1f} s\n", kCluster,
                             std::chrono::duration<double>(Clock::now() - started).count());
    const json credentials = installation_->get(std::string("sgclusters/") + kCluster + "/credentials");
    superuser_ = direct_conninfo(status(), credentials.value("superuser", json::object()));
    Result<bool> made = false;
    ASSERT_TRUE(installation_->hosts().run_inside(kClientHost, [&] {
      WriteWorkload owner({.conninfo = superuser_});
      made = owner.create_table();
      if (!made) return;
      auto session = postgres::PostgresSession::connect_string(superuser_, {});
      if (!session) {
        made = session.error();
        return;
      }
      auto granted = (*session)->query("GRANT ALL ON pgstack_write_history TO app");
      if (!granted) made = granted.error();
    }));
    ASSERT_TRUE(made) << made.error().message;
    // The client's address, as a user gets it: every host's proxy, the primary found by each.
    auto connstr = installation_->cli({"connstr", kCluster, "--show-password"});
    ASSERT_TRUE(connstr && connstr->exit_code == 0) << (connstr ? connstr->standard_error : connstr.error().message);
    client_uri_ = connstr->standard_output;
    while (!client_uri_.empty() && client_uri_.back() == '\n') client_uri_.pop_back();
  }

  // Reads back every id through the members, from the client host.
  Result<std::vector<std::int64_t>> read_back() const {
    Result<std::vector<std::int64_t>> ids = std::vector<std::int64_t>{};
    auto ran = installation_->hosts().run_inside(kClientHost, [&] {
      WriteWorkload reader({.conninfo = superuser_, .table = "pgstack_write_history"});
      ids = reader.read_back();
    });
    if (!ran) return ran.error();
    return ids;
  }

  std::unique_ptr<HostsInstallation> installation_;
  std::string superuser_;
  std::string client_uri_;
};

// Writes through the client address on a thread inside the client host until stopped.
class BackgroundWrites {
 public:
  BackgroundWrites(const TestHosts& hosts, const std::string& uri)
      : workload_({.conninfo = uri, .member_expression = kMemberExpression}) {
    thread_ = std::thread([this, &hosts] {
      (void)hosts.run_inside(kClientHost, [this] { workload_.run([this] { return !stop_; }, 20ms); });
    });
  }
  ~BackgroundWrites() { stop(); }
  // After this the history may be read.
  const WriteWorkload& stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    return workload_;
  }
  std::chrono::microseconds now() const {
    return std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - workload_.clock_start());
  }

 private:
  WriteWorkload workload_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// The first write acknowledged by another member than `old_member_address` after `since`: when
// clients could write again.
const WriteRecord* first_write_elsewhere(const std::vector<WriteRecord>& history, std::chrono::microseconds since,
                                         const std::string& old_member_address) {
  for (const auto& record : history) {
    if (record.outcome == WriteOutcome::kAcknowledged && record.start >= since &&
        record.member.find(old_member_address + ":") == std::string::npos &&
        record.member.find(old_member_address + ",") == std::string::npos)
      return &record;
  }
  return nullptr;
}

TEST_F(ClusterAcrossHosts, LosingThePrimarysHostPromotesAReplicaElsewhereAndLosesNoAcknowledgedWrite) {
  ASSERT_NO_FATAL_FAILURE(create_cluster("sync"));
  BackgroundWrites writes(installation_->hosts(), client_uri_);
  std::this_thread::sleep_for(5s);

  const json before = status();
  const std::string old_primary = primary_of(before);
  const int lost_host = installation_->host_named(member_named(before, old_primary).value("host", ""));
  ASSERT_GE(lost_host, 0) << before.dump(2);
  const std::string lost_address = installation_->hosts().address(lost_host);
  const auto killed_at = writes.now();
  installation_->kill_host(lost_host);
  std::cout << fmt::format("killed every process of {} ({}), the primary {}'s host\n",
                           installation_->host_name(lost_host), lost_address, old_primary);

  std::string new_primary;
  ASSERT_TRUE(wait_until(
      [&] {
        new_primary = primary_of(status());
        return !new_primary.empty() && new_primary != old_primary;
      },
      90s, 250ms))
      << status().dump(2);
  std::this_thread::sleep_for(5s);  // writes go on against the two that are left

  ASSERT_TRUE(installation_->restart_host(lost_host));
  const auto restarted = Clock::now();
  ASSERT_TRUE(wait_until(
      [&] {
        const json now = status();
        return spread_and_streaming(now) && member_named(now, old_primary).value("role", "") == "replica";
      },
      240s, 1s))
      << status().dump(2);
  std::cout << fmt::format("{} back as a replica of {}, streaming, {:.1f} s after its host came back\n", old_primary,
                           new_primary, std::chrono::duration<double>(Clock::now() - restarted).count());

  const WriteWorkload& workload = writes.stop();
  auto ids = read_back();
  ASSERT_TRUE(ids) << ids.error().message;
  const HistoryVerdict verdict = check_write_history(workload.history(), *ids);
  std::cout << "checker: " << verdict.summary() << "\n" << errors_of(workload.history());
  EXPECT_TRUE(verdict.clean()) << verdict.summary();
  EXPECT_TRUE(verdict.lost.empty()) << "synchronous replication lost acknowledged writes";
  const WriteRecord* resumed = first_write_elsewhere(workload.history(), killed_at, lost_address);
  ASSERT_NE(resumed, nullptr) << "no write was acknowledged by another member after the kill";
  std::cout << fmt::format("host loss: first write acknowledged by {} (timeline {}) {:.2f} s after the kill\n",
                           resumed->member, resumed->timeline, seconds(resumed->end - killed_at));
}

}  // namespace
}  // namespace pgstack::testing
