#include "agent/metrics_listen.h"

#include <fmt/format.h>

#include "common/network.h"

namespace pgstack::agent {

std::string listen_text(const std::string& address, std::uint16_t port) {
  return address.find(':') != std::string::npos ? fmt::format("[{}]:{}", address, port)
                                                : fmt::format("{}:{}", address, port);
}

Result<MetricsListenChoice> choose_metrics_listen(const std::string& flag, const std::string& flag_name,
                                                  const std::string& address, std::uint16_t default_port,
                                                  bool default_port_free, std::optional<std::uint16_t> free_port) {
  if (flag == "off") return MetricsListenChoice{};
  if (!flag.empty()) {
    auto parsed = parse_host_port(flag);
    if (!parsed.ok())
      return make_error(ErrorCode::kInvalidInput, fmt::format("{}: {}", flag_name, parsed.error().message));
    return MetricsListenChoice{flag, false};
  }
  if (default_port_free) return MetricsListenChoice{listen_text(address, default_port), false};
  if (!free_port || *free_port == 0)
    return make_error(ErrorCode::kUnavailable,
                      fmt::format("{}: the default port {} on {} is in use and no free port was found; give "
                                  "{} HOST:PORT or 'off'",
                                  flag_name, default_port, address, flag_name));
  return MetricsListenChoice{listen_text(address, *free_port), true};
}

Result<MetricsListenChoice> resolve_metrics_listen(const std::string& flag, const std::string& flag_name,
                                                   const std::string& address, std::uint16_t default_port) {
  if (flag == "off") return MetricsListenChoice{};
  if (!flag.empty()) {
    auto parsed = parse_host_port(flag);
    if (!parsed.ok())
      return make_error(ErrorCode::kInvalidInput, fmt::format("{}: {}", flag_name, parsed.error().message));
    if (auto probe = probe_tcp_listen(parsed->host, parsed->port); !probe.ok())
      return make_error(probe.error().code, fmt::format("{} {}: {}", flag_name, flag, probe.error().message));
    return MetricsListenChoice{flag, false};
  }
  auto probe = probe_tcp_listen(address, default_port);
  if (!probe.ok() && probe.error().code != ErrorCode::kAlreadyExists)
    return make_error(probe.error().code, fmt::format("{} (default): {}", flag_name, probe.error().message));
  std::optional<std::uint16_t> free_port;
  if (!probe.ok()) {
    auto any = probe_tcp_listen(address, 0);
    if (any.ok()) free_port = *any;
  }
  return choose_metrics_listen(flag, flag_name, address, default_port, probe.ok(), free_port);
}

}  // namespace pgstack::agent
