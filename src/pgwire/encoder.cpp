#include "pgwire/encoder.h"

#include <algorithm>

namespace pgstack::pgwire {
namespace {

constexpr std::size_t kMaxCount = 0xFFFF;  // counts are UInt16 on the wire

std::int16_t wire_count(std::size_t size) { return static_cast<std::int16_t>(std::min(size, kMaxCount)); }

std::string_view up_to_nul(std::string_view text) { return text.substr(0, text.find('\0')); }

std::string encode_empty(char type) { return MessageBuilder(type).finish(); }

std::string encode_copy_response(char type, std::int8_t format, const std::vector<std::int16_t>& column_formats) {
  MessageBuilder builder(type);
  builder.add_u8(static_cast<std::uint8_t>(format)).add_i16(wire_count(column_formats.size()));
  for (std::size_t i = 0; i < std::min(column_formats.size(), kMaxCount); ++i) builder.add_i16(column_formats[i]);
  return builder.finish();
}

std::string encode_fields(char type, const ErrorFields& fields) {
  static constexpr std::string_view kOrder = "SVCMDHPpqWstcdnFLR";
  MessageBuilder builder(type);
  for (const char code : kOrder) {
    std::string_view value = fields.*error_field_member(code);
    if (code == 'V' && value.empty()) value = fields.severity;
    if (value.empty()) continue;
    builder.add_u8(static_cast<std::uint8_t>(code)).add_string(value);
  }
  builder.add_u8(0);
  return builder.finish();
}

std::int32_t authentication_code(AuthenticationKind kind) {
  switch (kind) {
    case AuthenticationKind::kOk: return 0;
    case AuthenticationKind::kKerberosV5: return 2;
    case AuthenticationKind::kCleartextPassword: return 3;
    case AuthenticationKind::kMd5Password: return 5;
    case AuthenticationKind::kGss: return 7;
    case AuthenticationKind::kGssContinue: return 8;
    case AuthenticationKind::kSspi: return 9;
    case AuthenticationKind::kSasl: return 10;
    case AuthenticationKind::kSaslContinue: return 11;
    case AuthenticationKind::kSaslFinal: return 12;
    case AuthenticationKind::kUnknown: break;
  }
  return -1;
}

std::span<const std::uint8_t> key_bytes(const std::uint32_t& key, std::uint8_t (&buffer)[4]) {
  buffer[0] = static_cast<std::uint8_t>(key >> 24);
  buffer[1] = static_cast<std::uint8_t>(key >> 16);
  buffer[2] = static_cast<std::uint8_t>(key >> 8);
  buffer[3] = static_cast<std::uint8_t>(key);
  return buffer;
}

}  // namespace

MessageBuilder::MessageBuilder(char type) {
  bytes_.push_back(type);
  length_offset_ = 1;
  bytes_.append(4, '\0');
}

MessageBuilder MessageBuilder::startup_packet() {
  MessageBuilder builder;
  builder.length_offset_ = 0;
  builder.bytes_.append(4, '\0');
  return builder;
}

MessageBuilder& MessageBuilder::add_u8(std::uint8_t value) {
  bytes_.push_back(static_cast<char>(value));
  return *this;
}

MessageBuilder& MessageBuilder::add_i16(std::int16_t value) {
  const auto bits = static_cast<std::uint16_t>(value);
  bytes_.push_back(static_cast<char>(bits >> 8));
  bytes_.push_back(static_cast<char>(bits & 0xff));
  return *this;
}

MessageBuilder& MessageBuilder::add_u32(std::uint32_t value) {
  for (int shift = 24; shift >= 0; shift -= 8) bytes_.push_back(static_cast<char>((value >> shift) & 0xff));
  return *this;
}

MessageBuilder& MessageBuilder::add_i32(std::int32_t value) { return add_u32(static_cast<std::uint32_t>(value)); }

MessageBuilder& MessageBuilder::add_string(std::string_view text) {
  bytes_.append(up_to_nul(text));
  bytes_.push_back('\0');
  return *this;
}

MessageBuilder& MessageBuilder::add_bytes(std::string_view bytes) {
  bytes_.append(bytes);
  return *this;
}

MessageBuilder& MessageBuilder::add_bytes(std::span<const std::uint8_t> bytes) {
  bytes_.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  return *this;
}

MessageBuilder& MessageBuilder::add_value(std::optional<std::string_view> value) {
  if (!value) return add_i32(-1);
  add_i32(static_cast<std::int32_t>(value->size()));
  return add_bytes(*value);
}

std::string MessageBuilder::finish() {
  const auto length = static_cast<std::uint32_t>(bytes_.size() - length_offset_);
  for (int i = 0; i < 4; ++i) bytes_[length_offset_ + i] = static_cast<char>((length >> (24 - 8 * i)) & 0xff);
  return std::move(bytes_);
}

std::string encode_message(char type, std::string_view payload) {
  return MessageBuilder(type).add_bytes(payload).finish();
}

// ---- Frontend.

std::string encode_startup(const std::vector<StartupParameter>& parameters, ProtocolVersion version) {
  MessageBuilder builder = MessageBuilder::startup_packet();
  builder.add_u32(version.code());
  for (const auto& parameter : parameters) {
    if (up_to_nul(parameter.name).empty()) continue;  // an empty name would end the list
    builder.add_string(parameter.name).add_string(parameter.value);
  }
  builder.add_u8(0);
  return builder.finish();
}

std::string encode_ssl_request() { return MessageBuilder::startup_packet().add_u32(kSslRequestCode).finish(); }

std::string encode_gssenc_request() { return MessageBuilder::startup_packet().add_u32(kGssencRequestCode).finish(); }

std::string encode_cancel_request(std::int32_t process_id, std::uint32_t secret_key) {
  std::uint8_t buffer[4];
  return encode_cancel_request(process_id, key_bytes(secret_key, buffer));
}

std::string encode_cancel_request(std::int32_t process_id, std::span<const std::uint8_t> secret_key) {
  return MessageBuilder::startup_packet()
      .add_u32(kCancelRequestCode)
      .add_i32(process_id)
      .add_bytes(secret_key.first(std::min(secret_key.size(), kMaxSecretKeyLength)))
      .finish();
}

std::string encode_query(std::string_view sql) { return MessageBuilder('Q').add_string(sql).finish(); }

std::string encode_parse(std::string_view statement, std::string_view query,
                         const std::vector<std::uint32_t>& parameter_types) {
  MessageBuilder builder('P');
  builder.add_string(statement).add_string(query).add_i16(wire_count(parameter_types.size()));
  for (std::size_t i = 0; i < std::min(parameter_types.size(), kMaxCount); ++i) builder.add_u32(parameter_types[i]);
  return builder.finish();
}

std::string encode_bind(std::string_view portal, std::string_view statement,
                        const std::vector<std::optional<std::string_view>>& parameters,
                        const std::vector<std::int16_t>& parameter_formats,
                        const std::vector<std::int16_t>& result_formats) {
  MessageBuilder builder('B');
  builder.add_string(portal).add_string(statement).add_i16(wire_count(parameter_formats.size()));
  for (std::size_t i = 0; i < std::min(parameter_formats.size(), kMaxCount); ++i) builder.add_i16(parameter_formats[i]);
  builder.add_i16(wire_count(parameters.size()));
  for (std::size_t i = 0; i < std::min(parameters.size(), kMaxCount); ++i) builder.add_value(parameters[i]);
  builder.add_i16(wire_count(result_formats.size()));
  for (std::size_t i = 0; i < std::min(result_formats.size(), kMaxCount); ++i) builder.add_i16(result_formats[i]);
  return builder.finish();
}

std::string encode_execute(std::string_view portal, std::int32_t max_rows) {
  return MessageBuilder('E').add_string(portal).add_i32(max_rows).finish();
}

std::string encode_describe(TargetKind kind, std::string_view name) {
  return MessageBuilder('D').add_u8(kind == TargetKind::kStatement ? 'S' : 'P').add_string(name).finish();
}

std::string encode_close(TargetKind kind, std::string_view name) {
  return MessageBuilder('C').add_u8(kind == TargetKind::kStatement ? 'S' : 'P').add_string(name).finish();
}

std::string encode_sync() { return encode_empty('S'); }
std::string encode_flush() { return encode_empty('H'); }
std::string encode_terminate() { return encode_empty('X'); }

std::string encode_function_call(std::uint32_t function_oid,
                                 const std::vector<std::optional<std::string_view>>& arguments,
                                 const std::vector<std::int16_t>& argument_formats, std::int16_t result_format) {
  MessageBuilder builder('F');
  builder.add_u32(function_oid).add_i16(wire_count(argument_formats.size()));
  for (std::size_t i = 0; i < std::min(argument_formats.size(), kMaxCount); ++i) builder.add_i16(argument_formats[i]);
  builder.add_i16(wire_count(arguments.size()));
  for (std::size_t i = 0; i < std::min(arguments.size(), kMaxCount); ++i) builder.add_value(arguments[i]);
  builder.add_i16(result_format);
  return builder.finish();
}

std::string encode_copy_data(std::string_view data) { return encode_message('d', data); }
std::string encode_copy_done() { return encode_empty('c'); }
std::string encode_copy_fail(std::string_view message) { return MessageBuilder('f').add_string(message).finish(); }
std::string encode_password_message(std::string_view password) {
  return MessageBuilder('p').add_string(password).finish();
}

// ---- Backend.

std::string encode_ssl_response(bool accepted) { return accepted ? "S" : "N"; }
std::string encode_gssenc_response(bool accepted) { return accepted ? "G" : "N"; }

std::string encode_authentication(AuthenticationKind kind, std::string_view data) {
  return MessageBuilder('R').add_i32(authentication_code(kind)).add_bytes(data).finish();
}

std::string encode_authentication_sasl(const std::vector<std::string_view>& mechanisms) {
  MessageBuilder builder('R');
  builder.add_i32(authentication_code(AuthenticationKind::kSasl));
  for (const auto mechanism : mechanisms) {
    if (!up_to_nul(mechanism).empty()) builder.add_string(mechanism);
  }
  builder.add_u8(0);
  return builder.finish();
}

std::string encode_parameter_status(std::string_view name, std::string_view value) {
  return MessageBuilder('S').add_string(name).add_string(value).finish();
}

std::string encode_backend_key_data(std::int32_t process_id, std::uint32_t secret_key) {
  std::uint8_t buffer[4];
  return encode_backend_key_data(process_id, key_bytes(secret_key, buffer));
}

std::string encode_backend_key_data(std::int32_t process_id, std::span<const std::uint8_t> secret_key) {
  return MessageBuilder('K')
      .add_i32(process_id)
      .add_bytes(secret_key.first(std::min(secret_key.size(), kMaxSecretKeyLength)))
      .finish();
}

std::string encode_negotiate_protocol_version(std::uint32_t newest_minor_version,
                                              const std::vector<std::string_view>& unrecognized_options) {
  MessageBuilder builder('v');
  builder.add_u32(newest_minor_version).add_i32(static_cast<std::int32_t>(unrecognized_options.size()));
  for (const auto option : unrecognized_options) builder.add_string(option);
  return builder.finish();
}

std::string encode_ready_for_query(TransactionStatus status) {
  return MessageBuilder('Z').add_u8(static_cast<std::uint8_t>(transaction_status_byte(status))).finish();
}

std::string encode_row_description(const std::vector<FieldDescription>& fields) {
  MessageBuilder builder('T');
  builder.add_i16(wire_count(fields.size()));
  for (std::size_t i = 0; i < std::min(fields.size(), kMaxCount); ++i) {
    const FieldDescription& field = fields[i];
    builder.add_string(field.name)
        .add_u32(field.table_oid)
        .add_i16(field.column_number)
        .add_u32(field.type_oid)
        .add_i16(field.type_size)
        .add_i32(field.type_modifier)
        .add_i16(field.format);
  }
  return builder.finish();
}

std::string encode_data_row(const std::vector<std::optional<std::string_view>>& values) {
  MessageBuilder builder('D');
  builder.add_i16(wire_count(values.size()));
  for (std::size_t i = 0; i < std::min(values.size(), kMaxCount); ++i) builder.add_value(values[i]);
  return builder.finish();
}

std::string encode_command_complete(std::string_view tag) { return MessageBuilder('C').add_string(tag).finish(); }
std::string encode_empty_query_response() { return encode_empty('I'); }

std::string encode_error_response(const ErrorFields& fields) { return encode_fields('E', fields); }

std::string encode_error_response(std::string_view severity, std::string_view sqlstate, std::string_view message) {
  ErrorFields fields;
  fields.severity = severity;
  fields.severity_nonlocalized = severity;
  fields.sqlstate = sqlstate;
  fields.message = message;
  return encode_fields('E', fields);
}

std::string encode_notice_response(const ErrorFields& fields) { return encode_fields('N', fields); }

std::string encode_notification(std::int32_t process_id, std::string_view channel, std::string_view payload) {
  return MessageBuilder('A').add_i32(process_id).add_string(channel).add_string(payload).finish();
}

std::string encode_function_call_response(std::optional<std::string_view> result) {
  return MessageBuilder('V').add_value(result).finish();
}

std::string encode_parse_complete() { return encode_empty('1'); }
std::string encode_bind_complete() { return encode_empty('2'); }
std::string encode_close_complete() { return encode_empty('3'); }
std::string encode_no_data() { return encode_empty('n'); }
std::string encode_portal_suspended() { return encode_empty('s'); }

std::string encode_parameter_description(const std::vector<std::uint32_t>& parameter_types) {
  MessageBuilder builder('t');
  builder.add_i16(wire_count(parameter_types.size()));
  for (std::size_t i = 0; i < std::min(parameter_types.size(), kMaxCount); ++i) builder.add_u32(parameter_types[i]);
  return builder.finish();
}

std::string encode_copy_in_response(std::int8_t format, const std::vector<std::int16_t>& column_formats) {
  return encode_copy_response('G', format, column_formats);
}
std::string encode_copy_out_response(std::int8_t format, const std::vector<std::int16_t>& column_formats) {
  return encode_copy_response('H', format, column_formats);
}
std::string encode_copy_both_response(std::int8_t format, const std::vector<std::int16_t>& column_formats) {
  return encode_copy_response('W', format, column_formats);
}

}  // namespace pgstack::pgwire
