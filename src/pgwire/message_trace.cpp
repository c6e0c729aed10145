#include "pgwire/message_trace.h"

#include <charconv>
#include <type_traits>

namespace pgstack::pgwire {
namespace {

void append_part(std::string& out, const char* text) { out.append(text); }
void append_part(std::string& out, char c) { out.push_back(c); }
template <typename T>
requires(std::is_integral_v<T> && !std::is_same_v<T, char> &&
         !std::is_same_v<T, bool>) void append_part(std::string& out, T number) {
  char buffer[24];
  const auto result = std::to_chars(buffer, buffer + sizeof(buffer), number);
  out.append(buffer, result.ptr);
}

// Appends each part: text as is, integers in decimal.
template <typename... Parts>
void append(std::string& out, const Parts&... parts) {
  (append_part(out, parts), ...);
}

void append_quoted(std::string& out, std::string_view s) {
  out.push_back('"');
  append_escaped(out, s);
  out.push_back('"');
}

void append_value(std::string& out, const Value& value, bool show_values) {
  if (value.is_null) {
    out += "NULL";
  } else if (show_values) {
    append_quoted(out, value.text());
  } else {
    append(out, value.bytes.size(), 'B');
  }
}

void append_values(std::string& out, const ValueList& values, bool show_values) {
  out += "[";
  bool first = true;
  for (const Value& value : values) {
    if (!first) out += ",";
    first = false;
    append_value(out, value, show_values);
  }
  out += "]";
}

void append_formats(std::string& out, const Int16Array& formats) {
  out += "[";
  for (std::size_t i = 0; i < formats.size(); ++i) {
    if (i > 0) out += ",";
    append(out, formats[i]);
  }
  out += "]";
}

void append_oids(std::string& out, const OidArray& oids) {
  out += "[";
  for (std::size_t i = 0; i < oids.size(); ++i) {
    if (i > 0) out += ",";
    append(out, oids[i]);
  }
  out += "]";
}

void append_key(std::string& out, const BackendKey& key, bool show_values) {
  append(out, " pid=", key.process_id, " key=");
  if (show_values) {
    append_quoted(out, std::string_view(reinterpret_cast<const char*>(key.secret_key.data()), key.secret_key.size()));
  } else {
    append(out, key.secret_key.size(), 'B');
  }
}

void append_error_fields(std::string& out, const ErrorFields& fields) {
  static constexpr std::string_view kCodes = "SVCMDHPpqWstcdnFLR";
  for (const char code : kCodes) {
    const std::string_view value = fields.*error_field_member(code);
    if (value.empty()) continue;
    out += ' ';
    out += code;
    out += '=';
    append_quoted(out, value);
  }
}

void append_copy_response(std::string& out, std::string_view name, const CopyResponse& response) {
  out += name;
  append(out, " format=", response.format, " columns=");
  append_formats(out, response.column_formats);
  out += "\n";
}

const char* target_name(TargetKind kind) { return kind == TargetKind::kStatement ? "statement" : "portal"; }

}  // namespace

void append_escaped(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (const char c : s) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (byte >= 0x20 && byte < 0x7f) {
      out.push_back(c);
    } else {
      out += "\\x";
      out.push_back(kHex[byte >> 4]);
      out.push_back(kHex[byte & 0xf]);
    }
  }
}

// ---- Frontend.

void FrontendTrace::on_message(char type, std::size_t wire_size) {
  if (!options_.show_message_sizes) return;
  out_ += "F message ";
  if (type == '\0') {
    out_ += "startup";
  } else {
    append_escaped(out_, std::string_view(&type, 1));
  }
  append(out_, ' ', wire_size, '\n');
}

void FrontendTrace::on_startup(const StartupMessage& startup) {
  append(out_, "F StartupMessage ", startup.version.major, '.', startup.version.minor);
  for (const auto& parameter : startup.parameters) {
    out_ += " ";
    append_escaped(out_, parameter.name);
    out_ += "=";
    append_quoted(out_, parameter.value);
  }
  out_ += "\n";
}

