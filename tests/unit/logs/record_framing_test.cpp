#include "logs/record_framing.h"

#include <gtest/gtest.h>

namespace pgstack::logs {
namespace {

using Records = std::vector<std::string_view>;

TEST(CsvFraming, RecordsEndAtNewlinesOutsideQuotes) {
  const std::string bytes =
      "2026-12-04 05:30:08.123 UTC,\"app\",\"db\",1,,,1,,,,,LOG,00000,\"a\",,,,,,,,,,,client backend,,0\n"
      "2026-12-04 05:30:09.000 UTC,\"app\",\"db\",1,,,2,,,,,ERROR,42601,\"syntax error\",,,,,,\"SELECT\n"
      "  1 \"\"quoted\"\"\n;\",,,,client backend,,0\n";
  const auto framed = frame_csv_records(bytes);
  ASSERT_EQ(framed.records.size(), 2u);
  EXPECT_TRUE(framed.records[1].ends_with(",,,,client backend,,0"));
  EXPECT_NE(framed.records[1].find("\"\"quoted\"\"\n;"), std::string_view::npos);
  EXPECT_EQ(framed.consumed, bytes.size());
}

TEST(CsvFraming, APartialRecordIsLeftForLater) {
  const std::string complete = "2026-12-04 05:30:08.123 UTC,a,b\n";
  // Cut inside a quoted query with a newline, and cut right after a field.
  for (const std::string rest : {"2026-12-04 05:30:09.000 UTC,\"SELECT\n", "2026-12-04 05:30:09.000 UTC,x"}) {
    const std::string bytes = complete + rest;  // the records are views into it
    const auto framed = frame_csv_records(bytes);
    EXPECT_EQ(framed.records, (Records{"2026-12-04 05:30:08.123 UTC,a,b"})) << rest;
    EXPECT_EQ(framed.consumed, complete.size()) << rest;
  }
}

TEST(CsvFraming, FramingWholeOrInPiecesGivesTheSameRecords) {
  const std::string bytes = "a,\"x\ny\"\nb,\"\"\"\"\nc,d\n";
  const auto whole = frame_csv_records(bytes);
  ASSERT_EQ(whole.records.size(), 3u);
  for (std::size_t cut = 0; cut <= bytes.size(); ++cut) {
    // What the shipper does: frame what it has, then frame again from the consumed offset with more.
    const auto first = frame_csv_records(std::string_view(bytes).substr(0, cut));
    const auto second = frame_csv_records(std::string_view(bytes).substr(first.consumed));
    Records joined = first.records;
    joined.insert(joined.end(), second.records.begin(), second.records.end());
    EXPECT_EQ(joined, whole.records) << "cut at " << cut;
  }
}

TEST(CsvFraming, InvalidUtf8AndEmptyInput) {
  EXPECT_TRUE(frame_csv_records("").records.empty());
  const std::string bytes = "a,\"\xff\xfe\"\n";
  EXPECT_EQ(frame_csv_records(bytes).records.size(), 1u);
}

TEST(PatroniFraming, RecordsStartAtTimestampedLinesAndKeepTheirContinuation) {
  const std::string bytes =
      "2026-12-04 05:30:08,123 INFO: no action. I am (demo-0), the leader with the lock\n"
      "2026-12-04 05:30:18,124 ERROR: Exception during execution\n"
      "Traceback (most recent call last):\n"
      "  File \"x.py\", line 1\n"
      "2026-12-04 05:30:28,125 WARNING: Loop time exceeded\n";
  const auto open = frame_patroni_records(bytes, false);
  ASSERT_EQ(open.records.size(), 2u);  // the last one may still get a traceback
  EXPECT_TRUE(open.records[1].ends_with("  File \"x.py\", line 1"));
  EXPECT_EQ(bytes.substr(open.consumed), "2026-12-04 05:30:28,125 WARNING: Loop time exceeded\n");

  const auto done = frame_patroni_records(bytes, true);
  ASSERT_EQ(done.records.size(), 3u);
  EXPECT_EQ(done.consumed, bytes.size());

  const auto record = parse_patroni_record(done.records[1]);
  EXPECT_EQ(record.timestamp, "2026-12-04 05:30:18,124");
  EXPECT_EQ(record.severity, "ERROR");
  EXPECT_TRUE(record.message.starts_with("Exception during execution\nTraceback"));
}

TEST(PatroniFraming, ALineStillBeingWrittenIsNotShippedEvenWhenFinal) {
  const std::string bytes = "2026-12-04 05:30:08,123 INFO: one\n2026-12-04 05:30:09,0";
  const auto framed = frame_patroni_records(bytes, true);
  EXPECT_EQ(framed.records, (Records{"2026-12-04 05:30:08,123 INFO: one"}));
  EXPECT_EQ(framed.consumed, std::string("2026-12-04 05:30:08,123 INFO: one\n").size());
}

TEST(PatroniFraming, LinesBeforeTheFirstRecordAreKeptAsOne) {
  const std::string bytes = "  rest of a traceback\n2026-12-04 05:30:08,123 INFO: one\n";
  const auto framed = frame_patroni_records(bytes, true);
  EXPECT_EQ(framed.records, (Records{"  rest of a traceback", "2026-12-04 05:30:08,123 INFO: one"}));
  EXPECT_EQ(parse_patroni_record(framed.records[0]).message, "  rest of a traceback");
  EXPECT_EQ(parse_patroni_record(framed.records[0]).severity, "");
}

TEST(PatroniFraming, RecordStartShape) {
  EXPECT_TRUE(starts_patroni_record("2026-12-04 05:30:08,123 INFO: x"));
  EXPECT_FALSE(starts_patroni_record("2026-12-04 05:30:08.123 INFO: x"));
  EXPECT_FALSE(starts_patroni_record("2026-12-04 05:30:08,123 info: x"));
  EXPECT_FALSE(starts_patroni_record("2026-12-04 05:30:08,123 : x"));
  EXPECT_FALSE(starts_patroni_record("Traceback (most recent call last):"));
  EXPECT_FALSE(starts_patroni_record(""));
}

}  // namespace
}  // namespace pgstack::logs

