// pgbouncer.ini of one instance: StackGres's defaults, then SGPoolingConfig, then the cluster's inline
// pooling config (later wins), with the settings pgstack owns (listening, authentication, files)
// fixed. Pure, no I/O.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "config/render_postgresql.h"
#include "config/tuning.h"
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

// The [pgbouncer] section in rendering order, each with its source.
std::vector<TunedParameter> pgbouncer_settings(const model::Cluster& cluster, const model::PoolingConfig* named_config,
                                               const InstanceLayout& layout);

// The user's [pgbouncer], [databases] and [users] entries that were left out, each with the reason.
std::vector<TunedParameter> dropped_pgbouncer_settings(const model::Cluster& cluster,
                                                       const model::PoolingConfig* named_config);

// `named_config` is the SGPoolingConfig the cluster names (nullptr: none).
std::string render_pgbouncer_ini(const model::Cluster& cluster, const model::PoolingConfig* named_config,
                                 const InstanceLayout& layout);

}  // namespace pgstack::config
