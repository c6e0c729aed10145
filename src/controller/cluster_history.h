// A cluster's switchovers and failovers (GET .../sgclusters/{name}/history): Patroni's record of each
// timeline switch (when, which member was promoted, at which LSN) joined with pgstack's own record of the
// switchovers it asked Patroni for (who or what asked, and how long until the new primary was reported).
// A promotion that no switchover asked for is a failover: Patroni promoted a replica because the primary
// was lost.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "common/error.h"
#include "model/document.h"
#include "store/etcd_client.h"

namespace pgstack::controller {

// One switchover pgstack asked for, as switchover() (patroni_client.h) records it.
struct SwitchoverRecord {
  std::string requested_at;  // UTC, milliseconds
  std::string completed_at;  // when the new primary was reported, or the failure was known
  std::string from;
  std::string to;            // the candidate
  std::string requested_by;  // "user alice (REST API)", "SGDbOps demo-restart-x", ...
  double seconds = 0;        // request -> new primary reported: an upper bound of the write outage
  std::string error;         // empty when it succeeded
};

model::Json to_json(const SwitchoverRecord& record);
std::optional<SwitchoverRecord> switchover_record_from(const model::Json& json);

// Pure: Patroni's history value ([[timeline, lsn, reason, timestamp, new leader], ...]; anything else
// is read as no history), the records and the read-write outages the cluster's proxies saw (their
// /outages items, proxy/primary_outages.h), as the API's items, newest first:
// {"at", "kind": "switchover"|"failover"|"failed switchover"|"restore", "timeline" (the new one), "lsn",
//  "from", "to", "requestedBy", "requestedAt", "unavailableSeconds", "unavailableMeasuredBy", "reason"}.
// unavailableSeconds is the longest outage a proxy saw end on the promoted member around the promotion
// ("proxy"); without one, for a switchover, the time from its request to the new primary's report
// ("switchover request", an upper bound); else null. A "restore" is the promotion that ended a restore
// (`restored_from`: the SGBackup of the cluster's initialData.restore, "" when it was not restored):
// one at a recovery target Postgres reached, or a restored cluster's first promotion.
model::Json cluster_history(const model::Json& patroni_history, const std::vector<SwitchoverRecord>& switchovers,
                            const model::Json& proxy_outages = model::Json::array(),
                            const std::string& restored_from = "");

// I/O: keeps `record` under store::keys::switchovers_prefix, the newest kKeptSwitchovers of the cluster.
inline constexpr std::size_t kKeptSwitchovers = 50;
Result<bool> record_switchover(const store::EtcdClient& etcd, const std::string& etcd_prefix, const std::string& ns,
                               const std::string& cluster, const SwitchoverRecord& record);

// I/O: Patroni's history key, the records and the outages the proxies saved in etcd
// (store::keys::outages_prefix), through cluster_history() with those and `proxy_outages`.
Result<model::Json> read_cluster_history(const store::EtcdClient& etcd, const std::string& etcd_prefix,
                                         const std::string& ns, const std::string& cluster,
                                         const model::Json& proxy_outages, const std::string& restored_from = "");

// I/O: the /outages items for `cluster` of each proxy in the status's endpoints.proxyAdmin; a proxy that
// does not answer is named in `errors` (only what it saved in etcd counts then).
model::Json read_proxy_outages(const model::Json& cluster_status, const std::string& cluster,
                               std::vector<std::string>& errors);

}  // namespace pgstack::controller
