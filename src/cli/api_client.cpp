#include "cli/api_client.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>

#include <fmt/format.h>

#include "cli/api_context.h"
#include "common/http_client.h"
#include "common/strings.h"

namespace pgstack::cli {

namespace {

using model::Json;

constexpr std::string_view kApiVersion = "v1";  // the controller accepts v1 and v1beta1 for every kind
constexpr auto kDefaultTimeout = std::chrono::seconds(15);
// The controller answers a switchover only once Patroni reports the new leader.
constexpr auto kSwitchoverTimeout = std::chrono::seconds(120);

const Json* member_of(const Json& object, std::string_view key) {
  if (!object.is_object()) return nullptr;
  const auto found = object.find(std::string(key));
  return found == object.end() ? nullptr : &*found;
}

std::string string_member(const Json& object, std::initializer_list<std::string_view> keys) {
  for (const auto key : keys) {
    const Json* value = member_of(object, key);
    if (value != nullptr && value->is_string()) return value->get<std::string>();
  }
  return {};
}

std::vector<std::string> string_list(const Json* value) {
  std::vector<std::string> out;
  if (value == nullptr || !value->is_array()) return out;
  for (const auto& item : *value)
    if (item.is_string() && !item.get<std::string>().empty()) out.push_back(item.get<std::string>());
  return out;
}

// "::1:5432" -> "[::1]:5432": a URI needs brackets around an IPv6 host.
std::string uri_host_port(const std::string& endpoint) {
  if (endpoint.starts_with('[') || std::count(endpoint.begin(), endpoint.end(), ':') <= 1) return endpoint;
  const auto colon = endpoint.rfind(':');
  return fmt::format("[{}]:{}", endpoint.substr(0, colon), endpoint.substr(colon + 1));
}

bool is_connection_failure(const Error& error) {
  return error.code == ErrorCode::kUnavailable && (error.message.find("while connecting") != std::string::npos ||
                                                   error.message.find("while resolving") != std::string::npos);
}

}  // namespace

void add_api_option(CLI::App& app) {
  app.add_option("--api", "URL of the pgstack API (env PGSTACK_API; default https://127.0.0.1:8080)")->type_name("URL");
}

std::string api_url_for(const CLI::App& command) {
  const CLI::App* root = &command;
  while (root->get_parent() != nullptr) root = root->get_parent();
  std::string url;
  try {
    const CLI::Option* option = root->get_option("--api");
    if (option->count() > 0) url = option->as<std::string>();
  } catch (const CLI::OptionNotFound&) {
  }
  if (url.empty()) {
    const char* from_environment = std::getenv("PGSTACK_API");
    if (from_environment != nullptr) url = from_environment;
  }
  if (url.empty()) {
    // The current context of `pgstack login`, before the default.
    if (auto config = load_cli_config(cli_config_path()); config.ok()) {
      for (const auto& context : config->contexts) {
        if (context.name == config->current_context) url = context.api;
      }
    }
  }
  if (url.empty()) url = kDefaultApiUrl;
  while (url.size() > 1 && url.back() == '/') url.pop_back();
  return url;
}

Result<const model::KindInfo*> resolve_kind(std::string_view name) {
  if (const model::KindInfo* kind = model::find_kind(name)) return kind;
  std::vector<std::string> candidates;
  std::vector<std::string> plurals;
  for (const auto& kind : model::all_kinds()) {
    candidates.push_back(to_lower(kind.kind));
    candidates.push_back(kind.plural);
    for (const auto& short_name : kind.short_names) candidates.push_back(short_name);
    plurals.push_back(kind.plural);
  }
  std::string message = fmt::format("unknown resource type \"{}\"", name);
  if (const auto suggestion = closest_match(to_lower(name), candidates))
    message += fmt::format(": did you mean \"{}\"?", *suggestion);
  message += fmt::format(" (known: {})", fmt::join(plurals, ", "));
  return make_error(ErrorCode::kInvalidInput, message);
}

std::string singular_name(const model::KindInfo& kind) { return to_lower(kind.kind); }

std::string qualified_name(const model::KindInfo& kind, std::string_view name) {
  return fmt::format("{}.{}/{}", singular_name(kind), model::kApiGroup, name);
}

std::string resource_path(const model::KindInfo& kind, std::string_view namespace_name, std::string_view name,
                          std::string_view subresource) {
  std::string path = fmt::format("/apis/{}/{}/namespaces/{}/{}", model::kApiGroup, kApiVersion,
                                 namespace_name.empty() ? "_all" : percent_encode(namespace_name), kind.plural);
  if (!name.empty()) path += "/" + percent_encode(name);
  if (!subresource.empty()) path += fmt::format("/{}", subresource);
  return path;
}

ErrorCode error_code_for_status(int http_status) {
  switch (http_status) {
    case 400:
    case 422: return ErrorCode::kInvalidInput;
    case 401: return ErrorCode::kUnauthenticated;
    case 403: return ErrorCode::kPermissionDenied;
    case 404: return ErrorCode::kNotFound;
    case 409: return ErrorCode::kConflict;
    case 412: return ErrorCode::kFailedPrecondition;
    case 502:
    case 503:
    case 504: return ErrorCode::kUnavailable;
    default: return http_status >= 400 && http_status < 500 ? ErrorCode::kInvalidInput : ErrorCode::kInternal;
  }
}

Error error_from_response(int http_status, std::string_view body) {
  const ErrorCode code = error_code_for_status(http_status);
  const Json problem = Json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!problem.is_object()) {
    const std::string text = trim(body);
    return make_error(code, text.empty() ? fmt::format("the API answered HTTP {}", http_status)
                                         : fmt::format("the API answered HTTP {}: {}", http_status, text));
  }
  std::string message = string_member(problem, {"detail"});
  const std::string title = string_member(problem, {"title"});
  if (message.empty()) message = title;
  // A title that is only a code name ("NotFound") adds nothing; "Invalid SGCluster" does.
  else if (title.find(' ') != std::string::npos && message.find(title) == std::string::npos)
    message = title + ": " + message;
  if (message.empty()) message = fmt::format("the API answered HTTP {}", http_status);
  if (const Json* errors = member_of(problem, "errors"); errors != nullptr && errors->is_array()) {
    for (const auto& item : *errors) {
      std::string line = string_member(item, {"text"});
      if (line.empty()) {
        const std::string path = string_member(item, {"path"});
        const std::string text = string_member(item, {"message"});
        line = path.empty() ? text : fmt::format("{}: {}", path, text);
      }
      if (!line.empty()) message += "\n  " + line;
    }
  }
  return make_error(code, message);
}

