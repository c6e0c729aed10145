// "Hosts" for multi-host tests on one machine: each a network namespace with one address, joined by a
// bridge that lives in a namespace of its own. The root namespace gets no interface, address, route or
// rule, so nothing the hosts send can leave the machine or reach the machine's own services, and a
// killed test leaves nothing that changes the machine's networking: deleting the namespaces removes
// every link. Faults (partitions, a link down, delay and loss, losing every process) are made inside
// the namespaces with nftables, `ip link` and `tc netem`. Needs root (it is, here and in CI).
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <sys/types.h>

#include "common/error.h"
#include "common/process.h"

namespace pgstack::testing {

// Every namespace a TestHosts makes is named "<prefix><owner pid>-<name>": leftovers of a killed test
// are found by the prefix and are removed once their owner is gone (never another live test's).
inline constexpr std::string_view kTestHostNamespacePrefix = "pgsth-";
// 10.0.0.0/8 is private (RFC 1918); this /24 exists only inside the namespaces, which have no route out.
inline constexpr std::string_view kDefaultTestSubnet = "10.77.0.0/24";

struct TestHostPlan {
  std::string name;         // "n1"
  std::string netns;        // "pgsth-<pid>-n1"
  std::string address;      // "10.77.0.1"
  std::string bridge_port;  // its veth end in the bridge's namespace: "port1"
};

// Names and addresses of `host_count` hosts (n1..nN, the subnet's first addresses) and the bridge's
// namespace; pure. The subnet must be in a private range (10/8, 172.16/12, 192.168/16), /16 to /28.
struct TestNetworkPlan {
  std::string bridge_netns;  // "pgsth-<pid>-br"
  int prefix_length = 24;
  std::vector<TestHostPlan> hosts;
};
Result<TestNetworkPlan> plan_test_network(int owner_pid, int host_count, std::string_view subnet = kDefaultTestSubnet);

// The owner pid in a namespace name made by plan_test_network; nothing for any other name.
std::optional<int> test_network_owner(std::string_view netns_name);

// What a host's nftables table does: drop every IPv4 packet to and from `blocked`, and drop
// `loss_per_10000` of 10000 packets it sends, at random.
struct HostFaultRules {
  std::set<std::string> blocked;
  int loss_per_10000 = 0;
};

// The nft script that puts `rules` in place in a host (its whole table replaced at once; no rules:
// the table is removed).
std::string render_fault_ruleset(const HostFaultRules& rules);

// tc's arguments after "qdisc replace dev DEV root": delay and loss of every packet a host sends.
Result<std::vector<std::string>> netem_arguments(std::chrono::milliseconds delay, double loss_percent);

// How a TCP connection attempt from one host to an address ended.
enum class TcpReach { kConnected, kRefused, kTimedOut, kUnreachable };
std::string_view to_string(TcpReach reach);

class TestHosts {
 public:
  // Removes the leftovers of killed runs first. Fails (with what `ip` said) when not root.
  static Result<std::unique_ptr<TestHosts>> create(int host_count, std::string_view subnet = kDefaultTestSubnet);
  // Kills every process in the hosts, then deletes every namespace (and so every link).
  ~TestHosts();
  TestHosts(const TestHosts&) = delete;
  TestHosts& operator=(const TestHosts&) = delete;

  int size() const { return static_cast<int>(plan_.hosts.size()); }
  const TestNetworkPlan& plan() const { return plan_; }
  const std::string& address(int host) const { return plan_.hosts.at(static_cast<std::size_t>(host)).address; }
  const std::string& name(int host) const { return plan_.hosts.at(static_cast<std::size_t>(host)).name; }
  std::filesystem::path netns_path(int host) const;

  // A long-lived process in `host` (optionally as `user`), killed when the calling thread ends
  // (call it from the test's main thread) or by kill_all(host).
  Result<pid_t> spawn(int host, const std::vector<std::string>& argv, const std::filesystem::path& log_path,
                      const std::optional<std::string>& user = {});
  // A program run to completion in `host` (ip netns exec; as `user` through setpriv).
  Result<CommandOutput> run(int host, const std::vector<std::string>& argv,
                            const std::optional<std::string>& user = {}) const;
  // Runs `body` on a thread of this process that is inside `host`'s network namespace, and waits for
  // it: the sockets it opens (and the threads it starts) belong to the host.
  Result<bool> run_inside(int host, const std::function<void()>& body) const;

  // A TCP listener in `host` on every address, port `port` (0: any free one); the kernel completes
  // connections to it without accept(). Closed with the returned object.
  class Listener {
   public:
    Listener(int fd, int port) : fd_(fd), port_(port) {}
    ~Listener();
    Listener(const Listener&) = delete;
    Listener& operator=(const Listener&) = delete;
    int port() const { return port_; }

   private:
    int fd_;
    int port_;
  };
  Result<std::unique_ptr<Listener>> listen_tcp(int host, int port = 0) const;
  // Connects from `from` to address:port and closes at once.
  TcpReach tcp_connect(int from, const std::string& address, int port, std::chrono::milliseconds timeout) const;
  // One ICMP echo from `from`, waiting at most a second.
  bool ping(int from, const std::string& address) const;

  // Every packet between a host of `side_a` and one of `side_b` is dropped, both ways (nftables in
  // each host). Adds to the partitions already made.
  Result<bool> partition(const std::vector<int>& side_a, const std::vector<int>& side_b);
  // `host` from every other host.
  Result<bool> isolate(int host);
  // Pulls the host's cable: its port on the bridge goes down (the host keeps its address, sees no carrier).
  Result<bool> set_link_down(int host);
  Result<bool> set_link_up(int host);
  // Random loss of `percent` of the packets the host sends (nftables, so it needs no kernel module
  // beyond what partitions need).
  Result<bool> set_loss(int host, double percent);
  // Delay and loss of every packet the host sends (tc netem); an error on a kernel without sch_netem.
  Result<bool> netem(int host, std::chrono::milliseconds delay, double loss_percent);
  // Removes every partition, loss and delay and puts every link up.
  Result<bool> heal();

  // kill -9 of every process whose network namespace is the host's (whoever started it), until none
  // is left; our own children among them are reaped. Returns how many were killed.
  int kill_all(int host);
  // The processes inside the host now.
  std::vector<pid_t> processes_in(int host) const;

  // Deletes the namespaces (and kills the processes) of every earlier TestHosts whose owner is gone.
  static void remove_leftovers();

 private:
  explicit TestHosts(TestNetworkPlan plan) : plan_(std::move(plan)) {}
  Result<bool> build();
  Result<bool> apply_rules(int host);
  void check_host(int host) const;

  TestNetworkPlan plan_;
  std::vector<std::string> created_;            // namespaces made so far, deleted in the destructor
  std::map<int, HostFaultRules> rules_;         // per host, what its nftables table does
  std::set<int> delayed_;                       // hosts with a netem qdisc
  std::map<int, std::vector<pid_t>> children_;  // what spawn() started, to reap
};

}  // namespace pgstack::testing
