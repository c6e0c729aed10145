// Internal: what both decoders' dispatch tables share.
#pragma once

#include <cstdint>
#include <string>

#include "pgwire/messages.h"

namespace pgstack::pgwire::detail {

// Which DecoderLimits field caps a message type.
enum class LengthClass : std::uint8_t { kSmall, kLarge, kAuth };

inline std::uint32_t limit_for(const DecoderLimits& limits, LengthClass length_class) {
  switch (length_class) {
    case LengthClass::kSmall: return limits.small_message;
    case LengthClass::kLarge: return limits.large_message;
    case LengthClass::kAuth: return limits.auth_message;
  }
  return limits.small_message;
}

// 'Q' for printable type bytes, 0x1b otherwise.
inline std::string describe_type_byte(std::uint8_t type) {
  if (type >= 0x21 && type <= 0x7e) return std::string("'") + static_cast<char>(type) + "'";
  static constexpr char kHex[] = "0123456789abcdef";
  return std::string("0x") + kHex[type >> 4] + kHex[type & 0xf];
}

}  // namespace pgstack::pgwire::detail
