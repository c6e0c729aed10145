// A PgBouncer (Debian's /usr/sbin/pgbouncer, 1.18) a proxy test starts itself in front of one Postgres:
// trust authentication, session pooling as pgstack configures it, run in the foreground as the
// postgres user (-u) so its pid is the test's child and a crash is seen as that child exiting.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include <sys/types.h>

#include "common/error.h"

namespace pgstack::testing {

class PgbouncerNode {
 public:
  // Listens on 127.0.0.1:port; every database goes to 127.0.0.1:postgres_port as the client's user.
  static Result<std::unique_ptr<PgbouncerNode>> start(const std::filesystem::path& directory, int port,
                                                      int postgres_port);
  ~PgbouncerNode();
  PgbouncerNode(const PgbouncerNode&) = delete;
  PgbouncerNode& operator=(const PgbouncerNode&) = delete;

  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  // False once the process has exited (crashed); reaps it then.
  bool running();
  std::string log_tail() const;
  std::string conninfo(const std::string& database = "postgres", const std::string& user = "postgres") const;

 private:
  PgbouncerNode(std::filesystem::path directory, int port) : directory_(std::move(directory)), port_(port) {}

  std::filesystem::path directory_;
  int port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace pgstack::testing
