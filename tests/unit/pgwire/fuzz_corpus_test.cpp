// The seed corpus of tests/fuzz/pgwire_fuzzer.cpp is generated here from the encoders, so that it
// stays in step with the protocol code: PGWIRE_WRITE_CORPUS=<dir> ./pgwire_test writes the files.
// Without it, the test checks that every checked-in seed still matches what would be generated.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "decode_helpers.h"
#include "pgwire/encoder.h"

namespace pgstack::pgwire {
namespace {

using namespace std::string_literals;

struct Seed {
  std::string name;
  char control;  // the fuzzer's byte 0: bit 0 backend, bits 1-2 mode, bits 3-7 split seed
  std::string stream;
  bool valid;  // decodes without error
};

std::string pgbench_startup() {
  return encode_startup({{"user", "bench"}, {"database", "pgbench"}, {"application_name", "pgbench"}});
}

// One pgbench TPC-B transaction in extended protocol (pgbench -M prepared).
std::string pgbench_frontend() {
  std::string stream = encode_parse("P0_1", "UPDATE pgbench_accounts SET abalance = abalance + $1 WHERE aid = $2;") +
                       encode_parse("P0_2", "SELECT abalance FROM pgbench_accounts WHERE aid = $1") +
                       encode_query("BEGIN;");
  stream += encode_bind("", "P0_1", {std::string_view("-2143"), std::string_view("39421")}) +
            encode_describe(TargetKind::kPortal, "") + encode_execute("", 0) + encode_sync();
  stream += encode_bind("", "P0_2", {std::string_view("39421")}) + encode_describe(TargetKind::kPortal, "") +
            encode_execute("", 0) + encode_sync() + encode_query("END;");
  return stream;
}

std::string pgbench_backend() {
  return encode_parse_complete() + encode_parse_complete() + encode_command_complete("BEGIN") +
         encode_ready_for_query(TransactionStatus::kInTransaction) + encode_bind_complete() + encode_no_data() +
         encode_command_complete("UPDATE 1") + encode_ready_for_query(TransactionStatus::kInTransaction) +
         encode_bind_complete() + encode_row_description({{"abalance", 16390, 3, 23, 4, -1, 0}}) +
         encode_data_row({std::string_view("-2143")}) + encode_command_complete("SELECT 1") +
         encode_ready_for_query(TransactionStatus::kInTransaction) + encode_command_complete("COMMIT") +
         encode_ready_for_query(TransactionStatus::kIdle);
}

std::string connection_backend() {
  return encode_authentication_sasl({"SCRAM-SHA-256"}) +
         encode_authentication(AuthenticationKind::kSaslContinue, "r=nonce,s=c2FsdA==,i=4096") +
         encode_authentication(AuthenticationKind::kSaslFinal, "v=c2lnbmF0dXJl") +
         encode_authentication(AuthenticationKind::kOk) + encode_parameter_status("server_version", "16.3") +
         encode_parameter_status("integer_datetimes", "on") + encode_backend_key_data(4711, 0x12345678u) +
         encode_negotiate_protocol_version(0, {"_pq_.unknown"}) + encode_ready_for_query(TransactionStatus::kIdle);
}

std::vector<Seed> seeds() {
  ErrorFields error;
  error.severity = "ERROR";
  error.sqlstate = "23505";
  error.message = "duplicate key value violates unique constraint";
  error.detail = "Key (id)=(1) already exists.";
  error.constraint = "users_pkey";
  std::vector<Seed> seeds = {
      {"frontend_connect", 0x00,
       pgbench_startup() + encode_password_message("p") + encode_message('p', "SCRAM-SHA-256\0\0\0\0\x05n,,n="s) +
           encode_query("select 1") + encode_terminate(),
       true},
      {"frontend_pgbench", 0x28, pgbench_startup() + pgbench_frontend(), true},
      {"frontend_all_types", 0x10,
       pgbench_startup() + encode_parse("s", "select $1", {23}) +
           encode_bind("p", "s", {std::string_view("1"), std::nullopt}, {0, 1}, {1}) +
           encode_describe(TargetKind::kStatement, "s") + encode_execute("p", 10) + encode_flush() +
           encode_close(TargetKind::kPortal, "p") + encode_close(TargetKind::kStatement, "s") + encode_sync() +
           encode_function_call(1598, {std::string_view("x")}, {}, 0) + encode_query("copy t from stdin") +
           encode_copy_data("1\t2\n") + encode_copy_done() + encode_copy_fail("oops") + encode_query("") +
           encode_terminate(),
       true},
      {"frontend_ssl_request", 0x00, encode_ssl_request(), true},
      {"frontend_gssenc_request", 0x08, encode_gssenc_request(), true},
      {"frontend_cancel", 0x00, encode_cancel_request(4711, 0x12345678u), true},
      {"frontend_terminate_before_startup", 0x00, encode_terminate() + encode_query("never read"), true},
      {"frontend_data_after_terminate", 0x08,
       pgbench_startup() + encode_query("select 1") + encode_terminate() + encode_sync(), true},
      {"frontend_protocol_3_2", 0x00, encode_startup({{"user", "u"}, {"_pq_.x", "y"}}, ProtocolVersion{3, 2}), true},
      {"frontend_protocol_2", 0x00, encode_startup({{"user", "u"}}, ProtocolVersion{2, 0}), false},
      {"frontend_small_limits", 0x06, pgbench_startup() + encode_query(std::string(200, 'x')), false},
      {"frontend_bad_bind", 0x18, pgbench_startup() + encode_message('B', "\0\0\0\0\0\x05\0\0\0\x01x"s), false},
      {"frontend_replication", 0x00,
       encode_startup({{"user", "rep"}, {"replication", "database"}}) + encode_query("IDENTIFY_SYSTEM") +
           encode_query("START_REPLICATION SLOT s LOGICAL 0/0") + encode_copy_data("r\0\0\0\0"s) + encode_copy_done(),
       true},
      {"backend_connect", 0x01, connection_backend(), true},
      {"backend_pgbench", 0x29, pgbench_backend(), true},
      {"backend_all_types", 0x11,
       encode_authentication(AuthenticationKind::kMd5Password, "salt") +
           encode_authentication(AuthenticationKind::kCleartextPassword) + encode_error_response(error) +
           encode_notice_response(error) + encode_parameter_description({23, 25}) + encode_portal_suspended() +
           encode_close_complete() + encode_empty_query_response() + encode_copy_in_response(0, {0}) +
           encode_copy_out_response(1, {1, 1}) + encode_copy_data("x") + encode_copy_done() +
           encode_copy_both_response(0, {}) + encode_notification(1, "ch", "payload") +
           encode_function_call_response(std::string_view("42")) + encode_function_call_response(std::nullopt) +
           encode_command_complete("INSERT 0 5") + encode_ready_for_query(TransactionStatus::kFailed),
       true},
      {"backend_ssl_accepted", 0x03, "S", true},
      {"backend_ssl_refused", 0x03, std::string("N").append(connection_backend()), true},
      {"backend_gssenc", 0x05, "G", true},
      {"backend_error_to_ssl", 0x03, encode_error_response("FATAL", "08P01", "unsupported"), true},
      {"backend_bad_row", 0x01, encode_message('D', "\0\x02\0\0\0\x01x\xff\xff\xff\xfe"s), false},
      {"sql_normalize", 0x00,
       "select 'a', E'b\\'', $$c$$, $t$d$t$, 1.5e3, -2 from t where id in (1, 2, $1) /* c */ -- d\n and x = ARRAY[1]",
       false},
  };
  return seeds;
}

std::string seed_bytes(const Seed& seed) { return std::string(1, seed.control) + seed.stream; }

TEST(FuzzCorpus, SeedsDecodeAsIntended) {
  for (const Seed& seed : seeds()) {
    testing::Decoded decoded;
    if (seed.control & 1) {
      std::string trace;
      BackendTrace events(trace, testing::readable());
      BackendDecoder decoder(events);
      const unsigned mode = (seed.control >> 1) & 3;
      if (mode == 1) decoder.expect_ssl_response();
      if (mode == 2) decoder.expect_gssenc_response();
      decoder.feed(seed.stream);
      EXPECT_EQ(decoder.failed(), !seed.valid) << seed.name << ": " << decoder.error().message;
    } else {
      const DecoderLimits limits =
          ((seed.control >> 1) & 3) == 3 ? DecoderLimits{64, 32, 16, 128} : DecoderLimits::frontend();
      decoded = testing::decode_frontend(seed.stream, limits);
      EXPECT_EQ(decoded.error.empty(), seed.valid) << seed.name << ": " << decoded.error;
    }
  }
}

TEST(FuzzCorpus, CheckedInSeedsAreCurrent) {
  const std::filesystem::path directory = std::filesystem::path(PGSTACK_SOURCE_DIR) / "tests/fuzz/corpus/pgwire";
  if (const char* target = std::getenv("PGWIRE_WRITE_CORPUS")) {
    std::filesystem::create_directories(target);
    for (const Seed& seed : seeds()) {
      std::ofstream(std::filesystem::path(target) / seed.name, std::ios::binary) << seed_bytes(seed);
    }
  }
  for (const Seed& seed : seeds()) {
    std::ifstream file(directory / seed.name, std::ios::binary);
    ASSERT_TRUE(file) << "missing seed " << seed.name << ": run with PGWIRE_WRITE_CORPUS=" << directory.string();
    const std::string bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
    EXPECT_EQ(bytes, seed_bytes(seed)) << seed.name;
  }
}

}  // namespace
}  // namespace pgstack::pgwire
