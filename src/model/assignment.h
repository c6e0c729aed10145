// The assignment: what the controller asks one host to run for one member (docs/api.md). One
// definition for both sides: the controller writes assignment_to_json(), the agent reads
// assignment_from_json(). Pure, no I/O.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/error.h"
#include "model/document.h"
#include "model/resources.h"

namespace pgstack::model {

struct AssignedPorts {
  int postgres = 0;
  int pgbouncer = 0;
  int patroni = 0;
  int exporter = 0;  // postgres_exporter's /metrics; 0: none assigned (written only when set)
  bool operator==(const AssignedPorts&) const = default;
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
  std::string backup;               // SGBackup name
  std::string label;                // pgBackRest's backup set
  Json storage_document = nullptr;  // the repository's SGObjectStorage, as stored
  std::string path;
  std::string stanza;
  // {"time"|"lsn"|"xid"|"name": value, "inclusive"}, null without a target: for readers of the
  // assignment; the agent takes the target from the cluster's own spec (`target` below).
  Json target_json = nullptr;

  // Read from the fields above by from_json; never written.
  ObjectStorage storage;
  RestoreSource target;  // the cluster's initialData.restore.fromBackup
};

// <prefix>/assignments/<host>/<ns>/<cluster>/<member>
struct Assignment {
  std::string namespace_name;
  std::string cluster_name;
  std::string member;
  int index = 0;
  std::string host;
  int postgres_major = 0;  // 0: not given (written as null)
  AssignedPorts ports;
  std::optional<AssignedProxyPorts> proxy;
  // The documents as the controller resolved them (null: none); they are the contract.
  Json cluster_document = nullptr;
  Json profile_document = nullptr;
  Json postgres_config_document = nullptr;
  Json pooling_config_document = nullptr;
  Json object_storage_document = nullptr;  // the cluster's backup storage, when it has backups
  std::optional<RestoreAssignment> restore;
  std::int64_t restart_generation = 0;

  // Typed views of the documents, filled by from_json and never written by to_json.
  Cluster cluster;
  InstanceProfile profile;  // the default profile when the assignment has none
  std::optional<PostgresConfig> postgres_config;
  std::optional<PoolingConfig> pooling_config;
  std::optional<ObjectStorage> object_storage;

  // "<ns>/<cluster>/<member>": identifies the instance in keys, logs and the state directory.
  std::string instance_key() const;
};

Json assignment_to_json(const Assignment& assignment);
// Errors say which field is wrong and what was expected.
Result<Assignment> assignment_from_json(const Json& json);
// The same from the text stored in etcd ("not valid JSON" for anything else).
Result<Assignment> assignment_from_text(std::string_view text);

// The assignment without the documents' metadata.resourceVersion, which changes on every write of a
// document: two assignments that differ only there ask for the same thing.
Json comparable_assignment(Json assignment);

// True for a name that is safe as one path component and in an etcd key: [A-Za-z0-9._-], not "." or "..".
bool is_safe_name(std::string_view name);

}  // namespace pgstack::model
