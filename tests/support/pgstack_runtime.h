// A whole pgstack on this machine for end-to-end tests: a real etcd, pgstack-controller and
// pgstack-agent (which runs real Patroni, Postgres and PgBouncer), on free ports in a temp directory.
// The destructor stops everything and removes the directory, whatever state the test left.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/http_client.h"
#include "common/process.h"
#include "process/process_supervisor.h"
#include "support/etcd_server.h"

namespace pgstack::testing {

struct RuntimeBinaries {
  std::string controller;
  std::string agent;
  std::string cli;
  std::vector<std::string> controller_flags;  // added to the controller's command line
  std::vector<std::string> agent_flags;       // added to the agent's (set_agent_flags replaces them)
};

class PgstackRuntime {
 public:
  static Result<std::unique_ptr<PgstackRuntime>> start(const RuntimeBinaries& binaries);
  ~PgstackRuntime();

  const std::string& api_url() const { return api_url_; }
  const std::filesystem::path& directory() const { return directory_; }
  const std::filesystem::path& agent_state_dir() const { return agent_state_dir_; }
  const EtcdServer& etcd() const { return *etcd_; }
  // The host's node_exporter (the agent's --node-exporter-listen on 127.0.0.1).
  int node_exporter_port() const { return port_base_ + 460; }
  // The agent's own /metrics (its --metrics-listen on 127.0.0.1).
  int agent_metrics_port() const { return port_base_ + 470; }
  // The installation's CA certificate (pki/ca.crt), for sslmode=verify-full.
  std::filesystem::path ca_certificate() const { return directory_ / "pki" / "ca.crt"; }
  // Added to the agent's command line from its next start_agent() on.
  void set_agent_flags(std::vector<std::string> flags) { agent_flags_ = std::move(flags); }
  // Of the certificates the agent issues from its next start_agent() on.
  void set_certificate_lifetime(std::chrono::seconds lifetime) { certificate_lifetime_ = lifetime; }

  // `path` below /apis/stackgres.io/v1/namespaces/default/ unless it starts with '/'.
  Result<HttpResponse> api(const std::string& method, const std::string& path, const std::string& body = "") const;
  // The same with another caller's bearer token ("" : none).
  Result<HttpResponse> api_as(const std::string& token, const std::string& method, const std::string& path,
                              const std::string& body = "") const;
  // The token of the admin the controller was started with (--bootstrap-admin e2e-admin).
  const std::string& admin_token() const { return admin_token_; }
  Result<nlohmann::json> api_json(const std::string& method, const std::string& path,
                                  const std::string& body = "") const;

  Result<bool> start_controller();
  Result<bool> stop_controller();
  // SIGKILL, as a crash: whatever it was doing stops between two steps.
  Result<bool> kill_controller();
  Result<bool> start_agent();
  // SIGKILL, as a crash: the instances keep running.
  Result<bool> kill_agent();

  // GET `path` as JSON; an empty object when it cannot be read (tests poll until it can).
  nlohmann::json get(const std::string& path) const;
  // GET sgclusters/<cluster>/status.
  nlohmann::json cluster_status(const std::string& cluster) const;
  // SQL as the cluster's superuser on the primary's own Postgres port; the output trimmed.
  Result<std::string> superuser_sql(const std::string& cluster, const std::string& statement) const;

  // Runs the pgstack CLI against this runtime's API as the admin, with this runtime's directory as its state dir.
  Result<CommandOutput> cli(std::vector<std::string> arguments) const;

  std::string controller_log() const;
  std::string agent_log() const;
  // The end of each member's Patroni log of `cluster` (namespace default): why a member changed role.
  std::string patroni_logs(const std::string& cluster, std::size_t bytes_per_member = 4000) const;

 private:
  PgstackRuntime() = default;
  ProcessSpec controller_spec() const;
  ProcessSpec agent_spec() const;
  void stop_everything();

  RuntimeBinaries binaries_;
  std::filesystem::path directory_;
  std::filesystem::path agent_state_dir_;
  std::unique_ptr<EtcdServer> etcd_;
  int api_port_ = 0;
  int port_base_ = 20000;    // Postgres from here, PgBouncer +100, Patroni +200, proxy +300, proxy admin +400, exporter
                             // +450, node_exporter +460, the agent's /metrics +470
  int port_base_lock_ = -1;  // the lock file that claims port_base_ against other suites running at once
  std::string api_url_;
  std::string admin_token_;
  std::unique_ptr<ProcessSupervisor> controller_;
  std::unique_ptr<ProcessSupervisor> agent_;
  std::chrono::seconds certificate_lifetime_ = std::chrono::hours(24 * 365);
  std::vector<std::string> agent_flags_;
};

// The cluster status' primary, "" without one; its condition of `type`, an empty object without one.
std::string primary_in(const nlohmann::json& status);
nlohmann::json condition_in(const nlohmann::json& status, const std::string& type);

// A gtest environment that starts one runtime for a whole suite (`runtime` points at it meanwhile)
// and, when a test failed, prints the controller's and agent's logs and the Patroni logs of
// `cluster_to_dump` before it stops everything.
class RuntimeEnvironment : public ::testing::Environment {
 public:
  RuntimeEnvironment(PgstackRuntime** runtime, RuntimeBinaries binaries, std::string cluster_to_dump = "")
      : runtime_pointer_(runtime), binaries_(std::move(binaries)), cluster_to_dump_(std::move(cluster_to_dump)) {}
  void SetUp() override;
  void TearDown() override;

 private:
  PgstackRuntime** runtime_pointer_;
  RuntimeBinaries binaries_;
  std::string cluster_to_dump_;
  std::unique_ptr<PgstackRuntime> runtime_;
};

// Polls `condition` until it is true or `timeout` passes; returns whether it became true.
bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds timeout,
                std::chrono::milliseconds poll = std::chrono::milliseconds(250));

// psql -X -A -t -q against a libpq URI, the password in PGPASSWORD (never on the command line).
Result<CommandOutput> run_psql(const std::string& uri, const std::string& password, const std::string& sql);

}  // namespace pgstack::testing
