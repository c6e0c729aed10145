#include "support/test_hosts.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <csignal>
#include <cstdint>
#include <cstring>
#include <exception>
#include <fcntl.h>
#include <iostream>
#include <poll.h>
#include <pwd.h>
#include <sched.h>
#include <stdexcept>
#include <thread>
#include <unistd.h>

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "support/child_process.h"

namespace pgstack::testing {
namespace {

constexpr const char* kHostInterface = "eth0";
constexpr const char* kBridgeInterface = "br0";
constexpr const char* kFaultTable = "inet pgstack_faults";
constexpr std::chrono::seconds kKillDeadline{10};

struct ParsedSubnet {
  std::uint32_t network = 0;  // host byte order
  int prefix_length = 0;
};

Result<ParsedSubnet> parse_subnet(std::string_view subnet) {
  const auto slash = subnet.find('/');
  const auto invalid = [&](std::string_view why) {
    return make_error(ErrorCode::kInvalidInput, fmt::format("test subnet \"{}\": {}", subnet, why));
  };
  if (slash == std::string_view::npos) return invalid("expected ADDRESS/LENGTH like 10.77.0.0/24");
  const std::string address(subnet.substr(0, slash));
  const std::string_view length_text = subnet.substr(slash + 1);
  in_addr parsed{};
  if (::inet_pton(AF_INET, address.c_str(), &parsed) != 1) return invalid("not an IPv4 address");
  int length = 0;
  const auto [end, error] = std::from_chars(length_text.data(), length_text.data() + length_text.size(), length);
  if (error != std::errc() || end != length_text.data() + length_text.size() || length < 16 || length > 28)
    return invalid("the prefix length must be 16 to 28");
  const std::uint32_t network = ntohl(parsed.s_addr);
  const std::uint32_t mask = length == 0 ? 0 : ~std::uint32_t{0} << (32 - length);
  if ((network & ~mask) != 0) return invalid("host bits are set (not the subnet's first address)");
  const bool private_range = (network & 0xff000000U) == 0x0a000000U ||  // 10.0.0.0/8
                             (network & 0xfff00000U) == 0xac100000U ||  // 172.16.0.0/12
                             (network & 0xffff0000U) == 0xc0a80000U;    // 192.168.0.0/16
  if (!private_range) return invalid("not in a private range (10/8, 172.16/12, 192.168/16)");
  return ParsedSubnet{network, length};
}

std::string ipv4_text(std::uint32_t address) {
  return fmt::format("{}.{}.{}.{}", address >> 24, (address >> 16) & 0xff, (address >> 8) & 0xff, address & 0xff);
}

// Runs a program from the root namespace (ip, or ip netns exec ...); fails with what it printed.
Result<bool> run_checked(const std::vector<std::string>& argv, const std::string& input = {}) {
  CommandOptions options;
  options.standard_input = input;
  auto output = run_command(argv, options);
  RETURN_IF_ERROR(output);
  if (output->exit_code != 0) {
    std::string command;
    for (const auto& word : argv) command += (command.empty() ? "" : " ") + word;
    return make_error(ErrorCode::kUnavailable, fmt::format("`{}` exited with {}: {}{}", command, output->exit_code,
                                                           output->standard_error, output->standard_output));
  }
  return true;
}

Result<ino_t> namespace_inode(const std::filesystem::path& path) {
  struct stat status {};
  if (::stat(path.c_str(), &status) != 0)
    return make_error(ErrorCode::kNotFound, fmt::format("{}: {}", path.string(), std::strerror(errno)));
  return status.st_ino;
}

// The processes (never this one) whose network namespace is the one with inode `inode`.
std::vector<pid_t> processes_in_namespace(ino_t inode) {
  std::vector<pid_t> found;
  const std::string wanted = fmt::format("net:[{}]", inode);
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", error)) {
    const std::string name = entry.path().filename().string();
    pid_t pid = 0;
    const auto [end, parse_error] = std::from_chars(name.data(), name.data() + name.size(), pid);
    if (parse_error != std::errc() || end != name.data() + name.size() || pid == ::getpid()) continue;
    char target[64];
    const auto length = ::readlink(fmt::format("/proc/{}/ns/net", pid).c_str(), target, sizeof target - 1);
    if (length <= 0) continue;  // gone, or a zombie (its namespaces are released)
    if (std::string_view(target, static_cast<std::size_t>(length)) == wanted) found.push_back(pid);
  }
  return found;
}

// kill -9 until nothing is left in the namespace; how many distinct processes were killed.
int kill_namespace_processes(ino_t inode) {
  std::set<pid_t> killed;
  const auto deadline = std::chrono::steady_clock::now() + kKillDeadline;
  while (std::chrono::steady_clock::now() < deadline) {
    const auto pids = processes_in_namespace(inode);
    if (pids.empty()) break;
    for (const pid_t pid : pids) {
      if (::kill(pid, SIGKILL) == 0) killed.insert(pid);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // SIGKILL is delivered asynchronously
  }
  return static_cast<int>(killed.size());
}

bool process_alive(int pid) { return ::kill(pid, 0) == 0 || errno == EPERM; }

}  // namespace

Result<TestNetworkPlan> plan_test_network(int owner_pid, int host_count, std::string_view subnet) {
  ASSIGN_OR_RETURN(const ParsedSubnet parsed, parse_subnet(subnet));
  const std::int64_t usable = (std::int64_t{1} << (32 - parsed.prefix_length)) - 2;
  if (host_count < 1 || host_count > usable)
    return make_error(ErrorCode::kInvalidInput,
                      fmt::format("{} test hosts do not fit in {} (1 to {})", host_count, subnet, usable));
  if (owner_pid <= 0) return make_error(ErrorCode::kInvalidInput, fmt::format("bad owner pid {}", owner_pid));
  TestNetworkPlan plan;
  plan.prefix_length = parsed.prefix_length;
  const std::string stem = fmt::format("{}{}-", kTestHostNamespacePrefix, owner_pid);
  plan.bridge_netns = stem + "br";
  for (int index = 0; index < host_count; ++index) {
    TestHostPlan host;
    host.name = fmt::format("n{}", index + 1);
    host.netns = stem + host.name;
    host.address = ipv4_text(parsed.network + static_cast<std::uint32_t>(index) + 1);
    host.bridge_port = fmt::format("port{}", index + 1);
    plan.hosts.push_back(std::move(host));
  }
  return plan;
}

std::optional<int> test_network_owner(std::string_view netns_name) {
  if (!netns_name.starts_with(kTestHostNamespacePrefix)) return std::nullopt;
  const std::string_view rest = netns_name.substr(kTestHostNamespacePrefix.size());
  int pid = 0;
  const auto [end, error] = std::from_chars(rest.data(), rest.data() + rest.size(), pid);
  if (error != std::errc() || pid <= 0 || end == rest.data() + rest.size() || *end != '-') return std::nullopt;
  return pid;
}

std::string render_fault_ruleset(const HostFaultRules& rules) {
  // Declaring the table first makes the delete valid whether or not it exists; nft applies the
  // whole script in one transaction.
  std::string script = fmt::format("table {0}\ndelete table {0}\n", kFaultTable);
  if (rules.blocked.empty() && rules.loss_per_10000 <= 0) return script;
  std::string input_rules;
  std::string output_rules;
  if (!rules.blocked.empty()) {
    std::string set;
    for (const auto& address : rules.blocked) set += (set.empty() ? "" : ", ") + address;
    input_rules += fmt::format("    ip saddr {{ {} }} drop\n", set);
    output_rules += fmt::format("    ip daddr {{ {} }} drop\n", set);
  }
  if (rules.loss_per_10000 >= 10000)
    output_rules += "    drop\n";  // numgen's range ends at 9999
  else if (rules.loss_per_10000 > 0)
    output_rules += fmt::format("    numgen random mod 10000 < {} drop\n", rules.loss_per_10000);
  script += fmt::format("table {} {{\n", kFaultTable);
  if (!input_rules.empty())
    script += "  chain input {\n    type filter hook input priority filter; policy accept;\n" + input_rules + "  }\n";
  script += "  chain output {\n    type filter hook output priority filter; policy accept;\n" + output_rules + "  }\n";
  return script + "}\n";
}

Result<std::vector<std::string>> netem_arguments(std::chrono::milliseconds delay, double loss_percent) {
  if (delay.count() < 0)
    return make_error(ErrorCode::kInvalidInput, fmt::format("netem delay {} ms is negative", delay.count()));
  if (!(loss_percent >= 0.0 && loss_percent <= 100.0))
    return make_error(ErrorCode::kInvalidInput, fmt::format("netem loss {}% is not within 0 to 100", loss_percent));
  return std::vector<std::string>{"netem", "delay", fmt::format("{}ms", delay.count()), "loss",
                                  fmt::format("{}%", loss_percent)};
}

std::string_view to_string(TcpReach reach) {
  switch (reach) {
    case TcpReach::kConnected: return "connected";
    case TcpReach::kRefused: return "refused";
    case TcpReach::kTimedOut: return "timed out";
    case TcpReach::kUnreachable: return "unreachable";
  }
  return "unknown";
}

Result<std::unique_ptr<TestHosts>> TestHosts::create(int host_count, std::string_view subnet) {
  remove_leftovers();
  ASSIGN_OR_RETURN(TestNetworkPlan plan, plan_test_network(static_cast<int>(::getpid()), host_count, subnet));
  std::unique_ptr<TestHosts> hosts(new TestHosts(std::move(plan)));
  RETURN_IF_ERROR(hosts->build());  // on failure the destructor removes what was made
  return hosts;
}

Result<bool> TestHosts::build() {
  const auto add_namespace = [this](const std::string& name) -> Result<bool> {
    RETURN_IF_ERROR(run_checked({"ip", "netns", "add", name}));
    created_.push_back(name);
    // IPv6 off: the partitions drop IPv4, and link-local IPv6 would still pass.
    if (std::filesystem::exists("/proc/sys/net/ipv6"))
      RETURN_IF_ERROR(run_checked({"ip", "netns", "exec", name, "sysctl", "-q", "-w",
                                   "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1"}));
    return run_checked({"ip", "-n", name, "link", "set", "lo", "up"});
  };
  const std::string& bridge = plan_.bridge_netns;
  RETURN_IF_ERROR(add_namespace(bridge));
  RETURN_IF_ERROR(run_checked({"ip", "-n", bridge, "link", "add", kBridgeInterface, "type", "bridge"}));
  RETURN_IF_ERROR(run_checked({"ip", "-n", bridge, "link", "set", kBridgeInterface, "up"}));
  for (const auto& host : plan_.hosts) {
    RETURN_IF_ERROR(add_namespace(host.netns));
    // Both ends are made where they live: no interface ever appears in the root namespace.
    RETURN_IF_ERROR(run_checked({"ip", "-n", bridge, "link", "add", host.bridge_port, "type", "veth", "peer", "name",
                                 kHostInterface, "netns", host.netns}));
    RETURN_IF_ERROR(run_checked({"ip", "-n", bridge, "link", "set", host.bridge_port, "master", kBridgeInterface}));
    RETURN_IF_ERROR(run_checked({"ip", "-n", bridge, "link", "set", host.bridge_port, "up"}));
    RETURN_IF_ERROR(run_checked({"ip", "-n", host.netns, "address", "add",
                                 fmt::format("{}/{}", host.address, plan_.prefix_length), "dev", kHostInterface}));
    RETURN_IF_ERROR(run_checked({"ip", "-n", host.netns, "link", "set", kHostInterface, "up"}));
  }
  return true;
}

TestHosts::~TestHosts() {
  for (int host = 0; host < size(); ++host) {
    if (std::find(created_.begin(), created_.end(), plan_.hosts[static_cast<std::size_t>(host)].netns) !=
        created_.end())
      kill_all(host);
  }
  // The bridge's namespace was made first: delete the hosts' before it.
  std::reverse(created_.begin(), created_.end());
  for (const auto& netns : created_) {
    if (auto deleted = run_checked({"ip", "netns", "delete", netns}); !deleted)
      std::cerr << "test hosts: " << deleted.error().message << "\n";
  }
}

void TestHosts::check_host(int host) const {
  if (host < 0 || host >= size()) throw std::out_of_range(fmt::format("no test host {} (of {})", host, size()));
}

std::filesystem::path TestHosts::netns_path(int host) const {
  check_host(host);
  return std::filesystem::path("/run/netns") / plan_.hosts[static_cast<std::size_t>(host)].netns;
}

Result<pid_t> TestHosts::spawn(int host, const std::vector<std::string>& argv, const std::filesystem::path& log_path,
                               const std::optional<std::string>& user) {
  auto pid = spawn_child(argv, log_path, ChildPlacement{netns_path(host), user});
  RETURN_IF_ERROR(pid);
  children_[host].push_back(*pid);
  return pid;
}

Result<CommandOutput> TestHosts::run(int host, const std::vector<std::string>& argv,
                                     const std::optional<std::string>& user) const {
  check_host(host);
  std::vector<std::string> command = {"ip", "netns", "exec", plan_.hosts[static_cast<std::size_t>(host)].netns};
  CommandOptions options;
  if (user) {
    const passwd* entry = ::getpwnam(user->c_str());
    if (entry == nullptr)
      return make_error(ErrorCode::kFailedPrecondition, fmt::format("system user '{}' does not exist", *user));
    command.insert(command.end(), {"setpriv", "--reuid", *user, "--regid", *user, "--init-groups", "--"});
    options.extra_environment = {{"HOME", entry->pw_dir}, {"USER", *user}, {"LOGNAME", *user}};
  }
  command.insert(command.end(), argv.begin(), argv.end());
  return run_command(command, options);
}

Result<bool> TestHosts::run_inside(int host, const std::function<void()>& body) const {
  const std::filesystem::path path = netns_path(host);
  std::string failure;
  std::thread inside([&] {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      failure = fmt::format("{}: {}", path.string(), std::strerror(errno));
      return;
    }
    const int entered = ::setns(fd, CLONE_NEWNET);
    const int setns_errno = errno;
    ::close(fd);
    if (entered != 0) {
      failure = fmt::format("setns {}: {}", path.string(), std::strerror(setns_errno));
      return;
    }
    try {
      body();
    } catch (const std::exception& error) {
      failure = fmt::format("inside {}: {}", path.string(), error.what());
    }
  });
  inside.join();
  if (!failure.empty()) return make_error(ErrorCode::kUnavailable, failure);
  return true;
}

