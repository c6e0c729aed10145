// Typed storage of pgstack resources in etcd, one key per object:
//   <prefix>/resources/<plural>/<namespace>/<name>  the document body as JSON (without status)
//   <prefix>/status/<plural>/<namespace>/<name>     the status, written by controllers and agents
// Status lives apart so that whoever reports it never conflicts with a user changing the spec.
// metadata.resourceVersion is etcd's mod_revision of the resource key: set on every read, never stored.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "model/document.h"
#include "store/etcd_client.h"

namespace pgstack::store {

class ResourceStore {
 public:
  // Keeps its own copy of the client (a list of endpoints; cheap).
  explicit ResourceStore(const EtcdClient& client, std::string prefix = "/pgstack");

  const EtcdClient& client() const { return client_; }

  // `kind` below is any name model::find_kind accepts: SGCluster, sgclusters, sgcluster, sgclu.

  // Stores a new object; sets metadata.uid, metadata.creationTimestamp and metadata.namespace.
  // kAlreadyExists when it exists. A .status in the document is dropped (see put_status).
  Result<model::Document> create(const model::Document& document) const;
  Result<model::Document> get(std::string_view kind, std::string_view ns, std::string_view name) const;
  // Sorted by namespace, then name; ns empty: every namespace.
  Result<std::vector<model::Document>> list(std::string_view kind, std::string_view ns = {}) const;
  // Overwrites an existing object (kNotFound otherwise), keeping its uid and creationTimestamp. With
  // metadata.resourceVersion set, only if nobody changed the object since that version (else kConflict).
  Result<model::Document> replace(const model::Document& document) const;
  // What create or replace would store, refused the same way (exists, absent, stale resourceVersion),
  // written nowhere: the dry run. `current` is the stored object a replace would overwrite.
  struct WritePreview {
    model::Document result;
    std::optional<model::Document> current;
  };
  Result<WritePreview> preview_create(const model::Document& document) const;
  Result<WritePreview> preview_replace(const model::Document& document) const;
  // Deletes the object and its status; kNotFound when it does not exist.
  Result<bool> remove(std::string_view kind, std::string_view ns, std::string_view name) const;

  // Returns the revision of the write; kNotFound when the object does not exist.
  Result<std::int64_t> put_status(std::string_view kind, std::string_view ns, std::string_view name,
                                  const model::Json& status) const;
  // nullopt when no status was reported yet.
  Result<std::optional<model::Json>> get_status(std::string_view kind, std::string_view ns,
                                                std::string_view name) const;
  // list(), each document with its reported status under "status" (none when none was reported): two
  // reads of etcd, not one per object, for the API's lists.
  Result<std::vector<model::Document>> list_with_status(std::string_view kind, std::string_view ns = {}) const;

  // Key layout, for watchers: every resource key starts with resources_prefix(), every status key
  // with status_prefix().
  std::string resources_prefix() const { return prefix_ + "/resources/"; }
  std::string status_prefix() const { return prefix_ + "/status/"; }
  Result<std::string> resource_key(std::string_view kind, std::string_view ns, std::string_view name) const;
  Result<std::string> status_key(std::string_view kind, std::string_view ns, std::string_view name) const;
  // A resource key-value (from get_prefix or a watch) as a document with its resourceVersion.
  Result<model::Document> decode(const KeyValue& kv) const;

 private:
  std::string key_under(std::string_view area, std::string_view plural, std::string_view ns,
                        std::string_view name) const;

  EtcdClient client_;
  std::string prefix_;
};

}  // namespace pgstack::store
