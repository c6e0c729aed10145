// Message digests as text. Pure.
#pragma once

#include <string>
#include <string_view>

namespace pgstack {

// Two lowercase hex digits a byte.
std::string hex_lower(std::string_view bytes);

// SHA-256 of `data`, 64 lowercase hex digits.
std::string sha256_hex(std::string_view data);

}  // namespace pgstack