TestHosts::Listener::~Listener() { ::close(fd_); }

Result<std::unique_ptr<TestHosts::Listener>> TestHosts::listen_tcp(int host, int port) const {
  int fd = -1;
  int bound_port = 0;
  std::string failure;
  RETURN_IF_ERROR(run_inside(host, [&] {
    fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      failure = fmt::format("socket: {}", std::strerror(errno));
      return;
    }
    const int on = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_ANY);
    address.sin_port = htons(static_cast<std::uint16_t>(port));
    socklen_t length = sizeof address;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 || ::listen(fd, 64) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
      failure = fmt::format("listen on port {}: {}", port, std::strerror(errno));
      ::close(fd);
      fd = -1;
      return;
    }
    bound_port = ntohs(address.sin_port);
  }));
  if (fd < 0) return make_error(ErrorCode::kUnavailable, fmt::format("test host {}: {}", name(host), failure));
  return std::make_unique<Listener>(fd, bound_port);
}

TcpReach TestHosts::tcp_connect(int from, const std::string& address, int port,
                                std::chrono::milliseconds timeout) const {
  TcpReach reach = TcpReach::kUnreachable;
  const auto ran = run_inside(from, [&] {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) return;
    sockaddr_in target{};
    target.sin_family = AF_INET;
    target.sin_port = htons(static_cast<std::uint16_t>(port));
    if (::inet_pton(AF_INET, address.c_str(), &target.sin_addr) != 1) {
      ::close(fd);
      return;
    }
    int error = 0;
    if (::connect(fd, reinterpret_cast<sockaddr*>(&target), sizeof target) != 0) {
      error = errno;
      if (error == EINPROGRESS) {
        pollfd waiting{fd, POLLOUT, 0};
        const int ready = ::poll(&waiting, 1, static_cast<int>(timeout.count()));
        if (ready <= 0) {
          error = ETIMEDOUT;
        } else {
          socklen_t length = sizeof error;
          ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length);
        }
      }
    }
    ::close(fd);
    switch (error) {
      case 0: reach = TcpReach::kConnected; break;
      case ECONNREFUSED: reach = TcpReach::kRefused; break;
      case ETIMEDOUT: reach = TcpReach::kTimedOut; break;
      default: reach = TcpReach::kUnreachable; break;
    }
  });
  return ran ? reach : TcpReach::kUnreachable;
}

