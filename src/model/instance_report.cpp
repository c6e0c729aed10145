#include "model/instance_report.h"

#include <fmt/format.h>

namespace pgstack::model {
namespace {

Error invalid(std::string message) {
  return make_error(ErrorCode::kInvalidInput, fmt::format("instance report: {}", std::move(message)));
}

// Reads `field` of `object` into `out` when present; a present value of another type is an error.
Result<bool> read_string(const Json& object, const char* field, std::string& out, std::string_view where = {}) {
  if (!object.contains(field) || object[field].is_null()) return false;
  if (!object[field].is_string()) return invalid(fmt::format("{}{}: expected a string", where, field));
  out = object[field].get<std::string>();
  return true;
}

Result<bool> read_integer(const Json& object, const char* field, std::optional<std::int64_t>& out,
                          std::string_view where = {}) {
  if (!object.contains(field) || object[field].is_null()) return false;
  if (!object[field].is_number_integer()) return invalid(fmt::format("{}{}: expected an integer", where, field));
  out = object[field].get<std::int64_t>();
  return true;
}

Result<bool> read_bool(const Json& object, const char* field, bool& out, std::string_view where = {}) {
  if (!object.contains(field) || object[field].is_null()) return false;
  if (!object[field].is_boolean()) return invalid(fmt::format("{}{}: expected true or false", where, field));
  out = object[field].get<bool>();
  return true;
}

Json patroni_to_json(const ReportedPatroni& patroni) {
  Json json = {{"role", patroni.role}, {"state", patroni.state}};
  if (patroni.timeline) json["timeline"] = *patroni.timeline;
  json["pendingRestart"] = patroni.pending_restart;
  if (patroni.lsn) json["lsn"] = *patroni.lsn;
  if (patroni.received_lsn) json["receivedLsn"] = *patroni.received_lsn;
  if (patroni.replayed_lsn) json["replayedLsn"] = *patroni.replayed_lsn;
  if (patroni.lag_bytes) json["lagBytes"] = *patroni.lag_bytes;
  return json;
}

Result<ReportedPatroni> patroni_from_json(const Json& json) {
  if (!json.is_object()) return invalid("patroni: expected an object");
  constexpr std::string_view kWhere = "patroni.";
  ReportedPatroni patroni;
  for (auto [field, target] : {std::pair{"role", &patroni.role}, std::pair{"state", &patroni.state}}) {
    if (auto read = read_string(json, field, *target, kWhere); !read) return read.error();
  }
  if (auto read = read_integer(json, "timeline", patroni.timeline, kWhere); !read) return read.error();
  if (auto read = read_bool(json, "pendingRestart", patroni.pending_restart, kWhere); !read) return read.error();
  for (auto [field, target] : {std::pair{"lsn", &patroni.lsn}, std::pair{"receivedLsn", &patroni.received_lsn},
                               std::pair{"replayedLsn", &patroni.replayed_lsn}}) {
    std::string value;
    auto read = read_string(json, field, value, kWhere);
    if (!read) return read.error();
    if (read.value()) *target = value;
  }
  if (auto read = read_integer(json, "lagBytes", patroni.lag_bytes, kWhere); !read) return read.error();
  return patroni;
}

// The optional text fields of the archiving section, in the order the agent writes them.
constexpr std::pair<const char*, std::string ReportedArchiving::*> kArchivingTexts[] = {
    {"lastArchivedWal", &ReportedArchiving::last_archived_wal},
    {"lastArchivedTime", &ReportedArchiving::last_archived_time},
    {"lastFailedWal", &ReportedArchiving::last_failed_wal},
    {"lastFailedTime", &ReportedArchiving::last_failed_time},
    {"lastFailureMessage", &ReportedArchiving::last_failure_message}};

constexpr std::pair<const char*, std::int64_t ReportedLogShipping::*> kShippingCounts[] = {
    {"recordsTotal", &ReportedLogShipping::records_total},
    {"errorsTotal", &ReportedLogShipping::errors_total},
    {"bytesBehind", &ReportedLogShipping::bytes_behind},
    {"filesRemovedUnshipped", &ReportedLogShipping::files_removed_unshipped},
    {"bytesSkipped", &ReportedLogShipping::bytes_skipped}};
constexpr std::pair<const char*, std::string ReportedLogShipping::*> kShippingTexts[] = {
    {"lastRecordTime", &ReportedLogShipping::last_record_time},
    {"lastError", &ReportedLogShipping::last_error},
    {"lastSuccess", &ReportedLogShipping::last_success},
    {"lastRemoval", &ReportedLogShipping::last_removal},
    {"lastSkip", &ReportedLogShipping::last_skip}};

}  // namespace

Json reported_log_shipping_to_json(const std::map<std::string, ReportedLogShipping>& shipping) {
  Json json = Json::object();
  for (const auto& [type, log] : shipping) {
    Json entry = Json::object();
    for (const auto& [field, member] : kShippingCounts) entry[field] = log.*member;
    for (const auto& [field, member] : kShippingTexts) {
      if (!(log.*member).empty()) entry[field] = log.*member;
    }
    json[type] = std::move(entry);
  }
  return json;
}

Result<std::map<std::string, ReportedLogShipping>> reported_log_shipping_from_json(const Json& json) {
  if (!json.is_object()) return invalid("logShipping: expected an object");
  std::map<std::string, ReportedLogShipping> shipping;
  for (const auto& [type, entry] : json.items()) {
    if (!entry.is_object()) return invalid(fmt::format("logShipping.{}: expected an object", type));
    const std::string where = fmt::format("logShipping.{}.", type);
    ReportedLogShipping log;
    for (const auto& [field, member] : kShippingCounts) {
      std::optional<std::int64_t> value;
      if (auto read = read_integer(entry, field, value, where); !read) return read.error();
      log.*member = value.value_or(0);
    }
    for (const auto& [field, member] : kShippingTexts) {
      if (auto read = read_string(entry, field, log.*member, where); !read) return read.error();
    }
    shipping[type] = std::move(log);
  }
  return shipping;
}

Json reported_archiving_to_json(const ReportedArchiving& archiving) {
  Json json = {{"archivedCount", archiving.archived_count}, {"failedCount", archiving.failed_count}};
  for (const auto& [field, member] : kArchivingTexts) {
    if (!(archiving.*member).empty()) json[field] = archiving.*member;
  }
  if (archiving.repository_disk.is_object()) json["repositoryDisk"] = archiving.repository_disk;
  json["failing"] = archiving.failing;
  return json;
}

Result<ReportedArchiving> reported_archiving_from_json(const Json& json) {
  if (!json.is_object()) return invalid("archiving: expected an object");
  constexpr std::string_view kWhere = "archiving.";
  ReportedArchiving archiving;
  for (auto [field, target] :
       {std::pair{"archivedCount", &archiving.archived_count}, std::pair{"failedCount", &archiving.failed_count}}) {
    std::optional<std::int64_t> value;
    if (auto read = read_integer(json, field, value, kWhere); !read) return read.error();
    *target = value.value_or(0);
  }
  for (const auto& [field, member] : kArchivingTexts) {
    if (auto read = read_string(json, field, archiving.*member, kWhere); !read) return read.error();
  }
  if (json.contains("repositoryDisk") && json["repositoryDisk"].is_object())
    archiving.repository_disk = json["repositoryDisk"];
  if (auto read = read_bool(json, "failing", archiving.failing, kWhere); !read) return read.error();
  return archiving;
}

Json instance_report_to_json(const InstanceReport& report) {
  Json json = Json::object();
  json["member"] = report.member;
  json["host"] = report.host;
  json["state"] = report.state;
  if (!report.reason.empty()) json["reason"] = report.reason;
  if (report.patroni) json["patroni"] = patroni_to_json(*report.patroni);
  if (report.archiving) json["archiving"] = reported_archiving_to_json(*report.archiving);
  if (!report.backup_problem.empty()) json["backupProblem"] = report.backup_problem;
  if (!report.rejoin.is_null()) json["rejoin"] = report.rejoin;
  if (!report.extensions.is_null()) json["extensions"] = report.extensions;
  if (!report.log_shipping.empty()) json["logShipping"] = reported_log_shipping_to_json(report.log_shipping);
  if (!report.events.empty()) json["events"] = report.events;
  json["pgbouncer"] = report.pgbouncer;
  json["ports"] = {
      {"postgres", report.ports.postgres}, {"pgbouncer", report.ports.pgbouncer}, {"patroni", report.ports.patroni}};
  json["updatedAt"] = report.updated_at;
  return json;
}

Result<InstanceReport> instance_report_from_json(const Json& json) {
  if (!json.is_object()) return invalid(fmt::format("expected a JSON object, got {}", json.type_name()));
  InstanceReport report;
  for (auto [field, target] :
       {std::pair{"member", &report.member}, std::pair{"host", &report.host}, std::pair{"state", &report.state},
        std::pair{"reason", &report.reason}, std::pair{"backupProblem", &report.backup_problem},
        std::pair{"pgbouncer", &report.pgbouncer}, std::pair{"updatedAt", &report.updated_at}}) {
    if (auto read = read_string(json, field, *target); !read) return read.error();
  }
  if (report.member.empty()) return invalid("member: expected the member's name");
  if (json.contains("patroni") && !json["patroni"].is_null()) {
    ASSIGN_OR_RETURN(report.patroni, patroni_from_json(json["patroni"]));
  }
  if (json.contains("archiving") && !json["archiving"].is_null()) {
    ASSIGN_OR_RETURN(report.archiving, reported_archiving_from_json(json["archiving"]));
  }
  if (json.contains("extensions") && !json["extensions"].is_null()) {
    if (!json["extensions"].is_object()) return invalid("extensions: expected an object");
    report.extensions = json["extensions"];
  }
  if (json.contains("rejoin") && !json["rejoin"].is_null()) {
    if (!json["rejoin"].is_object()) return invalid("rejoin: expected an object");
    report.rejoin = json["rejoin"];
  }
  if (json.contains("logShipping") && !json["logShipping"].is_null()) {
    ASSIGN_OR_RETURN(report.log_shipping, reported_log_shipping_from_json(json["logShipping"]));
  }
  if (json.contains("events") && !json["events"].is_null()) {
    if (!json["events"].is_array()) return invalid("events: expected an array");
    report.events = json["events"].get<std::vector<Json>>();
  }
  if (json.contains("ports") && json["ports"].is_object()) {
    const Json& ports = json["ports"];
    for (auto [field, target] :
         {std::pair{"postgres", &report.ports.postgres}, std::pair{"pgbouncer", &report.ports.pgbouncer},
          std::pair{"patroni", &report.ports.patroni}}) {
      std::optional<std::int64_t> value;
      if (auto read = read_integer(ports, field, value, "ports."); !read) return read.error();
      *target = static_cast<int>(value.value_or(0));
    }
  }
  return report;
}

}  // namespace pgstack::model
