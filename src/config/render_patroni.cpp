#include "config/render_patroni.h"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "common/shell_quote.h"
#include "common/strings.h"
#include "patroni/dcs.h"

namespace pgstack::config {
namespace {

using model::Json;
using KeyPath = std::vector<std::string>;

// Replication mode is replication.mode's, standbys are replicateFrom's, and parameters go through
// postgresql.conf where the blocked list applies.
const std::vector<KeyPath>& ignored_dynamic_keys() {
  static const std::vector<KeyPath> keys = {{"synchronous_mode"},
                                            {"synchronous_mode_strict"},
                                            {"synchronous_node_count"},
                                            {"standby_cluster"},
                                            {"postgresql", "parameters"}};
  return keys;
}

// Identity, DCS, addresses, directories and users are the instance layout's; the DCS configuration
// is dynamicConfig's.
const std::vector<KeyPath>& ignored_initial_keys() {
  static const std::vector<KeyPath> keys = {{"scope"},
                                            {"namespace"},
                                            {"name"},
                                            {"etcd"},
                                            {"etcd3"},
                                            {"consul"},
                                            {"zookeeper"},
                                            {"kubernetes"},
                                            {"raft"},
                                            {"exhibitor"},
                                            {"bootstrap", "dcs"},
                                            {"restapi", "listen"},
                                            {"restapi", "connect_address"},
                                            {"restapi", "certfile"},
                                            {"restapi", "keyfile"},
                                            {"restapi", "cafile"},
                                            {"restapi", "authentication"},
                                            {"postgresql", "listen"},
                                            {"postgresql", "connect_address"},
                                            {"postgresql", "data_dir"},
                                            {"postgresql", "bin_dir"},
                                            {"postgresql", "config_dir"},
                                            {"postgresql", "custom_conf"},
                                            {"postgresql", "pgpass"},
                                            {"postgresql", "authentication"},
                                            {"postgresql", "parameters"},
                                            {"postgresql", "use_unix_socket"},
                                            {"log", "dir"},
                                            {"log", "file_size"},
                                            {"log", "file_num"}};
  return keys;
}

std::string join(const KeyPath& path, std::string_view prefix) {
  std::string text(prefix);
  for (const auto& key : path) text += "." + key;
  return text;
}

// The user's override without the ignored keys; each one removed is reported as prefix.key.path.
Json without_ignored(Json user, const std::vector<KeyPath>& ignored, std::string_view prefix,
                     std::vector<std::string>* removed) {
  if (!user.is_object()) return Json::object();
  for (const auto& path : ignored) {
    Json* parent = &user;
    for (std::size_t i = 0; i + 1 < path.size() && parent != nullptr; ++i) {
      parent = parent->is_object() && parent->contains(path[i]) ? &(*parent)[path[i]] : nullptr;
    }
    if (parent != nullptr && parent->is_object() && parent->contains(path.back())) {
      parent->erase(path.back());
      if (removed != nullptr) removed->push_back(join(path, prefix));
    }
  }
  return user;
}

// Patroni's own rule: maps merge key by key, anything else replaces, null deletes.
void merge_over(Json& base, const Json& override) {
  for (const auto& [key, value] : override.items()) {
    if (value.is_null()) {
      base.erase(key);
    } else if (value.is_object() && base.contains(key) && base[key].is_object()) {
      merge_over(base[key], value);
    } else {
      base[key] = value;
    }
  }
}

std::string host_port(const std::string& host, int port) {
  // IPv6 literals need brackets in host:port.
  if (host.find(':') != std::string::npos) return fmt::format("[{}]:{}", host, port);
  return fmt::format("{}:{}", host, port);
}

// Postgres listens on the host address and on loopback, for tools on the host that use TCP.
std::string postgres_listen(const InstanceLayout& layout) {
  if (layout.host_address == "127.0.0.1" || layout.host_address == "0.0.0.0" || layout.host_address == "*") {
    return host_port(layout.host_address, layout.postgres_port);
  }
  return fmt::format("127.0.0.1,{}", host_port(layout.host_address, layout.postgres_port));
}

// A role name in pg_hba / pg_ident: bare when it is a plain identifier, else double-quoted.
std::string hba_name(const std::string& name) {
  const bool plain = !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return std::islower(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)) || c == '_';
  });
  if (plain && name != "all" && name != "replication") return name;
  std::string quoted = "\"";
  for (const char c : name) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  return quoted + "\"";
}

