// Whole typed messages cut from the front of a byte buffer, for the few exchanges a pooler conducts
// itself (logins, SCRAM, its own statements) rather than relays through the decoders.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "common/error.h"

namespace pgstack::pgwire {

struct RawMessage {
  char type = 0;
  std::string body;
};

// A whole message at the front of some bytes, in place: `wire` is the type byte, length and body.
struct MessageView {
  char type = 0;
  std::string_view body;
  std::string_view wire;
};
// The whole message `bytes` starts with; nullopt while it is incomplete (errors as take_message).
Result<std::optional<MessageView>> message_at(std::string_view bytes, std::size_t max_body = 1 << 20);

// The first whole message of `buffer`, removed from it; nullopt while it is incomplete. A length word
// below 4 or above `max_body` is an error (a peer that does not speak the protocol).
Result<std::optional<RawMessage>> take_message(std::string& buffer, std::size_t max_body = 1 << 20);

// An ErrorResponse/NoticeResponse body's field, "" when absent.
std::string error_field(std::string_view body, char code);

}  // namespace pgstack::pgwire
