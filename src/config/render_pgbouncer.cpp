#include "config/render_pgbouncer.h"

#include <algorithm>
#include <charconv>
#include <numeric>
#include <optional>

#include <fmt/format.h>

#include "common/strings.h"
#include "config/tuning.h"
#include "model/kinds.h"

namespace pgstack::config {
namespace {

constexpr std::string_view kOwned = "pgstack (not overridable)";

std::string named_source(const model::PoolingConfig& config) { return fmt::format("SGPoolingConfig/{}", config.name); }
std::string inline_source(const model::Cluster& cluster) { return fmt::format("SGCluster/{}", cluster.name); }

// Where a merged entry's source keeps its pgbouncer.ini, for a finding's field path.
std::string_view ini_path(const model::Cluster& cluster, const std::string& source) {
  return source == inline_source(cluster) ? R"(spec.configurations.pooling.pgBouncer."pgbouncer.ini")"
                                          : R"(spec.pgBouncer."pgbouncer.ini")";
}

std::optional<int> parse_count(std::string_view text) {
  const std::string value = trim(text);
  int number = 0;
  const auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), number);
  if (error != std::errc() || end != value.data() + value.size() || number < 0) return std::nullopt;
  return number;
}

// Why `key = value` (a [pgbouncer] setting, or an option of a [databases] or [users] entry) lets
// PgBouncer open more server connections than the budget; nullopt when it does not. max_user_connections
// 0 is no limit per user, which max_db_connections still bounds.
std::optional<std::string> over_budget(std::string_view key, std::string_view value, const PoolBudget& budget) {
  if (key != "max_db_connections" && key != "max_user_connections") return std::nullopt;
  const std::optional<int> number = parse_count(value);
  if (!number) return std::nullopt;  // PgBouncer itself refuses the file
  const bool unlimited = *number == 0 && key == "max_db_connections";
  if (!unlimited && *number <= budget.connections) return std::nullopt;
  return fmt::format(
      "{} {}{} is more than the {} server connections Postgres has for PgBouncer ({}): clients "
      "beyond them get \"too many clients\" instead of waiting in the pool; remove it or set at most {}",
      key, trim(value), unlimited ? " (no limit)" : "", budget.connections, budget.reason, budget.connections);
}

bool is_owned(std::string_view key) {
  const auto& owned = model::owned_pgbouncer_settings();
  return std::find(owned.begin(), owned.end(), key) != owned.end();
}

// pgbouncer.ini has no quoting: a line break would start a new setting, and '=' or a leading
// '[', ';' or '#' in a key would change what the line means.
std::optional<std::string> invalid_entry_reason(std::string_view key, std::string_view value) {
  auto has_line_break = [](std::string_view text) { return text.find_first_of("\r\n") != std::string_view::npos; };
  if (key.empty() || has_line_break(key) || has_line_break(value) || key.find('=') != std::string_view::npos ||
      key.front() == '[' || key.front() == ';' || key.front() == '#') {
    return "not a valid pgbouncer.ini entry";
  }
  return std::nullopt;
}

struct Merged {
  std::vector<TunedParameter> entries;  // value, and the config it came from as source
  std::vector<TunedParameter> dropped;
};

// Later lists win; an entry keeps the position where it was first written.
void merge_into(Merged& merged, const model::SettingList& list, const std::string& source, bool settings_section) {
  for (const auto& [raw_key, value] : list) {
    const std::string key = settings_section ? to_lower(trim(raw_key)) : trim(raw_key);
    if (auto reason = invalid_entry_reason(key, value)) {
      merged.dropped.push_back({key, value, fmt::format("{}: {}", source, *reason)});
      continue;
    }
    if (settings_section && is_owned(key)) {
      merged.dropped.push_back({key, value, fmt::format("{}: pgstack owns it", source)});
      continue;
    }
    auto found = std::find_if(merged.entries.begin(), merged.entries.end(),
                              [&](const TunedParameter& entry) { return entry.name == key; });
    if (found == merged.entries.end()) {
      merged.entries.push_back({key, value, source});
    } else {
      found->value = value;
      found->source = source;
    }
  }
}

using Section = model::SettingList model::PoolingConfig::*;

Merged merge_section(const model::Cluster& cluster, const model::PoolingConfig* named_config, Section section,
                     bool settings_section) {
  Merged merged;
  if (named_config != nullptr)
    merge_into(merged, named_config->*section, named_source(*named_config), settings_section);
  if (cluster.inline_pooling)
    merge_into(merged, (*cluster.inline_pooling).*section, inline_source(cluster), settings_section);
  return merged;
}