constexpr std::string_view kIdentMap = "pgstack";

Json pg_hba(const model::Cluster& cluster) {
  const std::string superuser = hba_name(cluster.credentials.superuser_name);
  const std::string replication = hba_name(cluster.credentials.replication_name);
  auto line = [](std::string_view type, std::string_view database, std::string_view user, std::string_view address,
                 std::string_view method) {
    return trim(fmt::format("{:<7} {:<12} {:<16} {:<12} {}", type, database, user, address, method));
  };
  // With postgres.ssl.required only TLS connections match a TCP line. Without PgBouncer the proxy on
  // this host reaches Postgres over loopback in clear, so loopback stays open to it then.
  const std::string_view tcp = cluster.ssl_required ? "hostssl" : "host";
  Json lines = Json::array({
      line("local", "all", superuser, "", fmt::format("peer map={}", kIdentMap)),
      line("local", "all", "all", "", "scram-sha-256"),
      line(tcp, "replication", replication, "0.0.0.0/0", "scram-sha-256"),
      line(tcp, "replication", replication, "::/0", "scram-sha-256"),
  });
  if (cluster.ssl_required && cluster.disable_connection_pooling) {
    lines.push_back(line("host", "all", "all", "127.0.0.1/32", "scram-sha-256"));
    lines.push_back(line("host", "all", "all", "::1/128", "scram-sha-256"));
  }
  lines.push_back(line(tcp, "all", "all", "0.0.0.0/0", "scram-sha-256"));
  lines.push_back(line(tcp, "all", "all", "::/0", "scram-sha-256"));
  return lines;
}

Json synchronous_settings(const model::Cluster& cluster) {
  using model::ReplicationMode;
  const ReplicationMode mode = cluster.replication_mode;
  const bool synchronous = mode != ReplicationMode::kAsync;
  const bool strict = mode == ReplicationMode::kStrictSync || mode == ReplicationMode::kStrictSyncAll;
  const bool all = mode == ReplicationMode::kSyncAll || mode == ReplicationMode::kStrictSyncAll;
  Json settings = Json::object();
  settings["synchronous_mode"] = synchronous;
  settings["synchronous_mode_strict"] = strict;
  if (synchronous) {
    // Patroni's minimum is 1; more than the replicas there are cannot be met.
    const int replicas = std::max(1, cluster.instances - 1);
    settings["synchronous_node_count"] = all ? replicas : std::clamp(cluster.sync_instances, 1, replicas);
  }
  return settings;
}

// --- YAML -------------------------------------------------------------------------------------

// Plain only when every YAML 1.1 reader (Patroni uses PyYAML) reads it back as this string.
bool is_safe_plain(const std::string& text) {
  if (text.empty() || !(std::isalpha(static_cast<unsigned char>(text[0])) || text[0] == '/')) return false;
  const bool simple = std::all_of(text.begin(), text.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.' || c == '/';
  });
  static const std::vector<std::string> kReserved = {"y", "n", "yes", "no", "on", "off", "true", "false", "null"};
  return simple && std::find(kReserved.begin(), kReserved.end(), to_lower(text)) == kReserved.end();
}

