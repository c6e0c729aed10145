// Internal: cuts a byte stream into messages for the decoders. Complete messages are handed over in
// place (no copy); only a partial message is buffered, and never beyond the limit its header allows.
// Bodies the sink does not need to see (CopyData, authentication responses) are skipped as they
// arrive instead of being buffered.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "pgwire/messages.h"

namespace pgstack::pgwire::detail {

struct Frame {
  char type = 0;                   // the type byte; 0 for startup-phase packets
  std::uint8_t header_length = 0;  // bytes before the body: 5 typed, 4 startup, 1 negotiation reply
  std::uint32_t body_length = 0;
  bool skip_body = false;  // deliver only the size; the body is consumed without buffering
  bool reframe = false;    // header not consumed: the sink changed mode, read it again

  std::size_t wire_size() const { return std::size_t{header_length} + body_length; }
};

class FrameSink {
 public:
  virtual ~FrameSink() = default;
  // How many bytes the next message's header has in the current mode.
  virtual std::size_t header_length() const = 0;
  // Checks a header and fills `frame`; returns false after calling Framer::fail().
  virtual bool on_header(std::span<const std::uint8_t> header, Frame& frame) = 0;
  // A whole message (body empty when skipped). `more_input` says whether bytes follow it in this feed.
  virtual void on_frame(const Frame& frame, std::span<const std::uint8_t> body, bool more_input) = 0;
};

class Framer {
 public:
  DecodeStatus feed(std::span<const std::uint8_t> input, FrameSink& sink);

  void fail(std::string message, std::string_view sqlstate = kSqlstateProtocolViolation);
  bool failed() const { return failed_; }
  const DecodeError& error() const { return error_; }
  // The peer said it was done (Terminate, CancelRequest). Later bytes are not decoded, and are no
  // error: the server never reads them either.
  void end_stream() { ended_ = true; }
  bool ended() const { return ended_; }
  // Bytes at the end of the last feed() that came after the end of the stream.
  std::size_t trailing_bytes() const { return trailing_bytes_; }
  // Drops a partial message; used when the stream switches mode (e.g. back to the startup phase).
  void discard_partial();
  std::size_t buffered_bytes() const { return pending_.size(); }
  bool idle() const { return pending_.empty() && skip_remaining_ == 0; }

 private:
  bool start_frame(std::span<const std::uint8_t> header, FrameSink& sink, Frame& frame);
  void release_buffer();

  std::vector<std::uint8_t> pending_;  // a partial message: header, then body as it arrives
  std::size_t pending_header_length_ = 0;
  bool pending_has_header_ = false;
  Frame pending_frame_;
  std::uint64_t skip_remaining_ = 0;
  Frame skipped_frame_;
  bool ended_ = false;
  std::size_t trailing_bytes_ = 0;
  bool failed_ = false;
  bool feeding_ = false;
  DecodeError error_;
};

}  // namespace pgstack::pgwire::detail
