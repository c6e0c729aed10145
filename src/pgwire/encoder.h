// Builds protocol messages: what a proxy answers by itself (ErrorResponse, the 'N'/'S' to an
// SSLRequest, NegotiateProtocolVersion...) and what tests and benchmarks feed the decoders.
// Strings are written up to their first NUL, so every message built here is well-formed.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "pgwire/messages.h"

namespace pgstack::pgwire {

class MessageBuilder {
 public:
  explicit MessageBuilder(char type);      // a typed message
  static MessageBuilder startup_packet();  // no type byte

  MessageBuilder& add_u8(std::uint8_t value);
  MessageBuilder& add_i16(std::int16_t value);
  MessageBuilder& add_i32(std::int32_t value);
  MessageBuilder& add_u32(std::uint32_t value);
  MessageBuilder& add_string(std::string_view text);  // NUL-terminated
  MessageBuilder& add_bytes(std::string_view bytes);
  MessageBuilder& add_bytes(std::span<const std::uint8_t> bytes);
  MessageBuilder& add_value(std::optional<std::string_view> value);  // Int32 length (-1: NULL), bytes
  // Fills in the length word and hands over the bytes.
  std::string finish();

 private:
  MessageBuilder() = default;
  std::string bytes_;
  std::size_t length_offset_ = 0;
};

std::string encode_message(char type, std::string_view payload);

// ---- Frontend (client -> server).
std::string encode_startup(const std::vector<StartupParameter>& parameters, ProtocolVersion version = {});
std::string encode_ssl_request();
std::string encode_gssenc_request();
std::string encode_cancel_request(std::int32_t process_id, std::uint32_t secret_key);
std::string encode_cancel_request(std::int32_t process_id, std::span<const std::uint8_t> secret_key);
std::string encode_query(std::string_view sql);
std::string encode_parse(std::string_view statement, std::string_view query,
                         const std::vector<std::uint32_t>& parameter_types = {});
std::string encode_bind(std::string_view portal, std::string_view statement,
                        const std::vector<std::optional<std::string_view>>& parameters,
                        const std::vector<std::int16_t>& parameter_formats = {},
                        const std::vector<std::int16_t>& result_formats = {});
std::string encode_execute(std::string_view portal, std::int32_t max_rows = 0);
std::string encode_describe(TargetKind kind, std::string_view name);
std::string encode_close(TargetKind kind, std::string_view name);
std::string encode_sync();
std::string encode_flush();
std::string encode_terminate();
std::string encode_function_call(std::uint32_t function_oid,
                                 const std::vector<std::optional<std::string_view>>& arguments,
                                 const std::vector<std::int16_t>& argument_formats = {},
                                 std::int16_t result_format = 0);
std::string encode_copy_data(std::string_view data);
std::string encode_copy_done();
std::string encode_copy_fail(std::string_view message);
std::string encode_password_message(std::string_view password);

// ---- Backend (server -> client).
std::string encode_ssl_response(bool accepted);     // 'S' or 'N'
std::string encode_gssenc_response(bool accepted);  // 'G' or 'N'
std::string encode_authentication(AuthenticationKind kind, std::string_view data = {});
std::string encode_authentication_sasl(const std::vector<std::string_view>& mechanisms);
std::string encode_parameter_status(std::string_view name, std::string_view value);
std::string encode_backend_key_data(std::int32_t process_id, std::uint32_t secret_key);
std::string encode_backend_key_data(std::int32_t process_id, std::span<const std::uint8_t> secret_key);
std::string encode_negotiate_protocol_version(std::uint32_t newest_minor_version,
                                              const std::vector<std::string_view>& unrecognized_options);
std::string encode_ready_for_query(TransactionStatus status);
std::string encode_row_description(const std::vector<FieldDescription>& fields);
std::string encode_data_row(const std::vector<std::optional<std::string_view>>& values);
std::string encode_command_complete(std::string_view tag);
std::string encode_empty_query_response();
// Writes S and V (severity), C, M, then the other non-empty fields.
std::string encode_error_response(const ErrorFields& fields);
std::string encode_error_response(std::string_view severity, std::string_view sqlstate, std::string_view message);
std::string encode_notice_response(const ErrorFields& fields);
std::string encode_notification(std::int32_t process_id, std::string_view channel, std::string_view payload);
std::string encode_function_call_response(std::optional<std::string_view> result);
std::string encode_parse_complete();
std::string encode_bind_complete();
std::string encode_close_complete();
std::string encode_no_data();
std::string encode_portal_suspended();
std::string encode_parameter_description(const std::vector<std::uint32_t>& parameter_types);
std::string encode_copy_in_response(std::int8_t format, const std::vector<std::int16_t>& column_formats);
std::string encode_copy_out_response(std::int8_t format, const std::vector<std::int16_t>& column_formats);
std::string encode_copy_both_response(std::int8_t format, const std::vector<std::int16_t>& column_formats);

}  // namespace pgstack::pgwire
