// TestHosts for real: three network namespaces on a bridge, traffic between them, partitions, a link
// down, delay, processes in a host (as the postgres user) killed with the host, and nothing left behind.
#include "support/test_hosts.h"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <pwd.h>
#include <string>
#include <thread>
#include <unistd.h>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/wait.h>

#include "common/process.h"
#include "support/child_process.h"

namespace pgstack::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr auto kDropTimeout = 300ms;  // a dropped SYN gets no answer at all; a delivered one answers in microseconds

std::unique_ptr<TestHosts> make_hosts(int count) {
  auto hosts = TestHosts::create(count);
  if (!hosts) ADD_FAILURE() << hosts.error().message;
  return hosts ? std::move(hosts).value() : nullptr;
}

// Whether any namespace of this process' test hosts still exists.
bool our_namespaces_exist() {
  const std::string prefix = fmt::format("{}{}-", kTestHostNamespacePrefix, ::getpid());
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator("/run/netns", error)) {
    if (entry.path().filename().string().starts_with(prefix)) return true;
  }
  return false;
}

std::string status_line(pid_t pid, const std::string& field) {
  std::ifstream status(fmt::format("/proc/{}/status", pid));
  std::string line;
  while (std::getline(status, line)) {
    if (line.starts_with(field + ":")) return line;
  }
  return "";
}

TEST(TestHosts, HostsReachEachOtherUntilPartitionedAndAgainAfterHealing) {
  auto hosts = make_hosts(3);
  ASSERT_TRUE(hosts);
  std::vector<std::unique_ptr<TestHosts::Listener>> listeners;
  for (int host = 0; host < 3; ++host) {
    auto listener = hosts->listen_tcp(host, 7000);
    ASSERT_TRUE(listener) << listener.error().message;
    listeners.push_back(std::move(listener).value());
  }
  const auto reach = [&](int from, int to) { return hosts->tcp_connect(from, hosts->address(to), 7000, kDropTimeout); };
  for (int from = 0; from < 3; ++from) {
    for (int to = 0; to < 3; ++to) {
      if (from == to) continue;
      EXPECT_TRUE(hosts->ping(from, hosts->address(to))) << from << " -> " << to;
      EXPECT_EQ(reach(from, to), TcpReach::kConnected) << from << " -> " << to;
    }
  }
  // A port nobody listens on is refused, not dropped: the hosts really answer.
  EXPECT_EQ(hosts->tcp_connect(0, hosts->address(1), 7001, kDropTimeout), TcpReach::kRefused);

  ASSERT_TRUE(hosts->isolate(0));
  for (const int other : {1, 2}) {
    EXPECT_EQ(reach(0, other), TcpReach::kTimedOut) << "0 -> " << other;
    EXPECT_EQ(reach(other, 0), TcpReach::kTimedOut) << other << " -> 0";
    EXPECT_FALSE(hosts->ping(other, hosts->address(0)));
  }
  EXPECT_EQ(reach(1, 2), TcpReach::kConnected);
  EXPECT_EQ(reach(2, 1), TcpReach::kConnected);

  ASSERT_TRUE(hosts->heal());
  for (int from = 0; from < 3; ++from) {
    for (int to = 0; to < 3; ++to) {
      if (from == to) continue;
      EXPECT_EQ(reach(from, to), TcpReach::kConnected) << "healed: " << from << " -> " << to;
    }
  }

  // Two partitions at once: {0} | {1} and {1} | {2}; 0 and 2 still talk.
  ASSERT_TRUE(hosts->partition({0}, {1}));
  ASSERT_TRUE(hosts->partition({1}, {2}));
  EXPECT_EQ(reach(0, 1), TcpReach::kTimedOut);
  EXPECT_EQ(reach(2, 1), TcpReach::kTimedOut);
  EXPECT_EQ(reach(0, 2), TcpReach::kConnected);
  EXPECT_EQ(reach(2, 0), TcpReach::kConnected);
  ASSERT_TRUE(hosts->heal());
  EXPECT_EQ(reach(0, 1), TcpReach::kConnected);
  EXPECT_EQ(reach(1, 2), TcpReach::kConnected);
}

