// An etcd cluster across test hosts (support/test_hosts.h): one member per host, on the host's own
// address, with --initial-cluster over those addresses. Like pgstack's etcd (and EtcdServer) it
// serves only TLS and requires client certificates from its CA. The test process is no host: it
// talks to the members from a client host, on threads that TestHosts::run_inside puts there.
#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <sys/types.h>

#include "common/error.h"
#include "support/test_hosts.h"

namespace pgstack::testing {

class EtcdCluster {
 public:
  // Members on `member_hosts` (one each), reached from `client_host`; returns once every member
  // reports itself healthy (a leader elected), or fails after 30 s with the end of the logs.
  static Result<std::unique_ptr<EtcdCluster>> start(TestHosts& hosts, std::vector<int> member_hosts, int client_host);
  ~EtcdCluster();
  EtcdCluster(const EtcdCluster&) = delete;
  EtcdCluster& operator=(const EtcdCluster&) = delete;

  int size() const { return static_cast<int>(member_hosts_.size()); }
  int member_host(int member) const { return member_hosts_.at(static_cast<std::size_t>(member)); }
  int client_host() const { return client_host_; }
  std::string endpoint(int member) const;  // https://<host address>:2379
  std::vector<std::string> endpoints() const;
  std::filesystem::path ca_file() const { return directory_ / "pki" / "ca.crt"; }
  // The CA's directory (ca.crt and ca.key): pgstack's daemons issue their certificates from it.
  std::filesystem::path ca_directory() const { return directory_ / "pki"; }
  // The client certificate the test process talks to etcd with (pgstack's controller may use it too).
  std::filesystem::path client_certificate() const { return directory_ / "client.crt"; }
  std::filesystem::path client_key() const { return directory_ / "client.key"; }

  // What `member` says of the cluster's leader (its /v3/maintenance/status, from the client host):
  // the leader's member index, nothing when it has none; an error when it does not answer in time.
  Result<std::optional<int>> leader_seen_by(int member, std::chrono::milliseconds timeout) const;
  // Waits until every member in `members` names the same leader, one of `candidates`; returns it.
  Result<int> wait_for_leader(const std::vector<int>& members, const std::vector<int>& candidates,
                              std::chrono::seconds timeout) const;

  // kill -9 of one member, and its start again with the same data.
  void kill(int member);
  Result<bool> restart(int member);
  std::string log_tail(int member) const;

 private:
  EtcdCluster(TestHosts& hosts, std::vector<int> member_hosts, int client_host)
      : hosts_(hosts), member_hosts_(std::move(member_hosts)), client_host_(client_host) {}
  Result<bool> prepare();
  Result<bool> launch(int member, bool new_cluster);
  Result<bool> wait_until_healthy(int member);
  // "<its member id>/<its leader's member id>" (leader 0: none), from its status.
  Result<std::string> status_member_id(int member, std::chrono::milliseconds timeout) const;

  TestHosts& hosts_;
  std::vector<int> member_hosts_;
  int client_host_;
  std::filesystem::path directory_;
  std::vector<pid_t> pids_;
  std::map<std::string, int> member_by_id_;  // etcd's member id -> our index
};

}  // namespace pgstack::testing
