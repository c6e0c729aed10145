// The log shipper's decisions, pure (no I/O): which files of a log are its own and in what order they
// were written, where to resume in each from the state the store holds, what bytes become COPY input
// (Patroni records as CSV rows, invalid UTF-8 replaced), and how a record too large for a batch is cut.
// log_shipper.h does the reading and the shipping.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "logs/record_framing.h"

namespace pgstack::logs {

// Each log of an instance: Postgres's csvlog, Patroni's log, and pgstack's own parts (PgBouncer's log,
// pgBackRest's command logs, the cluster's pgstack-proxy's log on the host).
// kAgent: the agent's lines about the cluster (agent/cluster_log_sink.h).
enum class LogType { kPostgres, kPatroni, kPgbouncer, kPgbackrest, kProxy, kAgent };
// "postgres", "patroni", "pgbouncer", "pgbackrest", "proxy", "agent": log_ingest_state.log_type, and
// log_pgstack's.
std::string_view log_type_name(LogType type);
// The line format of a text log; nothing for Postgres's csvlog.
std::optional<TextFormat> text_format(LogType type);
// The store's table a log goes to, and the columns its COPY fills.
std::string_view log_table_for(LogType type);
std::string_view copy_columns_for(LogType type);

// A file of a log as seen in its directory.
struct LogFile {
  std::string name;  // in the log's directory
  std::uint64_t device = 0;
  std::uint64_t inode = 0;
  std::uint64_t size = 0;
  std::int64_t modified_ns = 0;  // mtime, nanoseconds since the epoch
};

// Postgres: `*.csv` (the collector's csvlog files). Patroni, PgBouncer, the proxy: `patroni.log`,
// `pgbouncer.log`, `proxy.log` and the names rotation renames them to, `<name>.<n>`. pgBackRest: every
// `*.log` of its log directory (one per stanza and command, each appended to by every run).
bool is_log_file(LogType type, std::string_view name);

// For a log rotated by renaming (Patroni, PgBouncer, the proxy): 0 for its current file (`pgbouncer.log`),
// N for `<name>.N` (N >= 1), nothing for any other name and for the other logs.
std::optional<std::uint64_t> renamed_log_number(LogType type, std::string_view name);

// Oldest first. Postgres makes a new file on rotation, so its files (and pgBackRest's) are ordered by
// mtime, then name. A renamed log (patroni.log to .1, .1 to .2, ...): the highest number is the oldest
// and the unnumbered file the newest.
std::vector<LogFile> order_log_files(LogType type, std::vector<LogFile> files);

// log_ingest_state's row for one file.
struct IngestState {
  std::uint64_t device = 0;
  std::uint64_t inode = 0;
  std::uint64_t offset = 0;      // bytes of the file shipped and committed; always a record boundary
  std::uint64_t head_bytes = 0;  // how many of the file's first bytes head_digest covers
  std::string head_digest;       // SHA-256 of them
};

// How many first bytes of a file identify it beside (device, inode): an inode is reused once a file is
// deleted, and pgstack's weekday files are truncated and rewritten in place. The first record holds a
// timestamp in milliseconds and a process id, so equal heads mean the same file.
inline constexpr std::uint64_t kHeadBytes = 4096;
std::uint64_t head_bytes_for(std::uint64_t offset);

struct ResumePoint {
  std::uint64_t offset = 0;
  std::string why;  // empty when the stored offset is used as it is
};

// Where to read `file` from. `state` is its row (same device and inode), if any; `head_digest` the
// digest of the file's first state->head_bytes bytes now. A head that changed is a new file on a reused
// inode, a size below the offset a truncation: both start again from 0.
ResumePoint resume_point(const LogFile& file, const std::optional<IngestState>& state, std::string_view head_digest);

// Which file to read next: the oldest with bytes beyond its resume offset (`offsets`, one per file of
// `files`, oldest first), so a file is shipped to its end before a newer one; and how many bytes all of
// them are behind.
struct NextFile {
  std::optional<std::size_t> index;
  std::uint64_t bytes_behind = 0;
};
NextFile next_file(const std::vector<LogFile>& files, const std::vector<std::uint64_t>& offsets);

// Whether nothing more will be appended to a file, so its last record is complete: a Postgres file once
// a newer one exists and it was quiet for `settle` (the collector may flush a last line after opening
// the next file); a file Patroni renamed at once (it closes the file before renaming); a renamed
// PgBouncer or proxy file once quiet for `settle` (the agent renames it, and the writer writes on to it
// until a SIGHUP makes it reopen its log); the current file of a renamed log, and any pgBackRest file
// (the next run of its command appends), once quiet for `settle`.
bool file_is_finished(LogType type, const LogFile& file, bool newest, std::int64_t now_ns,
                      std::chrono::nanoseconds settle);

// What to do with bytes read from a record boundary of a file.
enum class BatchKind {
  kRecords,          // ship framed.records (framed.consumed bytes)
  kOversizedRecord,  // the buffer is full and holds no whole record: ship that record cut
  kFinalTail,        // a finished file ends with a record without its newline: ship it as one
  kBrokenTail,       // a finished csvlog file ends inside quotes (a write cut short): skip to the next record
  kWait,             // a record is still being written
};
struct BatchDecision {
  BatchKind kind = BatchKind::kWait;
  FramedRecords framed;
};
BatchDecision decide_batch(LogType type, std::string_view bytes, bool buffer_full, bool finished_and_at_end);

// Where a record certainly begins again in `bytes` (read from a record boundary), after its first byte: for
// csvlog the next csvlog timestamp (`2026-12-04 05:30:08.123 UTC,`) anywhere, since a collector killed
// mid-record appends its next record to the cut one on the same line; for a text log the next line that starts
// a record. Framing that lost step (a csvlog record cut inside quotes turns every later quote around) finds
// its way back there. Nothing when `bytes` holds none. Pure.
std::optional<std::size_t> next_record_start(LogType type, std::string_view bytes);

// Whether a batch's failure (its SQLSTATE) says the store refused the content (class 22, data exception: a
// malformed COPY row, a value of the wrong type), which retrying the same bytes can never change.
bool is_refused_content(std::string_view sqlstate);

// Appends `bytes` to `out`, each invalid UTF-8 sequence (and NUL, which text cannot hold) replaced by
// U+FFFD; the store's database is UTF-8 and COPY refuses anything else. ASCII bytes are never touched,
// so CSV structure (quotes, commas, newlines) stays as it was.
void append_valid_utf8(std::string_view bytes, std::string& out);

// A text log's record as one CSV row, newline included: log_patroni's (log_time, error_severity,
// message), or log_pgstack's (log_time, log_type, error_severity, message) for the others. Local times
// without a zone ("2026-12-04 05:30:08,123") are carried as they are: the shipper's transaction sets
// TimeZone to the zone the writers run in. A record without a timestamp (the tail of a record cut by a
// rotation) gets `fallback_time`, which must carry its zone. Severities are upper case, pgBackRest's WARN
// becomes WARNING.
std::string text_csv_row(LogType type, const TextRecord& record, std::string_view fallback_time);
std::string patroni_csv_row(const PatroniRecord& record, std::string_view fallback_time);

// A csvlog record cut to its first bytes (`prefix`, the record having `record_bytes` in all) as a valid
// record: complete fields are kept, the field that was cut ends with a marker, missing fields are empty.
// So a statement of many megabytes is stored with its first part instead of stalling the shipper.
std::string truncate_csv_record(std::string_view prefix, std::uint64_t record_bytes, std::size_t columns = 26);

// The marker a cut record (csvlog field or Patroni message) ends with.
std::string truncation_marker(std::uint64_t record_bytes);

// The timestamp a record starts with, as written: csvlog's first field ("2026-12-04 05:30:08.123 UTC"),
// a text log's prefix; empty when there is none. For the shipper's report of how far it got.
std::string_view record_time(LogType type, std::string_view record);

}  // namespace pgstack::logs
