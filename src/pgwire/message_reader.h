// Internal: bounds-checked reads of one message body. A failed read records which field was wrong
// and leaves the reader failed; it never reads past the body.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "pgwire/messages.h"

namespace pgstack::pgwire::detail {

inline std::uint16_t load_u16(const std::uint8_t* p) { return static_cast<std::uint16_t>((p[0] << 8) | p[1]); }
inline std::uint32_t load_u32(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | p[3];
}

class MessageReader {
 public:
  explicit MessageReader(std::span<const std::uint8_t> body) : body_(body) {}

  bool read_u8(std::uint8_t& out, std::string_view field);
  bool read_u16(std::uint16_t& out, std::string_view field);
  bool read_i16(std::int16_t& out, std::string_view field);
  bool read_u32(std::uint32_t& out, std::string_view field);
  bool read_i32(std::int32_t& out, std::string_view field);
  bool read_string(std::string_view& out, std::string_view field);  // NUL-terminated
  bool read_bytes(std::size_t count, std::span<const std::uint8_t>& out, std::string_view field);
  // A UInt16 count followed by that many fixed-width integers.
  bool read_int16_array(Int16Array& out, std::string_view field);
  bool read_oid_array(OidArray& out, std::string_view field);
  // `count` items decoded by Codec, checked one by one.
  template <typename Codec>
  bool read_list(std::size_t count, PackedList<Codec>& out, std::string_view field);
  // The rest of the body, as a checked StringList ending in an empty string (SASL mechanisms).
  bool read_terminated_string_list(StringList& out, std::string_view field);
  // Nothing may follow the last field.
  bool expect_end();
  std::span<const std::uint8_t> rest();

  std::size_t remaining() const { return body_.size() - offset_; }
  std::size_t size() const { return body_.size(); }
  bool failed() const { return !error_.empty(); }
  const std::string& error() const { return error_; }
  bool fail(std::string message);

 private:
  bool truncated(std::string_view field, std::size_t needed);

  std::span<const std::uint8_t> body_;
  std::size_t offset_ = 0;
  std::string error_;
};

template <typename Codec>
bool MessageReader::read_list(std::size_t count, PackedList<Codec>& out, std::string_view field) {
  if (failed()) return false;
  const std::size_t start = offset_;
  std::size_t offset = offset_;
  typename Codec::Item item{};
  for (std::size_t i = 0; i < count; ++i) {
    if (!Codec::decode(body_, offset, item)) {
      return fail(std::string(field) + ": item " + std::to_string(i + 1) + " of " + std::to_string(count) +
                  " is malformed or runs past the end of the message (" + std::to_string(body_.size()) + " bytes)");
    }
  }
  out = PackedList<Codec>(count, body_.subspan(start, offset - start));
  offset_ = offset;
  return true;
}

}  // namespace pgstack::pgwire::detail