TEST(TestHosts, LinkDownAndLoss) {
  auto hosts = make_hosts(2);
  ASSERT_TRUE(hosts);
  auto listener = hosts->listen_tcp(1);
  ASSERT_TRUE(listener) << listener.error().message;
  const int port = (*listener)->port();
  ASSERT_EQ(hosts->tcp_connect(0, hosts->address(1), port, 1s), TcpReach::kConnected);

  ASSERT_TRUE(hosts->set_link_down(1));
  EXPECT_NE(hosts->tcp_connect(0, hosts->address(1), port, kDropTimeout), TcpReach::kConnected);
  EXPECT_FALSE(hosts->ping(0, hosts->address(1)));
  ASSERT_TRUE(hosts->set_link_up(1));
  EXPECT_EQ(hosts->tcp_connect(0, hosts->address(1), port, 2s), TcpReach::kConnected);

  // All of host 0's packets lost: nothing gets through; half of them: some SYNs do, some do not.
  ASSERT_TRUE(hosts->set_loss(0, 100));
  EXPECT_EQ(hosts->tcp_connect(0, hosts->address(1), port, kDropTimeout), TcpReach::kTimedOut);
  ASSERT_TRUE(hosts->set_loss(0, 50));
  int connected = 0;
  constexpr int kAttempts = 16;  // all or none of 16 at 50%: 3 in 100,000
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    if (hosts->tcp_connect(0, hosts->address(1), port, kDropTimeout) == TcpReach::kConnected) ++connected;
  }
  EXPECT_GT(connected, 0);
  EXPECT_LT(connected, kAttempts);

  ASSERT_TRUE(hosts->heal());
  for (int attempt = 0; attempt < 5; ++attempt)
    EXPECT_EQ(hosts->tcp_connect(0, hosts->address(1), port, 2s), TcpReach::kConnected);
}

TEST(TestHosts, Delay) {
  auto hosts = make_hosts(2);
  ASSERT_TRUE(hosts);
  auto listener = hosts->listen_tcp(1);
  ASSERT_TRUE(listener) << listener.error().message;
  const int port = (*listener)->port();
  auto delayed = hosts->netem(0, 150ms, 0);
  if (!delayed && delayed.error().code == ErrorCode::kFailedPrecondition) GTEST_SKIP() << delayed.error().message;
  ASSERT_TRUE(delayed) << delayed.error().message;
  // 150 ms on every packet host 0 sends: the SYN is late, the connection still made.
  auto started = Clock::now();
  EXPECT_EQ(hosts->tcp_connect(0, hosts->address(1), port, 2s), TcpReach::kConnected);
  EXPECT_GE(Clock::now() - started, 150ms);
  ASSERT_TRUE(hosts->heal());
  started = Clock::now();
  EXPECT_EQ(hosts->tcp_connect(0, hosts->address(1), port, 2s), TcpReach::kConnected);
  EXPECT_LT(Clock::now() - started, 100ms);
}

