#include "config/render_proxy.h"

#include <fmt/format.h>

#include "model/document.h"

namespace pgstack::config {

std::string render_proxy_config(const ProxyLayout& layout) {
  using model::Json;
  const auto listener = [&](const char* name, const char* role, int port) {
    Json out = {{"name", name},
                {"role", role},
                {"listen", fmt::format("{}:{}", layout.listen_address, port)},
                {"target", layout.pooling ? "pgbouncer" : "postgres"}};
    if (layout.pooling) out["port_offset"] = layout.pgbouncer_offset;
    return out;
  };
  Json config = {
      // Two workers at most: the proxy shares the host with the cluster's own processes.
      {"workers", 2},
      // Statistics name databases, users and query shapes: loopback only, whatever the host's address.
      {"admin", {{"listen", fmt::format("127.0.0.1:{}", layout.admin_port)}}},
      {"etcd", {{"endpoints", layout.etcd_endpoints}, {"prefix", layout.etcd_prefix}}},
      {"health", {{"patroni_rest", true}, {"interval_ms", 1000}, {"timeout_ms", 1000}, {"fall", 2}}},
      {"clusters", Json::array({{{"name", layout.cluster},
                                 {"namespace", layout.namespace_name},
                                 {"listeners", Json::array({listener("rw", "read-write", layout.read_write_port),
                                                            listener("ro", "read-only", layout.read_only_port)})}}})}};
  if (!layout.ca_file.empty()) {
    model::Json client_tls = {{"ca_file", layout.ca_file}};
    if (!layout.client_certificate.empty())
      client_tls.update({{"certificate", layout.client_certificate}, {"private_key", layout.client_private_key}});
    config["client_tls"] = client_tls;
  }
  if (layout.tls_certificate && layout.tls_private_key)
    config["tls"] = {{"certificate", *layout.tls_certificate}, {"private_key", *layout.tls_private_key}};
  return fmt::format("# pgstack-proxy for cluster {}/{}, written by pgstack-agent: edits are overwritten.\n{}\n",
                     layout.namespace_name, layout.cluster, config.dump(2));
}

}  // namespace pgstack::config