bool has_option(std::string_view connection, std::string_view option) {
  for (const auto& token : split(connection, ' ')) {
    if (starts_with_ignoring_case(trim(token), std::string(option) + "=")) return true;
  }
  return false;
}

// The first of an entry's options that lets PgBouncer ask this instance's Postgres for more than the
// budget. A [databases] entry with its own host goes to another server, whose limits are not known here.
std::optional<std::string> entry_over_budget(std::string_view entry, bool database_entry, const PoolBudget& budget) {
  if (database_entry && has_option(entry, "host")) return std::nullopt;
  for (const auto& [key, value] : pgbouncer_entry_options(entry)) {
    if (key != (database_entry ? "max_db_connections" : "max_user_connections")) continue;
    if (auto problem = over_budget(key, value, budget)) return problem;
  }
  return std::nullopt;
}

// A database entry without a host goes to this instance's Postgres over its socket, as the
// authenticator for auth_query.
std::string complete_database_entry(std::string connection, const model::Cluster& cluster,
                                    const InstanceLayout& layout) {
  connection = trim(connection);
  auto append = [&](const std::string& option) {
    if (!connection.empty()) connection += ' ';
    connection += option;
  };
  if (has_option(connection, "host")) return connection;
  append("host=" + layout.socket_dir);
  if (!has_option(connection, "port")) append(fmt::format("port={}", layout.postgres_port));
  if (!has_option(connection, "auth_user")) append("auth_user=" + cluster.credentials.authenticator_name);
  return connection;
}

std::string listen_addresses(const InstanceLayout& layout) {
  if (layout.host_address == "*" || layout.host_address == "0.0.0.0" || layout.host_address == "127.0.0.1" ||
      layout.host_address.empty()) {
    return layout.host_address.empty() ? "127.0.0.1" : layout.host_address;
  }
  return "127.0.0.1," + layout.host_address;
}

}  // namespace

std::vector<std::pair<std::string, std::string>> pgbouncer_entry_options(std::string_view entry) {
  std::vector<std::pair<std::string, std::string>> options;
  for (const auto& token : split(entry, ' ')) {
    const auto equals = token.find('=');
    if (equals == std::string::npos) continue;
    options.emplace_back(to_lower(trim(token.substr(0, equals))), trim(token.substr(equals + 1)));
  }
  return options;
}

std::string pgbouncer_auth_file_path(const InstanceLayout& layout) { return layout.config_dir + "/pgbouncer_auth.txt"; }

PoolBudget pgbouncer_pool_budget(const TuningInput& input) {
  const std::vector<TunedParameter> parameters = tune_postgres_parameters(input);
  auto tuned = [&](std::string_view name, int postgres_default) {
    const auto found = std::find_if(parameters.begin(), parameters.end(),
                                    [&](const TunedParameter& parameter) { return parameter.name == name; });
    const std::optional<int> value = found == parameters.end() ? std::nullopt : parse_count(found->value);
    return value.value_or(postgres_default);
  };
  const int max_connections = tuned("max_connections", 100);
  const int reserved = tuned("superuser_reserved_connections", 3);
  // Connections that do not go through PgBouncer. Superusers take ordinary slots while any are free,
  // so Patroni's and pgBackRest's count here too; the reserved slots stay free for emergencies.
  std::vector<std::pair<std::string, int>> outside = {
      {"Patroni", 2},     // its own connection, and short-lived ones (slots, checks)
      {"pgBackRest", 1},  // a backup's pg_backup_start/stop
  };
  // Each replica's Patroni connects to the primary as the rewind user (not a superuser) before pg_rewind.
  if (input.instances > 1) outside.emplace_back("pg_rewind", input.instances - 1);
  outside.emplace_back("monitoring", 2);  // an exporter or a pg_monitor role, and one more check at once
  const int major = input.postgres_major > 0 ? input.postgres_major : kNewestPostgresMajor;
  // Since Postgres 12 WAL senders have their own slots; before, each took a connection.
  if (major < 12) outside.emplace_back("WAL senders", tuned("max_wal_senders", 10));

  const int outside_total =
      std::accumulate(outside.begin(), outside.end(), 0, [](int sum, const auto& entry) { return sum + entry.second; });
  std::vector<std::string> parts;
  parts.reserve(outside.size());
  for (const auto& [who, connections] : outside) parts.push_back(fmt::format("{} {}", who, connections));
  PoolBudget budget;
  const int left = max_connections - reserved - outside_total;
  budget.connections = std::max(1, left);
  budget.reason =
      fmt::format("max_connections {} - superuser_reserved_connections {} - {} outside PgBouncer ({}){}",
                  max_connections, reserved, outside_total, fmt::join(parts, ", "), left < 1 ? ", at least 1" : "");
  return budget;
}

