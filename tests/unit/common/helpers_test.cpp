// The one-home helpers: UTC timestamps, shell quoting, ports and host:port, integers, error propagation.
#include <chrono>
#include <cstdlib>
#include <string>

#include <gtest/gtest.h>

#include "common/error.h"
#include "common/network.h"
#include "common/process.h"
#include "common/shell_quote.h"
#include "common/strings.h"
#include "common/time.h"

namespace pgstack {
namespace {

using std::chrono::seconds;
using std::chrono::system_clock;

TEST(UtcTimestamp, FormatsWholeSecondsInUtc) {
  EXPECT_EQ(utc_timestamp(system_clock::time_point(seconds(1795483800))), "2026-11-24T01:30:00Z");
  EXPECT_EQ(utc_timestamp(system_clock::time_point(seconds(1795483805) + std::chrono::milliseconds(999))),
            "2026-11-24T01:30:05Z");
  EXPECT_EQ(utc_timestamp(system_clock::time_point{}), "1970-01-01T00:00:00Z");
  EXPECT_EQ(utc_timestamp(system_clock::time_point(seconds(-1))), "1969-12-31T23:59:59Z");
  EXPECT_EQ(utc_timestamp_now().size(), 20U);
}

TEST(UtcTimestamp, ParsesWhatItFormatsAndWhatUsersType) {
  const auto written = parse_utc_timestamp("2026-11-24T01:30:05Z");
  ASSERT_TRUE(written);
  EXPECT_EQ(utc_timestamp(*written), "2026-11-24T01:30:05Z");
  EXPECT_EQ(parse_utc_timestamp("2026-11-24T03:30:05.123+02:00"), written);
  EXPECT_EQ(parse_utc_timestamp("2026-11-24 01:30:05z"), written);
  EXPECT_EQ(parse_utc_timestamp("2026-11-23T23:30:05-02:00"), written);
  EXPECT_FALSE(parse_utc_timestamp("2026-02-30T00:00:00Z"));
  EXPECT_FALSE(parse_utc_timestamp("2026-11-24T24:00:00Z"));
  EXPECT_EQ(parse_utc_timestamp("2026-11-24T01:30:05"), written);  // no zone: UTC
  EXPECT_FALSE(parse_utc_timestamp("2026-11-24T01:30:05Zjunk"));
  EXPECT_FALSE(parse_utc_timestamp("yesterday"));
  EXPECT_FALSE(parse_utc_timestamp(""));
}

TEST(ShellQuote, PlainWordsStayAndOthersAreSingleQuoted) {
  EXPECT_EQ(shell_quote("/usr/lib/postgresql/15/bin/psql"), "/usr/lib/postgresql/15/bin/psql");
  EXPECT_EQ(shell_quote("--config=/etc/a.conf"), "--config=/etc/a.conf");
  EXPECT_EQ(shell_quote(""), "''");
  EXPECT_EQ(shell_quote("a b"), "'a b'");
  EXPECT_EQ(shell_quote("$HOME"), "'$HOME'");
  EXPECT_EQ(shell_quote("it's"), "'it'\\''s'");
  EXPECT_EQ(shell_command({"pgbackrest", "--stanza=demo", "archive-get"}), "pgbackrest --stanza=demo archive-get");
  EXPECT_EQ(shell_command({"/opt/my dir/x", "a;b"}), "'/opt/my dir/x' 'a;b'");
}

TEST(ShellQuote, TheShellReadsBackTheSameWords) {
  const std::vector<std::string> words = {"plain", "two words", "it's", "\"double\"", "$HOME `x` \\ *", "", "a\nb"};
  std::vector<std::string> argv = {"printf", "[%s]"};
  argv.insert(argv.end(), words.begin(), words.end());
  auto out = run_command({"/bin/sh", "-c", shell_command(argv)});
  ASSERT_TRUE(out.ok()) << out.error().message;
  std::string expected;
  for (const auto& word : words) expected += "[" + word + "]";
  EXPECT_EQ(out->standard_output, expected);
}

TEST(ParsePort, DecimalFrom0To65535Only) {
  EXPECT_EQ(parse_port("0"), 0);
  EXPECT_EQ(parse_port("5432"), 5432);
  EXPECT_EQ(parse_port("65535"), 65535);
  for (const char* bad : {"", "65536", "-1", "+1", " 1", "1 ", "abc", "80x", "0x10", "99999999999"})
    EXPECT_FALSE(parse_port(bad)) << bad;
}

TEST(ParseHostPort, Forms) {
  EXPECT_EQ(parse_host_port("[::1]:5432")->host, "::1");
  EXPECT_EQ(parse_host_port("127.0.0.1:0")->port, 0);
  EXPECT_EQ(parse_host_port("db.example:6432")->host, "db.example");
  EXPECT_FALSE(parse_host_port(":5432").ok());
  EXPECT_FALSE(parse_host_port("host:").ok());
  EXPECT_FALSE(parse_host_port("[::1]5432").ok());
  const auto bad_port = parse_host_port("127.0.0.1:abc");
  ASSERT_FALSE(bad_port.ok());
  EXPECT_EQ(bad_port.error().message, "\"127.0.0.1:abc\": the port must be a number from 0 to 65535");
}

TEST(ParseUnsigned, WholeTextInDecimal) {
  EXPECT_EQ(parse_unsigned("0"), 0U);
  EXPECT_EQ(parse_unsigned("18446744073709551615"), 18446744073709551615ULL);
  for (const char* bad : {"", "18446744073709551616", "-1", "+1", " 1", "1x", "0/1"})
    EXPECT_FALSE(parse_unsigned(bad)) << bad;
}

Result<int> half_of(int number) {
  if (number % 2 != 0) return make_error(ErrorCode::kInvalidInput, std::to_string(number) + " is odd");
  return number / 2;
}

int evaluations = 0;
Result<int> counted(int number) {
  ++evaluations;
  return half_of(number);
}

Result<std::string> quarter_of(int number) {
  ASSIGN_OR_RETURN(const int half, half_of(number));
  ASSIGN_OR_RETURN(const int quarter, half_of(half));
  return std::to_string(quarter);
}

Result<bool> all_even(int a, int b) {
  RETURN_IF_ERROR(counted(a));
  const auto second = half_of(b);
  RETURN_IF_ERROR(second);
  return true;
}

TEST(ErrorPropagation, ReturnsTheFirstErrorAndEvaluatesOnce) {
  EXPECT_EQ(quarter_of(12).value(), "3");
  EXPECT_EQ(quarter_of(6).error().message, "3 is odd");
  EXPECT_EQ(quarter_of(5).error().code, ErrorCode::kInvalidInput);
  evaluations = 0;
  EXPECT_TRUE(all_even(2, 4).value());
  EXPECT_EQ(evaluations, 1);
  EXPECT_EQ(all_even(3, 4).error().message, "3 is odd");
  EXPECT_EQ(all_even(2, 7).error().message, "7 is odd");
}

}  // namespace
}  // namespace pgstack
