#include "pgwire/encoder.h"

#include <string>

#include <gtest/gtest.h>

#include "decode_helpers.h"

namespace pgstack::pgwire {
namespace {

using namespace std::string_literals;

TEST(Encoder, ExactBytes) {
  EXPECT_EQ(encode_query("select 1"), "Q\0\0\0\x0dselect 1\0"s);
  EXPECT_EQ(encode_sync(), "S\0\0\0\x04"s);
  EXPECT_EQ(encode_ready_for_query(TransactionStatus::kInTransaction), "Z\0\0\0\x05T"s);
  EXPECT_EQ(encode_message('Z', "E"), encode_ready_for_query(TransactionStatus::kFailed));
  EXPECT_EQ(encode_error_response("FATAL", "08P01", "bad"), "E\0\0\0\x1fSFATAL\0VFATAL\0C08P01\0Mbad\0\0"s);
  EXPECT_EQ(encode_startup({{"user", "u"}}), "\0\0\0\x10\0\x03\0\0user\0u\0\0"s);
  EXPECT_EQ(encode_cancel_request(1, 2u), "\0\0\0\x10\x04\xd2\x16\x2e\0\0\0\x01\0\0\0\x02"s);
  EXPECT_EQ(encode_ssl_response(true), "S");
  EXPECT_EQ(encode_ssl_response(false), "N");
  EXPECT_EQ(encode_gssenc_response(true), "G");
  EXPECT_EQ(encode_data_row({std::nullopt, std::string_view("")}), "D\0\0\0\x0e\0\x02\xff\xff\xff\xff\0\0\0\0"s);
  EXPECT_EQ(MessageBuilder::startup_packet().add_u32(kSslRequestCode).finish(), encode_ssl_request());
}

TEST(Encoder, StringsStopAtTheirFirstNul) {
  EXPECT_EQ(encode_query("select 1\0; drop table t"s), encode_query("select 1"));
  EXPECT_EQ(encode_startup({{"\0user"s, "x"}, {"user", "a\0b"s}}), encode_startup({{"user", "a"}}));
}

TEST(Encoder, CountsAreClampedToTheWireLimit) {
  std::vector<std::optional<std::string_view>> values(70000, std::string_view("v"));
  struct Count : BackendEvents {
    void on_data_row(const DataRow& row) override {
      size = row.values.size();
      for (const Value& value : row.values) iterated += value.text() == "v" ? 1 : 0;
    }
    std::size_t size = 0;
    std::size_t iterated = 0;
  } count;
  BackendDecoder decoder(count);
  EXPECT_EQ(decoder.feed(encode_data_row(values)), DecodeStatus::kReady);
  EXPECT_EQ(count.size, 65535u);
  EXPECT_EQ(count.iterated, 65535u);
}

TEST(Encoder, ErrorResponseRoundTrips) {
  ErrorFields fields;
  fields.severity = "ERREUR";
  fields.severity_nonlocalized = "ERROR";
  fields.sqlstate = "23505";
  fields.message = "duplicate key value violates unique constraint \"users_pkey\"";
  fields.detail = "Key (id)=(1) already exists.";
  fields.schema = "public";
  fields.table = "users";
  fields.constraint = "users_pkey";
  const auto decoded = testing::decode_backend(encode_error_response(fields));
  EXPECT_EQ(decoded.trace,
            "B ErrorResponse S=\"ERREUR\" V=\"ERROR\" C=\"23505\" M=\"duplicate key value violates unique constraint "
            "\\\"users_pkey\\\"\" D=\"Key (id)=(1) already exists.\" s=\"public\" t=\"users\" n=\"users_pkey\"\n");
}

TEST(PackedLists, HandBuiltListsNeverReadOutOfBounds) {
  const std::uint8_t bytes[] = {0, 0, 0, 2, 'a', 'b', 0, 0, 0, 9, 'x'};
  const ValueList values(5, bytes);
  std::vector<std::string_view> seen;
  for (const Value& value : values) seen.push_back(value.text());
  EXPECT_EQ(seen, (std::vector<std::string_view>{"ab"}));  // the second value claims 9 bytes: iteration stops

  const std::uint8_t strings[] = {'a', 0, 'b'};
  std::vector<std::string_view> names;
  for (const std::string_view name : StringList(3, strings)) names.push_back(name);
  EXPECT_EQ(names, (std::vector<std::string_view>{"a"}));

  EXPECT_EQ(ValueList().begin(), ValueList().end());
}

}  // namespace
}  // namespace pgstack::pgwire
