#include "store/user_secret_store.h"

#include <fmt/format.h>

#include "model/kinds.h"
#include "store/keys.h"

namespace pgstack::store {
namespace {

Result<bool> check_names(std::string_view ns, std::string_view name) {
  if (!model::is_valid_resource_name(ns))
    return make_error(ErrorCode::kInvalidInput,
                      fmt::format("namespace \"{}\" is invalid: expected a DNS-1123 label", ns));
  if (!model::is_valid_resource_name(name))
    return make_error(ErrorCode::kInvalidInput,
                      fmt::format("Secret name \"{}\" is invalid: expected a DNS-1123 label (lower-case letters, "
                                  "digits, '-', at most 63 characters)",
                                  name));
  return true;
}

Error not_found(std::string_view ns, std::string_view name) {
  return make_error(ErrorCode::kNotFound, fmt::format("Secret \"{}\" not found in namespace \"{}\"", name, ns));
}

std::string encode(const model::UserSecret& secret) {
  nlohmann::json data = nlohmann::json::object();
  for (const auto& [key, value] : secret.data) data[key] = value;
  return data.dump();
}

}  // namespace

UserSecretStore::UserSecretStore(const EtcdClient& client, std::string prefix)
    : client_(client), prefix_(std::move(prefix)) {
  while (!prefix_.empty() && prefix_.back() == '/') prefix_.pop_back();
}

std::string UserSecretStore::key(std::string_view ns, std::string_view name) const {
  return keys::user_secret(prefix_, ns, name);
}

Result<StoredSecret> UserSecretStore::decode(const KeyValue& kv) const {
  // <prefix>/user-secrets/<ns>/<name>
  const std::string_view rest = std::string_view(kv.key).substr(keys::user_secrets_prefix(prefix_).size());
  const auto slash = rest.find('/');
  const nlohmann::json data = nlohmann::json::parse(kv.value, nullptr, false);
  // The message names the key only: the value is a secret.
  if (slash == std::string_view::npos || !data.is_object())
    return make_error(ErrorCode::kInternal, fmt::format("etcd key \"{}\" does not hold a Secret's JSON map", kv.key));
  StoredSecret stored;
  stored.secret.namespace_name = std::string(rest.substr(0, slash));
  stored.secret.name = std::string(rest.substr(slash + 1));
  for (const auto& [key, value] : data.items()) {
    if (!value.is_string())
      return make_error(ErrorCode::kInternal, fmt::format("etcd key \"{}\": key {} is not a string", kv.key, key));
    stored.secret.data[key] = value.get<std::string>();
  }
  stored.resource_version = kv.mod_revision;
  return stored;
}

Result<StoredSecret> UserSecretStore::create(const model::UserSecret& secret) const {
  RETURN_IF_ERROR(check_names(secret.namespace_name, secret.name));
  auto written = client_.put_if(key(secret.namespace_name, secret.name), encode(secret), 0);
  if (!written) {
    if (written.error().code == ErrorCode::kConflict)
      return make_error(ErrorCode::kAlreadyExists, fmt::format("Secret \"{}\" already exists in namespace \"{}\"",
                                                               secret.name, secret.namespace_name));
    return written.error();
  }
  return StoredSecret{secret, *written};
}

Result<StoredSecret> UserSecretStore::replace(const model::UserSecret& secret,
                                              std::optional<std::int64_t> expected_version) const {
  RETURN_IF_ERROR(check_names(secret.namespace_name, secret.name));
  const std::string where = key(secret.namespace_name, secret.name);
  auto current = client_.get(where);
  RETURN_IF_ERROR(current);
  if (!current->has_value()) return not_found(secret.namespace_name, secret.name);
  const std::int64_t revision = (*current)->mod_revision;
  if (expected_version && *expected_version != revision)
    return make_error(ErrorCode::kConflict,
                      fmt::format("Secret \"{}\" in namespace \"{}\" has been modified; read it again and retry "
                                  "(resourceVersion {}, current {})",
                                  secret.name, secret.namespace_name, *expected_version, revision));
  auto written = client_.put_if(where, encode(secret), revision);
  if (!written) {
    if (written.error().code == ErrorCode::kConflict)
      return make_error(ErrorCode::kConflict, fmt::format("Secret \"{}\" in namespace \"{}\" changed while it was "
                                                          "being replaced; read it again and retry",
                                                          secret.name, secret.namespace_name));
    return written.error();
  }
  return StoredSecret{secret, *written};
}

Result<StoredSecret> UserSecretStore::get(std::string_view ns, std::string_view name) const {
  RETURN_IF_ERROR(check_names(ns, name));
  auto kv = client_.get(key(ns, name));
  RETURN_IF_ERROR(kv);
  if (!kv->has_value()) return not_found(ns, name);
  return decode(**kv);
}

Result<std::vector<StoredSecret>> UserSecretStore::list(std::string_view ns) const {
  if (!ns.empty() && !model::is_valid_resource_name(ns))
    return make_error(ErrorCode::kInvalidInput,
                      fmt::format("namespace \"{}\" is invalid: expected a DNS-1123 label", ns));
  std::string prefix = keys::user_secrets_prefix(prefix_);
  if (!ns.empty()) prefix += fmt::format("{}/", ns);
  auto range = client_.get_prefix(prefix);
  RETURN_IF_ERROR(range);
  std::vector<StoredSecret> out;
  for (const KeyValue& kv : range->items) {
    auto decoded = decode(kv);
    RETURN_IF_ERROR(decoded);
    out.push_back(std::move(decoded).value());
  }
  return out;
}

Result<bool> UserSecretStore::remove(std::string_view ns, std::string_view name) const {
  RETURN_IF_ERROR(check_names(ns, name));
  auto removed = client_.remove(key(ns, name));
  RETURN_IF_ERROR(removed);
  if (!*removed) return not_found(ns, name);
  return true;
}

}  // namespace pgstack::store
