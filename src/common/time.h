// UTC timestamps as pgstack writes them everywhere (API, etcd, reports, events, audit trail):
// RFC 3339 in UTC with whole seconds, "2026-11-24T01:30:00Z".
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace pgstack {

// Fractions of a second are dropped (floored, also before 1970).
std::string utc_timestamp(std::chrono::system_clock::time_point when);
std::string utc_timestamp_now();
// With milliseconds: "2026-12-07T09:17:55.123Z".
std::string utc_millis(std::chrono::system_clock::time_point when);

// ISO 8601 / RFC 3339 as the API writes and users type it: "2026-11-24T01:30:00Z", fractions and
// "+02:00" offsets accepted, 'T' or a space between date and time. Nothing for anything else.
std::optional<std::chrono::sys_seconds> parse_utc_timestamp(std::string_view text);

}  // namespace pgstack
