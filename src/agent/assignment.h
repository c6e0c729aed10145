// The cluster's generated credentials the agent reads, parsed from the JSON docs/api.md defines, and
// the assignment's names in the agent's namespace. Pure, no I/O.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "common/error.h"
#include "model/assignment.h"

namespace pgstack::agent {

// The assignment is a contract with the controller: one definition, in model/assignment.h.
using model::AssignedPorts;
using model::AssignedProxyPorts;
using model::Assignment;
using model::is_safe_name;
using model::RestoreAssignment;

struct Credential {
  std::string username;
  std::string password;
};

// /pgstack/secrets/<ns>/<cluster>, written by the controller.
struct ClusterSecrets {
  Credential superuser;
  Credential replication;
  Credential rewind;
  Credential authenticator;
  Credential application;  // empty username: no application user
  Credential restapi;      // Patroni's REST API basic auth (its unsafe endpoints); empty: none
  Credential monitor;      // postgres_exporter's pg_monitor role; empty (older clusters): no exporter
  std::string application_database;
  // Not from that key: the users' Secrets the cluster's storages refer to (<prefix>/user-secrets),
  // read with it by the agent. A Secret that does not exist is absent.
  std::map<std::string, std::map<std::string, std::string>> storage_secrets;
};

Result<ClusterSecrets> parse_cluster_secrets(std::string_view text);

}  // namespace pgstack::agent
