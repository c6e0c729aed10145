// Small facts about this machine's network, and the host:port text that flags and files use.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/error.h"

namespace pgstack {

// A TCP port on 127.0.0.1 that nothing listens on right now.
Result<int> free_tcp_port();

// Binds host:port for a moment (SO_REUSEADDR, as the listeners do) and returns the port it got (port 0:
// a free one the system picks). kAlreadyExists when something listens there already.
Result<std::uint16_t> probe_tcp_listen(const std::string& host, std::uint16_t port);

// A port number in plain decimal, 0 to 65535; nothing for "", "+1", " 1", "80x" or "65536".
std::optional<std::uint16_t> parse_port(std::string_view text);

struct HostPort {
  std::string host;
  std::uint16_t port = 0;  // 0: any free port, for listeners
};

// "ADDRESS:PORT" or "[IPV6]:PORT", the port as parse_port reads it; the message quotes the text.
Result<HostPort> parse_host_port(std::string_view text);

}  // namespace pgstack
