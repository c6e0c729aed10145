// Small facts about this machine's network, and UTC timestamps, that several areas need.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "common/error.h"

namespace pgstack {

// A TCP port on 127.0.0.1 that nothing listens on right now.
Result<int> free_tcp_port();

// "2026-11-24T01:30:00Z"
std::string utc_timestamp(std::chrono::system_clock::time_point when);
// ISO 8601 / RFC 3339 as the API writes and users type it: "2026-11-24T01:30:00Z", fractions and
// "+02:00" offsets accepted, 'T' or a space between date and time. Nothing for anything else.
std::optional<std::chrono::sys_seconds> parse_utc_timestamp(std::string_view text);

}  // namespace pgstack
