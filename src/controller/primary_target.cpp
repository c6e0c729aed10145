#include "controller/primary_target.h"

#include <charconv>

#include <fmt/format.h>

#include "common/http_client.h"
#include "controller/patroni_client.h"
#include "model/document.h"

namespace pgstack::controller {
namespace {

using model::Json;

// "postgres://host:port/db" (Patroni's conn_url) to host and port; IPv6 hosts come bracketed.
Result<std::pair<std::string, int>> host_and_port(const std::string& url) {
  const auto scheme = url.find("://");
  if (scheme == std::string::npos) return make_error(ErrorCode::kInvalidInput, "conn_url \"" + url + "\": no scheme");
  const std::string rest = url.substr(scheme + 3);
  const std::string authority = rest.substr(0, rest.find('/'));
  const auto colon = authority.rfind(':');
  if (colon == std::string::npos) return make_error(ErrorCode::kInvalidInput, "conn_url \"" + url + "\": no port");
  std::string host = authority.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  const std::string port_text = authority.substr(colon + 1);
  int port = 0;
  const auto [end, failure] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (failure != std::errc() || end != port_text.data() + port_text.size() || port <= 0 || port > 65535)
    return make_error(ErrorCode::kInvalidInput, "conn_url \"" + url + "\": bad port");
  return std::make_pair(host, port);
}

}  // namespace

Result<postgres::PostgresTarget> primary_target(const store::EtcdClient& etcd, const std::string& etcd_prefix,
                                                const std::string& ns, const std::string& cluster) {
  auto topology = read_topology(etcd, etcd_prefix, ns, cluster);
  if (!topology.ok()) return topology.error();
  if (!topology->leader || topology->members.count(*topology->leader) == 0)
    return make_error(ErrorCode::kUnavailable, fmt::format("cluster {}/{} has no primary now", ns, cluster));
  const PatroniMember& primary = topology->members.at(*topology->leader);
  auto address = host_and_port(primary.conn_url);
  if (!address.ok()) return address.error();
  auto secrets = etcd.get(fmt::format("{}/secrets/{}/{}", etcd_prefix, ns, cluster));
  if (!secrets.ok()) return secrets.error();
  if (!secrets->has_value())
    return make_error(ErrorCode::kUnavailable, fmt::format("cluster {}/{} has no credentials yet", ns, cluster));
  const Json credentials = Json::parse((*secrets)->value, nullptr, false);
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
