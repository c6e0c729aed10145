#include "model/extension_catalogue.h"

#include <algorithm>
#include <utility>

#include <fmt/format.h>

#include "common/strings.h"

namespace pgstack::model {
namespace {

constexpr std::string_view kServer = "postgresql-{major}";

// Contrib: the control files of postgresql-15 itself (and the procedural languages Debian splits out).
constexpr std::string_view kContrib[] = {"adminpack",
                                         "amcheck",
                                         "autoinc",
                                         "bloom",
                                         "btree_gin",
                                         "btree_gist",
                                         "citext",
                                         "cube",
                                         "dblink",
                                         "dict_int",
                                         "dict_xsyn",
                                         "earthdistance",
                                         "file_fdw",
                                         "fuzzystrmatch",
                                         "hstore",
                                         "insert_username",
                                         "intagg",
                                         "intarray",
                                         "isn",
                                         "lo",
                                         "ltree",
                                         "moddatetime",
                                         "old_snapshot",
                                         "pageinspect",
                                         "pg_buffercache",
                                         "pg_freespacemap",
                                         "pg_prewarm",
                                         "pg_stat_statements",
                                         "pg_surgery",
                                         "pg_trgm",
                                         "pg_visibility",
                                         "pg_walinspect",
                                         "pgcrypto",
                                         "pgrowlocks",
                                         "pgstattuple",
                                         "plpgsql",
                                         "postgres_fdw",
                                         "refint",
                                         "seg",
                                         "sslinfo",
                                         "tablefunc",
                                         "tcn",
                                         "tsm_system_rows",
                                         "tsm_system_time",
                                         "unaccent",
                                         "uuid-ossp",
                                         "xml2"};

// name, package, preload. From the control files of Debian 12's packages (scripts/list-extension-packages).
constexpr CatalogueExtension kPackaged[] = {
    {"address_standardizer", "postgresql-{major}-postgis-3", ""},
    {"address_standardizer_data_us", "postgresql-{major}-postgis-3", ""},
    {"asn1oid", "postgresql-{major}-asn1oid", ""},
    {"bool_plperl", "postgresql-plperl-{major}", ""},
    {"bool_plperlu", "postgresql-plperl-{major}", ""},
    {"debversion", "postgresql-{major}-debversion", ""},
    {"extra_window_functions", "postgresql-{major}-extra-window-functions", ""},
    {"first_last_agg", "postgresql-{major}-first-last-agg", ""},
    {"hll", "postgresql-{major}-hll", ""},
    {"hstore_pllua", "postgresql-{major}-pllua", ""},
    {"hstore_plluau", "postgresql-{major}-pllua", ""},
    {"hstore_plperl", "postgresql-plperl-{major}", ""},
    {"hstore_plperlu", "postgresql-plperl-{major}", ""},
    {"hstore_plpython3u", "postgresql-plpython3-{major}", ""},
    {"hypopg", "postgresql-{major}-hypopg", ""},
    {"icu_ext", "postgresql-{major}-icu-ext", ""},
    {"ip4r", "postgresql-{major}-ip4r", ""},
    {"jsonb_plperl", "postgresql-plperl-{major}", ""},
    {"jsonb_plperlu", "postgresql-plperl-{major}", ""},
    {"jsonb_plpython3u", "postgresql-plpython3-{major}", ""},
    {"jsquery", "postgresql-{major}-jsquery", ""},
    {"londiste", "postgresql-{major}-londiste-sql", ""},
    {"ltree_plpython3u", "postgresql-plpython3-{major}", ""},
    {"mimeo", "postgresql-{major}-mimeo", ""},
    {"mysql_fdw", "postgresql-{major}-mysql-fdw", ""},
    {"numeral", "postgresql-{major}-numeral", ""},
    {"ogr_fdw", "postgresql-{major}-ogr-fdw", ""},
    {"omnidb_plpgsql_debugger", "postgresql-{major}-omnidb", ""},
    {"orafce", "postgresql-{major}-orafce", ""},
    {"periods", "postgresql-{major}-periods", ""},
    {"pg_cron", "postgresql-{major}-cron", "pg_cron"},
    {"pg_dirtyread", "postgresql-{major}-dirtyread", ""},
    {"pg_fact_loader", "postgresql-{major}-pg-fact-loader", ""},
    {"pg_partman", "postgresql-{major}-partman", ""},
    {"pg_qualstats", "postgresql-{major}-pg-qualstats", "pg_qualstats"},
    {"pg_rational", "postgresql-{major}-rational", ""},
    {"pg_repack", "postgresql-{major}-repack", ""},
    {"pg_similarity", "postgresql-{major}-similarity", ""},
    {"pg_snakeoil", "postgresql-{major}-snakeoil", ""},
    {"pg_sphere", "postgresql-{major}-pgsphere", ""},
    {"pg_stat_kcache", "postgresql-{major}-pg-stat-kcache", "pg_stat_statements, pg_stat_kcache"},
    {"pg_track_settings", "postgresql-{major}-pg-track-settings", ""},
    {"pg_wait_sampling", "postgresql-{major}-pg-wait-sampling", "pg_wait_sampling"},
    {"pgagent", "pgagent", ""},
    {"pgaudit", "postgresql-{major}-pgaudit", "pgaudit"},
    {"pgauditlogtofile", "postgresql-{major}-pgauditlogtofile", "pgaudit, pgauditlogtofile"},
    {"pgautofailover", "postgresql-{major}-auto-failover", "pgautofailover"},
    {"pgfincore", "postgresql-{major}-pgfincore", ""},
    {"pgl_ddl_deploy", "postgresql-{major}-pgl-ddl-deploy", "pglogical"},
    {"pglogical", "postgresql-{major}-pglogical", "pglogical"},
    {"pglogical_origin", "postgresql-{major}-pglogical", "pglogical"},
    {"pglogical_ticker", "postgresql-{major}-pglogical-ticker", "pglogical"},
    {"pgmemcache", "postgresql-{major}-pgmemcache", ""},
    {"pgmp", "postgresql-{major}-pgmp", ""},
    {"pgpcre", "postgresql-{major}-pgpcre", ""},
    {"pgpool_adm", "postgresql-{major}-pgpool2", ""},
    {"pgpool_recovery", "postgresql-{major}-pgpool2", ""},
    {"pgpool_regclass", "postgresql-{major}-pgpool2", ""},
    {"pgq", "postgresql-{major}-pgq3", ""},
    {"pgq_node", "postgresql-{major}-pgq-node", ""},
    {"pgrouting", "postgresql-{major}-pgrouting", ""},
    {"pgtap", "postgresql-{major}-pgtap", ""},
    {"pldbgapi", "postgresql-{major}-pldebugger", "plugin_debugger"},
    {"pllua", "postgresql-{major}-pllua", ""},
    {"plluau", "postgresql-{major}-pllua", ""},
    {"plperl", "postgresql-plperl-{major}", ""},
    {"plperlu", "postgresql-plperl-{major}", ""},
    {"plpgsql_check", "postgresql-{major}-plpgsql-check", ""},
    {"plprofiler", "postgresql-{major}-plprofiler", ""},
    {"plproxy", "postgresql-{major}-plproxy", ""},
    {"plpython3u", "postgresql-plpython3-{major}", ""},
    {"plr", "postgresql-{major}-plr", ""},
    {"plsh", "postgresql-{major}-plsh", ""},
    {"pltcl", "postgresql-pltcl-{major}", ""},
    {"pltclu", "postgresql-pltcl-{major}", ""},
    {"pointcloud", "postgresql-{major}-pointcloud", ""},
    {"pointcloud_postgis", "postgresql-{major}-pointcloud", ""},
    {"postgis", "postgresql-{major}-postgis-3", ""},
    {"postgis_raster", "postgresql-{major}-postgis-3", ""},
    {"postgis_sfcgal", "postgresql-{major}-postgis-3", ""},
    {"postgis_tiger_geocoder", "postgresql-{major}-postgis-3", ""},
    {"postgis_topology", "postgresql-{major}-postgis-3", ""},
    {"powa", "postgresql-{major}-powa", ""},
    {"pre_prepare", "postgresql-{major}-preprepare", ""},
    {"prefix", "postgresql-{major}-prefix", ""},
    {"prioritize", "postgresql-{major}-prioritize", ""},
    {"q3c", "postgresql-{major}-q3c", ""},
    {"rdkit", "postgresql-{major}-rdkit", ""},
    {"repmgr", "postgresql-{major}-repmgr", "repmgr"},
    {"rum", "postgresql-{major}-rum", ""},
    {"semver", "postgresql-{major}-semver", ""},
    {"set_user", "postgresql-{major}-set-user", "set_user"},
    {"table_log", "postgresql-{major}-tablelog", ""},
    {"tdigest", "postgresql-{major}-tdigest", ""},
    {"tds_fdw", "postgresql-{major}-tds-fdw", ""},
    {"toastinfo", "postgresql-{major}-toastinfo", ""},
    {"unit", "postgresql-{major}-unit", ""},
};

std::string package_for(std::string_view pattern, int major) {
  std::string package(pattern);
  constexpr std::string_view kMajor = "{major}";
  if (const auto at = package.find(kMajor); at != std::string::npos)
    package.replace(at, kMajor.size(), std::to_string(major));
  return package;
}

std::string strip_library_name(std::string_view text) {
  std::string name = trim(text);
  name.erase(std::remove(name.begin(), name.end(), '"'), name.end());
  name.erase(std::remove(name.begin(), name.end(), '\''), name.end());
  return trim(name);
}

}  // namespace

const std::vector<CatalogueExtension>& extension_catalogue() {
  static const std::vector<CatalogueExtension> catalogue = [] {
    std::vector<CatalogueExtension> all;
    for (const auto name : kContrib) all.push_back(CatalogueExtension{name, kServer, "", true});
    all.insert(all.end(), std::begin(kPackaged), std::end(kPackaged));
    // pg_stat_statements is contrib but needs its library; pgstack preloads it by default anyway.
    for (auto& entry : all) {
      if (entry.name == "pg_stat_statements") entry.preload = "pg_stat_statements";
    }
    return all;
  }();
  return catalogue;
}

Result<ResolvedExtension> resolve_extension(std::string_view name, int major) {
  const auto& catalogue = extension_catalogue();
  const auto found = std::find_if(catalogue.begin(), catalogue.end(),
                                  [&](const CatalogueExtension& entry) { return entry.name == name; });
  if (found == catalogue.end()) {
    std::string message =
        fmt::format("unknown extension \"{}\": no Debian package for PostgreSQL {} provides it", name, major);
    if (const auto near = near_extension_names(name); !near.empty())
      message += fmt::format("; did you mean {}?", fmt::join(near, ", "));
    message += " (`pgstack get extensions --available` lists them all)";
    return make_error(ErrorCode::kInvalidInput, message);
  }
  return ResolvedExtension{std::string(found->name), package_for(found->package, major), std::string(found->preload),
                           found->contrib};
}

std::vector<std::string> near_extension_names(std::string_view name, std::size_t limit) {
  const std::string lowered = to_lower(name);
  if (lowered.empty()) return {};
  const std::size_t reach = std::max<std::size_t>(2, lowered.size() / 3);
  std::vector<std::pair<std::size_t, std::string>> near;
  for (const auto& entry : extension_catalogue()) {
    const std::string candidate(entry.name);
    std::size_t distance = edit_distance(lowered, candidate);
    // "partman" for pg_partman, "cron" for pg_cron: a name inside the other is as close as a typo.
    const bool contains = lowered.size() >= 3 && (candidate.find(lowered) != std::string::npos ||
                                                  lowered.find(candidate) != std::string::npos);
    if (contains) distance = std::min<std::size_t>(distance, 1);
    if (distance <= reach) near.emplace_back(distance, candidate);
  }
  std::stable_sort(near.begin(), near.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<std::string> names;
  for (auto& [distance, candidate] : near) {
    if (names.size() == limit) break;
    names.push_back(std::move(candidate));
  }
  return names;
}

std::vector<std::string> split_preload_libraries(std::string_view value) {
  std::vector<std::string> libraries;
  for (const auto& part : split(value, ',')) {
    std::string name = strip_library_name(part);
    if (!name.empty()) libraries.push_back(std::move(name));
  }
  return libraries;
}

std::string merge_preload_libraries(std::string_view current, const std::vector<std::string>& libraries) {
  std::vector<std::string> merged = split_preload_libraries(current);
  for (const auto& wanted : libraries) {
    for (auto& library : split_preload_libraries(wanted)) {
      if (std::find(merged.begin(), merged.end(), library) == merged.end()) merged.push_back(std::move(library));
    }
  }
  return fmt::format("{}", fmt::join(merged, ", "));
}

}  // namespace pgstack::model
