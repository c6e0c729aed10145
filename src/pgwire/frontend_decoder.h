// Decodes what a client sends to the server: the startup phase (StartupMessage, SSLRequest,
// GSSENCRequest, CancelRequest: packets without a type byte), then typed messages. A Terminate is also
// accepted in place of the startup packet (node-postgres sends one on connect(); end()).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "pgwire/framer.h"
#include "pgwire/messages.h"

namespace pgstack::pgwire {

// Every method defaults to a no-op. Views passed in are valid only until the callback returns.
// Callbacks may call expect_startup() but must not feed() the decoder that called them.
class FrontendEvents {
 public:
  virtual ~FrontendEvents() = default;

  // Every message once it has fully arrived, before its body is checked (so a malformed message is
  // counted, then ends the stream). type is '\0' for startup-phase packets; wire_size counts every byte.
  virtual void on_message(char /*type*/, std::size_t /*wire_size*/) {}

  // Startup phase.
  virtual void on_startup(const StartupMessage& /*startup*/) {}
  virtual void on_ssl_request() {}
  virtual void on_gssenc_request() {}
  virtual void on_cancel_request(const BackendKey& /*key*/) {}
  // A major version other than 3; the decoder then fails with SQLSTATE 0A000. (3.x with x above
  // what the server speaks is a normal on_startup: compare startup.version and answer
  // NegotiateProtocolVersion.)
  virtual void on_unsupported_protocol(ProtocolVersion /*version*/) {}

  // Simple and extended query.
  virtual void on_query(std::string_view /*sql*/) {}
  virtual void on_parse(const ParseMessage& /*parse*/) {}
  virtual void on_bind(const BindMessage& /*bind*/) {}
  virtual void on_execute(std::string_view /*portal*/, std::int32_t /*max_rows*/) {}
  virtual void on_describe(TargetKind /*kind*/, std::string_view /*name*/) {}
  virtual void on_close(TargetKind /*kind*/, std::string_view /*name*/) {}
  virtual void on_sync() {}
  virtual void on_flush() {}
  virtual void on_function_call(const FunctionCallMessage& /*call*/) {}
  virtual void on_terminate() {}

  // COPY FROM STDIN and replication (CopyBoth). The data itself is skipped, never buffered.
  virtual void on_copy_data(std::size_t /*size*/) {}
  virtual void on_copy_done() {}
  virtual void on_copy_fail(std::string_view /*message*/) {}

  // PasswordMessage, SASLInitialResponse, SASLResponse or GSSResponse: passed through unread.
  virtual void on_authentication_response(std::size_t /*size*/) {}
};

class FrontendDecoder : private detail::FrameSink {
 public:
  explicit FrontendDecoder(FrontendEvents& events, DecoderLimits limits = DecoderLimits::frontend());

  // Consumes all of `bytes`, reporting each complete message; splits may fall anywhere.
  // Bytes that follow an SSLRequest or GSSENCRequest in the same feed are an error: the client must
  // wait for the answer, and anything sent before it could be injected plaintext (CVE-2021-23214).
  // Bytes after a Terminate or CancelRequest are not decoded (see ended()).
  DecodeStatus feed(std::span<const std::uint8_t> bytes);
  DecodeStatus feed(std::string_view bytes);

  // The decoder stays in the startup phase after SSLRequest and GSSENCRequest, since the next packet
  // (in plaintext after 'N', inside TLS after 'S') is again a startup packet. expect_startup() forces
  // that phase and drops any partial message, for a caller that restarts negotiation itself.
  void expect_startup();
  bool in_startup_phase() const { return startup_phase_; }

  // The client ended the stream (Terminate, CancelRequest). Postgres stops reading there, so what
  // follows is ignored, not an error; trailing_bytes() says how much of the last feed that was.
  bool ended() const { return framer_.ended(); }
  std::size_t trailing_bytes() const { return framer_.trailing_bytes(); }

  bool failed() const { return framer_.failed(); }
  const DecodeError& error() const { return framer_.error(); }
  std::size_t buffered_bytes() const { return framer_.buffered_bytes(); }

 private:
  std::size_t header_length() const override;
  bool on_header(std::span<const std::uint8_t> header, detail::Frame& frame) override;
  void on_frame(const detail::Frame& frame, std::span<const std::uint8_t> body, bool more_input) override;
  void decode_startup_packet(std::span<const std::uint8_t> body, bool more_input);
  void fail_startup_length(std::int32_t length);

  FrontendEvents& events_;
  DecoderLimits limits_;
  detail::Framer framer_;
  bool startup_phase_ = true;
  bool ssl_requested_ = false;
  bool gssenc_requested_ = false;
  bool terminate_probe_ = false;  // a startup header began with 'X': read it as a typed header
  std::vector<StartupParameter> startup_parameters_;
};

}  // namespace pgstack::pgwire
