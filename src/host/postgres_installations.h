// The Postgres majors installed on this machine and the parameter catalogue of each, read from a
// throwaway server's pg_settings and cached per exact version.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "common/error.h"
#include "model/postgres_parameters.h"

namespace pgstack::host {

struct PostgresInstallation {
  int major = 0;
  std::string version;  // e.g. "15.18", from `postgres --version`
  std::filesystem::path bin_dir;
};

// Every <root>/<major>/bin/postgres that runs, sorted by major ascending. The root is
// /usr/lib/postgresql, or $PGSTACK_POSTGRES_ROOT (for tests).
std::vector<PostgresInstallation> find_postgres_installations();

// The catalogue from <cache_dir>/postgres-<version>-parameters.json when that is valid; otherwise from
// pg_settings of a temporary server (initdb, start, query, stop: about 1-2 s), then cached.
Result<model::ParameterCatalog> load_parameter_catalog(const PostgresInstallation& installation,
                                                       const std::filesystem::path& cache_dir);

// `pgbouncer --version` of the PgBouncer on PATH ("1.18.0"); empty when there is none.
std::string find_pgbouncer_version();

// "PgBouncer 1.18.0\nlibevent ..." -> "1.18.0"; empty when the text is not that.
std::string parse_pgbouncer_version(const std::string& output);

// $PGSTACK_CACHE_DIR, else $XDG_CACHE_HOME/pgstack, else $HOME/.cache/pgstack.
std::filesystem::path default_cache_dir();

}  // namespace pgstack::host
