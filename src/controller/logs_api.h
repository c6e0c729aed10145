// The logs endpoint (docs/logs.md, "Reading logs"):
//   GET /apis/pgstack.io/v1/namespaces/{ns}/sgclusters/{name}/logs?records=&from=&to=&since=&sort=&text=
//       &logType=&podName=&role=&errorLevel=&userName=&databaseName=&sqlState=&sessionId=&after=
//       (get sgclusters in ns): the cluster's records from its log store (spec.distributedLogs), read as the
//       store's logReader role with one SELECT (logs/log_query.h) and a statement timeout.
// A session per request, on the request's own thread: a slow or unreachable store holds only its caller,
// never the reconciler or other requests.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "common/http_server.h"
#include "store/resource_store.h"

namespace pgstack::controller {

bool is_logs_path(const std::vector<std::string>& parts);

// Past this a query is cancelled by the store and answered 504.
inline constexpr std::chrono::seconds kLogQueryTimeout{10};

class LogsApi {
 public:
  LogsApi(const store::ResourceStore& store, std::string etcd_prefix)
      : store_(store), etcd_prefix_(std::move(etcd_prefix)) {}

  // `parts` as is_logs_path accepted them; access was checked already.
  HttpReply handle(const HttpRequest& request, const std::vector<std::string>& parts) const;

 private:
  const store::ResourceStore& store_;
  std::string etcd_prefix_;
};

}  // namespace pgstack::controller
