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
