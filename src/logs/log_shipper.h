// Ships one log of one instance (its Postgres csvlog, Patroni's, PgBouncer's, pgBackRest's or its cluster's
// pgstack-proxy's log) to the log store, exactly once.
//
// Each call of ship_once() reads the store's log_ingest_state for the log's files, picks the oldest file
// with bytes not yet shipped (ship_plan.h), reads at most one batch from its committed offset, frames
// whole records (record_framing.h) and, in ONE transaction, sets `pgstack.namespace/cluster/instance/
// role` for the tables' defaults, COPYs the records and moves the file's offset. A crash, a kill -9, a
// lost connection or a store failover at any point leaves either the whole batch and its offset or
// neither, so the next call re-reads from the committed offset: no line lost, none twice. Nothing is
// kept in memory between calls: when the store is unreachable the files are the buffer and the
// shipper falls behind (bytes_behind in its status) instead of growing.
//
// The offset update also checks that the stored offset is still the one the batch started from, so two
// shippers of the same files (an agent and its stale predecessor) cannot both commit a batch.
//
// It reads files only, so it never slows Postgres or Patroni. The agent runs it (agent/instance_logs.h).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "common/error.h"
#include "logs/ship_plan.h"
#include "postgres/postgres_session.h"

namespace pgstack::logs {

// Who wrote the log: the values of the log tables' namespace, cluster, instance and role.
struct LogSource {
  std::string namespace_name;
  std::string cluster;
  std::string instance;
  std::string role;  // may be empty (NULL)
  // The SGCluster's metadata.uid: once log_deleted_clusters names it (the cluster was deleted with its logs),
  // nothing more is shipped.
  std::string cluster_uid;
};

struct ShipperSettings {
  LogType type = LogType::kPostgres;
  std::filesystem::path directory;  // where the log's files are (Postgres: log_directory)
  LogSource source;
  // When set, asked at each batch for source.role: a member's role changes on a switchover.
  std::function<std::string()> current_role;
  postgres::PostgresTarget store;  // the log store's database
  // A batch reads at most this many bytes; a record longer than that is stored cut (truncation_marker).
  std::size_t batch_bytes = 4 << 20;
  // When the last record of a file is complete: the current file of a text log and a Postgres file that
  // a newer one follows count as finished once nothing was written to them for this long.
  std::chrono::milliseconds settle{2000};
  // The zone of text logs' timestamps written without one (Patroni's, pgBackRest's, the proxy's): an
  // IANA name or anything Postgres's TimeZone takes. Empty: the shipper's own zone (TZ, else
  // /etc/localtime), which is theirs when the agent starts them.
  std::string local_time_zone;
  // For tests: runs after the COPY and the offset update, before COMMIT.
  std::function<void()> before_commit;
};

// What one ship_once() did.
struct ShipOutcome {
  bool shipped = false;  // false: nothing new to ship now
  std::string file;
  std::uint64_t records = 0;
  std::uint64_t bytes = 0;            // of the file, consumed by this batch
  std::uint64_t bytes_behind = 0;     // left to ship over all files after this batch
  std::string last_record_time;       // the timestamp of the batch's last record, as written
  std::string notice;                 // a restart from 0 (truncation, new file), a cut record or a dropped tail
  std::uint64_t bytes_skipped = 0;    // a record the store refused even alone, skipped (said in `notice`)
  bool cluster_logs_deleted = false;  // the store marks the cluster's logs deleted: nothing is shipped any more
  // Each file of the log by name: its bytes in the store after this batch (what may be deleted).
  std::map<std::string, std::uint64_t> shipped_bytes;
};

// Running totals, for the agent's report and metrics.
struct ShipperStatus {
  std::uint64_t records_total = 0;
  std::uint64_t batches_total = 0;
  std::uint64_t errors_total = 0;
  std::uint64_t bytes_skipped_total = 0;  // refused by the store even as a single record, then skipped
  std::uint64_t bytes_behind = 0;
  std::string last_record_time;  // of the last committed record
  std::string last_error;        // empty after a success
  std::chrono::system_clock::time_point last_success{};
};

class LogShipper {
 public:
  explicit LogShipper(ShipperSettings settings);
  ~LogShipper();
  LogShipper(const LogShipper&) = delete;
  LogShipper& operator=(const LogShipper&) = delete;

  // Ships at most one batch. An error (store unreachable, a statement refused, a file unreadable) is
  // returned and counted, and the connection dropped; the next call starts again from the store's state.
  //
  // A batch whose content the store refuses (is_refused_content: a record the framing got wrong, such as a
  // csvlog record cut inside quotes) would be refused for ever, so the shipper narrows it down instead: the
  // next calls ship half as many records from that offset, down to one; a single record refused is skipped to
  // where the next record begins (next_record_start), said in the outcome's notice and counted. The
  // narrowing lives in this object: keep it across such errors (refusal_pending()).
  Result<ShipOutcome> ship_once();
  // Calls ship_once() until nothing is left or it fails; the batches shipped.
  Result<std::uint64_t> ship_all();

  const ShipperStatus& status() const { return status_; }
  // The last error was a refused batch being narrowed down: calling ship_once() again on this object
  // continues it (a new shipper would start over with the whole batch).
  bool refusal_pending() const { return refusal_.has_value(); }

 private:
  Result<ShipOutcome> ship_next();
  Result<bool> ensure_session();

  ShipperSettings settings_;
  std::string time_zone_;
  std::unique_ptr<postgres::PostgresSession> session_;
  ShipperStatus status_;
  // Where the store refused a batch: from `offset` of the file (device, inode), at most `records_limit`
  // records per batch; 0 means skip the refused record.
  struct Refusal {
    std::uint64_t device = 0;
    std::uint64_t inode = 0;
    std::uint64_t offset = 0;
    std::size_t records_limit = 0;
    std::string error;
  };
  std::optional<Refusal> refusal_;
  bool cluster_logs_deleted_ = false;  // seen in log_deleted_clusters: for good (a new cluster has a new uid)
};

// The zone this process runs in: $TZ, else the name /etc/localtime links to, else "UTC".
std::string local_time_zone_name();

}  // namespace pgstack::logs
