// pgbouncer.ini of one instance: StackGres's defaults with pool limits sized to what the instance's
// Postgres takes, then SGPoolingConfig, then the cluster's inline pooling config (later wins), with the
// settings pgstack owns (listening, authentication, files) fixed. Pure, no I/O.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "config/render_postgresql.h"
#include "config/tuning.h"
#include "model/diagnostics.h"
#include "model/resources.h"

namespace pgstack::config {

// PgBouncer asks Postgres for a client's SCRAM secret with this query, as the authenticator user. The
// function must exist in every database (create it in template1 too) and be executable only by the
// authenticator; it is SECURITY DEFINER over pg_authid.
inline constexpr std::string_view kPgbouncerAuthQuery = "SELECT usename, passwd FROM pgstack.user_lookup($1)";

// The auth_file: only the authenticator's password, in plain text (`"name" "password"`, mode 0600),
// since PgBouncer logs in to Postgres with it and a SCRAM verifier is not enough for that. Someone
// else writes it.
std::string pgbouncer_auth_file_path(const InstanceLayout& layout);

// The options of a [databases] or [users] entry ("dbname=app pool_size=20"), as lower-case key and value.
std::vector<std::pair<std::string, std::string>> pgbouncer_entry_options(std::string_view entry);

// The server connections PgBouncer may hold on one instance's Postgres: max_connections less the
// superusers' reserved slots and the connections made outside PgBouncer. Pool limits above it make
// Postgres refuse connections ("too many clients") instead of PgBouncer queueing the clients.
struct PoolBudget {
  int connections = 1;
  std::string reason;  // "max_connections 100 - superuser_reserved_connections 8 - 5 outside PgBouncer (...)"
};
PoolBudget pgbouncer_pool_budget(const TuningInput& input);

// The [pgbouncer] section in rendering order, each with its source.
std::vector<TunedParameter> pgbouncer_settings(const model::Cluster& cluster, const model::PoolingConfig* named_config,
                                               const InstanceLayout& layout, const PoolBudget& budget);

// The user's [pgbouncer], [databases] and [users] entries that were left out, each with the reason.
std::vector<TunedParameter> dropped_pgbouncer_settings(const model::Cluster& cluster,
                                                       const model::PoolingConfig* named_config);

// The user's pool limits (max_db_connections, max_user_connections, in any section) that let PgBouncer
// ask for more than `budget`: warnings naming the resource and field that set them, without a file.
std::vector<model::Diagnostic> pgbouncer_pool_warnings(const model::Cluster& cluster,
                                                       const model::PoolingConfig* named_config,
                                                       const PoolBudget& budget);

// `named_config` is the SGPoolingConfig the cluster names (nullptr: none). A user's pool limit above
// the budget is kept, with a warning comment above it.
std::string render_pgbouncer_ini(const model::Cluster& cluster, const model::PoolingConfig* named_config,
                                 const InstanceLayout& layout, const PoolBudget& budget);

}  // namespace pgstack::config
