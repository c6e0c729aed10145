// Postgres servers a proxy test starts itself (initdb / pg_basebackup -R / pg_ctl as the postgres
// user), and a stand-in for Patroni's REST health endpoints whose answers the test sets.
#pragma once

#include <atomic>
#include <filesystem>
#include <memory>
#include <string>

#include <sys/types.h>

#include "common/error.h"
#include "common/http_server.h"
#include "common/process.h"

namespace pgstack::testing {

class PostgresNode {
 public:
  // A new primary in `directory` listening on 127.0.0.1:port (trust for local users, scram for
  // "scram_user", replication allowed).
  static Result<std::unique_ptr<PostgresNode>> init_primary(const std::filesystem::path& directory, int port);
  // A streaming replica of `primary` (pg_basebackup -R).
  static Result<std::unique_ptr<PostgresNode>> init_replica(const PostgresNode& primary,
                                                            const std::filesystem::path& directory, int port);
  ~PostgresNode();

  Result<bool> start();
  Result<bool> stop();
  Result<bool> promote();
  // SIGKILL to the postmaster, as a crash.
  Result<bool> kill_hard();
  pid_t postmaster_pid() const;

  int port() const { return port_; }
  std::string conninfo(const std::string& database = "postgres", const std::string& user = "postgres") const;
  // psql -X -A -t -c against this node.
  Result<CommandOutput> psql(const std::string& sql, const std::string& database = "postgres") const;

 private:
  PostgresNode(std::filesystem::path directory, int port) : directory_(std::move(directory)), port_(port) {}
  Result<CommandOutput> pg_ctl(const std::vector<std::string>& arguments) const;

  std::filesystem::path directory_;
  int port_ = 0;
  bool running_ = false;
};

// Answers /primary, /replica and /patroni like Patroni would for the role the test sets.
class FakePatroni {
 public:
  enum class Role { kPrimary, kReplica, kDown };
  FakePatroni();
  Result<bool> start();
  void stop() { server_.stop(); }
  std::string api_url() const;  // http://127.0.0.1:<port>/patroni
  void set_role(Role role) { role_ = role; }
  void set_lagging(bool lagging) { lagging_ = lagging; }

 private:
  HttpReply handle(const HttpRequest& request) const;
  std::atomic<Role> role_{Role::kReplica};
  std::atomic<bool> lagging_{false};
  HttpServer server_;
};

std::string postgres_bin(const std::string& program);

}  // namespace pgstack::testing