void FrontendTrace::on_ssl_request() { out_ += "F SSLRequest\n"; }
void FrontendTrace::on_gssenc_request() { out_ += "F GSSENCRequest\n"; }

void FrontendTrace::on_cancel_request(const BackendKey& key) {
  out_ += "F CancelRequest";
  append_key(out_, key, options_.show_values);
  out_ += "\n";
}

void FrontendTrace::on_unsupported_protocol(ProtocolVersion version) {
  append(out_, "F UnsupportedProtocol ", version.major, '.', version.minor, '\n');
}

void FrontendTrace::on_query(std::string_view sql) {
  out_ += "F Query ";
  append_quoted(out_, sql);
  out_ += "\n";
}

void FrontendTrace::on_parse(const ParseMessage& parse) {
  out_ += "F Parse ";
  append_quoted(out_, parse.statement);
  out_ += " ";
  append_quoted(out_, parse.query);
  out_ += " types=";
  append_oids(out_, parse.parameter_types);
  out_ += "\n";
}

void FrontendTrace::on_bind(const BindMessage& bind) {
  out_ += "F Bind ";
  append_quoted(out_, bind.portal);
  out_ += " ";
  append_quoted(out_, bind.statement);
  out_ += " formats=";
  append_formats(out_, bind.parameter_formats);
  out_ += " values=";
  append_values(out_, bind.parameters, options_.show_values);
  out_ += " results=";
  append_formats(out_, bind.result_formats);
  out_ += "\n";
}

void FrontendTrace::on_execute(std::string_view portal, std::int32_t max_rows) {
  out_ += "F Execute ";
  append_quoted(out_, portal);
  append(out_, ' ', max_rows, '\n');
}

void FrontendTrace::on_describe(TargetKind kind, std::string_view name) {
  append(out_, "F Describe ", target_name(kind), ' ');
  append_quoted(out_, name);
  out_ += "\n";
}

void FrontendTrace::on_close(TargetKind kind, std::string_view name) {
  append(out_, "F Close ", target_name(kind), ' ');
  append_quoted(out_, name);
  out_ += "\n";
}

void FrontendTrace::on_sync() { out_ += "F Sync\n"; }
void FrontendTrace::on_flush() { out_ += "F Flush\n"; }

void FrontendTrace::on_function_call(const FunctionCallMessage& call) {
  append(out_, "F FunctionCall ", call.function_oid, " formats=");
  append_formats(out_, call.argument_formats);
  out_ += " args=";
  append_values(out_, call.arguments, options_.show_values);
  append(out_, " result=", call.result_format, '\n');
}

void FrontendTrace::on_terminate() { out_ += "F Terminate\n"; }
void FrontendTrace::on_copy_data(std::size_t size) { append(out_, "F CopyData ", size, '\n'); }
void FrontendTrace::on_copy_done() { out_ += "F CopyDone\n"; }

void FrontendTrace::on_copy_fail(std::string_view message) {
  out_ += "F CopyFail ";
  append_quoted(out_, message);
  out_ += "\n";
}

void FrontendTrace::on_authentication_response(std::size_t size) {
  append(out_, "F AuthenticationResponse ", size, '\n');
}

// ---- Backend.

void BackendTrace::on_message(char type, std::size_t wire_size) {
  if (!options_.show_message_sizes) return;
  out_ += "B message ";
  append_escaped(out_, std::string_view(&type, 1));
  append(out_, ' ', wire_size, '\n');
}

void BackendTrace::on_ssl_response(bool accepted) { out_ += accepted ? "B SSLResponse S\n" : "B SSLResponse N\n"; }
void BackendTrace::on_gssenc_response(bool accepted) {
  out_ += accepted ? "B GSSENCResponse G\n" : "B GSSENCResponse N\n";
}

void BackendTrace::on_authentication(const AuthenticationRequest& request) {
  out_ += "B ";
  out_ += authentication_kind_name(request.kind);
  append(out_, " code=", request.code, " data=", request.data_size, 'B');
  for (const std::string_view mechanism : request.sasl_mechanisms) {
    out_ += " ";
    append_quoted(out_, mechanism);
  }
  out_ += "\n";
}

