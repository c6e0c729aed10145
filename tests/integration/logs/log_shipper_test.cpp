// The log shipper against real servers: a Postgres 15 log store (TLS, the store's schema and today's
// partitions) and a Postgres 15 instance writing csvlog, both started by this test as the postgres user.
// Every check compares the records on disk (framed as the shipper frames them) with the rows stored.
#include "logs/log_shipper.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <fstream>
#include <iostream>
#include <memory>
#include <signal.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gtest/gtest.h>
#include <spdlog/logger.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "agent/cluster_log_sink.h"
#include "agent/instance_logs.h"
#include "common/files.h"
#include "common/network.h"
#include "common/pki.h"
#include "common/process.h"
#include "config/render_proxy.h"
#include "integration/logs/log_servers.h"
#include "logs/log_store_maintenance.h"
#include "logs/log_store_plan.h"
#include "logs/record_framing.h"
#include "postgres/postgres_session.h"
#include "process/process_supervisor.h"

namespace pgstack::logs {
namespace {

namespace fs = std::filesystem;
using pgstack::testing::LogServers;

LogServers* servers = nullptr;

const LogSource kSource{"default", "demo", "demo-0", "primary"};

class Environment : public ::testing::Environment {
 public:
  void SetUp() override {
    auto started = pgstack::testing::start_log_servers();
    ASSERT_TRUE(started.ok()) << started.error().message;
    owned_ = std::move(started).value();
    servers = owned_.get();
    ASSERT_TRUE(servers->source
                    ->psql("CREATE DATABASE rawbytes WITH ENCODING 'SQL_ASCII' TEMPLATE template0 LC_COLLATE 'C' "
                           "LC_CTYPE 'C'")
                    .ok());
  }

  void TearDown() override {
    servers = nullptr;
    owned_.reset();
  }

 private:
  std::unique_ptr<LogServers> owned_;
};

const auto* const kEnvironment = ::testing::AddGlobalTestEnvironment(new Environment);

fs::path source_log_dir() { return servers->source_log_dir(); }

ShipperSettings postgres_settings() {
  ShipperSettings settings;
  settings.type = LogType::kPostgres;
  settings.directory = source_log_dir();
  settings.source = kSource;
  settings.store = servers->store_target;
  settings.settle = std::chrono::milliseconds(300);
  return settings;
}

// Runs SQL on the logging instance (psql), in `database`.
void run_on_source(const std::string& sql, const std::string& database = "postgres") {
  auto output = run_command({"psql", "-X", "-q", "-d", servers->source->conninfo(database), "-c", sql});
  ASSERT_TRUE(output.ok());
}

std::string all_csv() {
  std::string text;
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(source_log_dir(), error)) {
    if (entry.path().extension() != ".csv") continue;
    auto content = read_file(entry.path());
    if (content.ok()) text += *content;
  }
  return text;
}

// Waits until the log collector has written `marker` (it writes asynchronously).
void wait_for_log(const std::string& marker) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (all_csv().find(marker) == std::string::npos) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "the csvlog never showed " << marker;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

// Complete csvlog records in every file, framed as the shipper frames them.
std::uint64_t csv_records_on_disk() {
  std::uint64_t count = 0;
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(source_log_dir(), error)) {
    if (entry.path().extension() != ".csv") continue;
    auto content = read_file(entry.path());
    if (content.ok()) count += frame_csv_records(*content).records.size();
  }
  return count;
}

// One number from the store, over a fresh connection.
std::int64_t store_number(const std::string& sql) {
  auto session = postgres::PostgresSession::connect(servers->store_target);
  if (!session.ok()) {
    ADD_FAILURE() << session.error().message;
    return -1;
  }
  auto rows = (*session)->query(sql);
  if (!rows.ok() || rows->size() != 1) {
    ADD_FAILURE() << sql << ": " << (rows.ok() ? "not one row" : rows.error().message);
    return -1;
  }
  return std::stoll(rows->front().front());
}

std::int64_t postgres_rows() { return store_number("SELECT count(*) FROM log_postgres WHERE instance = 'demo-0'"); }

void expect_exactly_once() {
  EXPECT_EQ(postgres_rows(), static_cast<std::int64_t>(csv_records_on_disk()));
  EXPECT_EQ(store_number("SELECT count(*) - count(DISTINCT (session_id, session_line_num)) FROM log_postgres"), 0);
}

TEST(LogShipper, ShipsEveryRecordWithItsFieldsIntact) {
  run_on_source("SELECT 'it''s \"quoted\"' AS multi_marker,\n       2 AS two");
  run_on_source("SELECT 1/0 AS error_marker_7f3a");
  // Bytes that are not UTF-8, in a database that takes any bytes: they reach the csvlog as they are.
  run_on_source("SELECT 'bad \xff\xfe bytes' AS utf8_marker", "rawbytes");
  run_on_source("SELECT 'done' AS first_batch_marker");
  wait_for_log("first_batch_marker");

  LogShipper shipper(postgres_settings());
  auto shipped = shipper.ship_all();
  ASSERT_TRUE(shipped.ok()) << shipped.error().message;
  EXPECT_GE(*shipped, 1u);
  EXPECT_EQ(shipper.status().bytes_behind, 0u);
  EXPECT_GT(shipper.status().records_total, 0u);
  expect_exactly_once();

  const std::string multi_line = "SELECT 'it''s \"quoted\"' AS multi_marker,\n       2 AS two";
  EXPECT_EQ(store_number("SELECT count(*) FROM log_postgres WHERE strpos(message, " +
                         postgres::quote_literal(multi_line) + ") > 0"),
            1);
  EXPECT_EQ(store_number("SELECT count(*) FROM log_postgres WHERE error_severity = 'ERROR' AND sql_state_code = "
                         "'22012' AND user_name = 'postgres' AND database_name = 'postgres' AND message = 'division "
                         "by zero' AND query LIKE '%error_marker_7f3a%' AND namespace = 'default' AND cluster = "
                         "'demo' AND role = 'primary'"),
            1);
  // The documented replacement: U+FFFD for each invalid sequence.
  EXPECT_EQ(store_number("SELECT count(*) FROM log_postgres WHERE message LIKE '%utf8_marker%' AND strpos(message, "
                         "'bad ' || U&'\\FFFD' || U&'\\FFFD' || ' bytes') > 0"),
            1);
  EXPECT_EQ(store_number("SELECT count(*) FROM log_ingest_state WHERE log_type = 'postgres' AND head_bytes > 0"), 1);
}

