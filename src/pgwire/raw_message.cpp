#include "pgwire/raw_message.h"

#include <cstdint>

namespace pgstack::pgwire {

Result<std::optional<MessageView>> message_at(std::string_view bytes, std::size_t max_body) {
  if (bytes.size() < 5) return std::optional<MessageView>();
  const auto byte = [&](std::size_t i) { return std::uint32_t{static_cast<unsigned char>(bytes[i])}; };
  const std::uint32_t length = (byte(1) << 24) | (byte(2) << 16) | (byte(3) << 8) | byte(4);
  if (length < 4 || length - 4 > max_body) {
    return make_error(ErrorCode::kInvalidInput, "a message's length word is " + std::to_string(length));
  }
  if (bytes.size() < 1 + std::size_t{length}) return std::optional<MessageView>();
  return std::optional<MessageView>(
      MessageView{bytes[0], bytes.substr(5, length - 4), bytes.substr(0, 1 + std::size_t{length})});
}

Result<std::optional<RawMessage>> take_message(std::string& buffer, std::size_t max_body) {
  ASSIGN_OR_RETURN(const auto view, message_at(buffer, max_body));
  if (!view) return std::optional<RawMessage>();
  RawMessage message{view->type, std::string(view->body)};
  buffer.erase(0, view->wire.size());
  return std::optional<RawMessage>(std::move(message));
}

std::string error_field(std::string_view body, char code) {
  std::size_t at = 0;
  while (at < body.size() && body[at] != '\0') {
    const char field = body[at++];
    const std::size_t end = body.find('\0', at);
    if (end == std::string_view::npos) return {};
    if (field == code) return std::string(body.substr(at, end - at));
    at = end + 1;
  }
  return {};
}

}  // namespace pgstack::pgwire