std::vector<TunedParameter> pgbouncer_settings(const model::Cluster& cluster, const model::PoolingConfig* named_config,
                                               const InstanceLayout& layout, const PoolBudget& budget) {
  const std::string owned(kOwned);
  std::vector<TunedParameter> settings = {
      // pgstack-proxy reaches PgBouncer in clear over loopback, so PgBouncer cannot require TLS of
      // everyone; with postgres.ssl.required it is not on the network at all: remote clients come
      // through the proxy (TLS) or to Postgres (hostssl).
      {"listen_addr", cluster.ssl_required ? "127.0.0.1" : listen_addresses(layout), owned},
      {"listen_port", std::to_string(layout.pgbouncer_port), owned},
      {"unix_socket_dir", layout.socket_dir, owned},
      {"auth_type", "scram-sha-256", owned},
      {"auth_file", pgbouncer_auth_file_path(layout), owned},
      {"auth_user", cluster.credentials.authenticator_name, owned},
      {"auth_query", std::string(kPgbouncerAuthQuery), owned},
      {"logfile", layout.log_dir + "/pgbouncer.log", owned},
      {"pidfile", layout.socket_dir + "/pgbouncer.pid", owned},
  };
  const std::string pool_size = std::to_string(budget.connections);
  std::vector<TunedParameter> defaults = {
      {"pool_mode", "session", std::string(kStackGresDefault)},
      {"max_client_conn", "1000", std::string(kStackGresDefault)},
      {"admin_users", "pgbouncer_admin", std::string(kStackGresDefault)},
      {"stats_users", "pgbouncer_stats", std::string(kStackGresDefault)},
      {"application_name_add_host", "1", std::string(kStackGresDefault)},
      {"ignore_startup_parameters", "extra_float_digits", std::string(kStackGresDefault)},
      {"server_check_query", ";", std::string(kStackGresDefault)},
      // Clients beyond these wait in PgBouncer (query_wait_timeout) instead of Postgres refusing them;
      // at a limit PgBouncer closes another pool's idle server connection to open one for a waiting pool.
      {"default_pool_size", pool_size, budget.reason},
      {"max_db_connections", pool_size, budget.reason},
      {"max_user_connections", pool_size, budget.reason},
      // A burst's server connections would otherwise stay for 10 minutes, holding Postgres' memory
      // and the slots of databases and users PgBouncer does not evict for.
      {"server_idle_timeout", "60",
       "pgstack: idle server connections return to Postgres within a minute (PgBouncer: 600)"},
      // Postgres restarts during a switchover or failover; PgBouncer's default 15 s lockout after a
      // failed server login would outlast the failover itself.
      {"server_login_retry", "1", "pgstack: a restarting Postgres is back within seconds"},
  };
  if (cluster.ssl_enabled) {
    // Clients that reach Postgres through PgBouncer get TLS too, with the instance's certificate.
    defaults.push_back({"client_tls_sslmode", "prefer", "postgres.ssl.enabled"});
    defaults.push_back({"client_tls_cert_file", layout.config_dir + "/tls/server.crt", "postgres.ssl.enabled"});
    defaults.push_back({"client_tls_key_file", layout.config_dir + "/tls/server.key", "postgres.ssl.enabled"});
  }

  const Merged user = merge_section(cluster, named_config, &model::PoolingConfig::pgbouncer, true);
  // Grouped by source so the rendered file reads as owned, defaults, SGPoolingConfig, cluster.
  std::vector<TunedParameter> user_only;
  for (const auto& entry : user.entries) {
    auto found = std::find_if(defaults.begin(), defaults.end(),
                              [&](const TunedParameter& setting) { return setting.name == entry.name; });
    if (found != defaults.end()) {
      defaults.erase(found);
    }
    user_only.push_back(entry);
  }
  std::stable_partition(user_only.begin(), user_only.end(), [&](const TunedParameter& entry) {
    return named_config != nullptr && entry.source == named_source(*named_config);
  });
  settings.insert(settings.end(), defaults.begin(), defaults.end());
  settings.insert(settings.end(), user_only.begin(), user_only.end());
  return settings;
}

