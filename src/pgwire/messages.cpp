#include "pgwire/messages.h"

#include <cstring>

#include "pgwire/message_reader.h"

namespace pgstack::pgwire {

bool ValueCodec::decode(std::span<const std::uint8_t> bytes, std::size_t& offset, Value& out) {
  if (offset > bytes.size() || bytes.size() - offset < 4) return false;
  const auto length = static_cast<std::int32_t>(detail::load_u32(bytes.data() + offset));
  if (length == -1) {
    out = Value{};
    offset += 4;
    return true;
  }
  if (length < 0 || bytes.size() - offset - 4 < static_cast<std::size_t>(length)) return false;
  out = Value{false, bytes.subspan(offset + 4, static_cast<std::size_t>(length))};
  offset += 4 + static_cast<std::size_t>(length);
  return true;
}

bool StringCodec::decode(std::span<const std::uint8_t> bytes, std::size_t& offset, std::string_view& out) {
  if (offset >= bytes.size()) return false;
  const std::uint8_t* start = bytes.data() + offset;
  const void* nul = std::memchr(start, 0, bytes.size() - offset);
  if (nul == nullptr) return false;
  const auto length = static_cast<std::size_t>(static_cast<const std::uint8_t*>(nul) - start);
  out = std::string_view(reinterpret_cast<const char*>(start), length);
  offset += length + 1;
  return true;
}

bool FieldCodec::decode(std::span<const std::uint8_t> bytes, std::size_t& offset, FieldDescription& out) {
  std::string_view name;
  std::size_t cursor = offset;
  if (!StringCodec::decode(bytes, cursor, name)) return false;
  if (bytes.size() - cursor < kFixedBytes) return false;
  const std::uint8_t* p = bytes.data() + cursor;
  out.name = name;
  out.table_oid = detail::load_u32(p);
  out.column_number = static_cast<std::int16_t>(detail::load_u16(p + 4));
  out.type_oid = detail::load_u32(p + 6);
  out.type_size = static_cast<std::int16_t>(detail::load_u16(p + 10));
  out.type_modifier = static_cast<std::int32_t>(detail::load_u32(p + 12));
  out.format = static_cast<std::int16_t>(detail::load_u16(p + 16));
  offset = cursor + kFixedBytes;
  return true;
}

std::optional<std::string_view> StartupMessage::find(std::string_view name) const {
  for (const auto& parameter : parameters) {
    if (parameter.name == name) return parameter.value;
  }
  return std::nullopt;
}

std::string_view authentication_kind_name(AuthenticationKind kind) {
  switch (kind) {
    case AuthenticationKind::kOk: return "AuthenticationOk";
    case AuthenticationKind::kKerberosV5: return "AuthenticationKerberosV5";
    case AuthenticationKind::kCleartextPassword: return "AuthenticationCleartextPassword";
    case AuthenticationKind::kMd5Password: return "AuthenticationMD5Password";
    case AuthenticationKind::kGss: return "AuthenticationGSS";
    case AuthenticationKind::kGssContinue: return "AuthenticationGSSContinue";
    case AuthenticationKind::kSspi: return "AuthenticationSSPI";
    case AuthenticationKind::kSasl: return "AuthenticationSASL";
    case AuthenticationKind::kSaslContinue: return "AuthenticationSASLContinue";
    case AuthenticationKind::kSaslFinal: return "AuthenticationSASLFinal";
    case AuthenticationKind::kUnknown: break;
  }
  return "AuthenticationUnknown";
}

char transaction_status_byte(TransactionStatus status) {
  switch (status) {
    case TransactionStatus::kIdle: return 'I';
    case TransactionStatus::kInTransaction: return 'T';
    case TransactionStatus::kFailed: return 'E';
  }
  return 'I';
}

std::string_view ErrorFields::*error_field_member(char code) {
  switch (code) {
    case 'S': return &ErrorFields::severity;
    case 'V': return &ErrorFields::severity_nonlocalized;
    case 'C': return &ErrorFields::sqlstate;
    case 'M': return &ErrorFields::message;
    case 'D': return &ErrorFields::detail;
    case 'H': return &ErrorFields::hint;
    case 'P': return &ErrorFields::position;
    case 'p': return &ErrorFields::internal_position;
    case 'q': return &ErrorFields::internal_query;
    case 'W': return &ErrorFields::where;
    case 's': return &ErrorFields::schema;
    case 't': return &ErrorFields::table;
    case 'c': return &ErrorFields::column;
    case 'd': return &ErrorFields::data_type;
    case 'n': return &ErrorFields::constraint;
    case 'F': return &ErrorFields::file;
    case 'L': return &ErrorFields::line;
    case 'R': return &ErrorFields::routine;
    default: return nullptr;
  }
}

namespace {

// A decimal count of at most 19 digits (fits in uint64 without overflow checks).
std::optional<std::uint64_t> parse_count(std::string_view text) {
  if (text.empty() || text.size() > 19) return std::nullopt;
  std::uint64_t value = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return value;
}

CommandKind command_kind(std::string_view command) {
  struct Entry {
    std::string_view command;
    CommandKind kind;
  };
  static constexpr Entry kKinds[] = {
      {"SELECT", CommandKind::kSelect}, {"INSERT", CommandKind::kInsert},
      {"UPDATE", CommandKind::kUpdate}, {"DELETE", CommandKind::kDelete},
      {"MERGE", CommandKind::kMerge},   {"COPY", CommandKind::kCopy},
      {"FETCH", CommandKind::kFetch},   {"MOVE", CommandKind::kMove},
      {"BEGIN", CommandKind::kBegin},   {"START TRANSACTION", CommandKind::kBegin},
      {"COMMIT", CommandKind::kCommit}, {"ROLLBACK", CommandKind::kRollback},
  };
  for (const auto& entry : kKinds) {
    if (entry.command == command) return entry.kind;
  }
  return CommandKind::kOther;
}

}  // namespace

CommandTag parse_command_tag(std::string_view tag) {
  CommandTag result;
  result.text = tag;
  result.command = tag;
  const std::size_t last_space = tag.rfind(' ');
  if (last_space != std::string_view::npos) {
    if (auto rows = parse_count(tag.substr(last_space + 1))) {
      std::string_view command = tag.substr(0, last_space);
      // "INSERT oid rows": the oid (always 0 since PostgreSQL 12) is not part of the command.
      const std::size_t oid_space = command.rfind(' ');
      if (oid_space != std::string_view::npos && command.substr(0, oid_space) == "INSERT" &&
          parse_count(command.substr(oid_space + 1))) {
        command = command.substr(0, oid_space);
      }
      if (!command.empty()) {
        result.command = command;
        result.rows = rows;
      }
    }
  }
  result.kind = command_kind(result.command);
  return result;
}

}  // namespace pgstack::pgwire