Error unreachable_error(std::string_view api_url, const Error& cause) {
  return make_error(ErrorCode::kUnavailable,
                    fmt::format("cannot reach the pgstack API at {}: is the controller running? (pgstack up starts "
                                "it)\n  cause: {}",
                                api_url, cause.message));
}

Result<ApplicationCredentials> application_credentials_from(const Json& credentials) {
  // Accepted shapes: {"application": {...}}, {"users": {"application": {...}}} and a list of entries
  // (top level or under "users") that name their purpose.
  const Json* entry = member_of(credentials, "application");
  const Json* users = member_of(credentials, "users");
  if (entry == nullptr && users != nullptr) entry = member_of(*users, "application");
  const Json* list = credentials.is_array() ? &credentials : (users != nullptr && users->is_array() ? users : nullptr);
  if (entry == nullptr && list != nullptr) {
    for (const auto& item : *list) {
      if (string_member(item, {"role", "purpose", "name", "kind"}) == "application") {
        entry = &item;
        break;
      }
    }
  }
  if (entry == nullptr || !entry->is_object())
    return make_error(ErrorCode::kNotFound, "the cluster's credentials have no \"application\" user");
  ApplicationCredentials out;
  if (auto user = string_member(*entry, {"username", "user"}); !user.empty()) out.user = user;
  if (auto database = string_member(*entry, {"database", "dbname", "db"}); !database.empty()) out.database = database;
  out.password = string_member(*entry, {"password"});
  return out;
}

std::string percent_encode(std::string_view text) {
  std::string out;
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (std::isalnum(byte) != 0 || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(c);
    } else {
      out += fmt::format("%{:02X}", byte);
    }
  }
  return out;
}

