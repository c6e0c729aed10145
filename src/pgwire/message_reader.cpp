#include "pgwire/message_reader.h"

#include <cstring>

namespace pgstack::pgwire::detail {

bool MessageReader::fail(std::string message) {
  if (error_.empty()) error_ = std::move(message);
  return false;
}

bool MessageReader::truncated(std::string_view field, std::size_t needed) {
  return fail(std::string(field) + ": needs " + std::to_string(needed) + " bytes but only " +
              std::to_string(remaining()) + " remain in the message");
}

bool MessageReader::read_u8(std::uint8_t& out, std::string_view field) {
  if (failed()) return false;
  if (remaining() < 1) return truncated(field, 1);
  out = body_[offset_++];
  return true;
}

bool MessageReader::read_u16(std::uint16_t& out, std::string_view field) {
  if (failed()) return false;
  if (remaining() < 2) return truncated(field, 2);
  out = load_u16(body_.data() + offset_);
  offset_ += 2;
  return true;
}

bool MessageReader::read_i16(std::int16_t& out, std::string_view field) {
  std::uint16_t value = 0;
  if (!read_u16(value, field)) return false;
  out = static_cast<std::int16_t>(value);
  return true;
}

bool MessageReader::read_u32(std::uint32_t& out, std::string_view field) {
  if (failed()) return false;
  if (remaining() < 4) return truncated(field, 4);
  out = load_u32(body_.data() + offset_);
  offset_ += 4;
  return true;
}

bool MessageReader::read_i32(std::int32_t& out, std::string_view field) {
  std::uint32_t value = 0;
  if (!read_u32(value, field)) return false;
  out = static_cast<std::int32_t>(value);
  return true;
}

bool MessageReader::read_string(std::string_view& out, std::string_view field) {
  if (failed()) return false;
  const std::uint8_t* start = body_.data() + offset_;
  const void* nul = remaining() == 0 ? nullptr : std::memchr(start, 0, remaining());
  if (nul == nullptr) {
    return fail(std::string(field) + ": string is not NUL-terminated within the message (" +
                std::to_string(remaining()) + " bytes left)");
  }
  const std::size_t length = static_cast<std::size_t>(static_cast<const std::uint8_t*>(nul) - start);
  out = std::string_view(reinterpret_cast<const char*>(start), length);
  offset_ += length + 1;
  return true;
}

bool MessageReader::read_bytes(std::size_t count, std::span<const std::uint8_t>& out, std::string_view field) {
  if (failed()) return false;
  if (remaining() < count) return truncated(field, count);
  out = body_.subspan(offset_, count);
  offset_ += count;
  return true;
}

bool MessageReader::read_int16_array(Int16Array& out, std::string_view field) {
  std::uint16_t count = 0;
  std::span<const std::uint8_t> bytes;
  if (!read_u16(count, std::string(field) + " count")) return false;
  if (remaining() < std::size_t{count} * 2) {
    return fail(std::string(field) + ": count " + std::to_string(count) + " needs " + std::to_string(count * 2) +
                " bytes but only " + std::to_string(remaining()) + " remain in the message");
  }
  if (!read_bytes(std::size_t{count} * 2, bytes, field)) return false;
  out = Int16Array(bytes);
  return true;
}

bool MessageReader::read_oid_array(OidArray& out, std::string_view field) {
  std::uint16_t count = 0;
  std::span<const std::uint8_t> bytes;
  if (!read_u16(count, std::string(field) + " count")) return false;
  if (remaining() < std::size_t{count} * 4) {
    return fail(std::string(field) + ": count " + std::to_string(count) + " needs " +
                std::to_string(std::size_t{count} * 4) + " bytes but only " + std::to_string(remaining()) +
                " remain in the message");
  }
  if (!read_bytes(std::size_t{count} * 4, bytes, field)) return false;
  out = OidArray(bytes);
  return true;
}

bool MessageReader::read_terminated_string_list(StringList& out, std::string_view field) {
  if (failed()) return false;
  const std::size_t start = offset_;
  std::size_t count = 0;
  while (true) {
    std::string_view item;
    if (!read_string(item, field)) return false;
    if (item.empty()) break;
    ++count;
  }
  // The list's bytes exclude the empty terminator.
  out = StringList(count, body_.subspan(start, offset_ - 1 - start));
  return true;
}

bool MessageReader::expect_end() {
  if (failed()) return false;
  if (remaining() != 0) {
    return fail(std::to_string(remaining()) + " unexpected bytes after the last field");
  }
  return true;
}

std::span<const std::uint8_t> MessageReader::rest() {
  auto bytes = body_.subspan(offset_);
  offset_ = body_.size();
  return bytes;
}

}  // namespace pgstack::pgwire::detail
