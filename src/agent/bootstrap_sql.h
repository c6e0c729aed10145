// The script Patroni runs once, on the first primary, after initdb (bootstrap.post_bootstrap): it
// creates what PgBouncer's auth_query needs (the authenticator role and pgstack.user_lookup in
// template1 and postgres, so every database has it) and the application user and database. The SQL
// lives in bootstrap_sql.cpp, apart from the code that decides when it runs.
#pragma once

#include <string>
#include <string_view>

namespace pgstack::agent {

// Patroni passes its environment on to the script: names and passwords come from these variables,
// never from the script or a command line that `ps` shows. All seven must be set (empty: none).
inline constexpr std::string_view kAuthenticatorUserVariable = "PGSTACK_AUTHENTICATOR_USER";
inline constexpr std::string_view kAuthenticatorPasswordVariable = "PGSTACK_AUTHENTICATOR_PASSWORD";
inline constexpr std::string_view kAppUserVariable = "PGSTACK_APP_USER";
inline constexpr std::string_view kAppPasswordVariable = "PGSTACK_APP_PASSWORD";
inline constexpr std::string_view kAppDatabaseVariable = "PGSTACK_APP_DATABASE";
inline constexpr std::string_view kMonitorUserVariable = "PGSTACK_MONITOR_USER";
inline constexpr std::string_view kMonitorPasswordVariable = "PGSTACK_MONITOR_PASSWORD";

// A /bin/sh script that runs the bootstrap SQL with `psql_program` against the connection string
// Patroni gives as $1, stopping at the first error (Patroni then removes the data directory and retries).
std::string post_bootstrap_script(std::string_view psql_program);

// The SQL alone, as psql reads it (psql variables and meta-commands).
std::string bootstrap_sql();

// Only the monitoring role (created, or given its password and rights), from the PGSTACK_MONITOR_*
// variables: for a primary of a cluster bootstrapped before the role existed. Idempotent.
std::string monitor_role_sql();

}  // namespace pgstack::agent