std::string_view endpoint_kind_description(EndpointKind kind) {
  switch (kind) {
    case EndpointKind::kProxy: return "pgstack-proxy";
    case EndpointKind::kPooler: return "PgBouncer";
    case EndpointKind::kDirect: return "Postgres";
  }
  return "?";
}

void add_endpoint_flags(CLI::App& command, ConnectionOptions& options) {
  CLI::Option* direct = command.add_flag_callback(
      "--direct", [&options] { options.endpoints = EndpointKind::kDirect; },
      "The members' own Postgres ports (libpq picks the role) instead of pgstack-proxy");
  command
      .add_flag_callback(
          "--pooler", [&options] { options.endpoints = EndpointKind::kPooler; },
          "The members' PgBouncer ports (libpq picks the role) instead of pgstack-proxy")
      ->excludes(direct);
}

Result<std::string> connection_uri(const Json& status, const ApplicationCredentials& credentials,
                                   const ConnectionOptions& options) {
  const Json* endpoints = member_of(status, "endpoints");
  const Json empty = Json::object();
  if (endpoints == nullptr) endpoints = &empty;
  std::vector<std::string> hosts;
  std::string attributes;
  if (options.endpoints == EndpointKind::kProxy) {
    // Every proxy routes by role itself; several are listed only to survive a host's loss.
    hosts = string_list(member_of(*endpoints, options.replica ? "proxyReadOnly" : "proxyReadWrite"));
    if (!options.replica) attributes = "?target_session_attrs=read-write";
  } else {
    const std::string suffix = options.endpoints == EndpointKind::kDirect ? "Direct" : "";
    const auto read_write = string_list(member_of(*endpoints, "readWrite" + suffix));
    if (options.replica) {
      hosts = string_list(member_of(*endpoints, "readOnly" + suffix));
      // The primary last: prefer-standby falls back to it when no standby answers.
      for (const auto& endpoint : read_write)
        if (std::find(hosts.begin(), hosts.end(), endpoint) == hosts.end()) hosts.push_back(endpoint);
    } else {
      hosts = read_write;
    }
    attributes = options.replica ? "?target_session_attrs=prefer-standby" : "?target_session_attrs=read-write";
  }
  if (hosts.empty()) {
    return make_error(ErrorCode::kFailedPrecondition, fmt::format("the cluster reports no {} endpoints yet",
                                                                  endpoint_kind_description(options.endpoints)));
  }
  std::vector<std::string> formatted;
  formatted.reserve(hosts.size());
  for (const auto& host : hosts) formatted.push_back(uri_host_port(host));
  std::string user_info = percent_encode(credentials.user);
  if (options.include_password && !credentials.password.empty())
    user_info += ":" + percent_encode(credentials.password);
  return fmt::format("postgresql://{}@{}/{}{}", user_info, fmt::join(formatted, ","),
                     percent_encode(credentials.database), attributes);
}

const Json* find_condition(const Json& status, std::string_view type) {
  const Json* conditions = member_of(status, "conditions");
  if (conditions == nullptr || !conditions->is_array()) return nullptr;
  for (const auto& condition : *conditions)
    if (string_member(condition, {"type"}) == type) return &condition;
  return nullptr;
}

bool condition_is_true(const Json& status, std::string_view type) {
  const Json* condition = find_condition(status, type);
  return condition != nullptr && string_member(*condition, {"status"}) == "True";
}

Result<ClusterConnection> fetch_connection(const ApiClient& client, std::string_view namespace_name,
                                           std::string_view cluster, ConnectionOptions options) {
  auto status = client.cluster_status(namespace_name, cluster);
  RETURN_IF_ERROR(status);
  auto credentials_json = client.credentials(namespace_name, cluster);
  RETURN_IF_ERROR(credentials_json);
  auto credentials = application_credentials_from(*credentials_json);
  RETURN_IF_ERROR(credentials);
  ClusterConnection out;
  out.password = credentials->password;
  auto uri = connection_uri(*status, *credentials, options);
  // No proxy (not installed on the hosts) -> the members' PgBouncer; no PgBouncer (pooling disabled)
  // -> Postgres itself.
  for (const EndpointKind fallback : {EndpointKind::kPooler, EndpointKind::kDirect}) {
    if (uri || options.endpoints >= fallback) continue;
    ConnectionOptions instead = options;
    instead.endpoints = fallback;
    if (auto found = connection_uri(*status, *credentials, instead)) {
      out.fell_back_to = fallback;
      uri = std::move(found);
    }
  }
  if (!uri) {
    return make_error(uri.error().code,
                      fmt::format("sgcluster \"{}\": {}; is it Ready? (pgstack describe sgcluster {})", cluster,
                                  uri.error().message, cluster));
  }
  out.uri = std::move(uri).value();
  return out;
}

