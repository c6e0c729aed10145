// Decodes what a server sends to the client: typed messages from the first byte on, plus the one-byte
// answer to SSLRequest / GSSENCRequest when the caller says one is due.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "pgwire/framer.h"
#include "pgwire/messages.h"

namespace pgstack::pgwire {

// Every method defaults to a no-op. Views passed in are valid only until the callback returns.
// Callbacks may call expect_ssl_response() / expect_gssenc_response() but must not feed() the
// decoder that called them.
class BackendEvents {
 public:
  virtual ~BackendEvents() = default;

  // Every typed message once it has fully arrived, before its body is checked (so a malformed message
  // is counted, then ends the stream). The one-byte SSL/GSSENC answer is not a message: it is reported
  // by on_ssl_response / on_gssenc_response only. wire_size counts every byte, type byte included.
  virtual void on_message(char /*type*/, std::size_t /*wire_size*/) {}

  virtual void on_ssl_response(bool /*accepted*/) {}
  virtual void on_gssenc_response(bool /*accepted*/) {}

  // Startup and session state.
  virtual void on_authentication(const AuthenticationRequest& /*request*/) {}
  virtual void on_parameter_status(std::string_view /*name*/, std::string_view /*value*/) {}
  virtual void on_backend_key_data(const BackendKey& /*key*/) {}
  virtual void on_negotiate_protocol_version(const NegotiateProtocolVersion& /*negotiation*/) {}
  virtual void on_ready_for_query(TransactionStatus /*status*/) {}

  // Results.
  virtual void on_row_description(const RowDescription& /*description*/) {}
  virtual void on_data_row(const DataRow& /*row*/) {}
  virtual void on_command_complete(const CommandTag& /*tag*/) {}
  virtual void on_empty_query_response() {}
  virtual void on_error(const ErrorFields& /*fields*/) {}
  virtual void on_notice(const ErrorFields& /*fields*/) {}
  virtual void on_notification(const Notification& /*notification*/) {}
  virtual void on_function_call_response(const Value& /*result*/) {}

  // Extended query.
  virtual void on_parse_complete() {}
  virtual void on_bind_complete() {}
  virtual void on_close_complete() {}
  virtual void on_no_data() {}
  virtual void on_portal_suspended() {}
  virtual void on_parameter_description(const OidArray& /*parameter_types*/) {}

  // COPY and replication. The data itself is skipped, never buffered.
  virtual void on_copy_in_response(const CopyResponse& /*response*/) {}
  virtual void on_copy_out_response(const CopyResponse& /*response*/) {}
  virtual void on_copy_both_response(const CopyResponse& /*response*/) {}
  virtual void on_copy_data(std::size_t /*size*/) {}
  virtual void on_copy_done() {}
};

class BackendDecoder : private detail::FrameSink {
 public:
  explicit BackendDecoder(BackendEvents& events, DecoderLimits limits = DecoderLimits::backend());

  // Consumes all of `bytes`, reporting each complete message; splits may fall anywhere.
  DecodeStatus feed(std::span<const std::uint8_t> bytes);
  DecodeStatus feed(std::string_view bytes);

  // The proxy forwarded an SSLRequest (GSSENCRequest): the next byte is 'S' or 'N' ('G' or 'N').
  // An 'E' instead is decoded as the ErrorResponse it starts. Bytes after an 'S' ('G') in the same
  // feed are an error: they were not encrypted and could be injected (CVE-2021-23222).
  void expect_ssl_response() { pending_answer_ = PendingAnswer::kSsl; }
  void expect_gssenc_response() { pending_answer_ = PendingAnswer::kGssenc; }

  bool failed() const { return framer_.failed(); }
  const DecodeError& error() const { return framer_.error(); }
  std::size_t buffered_bytes() const { return framer_.buffered_bytes(); }

 private:
  enum class PendingAnswer { kNone, kSsl, kGssenc };

  std::size_t header_length() const override;
  bool on_header(std::span<const std::uint8_t> header, detail::Frame& frame) override;
  void on_frame(const detail::Frame& frame, std::span<const std::uint8_t> body, bool more_input) override;
  void decode_negotiation_answer(char answer, bool more_input);

  BackendEvents& events_;
  DecoderLimits limits_;
  detail::Framer framer_;
  PendingAnswer pending_answer_ = PendingAnswer::kNone;
};

}  // namespace pgstack::pgwire
