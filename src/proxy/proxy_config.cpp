#include "proxy/proxy_config.h"

#include <filesystem>
#include <fstream>
#include <set>
#include <system_error>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "model/codec.h"
#include "patroni/dcs.h"

namespace pgstack::proxy {
namespace {

// Walks one YAML mapping, remembering the field path for messages and refusing unknown keys.
class Fields {
 public:
  Fields(const YAML::Node& node, std::string path, std::string_view source)
      : node_(node), path_(std::move(path)), source_(source) {}

  std::string where(std::string_view key) const {
    return fmt::format("{}: {}{}{}", source_, path_, path_.empty() ? "" : ".", key);
  }
  Error error(std::string_view key, std::string_view what) const {
    return make_error(ErrorCode::kInvalidInput, fmt::format("{}: {}", where(key), what));
  }
  YAML::Node get(std::string_view key) {
    seen_.insert(std::string(key));
    return node_[std::string(key)];
  }
  std::optional<Error> check_unknown(const std::vector<std::string>& allowed) const {
    for (const auto& entry : node_) {
      const auto key = entry.first.as<std::string>();
      if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
        std::string list;
        for (const auto& name : allowed) list += (list.empty() ? "" : ", ") + name;
        return error(key, fmt::format("unknown field; expected one of: {}", list));
      }
    }
    return std::nullopt;
  }

  std::optional<Error> read_string(std::string_view key, std::string& out, bool required = false) {
    const auto value = get(key);
    if (!value) return required ? std::optional(error(key, "is required")) : std::nullopt;
    if (!value.IsScalar()) return error(key, "expected a string");
    out = value.as<std::string>();
    if (required && out.empty()) return error(key, "must not be empty");
    return std::nullopt;
  }
  template <typename T>
  std::optional<Error> read_number(std::string_view key, T& out, long long min, long long max) {
    const auto value = get(key);
    if (!value) return std::nullopt;
    long long number = 0;
    try {
      if (!value.IsScalar()) throw YAML::Exception({}, "");
      number = value.as<long long>();
    } catch (const YAML::Exception&) {
      return error(key, fmt::format("expected an integer from {} to {}", min, max));
    }
    if (number < min || number > max) {
      return error(key, fmt::format("{} is out of range; expected {} to {}", number, min, max));
    }
    out = static_cast<T>(number);
    return std::nullopt;
  }
  std::optional<Error> read_millis(std::string_view key, std::chrono::milliseconds& out, long long min) {
    long long value = out.count();
    if (auto failed = read_number(key, value, min, 86'400'000)) return failed;
    out = std::chrono::milliseconds(value);
    return std::nullopt;
  }
  std::optional<Error> read_bool(std::string_view key, bool& out) {
    const auto value = get(key);
    if (!value) return std::nullopt;
    try {
      out = value.as<bool>();
    } catch (const YAML::Exception&) {
      return error(key, "expected true or false");
    }
    return std::nullopt;
  }
  std::optional<Error> read_host_port(std::string_view key, HostPort& out, bool required) {
    std::string text;
    if (auto failed = read_string(key, text, required)) return failed;
    if (text.empty()) return std::nullopt;
    auto parsed = parse_host_port(text);
    if (!parsed) return error(key, parsed.error().message);
    out = parsed.value();
    return std::nullopt;
  }
  // A sub-mapping: absent is fine (nullopt node), a non-map is an error.
  Result<std::optional<YAML::Node>> mapping(std::string_view key) {
    const auto value = get(key);
    if (!value || value.IsNull()) return std::optional<YAML::Node>();
    if (!value.IsMap()) return error(key, "expected a mapping");
    return std::optional<YAML::Node>(value);
  }
  std::string child(std::string_view key) const {
    return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
  }
  std::string_view source() const { return source_; }