void emit(YAML::Emitter& out, const Json& value) {
  if (value.is_object()) {
    out << YAML::BeginMap;
    for (const auto& [key, item] : value.items()) {
      out << YAML::Key;
      emit(out, Json(key));
      out << YAML::Value;
      emit(out, item);
    }
    out << YAML::EndMap;
  } else if (value.is_array()) {
    out << YAML::BeginSeq;
    for (const auto& item : value) emit(out, item);
    out << YAML::EndSeq;
  } else if (value.is_string()) {
    const std::string& text = value.get_ref<const std::string&>();
    if (is_safe_plain(text)) {
      out << text;
    } else {
      out << YAML::DoubleQuoted << text;
    }
  } else if (value.is_boolean()) {
    out << value.get<bool>();
  } else if (value.is_number_integer()) {
    out << value.get<std::int64_t>();
  } else if (value.is_number()) {
    out << value.get<double>();
  } else {
    out << YAML::Null;
  }
}

// yaml-cpp puts a comment after the previous value; these go on their own lines before a key.
struct KeyComment {
  KeyPath path;
  std::vector<std::string> lines;
};

std::string with_comments(const std::string& yaml, const std::vector<KeyComment>& comments) {
  std::string result;
  KeyPath path;
  for (const auto& line : split(yaml, '\n')) {
    const std::size_t indent = line.find_first_not_of(' ');
    const std::size_t colon = line.find(':');
    const bool is_key = indent != std::string::npos && line[indent] != '-' && line[indent] != '#' &&
                        colon != std::string::npos && line[indent] != '"';
    if (is_key) {
      path.resize(std::min(path.size(), indent / 2));
      path.push_back(line.substr(indent, colon - indent));
      for (const auto& comment : comments) {
        if (comment.path != path) continue;
        for (const auto& text : comment.lines) result += std::string(indent, ' ') + "# " + text + "\n";
      }
    }
    result += line + "\n";
  }
  return result;
}

// The timing in effect (dynamicConfig may change it) and whether it keeps Patroni's rule.
std::string timing_comment(const Json& dcs) {
  auto number = [&](const char* key) { return dcs.contains(key) && dcs[key].is_number() ? dcs[key].dump() : "?"; };
  std::string text = fmt::format("ttl {}, loop_wait {}, retry_timeout {}", number("ttl"), number("loop_wait"),
                                 number("retry_timeout"));
  const bool numbers = dcs.contains("ttl") && dcs["ttl"].is_number_integer() && dcs.contains("loop_wait") &&
                       dcs["loop_wait"].is_number_integer() && dcs.contains("retry_timeout") &&
                       dcs["retry_timeout"].is_number_integer();
  if (numbers && dcs["loop_wait"].get<int>() + 2 * dcs["retry_timeout"].get<int>() > dcs["ttl"].get<int>()) {
    return text + ": breaks Patroni's rule loop_wait + 2 x retry_timeout <= ttl (dynamicConfig).";
  }
  return text + ": see docs/tuning.md.";
}

}  // namespace

model::Json patroni_dynamic_config(const model::Cluster& cluster, const std::vector<TunedParameter>& parameters) {
  Json dcs = Json::object();
  dcs["ttl"] = kPatroniTiming.ttl;
  dcs["loop_wait"] = kPatroniTiming.loop_wait;
  dcs["retry_timeout"] = kPatroniTiming.retry_timeout;
  dcs["maximum_lag_on_failover"] = 1048576;  // Patroni's default: 1MB
  // The primary keeps running through an etcd outage while every member still answers it.
  dcs["failsafe_mode"] = true;
  merge_over(dcs, synchronous_settings(cluster));
  Json postgresql = Json::object();
  postgresql["use_pg_rewind"] = true;
  postgresql["use_slots"] = true;
  Json dcs_parameters = Json::object();
  for (const auto& parameter : parameters) {
    if (is_dcs_postgres_parameter(parameter.name)) dcs_parameters[parameter.name] = parameter.value;
  }
  postgresql["parameters"] = dcs_parameters;
  dcs["postgresql"] = postgresql;
  merge_over(dcs, without_ignored(cluster.patroni_dynamic_config, ignored_dynamic_keys(), "dynamicConfig", nullptr));
  return dcs;
}

