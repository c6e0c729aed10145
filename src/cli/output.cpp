#include "cli/output.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <unistd.h>

#include <fmt/format.h>

#include "cli/api_client.h"
#include "common/strings.h"
#include "common/time.h"
#include "model/cluster_status.h"
#include "model/codec.h"
#include "model/host_labels.h"
#include "monitoring/alertmanager.h"

namespace pgstack::cli {

namespace {

using model::Json;

constexpr std::string_view kNone = "<none>";

// The value at a dotted path ("spec.postgres.version"), or nullptr.
const Json* at(const Json& document, std::string_view path) {
  const Json* current = &document;
  for (const auto& key : split(path, '.')) {
    if (!current->is_object()) return nullptr;
    const auto found = current->find(key);
    if (found == current->end()) return nullptr;
    current = &*found;
  }
  return current;
}

std::string text_of(const Json* value, std::string_view fallback = kNone) {
  if (value == nullptr || value->is_null()) return std::string(fallback);
  if (value->is_string()) return value->get<std::string>().empty() ? std::string(fallback) : value->get<std::string>();
  return value->dump();
}

std::string text_at(const Json& document, std::string_view path, std::string_view fallback = kNone) {
  return text_of(at(document, path), fallback);
}

const Json& empty_object() {
  static const Json empty = Json::object();
  return empty;
}

// The status of an SGCluster document; `cluster` may also be a bare status.
const Json& status_of(const Json& cluster) {
  const Json* status = at(cluster, "status");
  return status != nullptr && status->is_object() ? *status : empty_object();
}

// The typed status of an SGCluster document or of a bare status; an unreadable one reads as empty,
// with why in `problem`.
model::ClusterStatus typed_status(const Json& cluster_or_status, std::string* problem = nullptr) {
  const Json& status = status_of(cluster_or_status);
  auto read = model::cluster_status_from_json(status.empty() ? cluster_or_status : status);
  if (read.ok()) return std::move(read).value();
  if (problem != nullptr) *problem = read.error().message;
  return {};
}

bool member_is_ready(const model::MemberStatus& member) {
  return member.state == "running" || member.state == "streaming";
}

bool condition_true(const model::ClusterStatus& status, std::string_view type) {
  const model::Condition* condition = model::find_condition(status.conditions, type);
  return condition != nullptr && condition->status == "True";
}

std::string joined_or_none(const std::vector<std::string>& list) {
  return list.empty() ? std::string(kNone) : fmt::format("{}", fmt::join(list, ","));
}

// "sync_standby" -> "Sync Standby", as patronictl shows roles.
std::string role_title(std::string_view role) {
  if (role.empty()) return std::string(kNone);
  std::string out;
  bool start = true;
  for (const char c : role) {
    if (c == '_') {
      out.push_back(' ');
      start = true;
    } else {
      out.push_back(start ? static_cast<char>(std::toupper(static_cast<unsigned char>(c))) : c);
      start = false;
    }
  }
  return out;
}

// The cluster's one-word state for `get -o wide`.
std::string cluster_state(const model::ClusterStatus& status) {
  if (condition_true(status, "Ready")) return condition_true(status, "Degraded") ? "Degraded" : "Ready";
  if (const model::Condition* ready = model::find_condition(status.conditions, "Ready"))
    return ready->reason.empty() ? std::string("NotReady") : ready->reason;
  if (condition_true(status, "Scheduling")) return "Scheduling";
  return "Pending";
}

std::string lag_in_mb(const model::MemberStatus& member) {
  if (member.role == "primary" || member.role == "leader") return "";
  if (!member.lag_bytes) return "unknown";
  // patronictl rounds to whole megabytes.
  return fmt::format("{}",
                     static_cast<long long>(std::llround(static_cast<double>(*member.lag_bytes) / (1024.0 * 1024.0))));
}

std::string seconds_text(const Json* seconds) {
  if (seconds == nullptr || !seconds->is_number()) return std::string(kNone);
  return format_age(std::chrono::seconds(std::llround(seconds->get<double>())));
}

std::string bytes_text(const Json* bytes) {
  if (bytes == nullptr || !bytes->is_number()) return std::string(kNone);
  return format_bytes(bytes->get<double>());
}

// A repositoryDisk object ({"path", "freeBytes", "totalBytes"}): "1.2GiB free of 20.0GiB at /path".
std::string repository_disk_text(const Json& disk) {
  return fmt::format("{} free of {} at {}", bytes_text(at(disk, "freeBytes")), bytes_text(at(disk, "totalBytes")),
                     text_at(disk, "path"));
}

// status.archiving of a cluster: what was archived last, and the last failure when it is the newer.
std::string archiving_text(const model::ReportedArchiving& archiving) {
  std::string out =
      archiving.last_archived_wal.empty()
          ? std::string("nothing archived yet")
          : fmt::format("last archived {} at {}", archiving.last_archived_wal, archiving.last_archived_time);
  out += fmt::format(" ({} archived, {} failed)", archiving.archived_count, archiving.failed_count);
  if (archiving.failing) {
    out += fmt::format("; FAILING since {}: {}", archiving.last_failed_time,
                       archiving.last_failure_message.empty() ? std::string("see the primary's Postgres log")
                                                              : archiving.last_failure_message);
  }
  return out;
}

// A field ("status", "reason") of a condition in status.conditions of any kind's document.
std::string condition_field_text(const Json& document, std::string_view type, const char* field) {
  const Json* conditions = at(document, "status.conditions");
  if (conditions == nullptr || !conditions->is_array()) return std::string(kNone);
  for (const auto& condition : *conditions) {
    if (condition.is_object() && condition.value("type", "") == type) return text_at(condition, field);
  }
  return std::string(kNone);
}

// status.connectedClusters of an SGDistributedLogs: the clusters that ship to it, as their
// spec.distributedLogs names it ("demo" in the store's namespace, "namespace.name" from another).
std::vector<std::string> log_store_clients(const Json& store) {
  std::vector<std::string> names;
  const Json* connected = at(store, "status.connectedClusters");
  if (connected == nullptr || !connected->is_array()) return names;
  const std::string store_namespace = text_at(store, "metadata.namespace", kDefaultNamespace);
  for (const auto& cluster : *connected) {
    if (!cluster.is_object()) continue;
    const std::string cluster_namespace = cluster.value("namespace", std::string(kDefaultNamespace));
    const std::string name = cluster.value("name", "");
    names.push_back(cluster_namespace == store_namespace ? name : fmt::format("{}.{}", cluster_namespace, name));
  }
  return names;
}

std::string describe_header(const model::KindInfo& kind, const Json& document, TimePoint now) {
  std::string out;
  const auto line = [&out](std::string_view label, const std::string& value) {
    out += fmt::format("{:<18}{}\n", std::string(label) + ":", value);
  };
  line("Name", text_at(document, "metadata.name"));
  line("Namespace", text_at(document, "metadata.namespace", kDefaultNamespace));
  line("Kind", kind.kind);
  line("API Version", text_at(document, "apiVersion", kind.api_version));
  const std::string created = text_at(document, "metadata.creationTimestamp", "");
  if (!created.empty()) line("Created", fmt::format("{} ({} ago)", created, age_of(document, now)));
  line("Resource Version", text_at(document, "metadata.resourceVersion"));
  const Json* labels = at(document, "metadata.labels");
  if (labels != nullptr && labels->is_object() && !labels->empty()) {
    std::vector<std::string> pairs;
    for (const auto& [key, value] : labels->items()) pairs.push_back(fmt::format("{}={}", key, text_of(&value, "")));
    line("Labels", fmt::format("{}", fmt::join(pairs, ",")));
  }
  return out;
}

}  // namespace

Result<OutputFormat> parse_output_format(std::string_view text) {
  if (text.empty()) return OutputFormat::kTable;
  if (text == "wide") return OutputFormat::kWide;
  if (text == "json") return OutputFormat::kJson;
  if (text == "yaml") return OutputFormat::kYaml;
  return make_error(ErrorCode::kInvalidInput,
                    fmt::format("unknown output format \"{}\": expected wide, json or yaml", text));
}

std::string format_table(const Table& table, std::string_view indent) {
  std::size_t columns = table.header.size();
  for (const auto& row : table.rows) columns = std::max(columns, row.size());
  std::vector<std::size_t> widths(columns, 0);
  const auto measure = [&widths](const std::vector<std::string>& row) {
    for (std::size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  };
  measure(table.header);
  for (const auto& row : table.rows) measure(row);
  std::string out;
  const auto emit = [&](const std::vector<std::string>& row) {
    std::string line(indent);
    for (std::size_t i = 0; i < columns; ++i) {
      const std::string& cell = i < row.size() ? row[i] : std::string();
      line += cell;
      if (i + 1 < columns) line += std::string(widths[i] - cell.size() + 3, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  };
  if (!table.header.empty()) emit(table.header);
  for (const auto& row : table.rows) emit(row);
  return out;
}

std::string format_age(std::chrono::seconds age) {
  // The thresholds of kubectl's duration.HumanDuration.
  const long long seconds = age.count();
  if (seconds < -1) return "<invalid>";
  if (seconds < 0) return "0s";
  if (seconds < 60LL * 2) return fmt::format("{}s", seconds);
  const long long minutes = seconds / 60;
  if (minutes < 10) {
    const long long rest = seconds % 60;
    return rest == 0 ? fmt::format("{}m", minutes) : fmt::format("{}m{}s", minutes, rest);
  }
  if (minutes < 60LL * 3) return fmt::format("{}m", minutes);
  const long long hours = minutes / 60;
  if (hours < 8) {
    const long long rest = minutes % 60;
    return rest == 0 ? fmt::format("{}h", hours) : fmt::format("{}h{}m", hours, rest);
  }
  if (hours < 48) return fmt::format("{}h", hours);
  if (hours < 24LL * 8) {
    const long long rest = hours % 24;
    return rest == 0 ? fmt::format("{}d", hours / 24) : fmt::format("{}d{}h", hours / 24, rest);
  }
  if (hours < 24LL * 365 * 2) return fmt::format("{}d", hours / 24);
  if (hours < 24LL * 365 * 8) {
    const long long days = (hours / 24) % 365;
    return days == 0 ? fmt::format("{}y", hours / 24 / 365) : fmt::format("{}y{}d", hours / 24 / 365, days);
  }
  return fmt::format("{}y", hours / 24 / 365);
}

std::optional<TimePoint> parse_timestamp(std::string_view text) {
  const auto parsed = parse_utc_timestamp(text);
  if (!parsed) return std::nullopt;
  return TimePoint(*parsed);
}

Table alert_table(const std::vector<model::Json>& items, bool with_cluster, bool with_namespace, TimePoint now) {
  Table table;
  if (with_namespace) table.header.emplace_back("NAMESPACE");
  if (with_cluster) table.header.emplace_back("CLUSTER");
  for (const char* column : {"ALERT", "SEVERITY", "STATE", "INSTANCE", "SINCE", "SUMMARY"})
    table.header.emplace_back(column);
  for (const auto& item : items) {
    auto alert = monitoring::alert_from_json(item);
    if (!alert) continue;
    std::vector<std::string> row;
    if (with_namespace) row.push_back(alert->namespace_name.empty() ? "-" : alert->namespace_name);
    if (with_cluster) row.push_back(alert->cluster.empty() ? "-" : alert->cluster);
    const auto since = parse_timestamp(alert->starts_at);
    const std::string subject = monitoring::alert_subject(*alert);
    row.insert(row.end(), {alert->name, alert->severity.empty() ? "-" : alert->severity,
                           std::string(monitoring::alert_state_name(alert->state)), subject.empty() ? "-" : subject,
                           since ? format_age(std::chrono::duration_cast<std::chrono::seconds>(now - *since))
                                 : std::string("<unknown>"),
                           alert->summary});
    table.rows.push_back(std::move(row));
  }
  return table;
}

Table host_table(const std::vector<Json>& items, bool wide, TimePoint now) {
  Table table{{"NAME", "STATUS", "ADDRESS", "CPUS", "MEMORY", "FREE-DISK", "MEMBERS", "REPORTED"}, {}};
  if (wide) table.header.insert(table.header.end(), {"LABELS", "MEMBER-NAMES"});
  const auto bytes = [](const Json& host, const char* field) {
    const auto found = host.find(field);
    return found != host.end() && found->is_number() ? format_bytes(found->get<double>()) : std::string("-");
  };
  for (const auto& host : items) {
    const Json members = host.value("members", Json::array());
    const auto reported = parse_timestamp(host.value("reportedAt", ""));
    const auto cpus = host.find("cpus");
    std::vector<std::string> row = {
        host.value("name", ""),
        host.value("status", ""),
        host.value("address", "-"),
        cpus != host.end() && cpus->is_number_integer() ? std::to_string(cpus->get<long long>()) : std::string("-"),
        bytes(host, "memoryBytes"),
        bytes(host, "freeDiskBytes"),
        std::to_string(members.is_array() ? members.size() : 0),
        reported ? format_age(std::chrono::duration_cast<std::chrono::seconds>(now - *reported)) + " ago"
                 : std::string("-")};
    if (wide) {
      const model::Labels labels = model::labels_from(host.value("labels", Json::object()));
      row.push_back(labels.empty() ? "-" : model::describe_labels(labels));
      std::string names;
      for (const auto& member : members) {
        if (!member.is_string()) continue;
        names += (names.empty() ? "" : ",") + member.get<std::string>();
      }
      row.push_back(names.empty() ? "-" : names);
    }
    table.rows.push_back(std::move(row));
  }
  return table;
}

std::string age_of(const Json& document, TimePoint now) {
  const auto created = parse_timestamp(text_at(document, "metadata.creationTimestamp", ""));
  if (!created) return "<unknown>";
  return format_age(std::chrono::duration_cast<std::chrono::seconds>(now - *created));
}

Table resource_table(const model::KindInfo& kind, const std::vector<Json>& items, bool wide, bool with_namespace,
                     TimePoint now) {
  struct Column {
    std::string title;
    std::function<std::string(const Json&)> value;
  };
  std::vector<Column> middle;  // between NAME and AGE
  std::vector<Column> extra;   // -o wide, after AGE
  const auto field = [](const std::string& path) { return [path](const Json& item) { return text_at(item, path); }; };
  if (kind.kind == "SGCluster") {
    middle = {
        {"INSTANCES", field("spec.instances")},
        {"VERSION",
         [](const Json& item) {
           const std::string running = typed_status(item).postgres_version;
           return running.empty() ? text_at(item, "spec.postgres.version") : running;
         }},
        {"READY", [](const Json& item) { return ready_members(item); }},
        {"PRIMARY", [](const Json& item) { return typed_status(item).primary.value_or(std::string(kNone)); }},
    };
    extra = {
        {"STATUS", [](const Json& item) { return cluster_state(typed_status(item)); }},
        {"PROFILE", [](const Json& item) { return text_at(item, "spec.sgInstanceProfile", "default"); }},
        {"READ-WRITE", [](const Json& item) { return joined_or_none(typed_status(item).endpoints.read_write); }},
    };
  } else if (kind.kind == "SGInstanceProfile") {
    middle = {{"CPU", field("spec.cpu")}, {"MEMORY", field("spec.memory")}};
  } else if (kind.kind == "SGPostgresConfig") {
    middle = {{"VERSION", field("spec.postgresVersion")}};
  } else if (kind.kind == "SGBackup") {
    middle = {
        {"CLUSTER", field("spec.sgCluster")},
        {"TYPE", [](const Json& item) { return text_at(item, "status.type", text_at(item, "spec.type")); }},
        {"PHASE", [](const Json& item) { return backup_phase(item); }},
        {"STARTED", field("status.startedAt")},
        {"DURATION", [](const Json& item) { return seconds_text(at(item, "status.durationSeconds")); }},
        {"SIZE", [](const Json& item) { return bytes_text(at(item, "status.sizeBytes")); }},
        {"STORED", [](const Json& item) { return bytes_text(at(item, "status.storedBytes")); }},
        {"VERIFIED", field("status.verification.phase")},
    };
    extra = {{"LABEL", field("status.label")}, {"MESSAGE", field("status.message")}};
  } else if (kind.kind == "SGDbOps") {
    middle = {{"OPERATION", field("spec.op")},
              {"CLUSTER", field("spec.sgCluster")},
              {"STATUS", [](const Json& item) { return operation_state(item); }},
              {"STARTED", field("status.opStarted")}};
    extra = {{"RETRIES", field("status.opRetries")}, {"RUN-AT", field("spec.runAt")}};
  } else if (kind.kind == "SGObjectStorage") {
    middle = {{"TYPE", field("spec.type")}};
  } else if (kind.kind == "SGDistributedLogs") {
    middle = {
        {"READY", [](const Json& item) { return condition_field_text(item, "Ready", "status"); }},
        {"STATUS", [](const Json& item) { return condition_field_text(item, "Ready", "reason"); }},
        {"CLUSTER", field("status.sgCluster")},
        {"CLUSTERS", [](const Json& item) { return std::to_string(log_store_clients(item).size()); }},
        {"RETENTION", field("status.retention")},
    };
    extra = {{"CONNECTED", [](const Json& item) { return joined_or_none(log_store_clients(item)); }},
             {"VOLUME", field("spec.persistentVolume.size")},
             {"MAINTAINED", field("status.maintenance.lastSuccess")},
             {"ERROR", field("status.maintenance.error")}};
  }

  Table table;
  if (with_namespace) table.header.emplace_back("NAMESPACE");
  table.header.emplace_back("NAME");
  for (const auto& column : middle) table.header.push_back(column.title);
  table.header.emplace_back("AGE");
  if (wide)
    for (const auto& column : extra) table.header.push_back(column.title);
  for (const auto& item : items) {
    std::vector<std::string> row;
    if (with_namespace) row.push_back(text_at(item, "metadata.namespace", kDefaultNamespace));
    row.push_back(text_at(item, "metadata.name"));
    for (const auto& column : middle) row.push_back(column.value(item));
    row.push_back(age_of(item, now));
    if (wide)
      for (const auto& column : extra) row.push_back(column.value(item));
    table.rows.push_back(std::move(row));
  }
  return table;
}

std::string format_documents(const std::vector<Json>& items, bool as_list, OutputFormat format) {
  Json value;
  if (as_list || items.size() != 1) {
    value = Json::object();
    value["apiVersion"] = "v1";
    value["kind"] = "List";
    value["items"] = Json::array();
    for (const auto& item : items) value["items"].push_back(item);
  } else {
    value = items.front();
  }
  if (format == OutputFormat::kYaml) {
    std::string text = model::json_to_yaml(value);
    if (!text.empty() && text.back() != '\n') text.push_back('\n');
    return text;
  }
  return value.dump(2) + "\n";
}

std::string ready_members(const Json& cluster) {
  const model::ClusterStatus status = typed_status(cluster);  // accepts a document or a bare status
  std::size_t ready = 0;
  for (const auto& member : status.members)
    if (member_is_ready(member)) ++ready;
  std::string wanted = text_at(cluster, "spec.instances", "");
  if (wanted.empty()) wanted = status.instances > 0 ? std::to_string(status.instances) : std::string("?");
  return fmt::format("{}/{}", ready, wanted);
}

std::string member_summary(const Json& status_json) {
  std::string problem;
  const model::ClusterStatus status = typed_status(status_json, &problem);
  if (!problem.empty()) return "status unreadable: " + problem;
  std::vector<std::string> parts;
  for (const auto& member : status.members) {
    parts.push_back(fmt::format("{} {} {}", member.name.empty() ? "?" : member.name,
                                member.role.empty() ? "(no role)" : member.role,
                                member.state.empty() ? "(no state)" : member.state));
  }
  std::string out = parts.empty() ? std::string("no members yet") : fmt::format("{}", fmt::join(parts, ", "));
  if (const model::Condition* ready = model::find_condition(status.conditions, "Ready");
      ready != nullptr && ready->status != "True") {
    out += fmt::format("; Ready={}", ready->status.empty() ? "Unknown" : ready->status);
    if (!ready->reason.empty())
      out += fmt::format(" ({}{})", ready->reason, ready->message.empty() ? "" : ": " + ready->message);
  }
  if (const model::Condition* scheduling = model::find_condition(status.conditions, "Scheduling");
      scheduling != nullptr && scheduling->status == "True") {
    out += fmt::format("; Scheduling: {}", scheduling->message.empty() ? scheduling->reason : scheduling->message);
  }
  return out;
}

std::string describe_cluster(const Json& cluster, TimePoint now) {
  std::string problem;
  const model::ClusterStatus status = typed_status(cluster, &problem);
  std::string out = describe_header(*model::find_kind("SGCluster"), cluster, now);
  const auto line = [&out](std::string_view label, const std::string& value) {
    out += fmt::format("  {:<20}{}\n", std::string(label) + ":", value);
  };
  out += "Spec:\n";
  line("Instances", text_at(cluster, "spec.instances"));
  std::string version = text_at(cluster, "spec.postgres.version");
  if (!status.postgres_version.empty()) version += fmt::format(" (running {})", status.postgres_version);
  line("Postgres", version);
  line("Profile", text_at(cluster, "spec.profile", "production"));
  line("Instance Profile", text_at(cluster, "spec.sgInstanceProfile", "default (1 CPU, 2Gi)"));
  std::string replication = text_at(cluster, "spec.replication.mode", "async");
  if (replication.find("sync") != std::string::npos && replication != "async")
    replication += fmt::format(" ({} synchronous)", text_at(cluster, "spec.replication.syncInstances", "1"));
  line("Replication", replication);
  line("Volume", text_at(cluster, "spec.pods.persistentVolume.size"));
  const Json* no_pooling = at(cluster, "spec.pods.disableConnectionPooling");
  line("Connection Pooling",
       no_pooling != nullptr && no_pooling->is_boolean() && no_pooling->get<bool>() ? "disabled" : "PgBouncer");
  for (const auto& [label, path] : {std::pair{"Postgres Config", "spec.configurations.sgPostgresConfig"},
                                    std::pair{"Pooling Config", "spec.configurations.sgPoolingConfig"}}) {
    const std::string value = text_at(cluster, path, "");
    if (!value.empty()) line(label, value);
  }

  if (!problem.empty()) out += fmt::format("Status: unreadable ({})\n", problem);
  out += fmt::format("Members: {} ready, primary {}\n", ready_members(cluster),
                     status.primary.value_or(std::string(kNone)));
  if (status.additional_instances > 0)
    line("Additional",
         fmt::format("{} member(s) while an operation runs (ReducedImpact restart)", status.additional_instances));
  if (status.members.empty()) {
    out += "  (none reported yet)\n";
  } else {
    Table table{{"Member", "Host", "Role", "State", "TL", "Lag in MB"}, {}};
    const bool any_pending = std::any_of(status.members.begin(), status.members.end(),
                                         [](const model::MemberStatus& member) { return member.pending_restart; });
    if (any_pending) table.header.emplace_back("Pending restart");
    for (const auto& member : status.members) {
      std::vector<std::string> row = {member.name,
                                      member.host,
                                      role_title(member.role),
                                      member.state,
                                      member.timeline ? std::to_string(*member.timeline) : std::string(),
                                      lag_in_mb(member)};
      if (any_pending) row.emplace_back(member.pending_restart ? "*" : "");
      table.rows.push_back(std::move(row));
    }
    out += format_table(table, "  ");
  }

  out += "Endpoints:\n";
  line("Read-write", joined_or_none(status.endpoints.read_write));
  line("Read-only", joined_or_none(status.endpoints.read_only));
  line("Read-write direct", joined_or_none(status.endpoints.read_write_direct));
  line("Read-only direct", joined_or_none(status.endpoints.read_only_direct));

  const Json* backup_configs = at(cluster, "spec.configurations.backups");
  const model::BackupsSummary& backups = status.backups;
  const bool has_backups = backups.count > 0;
  if ((backup_configs != nullptr && backup_configs->is_array() && !backup_configs->empty()) || has_backups) {
    out += "Backups:\n";
    if (backup_configs != nullptr && backup_configs->is_array() && !backup_configs->empty()) {
      const Json& config = backup_configs->front();
      const std::string cron = text_at(config, "cronSchedule", "");
      line("Storage", fmt::format("SGObjectStorage/{}{}", text_at(config, "sgObjectStorage"),
                                  cron.empty() ? ", no schedule" : fmt::format(", cron {} (UTC)", cron)));
    }
    line("Last Completed",
         backups.last ? fmt::format("{} at {}", *backups.last, backups.last_completed_at.value_or(std::string(kNone)))
                      : std::string(kNone));
    line("Count", std::to_string(backups.count));
    if (status.archiving) {
      line("WAL Archiving", archiving_text(*status.archiving));
      if (status.archiving->repository_disk.is_object())
        line("Repository Disk", repository_disk_text(status.archiving->repository_disk));
    }
  }

  // postgres.extensions: what each member's host has installed (CREATE EXTENSION is the user's).
  const Json* requested = at(cluster, "spec.postgres.extensions");
  if (requested != nullptr && requested->is_array() && !requested->empty()) {
    out += "Extensions:\n";
    Table table{{"Name", "Package", "Preload", "Installed"}, {}};
    const Json* observed = status.extensions.is_array() ? &status.extensions : nullptr;
    for (const auto& extension : *requested) {
      const std::string name = text_at(extension, "name");
      std::vector<std::string> row = {name, "", "", "(not reported yet)"};
      if (observed != nullptr && observed->is_array()) {
        for (const auto& item : *observed) {
          if (text_at(item, "name") != name) continue;
          row[1] = text_at(item, "package", "");
          row[2] = text_at(item, "preload", "");
          std::vector<std::string> versions;
          if (const Json* members = at(item, "members"); members != nullptr && members->is_object())
            for (const auto& [member, version] : members->items())
              versions.push_back(fmt::format("{} {}", member, text_of(&version, "")));
          row[3] = versions.empty() ? std::string(kNone) : fmt::format("{}", fmt::join(versions, ", "));
        }
      }
      table.rows.push_back(std::move(row));
    }
    out += format_table(table, "  ");
  }

  // The figures people ask first (from Prometheus, by the leading controller); `pgstack top` has more.
  if (status.metrics.is_object()) {
    out += "Metrics:\n";
    if (status.metrics.contains("reason")) {
      line("Not Available", text_of(&status.metrics["reason"], ""));
    } else {
      const auto figure = [&](const char* key) {
        const Json* value = at(status.metrics, key);
        return value != nullptr && value->is_number() ? fmt::format("{:.1f}", value->get<double>()) : std::string("-");
      };
      line("TPS", figure("tps"));
      line("Connections", fmt::format("{} / {}", figure("connections"), figure("maxConnections")));
      std::vector<std::string> lags;
      if (const Json* lag = at(status.metrics, "lagSeconds"); lag != nullptr && lag->is_object()) {
        for (const auto& [member, seconds] : lag->items())
          lags.push_back(seconds.is_number() ? fmt::format("{} {:.1f}s", member, seconds.get<double>())
                                             : fmt::format("{} -", member));
      }
      line("Replication Lag", lags.empty() ? std::string(kNone) : fmt::format("{}", fmt::join(lags, ", ")));
      line("Observed", text_of(at(status.metrics, "observedAt"), ""));
    }
  }
  out += "Conditions:\n";
  if (status.conditions.empty()) {
    out += "  (none reported yet)\n";
  } else {
    Table table{{"Type", "Status", "Reason", "Age", "Message"}, {}};
    for (const auto& condition : status.conditions) {
      const auto changed = parse_timestamp(condition.last_transition_time);
      table.rows.push_back(
          {condition.type, condition.status, condition.reason,
           changed ? format_age(std::chrono::duration_cast<std::chrono::seconds>(now - *changed)) : std::string(""),
           condition.message});
    }
    out += format_table(table, "  ");
  }
  // Like kubectl describe: what happened lately (rebuilt members, WAL set aside), newest last.
  if (!status.events.empty()) {
    out += "Events:\n";
    Table table{{"Type", "Reason", "Age", "Member", "Message"}, {}};
    for (const auto& event : status.events) {
      const auto when = parse_timestamp(event.at);
      table.rows.push_back({event.type, event.reason,
                            when ? format_age(std::chrono::duration_cast<std::chrono::seconds>(now - *when)) : "",
                            event.member, event.message});
    }
    out += format_table(table, "  ");
  }
  return out;
}

std::string format_bytes(double bytes) {
  static constexpr std::array<const char*, 6> kUnits = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  if (bytes < 1024) return fmt::format("{}B", static_cast<long long>(std::llround(std::max(bytes, 0.0))));
  std::size_t unit = 0;
  bytes /= 1024;
  while (bytes >= 1024 && unit + 1 < kUnits.size()) {
    bytes /= 1024;
    ++unit;
  }
  return fmt::format("{:.1f}{}", bytes, kUnits[unit]);
}

std::string backup_phase(const Json& backup) { return text_at(backup, "status.phase", "Pending"); }

std::string backup_result(const Json& backup) {
  std::string out =
      fmt::format("{}, {}, {}", text_at(backup, "status.type", "unknown type"),
                  seconds_text(at(backup, "status.durationSeconds")), bytes_text(at(backup, "status.sizeBytes")));
  if (const Json* stored = at(backup, "status.storedBytes"); stored != nullptr && stored->is_number())
    out += fmt::format(" (stored {})", format_bytes(stored->get<double>()));
  return out;
}

std::string operation_state(const Json& operation) {
  const Json* conditions = at(operation, "status.conditions");
  if (conditions != nullptr && conditions->is_array()) {
    for (const auto& condition : *conditions) {
      if (condition.value("status", "") == "True") return condition.value("type", "Unknown");
    }
  }
  return "Pending";
}

std::string operation_message(const Json& operation) {
  const Json* conditions = at(operation, "status.conditions");
  std::string message;
  if (conditions != nullptr && conditions->is_array()) {
    for (const auto& condition : *conditions) {
      const bool current = condition.value("status", "") == "True";
      if (condition.contains("message") && (current || message.empty()))
        message = condition.value("reason", "") + ": " + condition.value("message", "");
      if (current) break;
    }
  }
  return message;
}

std::string describe_operation(const Json& operation, TimePoint now) {
  std::string out = describe_header(*model::find_kind("SGDbOps"), operation, now);
  const auto line = [&out](std::string_view label, const std::string& value) {
    out += fmt::format("  {:<32}{}\n", std::string(label) + ":", value);
  };
  const std::string op = text_at(operation, "spec.op");
  out += "Spec:\n";
  line("Cluster", text_at(operation, "spec.sgCluster"));
  line("Operation", op);
  if (const std::string run_at = text_at(operation, "spec.runAt", ""); !run_at.empty()) line("Run At", run_at);
  line("Timeout", text_at(operation, "spec.timeout", "none"));
  line("Max Retries", text_at(operation, "spec.maxRetries", "0"));
  if (const Json* details = at(operation, "spec." + op); details != nullptr && details->is_object())
    line("Options", details->dump());
  out += fmt::format("Status: {}\n", operation_state(operation));
  if (const std::string message = operation_message(operation); !message.empty()) line("Message", message);
  if (const std::string started = text_at(operation, "status.opStarted", ""); !started.empty())
    line("Started", started);
  line("Retries", text_at(operation, "status.opRetries", "0"));
  const Json* progress = at(operation, "status." + op);
  if (progress == nullptr || !progress->is_object()) return out;
  const auto names = [&](const char* key) {
    const Json* list = at(*progress, key);
    if (list == nullptr || !list->is_array() || list->empty()) return std::string(kNone);
    std::vector<std::string> items;
    for (const auto& item : *list) items.push_back(item.is_string() ? item.get<std::string>() : item.dump());
    return fmt::format("{}", fmt::join(items, ", "));
  };
  if (at(*progress, "initialInstances") != nullptr) {
    line("Primary At Start", text_at(*progress, "primaryInstance"));
    line("Members At Start", names("initialInstances"));
    line("To Restart", names("pendingToRestartInstances"));
    line("Restarted", names("restartedInstances"));
    if (const std::string now_restarting = text_at(*progress, "restartingInstance", ""); !now_restarting.empty())
      line("Restarting Now", now_restarting);
    if (const std::string switched = text_at(*progress, "switchoverFinalized", ""); !switched.empty())
      line("Switchover", text_at(*progress, "switchoverInitiated") + " - " + switched);
    if (const std::string source = text_at(*progress, "sourcePostgresVersion", ""); !source.empty())
      line("Postgres", source + " -> " + text_at(*progress, "targetPostgresVersion"));
  }
  if (const Json* databases = at(*progress, "databases"); databases != nullptr && databases->is_array()) {
    for (const auto& database : *databases)
      line("Database " + database.value("name", "?"),
           fmt::format("done {} ({})", database.value("completedAt", "?"),
                       database.value("statement", database.value("command", ""))));
  }
  if (const Json* pgbench = at(*progress, "pgbench"); pgbench != nullptr && pgbench->is_object()) {
    line("Scale Factor", text_at(*pgbench, "scaleFactor"));
    line("Transactions", text_at(*pgbench, "transactionsProcessed"));
    line("TPS (without connecting)", text_at(*pgbench, "transactionsPerSecond.excludingConnectionsEstablishing.value"));
    line("TPS (with connecting)", text_at(*pgbench, "transactionsPerSecond.includingConnectionsEstablishing.value"));
    for (const char* name : {"average", "standardDeviation", "p50", "p95", "p99", "max"}) {
      if (at(*pgbench, std::string("latency.") + name) != nullptr)
        line(std::string("Latency ") + name + " (ms)", text_at(*pgbench, std::string("latency.") + name + ".value"));
    }
    if (const Json* statements = at(*pgbench, "statements"); statements != nullptr && statements->is_array()) {
      out += "  Statement latencies (ms):\n";
      for (const auto& statement : *statements)
        out += fmt::format("    {:>10.3f}  {}\n", statement.value("latency", 0.0), statement.value("command", ""));
    }
  }
  if (const std::string failure = text_at(*progress, "failure", ""); !failure.empty()) line("Failure", failure);
  if (const std::string note = text_at(*progress, "note", ""); !note.empty()) line("Note", note);
  return out;
}

std::string describe_backup(const Json& backup, TimePoint now) {
  std::string out = describe_header(*model::find_kind("SGBackup"), backup, now);
  const auto line = [&out](std::string_view label, const std::string& value) {
    out += fmt::format("  {:<20}{}\n", std::string(label) + ":", value);
  };
  const auto range = [](const Json& object, std::string_view path) {
    const std::string start = text_at(object, fmt::format("{}.start", path), "?");
    const std::string stop = text_at(object, fmt::format("{}.stop", path), "?");
    return at(object, path) == nullptr ? std::string(kNone) : fmt::format("{} - {}", start, stop);
  };
  const auto optional_line = [&](std::string_view label, const Json& object, std::string_view path) {
    if (const std::string value = text_at(object, path, ""); !value.empty()) line(label, value);
  };
  out += "Spec:\n";
  line("Cluster", text_at(backup, "spec.sgCluster"));
  line("Type", text_at(backup, "spec.type", "pgBackRest's choice (incr after a full, else full)"));
  line("Managed Lifecycle", text_at(backup, "spec.managedLifecycle", "false"));

  const Json* status = at(backup, "status");
  out += fmt::format("Status: {}\n", backup_phase(backup));
  if (status == nullptr || !status->is_object() || status->empty()) {
    out += "  (waiting for the agent on the primary's host to start it)\n";
  } else {
    optional_line("Type", *status, "type");
    optional_line("Label", *status, "label");
    optional_line("Started", *status, "startedAt");
    optional_line("Finished", *status, "finishedAt");
    if (at(*status, "durationSeconds") != nullptr) line("Duration", seconds_text(at(*status, "durationSeconds")));
    if (at(*status, "sizeBytes") != nullptr) {
      std::string size = bytes_text(at(*status, "sizeBytes"));
      if (at(*status, "storedBytes") != nullptr)
        size += fmt::format(" (stored {})", bytes_text(at(*status, "storedBytes")));
      line("Size", size);
    }
    if (at(*status, "lsn") != nullptr) line("LSN", range(*status, "lsn"));
    if (at(*status, "wal") != nullptr) line("WAL", range(*status, "wal"));
    optional_line("Timeline", *status, "timeline");
    if (const Json* repository = at(*status, "repository"); repository != nullptr && repository->is_object()) {
      line("Repository", fmt::format("SGObjectStorage/{}, path {}, stanza {}", text_at(*repository, "objectStorage"),
                                     text_at(*repository, "path"), text_at(*repository, "stanza")));
    }
    if (const Json* disk = at(*status, "repositoryDisk"); disk != nullptr && disk->is_object())
      line("Repository Disk", repository_disk_text(*disk));
    optional_line("Message", *status, "message");
  }

  const Json* verification = status != nullptr ? at(*status, "verification") : nullptr;
  if (verification == nullptr || !verification->is_object() || verification->empty()) {
    out += "Verification: never (pgstack backup verify " + text_at(backup, "metadata.name", "NAME") + ")\n";
  } else {
    out += fmt::format("Verification: {}\n", text_at(*verification, "phase", "Pending"));
    optional_line("Requested", *verification, "requestedAt");
    optional_line("Started", *verification, "startedAt");
    optional_line("Finished", *verification, "finishedAt");
    if (at(*verification, "durationSeconds") != nullptr)
      line("Duration", seconds_text(at(*verification, "durationSeconds")));
    if (at(*verification, "timeToUsableSeconds") != nullptr)
      line("Time to Usable", seconds_text(at(*verification, "timeToUsableSeconds")));
    optional_line("Message", *verification, "message");
  }
  return out;
}

std::string describe_resource(const model::KindInfo& kind, const Json& document, TimePoint now) {
  std::string out = describe_header(kind, document, now);
  const Json* spec = at(document, "spec");
  out += "Spec:\n";
  if (spec == nullptr || (spec->is_object() && spec->empty())) {
    out += "  {}\n";
  } else {
    for (const auto& line : split(model::json_to_yaml(*spec), '\n'))
      if (!line.empty()) out += "  " + line + "\n";
  }
  const Json* status = at(document, "status");
  if (status != nullptr && !status->is_null() && !(status->is_object() && status->empty())) {
    out += "Status:\n";
    for (const auto& line : split(model::json_to_yaml(*status), '\n'))
      if (!line.empty()) out += "  " + line + "\n";
  }
  return out;
}

int report_error(std::string_view command, const Error& error) {
  std::cerr << fmt::format("pgstack {}: {}\n", command, error.message);
  return exit_code_for(error.code);
}

Result<bool> confirm(std::string_view question, bool assume_yes) {
  if (assume_yes) return true;
  if (::isatty(STDIN_FILENO) == 0) {
    return make_error(ErrorCode::kInvalidInput,
                      fmt::format("{}: standard input is not a terminal to ask on; pass --yes to confirm", question));
  }
  std::cerr << question << " [y/N] " << std::flush;
  std::string answer;
  if (!std::getline(std::cin, answer)) return false;
  answer = to_lower(trim(answer));
  return answer == "y" || answer == "yes";
}

}  // namespace pgstack::cli
