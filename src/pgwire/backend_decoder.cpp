#include "pgwire/backend_decoder.h"

#include <array>
#include <string>

#include "pgwire/decoder_common.h"
#include "pgwire/message_reader.h"

namespace pgstack::pgwire {
namespace {

using detail::LengthClass;
using detail::MessageReader;

using Handler = bool (*)(BackendEvents& events, MessageReader& reader, std::size_t body_length);

struct MessageSpec {
  const char* name = nullptr;  // nullptr: not a backend message type
  LengthClass length_class = LengthClass::kSmall;
  bool skip_body = false;
  Handler handler = nullptr;
};

constexpr std::size_t kTypedHeaderLength = 5;
constexpr std::size_t kAnswerHeaderLength = 1;

// What follows the code in each Authentication request.
enum class AuthenticationPayload { kNone, kSalt, kOpaque, kMechanisms };

struct AuthenticationSpec {
  std::int32_t code;
  AuthenticationKind kind;
  AuthenticationPayload payload;
};

constexpr AuthenticationSpec kAuthenticationSpecs[] = {
    {0, AuthenticationKind::kOk, AuthenticationPayload::kNone},
    {2, AuthenticationKind::kKerberosV5, AuthenticationPayload::kNone},
    {3, AuthenticationKind::kCleartextPassword, AuthenticationPayload::kNone},
    {5, AuthenticationKind::kMd5Password, AuthenticationPayload::kSalt},
    {7, AuthenticationKind::kGss, AuthenticationPayload::kNone},
    {8, AuthenticationKind::kGssContinue, AuthenticationPayload::kOpaque},
    {9, AuthenticationKind::kSspi, AuthenticationPayload::kNone},
    {10, AuthenticationKind::kSasl, AuthenticationPayload::kMechanisms},
    {11, AuthenticationKind::kSaslContinue, AuthenticationPayload::kOpaque},
    {12, AuthenticationKind::kSaslFinal, AuthenticationPayload::kOpaque},
};

bool decode_authentication(BackendEvents& events, MessageReader& reader, std::size_t) {
  AuthenticationRequest request;
  if (!reader.read_i32(request.code, "authentication code")) return false;
  request.data_size = reader.remaining();
  AuthenticationPayload payload = AuthenticationPayload::kOpaque;
  for (const auto& spec : kAuthenticationSpecs) {
    if (spec.code == request.code) {
      request.kind = spec.kind;
      payload = spec.payload;
    }
  }
  switch (payload) {
    case AuthenticationPayload::kNone:
      if (!reader.expect_end()) return false;
      break;
    case AuthenticationPayload::kSalt:
      if (reader.remaining() != 4) {
        return reader.fail("the MD5 salt is 4 bytes, got " + std::to_string(reader.remaining()));
      }
      break;
    case AuthenticationPayload::kOpaque: break;
    case AuthenticationPayload::kMechanisms:
      if (!reader.read_terminated_string_list(request.sasl_mechanisms, "SASL mechanisms") || !reader.expect_end()) {
        return false;
      }
      break;
  }
  events.on_authentication(request);
  return true;
}

bool decode_parameter_status(BackendEvents& events, MessageReader& reader, std::size_t) {
  std::string_view name;
  std::string_view value;
  if (!reader.read_string(name, "parameter name") || !reader.read_string(value, "parameter value") ||
      !reader.expect_end()) {
    return false;
  }
  events.on_parameter_status(name, value);
  return true;
}

bool decode_backend_key_data(BackendEvents& events, MessageReader& reader, std::size_t) {
  BackendKey key;
  if (!reader.read_i32(key.process_id, "process ID")) return false;
  if (reader.remaining() < 4 || reader.remaining() > kMaxSecretKeyLength) {
    return reader.fail("secret key of " + std::to_string(reader.remaining()) + " bytes: expected 4 to " +
                       std::to_string(kMaxSecretKeyLength));
  }
  key.secret_key = reader.rest();
  events.on_backend_key_data(key);
  return true;
}

bool decode_ready_for_query(BackendEvents& events, MessageReader& reader, std::size_t) {
  std::uint8_t byte = 0;
  if (!reader.read_u8(byte, "transaction status") || !reader.expect_end()) return false;
  TransactionStatus status = TransactionStatus::kIdle;
  switch (byte) {
    case 'I': status = TransactionStatus::kIdle; break;
    case 'T': status = TransactionStatus::kInTransaction; break;
    case 'E': status = TransactionStatus::kFailed; break;
    default:
      return reader.fail("invalid transaction status " + detail::describe_type_byte(byte) +
                         ": expected 'I', 'T' or 'E'");
  }
  events.on_ready_for_query(status);
  return true;
}

bool decode_row_description(BackendEvents& events, MessageReader& reader, std::size_t) {
  RowDescription description;
  std::uint16_t count = 0;
  if (!reader.read_u16(count, "field count") || !reader.read_list(count, description.fields, "fields") ||
      !reader.expect_end()) {
    return false;
  }
  events.on_row_description(description);
  return true;
}

bool decode_data_row(BackendEvents& events, MessageReader& reader, std::size_t body_length) {
  DataRow row;
  std::uint16_t count = 0;
  if (!reader.read_u16(count, "column count") || !reader.read_list(count, row.values, "column values") ||
      !reader.expect_end()) {
    return false;
  }
  row.wire_size = body_length + kTypedHeaderLength;
  events.on_data_row(row);
  return true;
}

bool decode_command_complete(BackendEvents& events, MessageReader& reader, std::size_t) {
  std::string_view tag;
  if (!reader.read_string(tag, "command tag") || !reader.expect_end()) return false;
  events.on_command_complete(parse_command_tag(tag));
  return true;
}

bool read_error_fields(MessageReader& reader, ErrorFields& fields) {
  while (true) {
    std::uint8_t code = 0;
    if (!reader.read_u8(code, "field code")) return false;
    if (code == 0) return reader.expect_end();
    std::string_view value;
    if (!reader.read_string(value, "field value")) return false;
    // Unknown codes are ignored, as the protocol asks of frontends.
    if (auto member = error_field_member(static_cast<char>(code))) fields.*member = value;
  }
}

bool decode_error_response(BackendEvents& events, MessageReader& reader, std::size_t) {
  ErrorFields fields;
  if (!read_error_fields(reader, fields)) return false;
  events.on_error(fields);
  return true;
}

bool decode_notice_response(BackendEvents& events, MessageReader& reader, std::size_t) {
  ErrorFields fields;
  if (!read_error_fields(reader, fields)) return false;
  events.on_notice(fields);
  return true;
}

template <void (BackendEvents::*kEvent)()>
bool decode_empty(BackendEvents& events, MessageReader& reader, std::size_t) {
  if (!reader.expect_end()) return false;
  (events.*kEvent)();
  return true;
}

bool decode_parameter_description(BackendEvents& events, MessageReader& reader, std::size_t) {
  OidArray types;
  if (!reader.read_oid_array(types, "parameter types") || !reader.expect_end()) return false;
  events.on_parameter_description(types);
  return true;
}

template <void (BackendEvents::*kEvent)(const CopyResponse&)>
bool decode_copy_response(BackendEvents& events, MessageReader& reader, std::size_t) {
  CopyResponse response;
  std::uint8_t format = 0;
  if (!reader.read_u8(format, "copy format") || !reader.read_int16_array(response.column_formats, "column formats") ||
      !reader.expect_end()) {
    return false;
  }
  response.format = static_cast<std::int8_t>(format);
  (events.*kEvent)(response);
  return true;
}

bool decode_copy_data(BackendEvents& events, MessageReader&, std::size_t body_length) {
  events.on_copy_data(body_length);
  return true;
}

bool decode_notification(BackendEvents& events, MessageReader& reader, std::size_t) {
  Notification notification;
  if (!reader.read_i32(notification.process_id, "process ID") ||
      !reader.read_string(notification.channel, "channel name") ||
      !reader.read_string(notification.payload, "payload") || !reader.expect_end()) {
    return false;
  }
  events.on_notification(notification);
  return true;
}

bool decode_negotiate_protocol_version(BackendEvents& events, MessageReader& reader, std::size_t) {
  NegotiateProtocolVersion negotiation;
  std::int32_t count = 0;
  if (!reader.read_u32(negotiation.newest_minor_version, "newest minor version") ||
      !reader.read_i32(count, "option count")) {
    return false;
  }
  if (count < 0) return reader.fail("negative option count " + std::to_string(count));
  // Each option takes at least its terminator, so a count beyond the bytes left fails here, not later.
  if (static_cast<std::size_t>(count) > reader.remaining()) {
    return reader.fail("option count " + std::to_string(count) + " exceeds the " + std::to_string(reader.remaining()) +
                       " bytes left in the message");
  }
  if (!reader.read_list(static_cast<std::size_t>(count), negotiation.unrecognized_options, "options") ||
      !reader.expect_end()) {
    return false;
  }
  events.on_negotiate_protocol_version(negotiation);
  return true;
}

bool decode_function_call_response(BackendEvents& events, MessageReader& reader, std::size_t) {
  ValueList result;
  if (!reader.read_list(1, result, "result value") || !reader.expect_end()) return false;
  events.on_function_call_response(*result.begin());
  return true;
}

constexpr std::array<MessageSpec, 256> make_message_table() {
  std::array<MessageSpec, 256> table{};
  auto set = [&table](char type, const char* name, LengthClass length_class, Handler handler) {
    table[static_cast<unsigned char>(type)] = MessageSpec{name, length_class, false, handler};
  };
  set('R', "Authentication", LengthClass::kAuth, decode_authentication);
  set('S', "ParameterStatus", LengthClass::kSmall, decode_parameter_status);
  set('K', "BackendKeyData", LengthClass::kSmall, decode_backend_key_data);
  set('v', "NegotiateProtocolVersion", LengthClass::kSmall, decode_negotiate_protocol_version);
  set('Z', "ReadyForQuery", LengthClass::kSmall, decode_ready_for_query);
  set('T', "RowDescription", LengthClass::kLarge, decode_row_description);
  set('D', "DataRow", LengthClass::kLarge, decode_data_row);
  set('C', "CommandComplete", LengthClass::kSmall, decode_command_complete);
  set('I', "EmptyQueryResponse", LengthClass::kSmall, decode_empty<&BackendEvents::on_empty_query_response>);
  set('E', "ErrorResponse", LengthClass::kLarge, decode_error_response);
  set('N', "NoticeResponse", LengthClass::kLarge, decode_notice_response);
  set('A', "NotificationResponse", LengthClass::kLarge, decode_notification);
  set('V', "FunctionCallResponse", LengthClass::kLarge, decode_function_call_response);
  set('1', "ParseComplete", LengthClass::kSmall, decode_empty<&BackendEvents::on_parse_complete>);
  set('2', "BindComplete", LengthClass::kSmall, decode_empty<&BackendEvents::on_bind_complete>);
  set('3', "CloseComplete", LengthClass::kSmall, decode_empty<&BackendEvents::on_close_complete>);
  set('n', "NoData", LengthClass::kSmall, decode_empty<&BackendEvents::on_no_data>);
  set('s', "PortalSuspended", LengthClass::kSmall, decode_empty<&BackendEvents::on_portal_suspended>);
  set('t', "ParameterDescription", LengthClass::kLarge, decode_parameter_description);
  set('G', "CopyInResponse", LengthClass::kLarge, decode_copy_response<&BackendEvents::on_copy_in_response>);
  set('H', "CopyOutResponse", LengthClass::kLarge, decode_copy_response<&BackendEvents::on_copy_out_response>);
  set('W', "CopyBothResponse", LengthClass::kLarge, decode_copy_response<&BackendEvents::on_copy_both_response>);
  set('d', "CopyData", LengthClass::kLarge, decode_copy_data);
  set('c', "CopyDone", LengthClass::kSmall, decode_empty<&BackendEvents::on_copy_done>);
  table['d'].skip_body = true;
  return table;
}

constexpr std::array<MessageSpec, 256> kMessages = make_message_table();

}  // namespace

BackendDecoder::BackendDecoder(BackendEvents& events, DecoderLimits limits) : events_(events), limits_(limits) {}

DecodeStatus BackendDecoder::feed(std::span<const std::uint8_t> bytes) { return framer_.feed(bytes, *this); }

DecodeStatus BackendDecoder::feed(std::string_view bytes) {
  return feed(std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()));
}

