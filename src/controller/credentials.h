// Generated credentials of a cluster: strong random passwords, kept in etcd, never logged.
#pragma once

#include <string>

#include "common/error.h"
#include "model/document.h"
#include "model/resources.h"

namespace pgstack::controller {

// 32 characters from [A-Za-z0-9] drawn from OpenSSL's CSPRNG (about 190 bits).
Result<std::string> generate_password();

// {"superuser":{"username","password"},"replication":{...},"rewind":{...},"authenticator":{...},
//  "application":{"username","password","database"},"restapi":{"username","password"},
//  "monitor":{"username","password"} (postgres_exporter's pg_monitor role)}; a cluster that runs an
// SGDistributedLogs (`log_store`) also gets "logWriter" and "logReader" (logs/log_store_target.h).
Result<model::Json> generate_cluster_credentials(const model::Cluster& cluster, bool log_store = false);

// True when `stored` (a cluster's credentials object) has no entry for a role pgstack gives every
// cluster (and every log store): one added after the cluster was made. Cheap: no password is generated.
bool lacks_credentials(const model::Json& stored, const model::Cluster& cluster, bool log_store = false);

}  // namespace pgstack::controller