bool TestHosts::ping(int from, const std::string& address) const {
  auto output = run(from, {"ping", "-n", "-q", "-c", "1", "-W", "1", address});
  return output && output->exit_code == 0;
}

Result<bool> TestHosts::apply_rules(int host) {
  const std::string& netns = plan_.hosts[static_cast<std::size_t>(host)].netns;
  return run_checked({"ip", "netns", "exec", netns, "nft", "-f", "-"}, render_fault_ruleset(rules_[host]));
}

Result<bool> TestHosts::partition(const std::vector<int>& side_a, const std::vector<int>& side_b) {
  std::set<int> changed;
  for (const int a : side_a) {
    for (const int b : side_b) {
      check_host(a);
      check_host(b);
      if (a == b)
        return make_error(ErrorCode::kInvalidInput, fmt::format("host {} is on both sides of a partition", name(a)));
      rules_[a].blocked.insert(address(b));
      rules_[b].blocked.insert(address(a));
      changed.insert(a);
      changed.insert(b);
    }
  }
  for (const int host : changed) RETURN_IF_ERROR(apply_rules(host));
  return true;
}

Result<bool> TestHosts::isolate(int host) {
  check_host(host);
  std::vector<int> others;
  for (int other = 0; other < size(); ++other) {
    if (other != host) others.push_back(other);
  }
  return partition({host}, others);
}