std::size_t BackendDecoder::header_length() const {
  return pending_answer_ == PendingAnswer::kNone ? kTypedHeaderLength : kAnswerHeaderLength;
}

bool BackendDecoder::on_header(std::span<const std::uint8_t> header, detail::Frame& frame) {
  const std::uint8_t type = header[0];
  if (header.size() == kAnswerHeaderLength) {
    const char accepted = pending_answer_ == PendingAnswer::kSsl ? 'S' : 'G';
    if (type == 'E') {
      // The server refused the request with an error message: decode it as one.
      pending_answer_ = PendingAnswer::kNone;
      frame.reframe = true;
      return true;
    }
    if (type != static_cast<std::uint8_t>(accepted) && type != 'N') {
      framer_.fail(std::string("received invalid response to ") +
                   (pending_answer_ == PendingAnswer::kSsl ? "SSL" : "GSSAPI") +
                   " negotiation: " + detail::describe_type_byte(type));
      return false;
    }
    frame.type = static_cast<char>(type);
    return true;
  }
  const MessageSpec& spec = kMessages[type];
  if (spec.name == nullptr) {
    framer_.fail("invalid backend message type " + detail::describe_type_byte(type));
    return false;
  }
  const auto length = static_cast<std::int32_t>(detail::load_u32(header.data() + 1));
  if (length < 4) {
    framer_.fail(std::string("invalid length ") + std::to_string(length) + " of " + spec.name +
                 " message: the length counts its own 4 bytes");
    return false;
  }
  const std::uint32_t body_length = static_cast<std::uint32_t>(length) - 4;
  const std::uint32_t limit = detail::limit_for(limits_, spec.length_class);
  if (body_length > limit) {
    framer_.fail(std::string(spec.name) + " message of " + std::to_string(body_length) +
                 " bytes exceeds the limit of " + std::to_string(limit) + " bytes");
    return false;
  }
  frame.type = static_cast<char>(type);
  frame.body_length = body_length;
  frame.skip_body = spec.skip_body;
  return true;
}

void BackendDecoder::on_frame(const detail::Frame& frame, std::span<const std::uint8_t> body, bool more_input) {
  if (frame.header_length == kAnswerHeaderLength) {
    decode_negotiation_answer(frame.type, more_input);
    return;
  }
  const MessageSpec& spec = kMessages[static_cast<unsigned char>(frame.type)];
  events_.on_message(frame.type, frame.wire_size());
  MessageReader reader(body);
  if (!spec.handler(events_, reader, frame.body_length)) {
    framer_.fail(std::string("malformed ") + spec.name + " message: " + reader.error());
  }
}

void BackendDecoder::decode_negotiation_answer(char answer, bool more_input) {
  const bool ssl = pending_answer_ == PendingAnswer::kSsl;
  pending_answer_ = PendingAnswer::kNone;
  const bool accepted = answer != 'N';
  if (accepted && more_input) {
    framer_.fail(std::string("received unencrypted data after ") + (ssl ? "SSL" : "GSSAPI encryption") + " response");
    return;
  }
  if (ssl) {
    events_.on_ssl_response(accepted);
  } else {
    events_.on_gssenc_response(accepted);
  }
}

}  // namespace pgstack::pgwire
