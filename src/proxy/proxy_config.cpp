#include "proxy/proxy_config.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <system_error>

#include <fmt/format.h>

#include "model/codec.h"
#include "model/schema.h"
#include "model/validator.h"
#include "patroni/dcs.h"

namespace pgstack::proxy {
namespace {

using model::Field;
using model::Json;

// A scalar kept as its text: a cluster named 2024 may be written without quotes.
Field text() { return Field::scalar_string(); }
Field required_text() {
  return text().required().checked(
      [](const Json& value) -> std::optional<std::string> {
        if (value.get<std::string>().empty()) return "must not be empty";
        return std::nullopt;
      },
      "a non-empty string");
}

Field host_port() {
  return Field::string().checked(
      [](const Json& value) -> std::optional<std::string> {
        auto parsed = parse_host_port(value.get<std::string>());
        if (parsed.ok()) return std::nullopt;
        return parsed.error().message;
      },
      "a string ADDRESS:PORT");
}

Field http_url() {
  return Field::string().checked(
      [](const Json& value) -> std::optional<std::string> {
        const auto& url = value.get<std::string>();
        if (url.rfind("http://", 0) == 0 || url.rfind("https://", 0) == 0) return std::nullopt;
        return fmt::format("\"{}\" is not an http:// or https:// URL", url);
      },
      "an http:// or https:// URL");
}

// `name` values in messages: "\"writer\" is not a role; expected read-write or read-only".
Field word_of(const std::string& what, const std::vector<std::string>& accepted, const std::string& expected) {
  return Field::string().checked(
      [what, accepted, expected](const Json& value) -> std::optional<std::string> {
        const auto& word = value.get<std::string>();
        if (std::find(accepted.begin(), accepted.end(), word) != accepted.end()) return std::nullopt;
        return fmt::format("\"{}\" is not a {}; expected {}", word, what, expected);
      },
      expected);
}

Field integer(std::int64_t minimum, std::int64_t maximum) {
  return Field::integer().at_least(minimum).at_most(maximum);
}
Field millis(std::int64_t minimum) { return integer(minimum, 86'400'000); }

Field pool_mode() { return word_of("pool mode", {"session", "transaction"}, "session or transaction"); }

PoolMode pool_mode_of(const Json& json) {
  return json.value("mode", "transaction") == "session" ? PoolMode::kSession : PoolMode::kTransaction;
}

// The file's format (docs/proxy.md); what the schema cannot say is checked in to_config.
const Field& proxy_config_schema() {
  static const Field listener = Field::object({
      {"name", required_text()},
      {"role", word_of("role", {"read-write", "rw", "read-only", "ro"}, "read-write or read-only")},
      {"listen", host_port().required()},
      {"target", word_of("target", {"postgres", "pgbouncer"}, "postgres or pgbouncer")},
      {"port_offset", integer(-65535, 65535)},
      {"mirror", Field::object({
                     {"conninfo", required_text()},
                     {"queue_size", integer(1, 10'000'000)},
                     {"max_connections", integer(1, 10'000)},
                 })},
      {"pooling", Field::object({
                      {"mode", pool_mode()},
                      {"pool_size", integer(1, 10'000)},
                      {"query_wait_timeout_ms", millis(1)},
                      {"server_idle_timeout_ms", millis(1000)},
                      {"server_lifetime_ms", millis(1000)},
                      {"auth_user", required_text()},
                      {"auth_password_file", required_text()},
                      {"databases", Field::map(Field::object({
                                        {"mode", pool_mode()},
                                        {"pool_size", integer(1, 10'000)},
                                        {"dbname", text()},
                                    }))},
                      {"users", Field::map(Field::object({{"mode", pool_mode()}}))},
                  })},
  });
  static const Field cluster = Field::object({
      {"name", required_text()},
      {"namespace", text()},
      {"dcs_prefix", text()},
      {"max_replica_lag_bytes", integer(0, 1LL << 50)},
      {"listeners", Field::array(listener).required()},
  });
  static const Field schema = Field::object({
      {"workers", integer(0, 256)},
      {"admin", Field::object({{"listen", host_port()}})},
      {"etcd", Field::object({{"endpoints", Field::array(http_url())}, {"prefix", text()}})},
      {"health", Field::object({
                     {"patroni_rest", Field::boolean()},
                     {"interval_ms", millis(50)},
                     {"timeout_ms", millis(50)},
                     {"fall", integer(1, 100)},
                 })},
      {"limits", Field::object({
                     {"max_client_connections", integer(1, 1'000'000)},
                     {"connect_timeout_ms", millis(1)},
                     {"handshake_timeout_ms", millis(1)},
                     {"idle_timeout_ms", millis(0)},
                 })},
      {"tls", Field::object({{"certificate", required_text()}, {"private_key", required_text()}})},
      {"client_tls", Field::object({{"ca_file", text()}, {"certificate", text()}, {"private_key", text()}})},
      {"stats", Field::object({{"top_queries", integer(0, 10'000)}, {"max_fingerprints", integer(1, 1'000'000)}})},
      {"clusters", Field::array(cluster).required()},
  });
  return schema;
}

// A section written with nothing after its colon is absent, as it always was.
void drop_empty_sections(Json& object, std::initializer_list<const char*> sections) {
  for (const char* section : sections) {
    if (object.contains(section) && object[section].is_null()) object.erase(section);
  }
}

// Copies `key` of `object` into `out` when it is there (the schema has checked its type and range).
template <typename T>
void copy(const Json& object, const char* key, T& out) {
  if (object.contains(key)) out = object[key].get<T>();
}
void copy_millis(const Json& object, const char* key, std::chrono::milliseconds& out) {
  if (object.contains(key)) out = std::chrono::milliseconds(object[key].get<std::int64_t>());
}
const Json& section(const Json& object, const char* key) {
  static const Json kEmpty = Json::object();
  return object.contains(key) ? object[key] : kEmpty;
}

ListenerConfig to_listener(const Json& json) {
  ListenerConfig out;
  out.name = json["name"].get<std::string>();
  const std::string role = json.value("role", "read-write");
  out.role = role == "read-write" || role == "rw" ? ListenerRole::kReadWrite : ListenerRole::kReadOnly;
  out.listen = parse_host_port(json["listen"].get<std::string>()).value();
  if (json.value("target", "postgres") == "pgbouncer") {
    out.target = TargetKind::kPgbouncer;
    out.port_offset = 1000;  // pgstack's port layout: pgbouncer 16432+k next to postgres 15432+k
  }
  copy(json, "port_offset", out.port_offset);
  if (json.contains("mirror")) {
    const Json& mirror = json["mirror"];
    MirrorConfig config;
    config.conninfo = mirror["conninfo"].get<std::string>();
    copy(mirror, "queue_size", config.queue_size);
    copy(mirror, "max_connections", config.max_connections);
    out.mirror = config;
  }
  if (json.contains("pooling")) {
    const Json& pooling = json["pooling"];
    PoolingConfig config;
    config.mode = pool_mode_of(pooling);
    copy(pooling, "pool_size", config.pool_size);
    const Json databases = pooling.value("databases", Json::object());
    const Json users = pooling.value("users", Json::object());
    for (const auto& [name, entry] : databases.items()) {
      PoolOverride database;
      if (entry.contains("mode")) database.mode = pool_mode_of(entry);
      if (entry.contains("pool_size")) database.pool_size = entry["pool_size"].get<int>();
      database.dbname = entry.value("dbname", "");
      config.databases[name] = database;
    }
    for (const auto& [name, entry] : users.items()) {
      PoolOverride user;
      if (entry.contains("mode")) user.mode = pool_mode_of(entry);
      config.users[name] = user;
    }
    copy_millis(pooling, "query_wait_timeout_ms", config.query_wait_timeout);
    copy_millis(pooling, "server_idle_timeout_ms", config.server_idle_timeout);
    copy_millis(pooling, "server_lifetime_ms", config.server_lifetime);
    config.auth_user = pooling["auth_user"].get<std::string>();
    config.auth_password_file = pooling["auth_password_file"].get<std::string>();
    out.pooling = config;
  }
  return out;
}

Result<ProxyConfig> to_config(const Json& json, std::string_view source) {
  auto error = [source](std::string_view path, std::string_view what) {
    return make_error(ErrorCode::kInvalidInput, fmt::format("{}: {}: {}", source, path, what));
  };
  ProxyConfig config;
  copy(json, "workers", config.workers);
  if (const Json& admin = section(json, "admin"); admin.contains("listen"))
    config.admin = parse_host_port(admin["listen"].get<std::string>()).value();
  const Json& etcd = section(json, "etcd");
  if (etcd.contains("endpoints")) {
    if (etcd["endpoints"].empty())
      return error("etcd.endpoints", "expected a non-empty list of URLs like https://127.0.0.1:2379");
    config.etcd_endpoints = etcd["endpoints"].get<std::vector<std::string>>();
  }
  copy(etcd, "prefix", config.etcd_prefix);
  const Json& health = section(json, "health");
  copy(health, "patroni_rest", config.health.patroni_rest);
  copy_millis(health, "interval_ms", config.health.interval);
  copy_millis(health, "timeout_ms", config.health.timeout);
  copy(health, "fall", config.health.fall);
  const Json& limits = section(json, "limits");
  copy(limits, "max_client_connections", config.limits.max_client_connections);
  copy_millis(limits, "connect_timeout_ms", config.limits.connect_timeout);
  copy_millis(limits, "handshake_timeout_ms", config.limits.handshake_timeout);
  copy_millis(limits, "idle_timeout_ms", config.limits.idle_timeout);
  if (json.contains("tls"))
    config.tls =
        TlsConfig{json["tls"]["certificate"].get<std::string>(), json["tls"]["private_key"].get<std::string>()};
  const Json& client_tls = section(json, "client_tls");
  copy(client_tls, "ca_file", config.client_tls.ca_file);
  copy(client_tls, "certificate", config.client_tls.certificate);
  copy(client_tls, "private_key", config.client_tls.private_key);
  if (config.client_tls.certificate.empty() != config.client_tls.private_key.empty())
    return error("client_tls.certificate", "certificate and private_key go together");
  const Json& stats = section(json, "stats");
  copy(stats, "top_queries", config.stats.top_queries);
  copy(stats, "max_fingerprints", config.stats.max_fingerprints);

  if (json["clusters"].empty()) return error("clusters", "expected a non-empty list of clusters");
  for (std::size_t i = 0; i < json["clusters"].size(); ++i) {
    const Json& item = json["clusters"][i];
    const std::string path = fmt::format("clusters[{}]", i);
    ClusterConfig cluster;
    cluster.name = item["name"].get<std::string>();
    copy(item, "namespace", cluster.namespace_name);
    copy(item, "dcs_prefix", cluster.dcs_prefix);
    copy(item, "max_replica_lag_bytes", cluster.max_replica_lag_bytes);
    if (item["listeners"].empty()) return error(path + ".listeners", "expected a non-empty list of listeners");
    for (std::size_t j = 0; j < item["listeners"].size(); ++j) {
      ListenerConfig listener = to_listener(item["listeners"][j]);
      // The pool logs in to Postgres itself: behind PgBouncer it would be a second pool, and PgBouncer
      // would have to trust it with every user's password.
      if (listener.pooling && listener.target != TargetKind::kPostgres) {
        return error(fmt::format("{}.listeners[{}].pooling", path, j),
                     "pooling needs target: postgres (the proxy's pool replaces PgBouncer)");
      }
      for (const auto& other : cluster.listeners) {
        if (other.name == listener.name) {
          return error(fmt::format("{}.listeners[{}].name", path, j),
                       fmt::format("\"{}\" is used twice in cluster {}", listener.name, cluster.name));
        }
      }
      cluster.listeners.push_back(std::move(listener));
    }
    if (cluster.dcs_prefix.empty()) {
      cluster.dcs_prefix = patroni::cluster_prefix(config.etcd_prefix, cluster.namespace_name, cluster.name);
    } else if (cluster.dcs_prefix.back() != '/') {
      cluster.dcs_prefix += '/';
    }
    config.clusters.push_back(std::move(cluster));
  }
  // Two listeners on one port would silently share connections between clusters.
  std::set<std::pair<std::string, int>> ports;
  for (const auto& cluster : config.clusters) {
    for (const auto& listener : cluster.listeners) {
      if (listener.listen.port != 0 && !ports.insert({listener.listen.host, listener.listen.port}).second) {
        return error("clusters", fmt::format("{}:{} is the listen address of two listeners", listener.listen.host,
                                             listener.listen.port));
      }
    }
  }
  return config;
}

}  // namespace

std::string_view listener_role_name(ListenerRole role) {
  return role == ListenerRole::kReadWrite ? "read-write" : "read-only";
}
std::string_view pool_mode_name(PoolMode mode) { return mode == PoolMode::kSession ? "session" : "transaction"; }
std::string_view target_kind_name(TargetKind kind) { return kind == TargetKind::kPostgres ? "postgres" : "pgbouncer"; }

Result<ProxyConfig> parse_proxy_config(std::string_view yaml, std::string_view source) {
  auto invalid = [source](std::string_view what) {
    return make_error(ErrorCode::kInvalidInput, fmt::format("{}: {}", source, what));
  };
  if (yaml.size() > kMaxProxyConfigBytes)
    return invalid(fmt::format("the configuration is {} bytes, over {} bytes", yaml.size(), kMaxProxyConfigBytes));
  // The manifest reader (libyaml, with its limits on nesting, aliases, duplicate keys and UTF-8).
  model::LoadResult loaded = model::load_documents(yaml, std::string(source));
  for (const auto& diagnostic : loaded.diagnostics.items()) {
    if (diagnostic.message.rfind("line ", 0) == 0) return invalid(diagnostic.message);
  }
  const auto& documents = loaded.documents;
  const bool all_mappings = std::all_of(documents.begin(), documents.end(),
                                        [](const model::Document& document) { return document.body.is_object(); });
  if (documents.empty() || !all_mappings) return invalid("expected a mapping at the top");
  for (const auto& diagnostic : loaded.diagnostics.items()) {
    if (diagnostic.severity == model::Severity::kError) return invalid(diagnostic.message);
  }
  if (documents.size() > 1) return invalid(fmt::format("expected one document, got {}", documents.size()));

  Json root = documents[0].body;
  drop_empty_sections(root, {"admin", "etcd", "health", "limits", "tls", "client_tls", "stats"});
  if (root.contains("clusters") && root["clusters"].is_array()) {
    for (auto& cluster : root["clusters"]) {
      if (!cluster.is_object() || !cluster.contains("listeners") || !cluster["listeners"].is_array()) continue;
      for (auto& listener : cluster["listeners"]) {
        if (listener.is_object()) drop_empty_sections(listener, {"mirror"});
      }
    }
  }
  model::Diagnostics findings;
  const Json checked = model::check_against_schema(proxy_config_schema(), root, std::string(source), findings);
  for (const auto& finding : findings.items()) {
    if (finding.severity == model::Severity::kError)
      return invalid(fmt::format("{}: {}", finding.path, finding.message));
  }
  return to_config(checked, source);
}

Result<ProxyConfig> load_proxy_config(const std::string& path) {
  std::error_code error;
  const auto status = std::filesystem::status(path, error);
  if (error || !std::filesystem::exists(status))
    return make_error(ErrorCode::kNotFound, fmt::format("{}: cannot open the configuration file: {}", path,
                                                        error ? error.message() : "no such file"));
  if (!std::filesystem::is_regular_file(status))
    return make_error(ErrorCode::kInvalidInput,
                      fmt::format("{}: cannot read the configuration file: it is not a regular file", path));
  std::ifstream file(path, std::ios::binary);
  if (!file) return make_error(ErrorCode::kNotFound, fmt::format("{}: cannot open the configuration file", path));
  std::string text(kMaxProxyConfigBytes + 1, '\0');
  file.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (file.bad())
    return make_error(ErrorCode::kInvalidInput, fmt::format("{}: cannot read the configuration file", path));
  text.resize(static_cast<std::size_t>(file.gcount()));
  return parse_proxy_config(text, path);
}

}  // namespace pgstack::proxy