model::Json patroni_config(const model::Cluster& cluster, const InstanceLayout& layout,
                           const std::vector<TunedParameter>& parameters) {
  Json config = Json::object();
  config["scope"] = cluster.name;
  config["namespace"] = patroni::dcs_namespace(layout.etcd_prefix, cluster.namespace_name);
  config["name"] = layout.member_name;

  const std::string api = host_port(layout.host_address, layout.patroni_port);
  // Over TLS with the instance's certificate; the unsafe endpoints need PATRONI_RESTAPI_USERNAME/PASSWORD
  // (from the environment). cafile: what Patroni verifies the other members' REST APIs with.
  const std::string tls_dir = layout.config_dir + "/tls";
  config["restapi"] = Json{{"listen", api},
                           {"connect_address", api},
                           {"certfile", tls_dir + "/server.crt"},
                           {"keyfile", tls_dir + "/server.key"},
                           {"cafile", tls_dir + "/ca.crt"}};
  // With several members given, use_proxies: Patroni keeps them in the given order (the agent puts the
  // host's own first) instead of the cluster's member list shuffled. With one (the first host of an
  // installation knows only its own member), Patroni learns the others from etcd's member list, so it
  // can still reach etcd when that member is down.
  config["etcd3"] = Json{{"hosts", layout.etcd_endpoints}};
  if (layout.etcd_endpoints.size() > 1) config["etcd3"]["use_proxies"] = true;
  if (layout.etcd_tls) {
    config["etcd3"]["protocol"] = "https";
    config["etcd3"]["cacert"] = tls_dir + "/ca.crt";
    config["etcd3"]["cert"] = tls_dir + "/server.crt";
    config["etcd3"]["key"] = tls_dir + "/server.key";
  }

  // Patroni writes <log_dir>/patroni.log and renames it to patroni.log.1, .2, ... at file_size: the
  // agent's log shipper reads renamed files to their end, and the log directory stays bounded.
  config["log"] = Json{{"dir", layout.log_dir}, {"file_size", kPatroniLogFileBytes}, {"file_num", kPatroniLogFiles}};

  Json bootstrap = Json::object();
  bootstrap["dcs"] = patroni_dynamic_config(cluster, parameters);
  // C.UTF-8 sorts by code point: no collation changes when glibc is upgraded, so indexes stay valid.
  bootstrap["initdb"] = Json::array({"data-checksums", Json{{"encoding", "UTF8"}}, Json{{"locale", "C.UTF-8"}}});
  config["bootstrap"] = bootstrap;

  Json postgresql = Json::object();
  postgresql["listen"] = postgres_listen(layout);
  postgresql["connect_address"] = host_port(layout.host_address, layout.postgres_port);
  postgresql["data_dir"] = layout.data_dir;
  postgresql["bin_dir"] = layout.bin_dir;
  postgresql["custom_conf"] = layout.config_dir + "/postgresql.conf";
  postgresql["pgpass"] = layout.config_dir + "/pgpass";
  postgresql["use_unix_socket"] = true;
  postgresql["authentication"] = Json{
      {"superuser", Json{{"username", cluster.credentials.superuser_name}}},
      {"replication", Json{{"username", cluster.credentials.replication_name}}},
      {"rewind", Json{{"username", std::string(kRewindUserName)}}},
  };
  if (cluster.ssl_enabled) {
    // Replication and pg_rewind reach the primary over TCP: over TLS, checked against the CA.
    for (const char* user : {"replication", "rewind"}) {
      postgresql["authentication"][user]["sslmode"] = "verify-ca";
      postgresql["authentication"][user]["sslrootcert"] = layout.config_dir + "/tls/ca.crt";
    }
  }
  // A new replica's base backup starts at once instead of waiting for a spread checkpoint (minutes).
  postgresql["basebackup"] = Json::array({Json{{"checkpoint", "fast"}}});
  postgresql["pg_hba"] = pg_hba(cluster);
  postgresql["pg_ident"] = Json::array(
      {fmt::format("{} {} {}", kIdentMap, hba_name(layout.os_user), hba_name(cluster.credentials.superuser_name))});
  Json owned = Json::object();
  for (const auto& parameter : owned_postgres_parameters(cluster, layout)) owned[parameter.name] = parameter.value;
  postgresql["parameters"] = owned;
  config["postgresql"] = postgresql;

  merge_over(config, without_ignored(cluster.patroni_initial_config, ignored_initial_keys(), "initialConfig", nullptr));
  if (!layout.restore_bootstrap_command.empty()) {
    // Patroni runs the command instead of initdb, starts Postgres, waits until recovery reaches its
    // target and promotes (pgBackRest wrote the recovery settings: keep them).
    config["bootstrap"]["method"] = "pgbackrest";
    config["bootstrap"]["pgbackrest"] =
        Json{{"command", layout.restore_bootstrap_command}, {"keep_existing_recovery_conf", true}, {"no_params", true}};
  }
  if (!layout.post_bootstrap_script.empty()) {
    // After the user's initialConfig: without this script PgBouncer cannot authenticate anyone.
    config["bootstrap"]["post_bootstrap"] = shell_quote(layout.post_bootstrap_script);
  }
  return config;
}