TEST(LogShipper, ALostConnectionBeforeCommitShipsNothingAndARestartShipsOnce) {
  run_on_source("SELECT 'crash' AS crash_marker");
  wait_for_log("crash_marker");
  const std::int64_t before = postgres_rows();

  ShipperSettings settings = postgres_settings();
  bool fired = false;
  settings.before_commit = [&fired] {
    if (fired) return;
    fired = true;
    // The connection dies between the COPY and the offset update and the COMMIT, as in a kill -9.
    auto admin = postgres::PostgresSession::connect(servers->store_target);
    ASSERT_TRUE(admin.ok());
    auto killed = (*admin)->query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'pgstack-log-shipper'");
    ASSERT_TRUE(killed.ok()) << killed.error().message;
    ASSERT_EQ(killed->size(), 1u);
  };
  {
    LogShipper crashing(settings);
    auto shipped = crashing.ship_once();
    ASSERT_FALSE(shipped.ok());
    EXPECT_EQ(crashing.status().errors_total, 1u);
    EXPECT_FALSE(crashing.status().last_error.empty());
  }
  EXPECT_TRUE(fired);
  EXPECT_EQ(postgres_rows(), before);

  LogShipper restarted(postgres_settings());
  auto shipped = restarted.ship_all();
  ASSERT_TRUE(shipped.ok()) << shipped.error().message;
  expect_exactly_once();
  EXPECT_EQ(store_number("SELECT count(*) FROM log_postgres WHERE message LIKE '%crash_marker%'"), 1);
}

// Runs a shipper in a child process (its own libpq connection) and kills it with SIGKILL after `delay`,
// or lets `before_commit` kill it; true when it died of the signal (it may have finished first).
bool ship_in_child_and_kill(std::chrono::milliseconds delay, std::size_t batch_bytes, bool kill_before_commit) {
  const pid_t child = ::fork();
  if (child == 0) {
    ShipperSettings settings = postgres_settings();
    settings.batch_bytes = batch_bytes;
    if (kill_before_commit) settings.before_commit = [] { ::kill(::getpid(), SIGKILL); };
    LogShipper shipper(settings);
    while (true) {
      auto outcome = shipper.ship_once();
      if (!outcome.ok() || !outcome->shipped) ::_exit(outcome.ok() ? 0 : 1);
    }
  }
  if (!kill_before_commit) {
    std::this_thread::sleep_for(delay);
    ::kill(child, SIGKILL);
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  return WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
}

TEST(LogShipper, KillNineWhileShippingThenARestartShipsEachRecordOnce) {
  // A backlog of 5,000 records, shipped in batches of 64 KiB by shippers killed at different moments.
  run_on_source("DO $$ BEGIN FOR i IN 1..5000 LOOP RAISE LOG 'bulk line % of the kill test', i; END LOOP; END $$");
  run_on_source("SELECT 'bulk written' AS bulk_marker");
  wait_for_log("bulk_marker");
  const std::int64_t before = postgres_rows();
  EXPECT_TRUE(ship_in_child_and_kill(std::chrono::milliseconds(0), 65536, true));
  EXPECT_EQ(postgres_rows(), before);  // killed between the COPY and the COMMIT: nothing stored
  int killed = 0;
  for (int delay : {40, 80, 120, 160, 200, 240}) {
    killed += ship_in_child_and_kill(std::chrono::milliseconds(delay), 65536, false) ? 1 : 0;
  }
  EXPECT_GE(killed, 1);
  LogShipper restarted(postgres_settings());
  auto shipped = restarted.ship_all();
  ASSERT_TRUE(shipped.ok()) << shipped.error().message;
  expect_exactly_once();
  EXPECT_EQ(store_number("SELECT count(*) FROM log_postgres WHERE message LIKE 'bulk line % of the kill test'"), 5000);
}

TEST(LogShipper, TwoShippersOfTheSameFilesCommitABatchOnlyOnce) {
  run_on_source("SELECT 'two shippers' AS two_shippers_marker");
  wait_for_log("two_shippers_marker");
  // The second shipper reads the same offset while the first holds its batch uncommitted; once the
  // first commits, the second finds the offset moved and stores nothing.
  Result<ShipOutcome> second = make_error(ErrorCode::kInternal, "not run");
  std::thread racer;
  ShipperSettings settings = postgres_settings();
  settings.before_commit = [&] {
    racer = std::thread([&] {
      LogShipper other(postgres_settings());
      second = other.ship_once();
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(500));  // the other waits on the row lock
  };
  LogShipper first(settings);
  auto shipped = first.ship_once();
  racer.join();
  ASSERT_TRUE(shipped.ok()) << shipped.error().message;
  EXPECT_TRUE(shipped->shipped);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().code, ErrorCode::kConflict) << second.error().message;
  expect_exactly_once();
  EXPECT_EQ(store_number("SELECT count(*) FROM log_postgres WHERE message LIKE '%two_shippers_marker%'"), 1);
}

TEST(LogShipper, StoreDownThenEverythingArrivesWhenItIsBack) {
  LogShipper shipper(postgres_settings());
  ASSERT_TRUE(servers->store->stop().ok());
  // For 30 s, and at least 60 statements (a loaded machine runs fewer a second), Postgres keeps logging
  // while the shipper retries as the agent would, every 250 ms.
  const auto stopped_at = std::chrono::steady_clock::now();
  std::uint64_t attempts = 0;
  int statements = 0;
  while (std::chrono::steady_clock::now() - stopped_at < std::chrono::seconds(30) || statements < 60) {
    run_on_source(fmt::format("SELECT {} AS while_down_marker", statements++));
    auto failed = shipper.ship_once();
    ++attempts;
    ASSERT_FALSE(failed.ok());
    EXPECT_NE(failed.error().message.find("cannot connect"), std::string::npos) << failed.error().message;
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  wait_for_log(fmt::format("SELECT {} AS while_down_marker", statements - 1));
  EXPECT_EQ(shipper.status().errors_total, attempts);

  auto started = servers->store->start();
  ASSERT_TRUE(started.ok()) << started.error().message;
  auto shipped = shipper.ship_all();
  ASSERT_TRUE(shipped.ok()) << shipped.error().message;
  EXPECT_TRUE(shipper.status().last_error.empty());
  expect_exactly_once();
  EXPECT_EQ(store_number("SELECT count(*) FROM log_postgres WHERE message LIKE '%while_down_marker%'"), statements);
}

TEST(LogShipper, PostgresRotationToANewFile) {
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));  // a new file name (seconds in it)
  run_on_source("SELECT pg_rotate_logfile()");
  run_on_source("SELECT 'rotated' AS after_rotation_marker");
  wait_for_log("after_rotation_marker");
  std::size_t csv_files = 0;
  for (const auto& entry : fs::directory_iterator(source_log_dir()))
    csv_files += entry.path().extension() == ".csv" ? 1 : 0;
  EXPECT_GE(csv_files, 2u);

  LogShipper shipper(postgres_settings());
  auto shipped = shipper.ship_all();
  ASSERT_TRUE(shipped.ok()) << shipped.error().message;
  expect_exactly_once();
  EXPECT_EQ(store_number("SELECT count(*) FROM log_postgres WHERE message LIKE '%after_rotation_marker%'"), 1);
}

