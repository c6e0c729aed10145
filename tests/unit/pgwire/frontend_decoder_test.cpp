#include "pgwire/frontend_decoder.h"

#include <cstdint>
#include <random>
#include <string>

#include <gtest/gtest.h>

#include "decode_helpers.h"
#include "pgwire/encoder.h"

namespace pgstack::pgwire {
namespace {

using testing::be32;
using testing::decode_frontend;
using testing::Decoded;
using testing::raw_message;
using testing::split_at;

std::string startup() { return encode_startup({{"user", "alice"}, {"database", "shop"}}); }

std::string raw_startup(std::int32_t length, std::string_view body) {
  return raw_message('\0', length, body).substr(1);
}

TEST(FrontendDecoder, StartupMessageReportsParametersInOrder) {
  struct Capture : FrontendEvents {
    void on_startup(const StartupMessage& startup) override {
      version = startup.version;
      user = startup.user();
      database = startup.database();
      application_name = startup.application_name();
      replication = startup.replication();
      options = startup.options();
      missing = !startup.find("client_encoding").has_value();
      count = startup.parameters.size();
    }
    ProtocolVersion version{0, 0};
    std::string user, database, application_name, replication, options;
    bool missing = false;
    std::size_t count = 0;
  } capture;
  FrontendDecoder decoder(capture);
  const std::string bytes = encode_startup({{"user", "alice"},
                                            {"database", "shop"},
                                            {"application_name", "psql"},
                                            {"replication", "database"},
                                            {"options", "-c search_path=app"}});
  EXPECT_TRUE(decoder.in_startup_phase());
  EXPECT_EQ(decoder.feed(bytes), DecodeStatus::kReady);
  EXPECT_FALSE(decoder.in_startup_phase());
  EXPECT_EQ(capture.version, (ProtocolVersion{3, 0}));
  EXPECT_EQ(capture.user, "alice");
  EXPECT_EQ(capture.database, "shop");
  EXPECT_EQ(capture.application_name, "psql");
  EXPECT_EQ(capture.replication, "database");
  EXPECT_EQ(capture.options, "-c search_path=app");
  EXPECT_TRUE(capture.missing);
  EXPECT_EQ(capture.count, 5u);

  EXPECT_EQ(decode_frontend(encode_startup({})).trace, "F StartupMessage 3.0\n");
}

TEST(FrontendDecoder, NewerMinorVersionIsAStartupForTheProxyToNegotiate) {
  const Decoded decoded =
      decode_frontend(encode_startup({{"user", "bob"}, {"_pq_.compression", "on"}}, ProtocolVersion{3, 9}));
  EXPECT_EQ(decoded.status, DecodeStatus::kReady);
  EXPECT_EQ(decoded.trace, "F StartupMessage 3.9 user=\"bob\" _pq_.compression=\"on\"\n");
}

TEST(FrontendDecoder, UnsupportedMajorVersionIsReportedThenFails) {
  const Decoded decoded = decode_frontend(encode_startup({{"user", "bob"}}, ProtocolVersion{2, 0}));
  EXPECT_EQ(decoded.trace, "F UnsupportedProtocol 2.0\n");
  EXPECT_EQ(decoded.status, DecodeStatus::kError);
  EXPECT_EQ(decoded.error, "unsupported frontend protocol 2.0: server supports 3.0 to 3.2");
  EXPECT_EQ(decoded.sqlstate, "0A000");
}

TEST(FrontendDecoder, StaysInStartupPhaseAfterSslAndGssencRequests) {
  std::string trace;
  FrontendTrace events(trace, testing::readable());
  FrontendDecoder decoder(events);
  EXPECT_EQ(decoder.feed(encode_gssenc_request()), DecodeStatus::kReady);
  EXPECT_TRUE(decoder.in_startup_phase());
  EXPECT_EQ(decoder.feed(encode_ssl_request()), DecodeStatus::kReady);
  EXPECT_TRUE(decoder.in_startup_phase());
  EXPECT_EQ(decoder.feed(startup() + encode_query("select 1")), DecodeStatus::kReady);
  EXPECT_EQ(trace,
            "F GSSENCRequest\nF SSLRequest\nF StartupMessage 3.0 user=\"alice\" database=\"shop\"\n"
            "F Query \"select 1\"\n");
}

TEST(FrontendDecoder, SslRequestBytesAreExact) {
  EXPECT_EQ(encode_ssl_request(), std::string("\x00\x00\x00\x08\x04\xd2\x16\x2f", 8));
  EXPECT_EQ(encode_gssenc_request(), std::string("\x00\x00\x00\x08\x04\xd2\x16\x30", 8));
}

TEST(FrontendDecoder, DataAfterSslRequestInTheSameFeedIsRefused) {
  for (const auto& request : {encode_ssl_request(), encode_gssenc_request()}) {
    const Decoded decoded = decode_frontend(request + startup());
    EXPECT_EQ(decoded.status, DecodeStatus::kError);
    EXPECT_EQ(decoded.trace, "");
    EXPECT_NE(decoded.error.find("received unencrypted data after"), std::string::npos) << decoded.error;
  }
  // A request split over feeds is fine as long as nothing follows it.
  const Decoded split = testing::decode_pieces<FrontendDecoder, FrontendTrace>(
      split_at(encode_ssl_request(), {3}), DecoderLimits::frontend(), testing::readable());
  EXPECT_EQ(split.status, DecodeStatus::kReady);
  EXPECT_EQ(split.trace, "F SSLRequest\n");
}

TEST(FrontendDecoder, SecondSslRequestIsRefused) {
  const Decoded decoded = testing::decode_pieces<FrontendDecoder, FrontendTrace>(
      {encode_ssl_request(), encode_ssl_request()}, DecoderLimits::frontend(), testing::readable());
  EXPECT_EQ(decoded.status, DecodeStatus::kError);
  EXPECT_EQ(decoded.error, "unexpected second SSLRequest");
}

TEST(FrontendDecoder, CancelRequestCarriesTheKeyAndEndsTheStream) {
  EXPECT_EQ(decode_frontend(encode_cancel_request(4242, 0x01020304u)).trace,
            "F CancelRequest pid=4242 key=\"\\x01\\x02\\x03\\x04\"\n");
  // Protocol 3.2 keys are up to 256 bytes.
  const std::string long_key(32, 'k');
  const auto key_bytes = std::span(reinterpret_cast<const std::uint8_t*>(long_key.data()), long_key.size());
  EXPECT_EQ(decode_frontend(encode_cancel_request(7, key_bytes)).trace,
            "F CancelRequest pid=7 key=\"" + long_key + "\"\n");

  // Postgres reads nothing after a CancelRequest: bytes behind it are left undecoded, not an error.
  std::string trace;
  FrontendTrace events(trace, testing::readable());
  FrontendDecoder decoder(events);
  EXPECT_EQ(decoder.feed(encode_cancel_request(1, 2u) + encode_query("x")), DecodeStatus::kReady);
  EXPECT_TRUE(decoder.ended());
  EXPECT_EQ(decoder.trailing_bytes(), encode_query("x").size());
  EXPECT_EQ(trace, "F CancelRequest pid=1 key=\"\\x00\\x00\\x00\\x02\"\n");

  const Decoded short_key = decode_frontend(raw_startup(12, be32(kCancelRequestCode) + be32(1)));
  EXPECT_EQ(short_key.status, DecodeStatus::kError);
  EXPECT_EQ(short_key.error, "invalid length of cancel request: 12 bytes (expected 16 to 268)");
  const Decoded long_packet =
      decode_frontend(raw_startup(12 + 257, be32(kCancelRequestCode) + be32(1) + std::string(257, 'k')));
  EXPECT_EQ(long_packet.status, DecodeStatus::kError);
}

TEST(FrontendDecoder, EveryTypedMessage) {
  const std::string stream =
      startup() + encode_password_message("secret") + encode_query("select 1; select 2") +
      encode_parse("s1", "select $1::int, $2", {23, 25}) +
      encode_bind("p1", "s1", {std::string_view("42"), std::nullopt}, {0}, {1}) +
      encode_describe(TargetKind::kPortal, "p1") + encode_describe(TargetKind::kStatement, "s1") +
      encode_execute("p1", 100) + encode_flush() + encode_sync() + encode_close(TargetKind::kPortal, "p1") +
      encode_close(TargetKind::kStatement, "s1") +
      encode_function_call(1598, {std::string_view("\x01\x02", 2), std::nullopt}, {1}, 1) +
      encode_query("copy t from stdin") + encode_copy_data("1\tone\n") + encode_copy_data("") + encode_copy_done() +
      encode_query("copy t from stdin") + encode_copy_fail("client gave up") + encode_terminate();
  const Decoded decoded = decode_frontend(stream);
  EXPECT_EQ(decoded.status, DecodeStatus::kReady);
  EXPECT_EQ(decoded.error, "");
  EXPECT_EQ(decoded.trace,
            "F StartupMessage 3.0 user=\"alice\" database=\"shop\"\n"
            "F AuthenticationResponse 7\n"
            "F Query \"select 1; select 2\"\n"
            "F Parse \"s1\" \"select $1::int, $2\" types=[23,25]\n"
            "F Bind \"p1\" \"s1\" formats=[0] values=[\"42\",NULL] results=[1]\n"
            "F Describe portal \"p1\"\n"
            "F Describe statement \"s1\"\n"
            "F Execute \"p1\" 100\n"
            "F Flush\n"
            "F Sync\n"
            "F Close portal \"p1\"\n"
            "F Close statement \"s1\"\n"
            "F FunctionCall 1598 formats=[1] args=[\"\\x01\\x02\",NULL] result=1\n"
            "F Query \"copy t from stdin\"\n"
            "F CopyData 6\n"
            "F CopyData 0\n"
            "F CopyDone\n"
            "F Query \"copy t from stdin\"\n"
            "F CopyFail \"client gave up\"\n"
            "F Terminate\n");

  testing::expect_split_invariant<FrontendDecoder, FrontendTrace>(stream, DecoderLimits::frontend());
}

TEST(FrontendDecoder, OnMessageCountsEveryByte) {
  struct Counter : FrontendEvents {
    void on_message(char type, std::size_t wire_size) override {
      types.push_back(type == '\0' ? '0' : type);
      bytes += wire_size;
    }
    std::string types;
    std::size_t bytes = 0;
  } counter;
  const std::string stream = encode_ssl_request();
  const std::string rest = startup() + encode_query("select 1") + encode_copy_data("abc") + encode_sync();
  FrontendDecoder decoder(counter);
  EXPECT_EQ(decoder.feed(stream), DecodeStatus::kReady);
  EXPECT_EQ(decoder.feed(rest), DecodeStatus::kReady);
  EXPECT_EQ(counter.types, "00QdS");
  EXPECT_EQ(counter.bytes, stream.size() + rest.size());
}

TEST(FrontendDecoder, PartialMessagesWaitForTheRest) {
  std::string trace;
  FrontendTrace events(trace, testing::readable());
  FrontendDecoder decoder(events);
  const std::string bytes = startup() + encode_query("select 42");
  const std::size_t split = startup().size() + 7;
  EXPECT_EQ(decoder.feed(std::string_view(bytes).substr(0, 2)), DecodeStatus::kNeedMoreData);
  EXPECT_EQ(decoder.feed(std::string_view(bytes).substr(2, split - 2)), DecodeStatus::kNeedMoreData);
  EXPECT_EQ(trace, "F StartupMessage 3.0 user=\"alice\" database=\"shop\"\n");
  EXPECT_EQ(decoder.buffered_bytes(), 7u);
  EXPECT_EQ(decoder.feed(std::string_view(bytes).substr(split)), DecodeStatus::kReady);
  EXPECT_EQ(decoder.buffered_bytes(), 0u);
  EXPECT_EQ(trace, "F StartupMessage 3.0 user=\"alice\" database=\"shop\"\nF Query \"select 42\"\n");
}

TEST(FrontendDecoder, CopyDataAndPasswordsAreSkippedNotBuffered) {
  const std::string payload(10 << 20, 'x');
  const std::string stream = startup() + encode_password_message(std::string(1000, 's')) +
                             encode_query("copy t from stdin") + encode_copy_data(payload) + encode_copy_done();
  std::vector<std::size_t> cuts;
  for (std::size_t cut = 3; cut < stream.size(); cut += 65536) cuts.push_back(cut);
  const Decoded decoded = testing::decode_pieces<FrontendDecoder, FrontendTrace>(
      split_at(stream, cuts), DecoderLimits::frontend(), testing::readable());
  EXPECT_EQ(decoded.status, DecodeStatus::kReady);
  EXPECT_LE(decoded.max_buffered, 100u);
  EXPECT_EQ(decoded.trace,
            "F StartupMessage 3.0 user=\"alice\" database=\"shop\"\nF AuthenticationResponse 1001\n"
            "F Query \"copy t from stdin\"\nF CopyData 10485760\nF CopyDone\n");
}

TEST(FrontendDecoder, OversizedMessagesFailAtTheHeader) {
  // A 1 GiB Query header alone fails at once: nothing is buffered for it.
  const Decoded huge = decode_frontend(startup() + raw_message('Q', 0x7fffffff, ""));
  EXPECT_EQ(huge.status, DecodeStatus::kError);
  EXPECT_EQ(huge.error, "Query message of 2147483643 bytes exceeds the limit of 1073741822 bytes");
  EXPECT_EQ(huge.sqlstate, "08P01");

  const Decoded sync = decode_frontend(startup() + raw_message('S', 10005, ""));
  EXPECT_EQ(sync.error, "Sync message of 10001 bytes exceeds the limit of 10000 bytes");

  DecoderLimits limits;
  limits.large_message = 100;
  const Decoded query = decode_frontend(startup() + encode_query(std::string(100, 'a')), limits);
  EXPECT_EQ(query.error, "Query message of 101 bytes exceeds the limit of 100 bytes");
  EXPECT_EQ(decode_frontend(startup() + encode_query(std::string(99, 'a')), limits).status, DecodeStatus::kReady);

  const Decoded password = decode_frontend(startup() + encode_password_message(std::string(70000, 'p')));
  EXPECT_EQ(password.error, "authentication response message of 70001 bytes exceeds the limit of 65535 bytes");
}

TEST(FrontendDecoder, MalformedStartupPackets) {
  struct Case {
    std::string bytes;
    std::string error;
  };
  const std::string v3 = be32(ProtocolVersion{3, 0}.code());
  const Case cases[] = {
      {raw_startup(4, ""), "invalid length of startup packet: 4 (expected 8 to 10004 bytes)"},
      {raw_startup(-8, ""), "invalid length of startup packet: -8 (expected 8 to 10004 bytes)"},
      {raw_startup(10005, ""), "invalid length of startup packet: 10005 (expected 8 to 10004 bytes)"},
      {raw_startup(0x7fffffff, ""), "invalid length of startup packet: 2147483647 (expected 8 to 10004 bytes)"},
      {raw_startup(13, v3 + std::string("user\0", 5)),
       "invalid startup packet layout: value of \"user\": string is not NUL-terminated within the message (0 bytes "
       "left)"},
      {raw_startup(18, v3 + std::string("user\0bob\0", 9) + "x"),
       "invalid startup packet layout: parameter name: string is not NUL-terminated within the message (1 bytes "
       "left)"},
      {raw_startup(17, v3 + std::string("user\0bob\0", 9)),
       "invalid startup packet layout: parameter name: string is not NUL-terminated within the message (0 bytes "
       "left)"},
      {raw_startup(11, v3 + std::string("\0xy", 3)),
       "invalid startup packet layout: expected the terminator as the last byte"},
      {raw_startup(12, be32(kSslRequestCode) + "abcd"), "invalid length of SSLRequest: 12 bytes (expected 8)"},
      {"GET / HTTP/1.1\r\nHost: x\r\n\r\n", "invalid length of startup packet: 1195725856 (expected 8 to 10004 bytes)"},
  };
  for (const Case& c : cases) {
    const Decoded decoded = decode_frontend(c.bytes);
    EXPECT_EQ(decoded.status, DecodeStatus::kError) << c.error;
    EXPECT_EQ(decoded.error, c.error);
    EXPECT_EQ(decoded.sqlstate, "08P01");
  }
}

TEST(FrontendDecoder, MalformedTypedMessages) {
  struct Case {
    std::string message;
    std::string error;
  };
  const Case cases[] = {
      {raw_message('Z', 4, ""), "invalid frontend message type 'Z'"},
      {raw_message('\x01', 4, ""), "invalid frontend message type 0x01"},
      {raw_message('Q', 3, ""), "invalid length 3 of Query message: the length counts its own 4 bytes"},
      {raw_message('Q', -1, ""), "invalid length -1 of Query message: the length counts its own 4 bytes"},
      {raw_message('Q', 8, "abcd"),
       "malformed Query message: query string: string is not NUL-terminated within the message (4 bytes left)"},
      {raw_message('Q', 7, std::string("a\0b", 3)), "malformed Query message: 1 unexpected bytes after the last field"},
      {raw_message('P', 10, std::string("\0q\0\0\x05", 5) + "x"),
       "malformed Parse message: parameter types: count 5 needs 20 bytes but only 1 remain in the message"},
      {raw_message('B', 9, std::string("\0\0\0\0\0", 5)),
       "malformed Bind message: parameter count: needs 2 bytes but only 1 remain in the message"},
      {raw_message('B', 14, std::string("\0\0\0\0\0\x03\xff\xff\xff\xff", 10)),
       "malformed Bind message: parameter values: item 2 of 3 is malformed or runs past the end of the message (10 "
       "bytes)"},
      {raw_message('B', 14, std::string("\0\0\0\0\0\x01\xff\xff\xff\xfe", 10)),
       "malformed Bind message: parameter values: item 1 of 1 is malformed or runs past the end of the message (10 "
       "bytes)"},
      {raw_message('B', 18, std::string("\0\0\0\0\0\x01\0\0\0\x10xx\0\0", 14)),
       "malformed Bind message: parameter values: item 1 of 1 is malformed or runs past the end of the message (14 "
       "bytes)"},
      {encode_bind("", "", {std::string_view("1")}, {0, 0}),
       "malformed Bind message: 2 parameter formats but 1 parameters: expected 0, 1 or one per parameter"},
      {raw_message('E', 8, std::string("\0\0\0\0", 4)),
       "malformed Execute message: row limit: needs 4 bytes but only 3 remain in the message"},
      {raw_message('D', 7, std::string("X\0\0", 3)),
       "malformed Describe message: invalid Describe target 'X': expected 'S' (statement) or 'P' (portal)"},
      {raw_message('C', 6, std::string("Q\0", 2)),
       "malformed Close message: invalid Close target 'Q': expected 'S' (statement) or 'P' (portal)"},
      {raw_message('S', 5, "x"), "malformed Sync message: 1 unexpected bytes after the last field"},
      {raw_message('X', 6, "xx"), "malformed Terminate message: 2 unexpected bytes after the last field"},
      {raw_message('F', 12, std::string("\0\0\0\x01\0\x02\0\0", 8)),
       "malformed FunctionCall message: argument formats: count 2 needs 4 bytes but only 2 remain in the message"},
      {raw_message('f', 5, "x"),
       "malformed CopyFail message: error message: string is not NUL-terminated within the message (1 bytes left)"},
  };
  for (const Case& c : cases) {
    const Decoded decoded = decode_frontend(startup() + c.message);
    EXPECT_EQ(decoded.status, DecodeStatus::kError) << c.error;
    EXPECT_EQ(decoded.error, c.error);
  }
}

TEST(FrontendDecoder, ErrorIsSticky) {
  std::string trace;
  FrontendTrace events(trace, testing::readable());
  FrontendDecoder decoder(events);
  EXPECT_EQ(decoder.feed(startup() + raw_message('?', 4, "")), DecodeStatus::kError);
  const std::string before = trace;
  EXPECT_EQ(decoder.feed(encode_query("select 1")), DecodeStatus::kError);
  EXPECT_EQ(decoder.feed(""), DecodeStatus::kError);
  EXPECT_EQ(trace, before);
  EXPECT_TRUE(decoder.failed());
  EXPECT_EQ(decoder.error().message, "invalid frontend message type '?'");
}

TEST(FrontendDecoder, DataAfterTerminateIsIgnoredAsPostgresIgnoresIt) {
  std::string trace;
  FrontendTrace events(trace, testing::readable());
  FrontendDecoder decoder(events);
  EXPECT_EQ(decoder.feed(startup() + encode_query("select 1")), DecodeStatus::kReady);
  EXPECT_FALSE(decoder.ended());
  EXPECT_EQ(decoder.trailing_bytes(), 0u);
  // node-postgres may flush a queued message right behind its Terminate.
  EXPECT_EQ(decoder.feed(encode_terminate() + encode_sync() + "garbage"), DecodeStatus::kReady);
  EXPECT_TRUE(decoder.ended());
  EXPECT_EQ(decoder.trailing_bytes(), encode_sync().size() + 7);
  EXPECT_EQ(decoder.feed(encode_query("select 2")), DecodeStatus::kReady);
  EXPECT_EQ(decoder.trailing_bytes(), encode_query("select 2").size());
  EXPECT_EQ(decoder.feed(""), DecodeStatus::kReady);
  EXPECT_EQ(decoder.trailing_bytes(), 0u);
  EXPECT_FALSE(decoder.failed());
  EXPECT_EQ(trace, "F StartupMessage 3.0 user=\"alice\" database=\"shop\"\nF Query \"select 1\"\nF Terminate\n");

  EXPECT_EQ(decode_frontend(startup() + encode_terminate()).status, DecodeStatus::kReady);
  testing::expect_split_invariant<FrontendDecoder, FrontendTrace>(
      startup() + encode_terminate() + encode_query("never read"), DecoderLimits::frontend());
}

TEST(FrontendDecoder, TerminateInPlaceOfTheStartupPacket) {
  // node-postgres on connect(); end(): Postgres and PgBouncer close such a connection quietly.
  const Decoded alone = decode_frontend(encode_terminate());
  EXPECT_EQ(alone.status, DecodeStatus::kReady);
  EXPECT_EQ(alone.error, "");
  EXPECT_EQ(alone.trace, "F Terminate\n");
  testing::expect_split_invariant<FrontendDecoder, FrontendTrace>(encode_terminate() + encode_query("x"),
                                                                  DecoderLimits::frontend());
  // After an SSLRequest answered 'N', the next packet may be a Terminate too.
  const Decoded after_ssl = testing::decode_pieces<FrontendDecoder, FrontendTrace>(
      {encode_ssl_request(), encode_terminate()}, DecoderLimits::frontend(), testing::readable());
  EXPECT_EQ(after_ssl.trace, "F SSLRequest\nF Terminate\n");

  std::string trace;
  FrontendTrace events(trace, testing::readable());
  FrontendDecoder decoder(events);
  EXPECT_EQ(decoder.feed(encode_terminate().substr(0, 4)), DecodeStatus::kNeedMoreData);
  EXPECT_FALSE(decoder.ended());
  EXPECT_EQ(decoder.feed(encode_terminate().substr(4) + "x"), DecodeStatus::kReady);
  EXPECT_TRUE(decoder.ended());
  EXPECT_EQ(decoder.trailing_bytes(), 1u);

  // Any other length after the 'X' is no Terminate, and far too long for a startup packet.
  const Decoded long_x = decode_frontend(raw_message('X', 5, "x"));
  EXPECT_EQ(long_x.status, DecodeStatus::kError);
  EXPECT_EQ(long_x.error, "invalid length of startup packet: 1476395008 (expected 8 to 10004 bytes)");
  EXPECT_EQ(long_x.sqlstate, "08P01");
}

TEST(FrontendDecoder, ExpectStartupRestartsTheStartupPhase) {
  std::string trace;
  FrontendTrace events(trace, testing::readable());
  FrontendDecoder decoder(events);
  EXPECT_EQ(decoder.feed(startup() + encode_query("sel")), DecodeStatus::kReady);
  EXPECT_EQ(decoder.feed(encode_query("select 1").substr(0, 4)), DecodeStatus::kNeedMoreData);
  decoder.expect_startup();
  EXPECT_TRUE(decoder.in_startup_phase());
  EXPECT_EQ(decoder.buffered_bytes(), 0u);
  EXPECT_EQ(decoder.feed(encode_startup({{"user", "carol"}})), DecodeStatus::kReady);
  EXPECT_EQ(trace,
            "F StartupMessage 3.0 user=\"alice\" database=\"shop\"\nF Query \"sel\"\n"
            "F StartupMessage 3.0 user=\"carol\"\n");
}

TEST(FrontendDecoder, FeedingFromACallbackIsRefused) {
  struct Reentrant : FrontendEvents {
    void on_query(std::string_view) override { status = decoder->feed(encode_sync()); }
    FrontendDecoder* decoder = nullptr;
    DecodeStatus status = DecodeStatus::kReady;
  } events;
  FrontendDecoder decoder(events);
  events.decoder = &decoder;
  EXPECT_EQ(decoder.feed(startup() + encode_query("x")), DecodeStatus::kError);
  EXPECT_EQ(events.status, DecodeStatus::kError);
}

TEST(FrontendDecoder, RandomBytesNeverCrash) {
  std::mt19937 random(20240601);
  for (int round = 0; round < 3000; ++round) {
    std::string bytes(random() % 300, '\0');
    for (auto& byte : bytes) byte = static_cast<char>(random());
    // Half the rounds start past the startup phase, where most of the decoding happens.
    if (round % 2 == 1) bytes.insert(0, startup());
    // A plausible header now and then, so lengths are not always absurd.
    if (round % 3 == 0 && bytes.size() > startup().size() + 5) {
      const std::size_t at = startup().size();
      bytes[at + 1] = 0;
      bytes[at + 2] = 0;
      bytes[at + 3] = 0;
    }
    const Decoded whole = decode_frontend(bytes);
    const Decoded bytewise = testing::decode_pieces<FrontendDecoder, FrontendTrace>(
        split_at(bytes, {bytes.size() / 3, bytes.size() / 2}), DecoderLimits::frontend(), testing::readable());
    if (whole.error.find("unencrypted") == std::string::npos) {
      ASSERT_EQ(whole.trace, bytewise.trace) << round;
      ASSERT_EQ(whole.status, bytewise.status) << round;
    }
  }
}

}  // namespace
}  // namespace pgstack::pgwire
