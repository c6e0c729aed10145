// Where a cluster's log store is and who to be there. An SGDistributedLogs `<name>` is run as a
// pgstack-managed SGCluster of the same name and namespace (annotated kDistributedLogsAnnotation);
// its database kLogStoreDatabase holds the log tables (log_store_plan.h). The shipper (in the agent)
// writes as the store's logWriter role, the logs API (in the controller) reads as its logReader role;
// both passwords are entries of the store cluster's generated credentials (<prefix>/secrets/<ns>/<name>).
#pragma once

#include <string>
#include <string_view>

#include "common/error.h"
#include "postgres/postgres_session.h"
#include "store/etcd_client.h"

namespace pgstack::logs {

inline constexpr std::string_view kLogStoreDatabase = "pgstack_logs";
inline constexpr std::string_view kLogWriterCredential = "logWriter";
inline constexpr std::string_view kLogReaderCredential = "logReader";
// On the SGCluster that runs an SGDistributedLogs: the SGDistributedLogs' name.
inline constexpr std::string_view kDistributedLogsAnnotation = "pgstack.io/distributed-logs";

struct LogStoreRef {
  std::string namespace_name;
  std::string name;  // the SGDistributedLogs, and the SGCluster that runs it
  bool operator==(const LogStoreRef&) const = default;
};

// `spec.distributedLogs.sgDistributedLogs` of a cluster in `cluster_namespace`: "name" (same namespace)
// or, as StackGres allows, "namespace.name".
LogStoreRef parse_log_store_reference(std::string_view reference, std::string_view cluster_namespace);

// The store's primary now (Patroni's leader key and member record) in kLogStoreDatabase, as the role
// whose credentials are `credential` (kLogWriterCredential or kLogReaderCredential) in the store
// cluster's secrets. TLS verified with `ca_file` when given. kUnavailable while the store has no primary
// or no such credentials yet.
Result<postgres::PostgresTarget> log_store_target(const store::EtcdClient& etcd, const std::string& etcd_prefix,
                                                  const LogStoreRef& store, std::string_view credential,
                                                  const std::string& ca_file, const std::string& application_name);

}  // namespace pgstack::logs
