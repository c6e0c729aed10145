#include "logs/log_store_target.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "patroni/dcs.h"
#include "patroni/member.h"
#include "store/keys.h"

namespace pgstack::logs {

LogStoreRef parse_log_store_reference(std::string_view reference, std::string_view cluster_namespace) {
  const auto dot = reference.find('.');
  if (dot == std::string_view::npos) return {std::string(cluster_namespace), std::string(reference)};
  return {std::string(reference.substr(0, dot)), std::string(reference.substr(dot + 1))};
}

Result<postgres::PostgresTarget> log_store_target(const store::EtcdClient& etcd, const std::string& etcd_prefix,
                                                  const LogStoreRef& store, std::string_view credential,
                                                  const std::string& ca_file, const std::string& application_name) {
  const std::string where = fmt::format("log store {}/{}", store.namespace_name, store.name);
  auto leader = etcd.get(patroni::leader_key(etcd_prefix, store.namespace_name, store.name));
  if (!leader.ok()) return leader.error();
  if (!leader->has_value()) return make_error(ErrorCode::kUnavailable, where + " has no primary now");
  const std::string leader_name = (*leader)->value;
  auto record =
      etcd.get(patroni::cluster_prefix(etcd_prefix, store.namespace_name, store.name) + "members/" + leader_name);
  if (!record.ok()) return record.error();
  if (!record->has_value())
    return make_error(ErrorCode::kUnavailable,
                      fmt::format("{}: its primary {} has no member record", where, leader_name));
  auto member = patroni::parse_member(leader_name, (*record)->value);
  if (!member.ok()) return member.error();
  auto address = patroni::conn_url_address(member->conn_url);
  if (!address.ok()) return address.error();

  auto secrets = etcd.get(store::keys::cluster_secrets(etcd_prefix, store.namespace_name, store.name));
  if (!secrets.ok()) return secrets.error();
  if (!secrets->has_value()) return make_error(ErrorCode::kUnavailable, where + " has no credentials yet");
  const nlohmann::json credentials = nlohmann::json::parse((*secrets)->value, nullptr, false);
  const std::string key(credential);
  if (!credentials.is_object() || !credentials.contains(key) || !credentials[key].is_object())
    return make_error(ErrorCode::kUnavailable, fmt::format("{} has no {} credentials yet", where, key));
  postgres::PostgresTarget target;
  target.host = address->first;
  target.port = address->second;
  target.database = std::string(kLogStoreDatabase);
  target.user = credentials[key].value("username", "");
  target.password = credentials[key].value("password", "");
  target.ssl_root_certificate = ca_file;
  target.application_name = application_name;
  return target;
}

}  // namespace pgstack::logs