Result<bool> TestHosts::set_link_down(int host) {
  check_host(host);
  return run_checked(
      {"ip", "-n", plan_.bridge_netns, "link", "set", plan_.hosts[static_cast<std::size_t>(host)].bridge_port, "down"});
}

Result<bool> TestHosts::set_link_up(int host) {
  check_host(host);
  return run_checked(
      {"ip", "-n", plan_.bridge_netns, "link", "set", plan_.hosts[static_cast<std::size_t>(host)].bridge_port, "up"});
}

Result<bool> TestHosts::set_loss(int host, double percent) {
  check_host(host);
  if (!(percent >= 0.0 && percent <= 100.0))
    return make_error(ErrorCode::kInvalidInput, fmt::format("loss {}% is not within 0 to 100", percent));
  rules_[host].loss_per_10000 = static_cast<int>(std::lround(percent * 100.0));
  return apply_rules(host);
}

Result<bool> TestHosts::netem(int host, std::chrono::milliseconds delay, double loss_percent) {
  check_host(host);
  ASSIGN_OR_RETURN(const auto arguments, netem_arguments(delay, loss_percent));
  std::vector<std::string> command = {
      "ip",  "netns",        "exec", plan_.hosts[static_cast<std::size_t>(host)].netns, "tc", "qdisc", "replace",
      "dev", kHostInterface, "root"};
  command.insert(command.end(), arguments.begin(), arguments.end());
  auto done = run_checked(command);
  if (!done && done.error().message.find("qdisc kind is unknown") != std::string::npos)
    return make_error(ErrorCode::kFailedPrecondition,
                      "this kernel has no netem queueing discipline (sch_netem): no delay can be made; "
                      "set_loss() makes loss with nftables");
  RETURN_IF_ERROR(done);
  delayed_.insert(host);
  return true;
}

