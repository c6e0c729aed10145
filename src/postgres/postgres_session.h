// A libpq session to a Postgres server over TCP with TLS: how the controller's day-2 operations
// (SGDbOps) and managed SQL (SGScript) reach a cluster's primary. Where that primary is and who to be
// there is the controller's business (controller/primary_target.h).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/error.h"

struct pg_conn;

namespace pgstack::postgres {

struct PostgresTarget {
  std::string host;
  int port = 0;
  std::string database = "postgres";
  std::string user;
  std::string password;
  std::string ssl_root_certificate;          // the CA that signed the server's certificate; empty: TLS unverified
  std::string application_name = "pgstack";  // what pg_stat_activity and the server's log show
  // When above zero: a server that stops answering (a host gone, a partition) fails the session after
  // about this long (TCP keepalives and tcp_user_timeout) instead of blocking it until TCP gives up.
  std::chrono::seconds dead_server_timeout{0};
};

// "host=… port=… …" with libpq's quoting; TLS is required, and verified when a CA is known.
std::string conninfo_for(const PostgresTarget& target, std::chrono::seconds connect_timeout);

// The same as PG* variables, for client programs (pg_repack, pgbench) run on the target's behalf.
std::vector<std::pair<std::string, std::string>> libpq_environment(const PostgresTarget& target);

// What Postgres said when a statement failed.
struct SqlFailure {
  std::string sqlstate;  // e.g. "42P01"; empty when the connection itself failed
  std::string message;
};

using Rows = std::vector<std::vector<std::string>>;

class PostgresSession {
 public:
  static Result<std::unique_ptr<PostgresSession>> connect(
      const PostgresTarget& target, std::chrono::seconds connect_timeout = std::chrono::seconds(10));
  // A libpq connection string or URI as the caller wrote it (several hosts, target_session_attrs, its
  // own sslmode), with `overrides` (keyword, value) winning over what it says.
  static Result<std::unique_ptr<PostgresSession>> connect_string(
      const std::string& conninfo, const std::vector<std::pair<std::string, std::string>>& overrides = {});
  ~PostgresSession();
  PostgresSession(const PostgresSession&) = delete;
  PostgresSession& operator=(const PostgresSession&) = delete;

  // Runs `sql` (one or more statements, simple protocol); the rows of the last one as text (NULL: "").
  Result<Rows> query(const std::string& sql);
  // `COPY ... FROM STDIN` with `data` as its whole input (sent in pieces); the number of rows copied.
  // Inside a transaction (after query("BEGIN")) the rows become visible only with its COMMIT.
  Result<std::uint64_t> copy_from(const std::string& copy_sql, std::string_view data);
  // After a failed query: the SQLSTATE and Postgres's message.
  const SqlFailure& last_failure() const { return last_failure_; }
  // Asks the server to cancel what runs now; safe from another thread (used for timeouts).
  void cancel();

 private:
  explicit PostgresSession(pg_conn* connection) : connection_(connection) {}
  pg_conn* connection_;
  SqlFailure last_failure_;
};

// SQL literal and identifier quoting, for the few statements built from names (databases, tables).
std::string quote_identifier(const std::string& name);
std::string quote_literal(const std::string& value);

}  // namespace pgstack::postgres
