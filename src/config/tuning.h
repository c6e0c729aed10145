// Tuning: the postgresql.conf parameters an instance runs with, sized from its instance profile
// (cpu, memory), storage kind and volume, over StackGres's defaults, with the user's values on top.
// Every value carries its source so rendered files and `pgstack render` can say why. Pure, no I/O.
// The rules, their bounds and the values for typical profiles are in docs/tuning.md.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "model/resources.h"

namespace pgstack::config {

// The source given to a value taken unchanged from StackGres (postgresql.conf and pgbouncer.ini).
inline constexpr std::string_view kStackGresDefault = "StackGres default";

struct TunedParameter {
  std::string name;    // lower case, as in pg_settings
  std::string value;   // as Postgres accepts it: "512MB", "15min", "on", "0.9"
  std::string source;  // why: "25% of 2Gi memory", "StackGres default", "user (SGPostgresConfig/pgconf)"

  bool operator==(const TunedParameter&) const = default;
};

struct TuningInput {
  model::InstanceProfile profile;
  model::StorageKind storage_kind = model::StorageKind::kSsd;
  // No replication mode: it changes nothing here, Patroni sets synchronous_standby_names itself.
  int instances = 1;
  // The major that runs (resolved from "latest" by the caller); 0 means the newest pgstack knows.
  int postgres_major = 0;
  // Size of the data volume; when known, WAL retention is capped so WAL cannot fill it.
  std::optional<std::int64_t> volume_bytes;
  // SGPostgresConfig's "postgresql.conf" then the cluster's inline one: later entries win.
  std::string postgres_config_name;  // names the source of the first list
  model::SettingList postgres_config_parameters;
  std::string cluster_name;  // names the source of the second list
  model::SettingList inline_parameters;
  // postgres.extensions by name: their libraries join shared_preload_libraries (also a user's value).
  std::vector<std::string> extensions;
};

// The inputs of one cluster. `postgres_config` is the SGPostgresConfig it names (nullptr: none);
// `postgres_major` is the resolved major (0: the newest pgstack knows).
TuningInput tuning_input_for(const model::Cluster& cluster, const model::InstanceProfile& profile,
                             const model::PostgresConfig* postgres_config, int postgres_major);

// The parameters in the order they are rendered: sizing and StackGres's defaults grouped by topic,
// then the user's other parameters in the order written. Parameters pgstack or Patroni own are not
// here (see owned_postgres_parameters in render_postgresql.h) and a user value never replaces them.
std::vector<TunedParameter> tune_postgres_parameters(const TuningInput& input);

// The user's settings that tune_postgres_parameters left out, each with the reason as its source.
std::vector<TunedParameter> dropped_user_parameters(const TuningInput& input);

// Parameters a user value never replaces: StackGres's blocked list, the ones Patroni manages
// (cluster_name, hot_standby, synchronous_standby_names, recovery settings) and the files and paths
// pgstack lays out (data_directory, unix_socket_directories, ssl...).
bool is_owned_postgres_parameter(std::string_view name);
const std::vector<std::string>& owned_postgres_parameter_names();

// Parameters Patroni takes only from its DCS configuration (must be equal on all members); local
// values for them are ignored, so they belong in bootstrap.dcs and, later, in PATCH /config.
bool is_dcs_postgres_parameter(std::string_view name);

// The huge pages an instance with these parameters maps (bytes) when its huge_pages is try or on: the
// profile's hugepages-2Mi when it sets it, else Postgres' shared memory estimated from the parameters
// (shared_buffers + 1/32 of it + wal_buffers + 64MB; slightly more than `postgres -C shared_memory_size`,
// since Postgres takes huge pages for all of it or none). Nothing when huge_pages is off.
std::optional<std::int64_t> huge_pages_bytes(const std::vector<TunedParameter>& parameters,
                                             const model::InstanceProfile& profile);

// "512MB", "4GB": whole megabytes, in GB when exact.
std::string format_megabytes(std::int64_t megabytes);

// The newest major whose parameters the rules know; "postgres_major = 0" means this one.
inline constexpr int kNewestPostgresMajor = 17;

}  // namespace pgstack::config