namespace pgstack::logs {
namespace {

// Lines as PgBouncer, pgBackRest and pgstack-proxy (spdlog) write them on this machine.
TEST(TextFraming, PgbouncerLinesAreRecordsWithTheirZone) {
  const std::string bytes =
      "2026-12-05 03:43:12.688 UTC [9905] LOG C-0x5650b5f77250: pgbouncer/pgbouncer@unix(11182):16432 login "
      "attempt: db=pgbouncer user=pgbouncer tls=no\n"
      "2026-12-05 03:43:17.279 UTC [9905] WARNING got SIGTERM, fast exit\n";
  const auto framed = frame_text_records(TextFormat::kPgbouncer, bytes, true);
  ASSERT_EQ(framed.records.size(), 2u);
  const TextRecord record = parse_text_record(TextFormat::kPgbouncer, framed.records[1]);
  EXPECT_EQ(record.timestamp, "2026-12-05 03:43:17.279 UTC");
  EXPECT_TRUE(record.zoned);
  EXPECT_EQ(record.severity, "WARNING");
  EXPECT_EQ(record.message, "got SIGTERM, fast exit");
  EXPECT_FALSE(starts_text_record(TextFormat::kPgbouncer, "2026-12-05 03:43:17.279 UTC [x] LOG a"));
}

TEST(TextFraming, PgbackrestRecordsKeepTheirContinuationLines) {
  const std::string bytes =
      "2026-12-04 10:18:21.222 P00   INFO: backup stop archive = 000000010000000000000005, lsn = 0/5000100\n"
      "2026-12-04 10:18:21.300 P00  ERROR: [056]: unable to find primary cluster - cannot proceed\n"
      "                                    HINT: are all available clusters in recovery?\n"
      "2026-12-04 10:18:21.301 P00   INFO: backup command end: aborted with exception [056]\n";
  const auto framed = frame_text_records(TextFormat::kPgbackrest, bytes, false);
  ASSERT_EQ(framed.records.size(), 2u);  // the last may still grow
  const TextRecord error = parse_text_record(TextFormat::kPgbackrest, framed.records[1]);
  EXPECT_EQ(error.timestamp, "2026-12-04 10:18:21.300");
  EXPECT_FALSE(error.zoned);
  EXPECT_EQ(error.severity, "ERROR");
  EXPECT_NE(error.message.find("HINT: are all available clusters in recovery?"), std::string_view::npos);
}

TEST(TextFraming, SpdlogLinesOfTheProxy) {
  const std::string bytes =
      "[2026-12-05 03:42:06.937] [info] cluster demo: primary demo-1, readable replicas [demo-2]\n"
      "[2026-12-05 03:43:17.271] [warning] signal 15: stopping\n";
  const auto framed = frame_text_records(TextFormat::kSpdlog, bytes, true);
  ASSERT_EQ(framed.records.size(), 2u);
  const TextRecord record = parse_text_record(TextFormat::kSpdlog, framed.records[1]);
  EXPECT_EQ(record.timestamp, "2026-12-05 03:43:17.271");
  EXPECT_EQ(record.severity, "warning");
  EXPECT_EQ(record.message, "signal 15: stopping");
  // A line of another format starts no record of this one.
  EXPECT_FALSE(starts_text_record(TextFormat::kSpdlog, "2026-12-05 03:43:17,271 INFO: x"));
  EXPECT_FALSE(starts_text_record(TextFormat::kPatroni, "[2026-12-05 03:43:17.271] [info] x"));
}

}  // namespace
}  // namespace pgstack::logs
