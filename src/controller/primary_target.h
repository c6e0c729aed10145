// Where a cluster's primary listens and who to be there: Patroni's leader key and member record in
// etcd, and the cluster's generated superuser credentials.
#pragma once

#include <string>

#include "common/error.h"
#include "postgres/postgres_session.h"
#include "store/etcd_client.h"

namespace pgstack::controller {

// The primary of <ns>/<cluster> now (Patroni's leader key and member record) as its superuser.
Result<postgres::PostgresTarget> primary_target(const store::EtcdClient& etcd, const std::string& etcd_prefix,
                                                const std::string& ns, const std::string& cluster);

}  // namespace pgstack::controller
