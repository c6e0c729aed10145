#include "controller/primary_target.h"

#include <fmt/format.h>

#include "common/http_client.h"
#include "controller/patroni_client.h"
#include "model/document.h"
#include "patroni/member.h"

namespace pgstack::controller {

Result<postgres::PostgresTarget> primary_target(const store::EtcdClient& etcd, const std::string& etcd_prefix,
                                                const std::string& ns, const std::string& cluster) {
  auto topology = read_topology(etcd, etcd_prefix, ns, cluster);
  if (!topology.ok()) return topology.error();
  if (!topology->leader || topology->members.count(*topology->leader) == 0)
    return make_error(ErrorCode::kUnavailable, fmt::format("cluster {}/{} has no primary now", ns, cluster));
  const PatroniMember& primary = topology->members.at(*topology->leader);
  auto address = patroni::conn_url_address(primary.conn_url);
  if (!address.ok()) return address.error();
  auto secrets = etcd.get(fmt::format("{}/secrets/{}/{}", etcd_prefix, ns, cluster));
  if (!secrets.ok()) return secrets.error();
  if (!secrets->has_value())
    return make_error(ErrorCode::kUnavailable, fmt::format("cluster {}/{} has no credentials yet", ns, cluster));
  const model::Json credentials = model::Json::parse((*secrets)->value, nullptr, false);
  if (!credentials.is_object() || !credentials.contains("superuser") || !credentials["superuser"].is_object())
    return make_error(ErrorCode::kInternal,
                      fmt::format("cluster {}/{}: the stored credentials are unreadable", ns, cluster));
  postgres::PostgresTarget target;
  target.host = address->first;
  target.port = address->second;
  target.user = credentials["superuser"].value("username", "");
  target.password = credentials["superuser"].value("password", "");
  target.ssl_root_certificate = tls_client_files().ca_file;
  target.application_name = "pgstack-controller";
  return target;
}

}  // namespace pgstack::controller