ApiClient::ApiClient(std::string base_url, std::string token)
    : base_url_(std::move(base_url)), token_(std::move(token)) {}

Result<Json> ApiClient::call(std::string_view method, const std::string& path, const std::string& body,
                             std::chrono::milliseconds timeout) const {
  HttpHeaders headers = {{"Accept", "application/json"}};
  if (!body.empty()) headers.emplace_back("Content-Type", "application/json");
  if (!token_.empty()) headers.emplace_back("Authorization", "Bearer " + token_);
  auto response = http_request(method, base_url_ + path, body, headers, timeout);
  if (!response) {
    if (is_connection_failure(response.error())) return unreachable_error(base_url_, response.error());
    return response.error();
  }
  if (response->status == 401 && token_.empty())
    return make_error(
        ErrorCode::kUnauthenticated,
        fmt::format("{} needs credentials: run `pgstack login {}`, or set PGSTACK_TOKEN", base_url_, base_url_));
  if (response->status < 200 || response->status >= 300) return error_from_response(response->status, response->body);
  if (trim(response->body).empty()) return Json::object();
  Json parsed = Json::parse(response->body, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) {
    return make_error(ErrorCode::kInternal, fmt::format("{} {}{} answered HTTP {} with a body that is not JSON", method,
                                                        base_url_, path, response->status));
  }
  return parsed;
}

Result<Json> ApiClient::send(std::string_view method, const std::string& path, const Json* body) const {
  return call(method, path, body != nullptr ? body->dump() : std::string(), std::chrono::seconds(30));
}

Result<Json> ApiClient::call_named(std::string_view method, const model::KindInfo& kind,
                                   std::string_view namespace_name, std::string_view name, std::string_view subresource,
                                   const std::string& body, std::chrono::milliseconds timeout,
                                   std::string_view query) const {
  auto result =
      call(method, resource_path(kind, namespace_name, name, subresource) + std::string(query), body, timeout);
  if (!result && result.error().code == ErrorCode::kNotFound) {
    // The server's detail may speak of a route; say which resource is missing.
    std::string message =
        fmt::format("{} \"{}\" not found in namespace \"{}\"", singular_name(kind), name, namespace_name);
    if (!subresource.empty()) message += fmt::format(" ({} .../{}: {})", method, subresource, result.error().message);
    return make_error(ErrorCode::kNotFound, message);
  }
  return result;
}

Result<Json> ApiClient::health(std::chrono::milliseconds timeout) const {
  auto response = http_request("GET", base_url_ + "/healthz", {}, {{"Accept", "application/json"}}, timeout);
  if (!response) {
    if (is_connection_failure(response.error())) return unreachable_error(base_url_, response.error());
    return response.error();
  }
  if (response->status != 200) {
    return make_error(ErrorCode::kUnavailable, fmt::format("the pgstack API at {} is not healthy (HTTP {}): {}",
                                                           base_url_, response->status, trim(response->body)));
  }
  Json parsed = Json::parse(response->body, nullptr, /*allow_exceptions=*/false);
  return parsed.is_discarded() ? Json::object() : parsed;
}

Result<std::vector<Json>> ApiClient::list(const model::KindInfo& kind, std::string_view namespace_name) const {
  auto result = call("GET", resource_path(kind, namespace_name), {}, kDefaultTimeout);
  RETURN_IF_ERROR(result);
  std::vector<Json> items;
  if (const Json* found = member_of(*result, "items"); found != nullptr && found->is_array())
    for (const auto& item : *found) items.push_back(item);
  return items;
}

Result<Json> ApiClient::get(const model::KindInfo& kind, std::string_view namespace_name, std::string_view name) const {
  return call_named("GET", kind, namespace_name, name, {}, {}, kDefaultTimeout);
}