TEST(LogShipper, ARecordLargerThanABatchIsStoredCut) {
  run_on_source("SELECT '" + std::string(40000, 'x') + "' AS big_marker");
  run_on_source("SELECT 'after big' AS after_big_marker");
  wait_for_log("after_big_marker");
  ShipperSettings settings = postgres_settings();
  settings.batch_bytes = 16384;
  LogShipper shipper(settings);
  auto shipped = shipper.ship_all();
  ASSERT_TRUE(shipped.ok()) << shipped.error().message;
  expect_exactly_once();
  EXPECT_EQ(store_number("SELECT count(*) FROM log_postgres WHERE message LIKE '%[pgstack: truncated, the record "
                         "had %' AND length(message) < 17000"),
            1);
  EXPECT_EQ(store_number("SELECT count(*) FROM log_postgres WHERE message LIKE '%after_big_marker%'"), 1);
}

// A collector killed inside a quoted field, then restarted appending to the same file, twice: the first cut
// record's open quote turns every later quote around until the second cut turns them back, so the framing
// makes one record of everything between, which the store refuses. The shipper narrows the refused batch down
// to that record and skips it to the next timestamp; the second cut ends the finished file inside quotes and is
// skipped to the next timestamp too. Only the two cut records are missing, and the shipper says so.
TEST(LogShipper, CsvlogRecordsCutInsideQuotesCostOnlyThoseRecords) {
  run_on_source("DO $$ BEGIN FOR i IN 0..9 LOOP RAISE LOG 'cut_test_marker %', i; END LOOP; END $$");
  wait_for_log("cut_test_marker 9");
  const std::string source = all_csv();
  std::vector<std::string> records;
  for (const auto record : frame_csv_records(source).records) {
    // The message field (quoted) starts with the marker; the statement's text has it in single quotes.
    if (record.find("\"cut_test_marker ") != std::string_view::npos) records.emplace_back(record);
  }
  ASSERT_EQ(records.size(), 10u);
  std::string cut_file;
  for (std::size_t i = 0; i < 9; ++i) {
    if (i == 3 || i == 7) {
      cut_file += records[i].substr(0, records[i].find("\"cut_test_marker") + 5);  // inside the message's quotes
    } else {
      cut_file += records[i] + "\n";
    }
  }
  const fs::path dir = servers->root / "cut-csvlog";
  fs::create_directories(dir);
  ASSERT_TRUE(write_file_atomically(dir / "postgresql-1.csv", cut_file).ok());
  ASSERT_TRUE(write_file_atomically(dir / "postgresql-2.csv", records[9] + "\n").ok());
  // The cut file is finished: a newer one exists and it is quiet.
  fs::last_write_time(dir / "postgresql-1.csv", fs::last_write_time(dir / "postgresql-2.csv") - std::chrono::hours(1));

  ShipperSettings settings = postgres_settings();
  settings.directory = dir;
  settings.source = {"default", "demo", "cut-0", "primary"};
  LogShipper shipper(settings);
  std::vector<std::string> said;
  bool drained = false;
  for (int call = 0; call < 100 && !drained; ++call) {
    auto outcome = shipper.ship_once();
    if (!outcome.ok()) {
      ASSERT_TRUE(shipper.refusal_pending()) << outcome.error().message;
      said.push_back(outcome.error().message);
      continue;
    }
    if (!outcome->notice.empty()) said.push_back(outcome->notice);
    drained = !outcome->shipped;
  }
  ASSERT_TRUE(drained) << fmt::format("{}", fmt::join(said, "\n"));
  std::cout << "what the shipper said:\n  " << fmt::format("{}", fmt::join(said, "\n  ")) << "\n";
  // Every record but the cut ones, once each.
  EXPECT_EQ(store_number("SELECT count(*) FROM log_postgres WHERE instance = 'cut-0'"), 8)
      << fmt::format("{}", fmt::join(said, "\n"));
  EXPECT_EQ(store_number("SELECT count(DISTINCT message) FROM log_postgres WHERE instance = 'cut-0' AND message "
                         "LIKE 'cut_test_marker %' AND message NOT IN ('cut_test_marker 3', 'cut_test_marker 7')"),
            8);
  EXPECT_EQ(shipper.status().bytes_skipped_total,
            records[3].find("\"cut_test_marker") + 5 + records[7].find("\"cut_test_marker") + 5);
  const auto said_that = [&](const std::string& text) {
    return std::any_of(said.begin(), said.end(),
                       [&](const std::string& line) { return line.find(text) != std::string::npos; });
  };
  EXPECT_TRUE(said_that("the store refused")) << fmt::format("{}", fmt::join(said, "\n"));
  EXPECT_TRUE(said_that("skipped to the next record") || said_that("even as one record"));
  EXPECT_TRUE(said_that("a csvlog record cut inside quotes in a finished file"));
  EXPECT_TRUE(said_that("kept in log_quarantine"));
  EXPECT_FALSE(shipper.refusal_pending());
  // Skipped, not lost: each skipped piece is one row of log_quarantine, byte for byte, with where it was and why.
  EXPECT_EQ(store_number("SELECT count(*) FROM log_quarantine WHERE instance = 'cut-0' AND cluster = 'demo' AND "
                         "log_type = 'postgres' AND file_name = 'postgresql-1.csv' AND reason <> ''"),
            2);
  EXPECT_EQ(store_number("SELECT sum(length(bytes)) FROM log_quarantine WHERE instance = 'cut-0'"),
            static_cast<std::int64_t>(shipper.status().bytes_skipped_total));
  const std::string first_cut = records[3].substr(0, records[3].find("\"cut_test_marker") + 5);
  const std::size_t first_cut_offset = records[0].size() + records[1].size() + records[2].size() + 3;
  std::string first_cut_hex;
  for (const char c : first_cut) first_cut_hex += fmt::format("{:02x}", static_cast<unsigned char>(c));
  EXPECT_EQ(store_number(fmt::format("SELECT count(*) FROM log_quarantine WHERE instance = 'cut-0' AND offset_bytes = "
                                     "{} AND bytes = decode('{}', 'hex')",
                                     first_cut_offset, first_cut_hex)),
            1);
}

