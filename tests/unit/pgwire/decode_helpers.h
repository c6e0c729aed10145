// Feeding helpers for the pgwire tests: decode a byte string all at once or in pieces, and check
// that every way of splitting it reports the same events.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include <gtest/gtest.h>

#include "pgwire/backend_decoder.h"
#include "pgwire/frontend_decoder.h"
#include "pgwire/message_trace.h"

namespace pgstack::pgwire::testing {

struct Decoded {
  std::string trace;
  DecodeStatus status = DecodeStatus::kReady;
  std::string error;
  std::string sqlstate;
  std::size_t max_buffered = 0;
};

// Events as text, values shown, no per-message size lines (those are checked separately).
inline TraceOptions readable() { return TraceOptions{.show_values = true, .show_message_sizes = false}; }
inline TraceOptions complete() { return TraceOptions{.show_values = true, .show_message_sizes = true}; }

template <typename Decoder, typename Trace>
Decoded decode_pieces(const std::vector<std::string_view>& pieces, DecoderLimits limits, TraceOptions options,
                      bool expect_ssl = false) {
  Decoded result;
  Trace trace(result.trace, options);
  Decoder decoder(trace, limits);
  if constexpr (std::is_same_v<Decoder, BackendDecoder>) {
    if (expect_ssl) decoder.expect_ssl_response();
  }
  for (const auto piece : pieces) {
    result.status = decoder.feed(piece);
    result.max_buffered = std::max(result.max_buffered, decoder.buffered_bytes());
  }
  if (decoder.failed()) {
    result.error = decoder.error().message;
    result.sqlstate = std::string(decoder.error().sqlstate);
  }
  return result;
}

inline Decoded decode_frontend(std::string_view bytes, DecoderLimits limits = DecoderLimits::frontend(),
                               TraceOptions options = readable()) {
  return decode_pieces<FrontendDecoder, FrontendTrace>({bytes}, limits, options);
}

inline Decoded decode_backend(std::string_view bytes, DecoderLimits limits = DecoderLimits::backend(),
                              TraceOptions options = readable()) {
  return decode_pieces<BackendDecoder, BackendTrace>({bytes}, limits, options);
}

// A typed message with a hand-written length word, for malformed input.
inline std::string raw_message(char type, std::int32_t length, std::string_view body) {
  std::string bytes(1, type);
  for (int shift = 24; shift >= 0; shift -= 8) bytes.push_back(static_cast<char>((length >> shift) & 0xff));
  return bytes + std::string(body);
}

// `value` as the protocol's big-endian 32-bit word.
inline std::string be32(std::uint32_t value) {
  std::string bytes;
  for (int shift = 24; shift >= 0; shift -= 8) bytes.push_back(static_cast<char>((value >> shift) & 0xff));
  return bytes;
}

// Cuts `bytes` at the given offsets.
inline std::vector<std::string_view> split_at(std::string_view bytes, const std::vector<std::size_t>& cuts) {
  std::vector<std::string_view> pieces;
  std::size_t start = 0;
  for (const std::size_t cut : cuts) {
    pieces.push_back(bytes.substr(start, cut - start));
    start = cut;
  }
  pieces.push_back(bytes.substr(start));
  return pieces;
}

// Every two-piece split, byte by byte, and random multi-piece splits report what one feed reports.
template <typename Decoder, typename Trace>
void expect_split_invariant(std::string_view bytes, DecoderLimits limits) {
  const Decoded whole = decode_pieces<Decoder, Trace>({bytes}, limits, complete());
  for (std::size_t cut = 0; cut <= bytes.size(); ++cut) {
    const Decoded split = decode_pieces<Decoder, Trace>(split_at(bytes, {cut}), limits, complete());
    ASSERT_EQ(split.trace, whole.trace) << "split at " << cut;
    ASSERT_EQ(split.status, whole.status) << "split at " << cut;
    ASSERT_EQ(split.error, whole.error) << "split at " << cut;
  }
  std::vector<std::size_t> every_byte;
  for (std::size_t cut = 1; cut < bytes.size(); ++cut) every_byte.push_back(cut);
  const Decoded bytewise = decode_pieces<Decoder, Trace>(split_at(bytes, every_byte), limits, complete());
  ASSERT_EQ(bytewise.trace, whole.trace);
  ASSERT_EQ(bytewise.status, whole.status);
  std::mt19937 random(42);
  for (int round = 0; round < 50; ++round) {
    std::vector<std::size_t> cuts;
    for (std::size_t pos = 0;;) {
      pos += 1 + random() % 40;
      if (pos >= bytes.size()) break;
      cuts.push_back(pos);
    }
    const Decoded split = decode_pieces<Decoder, Trace>(split_at(bytes, cuts), limits, complete());
    ASSERT_EQ(split.trace, whole.trace) << "round " << round;
    ASSERT_EQ(split.status, whole.status) << "round " << round;
  }
}

}  // namespace pgstack::pgwire::testing
