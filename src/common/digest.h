// Message digests as text, and base64. Pure.
#pragma once

#include <string>
#include <string_view>

#include "common/error.h"

namespace pgstack {

// Two lowercase hex digits a byte.
std::string hex_lower(std::string_view bytes);

// SHA-256 of `data`, 64 lowercase hex digits.
std::string sha256_hex(std::string_view data);

// Standard base64 (RFC 4648, with padding).
std::string base64_encode(std::string_view bytes);
// Strict: a multiple of 4 characters of the standard alphabet, '=' only as the last one or two, no
// whitespace. The error says what is wrong, never quotes the text (it may be a secret).
Result<std::string> base64_decode(std::string_view text);

}  // namespace pgstack
