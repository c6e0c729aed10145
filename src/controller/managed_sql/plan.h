// Managed SQL (SGScript) on a cluster, the pure part: what ran (the progress kept in etcd and shown as
// status.managedSql, StackGres' shape) and which entry runs next given the SGScripts, that progress
// and the time. No I/O: the runner (runner.h) reads the inputs, runs the entry and stores the result.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "model/document.h"
#include "model/script.h"

namespace pgstack::controller::managed_sql {

using Clock = std::chrono::system_clock;

// status.managedSql.scripts[].scripts[]: one SGScript entry on this cluster.
struct EntryProgress {
  int id = 0;
  std::int64_t version = 0;                 // the version that ran last (or runs now)
  std::optional<int> intents;               // attempts of `version` so far; absent once it succeeded
  std::optional<std::string> failure_code;  // SQLSTATE, or XX500 when it could not run at all
  std::optional<std::string> failure;
  // Kept in etcd only: the hash of what ran (managed versions) and when it was last tried (backoff).
  std::string hash;
  std::optional<Clock::time_point> attempted_at;
};

// status.managedSql.scripts[]: one spec.managedSql.scripts[] reference.
struct ScriptProgress {
  int id = 0;
  std::string sg_script;                                        // pgstack's addition: which SGScript the id refers to
  std::string started_at, updated_at, completed_at, failed_at;  // ISO-8601 UTC, empty: never
  std::string failure;  // pgstack's addition: why the SGScript itself cannot run (it does not exist)
  std::vector<EntryProgress> entries;
};

struct ClusterProgress {
  std::string cluster_uid;  // a new cluster of the same name starts afresh
  std::vector<ScriptProgress> scripts;
  bool operator==(const ClusterProgress& other) const;
};

// The etcd form keeps the hashes and attempt times; the status form is StackGres' fields only.
model::Json progress_to_json(const ClusterProgress& progress);
ClusterProgress progress_from_json(const model::Json& json);
model::Json progress_to_status(const ClusterProgress& progress);

// An SGScript entry with its SQL read (inline or from its Secret), or why it cannot be read.
struct ResolvedEntry {
  model::ScriptEntry entry;
  std::string sql;
  bool from_secret = false;
  std::string problem;  // e.g. the Secret or key is missing; nothing runs while it is set
  std::string hash;     // of the SQL and the options that change what it does (entry_hash)
};

struct ResolvedScript {
  model::ManagedScriptReference reference;
  std::optional<model::Script> script;  // nullopt: it cannot be read (`problem` says why)
  std::string problem;                  // e.g. "SGScript default/x does not exist"
  std::vector<ResolvedEntry> entries;   // in spec order
};

// SHA-256 (hex) of the database, user, isolation, storeStatusInDatabase, retryOnError and SQL, as
// StackGres hashes an entry to bump its managed version.
std::string entry_hash(const model::ScriptEntry& entry, const std::string& sql);

struct PlanInput {
  std::string cluster_uid;
  bool continue_on_sgscript_error = false;
  std::vector<ResolvedScript> scripts;  // spec.managedSql.scripts[], in order
  ClusterProgress progress;             // as stored
  Clock::time_point now;
};

// The entry to run now: scripts[script].entries[entry] of the input, at `version`.
struct EntryToRun {
  std::size_t script = 0;
  std::size_t entry = 0;
  std::int64_t version = 0;
};

struct Plan {
  ClusterProgress progress;  // the stored progress brought in line with the spec (store it when changed)
  std::optional<EntryToRun> run;
  std::optional<Clock::time_point> retry_at;  // the earliest backoff that ends, when nothing runs now
};

// The version an entry must have applied: with managedVersions, the stored one while the hash is the
// same and the next one when it changed (never below a version the user wrote); else the user's (0).
std::int64_t desired_version(const ResolvedEntry& entry, bool managed_versions, const EntryProgress* stored);

// Backoff of an entry with retryOnError after `intents` failures: 10 s, doubling, at most 10 min.
std::chrono::seconds retry_backoff(int intents);

Plan plan_managed_sql(const PlanInput& input);

// Progress updates around a run of plan.run (`now` is when it started or ended).
void record_attempt(ClusterProgress& progress, const PlanInput& input, const EntryToRun& run, Clock::time_point now);
void record_success(ClusterProgress& progress, const PlanInput& input, const EntryToRun& run);
void record_failure(ClusterProgress& progress, const PlanInput& input, const EntryToRun& run, const std::string& code,
                    const std::string& message, Clock::time_point now);

}  // namespace pgstack::controller::managed_sql