 private:
  YAML::Node node_;
  std::string path_;
  std::string_view source_;
  std::set<std::string> seen_;
};

#define PGSTACK_TRY(expr)                       \
  do {                                          \
    if (auto failed_ = (expr)) return *failed_; \
  } while (0)

std::optional<Error> parse_listener(const YAML::Node& node, const std::string& path, std::string_view source,
                                    ListenerConfig& out) {
  if (!node.IsMap())
    return make_error(ErrorCode::kInvalidInput, fmt::format("{}: {}: expected a mapping", source, path));
  Fields fields(node, path, source);
  PGSTACK_TRY(fields.check_unknown({"name", "role", "listen", "target", "port_offset", "mirror"}));
  PGSTACK_TRY(fields.read_string("name", out.name, true));
  std::string role = "read-write";
  PGSTACK_TRY(fields.read_string("role", role));
  if (role == "read-write" || role == "rw") {
    out.role = ListenerRole::kReadWrite;
  } else if (role == "read-only" || role == "ro") {
    out.role = ListenerRole::kReadOnly;
  } else {
    return fields.error("role", fmt::format("\"{}\" is not a role; expected read-write or read-only", role));
  }
  PGSTACK_TRY(fields.read_host_port("listen", out.listen, true));
  std::string target = "postgres";
  PGSTACK_TRY(fields.read_string("target", target));
  if (target == "postgres") {
    out.target = TargetKind::kPostgres;
    out.port_offset = 0;
  } else if (target == "pgbouncer") {
    out.target = TargetKind::kPgbouncer;
    out.port_offset = 1000;  // pgstack's port layout: pgbouncer 16432+k next to postgres 15432+k
  } else {
    return fields.error("target", fmt::format("\"{}\" is not a target; expected postgres or pgbouncer", target));
  }
  PGSTACK_TRY(fields.read_number("port_offset", out.port_offset, -65535, 65535));
  auto mirror = fields.mapping("mirror");
  if (!mirror) return mirror.error();
  if (mirror.value()) {
    Fields mirror_fields(*mirror.value(), fields.child("mirror"), source);
    PGSTACK_TRY(mirror_fields.check_unknown({"conninfo", "queue_size", "max_connections"}));
    MirrorConfig config;
    PGSTACK_TRY(mirror_fields.read_string("conninfo", config.conninfo, true));
    PGSTACK_TRY(mirror_fields.read_number("queue_size", config.queue_size, 1, 10'000'000));
    PGSTACK_TRY(mirror_fields.read_number("max_connections", config.max_connections, 1, 10'000));
    out.mirror = config;
  }
  return std::nullopt;
}

std::optional<Error> parse_cluster(const YAML::Node& node, const std::string& path, std::string_view source,
                                   ClusterConfig& out) {
  if (!node.IsMap())
    return make_error(ErrorCode::kInvalidInput, fmt::format("{}: {}: expected a mapping", source, path));
  Fields fields(node, path, source);
  PGSTACK_TRY(fields.check_unknown({"name", "namespace", "dcs_prefix", "max_replica_lag_bytes", "listeners"}));
  PGSTACK_TRY(fields.read_string("name", out.name, true));
  PGSTACK_TRY(fields.read_string("namespace", out.namespace_name));
  PGSTACK_TRY(fields.read_string("dcs_prefix", out.dcs_prefix));
  PGSTACK_TRY(fields.read_number("max_replica_lag_bytes", out.max_replica_lag_bytes, 0, (1LL << 50)));
  const auto listeners = fields.get("listeners");
  if (!listeners || !listeners.IsSequence() || listeners.size() == 0) {
    return fields.error("listeners", "expected a non-empty list of listeners");
  }
  for (std::size_t i = 0; i < listeners.size(); ++i) {
    ListenerConfig listener;
    PGSTACK_TRY(parse_listener(listeners[i], fmt::format("{}[{}]", fields.child("listeners"), i), source, listener));
    for (const auto& other : out.listeners) {
      if (other.name == listener.name) {
        return make_error(ErrorCode::kInvalidInput,
                          fmt::format("{}: {}[{}].name: \"{}\" is used twice in cluster {}", source,
                                      fields.child("listeners"), i, listener.name, out.name));
      }
    }
    out.listeners.push_back(std::move(listener));
  }
  return std::nullopt;
}

std::optional<Error> parse_root(const YAML::Node& root, std::string_view source, ProxyConfig& config) {
  if (!root.IsMap())
    return make_error(ErrorCode::kInvalidInput, fmt::format("{}: expected a mapping at the top", source));
  Fields fields(root, "", source);
  PGSTACK_TRY(
      fields.check_unknown({"workers", "admin", "etcd", "health", "limits", "tls", "client_tls", "stats", "clusters"}));
  PGSTACK_TRY(fields.read_number("workers", config.workers, 0, 256));

  auto admin = fields.mapping("admin");
  if (!admin) return admin.error();
  if (admin.value()) {
    Fields sub(*admin.value(), "admin", source);
    PGSTACK_TRY(sub.check_unknown({"listen"}));
    PGSTACK_TRY(sub.read_host_port("listen", config.admin, false));
  }

  auto etcd = fields.mapping("etcd");
  if (!etcd) return etcd.error();
  if (etcd.value()) {
    Fields sub(*etcd.value(), "etcd", source);
    PGSTACK_TRY(sub.check_unknown({"endpoints", "prefix"}));
    const auto endpoints = sub.get("endpoints");
    if (endpoints) {
      if (!endpoints.IsSequence() || endpoints.size() == 0) {
        return sub.error("endpoints", "expected a non-empty list of URLs like https://127.0.0.1:2379");
      }
      config.etcd_endpoints.clear();
      for (const auto& endpoint : endpoints) {
        const auto url = endpoint.as<std::string>("");
        if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0) {
          return sub.error("endpoints", fmt::format("\"{}\" is not an http:// or https:// URL", url));
        }
        config.etcd_endpoints.push_back(url);
      }
    }
    PGSTACK_TRY(sub.read_string("prefix", config.etcd_prefix));
  }

  auto health = fields.mapping("health");
  if (!health) return health.error();
  if (health.value()) {
    Fields sub(*health.value(), "health", source);
    PGSTACK_TRY(sub.check_unknown({"patroni_rest", "interval_ms", "timeout_ms", "fall"}));
    PGSTACK_TRY(sub.read_bool("patroni_rest", config.health.patroni_rest));
    PGSTACK_TRY(sub.read_millis("interval_ms", config.health.interval, 50));
    PGSTACK_TRY(sub.read_millis("timeout_ms", config.health.timeout, 50));
    PGSTACK_TRY(sub.read_number("fall", config.health.fall, 1, 100));
  }

  auto limits = fields.mapping("limits");
  if (!limits) return limits.error();
  if (limits.value()) {
    Fields sub(*limits.value(), "limits", source);
    PGSTACK_TRY(
        sub.check_unknown({"max_client_connections", "connect_timeout_ms", "handshake_timeout_ms", "idle_timeout_ms"}));
    PGSTACK_TRY(sub.read_number("max_client_connections", config.limits.max_client_connections, 1, 1'000'000));
    PGSTACK_TRY(sub.read_millis("connect_timeout_ms", config.limits.connect_timeout, 1));
    PGSTACK_TRY(sub.read_millis("handshake_timeout_ms", config.limits.handshake_timeout, 1));
    PGSTACK_TRY(sub.read_millis("idle_timeout_ms", config.limits.idle_timeout, 0));
  }

  auto tls = fields.mapping("tls");
  if (!tls) return tls.error();
  if (tls.value()) {
    Fields sub(*tls.value(), "tls", source);
    PGSTACK_TRY(sub.check_unknown({"certificate", "private_key"}));
    TlsConfig tls_config;
    PGSTACK_TRY(sub.read_string("certificate", tls_config.certificate, true));
    PGSTACK_TRY(sub.read_string("private_key", tls_config.private_key, true));
    config.tls = tls_config;
  }

  auto client_tls = fields.mapping("client_tls");
  if (!client_tls) return client_tls.error();
  if (client_tls.value()) {
    Fields sub(*client_tls.value(), "client_tls", source);
    PGSTACK_TRY(sub.check_unknown({"ca_file", "certificate", "private_key"}));
    PGSTACK_TRY(sub.read_string("ca_file", config.client_tls.ca_file));
    PGSTACK_TRY(sub.read_string("certificate", config.client_tls.certificate));
    PGSTACK_TRY(sub.read_string("private_key", config.client_tls.private_key));
    if (config.client_tls.certificate.empty() != config.client_tls.private_key.empty())
      return sub.error("certificate", "certificate and private_key go together");
  }

  auto stats = fields.mapping("stats");
  if (!stats) return stats.error();
  if (stats.value()) {
    Fields sub(*stats.value(), "stats", source);
    PGSTACK_TRY(sub.check_unknown({"top_queries", "max_fingerprints"}));
    PGSTACK_TRY(sub.read_number("top_queries", config.stats.top_queries, 0, 10'000));
    PGSTACK_TRY(sub.read_number("max_fingerprints", config.stats.max_fingerprints, 1, 1'000'000));
  }

  const auto clusters = fields.get("clusters");
  if (!clusters || !clusters.IsSequence() || clusters.size() == 0) {
    return fields.error("clusters", "expected a non-empty list of clusters");
  }
  for (std::size_t i = 0; i < clusters.size(); ++i) {
    ClusterConfig cluster;
    PGSTACK_TRY(parse_cluster(clusters[i], fmt::format("clusters[{}]", i), source, cluster));
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
        return make_error(ErrorCode::kInvalidInput,
                          fmt::format("{}: clusters: {}:{} is the listen address of two listeners", source,
                                      listener.listen.host, listener.listen.port));
      }
    }
  }
  return std::nullopt;
}

#undef PGSTACK_TRY

}  // namespace

std::string_view listener_role_name(ListenerRole role) {
  return role == ListenerRole::kReadWrite ? "read-write" : "read-only";
}
std::string_view target_kind_name(TargetKind kind) { return kind == TargetKind::kPostgres ? "postgres" : "pgbouncer"; }

Result<HostPort> parse_host_port(std::string_view text) {
  HostPort out;
  std::string_view port_text;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return make_error(ErrorCode::kInvalidInput, fmt::format("\"{}\": expected [ADDRESS]:PORT", text));
    }
    out.host = std::string(text.substr(1, close - 1));
    port_text = text.substr(close + 2);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos || colon == 0) {
      return make_error(ErrorCode::kInvalidInput, fmt::format("\"{}\": expected ADDRESS:PORT", text));
    }
    out.host = std::string(text.substr(0, colon));
    port_text = text.substr(colon + 1);
  }
  int port = 0;
  if (port_text.empty() || port_text.size() > 5) port = -1;
  for (const char c : port_text) {
    if (c < '0' || c > '9') port = -1;
    if (port >= 0) port = port * 10 + (c - '0');
  }
  if (port < 0 || port > 65535) {
    return make_error(ErrorCode::kInvalidInput, fmt::format("\"{}\": the port must be a number from 0 to 65535", text));
  }
  out.port = static_cast<std::uint16_t>(port);
  return out;
}

