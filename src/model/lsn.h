// Write-ahead log positions as Postgres writes them in text: "16/B374D848" (two hexadecimal 32-bit
// halves). Patroni reports them as integers; pg_lsn, pgBackRest and manifests (targetLsn) use text.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace pgstack::model {

std::string format_lsn(std::uint64_t lsn);

// Nothing when `text` is not an LSN.
std::optional<std::uint64_t> parse_lsn(std::string_view text);

}  // namespace pgstack::model
