#include "pgwire/frontend_decoder.h"

#include <array>
#include <string>

#include "pgwire/decoder_common.h"
#include "pgwire/message_reader.h"

namespace pgstack::pgwire {
namespace {

using detail::LengthClass;
using detail::MessageReader;

// A handler reads one message body and reports it; false (with reader.error() set) if malformed.
using Handler = bool (*)(FrontendEvents& events, MessageReader& reader, std::size_t body_length);

struct MessageSpec {
  const char* name = nullptr;  // nullptr: not a frontend message type
  LengthClass length_class = LengthClass::kSmall;
  bool skip_body = false;  // the handler gets only the size
  bool ends_stream = false;
  Handler handler = nullptr;
};

bool read_target_kind(MessageReader& reader, TargetKind& kind, const char* message) {
  std::uint8_t byte = 0;
  if (!reader.read_u8(byte, "target kind")) return false;
  if (byte == 'S') {
    kind = TargetKind::kStatement;
  } else if (byte == 'P') {
    kind = TargetKind::kPortal;
  } else {
    return reader.fail(std::string("invalid ") + message + " target " + detail::describe_type_byte(byte) +
                       ": expected 'S' (statement) or 'P' (portal)");
  }
  return true;
}

// Postgres: zero format codes (all text), one (applies to all), or one per value.
bool check_format_count(MessageReader& reader, std::size_t formats, std::size_t values, const char* what) {
  if (formats > 1 && formats != values) {
    return reader.fail(std::to_string(formats) + " " + what + " formats but " + std::to_string(values) + " " + what +
                       "s: expected 0, 1 or one per " + what);
  }
  return true;
}

bool decode_query(FrontendEvents& events, MessageReader& reader, std::size_t) {
  std::string_view sql;
  if (!reader.read_string(sql, "query string") || !reader.expect_end()) return false;
  events.on_query(sql);
  return true;
}

bool decode_parse(FrontendEvents& events, MessageReader& reader, std::size_t) {
  ParseMessage parse;
  if (!reader.read_string(parse.statement, "statement name") || !reader.read_string(parse.query, "query string") ||
      !reader.read_oid_array(parse.parameter_types, "parameter types") || !reader.expect_end()) {
    return false;
  }
  events.on_parse(parse);
  return true;
}

bool decode_bind(FrontendEvents& events, MessageReader& reader, std::size_t) {
  BindMessage bind;
  std::uint16_t parameter_count = 0;
  if (!reader.read_string(bind.portal, "portal name") || !reader.read_string(bind.statement, "statement name") ||
      !reader.read_int16_array(bind.parameter_formats, "parameter formats") ||
      !reader.read_u16(parameter_count, "parameter count") ||
      !reader.read_list(parameter_count, bind.parameters, "parameter values") ||
      !reader.read_int16_array(bind.result_formats, "result formats") || !reader.expect_end()) {
    return false;
  }
  if (!check_format_count(reader, bind.parameter_formats.size(), parameter_count, "parameter")) return false;
  events.on_bind(bind);
  return true;
}

bool decode_execute(FrontendEvents& events, MessageReader& reader, std::size_t) {
  std::string_view portal;
  std::int32_t max_rows = 0;
  if (!reader.read_string(portal, "portal name") || !reader.read_i32(max_rows, "row limit") || !reader.expect_end()) {
    return false;
  }
  events.on_execute(portal, max_rows);
  return true;
}

bool decode_describe(FrontendEvents& events, MessageReader& reader, std::size_t) {
  TargetKind kind = TargetKind::kStatement;
  std::string_view name;
  if (!read_target_kind(reader, kind, "Describe") || !reader.read_string(name, "name") || !reader.expect_end()) {
    return false;
  }
  events.on_describe(kind, name);
  return true;
}

bool decode_close(FrontendEvents& events, MessageReader& reader, std::size_t) {
  TargetKind kind = TargetKind::kStatement;
  std::string_view name;
  if (!read_target_kind(reader, kind, "Close") || !reader.read_string(name, "name") || !reader.expect_end()) {
    return false;
  }
  events.on_close(kind, name);
  return true;
}

bool decode_sync(FrontendEvents& events, MessageReader& reader, std::size_t) {
  if (!reader.expect_end()) return false;
  events.on_sync();
  return true;
}

bool decode_flush(FrontendEvents& events, MessageReader& reader, std::size_t) {
  if (!reader.expect_end()) return false;
  events.on_flush();
  return true;
}

bool decode_terminate(FrontendEvents& events, MessageReader& reader, std::size_t) {
  if (!reader.expect_end()) return false;
  events.on_terminate();
  return true;
}

bool decode_function_call(FrontendEvents& events, MessageReader& reader, std::size_t) {
  FunctionCallMessage call;
  std::uint16_t argument_count = 0;
  if (!reader.read_u32(call.function_oid, "function OID") ||
      !reader.read_int16_array(call.argument_formats, "argument formats") ||
      !reader.read_u16(argument_count, "argument count") ||
      !reader.read_list(argument_count, call.arguments, "argument values") ||
      !reader.read_i16(call.result_format, "result format") || !reader.expect_end()) {
    return false;
  }
  if (!check_format_count(reader, call.argument_formats.size(), argument_count, "argument")) return false;
  events.on_function_call(call);
  return true;
}

bool decode_copy_data(FrontendEvents& events, MessageReader&, std::size_t body_length) {
  events.on_copy_data(body_length);
  return true;
}

bool decode_copy_done(FrontendEvents& events, MessageReader& reader, std::size_t) {
  if (!reader.expect_end()) return false;
  events.on_copy_done();
  return true;
}

bool decode_copy_fail(FrontendEvents& events, MessageReader& reader, std::size_t) {
  std::string_view message;
  if (!reader.read_string(message, "error message") || !reader.expect_end()) return false;
  events.on_copy_fail(message);
  return true;
}

bool decode_authentication_response(FrontendEvents& events, MessageReader&, std::size_t body_length) {
  events.on_authentication_response(body_length);
  return true;
}

constexpr std::array<MessageSpec, 256> make_message_table() {
  std::array<MessageSpec, 256> table{};
  auto set = [&table](char type, const char* name, LengthClass length_class, Handler handler) {
    table[static_cast<unsigned char>(type)] = MessageSpec{name, length_class, false, false, handler};
  };
  set('Q', "Query", LengthClass::kLarge, decode_query);
  set('P', "Parse", LengthClass::kLarge, decode_parse);
  set('B', "Bind", LengthClass::kLarge, decode_bind);
  set('E', "Execute", LengthClass::kSmall, decode_execute);
  set('D', "Describe", LengthClass::kSmall, decode_describe);
  set('C', "Close", LengthClass::kSmall, decode_close);
  set('S', "Sync", LengthClass::kSmall, decode_sync);
  set('H', "Flush", LengthClass::kSmall, decode_flush);
  set('X', "Terminate", LengthClass::kSmall, decode_terminate);
  set('F', "FunctionCall", LengthClass::kLarge, decode_function_call);
  set('d', "CopyData", LengthClass::kLarge, decode_copy_data);
  set('c', "CopyDone", LengthClass::kLarge, decode_copy_done);
  set('f', "CopyFail", LengthClass::kLarge, decode_copy_fail);
  set('p', "authentication response", LengthClass::kAuth, decode_authentication_response);
  table['d'].skip_body = true;
  table['p'].skip_body = true;  // secrets are never copied into the decoder's buffer
  table['X'].ends_stream = true;
  return table;
}

constexpr std::array<MessageSpec, 256> kMessages = make_message_table();

constexpr std::size_t kTypedHeaderLength = 5;
constexpr std::size_t kStartupHeaderLength = 4;

}  // namespace

FrontendDecoder::FrontendDecoder(FrontendEvents& events, DecoderLimits limits) : events_(events), limits_(limits) {}

DecodeStatus FrontendDecoder::feed(std::span<const std::uint8_t> bytes) { return framer_.feed(bytes, *this); }

DecodeStatus FrontendDecoder::feed(std::string_view bytes) {
  return feed(std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()));
}