void BackendTrace::on_parameter_status(std::string_view name, std::string_view value) {
  out_ += "B ParameterStatus ";
  append_escaped(out_, name);
  out_ += "=";
  append_quoted(out_, value);
  out_ += "\n";
}

void BackendTrace::on_backend_key_data(const BackendKey& key) {
  out_ += "B BackendKeyData";
  append_key(out_, key, options_.show_values);
  out_ += "\n";
}

void BackendTrace::on_negotiate_protocol_version(const NegotiateProtocolVersion& negotiation) {
  append(out_, "B NegotiateProtocolVersion 3.", negotiation.newest_minor_version);
  for (const std::string_view option : negotiation.unrecognized_options) {
    out_ += " ";
    append_quoted(out_, option);
  }
  out_ += "\n";
}

void BackendTrace::on_ready_for_query(TransactionStatus status) {
  out_ += "B ReadyForQuery ";
  out_ += transaction_status_byte(status);
  out_ += "\n";
}

void BackendTrace::on_row_description(const RowDescription& description) {
  out_ += "B RowDescription";
  for (const FieldDescription& field : description.fields) {
    out_ += " ";
    append_quoted(out_, field.name);
    append(out_, ':', field.table_oid, '/', field.column_number, '/', field.type_oid, '/', field.type_size, '/',
           field.type_modifier, '/', field.format);
  }
  out_ += "\n";
}

void BackendTrace::on_data_row(const DataRow& row) {
  append(out_, "B DataRow ", row.wire_size, ' ');
  append_values(out_, row.values, options_.show_values);
  out_ += "\n";
}

void BackendTrace::on_command_complete(const CommandTag& tag) {
  out_ += "B CommandComplete ";
  append_quoted(out_, tag.text);
  out_ += " command=";
  append_quoted(out_, tag.command);
  if (tag.rows) append(out_, " rows=", *tag.rows);
  out_ += "\n";
}

void BackendTrace::on_empty_query_response() { out_ += "B EmptyQueryResponse\n"; }

void BackendTrace::on_error(const ErrorFields& fields) {
  out_ += "B ErrorResponse";
  append_error_fields(out_, fields);
  out_ += "\n";
}

void BackendTrace::on_notice(const ErrorFields& fields) {
  out_ += "B NoticeResponse";
  append_error_fields(out_, fields);
  out_ += "\n";
}

void BackendTrace::on_notification(const Notification& notification) {
  append(out_, "B NotificationResponse ", notification.process_id, ' ');
  append_quoted(out_, notification.channel);
  out_ += " ";
  append_quoted(out_, notification.payload);
  out_ += "\n";
}

void BackendTrace::on_function_call_response(const Value& result) {
  out_ += "B FunctionCallResponse ";
  append_value(out_, result, options_.show_values);
  out_ += "\n";
}

void BackendTrace::on_parse_complete() { out_ += "B ParseComplete\n"; }
void BackendTrace::on_bind_complete() { out_ += "B BindComplete\n"; }
void BackendTrace::on_close_complete() { out_ += "B CloseComplete\n"; }
void BackendTrace::on_no_data() { out_ += "B NoData\n"; }
void BackendTrace::on_portal_suspended() { out_ += "B PortalSuspended\n"; }

void BackendTrace::on_parameter_description(const OidArray& parameter_types) {
  out_ += "B ParameterDescription ";
  append_oids(out_, parameter_types);
  out_ += "\n";
}

void BackendTrace::on_copy_in_response(const CopyResponse& response) {
  append_copy_response(out_, "B CopyInResponse", response);
}
void BackendTrace::on_copy_out_response(const CopyResponse& response) {
  append_copy_response(out_, "B CopyOutResponse", response);
}
void BackendTrace::on_copy_both_response(const CopyResponse& response) {
  append_copy_response(out_, "B CopyBothResponse", response);
}
void BackendTrace::on_copy_data(std::size_t size) { append(out_, "B CopyData ", size, '\n'); }
void BackendTrace::on_copy_done() { out_ += "B CopyDone\n"; }

}  // namespace pgstack::pgwire
