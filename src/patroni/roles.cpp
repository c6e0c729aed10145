#include "patroni/roles.h"

namespace pgstack::patroni {

bool is_writable_role(std::string_view role) { return role == "master" || role == "primary"; }

bool is_leader_role(std::string_view role) { return is_writable_role(role) || role == "standby_leader"; }

bool is_replica_role(std::string_view role) {
  return role == "replica" || role == "sync_standby" || role == "standby" || role == "quorum_standby";
}

}  // namespace pgstack::patroni
