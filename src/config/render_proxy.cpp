#include "config/render_proxy.h"

#include <algorithm>
#include <charconv>

#include <fmt/format.h>

#include "config/render_pgbouncer.h"
#include "model/document.h"

namespace pgstack::config {

std::string render_proxy_config(const ProxyLayout& layout) {
  using model::Json;
  const auto listener = [&](const char* name, const char* role, int port) {
    const bool relay_to_pgbouncer = layout.pooling && !layout.pool;
    Json out = {{"name", name},
                {"role", role},
                {"listen", fmt::format("{}:{}", layout.listen_address, port)},
                {"target", relay_to_pgbouncer ? "pgbouncer" : "postgres"}};
    if (relay_to_pgbouncer) out["port_offset"] = layout.pgbouncer_offset;
    if (const auto& pool = layout.pool) {
      out["pooling"] = {{"mode", pool->mode},
                        {"pool_size", pool->pool_size},
                        {"query_wait_timeout_ms", pool->query_wait_timeout_seconds * 1000LL},
                        {"server_idle_timeout_ms", pool->server_idle_timeout_seconds * 1000LL},
                        {"server_lifetime_ms", pool->server_lifetime_seconds * 1000LL},
                        {"auth_user", pool->auth_user},
                        {"auth_password_file", pool->auth_password_file}};
      const auto overrides = [](const std::map<std::string, ProxyPoolOverride>& entries) {
        Json out = Json::object();
        for (const auto& [name, entry] : entries) {
          Json item = Json::object();
          if (!entry.mode.empty()) item["mode"] = entry.mode;
          if (entry.pool_size > 0) item["pool_size"] = entry.pool_size;
          if (!entry.dbname.empty()) item["dbname"] = entry.dbname;
          out[name] = std::move(item);
        }
        return out;
      };
      if (!pool->databases.empty()) out["pooling"]["databases"] = overrides(pool->databases);
      if (!pool->users.empty()) out["pooling"]["users"] = overrides(pool->users);
    }
    return out;
  };
  Json config = {
      // Two workers at most: the proxy shares the host with the cluster's own processes.
      {"workers", 2},
      // Statistics name databases, users and query shapes: loopback only, whatever the host's address.
      {"admin", {{"listen", fmt::format("127.0.0.1:{}", layout.admin_port)}}},
      {"etcd", {{"endpoints", layout.etcd_endpoints}, {"prefix", layout.etcd_prefix}}},
      {"health", {{"patroni_rest", true}, {"interval_ms", 1000}, {"timeout_ms", 1000}, {"fall", 2}}},
      {"clusters", Json::array({{{"name", layout.cluster},
                                 {"namespace", layout.namespace_name},
                                 {"listeners", Json::array({listener("rw", "read-write", layout.read_write_port),
                                                            listener("ro", "read-only", layout.read_only_port)})}}})}};
  if (!layout.ca_file.empty()) {
    model::Json client_tls = {{"ca_file", layout.ca_file}};
    if (!layout.client_certificate.empty())
      client_tls.update({{"certificate", layout.client_certificate}, {"private_key", layout.client_private_key}});
    config["client_tls"] = client_tls;
  }
  if (layout.pool && layout.pool->max_client_connections)
    config["limits"]["max_client_connections"] = *layout.pool->max_client_connections;
  if (layout.pool && layout.pool->client_idle_timeout_seconds)
    config["limits"]["idle_timeout_ms"] = *layout.pool->client_idle_timeout_seconds * 1000LL;
  if (layout.tls_certificate && layout.tls_private_key)
    config["tls"] = {{"certificate", *layout.tls_certificate}, {"private_key", *layout.tls_private_key}};
  return fmt::format("# pgstack-proxy for cluster {}/{}, written by pgstack-agent: edits are overwritten.\n{}\n",
                     layout.namespace_name, layout.cluster, config.dump(2));
}

void apply_pooling_settings(const std::vector<std::pair<std::string, std::string>>& settings, ProxyPool& pool,
                            std::vector<std::string>& ignored) {
  const auto number = [](const std::string& value, int maximum) -> std::optional<int> {
    int parsed = 0;
    const auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), parsed);
    if (error != std::errc() || end != value.data() + value.size() || parsed < 0 || parsed > maximum)
      return std::nullopt;
    return parsed;
  };
  const auto seconds = [&](const std::string& value) { return number(value, 86'400); };
  for (const auto& [name, value] : settings) {
    if (name == "pool_mode") {
      if (value == "session" || value == "transaction")
        pool.mode = value;
      else
        ignored.push_back(fmt::format("pool_mode={} (the proxy pools by session or transaction)", value));
    } else if (name == "default_pool_size") {
      if (const auto size = seconds(value); size && *size >= 1 && *size <= 10'000)
        pool.pool_size = *size;
      else
        ignored.push_back(fmt::format("default_pool_size={} (expected 1 to 10000)", value));
    } else if (name == "query_wait_timeout" || name == "server_idle_timeout" || name == "server_lifetime") {
      const auto parsed = seconds(value);
      // 0 means "never" in PgBouncer; the proxy's limits are finite: a day.
      const int limited = parsed && *parsed == 0 ? 86'400 : parsed.value_or(-1);
      if (limited < 1) {
        ignored.push_back(fmt::format("{}={} (expected seconds)", name, value));
        continue;
      }
      int& field = name == "query_wait_timeout"    ? pool.query_wait_timeout_seconds
                   : name == "server_idle_timeout" ? pool.server_idle_timeout_seconds
                                                   : pool.server_lifetime_seconds;
      // The proxy checks idle connections every second and refuses idle or lifetime limits under one.
      field = limited;
    } else if (name == "max_client_conn") {
      if (const auto parsed = number(value, 1'000'000); parsed && *parsed >= 1)
        pool.max_client_connections = *parsed;
      else
        ignored.push_back(fmt::format("max_client_conn={} (expected 1 to 1000000)", value));
    } else if (name == "client_idle_timeout") {
      if (const auto parsed = seconds(value))
        pool.client_idle_timeout_seconds = *parsed;
      else
        ignored.push_back(fmt::format("client_idle_timeout={} (expected seconds)", value));
    }
  }
}

void apply_pooling_entries(const std::vector<std::pair<std::string, std::string>>& databases,
                           const std::vector<std::pair<std::string, std::string>>& users, ProxyPool& pool,
                           std::vector<std::string>& ignored) {
  const auto mode_of = [&](const std::string& where, const std::string& value) -> std::string {
    if (value == "session" || value == "transaction") return value;
    ignored.push_back(fmt::format("{} pool_mode={} (the proxy pools by session or transaction)", where, value));
    return "";
  };
  for (const auto& [name, entry] : databases) {
    const std::string where = "[databases] " + name;
    const auto options = pgbouncer_entry_options(entry);
    const bool elsewhere = std::any_of(options.begin(), options.end(), [](const auto& option) {
      return option.first == "host" || option.first == "port";
    });
    if (elsewhere) {
      ignored.push_back(where + " (another server: the proxy pools to the cluster's members only)");
      continue;
    }
    ProxyPoolOverride database;
    for (const auto& [key, value] : options) {
      if (key == "pool_mode") {
        database.mode = mode_of(where, value);
      } else if (key == "pool_size") {
        int size = 0;
        const auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), size);
        if (error == std::errc() && end == value.data() + value.size() && size >= 1 && size <= 10'000)
          database.pool_size = size;
        else
          ignored.push_back(fmt::format("{} pool_size={} (expected 1 to 10000)", where, value));
      } else if (key == "dbname") {
        database.dbname = value;
      } else {
        ignored.push_back(fmt::format("{} {} (not used by the proxy's pool)", where, key));
      }
    }
    if (database != ProxyPoolOverride{}) pool.databases[name] = database;
  }
  for (const auto& [name, entry] : users) {
    const std::string where = "[users] " + name;
    ProxyPoolOverride user;
    for (const auto& [key, value] : pgbouncer_entry_options(entry)) {
      if (key == "pool_mode")
        user.mode = mode_of(where, value);
      else
        ignored.push_back(fmt::format("{} {} (not used by the proxy's pool)", where, key));
    }
    if (!user.mode.empty()) pool.users[name] = user;
  }
}

}  // namespace pgstack::config