Result<ProxyConfig> parse_proxy_config(std::string_view yaml, std::string_view source) {
  if (yaml.size() > kMaxProxyConfigBytes)
    return make_error(ErrorCode::kInvalidInput, fmt::format("{}: the configuration is {} bytes, over {} bytes", source,
                                                            yaml.size(), kMaxProxyConfigBytes));
  // libyaml first, with the manifest reader's limits (nesting, aliases, duplicate keys, UTF-8): its
  // messages say where, and yaml-cpp then only reads text that is known to be sound.
  const model::LoadResult checked = model::load_documents(yaml, std::string(source));
  for (const auto& diagnostic : checked.diagnostics.items()) {
    if (diagnostic.message.rfind("line ", 0) == 0)
      return make_error(ErrorCode::kInvalidInput, fmt::format("{}: {}", source, diagnostic.message));
  }
  ProxyConfig config;
  try {
    const std::vector<YAML::Node> documents = YAML::LoadAll(std::string(yaml));
    if (documents.size() > 1)
      return make_error(ErrorCode::kInvalidInput,
                        fmt::format("{}: expected one document, got {}", source, documents.size()));
    if (auto failed = parse_root(documents.empty() ? YAML::Node() : documents[0], source, config)) return *failed;
  } catch (const YAML::Exception& error) {
    return make_error(ErrorCode::kInvalidInput, fmt::format("{}: line {}: {}", source, error.mark.line + 1, error.msg));
  }
  return config;
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
