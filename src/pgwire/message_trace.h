// Renders decoder events as one text line each, in the spirit of libpq's PQtrace: for a proxy's
// protocol trace, and for tests and the fuzzer to compare what two decodings reported.
#pragma once

#include <string>
#include <string_view>

#include "pgwire/backend_decoder.h"
#include "pgwire/frontend_decoder.h"

namespace pgstack::pgwire {

struct TraceOptions {
  // Bind parameters, row values, COPY sizes are always shown as sizes; values and cancel keys only if set.
  bool show_values = false;
  bool show_message_sizes = true;  // a line for every on_message
};

// Appends `s` with non-printable bytes as \xNN, quotes and backslashes escaped.
void append_escaped(std::string& out, std::string_view s);

class FrontendTrace : public FrontendEvents {
 public:
  explicit FrontendTrace(std::string& out, TraceOptions options = {}) : out_(out), options_(options) {}

  void on_message(char type, std::size_t wire_size) override;
  void on_startup(const StartupMessage& startup) override;
  void on_ssl_request() override;
  void on_gssenc_request() override;
  void on_cancel_request(const BackendKey& key) override;
  void on_unsupported_protocol(ProtocolVersion version) override;
  void on_query(std::string_view sql) override;
  void on_parse(const ParseMessage& parse) override;
  void on_bind(const BindMessage& bind) override;
  void on_execute(std::string_view portal, std::int32_t max_rows) override;
  void on_describe(TargetKind kind, std::string_view name) override;
  void on_close(TargetKind kind, std::string_view name) override;
  void on_sync() override;
  void on_flush() override;
  void on_function_call(const FunctionCallMessage& call) override;
  void on_terminate() override;
  void on_copy_data(std::size_t size) override;
  void on_copy_done() override;
  void on_copy_fail(std::string_view message) override;
  void on_authentication_response(std::size_t size) override;

 private:
  std::string& out_;
  TraceOptions options_;
};

class BackendTrace : public BackendEvents {
 public:
  explicit BackendTrace(std::string& out, TraceOptions options = {}) : out_(out), options_(options) {}

  void on_message(char type, std::size_t wire_size) override;
  void on_ssl_response(bool accepted) override;
  void on_gssenc_response(bool accepted) override;
  void on_authentication(const AuthenticationRequest& request) override;
  void on_parameter_status(std::string_view name, std::string_view value) override;
  void on_backend_key_data(const BackendKey& key) override;
  void on_negotiate_protocol_version(const NegotiateProtocolVersion& negotiation) override;
  void on_ready_for_query(TransactionStatus status) override;
  void on_row_description(const RowDescription& description) override;
  void on_data_row(const DataRow& row) override;
  void on_command_complete(const CommandTag& tag) override;
  void on_empty_query_response() override;
  void on_error(const ErrorFields& fields) override;
  void on_notice(const ErrorFields& fields) override;
  void on_notification(const Notification& notification) override;
  void on_function_call_response(const Value& result) override;
  void on_parse_complete() override;
  void on_bind_complete() override;
  void on_close_complete() override;
  void on_no_data() override;
  void on_portal_suspended() override;
  void on_parameter_description(const OidArray& parameter_types) override;
  void on_copy_in_response(const CopyResponse& response) override;
  void on_copy_out_response(const CopyResponse& response) override;
  void on_copy_both_response(const CopyResponse& response) override;
  void on_copy_data(std::size_t size) override;
  void on_copy_done() override;

 private:
  std::string& out_;
  TraceOptions options_;
};

}  // namespace pgstack::pgwire