std::string render_patroni_yaml(const model::Cluster& cluster, const InstanceLayout& layout,
                                const std::vector<TunedParameter>& parameters) {
  const Json config = patroni_config(cluster, layout, parameters);
  YAML::Emitter out;
  out.SetIndent(2);
  emit(out, config);

  std::string header;
  for (const auto& line : {
           fmt::format("Patroni configuration of {} (SGCluster {}/{}), rendered by pgstack: do not edit.",
                       layout.member_name, cluster.namespace_name, cluster.name),
           std::string(
               "No secrets in this file: Patroni reads PATRONI_SUPERUSER_PASSWORD, PATRONI_REPLICATION_PASSWORD"),
           std::string("and PATRONI_REWIND_PASSWORD (and PATRONI_RESTAPI_USERNAME/PASSWORD) from its environment."),
           fmt::format("Tuned parameters are in {}/postgresql.conf (custom_conf).", layout.config_dir),
       }) {
    header += "# " + line + "\n";
  }
  const std::vector<KeyComment> comments = {
      {{"bootstrap", "dcs"},
       {"Written to the DCS once, when the cluster is initialized; later changes go through PATCH /config.",
        timing_comment(config["bootstrap"]["dcs"])}},
      {{"bootstrap", "post_bootstrap"},
       {"Run once on the first primary: creates the authenticator, the application user and database and",
        "pgstack.user_lookup for PgBouncer; passwords come from Patroni's environment, never from this file."}},
      {{"postgresql", "authentication"},
       {"Usernames only: the passwords come from PATRONI_*_PASSWORD in Patroni's environment."}},
      {{"postgresql", "pg_hba"},
       {"scram-sha-256 for every password login (hostssl: TLS only, postgres.ssl.required). On the Unix socket",
        "the OS user that runs Postgres (and Patroni) is the superuser through peer + pg_ident: it owns PGDATA,",
        "so this gives it nothing more."}},
      {{"postgresql", "parameters"},
       {"Owned by pgstack; Patroni adds listen_addresses, port, cluster_name, hot_standby, wal_log_hints."}},
  };
  return header + with_comments(out.c_str(), comments);
}

std::vector<std::string> ignored_patroni_overrides(const model::Cluster& cluster) {
  std::vector<std::string> ignored;
  (void)without_ignored(cluster.patroni_dynamic_config, ignored_dynamic_keys(), "dynamicConfig", &ignored);
  (void)without_ignored(cluster.patroni_initial_config, ignored_initial_keys(), "initialConfig", &ignored);
  return ignored;
}

}  // namespace pgstack::config