Result<Json> ApiClient::create(const model::KindInfo& kind, std::string_view namespace_name, const Json& document,
                               bool dry_run) const {
  auto result = call("POST", resource_path(kind, namespace_name) + (dry_run ? "?dryRun=All" : ""), document.dump(),
                     kDefaultTimeout);
  if (!result && result.error().code == ErrorCode::kConflict)
    return make_error(ErrorCode::kAlreadyExists, result.error().message);
  return result;
}

Result<Json> ApiClient::replace(const model::KindInfo& kind, std::string_view namespace_name, std::string_view name,
                                const Json& document, bool dry_run) const {
  return call_named("PUT", kind, namespace_name, name, {}, document.dump(), kDefaultTimeout,
                    dry_run ? "?dryRun=All" : "");
}

Result<bool> ApiClient::remove(const model::KindInfo& kind, std::string_view namespace_name, std::string_view name,
                               bool delete_logs) const {
  if (delete_logs) {
    // The controller reaches the log store first: a minute leaves room for a slow one.
    auto result = call("DELETE", resource_path(kind, namespace_name, name, {}) + "?deleteLogs=true", {},
                       std::chrono::seconds(90));
    RETURN_IF_ERROR(result);
    return true;
  }
  auto result = call_named("DELETE", kind, namespace_name, name, {}, {}, kDefaultTimeout);
  RETURN_IF_ERROR(result);
  return true;
}

Result<Json> ApiClient::cluster_status(std::string_view namespace_name, std::string_view name) const {
  return call_named("GET", *model::find_kind("SGCluster"), namespace_name, name, "status", {}, kDefaultTimeout);
}

Result<Json> ApiClient::switchover(std::string_view namespace_name, std::string_view name,
                                   const std::optional<std::string>& candidate) const {
  Json body = Json::object();
  if (candidate) body["candidate"] = *candidate;
  return call_named("POST", *model::find_kind("SGCluster"), namespace_name, name, "switchover", body.dump(),
                    kSwitchoverTimeout);
}

Result<Json> ApiClient::credentials(std::string_view namespace_name, std::string_view name) const {
  return call_named("GET", *model::find_kind("SGCluster"), namespace_name, name, "credentials", {}, kDefaultTimeout);
}

Result<Json> ApiClient::verify_backup(std::string_view namespace_name, std::string_view name) const {
  return call_named("POST", *model::find_kind("SGBackup"), namespace_name, name, "verify", "{}", kDefaultTimeout);
}

namespace {
std::string secrets_path(std::string_view namespace_name, std::string_view name = {}) {
  std::string path = fmt::format("/api/v1/namespaces/{}/secrets", namespace_name.empty() ? "_all" : namespace_name);
  if (!name.empty()) path += fmt::format("/{}", percent_encode(name));
  return path;
}
}  // namespace

Result<std::vector<Json>> ApiClient::list_secrets(std::string_view namespace_name) const {
  auto result = call("GET", secrets_path(namespace_name), {}, kDefaultTimeout);
  RETURN_IF_ERROR(result);
  std::vector<Json> items;
  if (const Json* found = member_of(*result, "items"); found != nullptr && found->is_array())
    for (const auto& item : *found) items.push_back(item);
  return items;
}

Result<Json> ApiClient::get_secret(std::string_view namespace_name, std::string_view name) const {
  return call("GET", secrets_path(namespace_name, name), {}, kDefaultTimeout);
}

Result<Json> ApiClient::create_secret(std::string_view namespace_name, const Json& document) const {
  auto result = call("POST", secrets_path(namespace_name), document.dump(), kDefaultTimeout);
  // POST answers 409 only when the name is taken (as for resources above).
  if (!result && result.error().code == ErrorCode::kConflict)
    return make_error(ErrorCode::kAlreadyExists, result.error().message);
  return result;
}

Result<Json> ApiClient::replace_secret(std::string_view namespace_name, std::string_view name,
                                       const Json& document) const {
  return call("PUT", secrets_path(namespace_name, name), document.dump(), kDefaultTimeout);
}

Result<bool> ApiClient::remove_secret(std::string_view namespace_name, std::string_view name) const {
  auto result = call("DELETE", secrets_path(namespace_name, name), {}, kDefaultTimeout);
  RETURN_IF_ERROR(result);
  return true;
}

}  // namespace pgstack::cli