Result<bool> TestHosts::heal() {
  for (auto& [host, rules] : rules_) {
    if (rules.blocked.empty() && rules.loss_per_10000 == 0) continue;
    rules = HostFaultRules{};
    RETURN_IF_ERROR(apply_rules(host));
  }
  for (const int host : delayed_) {
    RETURN_IF_ERROR(run_checked({"ip", "netns", "exec", plan_.hosts[static_cast<std::size_t>(host)].netns, "tc",
                                 "qdisc", "del", "dev", kHostInterface, "root"}));
  }
  delayed_.clear();
  for (int host = 0; host < size(); ++host) RETURN_IF_ERROR(set_link_up(host));
  return true;
}

std::vector<pid_t> TestHosts::processes_in(int host) const {
  auto inode = namespace_inode(netns_path(host));
  if (!inode) return {};
  return processes_in_namespace(*inode);
}

int TestHosts::kill_all(int host) {
  int killed = 0;
  if (auto inode = namespace_inode(netns_path(host))) killed = kill_namespace_processes(*inode);
  for (pid_t& pid : children_[host]) {
    // Killed above (or exited by itself): reap it; a child that left the namespace is stopped here.
    if (!child_has_exited(pid)) stop_child(pid, std::chrono::milliseconds(0));
  }
  children_[host].clear();
  return killed;
}

void TestHosts::remove_leftovers() {
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator("/run/netns", error)) {
    const std::string name = entry.path().filename().string();
    const auto owner = test_network_owner(name);
    if (!owner || process_alive(*owner)) continue;
    if (auto inode = namespace_inode(entry.path())) kill_namespace_processes(*inode);
    if (auto deleted = run_checked({"ip", "netns", "delete", name}); !deleted)
      std::cerr << "test hosts: leftover " << name << ": " << deleted.error().message << "\n";
  }
}

}  // namespace pgstack::testing
