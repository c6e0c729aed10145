#include "controller/cluster_history.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "common/http_client.h"
#include "common/time.h"
#include "model/json_read.h"
#include "model/lsn.h"
#include "patroni/dcs.h"
#include "store/keys.h"

namespace pgstack::controller {
namespace {

using model::Json;
using namespace std::chrono_literals;

// A promotion and a switchover record are the same event when the record's candidate was promoted
// between its request (Patroni's clock and ours may differ by a little) and shortly after it was reported.
constexpr auto kClockSlack = 5s;
constexpr auto kReportSlack = 60s;

std::optional<std::chrono::sys_seconds> time_of(const std::string& text) { return parse_utc_timestamp(text); }

std::string lsn_text(const Json& value) {
  if (value.is_number_unsigned() || value.is_number_integer()) {
    const auto lsn = value.get<std::uint64_t>();
    return fmt::format("{:X}/{:X}", lsn >> 32U, lsn & 0xFFFFFFFFU);
  }
  return value.is_string() ? value.get<std::string>() : std::string();
}

// Whether a timeline history file's reason is Postgres's for a recovery that stopped at its target
// (xlogrecovery.c: "before|after <time|transaction|LSN>", "at restore point", "reached consistency"); a
// promotion without one says "no recovery target specified".
bool is_recovery_target_reason(std::string_view reason) {
  for (std::string_view start : {"before ", "after ", "at restore point", "reached consistency"}) {
    if (reason.substr(0, start.size()) == start) return true;
  }
  return false;
}

// The longest outage of the read-write endpoint that a proxy saw end on `promoted` around `when`.
std::optional<double> measured_outage(const Json& outages, const std::string& promoted, std::chrono::sys_seconds when) {
  std::optional<double> longest;
  if (!outages.is_array()) return longest;
  for (const auto& outage : outages) {
    if (model::string_or(outage, "to") != promoted || !model::field_or_null(outage, "seconds").is_number()) continue;
    const auto started = time_of(model::string_or(outage, "startedAt"));
    const auto ended = time_of(model::string_or(outage, "endedAt"));
    if (!started || !ended || when + kClockSlack < *started || when > *ended + kClockSlack) continue;
    longest = std::max(longest.value_or(0.0), outage["seconds"].get<double>());
  }
  return longest;
}

}  // namespace

Json to_json(const SwitchoverRecord& record) {
  Json json = {{"requestedAt", record.requested_at},
               {"completedAt", record.completed_at},
               {"from", record.from},
               {"to", record.to},
               {"requestedBy", record.requested_by},
               {"seconds", std::round(record.seconds * 1000) / 1000}};
  if (!record.error.empty()) json["error"] = record.error;
  return json;
}

std::optional<SwitchoverRecord> switchover_record_from(const Json& json) {
  if (!json.is_object() || !json.contains("requestedAt") || !json["requestedAt"].is_string()) return std::nullopt;
  SwitchoverRecord record;
  record.requested_at = json.value("requestedAt", "");
  record.completed_at = json.value("completedAt", "");
  record.from = json.value("from", "");
  record.to = json.value("to", "");
  record.requested_by = json.value("requestedBy", "");
  record.seconds = json.value("seconds", 0.0);
  record.error = json.value("error", "");
  return record;
}

Json cluster_history(const Json& patroni_history, const std::vector<SwitchoverRecord>& switchovers,
                     const Json& proxy_outages, const std::string& restored_from) {
  std::vector<bool> matched(switchovers.size(), false);
  std::vector<Json> items;
  std::string previous_leader;  // the member promoted before: the one this promotion replaced
  if (patroni_history.is_array()) {
    for (const auto& entry : patroni_history) {
      if (!entry.is_array() || entry.size() < 4 || !entry[0].is_number_integer() || !entry[3].is_string()) continue;
      const std::string at = entry[3].get<std::string>();
      const std::string promoted = entry.size() >= 5 && entry[4].is_string() ? entry[4].get<std::string>() : "";
      const std::string stopped = entry[2].is_string() ? entry[2].get<std::string>() : "";
      // Postgres names a recovery target it reached ("before 2026-...", "at restore point ...") only when a
      // recovery with a target ended: a point-in-time restore. A restored cluster's first promotion that
      // Patroni recorded is its restore's end too (the entries before it come from the backup's history).
      const bool reached_target = is_recovery_target_reason(stopped);
      const bool restore_ended = reached_target || (!restored_from.empty() && items.empty());
      Json item = {{"at", at},
                   {"timeline", entry[0].get<std::int64_t>() + 1},
                   {"lsn", lsn_text(entry[1])},
                   {"from", previous_leader.empty() ? Json() : Json(previous_leader)},
                   {"to", promoted.empty() ? Json() : Json(promoted)},
                   {"requestedBy", nullptr},
                   {"requestedAt", nullptr},
                   {"unavailableSeconds", nullptr}};
      const auto when = time_of(at);
      std::optional<std::size_t> found;
      for (std::size_t i = 0; i < switchovers.size() && when; ++i) {
        const SwitchoverRecord& record = switchovers[i];
        const auto requested = time_of(record.requested_at);
        const auto completed = time_of(record.completed_at);
        if (matched[i] || !record.error.empty() || record.to != promoted || !requested || !completed) continue;
        if (*when + kClockSlack >= *requested && *when <= *completed + kReportSlack) {
          found = i;
          break;
        }
      }
      const auto measured = when ? measured_outage(proxy_outages, promoted, *when) : std::nullopt;
      if (measured) {
        item["unavailableSeconds"] = std::round(*measured * 10) / 10;
        item["unavailableMeasuredBy"] = "proxy";
      }
      if (restore_ended && !found) {
        item["kind"] = "restore";
        item["from"] = restored_from.empty() ? Json() : Json("backup " + restored_from);
        item["requestedBy"] = restored_from.empty() ? Json() : Json("the SGCluster's initialData.restore");
        item.erase("unavailableMeasuredBy");
        item["unavailableSeconds"] = nullptr;  // a new cluster: there were no writes to interrupt
        const std::string source =
            restored_from.empty() ? "a restore" : fmt::format("the restore from {}", restored_from);
        item["reason"] =
            reached_target ? fmt::format(
                                 "{} ended here: Postgres stopped replaying WAL at its target (\"{}\"), and {} opened "
                                 "timeline {}",
                                 source, stopped, promoted.empty() ? "the primary" : promoted, item["timeline"].dump())
                           : fmt::format("{} ended here, after the WAL it could reach; {} opened timeline {}", source,
                                         promoted.empty() ? "the primary" : promoted, item["timeline"].dump());
      } else if (found) {
        matched[*found] = true;
        const SwitchoverRecord& record = switchovers[*found];
        item["kind"] = "switchover";
        item["from"] = record.from;
        item["requestedBy"] = record.requested_by;
        item["requestedAt"] = record.requested_at;
        if (!measured) {
          item["unavailableSeconds"] = std::round(record.seconds * 10) / 10;
          item["unavailableMeasuredBy"] = "switchover request";
        }
        item["reason"] = fmt::format("switchover asked for by {}; {} was the primary within {:.1f} s",
                                     record.requested_by, record.to, record.seconds);
      } else {
        item["kind"] = "failover";
        // A new timeline on the same member: no replica took over, the primary came back (after its crash
        // or a stop of the whole cluster) and Patroni promoted it again.
        const bool came_back = !promoted.empty() && promoted == previous_leader;
        item["reason"] =
            came_back ? fmt::format(
                            "Patroni promoted {} again: the primary was lost and came back before a replica "
                            "took over (a crash of its Postgres, or the whole cluster stopped and started)",
                            promoted)
                      : fmt::format("Patroni promoted {} without a switchover being asked for: the primary was lost",
                                    promoted.empty() ? "a replica" : promoted);
      }
      items.push_back(std::move(item));
      if (!promoted.empty()) previous_leader = promoted;
    }
  }
  for (std::size_t i = 0; i < switchovers.size(); ++i) {
    const SwitchoverRecord& record = switchovers[i];
    if (matched[i] || record.error.empty()) continue;
    items.push_back({{"at", record.completed_at},
                     {"kind", "failed switchover"},
                     {"timeline", nullptr},
                     {"lsn", nullptr},
                     {"from", record.from},
                     {"to", record.to},
                     {"requestedBy", record.requested_by},
                     {"requestedAt", record.requested_at},
                     {"unavailableSeconds", nullptr},
                     {"reason", record.error}});
  }
  std::stable_sort(items.begin(), items.end(), [](const Json& a, const Json& b) {
    const auto left = time_of(a.value("at", ""));
    const auto right = time_of(b.value("at", ""));
    return left.value_or(std::chrono::sys_seconds{}) > right.value_or(std::chrono::sys_seconds{});
  });
  return {{"kind", "ClusterHistory"}, {"items", items}};
}

Result<bool> record_switchover(const store::EtcdClient& etcd, const std::string& etcd_prefix, const std::string& ns,
                               const std::string& cluster, const SwitchoverRecord& record) {
  const std::string prefix = store::keys::switchovers_prefix(etcd_prefix, ns, cluster);
  // Keys sort by time: the requested time's digits, fixed width.
  std::string id = record.requested_at;
  id.erase(std::remove_if(id.begin(), id.end(), [](char c) { return c < '0' || c > '9'; }), id.end());
  auto written = etcd.put(prefix + id, to_json(record).dump());
  if (!written.ok()) return written.error();
  auto kept = etcd.get_prefix(prefix);
  if (!kept.ok()) return kept.error();
  if (kept->items.size() > kKeptSwitchovers) {
    std::vector<std::string> keys;
    for (const auto& item : kept->items) keys.push_back(item.key);
    std::sort(keys.begin(), keys.end());
    for (std::size_t i = 0; i + kKeptSwitchovers < keys.size(); ++i) {
      if (auto removed = etcd.remove(keys[i]); !removed.ok()) return removed.error();
    }
  }
  return true;
}

Result<Json> read_cluster_history(const store::EtcdClient& etcd, const std::string& etcd_prefix, const std::string& ns,
                                  const std::string& cluster, const Json& proxy_outages,
                                  const std::string& restored_from) {
  auto history = etcd.get(patroni::history_key(etcd_prefix, ns, cluster));
  if (!history.ok()) return history.error();
  const Json patroni_history = history->has_value() ? Json::parse((*history)->value, nullptr, false) : Json::array();
  auto records = etcd.get_prefix(store::keys::switchovers_prefix(etcd_prefix, ns, cluster));
  if (!records.ok()) return records.error();
  std::vector<SwitchoverRecord> switchovers;
  for (const auto& item : records->items) {
    if (auto record = switchover_record_from(Json::parse(item.value, nullptr, false))) switchovers.push_back(*record);
  }
  // What the proxies saved (also those that restarted since, or whose host is gone) with what they
  // answer now (one not saved yet); the same outage twice changes nothing, the longest counts.
  auto saved = etcd.get_prefix(store::keys::outages_prefix(etcd_prefix, ns, cluster));
  if (!saved.ok()) return saved.error();
  Json outages = proxy_outages.is_array() ? proxy_outages : Json::array();
  for (const auto& item : saved->items) {
    Json outage = Json::parse(item.value, nullptr, false);
    if (outage.is_object()) outages.push_back(std::move(outage));
  }
  return cluster_history(patroni_history, switchovers, outages, restored_from);
}

Json read_proxy_outages(const Json& cluster_status, const std::string& cluster, std::vector<std::string>& errors) {
  Json outages = Json::array();
  const Json admins = cluster_status.value("/endpoints/proxyAdmin"_json_pointer, Json::array());
  if (!admins.is_array()) return outages;
  for (const auto& admin : admins) {
    if (!admin.is_string()) continue;
    const std::string url = admin.get<std::string>() + "/outages";
    auto response = http_request("GET", url, "", {}, std::chrono::seconds(2));
    if (!response.ok() || response->status != 200) {
      errors.push_back(fmt::format(
          "{}: {}", url, response.ok() ? fmt::format("HTTP {}", response->status) : response.error().message));
      continue;
    }
    const Json body = Json::parse(response->body, nullptr, false);
    const Json mine = body.is_object() ? body.value("/clusters"_json_pointer / cluster, Json::array()) : Json::array();
    if (!mine.is_array()) continue;
    for (const auto& outage : mine) outages.push_back(outage);
  }
  return outages;
}

}  // namespace pgstack::controller