TEST(TestHosts, ProcessesRunInTheirHostAsTheirUserAndDieWithIt) {
  auto hosts = make_hosts(2);
  ASSERT_TRUE(hosts);
  const passwd* postgres = ::getpwnam("postgres");
  ASSERT_NE(postgres, nullptr) << "the postgres user (Debian's postgresql package) is missing";

  auto whoami = hosts->run(1, {"id", "-un"}, "postgres");
  ASSERT_TRUE(whoami) << whoami.error().message;
  EXPECT_EQ(whoami->standard_output, "postgres\n");
  auto addresses = hosts->run(1, {"ip", "-4", "-o", "address", "show", "dev", "eth0"});
  ASSERT_TRUE(addresses) << addresses.error().message;
  EXPECT_NE(addresses->standard_output.find(hosts->address(1) + "/24"), std::string::npos)
      << addresses->standard_output;

  const auto log = std::filesystem::temp_directory_path() / fmt::format("pgsth-{}-process.log", ::getpid());
  // A shell that starts a background child of its own, as Patroni starts Postgres: both are the host's.
  auto shell = hosts->spawn(1, {"/bin/sh", "-c", "sleep 60 & exec sleep 61"}, log, "postgres");
  ASSERT_TRUE(shell) << shell.error().message;
  auto alone = hosts->spawn(0, {"/bin/sleep", "62"}, log);
  ASSERT_TRUE(alone) << alone.error().message;

  const auto deadline = Clock::now() + 5s;
  while (hosts->processes_in(1).size() < 2 && Clock::now() < deadline) std::this_thread::sleep_for(10ms);
  const auto in_host = hosts->processes_in(1);
  ASSERT_EQ(in_host.size(), 2U);
  for (const pid_t pid : in_host) {
    EXPECT_NE(status_line(pid, "Uid").find(fmt::format("\t{}\t", postgres->pw_uid)), std::string::npos)
        << status_line(pid, "Uid");
  }
  EXPECT_EQ(hosts->processes_in(0), std::vector<pid_t>{*alone});

  EXPECT_EQ(hosts->kill_all(1), 2);
  EXPECT_TRUE(hosts->processes_in(1).empty());
  EXPECT_EQ(hosts->processes_in(0), std::vector<pid_t>{*alone});  // another host is not touched
  std::filesystem::remove(log);
}

TEST(TestHosts, TeardownLeavesNothingAndLeftoversOfADeadOwnerAreRemoved) {
  {
    auto hosts = make_hosts(3);
    ASSERT_TRUE(hosts);
    const auto log = std::filesystem::temp_directory_path() / fmt::format("pgsth-{}-teardown.log", ::getpid());
    ASSERT_TRUE(hosts->spawn(2, {"/bin/sleep", "60"}, log));
    ASSERT_TRUE(hosts->isolate(2));
    EXPECT_TRUE(our_namespaces_exist());
    std::filesystem::remove(log);
  }
  EXPECT_FALSE(our_namespaces_exist());

  // A run killed with its namespaces in place: the owner's pid is gone, a process still runs inside.
  const pid_t dead_owner = ::fork();
  if (dead_owner == 0) _exit(0);
  ASSERT_GT(dead_owner, 0);
  ASSERT_EQ(::waitpid(dead_owner, nullptr, 0), dead_owner);
  const std::string leftover = fmt::format("{}{}-n1", kTestHostNamespacePrefix, dead_owner);
  auto added = run_command({"ip", "netns", "add", leftover});
  ASSERT_TRUE(added && added->exit_code == 0) << (added ? added->standard_error : added.error().message);
  const auto log = std::filesystem::temp_directory_path() / fmt::format("pgsth-{}-leftover.log", ::getpid());
  auto orphan = spawn_child({"/bin/sleep", "60"}, log, ChildPlacement{"/run/netns/" + leftover, std::nullopt});
  ASSERT_TRUE(orphan) << orphan.error().message;
  // The child enters the namespace after fork returns here: wait until it is inside.
  struct stat leftover_status {};
  ASSERT_EQ(::stat(("/run/netns/" + leftover).c_str(), &leftover_status), 0);
  const std::string inside = fmt::format("net:[{}]", leftover_status.st_ino);
  const auto entered = [&] {
    std::error_code error;
    return std::filesystem::read_symlink(fmt::format("/proc/{}/ns/net", *orphan), error).string() == inside;
  };
  auto until = Clock::now() + 5s;
  while (!entered() && Clock::now() < until) std::this_thread::sleep_for(5ms);
  ASSERT_TRUE(entered());

  TestHosts::remove_leftovers();
  EXPECT_FALSE(std::filesystem::exists("/run/netns/" + leftover));
  const auto deadline = Clock::now() + 5s;
  while (!child_has_exited(*orphan) && Clock::now() < deadline) std::this_thread::sleep_for(10ms);
  EXPECT_TRUE(child_has_exited(*orphan)) << "the process inside the leftover namespace still runs";
  std::filesystem::remove(log);
}

}  // namespace
}  // namespace pgstack::testing
