// The workload behind the write checker (support/write_history.h): unique ids written one at a time
// through a libpq connection string (a multi-host URI over a cluster's members or proxies, or one
// server), each write's outcome recorded as the client saw it, with the member and timeline that
// acknowledged it; afterwards the ids are read back from the healed cluster.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "postgres/postgres_session.h"
#include "support/write_history.h"

namespace pgstack::testing {

struct WriteWorkloadOptions {
  std::string conninfo;  // libpq keyword/value string or URI; several hosts allowed
  std::string table = "pgstack_write_history";
  std::chrono::seconds connect_timeout{2};
  // A server that stops answering (a partition) ends the write after about this long, as unknown
  // (tcp_user_timeout and keepalives), instead of blocking until TCP gives up.
  std::chrono::seconds dead_server_timeout{3};
  // SQL that names the server that ran the write; its address and port by default.
  std::string member_expression = "coalesce(host(inet_server_addr()), 'local') || ':' || inet_server_port()";
  std::int64_t first_id = 1;
  // The time the history's times count from; workloads whose histories are checked together share it.
  std::optional<std::chrono::steady_clock::time_point> clock_start;
};

// Whether a write whose statement failed may still have committed: a failure Postgres reported with
// a SQLSTATE aborted the statement (failed), except those of a connection or server going away
// (classes 08, 57, 58, XX), which may come after the commit; no SQLSTATE (the connection broke) is unknown.
WriteOutcome classify_write_failure(std::string_view sqlstate);

// The timeline in a WAL file name (its first 8 hex digits); 0 when it is not one.
std::int64_t timeline_of_wal_file(std::string_view wal_file_name);

// Not thread-safe: one thread drives it (a test runs it on a thread of its own during faults).
class WriteWorkload {
 public:
  explicit WriteWorkload(WriteWorkloadOptions options);

  // CREATE TABLE IF NOT EXISTS: no unique constraint, so a write applied twice shows as a duplicate.
  Result<bool> create_table();
  // Writes the next id (connecting first when there is no session); records and returns the outcome.
  const WriteRecord& write_next();
  // Writes until `keep_going` says no, `pause` between writes.
  void run(const std::function<bool()>& keep_going, std::chrono::milliseconds pause);
  const std::vector<WriteRecord>& history() const { return history_; }
  std::chrono::steady_clock::time_point clock_start() const { return started_; }
  // Every id in the table, duplicates included, through a new session.
  Result<std::vector<std::int64_t>> read_back() const;

 private:
  std::chrono::microseconds since_start() const;
  std::vector<std::pair<std::string, std::string>> connection_overrides() const;

  WriteWorkloadOptions options_;
  std::chrono::steady_clock::time_point started_;
  std::unique_ptr<postgres::PostgresSession> session_;
  std::vector<WriteRecord> history_;
  std::int64_t next_id_;
};

}  // namespace pgstack::testing