void FrontendDecoder::expect_startup() {
  startup_phase_ = true;
  terminate_probe_ = false;
  framer_.discard_partial();
}

std::size_t FrontendDecoder::header_length() const {
  return startup_phase_ && !terminate_probe_ ? kStartupHeaderLength : kTypedHeaderLength;
}

void FrontendDecoder::fail_startup_length(std::int32_t length) {
  framer_.fail("invalid length of startup packet: " + std::to_string(length) + " (expected 8 to " +
               std::to_string(std::uint64_t{limits_.startup_packet} + 4) + " bytes)");
}

bool FrontendDecoder::on_header(std::span<const std::uint8_t> header, detail::Frame& frame) {
  if (startup_phase_ && header.size() == kStartupHeaderLength) {
    // 'X' as the top byte of a length would be a startup packet of over 1 GB: read it as a Terminate
    // (sent by node-postgres on connect(); end()) if the next four bytes are its length 4.
    if (header[0] == 'X') {
      terminate_probe_ = true;
      frame.reframe = true;
      return true;
    }
    const auto length = static_cast<std::int32_t>(detail::load_u32(header.data()));
    // The length counts itself and the 4-byte protocol code.
    if (length < 8 || static_cast<std::uint32_t>(length) - 4 > limits_.startup_packet) {
      fail_startup_length(length);
      return false;
    }
    frame.body_length = static_cast<std::uint32_t>(length) - 4;
    return true;
  }
  if (terminate_probe_) {
    terminate_probe_ = false;
    if (detail::load_u32(header.data() + 1) != 4) {
      fail_startup_length(static_cast<std::int32_t>(detail::load_u32(header.data())));
      return false;
    }
    frame.type = 'X';
    frame.body_length = 0;
    return true;
  }
  const std::uint8_t type = header[0];
  const MessageSpec& spec = kMessages[type];
  if (spec.name == nullptr) {
    framer_.fail("invalid frontend message type " + detail::describe_type_byte(type));
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

void FrontendDecoder::on_frame(const detail::Frame& frame, std::span<const std::uint8_t> body, bool more_input) {
  if (frame.header_length == kStartupHeaderLength) {
    events_.on_message('\0', frame.wire_size());
    decode_startup_packet(body, more_input);
    return;
  }
  const MessageSpec& spec = kMessages[static_cast<unsigned char>(frame.type)];
  events_.on_message(frame.type, frame.wire_size());
  MessageReader reader(body);
  if (!spec.handler(events_, reader, frame.body_length)) {
    framer_.fail(std::string("malformed ") + spec.name + " message: " + reader.error());
    return;
  }
  if (spec.ends_stream) framer_.end_stream();
}

void FrontendDecoder::decode_startup_packet(std::span<const std::uint8_t> body, bool more_input) {
  MessageReader reader(body);
  std::uint32_t code = 0;
  (void)reader.read_u32(code, "protocol code");  // the header check guarantees 4 bytes

  if (code == kSslRequestCode || code == kGssencRequestCode) {
    const bool ssl = code == kSslRequestCode;
    const char* name = ssl ? "SSLRequest" : "GSSENCRequest";
    bool& requested = ssl ? ssl_requested_ : gssenc_requested_;
    if (reader.remaining() != 0) {
      framer_.fail(std::string("invalid length of ") + name + ": " + std::to_string(body.size() + 4) +
                   " bytes (expected 8)");
      return;
    }
    if (requested) {
      framer_.fail(std::string("unexpected second ") + name);
      return;
    }
    if (more_input) {
      framer_.fail(std::string("received unencrypted data after ") + (ssl ? "SSL" : "GSSAPI encryption") + " request");
      return;
    }
    requested = true;
    if (ssl) {
      events_.on_ssl_request();
    } else {
      events_.on_gssenc_request();
    }
    return;
  }

  if (code == kCancelRequestCode) {
    BackendKey key;
    const std::size_t key_length = reader.remaining() >= 4 ? reader.remaining() - 4 : 0;
    if (reader.remaining() < 8 || key_length > kMaxSecretKeyLength) {
      framer_.fail("invalid length of cancel request: " + std::to_string(body.size() + 4) + " bytes (expected 16 to " +
                   std::to_string(12 + kMaxSecretKeyLength) + ")");
      return;
    }
    (void)reader.read_i32(key.process_id, "process ID");
    key.secret_key = reader.rest();
    events_.on_cancel_request(key);
    framer_.end_stream();
    return;
  }

  const ProtocolVersion version{static_cast<std::uint16_t>(code >> 16), static_cast<std::uint16_t>(code & 0xffff)};
  if (version.major != 3) {
    events_.on_unsupported_protocol(version);
    framer_.fail("unsupported frontend protocol " + std::to_string(version.major) + "." +
                     std::to_string(version.minor) + ": server supports 3.0 to 3." +
                     std::to_string(kLatestMinorVersion),
                 kSqlstateFeatureNotSupported);
    return;
  }

  startup_parameters_.clear();
  while (true) {
    StartupParameter parameter;
    if (!reader.read_string(parameter.name, "parameter name")) break;
    if (parameter.name.empty()) {
      if (reader.remaining() != 0) reader.fail("expected the terminator as the last byte");
      break;
    }
    if (!reader.read_string(parameter.value, "value of \"" + std::string(parameter.name) + "\"")) break;
    startup_parameters_.push_back(parameter);
  }
  if (reader.failed()) {
    framer_.fail("invalid startup packet layout: " + reader.error());
    return;
  }
  startup_phase_ = false;
  events_.on_startup(StartupMessage{version, startup_parameters_});
}

}  // namespace pgstack::pgwire
