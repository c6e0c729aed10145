// What the API commands print: kubectl-like tables, -o json|yaml documents, `describe` text, and
// the few interactions (errors, confirmations) they share. Pure except report_error and confirm.
//
// -o json / -o yaml (stable, for scripts): one named resource prints the document as the API returns
// it (with metadata.resourceVersion and, for SGCluster and SGBackup, status); a listing prints
// {"apiVersion": "v1", "kind": "List", "items": [...]}, even when it has one item or none.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "model/document.h"
#include "model/kinds.h"

namespace pgstack::cli {

using TimePoint = std::chrono::system_clock::time_point;

enum class OutputFormat { kTable, kWide, kJson, kYaml };

// "", "wide", "json" or "yaml".
Result<OutputFormat> parse_output_format(std::string_view text);

struct Table {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
};

// Columns left-aligned, three spaces apart, no trailing blanks; every line starts with `indent`.
std::string format_table(const Table& table, std::string_view indent = {});

// kubectl's short ages: 45s, 3m20s, 15m, 5h10m, 30h, 3d4h, 120d, 2y50d.
std::string format_age(std::chrono::seconds age);
// RFC 3339 (2026-11-24T01:30:00Z, fractions and offsets accepted).
std::optional<TimePoint> parse_timestamp(std::string_view text);
// The age of metadata.creationTimestamp, or "<unknown>".
std::string age_of(const model::Json& document, TimePoint now);

// `get` rows: NAME ... AGE with the kind's own columns; wide adds more after AGE; NAMESPACE first
// when listing every namespace.
Table resource_table(const model::KindInfo& kind, const std::vector<model::Json>& items, bool wide, bool with_namespace,
                     TimePoint now);

// `get alerts` rows (the items of an AlertList, docs/api.md): ALERT SEVERITY STATE INSTANCE SINCE SUMMARY,
// with CLUSTER first when they come from several clusters and NAMESPACE before it with -A.
Table alert_table(const std::vector<model::Json>& items, bool with_cluster, bool with_namespace, TimePoint now);

// `get hosts` rows (the items of a HostList, docs/api.md): NAME STATUS ADDRESS CPUS MEMORY FREE-DISK
// MEMBERS REPORTED, and with `wide` the members by name.
Table host_table(const std::vector<model::Json>& items, bool wide, TimePoint now);

// -o json / -o yaml output (see the header comment); `as_list` for listings.
std::string format_documents(const std::vector<model::Json>& items, bool as_list, OutputFormat format);

// Members ready (running or streaming) over the instances asked for, e.g. "2/3".
std::string ready_members(const model::Json& cluster);
// One line of progress: "demo-0 primary running, demo-1 replica streaming; Ready=False (Scheduling)".
std::string member_summary(const model::Json& status);
// `describe sgcluster`: the spec in short, the members like `patronictl list`, endpoints, conditions.
std::string describe_cluster(const model::Json& cluster, TimePoint now);
// Sizes in binary units, one decimal: 512B, 1.5KiB, 20.0MiB, 1.2GiB.
std::string format_bytes(double bytes);
// An SGBackup's phase: status.phase, Pending while the agent has not picked it up.
std::string backup_phase(const model::Json& backup);
// "full, 1m42s, 1.2GiB (stored 310.4MiB)": what `pgstack backup --wait` prints once it completed.
std::string backup_result(const model::Json& backup);
// `describe sgbackup`: the spec in short, then the status and the verification field by field.
std::string describe_backup(const model::Json& backup, TimePoint now);
// SGDbOps: which of StackGres's conditions is True (Running, Completed, Failed), else Pending.
std::string operation_state(const model::Json& operation);
// "<reason>: <message>" of the current condition.
std::string operation_message(const model::Json& operation);
// Spec, state, per-member or per-database progress and results (pgbench's numbers).
std::string describe_operation(const model::Json& operation, TimePoint now);
// `describe` of the other kinds: identity, then the spec as YAML.
std::string describe_resource(const model::KindInfo& kind, const model::Json& document, TimePoint now);

// Prints "pgstack COMMAND: message" on stderr; returns the exit code for the error.
int report_error(std::string_view command, const Error& error);

// Asks `question` [y/N] on the terminal. Without a terminal on stdin it does not guess: it fails
// unless `assume_yes`, and the error names the flag.
Result<bool> confirm(std::string_view question, bool assume_yes);

}  // namespace pgstack::cli
