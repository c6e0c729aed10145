#include "controller/logs_api.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/http_client.h"
#include "controller/api_input.h"
#include "controller/api_reply.h"
#include "logs/log_query.h"
#include "logs/log_store_target.h"
#include "postgres/postgres_session.h"

namespace pgstack::controller {
namespace {

using model::Json;

// A store that does not answer fails the request in about this long instead of holding the caller.
constexpr std::chrono::seconds kStoreConnectTimeout{5};

HttpReply store_unavailable(const std::string& where, const std::string& why) {
  return problem(503, "Unavailable", fmt::format("the log store {} cannot be read now: {}", where, why));
}

}  // namespace

bool is_logs_path(const std::vector<std::string>& parts) {
  return parts.size() == 8 && parts[0] == "apis" && parts[1] == "pgstack.io" && parts[2] == "v1" &&
         parts[3] == "namespaces" && parts[5] == "sgclusters" && parts[7] == "logs";
}

HttpReply LogsApi::handle(const HttpRequest& request, const std::vector<std::string>& parts) const {
  if (request.method != "GET" && request.method != "HEAD")
    return problem(405, "MethodNotAllowed",
                   fmt::format("{} is not allowed on logs: they are read-only (GET)", request.method));
  const std::string& namespace_name = parts[4];
  const std::string& cluster_name = parts[6];
  if (auto refused = check_route_names(request.method, namespace_name, 5, &cluster_name, 7))
    return problem_reply(*refused);
  std::map<std::string, std::string> parameters;
  if (auto refused = parse_query(request.target.empty() ? request.path : request.target, parameters))
    return problem_reply(*refused);
  auto query = logs::parse_log_query(namespace_name, cluster_name, parameters, std::chrono::system_clock::now());
  if (!query.ok()) return problem(400, "Invalid query", query.error().message);

  auto cluster = store_.get("SGCluster", namespace_name, cluster_name);
  if (!cluster.ok()) return problem_from(cluster.error());
  const Json reference = cluster->body.value("/spec/distributedLogs/sgDistributedLogs"_json_pointer, Json());
  if (!reference.is_string() || reference.get<std::string>().empty())
    return problem(409, "Conflict",
                   fmt::format("SGCluster {}/{} has no distributedLogs (spec.distributedLogs.sgDistributedLogs): its "
                               "logs are not shipped to a log store, so there is nothing to read here; they are in "
                               "its members' log files (docs/logs.md)",
                               namespace_name, cluster_name));
  const logs::LogStoreRef store = logs::parse_log_store_reference(reference.get<std::string>(), namespace_name);
  const std::string where = fmt::format("SGDistributedLogs {}/{}", store.namespace_name, store.name);

  auto target = logs::log_store_target(store_.client(), etcd_prefix_, store, logs::kLogReaderCredential,
                                       tls_client_files().ca_file, "pgstack-controller");
  if (!target.ok()) {
    if (target.error().code == ErrorCode::kUnavailable) return store_unavailable(where, target.error().message);
    return problem_from(target.error());
  }
  target.value().dead_server_timeout = kLogQueryTimeout + std::chrono::seconds(5);
  auto session = postgres::PostgresSession::connect(*target, kStoreConnectTimeout);
  if (!session.ok()) return store_unavailable(where, session.error().message);
  // Read-only whatever the role may do; the store cancels a query past the timeout.
  if (auto set = (*session)->query(fmt::format("SET default_transaction_read_only = on; SET statement_timeout = '{}s'",
                                               kLogQueryTimeout.count()));
      !set.ok())
    return store_unavailable(where, set.error().message);
  auto rows = (*session)->query(logs::render_log_query(*query));
  if (!rows.ok()) {
    const std::string sqlstate = (*session)->last_failure().sqlstate;
    if (sqlstate == "57014")
      return problem(504, "Gateway Timeout",
                     fmt::format("the log store {} did not answer within {} s: narrow the window (from/to/since) or "
                                 "the filters",
                                 where, kLogQueryTimeout.count()));
    spdlog::warn("logs of SGCluster {}/{}: the query failed on {}: {}", namespace_name, cluster_name, where,
                 rows.error().message);
    return store_unavailable(where, rows.error().message);
  }
  auto answer = logs::log_rows_to_json(*rows, *query);
  if (!answer.ok()) return problem_from(answer.error());
  Json body = {{"apiVersion", "pgstack.io/v1"},
               {"kind", "LogList"},
               {"namespace", namespace_name},
               {"cluster", cluster_name},
               {"sgDistributedLogs", where.substr(std::string("SGDistributedLogs ").size())}};
  body["items"] = answer->value("items", Json::array());
  body["next"] = answer->value("next", Json());
  // Records may hold bytes a client's log line carried; they are UTF-8 in the store, replaced if not.
  return {200, "application/json", body.dump(2, ' ', false, Json::error_handler_t::replace) + "\n", {}};
}

}  // namespace pgstack::controller
