#include "agent/bootstrap_sql.h"

#include <fmt/format.h>

#include "common/shell_quote.h"

namespace pgstack::agent {
namespace {

// psql reads the names and passwords from the environment (\getenv, psql 15+) and quotes them
// itself (:"identifier", :'literal').
constexpr std::string_view kVariables = R"SQL(\getenv authenticator_user PGSTACK_AUTHENTICATOR_USER
\getenv authenticator_password PGSTACK_AUTHENTICATOR_PASSWORD
\getenv app_user PGSTACK_APP_USER
\getenv app_password PGSTACK_APP_PASSWORD
\getenv app_database PGSTACK_APP_DATABASE
\getenv monitor_user PGSTACK_MONITOR_USER
\getenv monitor_password PGSTACK_MONITOR_PASSWORD
)SQL";

// A cluster restored from a backup already has the roles: they get this cluster's passwords.
constexpr std::string_view kAuthenticator = R"SQL(
-- PgBouncer logs in as the authenticator to look every other user up (auth_query).
SELECT NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'authenticator_user') AS create_authenticator \gset
\if :create_authenticator
CREATE ROLE :"authenticator_user" LOGIN PASSWORD :'authenticator_password';
\else
ALTER ROLE :"authenticator_user" LOGIN PASSWORD :'authenticator_password';
\endif
)SQL";

// Only the authenticator may read password hashes through it (docs/tuning.md).
constexpr std::string_view kUserLookup = R"SQL(
CREATE SCHEMA IF NOT EXISTS pgstack;
CREATE OR REPLACE FUNCTION pgstack.user_lookup(i_username text, OUT usename name, OUT passwd text) RETURNS record
  LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog AS
  $$ SELECT rolname, CASE WHEN rolvaliduntil < now() THEN NULL ELSE rolpassword END
     FROM pg_authid WHERE rolname = i_username AND rolcanlogin $$;
REVOKE ALL ON FUNCTION pgstack.user_lookup(text) FROM PUBLIC;
GRANT USAGE ON SCHEMA pgstack TO :"authenticator_user";
GRANT EXECUTE ON FUNCTION pgstack.user_lookup(text) TO :"authenticator_user";
)SQL";

// postgres_exporter's role: pg_monitor's statistics and nothing else (no table data), every query
// cut off after 5 s. NOINHERIT would hide pg_monitor's rights; membership is all it gets.
constexpr std::string_view kMonitor = R"SQL(
-- Unset when the environment has no PGSTACK_MONITOR_* (an older caller): then there is no such role.
\if :{?monitor_user}
\else
\set monitor_user ''
\endif
\if :{?monitor_password}
\else
\set monitor_password ''
\endif
SELECT :'monitor_user' <> '' AND NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'monitor_user') AS create_monitor,
       :'monitor_user' <> '' AND EXISTS (SELECT FROM pg_roles WHERE rolname = :'monitor_user') AS update_monitor \gset
\if :create_monitor
CREATE ROLE :"monitor_user" LOGIN PASSWORD :'monitor_password' CONNECTION LIMIT 3 IN ROLE pg_monitor;
ALTER ROLE :"monitor_user" SET statement_timeout = '5s';
\elif :update_monitor
ALTER ROLE :"monitor_user" LOGIN PASSWORD :'monitor_password' CONNECTION LIMIT 3;
GRANT pg_monitor TO :"monitor_user";
ALTER ROLE :"monitor_user" SET statement_timeout = '5s';
\endif
)SQL";

// pg_stat_statements (preloaded by default) in template1 and postgres, so every database has its view.
constexpr std::string_view kStatements = R"SQL(
CREATE EXTENSION IF NOT EXISTS pg_stat_statements;
)SQL";

// After template1 has the function, so the new database copies it.
constexpr std::string_view kApplication = R"SQL(
SELECT :'app_user' <> '' AND NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'app_user') AS create_app_user,
       :'app_user' <> '' AND EXISTS (SELECT FROM pg_roles WHERE rolname = :'app_user') AS update_app_user,
       :'app_user' <> '' AND :'app_database' <> ''
         AND NOT EXISTS (SELECT FROM pg_database WHERE datname = :'app_database') AS create_app_database \gset
\if :create_app_user
CREATE ROLE :"app_user" LOGIN PASSWORD :'app_password';
\elif :update_app_user
ALTER ROLE :"app_user" LOGIN PASSWORD :'app_password';
\endif
\if :create_app_database
CREATE DATABASE :"app_database" OWNER :"app_user";
\endif
)SQL";

}  // namespace

std::string bootstrap_sql() {
  std::string sql(kVariables);
  sql += kAuthenticator;
  sql += kMonitor;
  sql += "\n\\connect template1\n";
  sql += kUserLookup;
  sql += kStatements;
  sql += "\n\\connect postgres\n";
  sql += kUserLookup;
  sql += kStatements;
  sql += kApplication;
  return sql;
}

std::string monitor_role_sql() {
  std::string sql = R"SQL(\getenv monitor_user PGSTACK_MONITOR_USER
\getenv monitor_password PGSTACK_MONITOR_PASSWORD
)SQL";
  sql += kMonitor;
  return sql;
}

std::string post_bootstrap_script(std::string_view psql_program) {
  return fmt::format(R"SH(#!/bin/sh
# Written by pgstack-agent; Patroni runs it once, on the first primary, after initdb, with a connection
# string as $1. Names and passwords come from the PGSTACK_* variables of Patroni's environment.
set -eu
exec {} --no-psqlrc --quiet --set ON_ERROR_STOP=1 --dbname "$1" <<'PGSTACK_SQL'
{}PGSTACK_SQL
)SH",
                     shell_quote(psql_program), bootstrap_sql());
}

}  // namespace pgstack::agent
