// libFuzzer target: any bytes through the frontend or backend decoder, and through normalize_query.
// Byte 0 picks the setup: bit 0 backend (else frontend); bits 1-2 what the backend decoder expects
// first (1 an SSL answer, 2 a GSSENC answer) or, for the frontend, small limits; bits 3-7 seed the
// split. Invariants: no crash or sanitizer report; the same events and status whether the stream is
// fed at once or in pieces; an error is sticky; the buffer never exceeds the limits; nothing after a
// Terminate or CancelRequest is decoded, and it is counted as trailing bytes, not as an error.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>

#include "pgwire/backend_decoder.h"
#include "pgwire/frontend_decoder.h"
#include "pgwire/message_trace.h"
#include "pgwire/normalize_query.h"

namespace {

using namespace pgstack::pgwire;

void check(bool condition) {
  if (!condition) std::abort();
}

struct Setup {
  bool backend = false;
  unsigned mode = 0;
  unsigned split_seed = 0;
  DecoderLimits limits;
};

template <typename Decoder, typename Trace>
struct Run {
  std::string trace;
  Trace events{trace, TraceOptions{.show_values = true}};
  Decoder decoder;
  DecodeStatus status = DecodeStatus::kReady;

  explicit Run(const Setup& setup) : decoder(events, setup.limits) {
    if constexpr (std::is_same_v<Decoder, BackendDecoder>) {
      if (setup.mode == 1) decoder.expect_ssl_response();
      if (setup.mode == 2) decoder.expect_gssenc_response();
    }
  }

  void feed(std::span<const std::uint8_t> bytes, const Setup& setup) {
    const std::size_t before = trace.size();
    const bool failed_before = decoder.failed();
    bool ended_before = false;
    if constexpr (std::is_same_v<Decoder, FrontendDecoder>) ended_before = decoder.ended();
    status = decoder.feed(bytes);
    if (failed_before) check(status == DecodeStatus::kError && trace.size() == before);
    check((status == DecodeStatus::kError) == decoder.failed());
    if constexpr (std::is_same_v<Decoder, FrontendDecoder>) {
      check(decoder.trailing_bytes() <= bytes.size());
      if (ended_before && !failed_before) {
        check(status == DecodeStatus::kReady && trace.size() == before && decoder.trailing_bytes() == bytes.size());
      }
    }
    const std::size_t largest = std::max({setup.limits.startup_packet, setup.limits.small_message,
                                          setup.limits.auth_message, setup.limits.large_message});
    check(decoder.buffered_bytes() <= std::size_t{largest} + 5);
  }
};

template <typename Decoder, typename Trace>
void fuzz_direction(std::span<const std::uint8_t> stream, const Setup& setup) {
  Run<Decoder, Trace> whole(setup);
  whole.feed(stream, setup);

  Run<Decoder, Trace> pieces(setup);
  std::uint32_t state = setup.split_seed * 2654435761u + 1;
  std::size_t pos = 0;
  while (pos < stream.size()) {
    state = state * 1103515245u + 12345u;
    const std::size_t chunk = setup.split_seed == 0 ? 1 : 1 + (state >> 16) % 64;
    const std::size_t take = std::min(chunk, stream.size() - pos);
    pieces.feed(stream.subspan(pos, take), setup);
    pos += take;
  }
  // Sticky: more bytes after an error change nothing.
  if (whole.decoder.failed()) whole.feed(stream, setup);

  // Bytes after an SSL/GSSENC exchange in the same feed are refused, so that one rule depends on
  // where the splits fall; everything else must not.
  const bool split_dependent =
      whole.decoder.failed() && whole.decoder.error().message.find("unencrypted data") != std::string::npos;
  if (!split_dependent && !stream.empty()) {
    check(whole.trace == pieces.trace);
    check(whole.status == pieces.status);
    if (whole.decoder.failed()) check(whole.decoder.error().message == pieces.decoder.error().message);
    if constexpr (std::is_same_v<Decoder, FrontendDecoder>) check(whole.decoder.ended() == pieces.decoder.ended());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  Setup setup;
  setup.backend = (data[0] & 1) != 0;
  setup.mode = (data[0] >> 1) & 3;
  setup.split_seed = data[0] >> 3;
  setup.limits = setup.backend ? DecoderLimits::backend() : DecoderLimits::frontend();
  if (!setup.backend && setup.mode == 3) setup.limits = DecoderLimits{64, 32, 16, 128};
  const std::span<const std::uint8_t> stream(data + 1, size - 1);

  if (setup.backend) {
    fuzz_direction<BackendDecoder, BackendTrace>(stream, setup);
  } else {
    fuzz_direction<FrontendDecoder, FrontendTrace>(stream, setup);
  }

  const std::string_view text(reinterpret_cast<const char*>(stream.data()), stream.size());
  const std::size_t max_length = 1 + data[0] * 8;
  check(normalize_query(text, max_length).size() <= max_length);
  return 0;
}
