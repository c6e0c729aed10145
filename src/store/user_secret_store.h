// Users' Secrets in etcd, one key per Secret: <prefix>/user-secrets/<namespace>/<name> holds the JSON
// map key -> value. Apart from the resources (which any API reader may list) so that only an explicit
// request reads a value. resourceVersion is the key's mod_revision.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "model/user_secret.h"
#include "store/etcd_client.h"

namespace pgstack::store {

struct StoredSecret {
  model::UserSecret secret;
  std::int64_t resource_version = 0;
};

class UserSecretStore {
 public:
  explicit UserSecretStore(const EtcdClient& client, std::string prefix = "/pgstack");

  // kAlreadyExists when it exists.
  Result<StoredSecret> create(const model::UserSecret& secret) const;
  // kNotFound when it does not exist; with expected_version, kConflict unless it is the current one.
  Result<StoredSecret> replace(const model::UserSecret& secret, std::optional<std::int64_t> expected_version) const;
  Result<StoredSecret> get(std::string_view ns, std::string_view name) const;
  // Sorted by namespace, then name; ns empty: every namespace.
  Result<std::vector<StoredSecret>> list(std::string_view ns) const;
  // kNotFound when it does not exist.
  Result<bool> remove(std::string_view ns, std::string_view name) const;

  std::string key(std::string_view ns, std::string_view name) const;

 private:
  Result<StoredSecret> decode(const KeyValue& kv) const;

  EtcdClient client_;
  std::string prefix_;
};

}  // namespace pgstack::store