// Patroni's log, written by the test as Patroni's RotatingFileHandler would.
fs::path patroni_dir() { return servers->root / "patroni"; }

void write_patroni(const std::string& name, const std::string& text, bool truncate = false) {
  std::ofstream file(patroni_dir() / name, truncate ? std::ios::trunc : std::ios::app);
  file << text;
}

ShipperSettings patroni_settings() {
  ShipperSettings settings;
  settings.type = LogType::kPatroni;
  settings.directory = patroni_dir();
  settings.source = kSource;
  settings.store = servers->store_target;
  settings.settle = std::chrono::milliseconds(300);
  settings.local_time_zone = "Europe/Berlin";
  return settings;
}

std::int64_t patroni_rows() { return store_number("SELECT count(*) FROM log_patroni WHERE instance = 'demo-0'"); }

void ship_patroni_after_settle() {
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  LogShipper shipper(patroni_settings());
  auto shipped = shipper.ship_all();
  ASSERT_TRUE(shipped.ok()) << shipped.error().message;
}

TEST(LogShipper, PatroniRenameRotationDrainsTheOldFileFirst) {
  fs::create_directories(patroni_dir());
  write_patroni("patroni.log",
                "2026-12-04 05:30:08,123 INFO: no action. I am (demo-0), the leader with the lock\n"
                "2026-12-04 05:30:10,001 ERROR: Exception during execution of long running task\n"
                "Traceback (most recent call last):\n"
                "  File \"/usr/lib/python3/dist-packages/patroni/async_executor.py\", line 97, in run\n"
                "ValueError: \"quoted\", thing\n"
                "2026-12-04 05:30:12,500 INFO: Lock owner: demo-0; I am demo-0\n");
  {
    // At once: the last record may still grow, so only the first two are shipped. (A long settle time
    // here, so that a loaded machine taking more than 300 ms to get here does not count it settled.)
    ShipperSettings unsettled = patroni_settings();
    unsettled.settle = std::chrono::seconds(30);
    LogShipper shipper(unsettled);
    auto shipped = shipper.ship_all();
    ASSERT_TRUE(shipped.ok()) << shipped.error().message;
    EXPECT_EQ(patroni_rows(), 2);
  }
  // More lines in the old inode, then the rename and a new file.
  write_patroni("patroni.log", "2026-12-04 05:30:14,000 WARNING: before the rename\n");
  fs::rename(patroni_dir() / "patroni.log", patroni_dir() / "patroni.log.1");
  write_patroni("patroni.log",
                "2026-12-04 05:30:16,000 INFO: after the rename\n2026-12-04 05:30:18,000 INFO: the new file's last\n");
  ship_patroni_after_settle();
  EXPECT_EQ(patroni_rows(), 6);
  EXPECT_EQ(store_number("SELECT count(*) FROM log_patroni WHERE error_severity = 'ERROR' AND message = "
                         "E'Exception during execution of long running task\\nTraceback (most recent call last):\\n"
                         "  File \"/usr/lib/python3/dist-packages/patroni/async_executor.py\", line 97, in run\\n"
                         "ValueError: \"quoted\", thing'"),
            1);
  // Local time of Europe/Berlin (UTC+1 in December).
  EXPECT_EQ(store_number("SELECT count(*) FROM log_patroni WHERE message LIKE 'no action%' AND log_time = "
                         "'2026-12-04 04:30:08.123+00'"),
            1);
}

