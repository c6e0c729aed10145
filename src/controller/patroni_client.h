// What the controller reads from and asks of Patroni: its keys in etcd (leader, members, config) and
// its REST API (switchover, restart, dynamic configuration, the primary's view of its standbys). The
// key layout, member record, role names and URLs are src/patroni's.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/error.h"
#include "controller/cluster_status.h"
#include "model/document.h"
#include "store/etcd_client.h"

namespace pgstack::controller {

struct ClusterTopology {
  std::optional<std::string> leader;
  std::map<std::string, PatroniMember> members;
  model::Json dynamic_config = model::Json::object();  // Patroni's /config key
  std::vector<std::string> sync_standbys;              // Patroni's /sync key: the only valid candidates in sync modes
};

Result<ClusterTopology> read_topology(const store::EtcdClient& etcd, const std::string& etcd_prefix,
                                      const std::string& ns, const std::string& cluster);

// The primary's pg_stat_replication as Patroni's GET /patroni shows it, by member (application_name).
Result<std::map<std::string, StandbyReplication>> read_standbys(const PatroniMember& primary);

// Asks Patroni to switch over and waits until the leader key names the new primary.
// candidate empty: the healthiest replica (running, least lag). Returns the new leader. Once Patroni was
// asked, the attempt is recorded for the cluster's history (cluster_history.h) with `requested_by`.
Result<std::string> switchover(const store::EtcdClient& etcd, const std::string& etcd_prefix, const std::string& ns,
                               const std::string& cluster, const std::string& candidate,
                               const std::string& requested_by,
                               std::chrono::seconds timeout = std::chrono::seconds(60));

// Restarts one member through its Patroni (which waits for Postgres to come back).
Result<bool> restart_member(const PatroniMember& member);

// PATCH /config on the primary: Patroni merges it into its DCS configuration.
Result<bool> patch_dynamic_config(const PatroniMember& primary, const model::Json& changes);

}  // namespace pgstack::controller
