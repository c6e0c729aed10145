// The CLI's typed client of the controller's REST API (docs/api.md), and the pure helpers that
// interpret its answers: kind names, error bodies, credentials and connection strings.
// The CLI talks to the controller only, never to etcd.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <CLI/CLI.hpp>

#include "common/error.h"
#include "model/document.h"
#include "model/kinds.h"
#include "model/resources.h"

namespace pgstack::cli {

inline constexpr std::string_view kDefaultApiUrl = "https://127.0.0.1:8080";
inline constexpr std::string_view kDefaultNamespace = "default";

// Adds the global --api URL flag to the root command.
void add_api_option(CLI::App& app);
// --api, else $PGSTACK_API, else the current context of the CLI config, else kDefaultApiUrl, without a trailing '/'.
// `command` may be any subcommand: the flag is looked up on the root.
std::string api_url_for(const CLI::App& command);

// KIND as kubectl accepts it: kind, plural, singular or short name, any case. The error lists the
// kinds and suggests the closest one.
Result<const model::KindInfo*> resolve_kind(std::string_view name);
// "sgcluster": how messages name a kind.
std::string singular_name(const model::KindInfo& kind);
// "sgcluster.stackgres.io/demo", as kubectl prints what it applied.
std::string qualified_name(const model::KindInfo& kind, std::string_view name);

// /apis/stackgres.io/v1/namespaces/{ns}/{plural}[/{name}[/{subresource}]]; an empty namespace
// means every namespace (`_all`).
std::string resource_path(const model::KindInfo& kind, std::string_view namespace_name, std::string_view name = {},
                          std::string_view subresource = {});

using model::backup_name_at;  // "<cluster>-<YYYYMMDDHHMMSS>", as the controller names scheduled backups

ErrorCode error_code_for_status(int http_status);
// An error response as the user should read it: the problem+json detail (or title) followed by one
// indented line per field error; a body that is not problem+json is quoted as it is.
Error error_from_response(int http_status, std::string_view body);
// A connection failure, with the hint to start the controller.
Error unreachable_error(std::string_view api_url, const Error& cause);

// The "application" entry of GET .../credentials.
struct ApplicationCredentials {
  std::string user = "app";
  std::string database = "app";
  std::string password;
};
Result<ApplicationCredentials> application_credentials_from(const model::Json& credentials);

// Which endpoints a connection string names.
enum class EndpointKind {
  kProxy,   // pgstack-proxy's read-write / read-only listeners (the stable addresses)
  kPooler,  // every member's PgBouncer, with libpq's target_session_attrs choosing
  kDirect,  // every member's Postgres, likewise
};
std::string_view endpoint_kind_description(EndpointKind kind);

struct ConnectionOptions {
  bool replica = false;  // read-only endpoints (the proxy's, or standbys first, then the primary)
  EndpointKind endpoints = EndpointKind::kProxy;
  bool include_password = false;  // otherwise libpq takes it from PGPASSWORD or ~/.pgpass
};
// --direct and --pooler (exclusive): which endpoints connstr and psql name; `options` must outlive `command`.
void add_endpoint_flags(CLI::App& command, ConnectionOptions& options);

// A multi-host libpq URI from a cluster status (its `endpoints`), e.g.
// postgresql://app@h1:p1,h2:p2/app?target_session_attrs=read-write
Result<std::string> connection_uri(const model::Json& status, const ApplicationCredentials& credentials,
                                   const ConnectionOptions& options);
// RFC 3986 percent-encoding of everything but the unreserved characters.
std::string percent_encode(std::string_view text);

// The status condition of this type (Ready, Degraded, ...), or nullptr.
const model::Json* find_condition(const model::Json& status, std::string_view type);
bool condition_is_true(const model::Json& status, std::string_view type);

class ApiClient;

// A cluster's connection string (password included only when asked) and the password itself.
struct ClusterConnection {
  std::string uri;
  std::string password;
  // What was asked was not available (no proxy, or pooling disabled) and these were used instead.
  std::optional<EndpointKind> fell_back_to;
};
// GET .../status and .../credentials, then connection_uri().
Result<ClusterConnection> fetch_connection(const ApiClient& client, std::string_view namespace_name,
                                           std::string_view cluster, ConnectionOptions options);

// Every call is one HTTP exchange; a connection failure becomes unreachable_error().
class ApiClient {
 public:
  // `token`: sent as a bearer token when not empty (api_context.h finds it).
  explicit ApiClient(std::string base_url, std::string token = "");

  const std::string& base_url() const { return base_url_; }

  // GET /healthz: the body when the controller and its etcd are healthy.
  Result<model::Json> health(std::chrono::milliseconds timeout = std::chrono::seconds(5)) const;

  // An empty namespace lists every namespace.
  Result<std::vector<model::Json>> list(const model::KindInfo& kind, std::string_view namespace_name) const;
  Result<model::Json> get(const model::KindInfo& kind, std::string_view namespace_name, std::string_view name) const;
  // dry_run: ?dryRun=All, checked as the write and stored nowhere; the answer is the object as it would
  // be stored with "dryRun" (for a replace: its changes and whether Postgres needs a restart).
  Result<model::Json> create(const model::KindInfo& kind, std::string_view namespace_name, const model::Json& document,
                             bool dry_run = false) const;
  Result<model::Json> replace(const model::KindInfo& kind, std::string_view namespace_name, std::string_view name,
                              const model::Json& document, bool dry_run = false) const;
  // delete_logs (an SGCluster): its rows are deleted from its log store first (?deleteLogs=true).
  Result<bool> remove(const model::KindInfo& kind, std::string_view namespace_name, std::string_view name,
                      bool delete_logs = false) const;

  Result<model::Json> cluster_status(std::string_view namespace_name, std::string_view name) const;
  // Returns {"from": ..., "to": ...} once Patroni reports the new leader.
  Result<model::Json> switchover(std::string_view namespace_name, std::string_view name,
                                 const std::optional<std::string>& candidate) const;
  Result<model::Json> credentials(std::string_view namespace_name, std::string_view name) const;
  // POST .../sgbackups/{name}/verify: 202 with {"verification": {"phase": "Pending", "requestedAt"}}.
  Result<model::Json> verify_backup(std::string_view namespace_name, std::string_view name) const;

  // Users' Secrets (/api/v1/namespaces/{ns}/secrets): the answers name the keys, never the values.
  Result<std::vector<model::Json>> list_secrets(std::string_view namespace_name) const;
  Result<model::Json> get_secret(std::string_view namespace_name, std::string_view name) const;
  Result<model::Json> create_secret(std::string_view namespace_name, const model::Json& document) const;
  Result<bool> remove_secret(std::string_view namespace_name, std::string_view name) const;
  Result<model::Json> replace_secret(std::string_view namespace_name, std::string_view name,
                                     const model::Json& document) const;

  // Any other endpoint (users, tokens, audit): `path` from the root, a JSON body when not null.
  Result<model::Json> send(std::string_view method, const std::string& path, const model::Json* body = nullptr) const;

 private:
  Result<model::Json> call(std::string_view method, const std::string& path, const std::string& body,
                           std::chrono::milliseconds timeout) const;
  // A named resource's 404 as "sgcluster "demo" not found in namespace "default"".
  Result<model::Json> call_named(std::string_view method, const model::KindInfo& kind, std::string_view namespace_name,
                                 std::string_view name, std::string_view subresource, const std::string& body,
                                 std::chrono::milliseconds timeout, std::string_view query = {}) const;

  std::string base_url_;
  std::string token_;
};

}  // namespace pgstack::cli
