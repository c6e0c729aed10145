// Patroni's configuration of one instance: DCS (etcd3) location, REST API, bootstrap (the cluster-wide
// dynamic configuration and initdb), and the local postgresql section (addresses, directories,
// users, pg_hba, the parameters pgstack owns). The tuned parameters reach Postgres through
// postgresql.conf, which Patroni includes as custom_conf. Pure, no I/O.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "config/render_postgresql.h"
#include "config/tuning.h"
#include "model/resources.h"

namespace pgstack::config {

// Patroni's user for pg_rewind (ClusterCredentials has no field for it yet).
inline constexpr std::string_view kRewindUserName = "rewinder";

// Failover timing; Patroni needs loop_wait + 2 * retry_timeout <= ttl (docs/tuning.md has the why).
// Patroni's own log rotation (patroni.yaml log.file_size, log.file_num): 16 MiB files, 4 kept renamed.
inline constexpr long long kPatroniLogFileBytes = 16LL << 20;
inline constexpr int kPatroniLogFiles = 4;

struct PatroniTiming {
  int ttl = 10;
  int loop_wait = 2;
  int retry_timeout = 4;
};
inline constexpr PatroniTiming kPatroniTiming{};

// The DCS configuration the cluster should have: timing, synchronous replication from
// replication.mode, slots and rewind, the DCS-only tuned parameters, with the user's
// configurations.patroni.dynamicConfig merged over it (user wins, except ignored keys). It goes to
// bootstrap.dcs; the controller sends it with PATCH /config when it changes later.
model::Json patroni_dynamic_config(const model::Cluster& cluster, const std::vector<TunedParameter>& parameters);

// The whole configuration of one instance, with configurations.patroni.initialConfig merged over it.
model::Json patroni_config(const model::Cluster& cluster, const InstanceLayout& layout,
                           const std::vector<TunedParameter>& parameters);

// patroni_config as YAML, with comments; no secrets in it.
std::string render_patroni_yaml(const model::Cluster& cluster, const InstanceLayout& layout,
                                const std::vector<TunedParameter>& parameters);

// Keys of dynamicConfig / initialConfig that are not passed through (pgstack derives them), as
// "dynamicConfig.synchronous_mode", "initialConfig.postgresql.data_dir", ...
std::vector<std::string> ignored_patroni_overrides(const model::Cluster& cluster);

}  // namespace pgstack::config
