// Small facts about this machine's network and clock that several areas need.
#pragma once

#include <chrono>
#include <string>

#include "common/error.h"

namespace pgstack {

// A TCP port on 127.0.0.1 that nothing listens on right now.
Result<int> free_tcp_port();

// "2026-11-24T01:30:00Z"
std::string utc_timestamp(std::chrono::system_clock::time_point when);

}  // namespace pgstack
