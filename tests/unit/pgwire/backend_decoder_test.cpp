#include "pgwire/backend_decoder.h"

#include <cstdint>
#include <random>
#include <string>

#include <gtest/gtest.h>

#include "decode_helpers.h"
#include "pgwire/encoder.h"

namespace pgstack::pgwire {
namespace {

using testing::be32;
using testing::decode_backend;
using testing::Decoded;
using testing::raw_message;
using testing::split_at;

std::vector<std::string> split_strings(const std::string& bytes, std::size_t at) {
  return {bytes.substr(0, at), bytes.substr(at)};
}

// What a server sends for a connection, a simple query, an extended query and a COPY.
std::string session_stream() {
  ErrorFields error;
  error.severity = "ERROR";
  error.sqlstate = "42P01";
  error.message = "relation \"nope\" does not exist";
  error.position = "15";
  error.file = "parse_relation.c";
  error.line = "1392";
  error.routine = "parserOpenTable";
  ErrorFields notice;
  notice.severity = "NOTICE";
  notice.sqlstate = "00000";
  notice.message = "table \"t\" does not exist, skipping";
  return encode_authentication_sasl({"SCRAM-SHA-256-PLUS", "SCRAM-SHA-256"}) +
         encode_authentication(AuthenticationKind::kSaslContinue, "r=abc,s=salt,i=4096") +
         encode_authentication(AuthenticationKind::kSaslFinal, "v=proof") +
         encode_authentication(AuthenticationKind::kOk) + encode_parameter_status("server_version", "16.3") +
         encode_parameter_status("client_encoding", "UTF8") + encode_backend_key_data(31337, 0xdeadbeefu) +
         encode_ready_for_query(TransactionStatus::kIdle) +
         encode_row_description({{"id", 16384, 1, 23, 4, -1, 0}, {"name", 16384, 2, 25, -1, -1, 0}}) +
         encode_data_row({std::string_view("1"), std::string_view("one")}) +
         encode_data_row({std::string_view("2"), std::nullopt}) + encode_command_complete("SELECT 2") +
         encode_ready_for_query(TransactionStatus::kIdle) + encode_command_complete("BEGIN") +
         encode_ready_for_query(TransactionStatus::kInTransaction) + encode_error_response(error) +
         encode_ready_for_query(TransactionStatus::kFailed) + encode_notice_response(notice) +
         encode_command_complete("ROLLBACK") + encode_ready_for_query(TransactionStatus::kIdle) +
         encode_parse_complete() + encode_parameter_description({23, 25}) + encode_no_data() + encode_bind_complete() +
         encode_row_description({{"n", 0, 0, 20, 8, -1, 1}}) +
         encode_data_row({std::string_view("\0\0\0\0\0\0\0\x07", 8)}) + encode_portal_suspended() +
         encode_close_complete() + encode_empty_query_response() + encode_copy_in_response(0, {0, 0}) +
         encode_command_complete("COPY 3") + encode_copy_out_response(1, {1}) + encode_copy_data("row\n") +
         encode_copy_done() + encode_command_complete("COPY 1") + encode_copy_both_response(0, {}) +
         encode_copy_data(std::string(100, 'w')) + encode_notification(99, "jobs", "{\"id\": 1}") +
         encode_function_call_response(std::string_view("ok")) + encode_function_call_response(std::nullopt) +
         encode_negotiate_protocol_version(0, {"_pq_.compression"}) + encode_command_complete("INSERT 0 5") +
         encode_ready_for_query(TransactionStatus::kIdle);
}

TEST(BackendDecoder, EveryMessageType) {
  const Decoded decoded = decode_backend(session_stream());
  EXPECT_EQ(decoded.status, DecodeStatus::kReady);
  EXPECT_EQ(decoded.error, "");
  EXPECT_EQ(decoded.trace,
            "B AuthenticationSASL code=10 data=34B \"SCRAM-SHA-256-PLUS\" \"SCRAM-SHA-256\"\n"
            "B AuthenticationSASLContinue code=11 data=19B\n"
            "B AuthenticationSASLFinal code=12 data=7B\n"
            "B AuthenticationOk code=0 data=0B\n"
            "B ParameterStatus server_version=\"16.3\"\n"
            "B ParameterStatus client_encoding=\"UTF8\"\n"
            "B BackendKeyData pid=31337 key=\"\\xde\\xad\\xbe\\xef\"\n"
            "B ReadyForQuery I\n"
            "B RowDescription \"id\":16384/1/23/4/-1/0 \"name\":16384/2/25/-1/-1/0\n"
            "B DataRow 19 [\"1\",\"one\"]\n"
            "B DataRow 16 [\"2\",NULL]\n"
            "B CommandComplete \"SELECT 2\" command=\"SELECT\" rows=2\n"
            "B ReadyForQuery I\n"
            "B CommandComplete \"BEGIN\" command=\"BEGIN\"\n"
            "B ReadyForQuery T\n"
            "B ErrorResponse S=\"ERROR\" V=\"ERROR\" C=\"42P01\" M=\"relation \\\"nope\\\" does not exist\" P=\"15\" "
            "F=\"parse_relation.c\" L=\"1392\" R=\"parserOpenTable\"\n"
            "B ReadyForQuery E\n"
            "B NoticeResponse S=\"NOTICE\" V=\"NOTICE\" C=\"00000\" M=\"table \\\"t\\\" does not exist, skipping\"\n"
            "B CommandComplete \"ROLLBACK\" command=\"ROLLBACK\"\n"
            "B ReadyForQuery I\n"
            "B ParseComplete\n"
            "B ParameterDescription [23,25]\n"
            "B NoData\n"
            "B BindComplete\n"
            "B RowDescription \"n\":0/0/20/8/-1/1\n"
            "B DataRow 19 [\"\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x07\"]\n"
            "B PortalSuspended\n"
            "B CloseComplete\n"
            "B EmptyQueryResponse\n"
            "B CopyInResponse format=0 columns=[0,0]\n"
            "B CommandComplete \"COPY 3\" command=\"COPY\" rows=3\n"
            "B CopyOutResponse format=1 columns=[1]\n"
            "B CopyData 4\n"
            "B CopyDone\n"
            "B CommandComplete \"COPY 1\" command=\"COPY\" rows=1\n"
            "B CopyBothResponse format=0 columns=[]\n"
            "B CopyData 100\n"
            "B NotificationResponse 99 \"jobs\" \"{\\\"id\\\": 1}\"\n"
            "B FunctionCallResponse \"ok\"\n"
            "B FunctionCallResponse NULL\n"
            "B NegotiateProtocolVersion 3.0 \"_pq_.compression\"\n"
            "B CommandComplete \"INSERT 0 5\" command=\"INSERT\" rows=5\n"
            "B ReadyForQuery I\n");
}

TEST(BackendDecoder, AnySplitReportsTheSameEvents) {
  testing::expect_split_invariant<BackendDecoder, BackendTrace>(session_stream(), DecoderLimits::backend());
}

TEST(BackendDecoder, AuthenticationRequestsNeverExposeTheirData) {
  const std::string stream = encode_authentication(AuthenticationKind::kCleartextPassword) +
                             encode_authentication(AuthenticationKind::kMd5Password, "salt") +
                             encode_authentication(AuthenticationKind::kGss) +
                             encode_authentication(AuthenticationKind::kGssContinue, "token") +
                             encode_authentication(AuthenticationKind::kSspi) +
                             encode_authentication(AuthenticationKind::kKerberosV5) +
                             raw_message('R', 10, be32(99) + "xx");
  EXPECT_EQ(decode_backend(stream).trace,
            "B AuthenticationCleartextPassword code=3 data=0B\n"
            "B AuthenticationMD5Password code=5 data=4B\n"
            "B AuthenticationGSS code=7 data=0B\n"
            "B AuthenticationGSSContinue code=8 data=5B\n"
            "B AuthenticationSSPI code=9 data=0B\n"
            "B AuthenticationKerberosV5 code=2 data=0B\n"
            "B AuthenticationUnknown code=99 data=2B\n");
}

TEST(BackendDecoder, CommandTags) {
  struct Case {
    std::string_view tag;
    std::string_view command;
    CommandKind kind;
    std::optional<std::uint64_t> rows;
  };
  const Case cases[] = {
      {"INSERT 0 5", "INSERT", CommandKind::kInsert, 5},
      {"SELECT 3", "SELECT", CommandKind::kSelect, 3},
      {"UPDATE 2", "UPDATE", CommandKind::kUpdate, 2},
      {"DELETE 0", "DELETE", CommandKind::kDelete, 0},
      {"MERGE 7", "MERGE", CommandKind::kMerge, 7},
      {"COPY 18446744073", "COPY", CommandKind::kCopy, 18446744073u},
      {"FETCH 100", "FETCH", CommandKind::kFetch, 100},
      {"MOVE 1", "MOVE", CommandKind::kMove, 1},
      {"BEGIN", "BEGIN", CommandKind::kBegin, std::nullopt},
      {"START TRANSACTION", "START TRANSACTION", CommandKind::kBegin, std::nullopt},
      {"COMMIT", "COMMIT", CommandKind::kCommit, std::nullopt},
      {"ROLLBACK", "ROLLBACK", CommandKind::kRollback, std::nullopt},
      {"CREATE TABLE", "CREATE TABLE", CommandKind::kOther, std::nullopt},
      {"SET", "SET", CommandKind::kOther, std::nullopt},
      {"", "", CommandKind::kOther, std::nullopt},
      {"SELECT", "SELECT", CommandKind::kSelect, std::nullopt},
      {"SELECT x", "SELECT x", CommandKind::kOther, std::nullopt},
      {"SELECT 99999999999999999999", "SELECT 99999999999999999999", CommandKind::kOther, std::nullopt},
      {" 5", " 5", CommandKind::kOther, std::nullopt},
  };
  for (const Case& c : cases) {
    const CommandTag tag = parse_command_tag(c.tag);
    EXPECT_EQ(tag.text, c.tag);
    EXPECT_EQ(tag.command, c.command) << c.tag;
    EXPECT_EQ(tag.kind, c.kind) << c.tag;
    EXPECT_EQ(tag.rows, c.rows) << c.tag;
  }
}

TEST(BackendDecoder, ErrorResponseFieldsByCode) {
  struct Capture : BackendEvents {
    void on_error(const ErrorFields& error) override {
      severity = error.severity;
      sqlstate = error.sqlstate;
      message = error.message;
      detail = error.detail;
      hint = error.hint;
      constraint = error.constraint;
      where = error.where;
    }
    std::string severity, sqlstate, message, detail, hint, constraint, where;
  } capture;
  BackendDecoder decoder(capture);
  // Unknown field codes ('Z') are ignored, as the protocol asks.
  static constexpr char kBody[] =
      "SFATAL\0C28P01\0Mpassword authentication failed\0Ddetail\0Hhint\0nusers_pkey\0WPL/pgSQL function\0"
      "Zfuture\0";
  const std::string body(kBody, sizeof(kBody));  // the implicit NUL ends the field list
  EXPECT_EQ(decoder.feed(encode_message('E', body)), DecodeStatus::kReady);
  EXPECT_EQ(capture.severity, "FATAL");
  EXPECT_EQ(capture.sqlstate, "28P01");
  EXPECT_EQ(capture.message, "password authentication failed");
  EXPECT_EQ(capture.detail, "detail");
  EXPECT_EQ(capture.hint, "hint");
  EXPECT_EQ(capture.constraint, "users_pkey");
  EXPECT_EQ(capture.where, "PL/pgSQL function");
}

TEST(BackendDecoder, SslAnswerWhenExpected) {
  struct Case {
    bool gss;
    std::vector<std::string> pieces;
    std::string trace;
    std::string error;
  };
  const Case cases[] = {
      {false, {"S"}, "B SSLResponse S\n", ""},
      {false,
       {"N", encode_authentication(AuthenticationKind::kOk)},
       "B SSLResponse N\nB AuthenticationOk code=0 data=0B\n",
       ""},
      {false,
       {"N" + encode_authentication(AuthenticationKind::kOk)},
       "B SSLResponse N\nB AuthenticationOk code=0 data=0B\n",
       ""},
      {true, {"G"}, "B GSSENCResponse G\n", ""},
      {true, {"N"}, "B GSSENCResponse N\n", ""},
      {false,
       {"S" + encode_authentication(AuthenticationKind::kOk)},
       "",
       "received unencrypted data after SSL response"},
      {true,
       {"G" + encode_authentication(AuthenticationKind::kOk)},
       "",
       "received unencrypted data after GSSAPI encryption response"},
      {false, {"X"}, "", "received invalid response to SSL negotiation: 'X'"},
      {true, {"S"}, "", "received invalid response to GSSAPI negotiation: 'S'"},
      // A server that refuses with an ErrorResponse: decoded as one, split or not.
      {false,
       {encode_error_response("FATAL", "08P01", "no SSL")},
       "B ErrorResponse S=\"FATAL\" V=\"FATAL\" C=\"08P01\" M=\"no SSL\"\n",
       ""},
      {false, split_strings(encode_error_response("FATAL", "08P01", "no SSL"), 1),
       "B ErrorResponse S=\"FATAL\" V=\"FATAL\" C=\"08P01\" M=\"no SSL\"\n", ""},
      {false, split_strings(encode_error_response("FATAL", "08P01", "no SSL"), 3),
       "B ErrorResponse S=\"FATAL\" V=\"FATAL\" C=\"08P01\" M=\"no SSL\"\n", ""},
  };
  for (const Case& c : cases) {
    std::string trace;
    BackendTrace events(trace, testing::readable());
    BackendDecoder decoder(events);
    if (c.gss) {
      decoder.expect_gssenc_response();
    } else {
      decoder.expect_ssl_response();
    }
    for (const auto& piece : c.pieces) decoder.feed(piece);
    EXPECT_EQ(trace, c.trace) << c.pieces[0];
    EXPECT_EQ(decoder.failed() ? decoder.error().message : "", c.error) << c.pieces[0];
  }
}

TEST(BackendDecoder, MalformedMessages) {
  struct Case {
    std::string message;
    std::string error;
  };
  const Case cases[] = {
      {raw_message('Q', 4, ""), "invalid backend message type 'Q'"},
      {raw_message('Z', 2, ""), "invalid length 2 of ReadyForQuery message: the length counts its own 4 bytes"},
      {raw_message('Z', 5, "X"),
       "malformed ReadyForQuery message: invalid transaction status 'X': expected 'I', 'T' or 'E'"},
      {raw_message('Z', 6, "II"), "malformed ReadyForQuery message: 1 unexpected bytes after the last field"},
      {raw_message('R', 3, ""), "invalid length 3 of Authentication message: the length counts its own 4 bytes"},
      {raw_message('R', 6, std::string("\0\0", 2)),
       "malformed Authentication message: authentication code: needs 4 bytes but only 2 remain in the message"},
      {raw_message('R', 9, be32(0) + "x"), "malformed Authentication message: 1 unexpected bytes after the last field"},
      {raw_message('R', 11, be32(5) + "abc"), "malformed Authentication message: the MD5 salt is 4 bytes, got 3"},
      {raw_message('R', 15, be32(10) + std::string("SCRAM\0", 6) + "x"),
       "malformed Authentication message: SASL mechanisms: string is not NUL-terminated within the message (1 bytes "
       "left)"},
      {raw_message('K', 10, be32(1) + "ab"),
       "malformed BackendKeyData message: secret key of 2 bytes: expected 4 to 256"},
      {raw_message('D', 6, std::string("\0\x02", 2)),
       "malformed DataRow message: column values: item 1 of 2 is malformed or runs past the end of the message (2 "
       "bytes)"},
      {raw_message('D', 14, std::string("\0\x01", 2) + be32(0x7fffffff) + "abcd"),
       "malformed DataRow message: column values: item 1 of 1 is malformed or runs past the end of the message (10 "
       "bytes)"},
      {raw_message('D', 10, std::string("\0\x01", 2) + be32(0xfffffff0u)),
       "malformed DataRow message: column values: item 1 of 1 is malformed or runs past the end of the message (6 "
       "bytes)"},
      {raw_message('T', 15, std::string("\0\x01id\0", 5) + "123456"),
       "malformed RowDescription message: fields: item 1 of 1 is malformed or runs past the end of the message (11 "
       "bytes)"},
      {raw_message('C', 8, "SELE"),
       "malformed CommandComplete message: command tag: string is not NUL-terminated within the message (4 bytes "
       "left)"},
      {raw_message('E', 9, std::string("SERROR", 5)),
       "malformed ErrorResponse message: field value: string is not NUL-terminated within the message (4 bytes left)"},
      {raw_message('N', 11, std::string("SERROR\0", 7)),
       "malformed NoticeResponse message: field code: needs 1 bytes but only 0 remain in the message"},
      {raw_message('E', 6, std::string("\0x", 2)),
       "malformed ErrorResponse message: 1 unexpected bytes after the last field"},
      {raw_message('t', 8, std::string("\0\x02\0\0", 4)),
       "malformed ParameterDescription message: parameter types: count 2 needs 8 bytes but only 2 remain in the "
       "message"},
      {raw_message('G', 5, std::string("\0", 1)),
       "malformed CopyInResponse message: column formats count: needs 2 bytes but only 0 remain in the message"},
      {raw_message('v', 12, be32(0) + be32(0xffffffffu)),
       "malformed NegotiateProtocolVersion message: negative option count -1"},
      {raw_message('v', 14, be32(0) + be32(5) + std::string("a\0", 2)),
       "malformed NegotiateProtocolVersion message: option count 5 exceeds the 2 bytes left in the message"},
      {raw_message('V', 8, be32(0xfffffffeu)),
       "malformed FunctionCallResponse message: result value: item 1 of 1 is malformed or runs past the end of the "
       "message (4 bytes)"},
      {raw_message('A', 9, be32(1) + "c"),
       "malformed NotificationResponse message: channel name: string is not NUL-terminated within the message (1 "
       "bytes left)"},
      {raw_message('1', 5, "x"), "malformed ParseComplete message: 1 unexpected bytes after the last field"},
      {raw_message('S', 30005, ""), "ParameterStatus message of 30001 bytes exceeds the limit of 30000 bytes"},
      {raw_message('R', 65540, ""), "Authentication message of 65536 bytes exceeds the limit of 65535 bytes"},
      {raw_message('D', 0x40000000, ""), "DataRow message of 1073741820 bytes exceeds the limit of 1073741822 bytes"},
  };
  for (const Case& c : cases) {
    const Decoded decoded = decode_backend(c.message);
    // The last case is within the limit: it waits for its body instead.
    if (c.error.find("1073741820") != std::string::npos) {
      EXPECT_EQ(decoded.status, DecodeStatus::kNeedMoreData);
      continue;
    }
    EXPECT_EQ(decoded.status, DecodeStatus::kError) << c.error;
    EXPECT_EQ(decoded.error, c.error);
    EXPECT_EQ(decoded.sqlstate, "08P01");
  }
}

TEST(BackendDecoder, RandomBytesNeverCrash) {
  std::mt19937 random(7);
  const std::string types = "RSKZTDCIEN123nts GHWdcAvV";
  for (int round = 0; round < 3000; ++round) {
    std::string bytes;
    // Mostly well-framed messages with random bodies, so the body parsers see the garbage.
    while (bytes.size() < 200) {
      const std::size_t body = random() % 24;
      std::string message(1, types[random() % types.size()]);
      const std::uint32_t length = round % 5 == 0 ? static_cast<std::uint32_t>(random()) : body + 4;
      message += be32(length);
      for (std::size_t i = 0; i < body; ++i) message.push_back(static_cast<char>(random() % 4 == 0 ? 0 : random()));
      bytes += message;
    }
    const Decoded whole = decode_backend(bytes);
    const Decoded split = testing::decode_pieces<BackendDecoder, BackendTrace>(
        split_at(bytes, {bytes.size() / 4, bytes.size() / 2}), DecoderLimits::backend(), testing::readable());
    ASSERT_EQ(whole.trace, split.trace) << round;
    ASSERT_EQ(whole.status, split.status) << round;
  }
}

}  // namespace
}  // namespace pgstack::pgwire
