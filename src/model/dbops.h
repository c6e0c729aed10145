// SGDbOps read into types: which day-2 operation to run on which cluster, and how. The schema
// (model/kinds.cpp) has already refused ill-typed fields; this reads what is there, with defaults.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/error.h"
#include "model/document.h"

namespace pgstack::model {

// ISO 8601 durations as StackGres writes them ("PT10M", "P0DT0H1M30.5S", "P1W"). Years and months
// have no fixed length and are refused.
Result<std::chrono::milliseconds> parse_iso_duration(std::string_view text);

struct VacuumTarget {
  std::string database;  // empty: every database that accepts connections
  bool full = false;
  bool freeze = false;
  bool analyze = true;
  bool disable_page_skipping = false;
};

struct RepackTarget {
  std::string database;  // empty: every database that accepts connections
  bool no_order = false;
  std::optional<std::chrono::milliseconds> wait_timeout;
  bool no_kill_backend = false;
  bool no_analyze = false;
  bool exclude_extension = false;
};

struct BenchmarkCustomScript {
  std::string script;   // SQL for pgbench -f
  std::string builtin;  // or one of pgbench's builtins (-b)
  int weight = 1;
};

struct Benchmark {
  std::string connection_type = "primary-service";  // or replicas-service
  std::int64_t database_size_bytes = 0;
  std::chrono::milliseconds duration{0};
  std::string query_mode = "simple";  // simple, extended, prepared
  std::string mode = "tpcb-like";     // tpcb-like, select-only, custom
  int clients = 1;
  int threads = 1;
  std::vector<BenchmarkCustomScript> custom_scripts;
  std::optional<double> sampling_rate;  // of the transactions logged (the latencies' sample)
  // pgbench --initialize: as StackGres' pgbench fields of the same names say.
  bool foreign_keys = false;
  bool unlogged_tables = false;
  std::string partition_method;  // range, hash; empty: pgbench's default
  int partitions = 0;
  std::string init_steps;
  int fillfactor = 0;  // 0: pgbench's default (100)
  bool no_vacuum = false;
};

struct DbOps {
  std::string name;
  std::string namespace_name;
  std::string cluster;
  std::string op;      // benchmark, vacuum, repack, restart, securityUpgrade, minorVersionUpgrade, majorVersionUpgrade
  std::string run_at;  // ISO 8601 UTC; empty: as soon as possible
  std::optional<std::chrono::milliseconds> timeout;
  int max_retries = 0;
  std::string created;        // metadata.creationTimestamp: the queue's order (whole seconds)
  std::int64_t revision = 0;  // metadata.resourceVersion: the order within one second
  // restart, securityUpgrade, minorVersionUpgrade
  std::string method = "InPlace";
  bool only_pending_restart = false;
  std::string target_postgres_version;  // minorVersionUpgrade, majorVersionUpgrade
  std::vector<VacuumTarget> vacuum;     // one entry per database, or one with database empty
  std::vector<RepackTarget> repack;
  Benchmark benchmark;
  // Fields StackGres defines that pgstack accepts but does not act on, each with why (the status says so).
  std::vector<std::string> ignored;
};

// Fails only on values the schema cannot check (a duration with years, a size that overflows).
Result<DbOps> dbops_from(const Document& document);

}  // namespace pgstack::model