TEST(LogShipper, PatroniTruncatedOrRewrittenInPlaceStartsFromZero) {
  const std::int64_t before = patroni_rows();
  write_patroni("patroni.log", "2026-12-04 06:00:00,000 INFO: truncated\n", true);
  ship_patroni_after_settle();
  EXPECT_EQ(patroni_rows(), before + 1);
  // Longer than the shipped offset, but it begins differently: the head digest tells.
  write_patroni("patroni.log",
                "2026-12-04 07:00:00,000 INFO: rewritten one\n2026-12-04 07:00:01,000 INFO: rewritten two\n"
                "2026-12-04 07:00:02,000 INFO: rewritten three\n",
                true);
  ship_patroni_after_settle();
  EXPECT_EQ(patroni_rows(), before + 4);
  EXPECT_EQ(store_number("SELECT count(*) FROM log_patroni WHERE message LIKE 'rewritten%'"), 3);
}

// PgBouncer's, pgBackRest's and the proxy's logs, written as they write them, into log_pgstack.
TEST(LogShipper, PgstackOwnLogsGoToLogPgstackWithTheirType) {
  const fs::path dir = servers->root / "pgstack-own";
  fs::create_directories(dir / "pgbackrest");
  {
    std::ofstream(dir / "pgbouncer.log") << "2026-12-05 03:43:12.688 UTC [9905] LOG stats: 0 xacts/s\n"
                                            "2026-12-05 03:43:17.279 UTC [9905] WARNING got SIGTERM, fast exit\n";
    std::ofstream(dir / "proxy.log") << "[2026-12-05 03:42:06.937] [info] cluster demo: primary demo-1\n";
    std::ofstream(dir / "pgbackrest" / "default-demo-backup.log")
        << "2026-12-05 03:40:21.300 P00  ERROR: [056]: unable to find primary cluster - cannot proceed\n"
           "                                    HINT: are all available clusters in recovery?\n";
    std::ofstream(dir / "pgbackrest" / "default-demo-expire.log")
        << "2026-12-05 03:40:22.000 P00   WARN: option 'repo1-retention-full' is not set\n";
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(400));  // quiet: each file's last record is complete
  for (const auto& [type, where] : {std::pair{LogType::kPgbouncer, dir}, std::pair{LogType::kProxy, dir},
                                    std::pair{LogType::kPgbackrest, dir / "pgbackrest"}}) {
    ShipperSettings settings = postgres_settings();
    settings.type = type;
    settings.directory = where;
    settings.local_time_zone = "UTC";
    LogShipper shipper(settings);
    auto shipped = shipper.ship_all();
    ASSERT_TRUE(shipped.ok()) << log_type_name(type) << ": " << shipped.error().message;
  }
  EXPECT_EQ(store_number("SELECT count(*) FROM log_pgstack WHERE log_type = 'pgbouncer' AND instance = 'demo-0'"), 2);
  EXPECT_EQ(
      store_number("SELECT count(*) FROM log_pgstack WHERE log_type = 'pgbouncer' AND error_severity = "
                   "'WARNING' AND message = 'got SIGTERM, fast exit' AND log_time = '2026-12-05 03:43:17.279+00'"),
      1);
  EXPECT_EQ(store_number("SELECT count(*) FROM log_pgstack WHERE log_type = 'proxy' AND error_severity = 'INFO'"), 1);
  EXPECT_EQ(store_number("SELECT count(*) FROM log_pgstack WHERE log_type = 'pgbackrest'"), 2);
  EXPECT_EQ(store_number("SELECT count(*) FROM log_pgstack WHERE log_type = 'pgbackrest' AND error_severity = "
                         "'ERROR' AND message LIKE '%HINT: are all available clusters in recovery?%'"),
            1);
  EXPECT_EQ(store_number("SELECT count(*) FROM log_pgstack WHERE log_type = 'pgbackrest' AND error_severity = "
                         "'WARNING'"),
            1);
}

// The shipper of a text log the agent rotates (PgBouncer's, the proxy's) in `directory`.
ShipperSettings rotated_log_settings(LogType type, const fs::path& directory, LogSource source) {
  ShipperSettings settings = postgres_settings();
  settings.type = type;
  settings.directory = directory;
  settings.source = std::move(source);
  return settings;
}

// Ships everything once the files were quiet for `settle`.
void ship_when_quiet(const ShipperSettings& settings) {
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  LogShipper shipper(settings);
  auto shipped = shipper.ship_all();
  ASSERT_TRUE(shipped.ok()) << shipped.error().message;
}

