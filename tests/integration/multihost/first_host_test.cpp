// `pgstack up --address` on a test host (issue 16, the first host of an installation): etcd, the API,
// the agent's members and proxies serve on the host's own address, and a client on another host
// reaches all of it with the CLI and libpq, as a user on another machine would. Moving an existing
// installation to another address is refused with the reason. Then other hosts join it with
// `pgstack join-token` and `pgstack join`, as docs/multihost.md tells a user, and a cluster spreads over them.
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <set>
#include <sstream>
#include <string>
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/files.h"
#include "common/strings.h"
#include "support/test_hosts.h"

namespace pgstack::testing {
namespace {

using json = nlohmann::json;
constexpr int kFirstHost = 0;

// A file's text, "" when it cannot be read.
std::string text_of(const std::filesystem::path& path) {
  auto text = read_file(path);
  return text ? *text : std::string();
}
constexpr int kOtherHost = 1;
constexpr int kThirdHost = 2;

class FirstHost : public ::testing::Test {
 protected:
  void SetUp() override {
    auto hosts = TestHosts::create(3);
    ASSERT_TRUE(hosts) << hosts.error().message;
    hosts_ = std::move(hosts).value();
    std::string pattern = (std::filesystem::temp_directory_path() / "pgsth-up-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    state_ = pattern;
    std::filesystem::permissions(state_, std::filesystem::perms(0755));  // Postgres runs as postgres
  }
  void TearDown() override {
    if (HasFailure()) {
      for (const char* log : {"controller.log", "agent.log", "etcd.log"})
        std::cout << "---- " << log << " ----\n" << text_of(state_ / "logs" / log) << "\n";
    }
    for (int host : {kOtherHost, kThirdHost}) {
      const std::filesystem::path joined = joined_state(host);
      if (HasFailure())
        std::cout << "---- " << joined / "logs" / "agent.log"
                  << " ----\n"
                  << text_of(joined / "logs" / "agent.log") << "\n";
      if (hosts_ && std::filesystem::exists(joined))
        (void)hosts_->run(host, {PGSTACK_CLI_BINARY, "down", "--state-dir", joined.string(), "--purge", "--yes"});
    }
    if (hosts_)
      (void)hosts_->run(kFirstHost, {PGSTACK_CLI_BINARY, "down", "--state-dir", state_.string(), "--purge", "--yes"});
    hosts_.reset();
    std::error_code ignored;
    std::filesystem::remove_all(state_, ignored);
  }

  // The CLI on the other host, against the first host's API with its CA and the admin's token.
  Result<CommandOutput> from_other_host(std::vector<std::string> arguments) const {
    std::vector<std::string> argv = {"env", "PGSTACK_API=https://" + hosts_->address(kFirstHost) + ":8080",
                                     "PGSTACK_CA_FILE=" + (state_ / "pki" / "ca.crt").string(),
                                     "PGSTACK_TOKEN=" + trim(text_of(state_ / "auth" / "admin-token")),
                                     PGSTACK_CLI_BINARY};
    argv.insert(argv.end(), arguments.begin(), arguments.end());
    return hosts_->run(kOtherHost, argv);
  }

  // A joined host's state dir: beside the first host's, as on a machine of its own.
  std::filesystem::path joined_state(int host) const { return state_.string() + "-" + std::to_string(host); }
  // `pgstack join` with an etcd member on the host, labelled zone=z<host number>.
  Result<CommandOutput> join(int host, const std::string& token) const {
    return hosts_->run(
        host, {PGSTACK_CLI_BINARY, "join", "https://" + hosts_->address(kFirstHost) + ":8080", "--token", token,
               "--address", hosts_->address(host), "--host-name", fmt::format("h{}", host + 1), "--state-dir",
               joined_state(host).string(), "--etcd-member", "--label", fmt::format("zone=z{}", host + 1)});
  }
  // etcdctl on `host` against `endpoints`, with that host's etcd certificate.
  Result<CommandOutput> etcdctl(int host, const std::string& endpoints, std::vector<std::string> arguments) const {
    const std::filesystem::path pki = (host == kFirstHost ? state_ : joined_state(host)) / "pki";
    std::vector<std::string> argv = {"etcdctl",
                                     "--endpoints",
                                     endpoints,
                                     "--cacert",
                                     (pki / "ca.crt").string(),
                                     "--cert",
                                     (pki / "etcd.crt").string(),
                                     "--key",
                                     (pki / "etcd.key").string(),
                                     "--command-timeout",
                                     "5s"};
    argv.insert(argv.end(), arguments.begin(), arguments.end());
    return hosts_->run(host, argv);
  }
  std::string etcd_url(int host) const {
    const json settings =
        json::parse(text_of((host == kFirstHost ? state_ : joined_state(host)) / "up.json"), nullptr, false);
    return settings.is_object() ? split(settings.value("etcdUrl", ""), ',').front() : std::string();
  }
  std::string new_join_token() const {
    auto made = from_other_host({"join-token", "--ttl", "10m"});
    if (!made || made->exit_code != 0) {
      ADD_FAILURE() << (made ? made->standard_error : made.error().message);
      return {};
    }
    return trim(made->standard_output);
  }
  // The cluster's status from the API, on the other host.
  json cluster_status(const std::string& cluster) const {
    auto fetched = hosts_->run(
        kOtherHost, {"curl", "-s", "--cacert", (state_ / "pki" / "ca.crt").string(), "-H",
                     "Authorization: Bearer " + trim(text_of(state_ / "auth" / "admin-token")),
                     fmt::format("https://{}:8080/apis/stackgres.io/v1/namespaces/default/sgclusters/{}/status",
                                 hosts_->address(kFirstHost), cluster)});
    return fetched ? json::parse(fetched->standard_output, nullptr, false) : json();
  }

  std::unique_ptr<TestHosts> hosts_;
  std::filesystem::path state_;
};

TEST_F(FirstHost, UpServesOnItsAddressAndAClientOnAnotherHostConnects) {
  const std::string address = hosts_->address(kFirstHost);
  auto up = hosts_->run(kFirstHost, {PGSTACK_CLI_BINARY, "up", "--address", address, "--state-dir", state_.string(),
                                     "--instances", "1", "--timeout", "300s"});
  ASSERT_TRUE(up) << up.error().message;
  ASSERT_EQ(up->exit_code, 0) << up->standard_output << up->standard_error;
  EXPECT_NE(up->standard_output.find("https://" + address + ":8080"), std::string::npos) << up->standard_output;
  const json settings = json::parse(text_of(state_ / "up.json"), nullptr, false);
  EXPECT_EQ(settings.value("address", ""), address);
  EXPECT_EQ(settings.value("etcdUrl", "").rfind("https://" + address + ":", 0), 0U) << settings.dump();

  // The API, from the other host: the host is registered with its address.
  auto hosts = from_other_host({"get", "hosts", "-o", "json"});
  ASSERT_TRUE(hosts && hosts->exit_code == 0) << (hosts ? hosts->standard_error : hosts.error().message);
  const json list = json::parse(hosts->standard_output, nullptr, false);
  ASSERT_TRUE(list.is_object()) << hosts->standard_output;
  ASSERT_EQ(list.value("items", json::array()).size(), 1U) << list.dump(2);
  EXPECT_EQ(list["items"][0].value("address", ""), address);

  // Postgres through the first host's proxy, from the other host, verified against the CA.
  auto uri = from_other_host({"connstr", "demo", "--show-password", "--show-ca"});
  ASSERT_TRUE(uri && uri->exit_code == 0) << (uri ? uri->standard_error : uri.error().message);
  EXPECT_NE(uri->standard_output.find(address + ":"), std::string::npos) << "the URI names another address";
  auto query = hosts_->run(kOtherHost, {"psql", "-X", "-A", "-t", "-d", trim(uri->standard_output), "-c",
                                        "SELECT 'reached ' || current_setting('listen_addresses')"});
  ASSERT_TRUE(query) << query.error().message;
  EXPECT_EQ(query->exit_code, 0) << query->standard_error;
  EXPECT_NE(query->standard_output.find("reached "), std::string::npos) << query->standard_output;
  EXPECT_NE(query->standard_output.find(address), std::string::npos) << query->standard_output;

  // The installation's etcd member was made on this address: moving it is refused and changes nothing.
  auto moved = hosts_->run(
      kFirstHost, {PGSTACK_CLI_BINARY, "up", "--address", "127.0.0.1", "--state-dir", state_.string(), "--no-cluster"});
  ASSERT_TRUE(moved) << moved.error().message;
  EXPECT_NE(moved->exit_code, 0);
  EXPECT_NE(moved->standard_error.find("would move its etcd member"), std::string::npos) << moved->standard_error;
  auto foreign = hosts_->run(kFirstHost, {PGSTACK_CLI_BINARY, "up", "--address", hosts_->address(kOtherHost),
                                          "--state-dir", state_.string(), "--no-cluster"});
  ASSERT_TRUE(foreign) << foreign.error().message;
  EXPECT_NE(foreign->exit_code, 0);
  EXPECT_NE(foreign->standard_error.find("not an address of this machine"), std::string::npos)
      << foreign->standard_error;
  const json after = json::parse(text_of(state_ / "up.json"), nullptr, false);
  EXPECT_EQ(after.value("address", ""), address);
}

TEST_F(FirstHost, OtherHostsJoinWithATokenAndAClusterSpreadsOverThem) {
  const std::string address = hosts_->address(kFirstHost);
  auto up = hosts_->run(kFirstHost, {PGSTACK_CLI_BINARY, "up", "--address", address, "--state-dir", state_.string(),
                                     "--no-cluster", "--timeout", "300s"});
  ASSERT_TRUE(up) << up.error().message;
  ASSERT_EQ(up->exit_code, 0) << up->standard_output << up->standard_error;

  const std::string token = new_join_token();
  ASSERT_FALSE(token.empty());
  // A token whose CA digest is not this installation's: refused before anything is written.
  std::string wrong = token;
  wrong.back() = wrong.back() == '0' ? '1' : '0';
  auto forged = join(kOtherHost, wrong);
  ASSERT_TRUE(forged) << forged.error().message;
  EXPECT_NE(forged->exit_code, 0);
  EXPECT_NE(forged->standard_error.find("is not the one the token names"), std::string::npos) << forged->standard_error;
  EXPECT_FALSE(std::filesystem::exists(joined_state(kOtherHost) / "up.json"));

  auto joined = join(kOtherHost, token);
  ASSERT_TRUE(joined) << joined.error().message;
  ASSERT_EQ(joined->exit_code, 0) << joined->standard_output << joined->standard_error;
  EXPECT_NE(joined->standard_output.find("host h2 is part of the installation"), std::string::npos)
      << joined->standard_output;
  const auto key = std::filesystem::status(joined_state(kOtherHost) / "pki" / "ca.key").permissions();
  EXPECT_EQ(key & std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  // Single use: the same token does not let a third host in.
  auto reused = join(kThirdHost, token);
  ASSERT_TRUE(reused) << reused.error().message;
  EXPECT_NE(reused->exit_code, 0);
  EXPECT_NE(reused->standard_error.find("unknown, used or expired"), std::string::npos) << reused->standard_error;
  auto third = join(kThirdHost, new_join_token());
  ASSERT_TRUE(third) << third.error().message;
  ASSERT_EQ(third->exit_code, 0) << third->standard_output << third->standard_error;
  // Three voting etcd members, one on each host.
  auto members = etcdctl(kFirstHost, etcd_url(kFirstHost), {"member", "list", "-w", "json"});
  ASSERT_TRUE(members && members->exit_code == 0) << (members ? members->standard_error : members.error().message);
  const json member_list = json::parse(members->standard_output, nullptr, false).value("members", json::array());
  ASSERT_EQ(member_list.size(), 3U) << members->standard_output;
  for (const auto& member : member_list) EXPECT_FALSE(member.value("isLearner", false)) << member.dump();
  // A joined host's state dir is not for `up`.
  auto up_there = hosts_->run(kThirdHost, {PGSTACK_CLI_BINARY, "up", "--state-dir", joined_state(kThirdHost).string()});
  ASSERT_TRUE(up_there) << up_there.error().message;
  EXPECT_NE(up_there->exit_code, 0);
  EXPECT_NE(up_there->standard_error.find("joined the installation"), std::string::npos) << up_there->standard_error;

  auto hosts = from_other_host({"get", "hosts", "-o", "json"});
  ASSERT_TRUE(hosts && hosts->exit_code == 0) << (hosts ? hosts->standard_error : hosts.error().message);
  const json list = json::parse(hosts->standard_output, nullptr, false);
  std::set<std::string> addresses;
  for (const auto& host : list.value("items", json::array())) {
    EXPECT_EQ(host.value("status", ""), "Ready") << host.dump();
    addresses.insert(host.value("address", ""));
  }
  EXPECT_EQ(addresses, (std::set<std::string>{address, hosts_->address(kOtherHost), hosts_->address(kThirdHost)}))
      << list.dump(2);

  // A cluster of three: one member on each host, all streaming.
  const std::filesystem::path manifest = state_ / "spread.yaml";
  ASSERT_TRUE(write_file_atomically(manifest,
                                    "apiVersion: stackgres.io/v1\nkind: SGCluster\nmetadata:\n  name: spread\n"
                                    "spec:\n  instances: 3\n  postgres:\n    version: latest\n  pods:\n"
                                    "    persistentVolume:\n      size: 1Gi\n"));
  auto applied = from_other_host({"apply", "-f", manifest.string()});
  ASSERT_TRUE(applied && applied->exit_code == 0) << (applied ? applied->standard_error : applied.error().message);
  json status;
  std::set<std::string> member_hosts;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(300);
  while (std::chrono::steady_clock::now() < deadline) {
    status = cluster_status("spread");
    member_hosts.clear();
    int streaming = 0;
    for (const auto& member : status.value("members", json::array())) {
      member_hosts.insert(member.value("host", ""));
      if (member.value("role", "") == "primary" || member.value("state", "") == "streaming") ++streaming;
    }
    if (member_hosts.size() == 3 && streaming == 3) break;
    std::this_thread::sleep_for(std::chrono::seconds(2));
  }
  EXPECT_EQ(member_hosts.size(), 3U) << status.dump(2);
  for (const auto& member : status.value("members", json::array()))
    std::cout << fmt::format("{}: {} on {}, {}\n", member.value("name", ""), member.value("role", ""),
                             member.value("host", ""), member.value("state", ""));
  auto uri = from_other_host({"connstr", "spread", "--show-password", "--show-ca"});
  ASSERT_TRUE(uri && uri->exit_code == 0) << (uri ? uri->standard_error : uri.error().message);
  auto query = hosts_->run(kThirdHost, {"psql", "-X", "-A", "-t", "-d", trim(uri->standard_output), "-c",
                                        "SELECT 'wrote on ' || pg_is_in_recovery()::text"});
  ASSERT_TRUE(query) << query.error().message;
  EXPECT_EQ(query->exit_code, 0) << query->standard_error;
  EXPECT_NE(query->standard_output.find("wrote on false"), std::string::npos) << query->standard_output;

  // pods.scheduling.nodeSelector: a cluster pinned to zone z3 runs on h3 only; one for a zone no host has
  // is not placed, and its status says why.
  ASSERT_TRUE(write_file_atomically(state_ / "pinned.yaml",
                                    "apiVersion: stackgres.io/v1\nkind: SGCluster\nmetadata:\n  name: pinned\n"
                                    "spec:\n  instances: 1\n  postgres:\n    version: latest\n  pods:\n"
                                    "    persistentVolume:\n      size: 1Gi\n    scheduling:\n"
                                    "      nodeSelector: {zone: z3}\n---\n"
                                    "apiVersion: stackgres.io/v1\nkind: SGCluster\nmetadata:\n  name: nowhere\n"
                                    "spec:\n  instances: 1\n  postgres:\n    version: latest\n  pods:\n"
                                    "    persistentVolume:\n      size: 1Gi\n    scheduling:\n"
                                    "      nodeSelector: {zone: z9}\n"));
  auto pinned = from_other_host({"apply", "-f", (state_ / "pinned.yaml").string()});
  ASSERT_TRUE(pinned && pinned->exit_code == 0) << (pinned ? pinned->standard_error : pinned.error().message);
  std::string pinned_host;
  std::string nowhere_reason;
  for (int attempt = 0; attempt < 60 && (pinned_host.empty() || nowhere_reason.empty()); ++attempt) {
    const json members = cluster_status("pinned").value("members", json::array());
    if (!members.empty()) pinned_host = members[0].value("host", "");
    for (const auto& condition : cluster_status("nowhere").value("conditions", json::array()))
      if (condition.value("reason", "") == "CannotPlaceMembers") nowhere_reason = condition.value("message", "");
    if (pinned_host.empty() || nowhere_reason.empty()) std::this_thread::sleep_for(std::chrono::seconds(1));
  }
  EXPECT_EQ(pinned_host, "h3");
  EXPECT_NE(nowhere_reason.find("no registered host has the labels of pods.scheduling.nodeSelector (zone=z9)"),
            std::string::npos)
      << nowhere_reason;
  EXPECT_NE(nowhere_reason.find("h2 (zone=z2)"), std::string::npos) << nowhere_reason;

  // The first host's etcd member killed: the two joined members are a quorum and take writes.
  const auto pid = split(text_of(state_ / "run" / "etcd.pid"), '\n');
  ASSERT_FALSE(pid.empty());
  ASSERT_EQ(::kill(std::stoi(pid.front()), SIGKILL), 0);
  const std::string survivors = etcd_url(kOtherHost) + "," + etcd_url(kThirdHost);
  bool written = false;
  for (int attempt = 0; attempt < 20 && !written; ++attempt) {
    auto put = etcdctl(kOtherHost, survivors, {"put", "/join-test/quorum", "kept"});
    written = put && put->exit_code == 0;
    if (!written) std::this_thread::sleep_for(std::chrono::seconds(1));
  }
  EXPECT_TRUE(written) << "the two joined etcd members took no write without the first host's";
  // The first host's controller and agent were started with that member only and learnt the joined ones
  // (EtcdClient::follow_members, every 30 s; the cluster above took longer): past the host lease's TTL, the API
  // the first host serves still reads etcd, and its agent still keeps its host registered.
  std::this_thread::sleep_for(std::chrono::seconds(15));
  auto after_kill = from_other_host({"get", "hosts", "-o", "json"});
  ASSERT_TRUE(after_kill) << after_kill.error().message;
  ASSERT_EQ(after_kill->exit_code, 0) << after_kill->standard_error;
  bool first_host_ready = false;
  for (const auto& host : json::parse(after_kill->standard_output, nullptr, false).value("items", json::array()))
    first_host_ready =
        first_host_ready || (host.value("address", "") == address && host.value("status", "") == "Ready");
  EXPECT_TRUE(first_host_ready) << after_kill->standard_output;
  // It starts again (up re-attaches what runs and starts what does not) and catches up.
  auto again = hosts_->run(kFirstHost, {PGSTACK_CLI_BINARY, "up", "--state-dir", state_.string(), "--no-cluster"});
  ASSERT_TRUE(again && again->exit_code == 0) << (again ? again->standard_error : again.error().message);

  // A host lost for good (every process killed, its disk gone) and its etcd member replaced, as
  // docs/multihost.md tells: `member remove` from a host that lives, then a new host joins with a new token.
  const auto members_seen_from = [&](int host) {
    auto listed = etcdctl(host, etcd_url(host), {"member", "list", "-w", "json"});
    return listed && listed->exit_code == 0
               ? json::parse(listed->standard_output, nullptr, false).value("members", json::array())
               : json::array();
  };
  std::string lost_id;
  for (const auto& member : members_seen_from(kOtherHost)) {
    if (member.value("name", "") == "h3") {
      std::ostringstream hex;
      hex << std::hex << member.value("ID", std::uint64_t{0});
      lost_id = hex.str();
    }
  }
  ASSERT_FALSE(lost_id.empty()) << "no etcd member h3";
  // A member is removed by a quorum: the first host's member, restarted above, must be back first.
  const std::string survivors_now = etcd_url(kFirstHost) + "," + etcd_url(kOtherHost);
  bool quorum = false;
  for (int attempt = 0; attempt < 30 && !quorum; ++attempt) {
    auto health = etcdctl(kOtherHost, survivors_now, {"endpoint", "health"});
    quorum = health && health->exit_code == 0;
    if (!quorum) std::this_thread::sleep_for(std::chrono::seconds(1));
  }
  ASSERT_TRUE(quorum) << "the first host's etcd member did not come back";
  EXPECT_GT(hosts_->kill_all(kThirdHost), 0);
  std::filesystem::remove_all(joined_state(kThirdHost));
  Result<CommandOutput> removed = make_error(ErrorCode::kUnavailable, "not run");
  for (int attempt = 0; attempt < 10; ++attempt) {
    removed = etcdctl(kOtherHost, survivors_now, {"member", "remove", lost_id});
    if (removed && removed->exit_code == 0) break;
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
  ASSERT_TRUE(removed && removed->exit_code == 0) << (removed ? removed->standard_error : removed.error().message);
  EXPECT_EQ(members_seen_from(kOtherHost).size(), 2U);
  // The lost host's registration holds its name until its lease runs out (a new machine may take the
  // name then, or join at once under another --host-name).
  Result<CommandOutput> replacement = make_error(ErrorCode::kUnavailable, "not run");
  for (int attempt = 0; attempt < 30; ++attempt) {
    replacement = join(kThirdHost, new_join_token());
    if (!replacement || replacement->exit_code == 0 ||
        replacement->standard_error.find("is registered") == std::string::npos)
      break;
    std::this_thread::sleep_for(std::chrono::seconds(2));
  }
  ASSERT_TRUE(replacement) << replacement.error().message;
  ASSERT_EQ(replacement->exit_code, 0) << replacement->standard_output << replacement->standard_error;
  const std::string all_three = etcd_url(kFirstHost) + "," + etcd_url(kOtherHost) + "," + etcd_url(kThirdHost);
  bool healthy = false;
  for (int attempt = 0; attempt < 20 && !healthy; ++attempt) {
    auto health = etcdctl(kOtherHost, all_three, {"endpoint", "health"});
    healthy = health && health->exit_code == 0;
    if (!healthy) std::this_thread::sleep_for(std::chrono::seconds(1));
  }
  EXPECT_TRUE(healthy) << "the replacement etcd member is not healthy";
  std::size_t voting = 0;
  for (const auto& member : members_seen_from(kThirdHost)) voting += member.value("isLearner", false) ? 0 : 1;
  EXPECT_EQ(voting, 3U);

  // A joined host taken away for good leaves the etcd cluster.
  auto purged = hosts_->run(
      kThirdHost, {PGSTACK_CLI_BINARY, "down", "--state-dir", joined_state(kThirdHost).string(), "--purge", "-y"});
  ASSERT_TRUE(purged && purged->exit_code == 0) << (purged ? purged->standard_error : purged.error().message);
  EXPECT_NE(purged->standard_error.find("etcd member h3"), std::string::npos) << purged->standard_error;
  EXPECT_NE(purged->standard_error.find("left the etcd cluster"), std::string::npos) << purged->standard_error;
  auto left = etcdctl(kFirstHost, etcd_url(kFirstHost), {"member", "list", "-w", "json"});
  ASSERT_TRUE(left && left->exit_code == 0) << (left ? left->standard_error : left.error().message);
  EXPECT_EQ(json::parse(left->standard_output, nullptr, false).value("members", json::array()).size(), 2U)
      << left->standard_output;
}

}  // namespace
}  // namespace pgstack::testing
