// Where the agent's /metrics and the host's node_exporter listen. Their default ports are fixed so that
// a firewall rule can name them, but a second agent on the host (a test beside an installation) finds
// them taken: a busy *default* port gives way to a free one, which the host registration publishes (the
// scrape targets come from it). A port given in the flag is what the operator asked for: busy is an error.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "common/error.h"

namespace pgstack::agent {

// "<address>:<port>", "[<address>]:<port>" for IPv6.
std::string listen_text(const std::string& address, std::uint16_t port);

struct MetricsListenChoice {
  std::string listen;      // "host:port"; empty: none ("off")
  bool fell_back = false;  // the default port was busy: `listen` has another one
};

// `flag` as given (empty: the default on `address`, "off": none). `default_port_free` says whether the
// default could be bound, `free_port` is one that can (used only to fall back). `flag_name` names the
// flag in the error.
Result<MetricsListenChoice> choose_metrics_listen(const std::string& flag, const std::string& flag_name,
                                                  const std::string& address, std::uint16_t default_port,
                                                  bool default_port_free, std::optional<std::uint16_t> free_port);

// The I/O around it: probes the default port on `address` and, when busy, asks the system for a free one.
// An explicit flag is checked too, so a busy port fails at start naming the flag.
Result<MetricsListenChoice> resolve_metrics_listen(const std::string& flag, const std::string& flag_name,
                                                   const std::string& address, std::uint16_t default_port);

}  // namespace pgstack::agent
