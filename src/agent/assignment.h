// What the controller asks this host to run (an assignment) and the cluster's generated credentials,
// parsed from the JSON docs/api.md defines, plus the etcd keys the agent reads and writes. Pure, no I/O.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "common/error.h"
#include "model/resources.h"

namespace pgstack::agent {

struct AssignedPorts {
  int postgres = 0;
  int pgbouncer = 0;
  int patroni = 0;
};

// pgstack-proxy's ports for the cluster, the same on every host that runs one of its members.
struct AssignedProxyPorts {
  int read_write = 0;
  int read_only = 0;
  int admin = 0;
  bool operator==(const AssignedProxyPorts&) const = default;
};

// Where a restored cluster's first member takes its data from (the source backup's repository).
struct RestoreAssignment {
  std::string backup;  // SGBackup name
  std::string label;   // pgBackRest's backup set
  model::ObjectStorage storage;
  std::string path;
  std::string stanza;
  model::RestoreSource target;  // the cluster's initialData.restore.fromBackup
};

// /pgstack/assignments/<host>/<ns>/<cluster>/<member>
struct Assignment {
  std::string namespace_name;
  std::string cluster_name;
  std::string member;
  int index = 0;
  std::string host;
  int postgres_major = 0;
  AssignedPorts ports;
  std::optional<AssignedProxyPorts> proxy;
  std::optional<model::ObjectStorage> object_storage;  // the cluster's backup storage, when it has backups
  std::optional<RestoreAssignment> restore;
  model::Cluster cluster;
  model::InstanceProfile profile;  // the default profile when the assignment has none
  std::optional<model::PostgresConfig> postgres_config;
  std::optional<model::PoolingConfig> pooling_config;
  std::int64_t restart_generation = 0;

  // "<ns>/<cluster>/<member>": identifies the instance in keys, logs and the state directory.
  std::string instance_key() const;
};

// Errors say which field is wrong and what was expected.
Result<Assignment> parse_assignment(std::string_view text);

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
  std::string application_database;
  // Not from that key: the users' Secrets the cluster's storages refer to (<prefix>/user-secrets),
  // read with it by the agent. A Secret that does not exist is absent.
  std::map<std::string, std::map<std::string, std::string>> storage_secrets;
};

Result<ClusterSecrets> parse_cluster_secrets(std::string_view text);

// True for a name that is safe as one path component and in an etcd key: [A-Za-z0-9._-], not "." or "..".
bool is_safe_name(std::string_view name);

// The etcd keys of docs/api.md under `prefix` (default "/pgstack").
std::string assignments_prefix(std::string_view prefix, std::string_view host);
std::string host_key(std::string_view prefix, std::string_view host);
std::string secrets_key(std::string_view prefix, std::string_view namespace_name, std::string_view cluster);
std::string instance_report_key(std::string_view prefix, std::string_view instance_key);

}  // namespace pgstack::agent