// An InstanceLogs without a store that rotates whatever its logs hold on its first pass, which runs at once.
agent::InstanceLogsSettings rotate_at_once(std::string member, const fs::path& log_dir) {
  agent::InstanceLogsSettings rotation;
  rotation.namespace_name = "default";
  rotation.cluster = "demo";
  rotation.member = std::move(member);
  rotation.log_dir = log_dir;
  rotation.removal.rotate_bytes = 1;
  return rotation;
}

// A real PgBouncer (1.18) logging to pgbouncer.log, rotated twice by the agent's InstanceLogs (rename, then
// SIGHUP: PgBouncer reopens its logfile) while a shipper ships between the rotations: every line written
// is one row, in whichever file it ended up.
TEST(LogShipper, PgbouncerLogRotatedByTheAgentLosesNoLine) {
  const fs::path dir = servers->root / "pgbouncer-rotation";
  fs::create_directories(dir);
  auto port = free_tcp_port();
  ASSERT_TRUE(port.ok());
  {
    std::ofstream(dir / "pgbouncer.ini") << "[databases]\nappdb = host=127.0.0.1 port=" << servers->source->port()
                                         << " dbname=postgres\n"
                                         << "[pgbouncer]\nlisten_addr = 127.0.0.1\nlisten_port = " << *port
                                         << "\nunix_socket_dir = " << dir.string()
                                         << "\nlogfile = " << (dir / "pgbouncer.log").string()
                                         << "\nauth_type = trust\nauth_file = " << (dir / "userlist.txt").string()
                                         << "\n";
    std::ofstream(dir / "userlist.txt") << "\"postgres\" \"\"\n";
  }
  ASSERT_EQ(run_command({"chown", "-R", "postgres:postgres", dir.string()})->exit_code, 0);
  // Started as the agent starts it: its pid file is what the rotation signals.
  ProcessSpec spec;
  spec.name = "pgbouncer rotation test";
  spec.argv = {"/usr/sbin/pgbouncer", "-q", (dir / "pgbouncer.ini").string()};
  if (::geteuid() == 0) spec.run_as_user = "postgres";
  spec.working_directory = dir;
  spec.log_file = dir / "pgbouncer.stderr.log";
  spec.pid_file = dir / "pgbouncer.pid";
  spec.stop_timeout = std::chrono::seconds(5);
  ProcessSupervisor pgbouncer(spec);
  ASSERT_TRUE(pgbouncer.start().ok());
  // Each refused connection is two lines of PgBouncer's log (a "closing because" and a WARNING).
  const auto refused_connections = [&](int count) {
    for (int i = 0; i < count; ++i)
      (void)run_command({"psql", "-X", "-q", "-d",
                         fmt::format("host=127.0.0.1 port={} dbname=nosuchdb user=postgres connect_timeout=5", *port),
                         "-c", "SELECT 1"});
  };
  const ShipperSettings settings =
      rotated_log_settings(LogType::kPgbouncer, dir, {"default", "demo", "bouncer-0", "primary"});
  const auto ship = [&] { ship_when_quiet(settings); };
  agent::InstanceLogsSettings rotation = rotate_at_once("bouncer-0", dir);
  rotation.pgbouncer_pid_file = spec.pid_file;
  rotation.pgbouncer_program = "/usr/sbin/pgbouncer";
  const auto appears = [&](const std::string& name) {
    for (int i = 0; i < 200 && !fs::exists(dir / name); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    return fs::exists(dir / name);
  };
  const auto rotate = [&](const std::string& expect_renamed) {
    agent::InstanceLogs logs(rotation);  // its first pass runs at once
    ASSERT_TRUE(appears(expect_renamed));
  };

  refused_connections(10);
  ship();  // pgbouncer.log partly shipped before it is renamed
  refused_connections(10);
  rotate("pgbouncer.log.1");
  refused_connections(10);
  // PgBouncer writes a new pgbouncer.log once it took the SIGHUP.
  ASSERT_TRUE(appears("pgbouncer.log"));
  ship();
  refused_connections(10);
  rotate("pgbouncer.log.2");
  refused_connections(10);
  ship();
  ASSERT_TRUE(pgbouncer.stop().ok());
  ship();

  std::int64_t on_disk = 0;
  for (const char* name : {"pgbouncer.log.2", "pgbouncer.log.1", "pgbouncer.log"}) {
    auto content = read_file(dir / name);
    ASSERT_TRUE(content.ok()) << name;
    on_disk += static_cast<std::int64_t>(frame_text_records(TextFormat::kPgbouncer, *content, true).records.size());
    // Each file has lines of its own: PgBouncer reopened its log at each rotation.
    EXPECT_NE(content->find("nosuchdb"), std::string::npos) << name;
  }
  EXPECT_GE(on_disk, 100);
  EXPECT_EQ(store_number("SELECT count(*) FROM log_pgstack WHERE log_type = 'pgbouncer' AND instance = 'bouncer-0'"),
            on_disk);
  EXPECT_EQ(store_number("SELECT count(*) FROM log_pgstack WHERE log_type = 'pgbouncer' AND instance = 'bouncer-0' "
                         "AND message LIKE '%got SIGHUP%'"),
            2);
}

}  // namespace
// pgstack-proxy's log, rotated by the agent as PgBouncer's is: renamed, then SIGHUP, on which the proxy reopens
// its --log-file. Every line on disk is one row, with the host as its instance and no role.
TEST(LogShipper, ProxyLogRotatedByTheAgentLosesNoLine) {
  const fs::path dir = servers->root / "proxy-rotation";
  const fs::path instance_dir = servers->root / "proxy-rotation-instance";  // the shipping member's own logs
  fs::create_directories(dir);
  fs::create_directories(instance_dir);
  config::ProxyLayout layout;
  layout.cluster = "demo";
  layout.namespace_name = "default";
  auto etcd_port = free_tcp_port();  // nothing listens there: the proxy says it cannot read its routes
  ASSERT_TRUE(etcd_port.ok());
  layout.etcd_endpoints = {fmt::format("http://127.0.0.1:{}", *etcd_port)};
  layout.etcd_prefix = "/pgstack";
  layout.listen_address = "127.0.0.1";
  for (int* port : {&layout.read_write_port, &layout.read_only_port, &layout.admin_port}) {
    auto free = free_tcp_port();
    ASSERT_TRUE(free.ok());
    *port = *free;
  }
  layout.pooling = false;
  ASSERT_TRUE(write_file_atomically(dir / "proxy.yaml", config::render_proxy_config(layout), fs::perms(0644)).ok());
  // Started as the agent's ProxySupervisor starts it: as the OS user, in a directory that is root's when the
  // agent runs as root, so the proxy cannot create its new proxy.log there itself.
  ProcessSpec spec;
  if (::geteuid() == 0) spec.run_as_user = "postgres";
  spec.name = "pgstack-proxy rotation test";
  spec.argv = {PGSTACK_PROXY_BINARY, "--config", (dir / "proxy.yaml").string(), "--log-file",
               (dir / "proxy.log").string()};
  spec.working_directory = dir;
  spec.log_file = dir / "proxy.log";
  spec.pid_file = dir / "proxy.pid";
  spec.stop_timeout = std::chrono::seconds(5);
  ProcessSupervisor proxy(spec);
  ASSERT_TRUE(proxy.start().ok());
  const auto file_has = [&](const std::string& name, const std::string& text) {
    for (int i = 0; i < 200; ++i) {
      auto content = read_file(dir / name);
      if (content.ok() && content->find(text) != std::string::npos) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  };
  ASSERT_TRUE(file_has("proxy.log", "cannot read")) << "the proxy never logged its etcd error";

  const ShipperSettings settings = rotated_log_settings(LogType::kProxy, dir, {"default", "demo", "host-a", ""});
  const auto ship = [&] { ship_when_quiet(settings); };
  agent::InstanceLogsSettings rotation = rotate_at_once("demo-0", instance_dir);
  rotation.proxy = agent::InstanceLogsSettings::Proxy{dir, spec.pid_file, PGSTACK_PROXY_BINARY, "host-a"};
  const auto rotate = [&](const std::string& expect_renamed) {
    agent::InstanceLogs logs(rotation);  // its first pass runs at once
    ASSERT_TRUE(file_has(expect_renamed, "[info]"));
    // The proxy took the SIGHUP: its new proxy.log begins with saying so.
    ASSERT_TRUE(file_has("proxy.log", "reopened the log file"));
  };

  ship();  // proxy.log partly shipped before it is renamed
  rotate("proxy.log.1");
  // A SIGHUP without a rename: the proxy reopens the same file and writes on to it.
  const auto pid_file = read_file(spec.pid_file);
  ASSERT_TRUE(pid_file.ok());
  ASSERT_EQ(::kill(static_cast<pid_t>(std::stoll(*pid_file)), SIGHUP), 0);
  ship();
  rotate("proxy.log.2");
  ship();
  ASSERT_TRUE(proxy.stop().ok());
  ship();

  std::int64_t on_disk = 0;
  for (const char* name : {"proxy.log.2", "proxy.log.1", "proxy.log"}) {
    auto content = read_file(dir / name);
    ASSERT_TRUE(content.ok()) << name;
    on_disk += static_cast<std::int64_t>(frame_text_records(TextFormat::kSpdlog, *content, true).records.size());
  }
  // The first file has the start; each later one begins with the reopening; the last ends with the stop.
  EXPECT_NE(read_file(dir / "proxy.log.2")->find("admin on"), std::string::npos);
  const auto second = read_file(dir / "proxy.log.1");
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->find("SIGHUP: reopened"), second->find("] [info] ") + 9);
  EXPECT_NE(read_file(dir / "proxy.log")->find("stopping"), std::string::npos);
  EXPECT_EQ(store_number("SELECT count(*) FROM log_pgstack WHERE log_type = 'proxy' AND instance = 'host-a' "
                         "AND coalesce(role, '') = ''"),
            on_disk);
  EXPECT_EQ(store_number("SELECT count(*) FROM log_pgstack WHERE log_type = 'proxy' AND message LIKE '%reopened the "
                         "log file%'"),
            3);
  // The etcd error is said once, not at every retry.
  EXPECT_EQ(store_number("SELECT count(*) FROM log_pgstack WHERE log_type = 'proxy' AND message LIKE '%cannot read%'"),
            1);
}

