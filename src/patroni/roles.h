// Patroni's role names. Patroni 3.0 writes "master" where newer versions write "primary"; both mean
// the leader of a cluster that accepts writes. A standby cluster's leader is "standby_leader": it holds
// the leader key but replicates from elsewhere and is read-only.
#pragma once

#include <string_view>

namespace pgstack::patroni {

// Holds the leader key: the member the cluster's status calls its primary and the agent treats as one.
bool is_leader_role(std::string_view role);
// Accepts writes: what a read-write endpoint may route to (never a standby_leader).
bool is_writable_role(std::string_view role);
// Follows the leader: may serve reads.
bool is_replica_role(std::string_view role);

}  // namespace pgstack::patroni
