// GET /apis/pgstack.io/v1/hosts[/NAME]: the installation's hosts, for `pgstack get hosts` and the
// console. POST|DELETE .../hosts/NAME/drain starts or ends a drain (pgstack host drain|uncordon): the
// controller moves the host's members elsewhere (replicas rebuilt on other hosts, a switchover first when
// the primary is on it) and places nothing new there. DELETE .../hosts/NAME forgets a host that has no
// members left and whose agent is gone (pgstack host remove). Each registered agent's facts (address, CPUs, memory,
// free disk, when it last reported) and the members the controller placed on it. A host with members but no
// registration (its agent stopped, or the host is gone: the registration expires with the agent's etcd lease) is listed
// as Lost, so a member without a running host is never missing from the list.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/http_server.h"
#include "model/document.h"
#include "store/etcd_client.h"

namespace pgstack::controller {

// Pure. `registrations`: the values under <prefix>/hosts/ (the agents' JSON facts); `assignments`: the
// keys under <prefix>/assignments/ with that prefix cut off ("<host>/<ns>/<cluster>/<member>");
// `drains`: the values under <prefix>/host-drains/ ({"host", "since"}).
// A HostList: items sorted by name, each {name, status Ready|Draining|Lost, address, cpus, memoryBytes,
// freeDiskBytes, reportedAt, members ["<ns>/<cluster>/<member>", ...], drainingSince when drained}.
model::Json host_list(const std::vector<std::string>& registrations, const std::vector<std::string>& assignments,
                      const std::vector<std::string>& drains = {});

class HostsApi {
 public:
  HostsApi(const store::EtcdClient& etcd, std::string etcd_prefix) : etcd_(etcd), prefix_(std::move(etcd_prefix)) {}
  // parts: the path's segments, "apis" "pgstack.io" "v1" "hosts" [NAME].
  HttpReply handle(const HttpRequest& request, const std::vector<std::string>& parts) const;

 private:
  HttpReply list_or_get(const std::vector<std::string>& parts) const;
  HttpReply drain(const std::string& method, const std::string& host) const;
  HttpReply remove(const std::string& host) const;

  const store::EtcdClient& etcd_;
  std::string prefix_;
};

bool is_hosts_path(const std::vector<std::string>& parts);

}  // namespace pgstack::controller