// The agent's own lines about a cluster (ClusterLogSink) while InstanceLogs rotates their agent.log twice: the
// sink notices each rename by itself, and every line written, in whichever file it ended up, is one row of the
// host's with no role.
TEST(LogShipper, AgentLogRotatedWhileTheAgentWritesLosesNoLine) {
  const fs::path state_dir = servers->root / "agent-rotation";
  const fs::path instance_dir = servers->root / "agent-rotation-instance";
  fs::create_directories(instance_dir);
  const fs::path dir = agent::cluster_agent_log_directory(state_dir, "default/demo");
  auto sink = std::make_shared<agent::ClusterLogSink>(state_dir);
  spdlog::logger logger("agent rotation test", sink);
  std::atomic<bool> stop = false;
  std::atomic<int> written = 0;
  std::thread writer([&] {
    for (int i = 0; !stop; ++i) {
      logger.info("default/demo/demo-0: line {}", i);
      logger.info("default/other/other-0: not demo's {}", i);  // another cluster's file
      written = i + 1;
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
  });
  const auto wait_for_lines = [&](int lines) {
    for (int i = 0; i < 400 && written < lines; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  };
  const ShipperSettings settings = rotated_log_settings(LogType::kAgent, dir, {"default", "demo", "host-a", ""});
  agent::InstanceLogsSettings rotation = rotate_at_once("demo-0", instance_dir);
  rotation.agent_log = agent::InstanceLogsSettings::AgentLog{dir, "host-a"};
  wait_for_lines(200);
  {
    LogShipper shipper(settings);  // agent.log partly shipped while it is written
    ASSERT_TRUE(shipper.ship_once().ok());
  }
  for (const int lines : {600, 1000}) {
    wait_for_lines(lines);
    agent::InstanceLogs logs(rotation);  // its first pass renames agent.log at once
    for (int i = 0; i < 200 && !fs::exists(dir / "agent.log"); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    LogShipper shipper(settings);
    ASSERT_TRUE(shipper.ship_once().ok());
  }
  wait_for_lines(1400);
  stop = true;
  writer.join();
  ship_when_quiet(settings);

  std::int64_t on_disk = 0;
  for (const char* name : {"agent.log.2", "agent.log.1", "agent.log"}) {
    auto content = read_file(dir / name);
    ASSERT_TRUE(content.ok()) << name;
    on_disk += static_cast<std::int64_t>(frame_text_records(TextFormat::kSpdlog, *content, true).records.size());
  }
  EXPECT_EQ(on_disk, written.load());
  EXPECT_EQ(store_number("SELECT count(*) FROM log_pgstack WHERE log_type = 'agent' AND instance = 'host-a' AND "
                         "coalesce(role, '') = '' AND message LIKE 'default/demo/demo-0: line %'"),
            written.load());
  EXPECT_EQ(store_number("SELECT count(DISTINCT message) FROM log_pgstack WHERE log_type = 'agent'"), written.load());
  EXPECT_EQ(sink->lines_lost(), 0u);
}

// deleteLogs while the cluster's shipper still runs (its instances stop only after the request): the deletion
// waits for the batch in flight and takes it too, and the shipper, whose offsets are gone with the rows, does
// not ship the file again from its start. A cluster made again under the same name (a new uid) ships.
TEST(LogShipper, DeletingAClustersLogsWhileItShipsLeavesNoneOfItsLines) {
  const fs::path dir = servers->root / "deleted-cluster";
  fs::create_directories(dir);
  const auto append_lines = [&](int from, int to) {
    std::ofstream out(dir / "agent.log", std::ios::app);
    for (int i = from; i < to; ++i)
      out << fmt::format("[2026-12-06 03:00:00.{:03}] [info] default/gone: line {}\n", i % 1000, i);
  };
  const auto rows_of = [](const std::string& cluster) {
    return store_number("SELECT (SELECT count(*) FROM log_pgstack WHERE cluster = '" + cluster +
                        "') + (SELECT count(*) FROM log_ingest_state WHERE cluster = '" + cluster + "')");
  };
  append_lines(0, 100);
  std::this_thread::sleep_for(std::chrono::milliseconds(400));  // quiet: the last line is complete
  ShipperSettings settings = rotated_log_settings(LogType::kAgent, dir, {"default", "gone", "host-a", "", "uid-old"});
  {
    LogShipper shipper(settings);
    ASSERT_TRUE(shipper.ship_all().ok());
  }
  ASSERT_EQ(store_number("SELECT count(*) FROM log_pgstack WHERE cluster = 'gone'"), 100);

  // The next batch is open (its rows copied, not committed) when the deletion starts.
  append_lines(100, 150);
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  std::thread deleter;
  Result<postgres::Rows> deleted = make_error(ErrorCode::kInternal, "not run");
  std::atomic<bool> deletion_done = false;
  settings.before_commit = [&] {
    if (deleter.joinable()) return;
    deleter = std::thread([&] {
      auto admin = postgres::PostgresSession::connect(servers->store_target);
      if (!admin.ok()) {
        deleted = admin.error();
      } else {
        deleted = (*admin)->query(render_delete_cluster_logs("default", "gone", "uid-old"));
      }
      deletion_done = true;
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    EXPECT_FALSE(deletion_done) << "the deletion did not wait for the open batch";
  };
  LogShipper shipper(settings);
  auto in_flight = shipper.ship_once();
  deleter.join();
  ASSERT_TRUE(in_flight.ok()) << in_flight.error().message;
  EXPECT_TRUE(in_flight->shipped);
  ASSERT_TRUE(deleted.ok()) << deleted.error().message;
  EXPECT_EQ(rows_of("gone"), 0);

  // Lines written after the deletion, and the file from its start: nothing is shipped any more.
  append_lines(150, 200);
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  auto after = shipper.ship_once();
  ASSERT_TRUE(after.ok()) << after.error().message;
  EXPECT_TRUE(after->cluster_logs_deleted);
  EXPECT_FALSE(after->shipped);
  LogShipper restarted(settings);  // an agent restarted before the instances stopped
  auto again = restarted.ship_once();
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_TRUE(again->cluster_logs_deleted);
  EXPECT_EQ(rows_of("gone"), 0);

  // The same name, a new SGCluster: its lines are shipped (here the same file, from its start).
  settings.before_commit = nullptr;
  settings.source.cluster_uid = "uid-new";
  LogShipper made_again(settings);
  ASSERT_TRUE(made_again.ship_all().ok());
  EXPECT_EQ(store_number("SELECT count(*) FROM log_pgstack WHERE cluster = 'gone'"), 200);
}

}  // namespace pgstack::logs