std::vector<TunedParameter> dropped_pgbouncer_settings(const model::Cluster& cluster,
                                                       const model::PoolingConfig* named_config) {
  std::vector<TunedParameter> dropped;
  for (const auto section :
       {&model::PoolingConfig::pgbouncer, &model::PoolingConfig::databases, &model::PoolingConfig::users}) {
    const Merged merged = merge_section(cluster, named_config, section, section == &model::PoolingConfig::pgbouncer);
    dropped.insert(dropped.end(), merged.dropped.begin(), merged.dropped.end());
  }
  return dropped;
}

std::vector<model::Diagnostic> pgbouncer_pool_warnings(const model::Cluster& cluster,
                                                       const model::PoolingConfig* named_config,
                                                       const PoolBudget& budget) {
  std::vector<model::Diagnostic> warnings;
  auto warn = [&](const TunedParameter& entry, std::string_view section, const std::string& problem) {
    const std::string path = fmt::format("{}.{}.{}", ini_path(cluster, entry.source), section, entry.name);
    warnings.push_back({model::Severity::kWarning, "", entry.source, path,
                        fmt::format("for SGCluster/{}: {}", cluster.name, problem)});
  };
  for (const auto& entry : merge_section(cluster, named_config, &model::PoolingConfig::pgbouncer, true).entries) {
    if (auto problem = over_budget(entry.name, entry.value, budget)) warn(entry, "pgbouncer", *problem);
  }
  for (const auto& entry : merge_section(cluster, named_config, &model::PoolingConfig::databases, false).entries) {
    if (auto problem = entry_over_budget(entry.value, true, budget)) warn(entry, "databases", *problem);
  }
  for (const auto& entry : merge_section(cluster, named_config, &model::PoolingConfig::users, false).entries) {
    if (auto problem = entry_over_budget(entry.value, false, budget)) warn(entry, "users", *problem);
  }
  return warnings;
}

std::string render_pgbouncer_ini(const model::Cluster& cluster, const model::PoolingConfig* named_config,
                                 const InstanceLayout& layout, const PoolBudget& budget) {
  std::string text;
  auto line = [&](std::string_view content) {
    text += content;
    text += '\n';
  };
  line(fmt::format("; pgbouncer.ini of {} (SGCluster {}/{}), rendered by pgstack: do not edit.", layout.member_name,
                   cluster.namespace_name, cluster.name));
  line(fmt::format("; Change SGPoolingConfig{} or the cluster's configurations.pooling instead.",
                   named_config != nullptr ? "/" + named_config->name : ""));
  line(fmt::format("; auth_file holds only the {} user's password: PgBouncer looks every other user up",
                   cluster.credentials.authenticator_name));
  line("; with auth_query, so passwords live in Postgres alone.");
  line("");

  line("[databases]");
  Merged databases = merge_section(cluster, named_config, &model::PoolingConfig::databases, false);
  const bool has_wildcard = std::any_of(databases.entries.begin(), databases.entries.end(),
                                        [](const TunedParameter& entry) { return entry.name == "*"; });
  if (!has_wildcard) {
    line("; Any database: this instance's Postgres over its Unix socket.");
    line("* = " + complete_database_entry("", cluster, layout));
  }
  for (const auto& entry : databases.entries) {
    if (auto problem = entry_over_budget(entry.value, true, budget)) line("; warning: " + *problem);
    line(fmt::format("{} = {}", entry.name, complete_database_entry(entry.value, cluster, layout)));
  }
  line("");

  line("[users]");
  for (const auto& entry : merge_section(cluster, named_config, &model::PoolingConfig::users, false).entries) {
    if (auto problem = entry_over_budget(entry.value, false, budget)) line("; warning: " + *problem);
    line(fmt::format("{} = {}", entry.name, trim(entry.value)));
  }
  line("");

  line("[pgbouncer]");
  std::string group;
  for (const auto& setting : pgbouncer_settings(cluster, named_config, layout, budget)) {
    if (setting.source != group) {
      group = setting.source;
      line("; " + group);
    }
    // pgstack's own values are within the budget; only a user's can be above it.
    if (auto problem = over_budget(setting.name, setting.value, budget)) line("; warning: " + *problem);
    line(fmt::format("{} = {}", setting.name, trim(setting.value)));
  }
  return text;
}

}  // namespace pgstack::config
