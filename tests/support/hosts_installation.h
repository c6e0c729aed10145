// A whole pgstack installation across test hosts (support/test_hosts.h): a 3-member etcd
// (support/etcd_cluster.h) and a pgstack-agent on each of the first three hosts, each with its own
// state directory and its host's address, and pgstack-controller on the fourth, which is also where
// the test stands as a client (API calls, libpq). The agents' Patroni, Postgres, PgBouncer and proxies
// run inside their host, so TestHosts' faults (kill_all, partitions) reach all of them.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/http_client.h"
#include "support/etcd_cluster.h"
#include "support/test_hosts.h"

namespace pgstack::testing {

struct InstallationBinaries {
  std::string controller;
  std::string agent;
  std::string cli;
  std::vector<std::string> controller_arguments;  // added to pgstack-controller's own
};

class HostsInstallation {
 public:
  static constexpr int kMemberHosts = 3;  // hosts 0..2: etcd, agent, members
  static constexpr int kClientHost = 3;   // the controller and the test's clients

  // Makes the hosts, starts etcd, the controller and the agents; fails with the logs' ends.
  static Result<std::unique_ptr<HostsInstallation>> start(const InstallationBinaries& binaries);
  ~HostsInstallation();
  HostsInstallation(const HostsInstallation&) = delete;
  HostsInstallation& operator=(const HostsInstallation&) = delete;

  TestHosts& hosts() { return *hosts_; }
  EtcdCluster& etcd() { return *etcd_; }
  // The agent's host name on host `host` ("n1".."n3"), as members report it.
  std::string host_name(int host) const { return hosts_->name(host); }
  // The member host whose name is `name`; -1 for none.
  int host_named(const std::string& name) const;

  // Starts (again) host `host`'s agent; after a kill_all its etcd member is started first.
  Result<bool> start_agent(int host);
  // Every process of the host (etcd member, agent, Patroni, Postgres, ...) killed -9.
  void kill_host(int host);
  // A killed host's etcd member and agent started again on the same data: the host comes back.
  Result<bool> restart_host(int host);

  // The REST API, as the bootstrap admin, from the client host. `path` below
  // /apis/stackgres.io/v1/namespaces/default/ unless it starts with '/'.
  Result<HttpResponse> api(const std::string& method, const std::string& path, const std::string& body = "") const;
  // GET as JSON; an empty object when it cannot be read.
  nlohmann::json get(const std::string& path) const;
  // The pgstack CLI run on the client host against this installation's API; its output.
  Result<CommandOutput> cli(const std::vector<std::string>& arguments) const;

  std::string logs_tail() const;
  // The lines of the agents' and Patroni's logs that tell who led, demoted, promoted or was stopped, in
  // each file's order (at most `per_file` of the last): short enough to survive a truncated CI log.
  std::string leadership_trail(std::size_t per_file = 25) const;

 private:
  HostsInstallation() = default;
  // The patroni.log of every instance on member host `host`.
  std::vector<std::filesystem::path> patroni_logs(int host) const;
  Result<bool> start_controller();

  InstallationBinaries binaries_;
  std::unique_ptr<TestHosts> hosts_;
  std::unique_ptr<EtcdCluster> etcd_;
  std::filesystem::path directory_;
  std::string api_url_;
  std::string admin_token_;
};

}  // namespace pgstack::testing
