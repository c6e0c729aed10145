#include "support/etcd_cluster.h"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <sys/wait.h>

#include "common/http_client.h"
#include "common/pki.h"
#include "support/child_process.h"

namespace pgstack::testing {
namespace {

constexpr const char* kEtcdProgram = "/usr/bin/etcd";
constexpr int kClientPort = 2379;
constexpr int kPeerPort = 2380;
constexpr std::chrono::seconds kClusterStartTimeout{30};

std::string member_name(int member) { return fmt::format("m{}", member + 1); }

}  // namespace

Result<std::unique_ptr<EtcdCluster>> EtcdCluster::start(TestHosts& hosts, std::vector<int> member_hosts,
                                                        int client_host) {
  std::unique_ptr<EtcdCluster> cluster(new EtcdCluster(hosts, std::move(member_hosts), client_host));
  RETURN_IF_ERROR(cluster->prepare());
  for (int member = 0; member < cluster->size(); ++member) RETURN_IF_ERROR(cluster->launch(member, true));
  for (int member = 0; member < cluster->size(); ++member) RETURN_IF_ERROR(cluster->wait_until_healthy(member));
  for (int member = 0; member < cluster->size(); ++member) {
    ASSIGN_OR_RETURN(const std::string ids, cluster->status_member_id(member, std::chrono::seconds(5)));
    cluster->member_by_id_[ids.substr(0, ids.find('/'))] = member;
  }
  return cluster;
}

Result<bool> EtcdCluster::prepare() {
  std::string pattern = (std::filesystem::temp_directory_path() / "pgsth-etcd-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr)
    return make_error(ErrorCode::kUnavailable, fmt::format("mkdtemp {}: {}", pattern, std::strerror(errno)));
  directory_ = pattern;
  // pgstack's daemons that run as postgres (pgstack-proxy, Patroni's copies come from the agent) read
  // the CA certificate here; the CA's key stays 0600.
  std::filesystem::permissions(directory_, std::filesystem::perms(0755));
  pids_.assign(member_hosts_.size(), -1);
  ASSIGN_OR_RETURN(const auto ca, pki::load_or_create_ca(directory_ / "pki", "pgstack test hosts CA"));
  for (int member = 0; member < size(); ++member) {
    const std::string& address = hosts_.address(member_host(member));
    ASSIGN_OR_RETURN(
        const auto issued,
        pki::issue_certificate(ca, pki::LeafRequest{member_name(member), {}, {address}, pki::Usage::kServerAndClient}));
    const auto stem = directory_ / member_name(member);
    RETURN_IF_ERROR(pki::write_key_pair(issued, stem.string() + ".crt", stem.string() + ".key"));
  }
  ASSIGN_OR_RETURN(const auto client,
                   pki::issue_certificate(ca, pki::LeafRequest{"pgstack-test", {}, {}, pki::Usage::kClient}));
  RETURN_IF_ERROR(pki::write_key_pair(client, directory_ / "client.crt", directory_ / "client.key"));
  set_tls_client_files(
      {ca_file().string(), (directory_ / "client.crt").string(), (directory_ / "client.key").string()});
  return true;
}

EtcdCluster::~EtcdCluster() {
  for (int member = 0; member < size(); ++member) kill(member);
  std::error_code ignored;
  if (!directory_.empty() && std::getenv("PGSTACK_KEEP_TEST_DIR") == nullptr)
    std::filesystem::remove_all(directory_, ignored);
}

std::string EtcdCluster::endpoint(int member) const {
  return fmt::format("https://{}:{}", hosts_.address(member_host(member)), kClientPort);
}

std::vector<std::string> EtcdCluster::endpoints() const {
  std::vector<std::string> all;
  all.reserve(member_hosts_.size());
  for (int member = 0; member < size(); ++member) all.push_back(endpoint(member));
  return all;
}

Result<bool> EtcdCluster::launch(int member, bool new_cluster) {
  std::string initial_cluster;
  for (int other = 0; other < size(); ++other) {
    initial_cluster += fmt::format("{}{}=https://{}:{}", initial_cluster.empty() ? "" : ",", member_name(other),
                                   hosts_.address(member_host(other)), kPeerPort);
  }
  const std::string& address = hosts_.address(member_host(member));
  const std::string client_url = fmt::format("https://{}:{}", address, kClientPort);
  const std::string peer_url = fmt::format("https://{}:{}", address, kPeerPort);
  const auto stem = directory_ / member_name(member);
  const std::vector<std::string> argv = {
      kEtcdProgram,
      "--name",
      member_name(member),
      "--data-dir",
      (directory_ / (member_name(member) + ".data")).string(),
      "--listen-client-urls",
      client_url,
      "--advertise-client-urls",
      client_url,
      "--listen-peer-urls",
      peer_url,
      "--initial-advertise-peer-urls",
      peer_url,
      "--initial-cluster",
      initial_cluster,
      "--initial-cluster-state",
      new_cluster ? "new" : "existing",
      "--initial-cluster-token",
      directory_.filename().string(),
      "--client-cert-auth",
      "--trusted-ca-file",
      ca_file().string(),
      "--cert-file",
      stem.string() + ".crt",
      "--key-file",
      stem.string() + ".key",
      "--peer-client-cert-auth",
      "--peer-trusted-ca-file",
      ca_file().string(),
      "--peer-cert-file",
      stem.string() + ".crt",
      "--peer-key-file",
      stem.string() + ".key",
      // As pgstack runs etcd (src/cli/up_command.cpp): a member cut off and back must not depose the
      // leader with the terms it ran up alone (docs/multihost.md).
      "--pre-vote",
      "--logger",
      "zap",
      "--log-outputs",
      "stderr",
  };
  ASSIGN_OR_RETURN(pids_[static_cast<std::size_t>(member)],
                   hosts_.spawn(member_host(member), argv, stem.string() + ".log"));
  return true;
}

Result<bool> EtcdCluster::wait_until_healthy(int member) {
  const std::string url = endpoint(member) + "/health";
  return wait_until_ready(
      pids_[static_cast<std::size_t>(member)], "etcd member " + member_name(member), url,
      directory_ / (member_name(member) + ".log"),
      [&]() -> std::optional<std::string> {
        std::optional<std::string> problem = "not asked";
        auto ran = hosts_.run_inside(client_host_, [&] {
          auto response = http_request("GET", url, {}, {}, std::chrono::milliseconds(500));
          if (response && response->status == 200 && response->body.find("\"true\"") != std::string::npos) {
            problem.reset();
          } else {
            problem =
                response ? fmt::format("HTTP {}: {}", response->status, response->body) : response.error().message;
          }
        });
        if (!ran) return ran.error().message;
        return problem;
      },
      kClusterStartTimeout);
}

Result<std::string> EtcdCluster::status_member_id(int member, std::chrono::milliseconds timeout) const {
  Result<HttpResponse> response = make_error(ErrorCode::kUnavailable, "not asked");
  RETURN_IF_ERROR(hosts_.run_inside(client_host_, [&] {
    response = http_request("POST", endpoint(member) + "/v3/maintenance/status", "{}",
                            {{"Content-Type", "application/json"}}, timeout);
  }));
  RETURN_IF_ERROR(response);
  if (response->status != 200)
    return make_error(ErrorCode::kUnavailable,
                      fmt::format("{} status: HTTP {}: {}", member_name(member), response->status, response->body));
  const auto json = nlohmann::json::parse(response->body, nullptr, false);
  if (!json.is_object() || !json.contains("header"))
    return make_error(ErrorCode::kInternal, fmt::format("{} status: {}", member_name(member), response->body));
  // The JSON gateway writes uint64 as strings and leaves zero out: no "leader" means none.
  return json["header"].value("member_id", "") + "/" + json.value("leader", "0");
}

Result<std::optional<int>> EtcdCluster::leader_seen_by(int member, std::chrono::milliseconds timeout) const {
  ASSIGN_OR_RETURN(const std::string ids, status_member_id(member, timeout));
  const std::string leader = ids.substr(ids.find('/') + 1);
  if (leader == "0") return std::optional<int>();
  const auto found = member_by_id_.find(leader);
  if (found == member_by_id_.end())
    return make_error(ErrorCode::kInternal,
                      fmt::format("{} names leader {}, no member of ours", member_name(member), leader));
  return std::optional<int>(found->second);
}

Result<int> EtcdCluster::wait_for_leader(const std::vector<int>& members, const std::vector<int>& candidates,
                                         std::chrono::seconds timeout) const {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string last;
  while (std::chrono::steady_clock::now() < deadline) {
    std::optional<int> agreed;
    bool all = true;
    for (const int member : members) {
      auto leader = leader_seen_by(member, std::chrono::milliseconds(500));
      if (!leader || !leader->has_value() || (agreed && *agreed != **leader)) {
        last = leader ? (leader->has_value() ? "members disagree" : member_name(member) + " has no leader")
                      : leader.error().message;
        all = false;
        break;
      }
      agreed = **leader;
    }
    if (all && agreed && std::find(candidates.begin(), candidates.end(), *agreed) != candidates.end()) return *agreed;
    if (all && agreed) last = fmt::format("the leader is {}, not a candidate", member_name(*agreed));
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the poll interval
  }
  return make_error(ErrorCode::kUnavailable, fmt::format("no agreed leader after {} s: {}", timeout.count(), last));
}

void EtcdCluster::kill(int member) {
  pid_t& pid = pids_.at(static_cast<std::size_t>(member));
  // A member TestHosts::kill_all already killed is reaped there: child_has_exited says so.
  if (pid > 0 && !child_has_exited(pid)) {
    ::kill(pid, SIGKILL);
    while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
  }
  pid = -1;
}

Result<bool> EtcdCluster::restart(int member) {
  kill(member);
  RETURN_IF_ERROR(launch(member, false));
  return wait_until_healthy(member);
}

std::string EtcdCluster::log_tail(int member) const { return file_tail(directory_ / (member_name(member) + ".log")); }

}  // namespace pgstack::testing
