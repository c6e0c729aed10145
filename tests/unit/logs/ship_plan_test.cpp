#include "logs/ship_plan.h"

#include <gtest/gtest.h>

#include "logs/record_framing.h"

namespace pgstack::logs {
namespace {

LogFile file(std::string name, std::int64_t modified, std::uint64_t size = 100) {
  return LogFile{std::move(name), 1, 10, size, modified};
}

std::vector<std::string> names(const std::vector<LogFile>& files) {
  std::vector<std::string> out;
  for (const auto& f : files) out.push_back(f.name);
  return out;
}

TEST(ShipPlan, LogFilesOfEachType) {
  EXPECT_TRUE(is_log_file(LogType::kPostgres, "postgresql-Mon.csv"));
  EXPECT_FALSE(is_log_file(LogType::kPostgres, "postgresql-Mon.log"));
  EXPECT_FALSE(is_log_file(LogType::kPostgres, ".csv"));
  EXPECT_TRUE(is_log_file(LogType::kPatroni, "patroni.log"));
  EXPECT_TRUE(is_log_file(LogType::kPatroni, "patroni.log.12"));
  EXPECT_FALSE(is_log_file(LogType::kPatroni, "patroni.log.0"));
  EXPECT_FALSE(is_log_file(LogType::kPatroni, "patroni.log.x"));
  EXPECT_FALSE(is_log_file(LogType::kPatroni, "patroni.log."));
  EXPECT_FALSE(is_log_file(LogType::kPatroni, "other.log"));
  EXPECT_TRUE(is_log_file(LogType::kPgbouncer, "pgbouncer.log.3"));
  EXPECT_FALSE(is_log_file(LogType::kPgbouncer, "pgbouncer.stderr.log"));
  EXPECT_TRUE(is_log_file(LogType::kProxy, "proxy.log"));
  EXPECT_TRUE(is_log_file(LogType::kAgent, "agent.log.2"));
  EXPECT_FALSE(is_log_file(LogType::kAgent, "proxy.log"));
  EXPECT_TRUE(is_log_file(LogType::kPgbackrest, "default-demo-backup.log"));
  EXPECT_FALSE(is_log_file(LogType::kPgbackrest, "default-demo-backup.lock"));
}

TEST(ShipPlan, EachLogGoesToItsTable) {
  EXPECT_EQ(log_table_for(LogType::kPostgres), "log_postgres");
  EXPECT_EQ(log_table_for(LogType::kPatroni), "log_patroni");
  for (const LogType type : {LogType::kPgbouncer, LogType::kPgbackrest, LogType::kProxy, LogType::kAgent}) {
    EXPECT_EQ(log_table_for(type), "log_pgstack");
    EXPECT_EQ(copy_columns_for(type), "log_time, log_type, error_severity, message");
  }
}

TEST(ShipPlan, PostgresFilesInWriteOrderEvenWithWeekdayNames) {
  // postgresql-%a: Tue was rewritten after Wed, so it is the newest whatever its name.
  const auto ordered = order_log_files(
      LogType::kPostgres,
      {file("postgresql-Tue.csv", 300), file("postgresql-Wed.csv", 200), file("b.csv", 100), file("a.csv", 100)});
  EXPECT_EQ(names(ordered), (std::vector<std::string>{"a.csv", "b.csv", "postgresql-Wed.csv", "postgresql-Tue.csv"}));
}

TEST(ShipPlan, PatroniFilesOldestRenameFirst) {
  const auto ordered = order_log_files(LogType::kPatroni, {file("patroni.log", 1), file("patroni.log.1", 5),
                                                           file("patroni.log.10", 3), file("patroni.log.2", 9)});
  EXPECT_EQ(names(ordered),
            (std::vector<std::string>{"patroni.log.10", "patroni.log.2", "patroni.log.1", "patroni.log"}));
}

TEST(ShipPlan, ResumeFromTheStoredOffset) {
  const IngestState state{1, 10, 60, 60, "abc"};
  EXPECT_EQ(resume_point(file("a.csv", 1, 100), std::nullopt, "").offset, 0u);
  const ResumePoint same = resume_point(file("a.csv", 1, 100), state, "abc");
  EXPECT_EQ(same.offset, 60u);
  EXPECT_TRUE(same.why.empty());
  const ResumePoint at_end = resume_point(file("a.csv", 1, 60), state, "abc");
  EXPECT_EQ(at_end.offset, 60u);
}

TEST(ShipPlan, TruncatedOrReusedInodeStartsAgain) {
  const IngestState state{1, 10, 60, 60, "abc"};
  const ResumePoint truncated = resume_point(file("a.csv", 1, 20), state, "abc");
  EXPECT_EQ(truncated.offset, 0u);
  EXPECT_NE(truncated.why.find("truncated"), std::string::npos);
  // Longer than before, but it begins differently: rewritten in place, or a new file on a reused inode.
  const ResumePoint rewritten = resume_point(file("a.csv", 1, 500), state, "def");
  EXPECT_EQ(rewritten.offset, 0u);
  EXPECT_NE(rewritten.why.find("new file"), std::string::npos);
}

TEST(ShipPlan, HeadCoversAtMostFourKilobytes) {
  EXPECT_EQ(head_bytes_for(10), 10u);
  EXPECT_EQ(head_bytes_for(1 << 20), kHeadBytes);
}

TEST(ShipPlan, NextFileIsTheOldestWithBytesLeft) {
  const std::vector<LogFile> files{file("a.csv", 1, 100), file("b.csv", 2, 50), file("c.csv", 3, 70)};
  const NextFile next = next_file(files, {100, 20, 0});
  ASSERT_TRUE(next.index.has_value());
  EXPECT_EQ(*next.index, 1u);
  EXPECT_EQ(next.bytes_behind, 30u + 70u);
  EXPECT_FALSE(next_file(files, {100, 50, 70}).index.has_value());
  EXPECT_EQ(next_file(files, {100, 50, 70}).bytes_behind, 0u);
}

TEST(ShipPlan, WhenAFileIsFinished) {
  const std::chrono::nanoseconds settle = std::chrono::seconds(2);
  const std::int64_t now = 100'000'000'000;
  const LogFile recent = file("postgresql-Mon.csv", now - 1'000'000'000);
  const LogFile quiet = file("postgresql-Mon.csv", now - 3'000'000'000);
  EXPECT_FALSE(file_is_finished(LogType::kPostgres, quiet, true, now, settle));  // the newest is written to
  EXPECT_FALSE(file_is_finished(LogType::kPostgres, recent, false, now, settle));
  EXPECT_TRUE(file_is_finished(LogType::kPostgres, quiet, false, now, settle));
  EXPECT_TRUE(file_is_finished(LogType::kPatroni, file("patroni.log.1", now), false, now, settle));
  EXPECT_FALSE(file_is_finished(LogType::kPatroni, file("patroni.log", now - 1'000'000'000), true, now, settle));
  EXPECT_TRUE(file_is_finished(LogType::kPatroni, file("patroni.log", now - 3'000'000'000), true, now, settle));
  // pgBackRest appends to each command's file at every run: finished only while quiet.
  EXPECT_FALSE(file_is_finished(LogType::kPgbackrest, file("a-backup.log", now - 1'000'000'000), false, now, settle));
  EXPECT_TRUE(file_is_finished(LogType::kPgbackrest, file("a-backup.log", now - 3'000'000'000), true, now, settle));
  // The agent renames PgBouncer's log and PgBouncer writes on to it until its SIGHUP reopens pgbouncer.log.
  EXPECT_FALSE(file_is_finished(LogType::kPgbouncer, file("pgbouncer.log.1", now), false, now, settle));
  EXPECT_TRUE(file_is_finished(LogType::kPgbouncer, file("pgbouncer.log.1", now - 3'000'000'000), false, now, settle));
  // The proxy's too: it reopens proxy.log on SIGHUP.
  EXPECT_FALSE(file_is_finished(LogType::kProxy, file("proxy.log.1", now), false, now, settle));
  EXPECT_TRUE(file_is_finished(LogType::kProxy, file("proxy.log.1", now - 3'000'000'000), false, now, settle));
  // The agent's own: its sink may write one more line to the renamed file before it notices the rename.
  EXPECT_FALSE(file_is_finished(LogType::kAgent, file("agent.log.1", now), false, now, settle));
  EXPECT_TRUE(file_is_finished(LogType::kAgent, file("agent.log.1", now - 3'000'000'000), false, now, settle));
}

TEST(ShipPlan, TheNextRecordStartAfterFramingLostStep) {
  // A csvlog record cut inside quotes with the next record glued on: the next timestamp, wherever it is.
  const std::string cut = "2026-12-06 00:46:07.123 UTC,\"postgres\",\"SELECT 'cut";
  const std::string next = "2026-12-06 00:46:08.001 UTC,\"app\",,LOG\n";
  EXPECT_EQ(next_record_start(LogType::kPostgres, cut + next), cut.size());
  EXPECT_EQ(next_record_start(LogType::kPostgres, "2026-12-06 00:46:07.123 +0330,x\n2026-12-06 00:46:07.124 -01,y"),
            std::string("2026-12-06 00:46:07.123 +0330,x\n").size());
  // Not a record's first field: no comma after the zone, no milliseconds, too short.
  EXPECT_EQ(next_record_start(LogType::kPostgres, "x 2026-12-06 00:46:07.123 UTC message"), std::nullopt);
  EXPECT_EQ(next_record_start(LogType::kPostgres, "x 2026-12-06 00:46:07 UTC,"), std::nullopt);
  EXPECT_EQ(next_record_start(LogType::kPostgres, "x 2026-12-06"), std::nullopt);
  // The record at offset 0 is the refused one: never "start here".
  EXPECT_EQ(next_record_start(LogType::kPostgres, next), std::nullopt);
  // Text logs: a line that starts a record.
  EXPECT_EQ(next_record_start(LogType::kPatroni,
                              "2026-12-04 05:30:08,123 INFO: a\n  traceback\n2026-12-04 05:30:09,000 INFO: b\n"),
            std::string("2026-12-04 05:30:08,123 INFO: a\n  traceback\n").size());
  EXPECT_EQ(next_record_start(LogType::kPatroni, "2026-12-04 05:30:08,123 INFO: a\n  traceback\n"), std::nullopt);
}

TEST(ShipPlan, OnlyDataExceptionsAreRefusedContent) {
  EXPECT_TRUE(is_refused_content("22P04"));   // bad_copy_file_format
  EXPECT_TRUE(is_refused_content("22007"));   // invalid_datetime_format
  EXPECT_FALSE(is_refused_content("57014"));  // query_canceled: try again
  EXPECT_FALSE(is_refused_content("25006"));  // read_only_sql_transaction: the store failed over
  EXPECT_FALSE(is_refused_content(""));
}

TEST(ShipPlan, RenamedLogNumbers) {
  EXPECT_EQ(renamed_log_number(LogType::kPgbouncer, "pgbouncer.log"), 0u);
  EXPECT_EQ(renamed_log_number(LogType::kPgbouncer, "pgbouncer.log.12"), 12u);
  EXPECT_EQ(renamed_log_number(LogType::kPatroni, "patroni.log.3"), 3u);
  EXPECT_FALSE(renamed_log_number(LogType::kPgbouncer, "pgbouncer.stderr.log").has_value());
  EXPECT_FALSE(renamed_log_number(LogType::kPgbouncer, "pgbouncer.log.0").has_value());
  EXPECT_FALSE(renamed_log_number(LogType::kPgbouncer, "pgbouncer.log.x").has_value());
  EXPECT_FALSE(renamed_log_number(LogType::kPostgres, "postgresql-Mon.csv").has_value());
}

TEST(ShipPlan, BatchOfWholeRecords) {
  const BatchDecision csv = decide_batch(LogType::kPostgres, "a,\"x\ny\"\nb,\"partial", false, false);
  EXPECT_EQ(csv.kind, BatchKind::kRecords);
  EXPECT_EQ(csv.framed.records.size(), 1u);
  EXPECT_EQ(csv.framed.consumed, 8u);
  const std::string patroni = "2026-12-04 05:30:08,123 INFO: a\n2026-12-04 05:30:09,123 INFO: b\n";
  EXPECT_EQ(decide_batch(LogType::kPatroni, patroni, false, false).framed.records.size(), 1u);
  EXPECT_EQ(decide_batch(LogType::kPatroni, patroni, false, true).framed.records.size(), 2u);
}

TEST(ShipPlan, BatchWithoutAWholeRecord) {
  EXPECT_EQ(decide_batch(LogType::kPostgres, "a,\"very long", true, false).kind, BatchKind::kOversizedRecord);
  EXPECT_EQ(decide_batch(LogType::kPostgres, "a,\"still written", false, false).kind, BatchKind::kWait);
  EXPECT_EQ(decide_batch(LogType::kPostgres, "a,\"b\"", false, true).kind, BatchKind::kFinalTail);
  EXPECT_EQ(decide_batch(LogType::kPostgres, "a,\"cut sho", false, true).kind, BatchKind::kBrokenTail);
  EXPECT_EQ(decide_batch(LogType::kPatroni, "2026-12-04 05:30:08,123 INFO: no newline", false, true).kind,
            BatchKind::kFinalTail);
  EXPECT_EQ(decide_batch(LogType::kPatroni, "", false, true).kind, BatchKind::kWait);
}

std::string valid(std::string_view bytes) {
  std::string out;
  append_valid_utf8(bytes, out);
  return out;
}

TEST(ShipPlan, ValidUtf8IsKept) {
  EXPECT_EQ(valid("plain, \"quoted\"\n"), "plain, \"quoted\"\n");
  EXPECT_EQ(valid("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"), "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80");
}

TEST(ShipPlan, InvalidUtf8AndNulBecomeReplacementCharacters) {
  const std::string r = "\xEF\xBF\xBD";
  EXPECT_EQ(valid("a\xFF"
                  "b"),
            "a" + r + "b");
  EXPECT_EQ(valid("a\xC3"), "a" + r);                   // cut short at the end
  EXPECT_EQ(valid("\xC3(\""), r + "(\"");               // a bad continuation keeps the ASCII after it
  EXPECT_EQ(valid("\xC0\xAF"), r + r);                  // overlong
  EXPECT_EQ(valid("\xED\xA0\x80"), r + r + r);          // a surrogate
  EXPECT_EQ(valid("\xF4\x90\x80\x80"), r + r + r + r);  // above U+10FFFF
  EXPECT_EQ(valid("\xE2\x82"
                  "x"),
            r + "x");  // one replacement for a truncated sequence
  EXPECT_EQ(valid(std::string_view("a\0b", 3)), "a" + r + "b");
}

TEST(ShipPlan, PatroniRecordAsCsvRow) {
  const auto record = parse_patroni_record("2026-12-04 05:30:08,123 INFO: no action. \"I am\" the leader\n  detail");
  EXPECT_EQ(patroni_csv_row(record, "x"),
            "\"2026-12-04 05:30:08.123\",\"INFO\",\"no action. \"\"I am\"\" the leader\n  detail\"\n");
}

TEST(ShipPlan, PgstackRecordsAsCsvRowsWithTheirTypeAndAnUpperCaseSeverity) {
  const auto backrest = parse_text_record(TextFormat::kPgbackrest, "2026-12-04 10:18:21.300 P00   WARN: slow");
  EXPECT_EQ(text_csv_row(LogType::kPgbackrest, backrest, "x"),
            "\"2026-12-04 10:18:21.300\",\"pgbackrest\",\"WARNING\",\"slow\"\n");
  const auto proxy = parse_text_record(TextFormat::kSpdlog, "[2026-12-05 03:42:06.937] [info] routes");
  EXPECT_EQ(text_csv_row(LogType::kProxy, proxy, "x"), "\"2026-12-05 03:42:06.937\",\"proxy\",\"INFO\",\"routes\"\n");
}

TEST(ShipPlan, HeadlessPatroniRecordGetsTheFallbackTime) {
  const auto record = parse_patroni_record("  File \"x.py\", line 3");
  EXPECT_EQ(patroni_csv_row(record, "2026-12-04 05:30:08+00"),
            "\"2026-12-04 05:30:08+00\",,\"  File \"\"x.py\"\", line 3\"\n");
}

TEST(ShipPlan, CutCsvRecordKeepsWholeFieldsAndMarksTheCutOne) {
  const std::string prefix = "2026-12-04 05:30:08.123 UTC,\"alice\",\"db\",42,,\"statement: SELECT 'a\"\"b";
  const std::string cut = truncate_csv_record(prefix, 9000000, 8);
  EXPECT_EQ(cut, "2026-12-04 05:30:08.123 UTC,\"alice\",\"db\",42,,\"statement: SELECT 'a\"\"b" +
                     truncation_marker(9000000) + "\",,\n");
  // What comes out is one record of the right width.
  const FramedRecords framed = frame_csv_records(cut);
  ASSERT_EQ(framed.records.size(), 1u);
  EXPECT_EQ(framed.consumed, cut.size());
}

TEST(ShipPlan, CutInsideAnUnquotedFieldLeavesItEmpty) {
  EXPECT_EQ(truncate_csv_record("2026-12-04 05:30:08.123 UTC,\"a\",12", 100, 4),
            "2026-12-04 05:30:08.123 UTC,\"a\",,\n");
  EXPECT_EQ(truncate_csv_record("t,\"a\",", 100, 3), "t,\"a\",\n");
}

TEST(ShipPlan, RecordTime) {
  EXPECT_EQ(record_time(LogType::kPostgres, "2026-12-04 05:30:08.123 UTC,,"), "2026-12-04 05:30:08.123 UTC");
  EXPECT_EQ(record_time(LogType::kPatroni, "2026-12-04 05:30:08,123 INFO: x"), "2026-12-04 05:30:08,123");
  EXPECT_EQ(record_time(LogType::kPatroni, "traceback"), "");
}

}  // namespace
}  // namespace pgstack::logs
