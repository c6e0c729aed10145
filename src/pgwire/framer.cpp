#include "pgwire/framer.h"

#include <algorithm>

namespace pgstack::pgwire::detail {
namespace {

// A buffer that grew for one huge message is given back rather than kept for the connection's life.
constexpr std::size_t kRetainedBufferCapacity = std::size_t{1} << 20;
// Growing the buffer by the declared length up front would let a 5-byte header allocate 1 GiB.
constexpr std::size_t kMaxReserve = std::size_t{64} << 10;

class FeedingGuard {
 public:
  explicit FeedingGuard(bool& flag) : flag_(flag) { flag_ = true; }
  ~FeedingGuard() { flag_ = false; }
  FeedingGuard(const FeedingGuard&) = delete;
  FeedingGuard& operator=(const FeedingGuard&) = delete;

 private:
  bool& flag_;
};

}  // namespace

void Framer::fail(std::string message, std::string_view sqlstate) {
  if (failed_) return;
  failed_ = true;
  error_.message = std::move(message);
  error_.sqlstate = sqlstate;
}

void Framer::discard_partial() {
  // Callbacks run between messages, where nothing is partial; the current message is released after it.
  if (feeding_) return;
  release_buffer();
  skip_remaining_ = 0;
}

void Framer::release_buffer() {
  pending_.clear();
  if (pending_.capacity() > kRetainedBufferCapacity) std::vector<std::uint8_t>().swap(pending_);
  pending_has_header_ = false;
  pending_header_length_ = 0;
}

bool Framer::start_frame(std::span<const std::uint8_t> header, FrameSink& sink, Frame& frame) {
  frame = Frame{};
  frame.header_length = static_cast<std::uint8_t>(header.size());
  if (!sink.on_header(header, frame)) {
    fail("invalid message header");  // no-op when the sink already said why
    return false;
  }
  if (frame.body_length == 0) frame.skip_body = false;
  return true;
}

DecodeStatus Framer::feed(std::span<const std::uint8_t> input, FrameSink& sink) {
  if (failed_) return DecodeStatus::kError;
  if (feeding_) {
    fail("internal error: the decoder was fed from inside one of its own callbacks");
    return DecodeStatus::kError;
  }
  FeedingGuard guard(feeding_);
  trailing_bytes_ = 0;
  const std::size_t size = input.size();
  std::size_t pos = 0;
  for (;;) {
    if (skip_remaining_ > 0) {
      const auto take = static_cast<std::size_t>(std::min<std::uint64_t>(skip_remaining_, size - pos));
      pos += take;
      skip_remaining_ -= take;
      if (skip_remaining_ > 0) return DecodeStatus::kNeedMoreData;
      sink.on_frame(skipped_frame_, {}, pos < size);
      if (failed_) return DecodeStatus::kError;
      continue;
    }
    if (pos == size) return pending_.empty() ? DecodeStatus::kReady : DecodeStatus::kNeedMoreData;
    if (ended_) {
      trailing_bytes_ = size - pos;
      return DecodeStatus::kReady;
    }

    if (pending_.empty()) {
      const std::size_t header_length = sink.header_length();
      if (size - pos >= header_length) {
        // Fast path: the header is in the input; a complete message is decoded in place.
        Frame frame;
        if (!start_frame(input.subspan(pos, header_length), sink, frame)) return DecodeStatus::kError;
        if (frame.reframe) {
          if (sink.header_length() <= header_length) {
            fail("internal error: a message header was re-read without becoming longer");
            return DecodeStatus::kError;
          }
          continue;
        }
        pos += header_length;
        if (frame.skip_body) {
          skip_remaining_ = frame.body_length;
          skipped_frame_ = frame;
          continue;
        }
        if (size - pos >= frame.body_length) {
          const auto body = input.subspan(pos, frame.body_length);
          pos += frame.body_length;
          sink.on_frame(frame, body, pos < size);
          if (failed_) return DecodeStatus::kError;
          continue;
        }
        pending_.reserve(std::min(frame.wire_size(), kMaxReserve));
        pending_.assign(input.begin() + static_cast<std::ptrdiff_t>(pos - header_length), input.end());
        pending_header_length_ = header_length;
        pending_has_header_ = true;
        pending_frame_ = frame;
        return DecodeStatus::kNeedMoreData;
      }
      pending_header_length_ = header_length;
      pending_has_header_ = false;
    }

    // Slow path: a message split across feeds is assembled in pending_.
    if (!pending_has_header_) {
      const std::size_t take = std::min(pending_header_length_ - pending_.size(), size - pos);
      pending_.insert(pending_.end(), input.begin() + static_cast<std::ptrdiff_t>(pos),
                      input.begin() + static_cast<std::ptrdiff_t>(pos + take));
      pos += take;
      if (pending_.size() < pending_header_length_) return DecodeStatus::kNeedMoreData;
      Frame frame;
      if (!start_frame(pending_, sink, frame)) return DecodeStatus::kError;
      if (frame.reframe) {
        const std::size_t longer = sink.header_length();
        if (longer <= pending_header_length_) {
          fail("internal error: a message header was re-read without becoming longer");
          return DecodeStatus::kError;
        }
        pending_header_length_ = longer;
        continue;
      }
      if (frame.skip_body) {
        release_buffer();
        skip_remaining_ = frame.body_length;
        skipped_frame_ = frame;
        continue;
      }
      pending_has_header_ = true;
      pending_frame_ = frame;
      pending_.reserve(std::min(frame.wire_size(), kMaxReserve));
    }
    const std::size_t total = pending_frame_.wire_size();
    const std::size_t take = std::min(total - pending_.size(), size - pos);
    pending_.insert(pending_.end(), input.begin() + static_cast<std::ptrdiff_t>(pos),
                    input.begin() + static_cast<std::ptrdiff_t>(pos + take));
    pos += take;
    if (pending_.size() < total) return DecodeStatus::kNeedMoreData;
    sink.on_frame(pending_frame_, std::span<const std::uint8_t>(pending_).subspan(pending_frame_.header_length),
                  pos < size);
    release_buffer();
    if (failed_) return DecodeStatus::kError;
  }
}

}  // namespace pgstack::pgwire::detail
