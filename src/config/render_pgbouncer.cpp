#include "config/render_pgbouncer.h"

#include <algorithm>
#include <optional>

#include <fmt/format.h>

#include "common/strings.h"
#include "model/kinds.h"

namespace pgstack::config {
namespace {

constexpr std::string_view kOwned = "pgstack (not overridable)";
constexpr std::string_view kStackGres = "StackGres default";

std::string named_source(const model::PoolingConfig& config) { return fmt::format("SGPoolingConfig/{}", config.name); }
std::string inline_source(const model::Cluster& cluster) { return fmt::format("SGCluster/{}", cluster.name); }

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

std::string pgbouncer_auth_file_path(const InstanceLayout& layout) { return layout.config_dir + "/pgbouncer_auth.txt"; }

std::vector<TunedParameter> pgbouncer_settings(const model::Cluster& cluster, const model::PoolingConfig* named_config,
                                               const InstanceLayout& layout) {
  const std::string owned(kOwned);
  std::vector<TunedParameter> settings = {
      {"listen_addr", listen_addresses(layout), owned},
      {"listen_port", std::to_string(layout.pgbouncer_port), owned},
      {"unix_socket_dir", layout.socket_dir, owned},
      {"auth_type", "scram-sha-256", owned},
      {"auth_file", pgbouncer_auth_file_path(layout), owned},
      {"auth_user", cluster.credentials.authenticator_name, owned},
      {"auth_query", std::string(kPgbouncerAuthQuery), owned},
      {"logfile", layout.log_dir + "/pgbouncer.log", owned},
      {"pidfile", layout.socket_dir + "/pgbouncer.pid", owned},
  };
  std::vector<TunedParameter> defaults = {
      {"pool_mode", "session", std::string(kStackGres)},
      {"max_client_conn", "1000", std::string(kStackGres)},
      {"default_pool_size", "1000", std::string(kStackGres)},
      {"max_db_connections", "0", std::string(kStackGres)},
      {"max_user_connections", "0", std::string(kStackGres)},
      {"admin_users", "pgbouncer_admin", std::string(kStackGres)},
      {"stats_users", "pgbouncer_stats", std::string(kStackGres)},
      {"application_name_add_host", "1", std::string(kStackGres)},
      {"ignore_startup_parameters", "extra_float_digits", std::string(kStackGres)},
      {"server_check_query", ";", std::string(kStackGres)},
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

std::string render_pgbouncer_ini(const model::Cluster& cluster, const model::PoolingConfig* named_config,
                                 const InstanceLayout& layout) {
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
    line(fmt::format("{} = {}", entry.name, complete_database_entry(entry.value, cluster, layout)));
  }
  line("");

  line("[users]");
  for (const auto& entry : merge_section(cluster, named_config, &model::PoolingConfig::users, false).entries) {
    line(fmt::format("{} = {}", entry.name, trim(entry.value)));
  }
  line("");

  line("[pgbouncer]");
  std::string group;
  for (const auto& setting : pgbouncer_settings(cluster, named_config, layout)) {
    if (setting.source != group) {
      group = setting.source;
      line("; " + group);
    }
    line(fmt::format("{} = {}", setting.name, trim(setting.value)));
  }
  return text;
}

}  // namespace pgstack::config
