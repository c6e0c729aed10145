// The write workload and checker against real Postgres servers (no Patroni): every outcome a client
// can see, a failover by hand recorded with its members and timelines, and a real split brain (the
// old primary started again on its old timeline and written to) that the checker must report.
#include "support/write_workload.h"

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <string>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "integration/proxy/postgres_node.h"
#include "support/etcd_server.h"
#include "support/pgstack_runtime.h"
#include "support/write_history.h"

namespace pgstack::testing {
namespace {

class WriteWorkloadAgainstPostgres : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "pgstack-workload-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    directory_ = pattern;
    std::filesystem::permissions(directory_, std::filesystem::perms::all);  // initdb runs as postgres
  }
  void TearDown() override {
    replica_.reset();
    primary_.reset();
    std::error_code ignored;
    std::filesystem::remove_all(directory_, ignored);
  }
  void start_primary() {
    auto primary = PostgresNode::init_primary(directory_ / "primary", free_tcp_port());
    ASSERT_TRUE(primary) << primary.error().message;
    primary_ = std::move(primary).value();
  }

  std::filesystem::path directory_;
  std::unique_ptr<PostgresNode> primary_;
  std::unique_ptr<PostgresNode> replica_;
};

constexpr const char* kDurableCommits = " options='-c synchronous_commit=on'";

std::string member_of(const PostgresNode& node) { return fmt::format("127.0.0.1:{}", node.port()); }

// psql on `node`; what it printed, or why it failed.
Result<std::string> sql(const PostgresNode& node, const std::string& statement) {
  ASSIGN_OR_RETURN(const auto output, node.psql(statement));
  if (output.exit_code != 0)
    return make_error(ErrorCode::kFailedPrecondition, fmt::format("psql: {}", output.standard_error));
  return output.standard_output;
}

TEST_F(WriteWorkloadAgainstPostgres, RecordsAcknowledgedFailedAndUnknownWrites) {
  start_primary();
  // These servers run with synchronous_commit off (a kill -9 loses the last commits: the checker
  // reports them lost); the workload's sessions turn it on, as a durable cluster has it.
  WriteWorkload workload({.conninfo = primary_->conninfo() + kDurableCommits});
  ASSERT_TRUE(workload.create_table());
  for (int i = 0; i < 10; ++i) {
    const auto& write = workload.write_next();
    ASSERT_EQ(write.outcome, WriteOutcome::kAcknowledged) << write.error;
    EXPECT_EQ(write.member, member_of(*primary_));
    EXPECT_EQ(write.timeline, 1);
    EXPECT_LE(write.start, write.end);
  }
  // Postgres refuses the statement: a definite failure.
  const auto altered = sql(*primary_, "ALTER TABLE pgstack_write_history ADD CHECK (id <> 11)");
  ASSERT_TRUE(altered) << altered.error().message;
  const auto& refused = workload.write_next();
  EXPECT_EQ(refused.outcome, WriteOutcome::kFailed) << refused.error;
  EXPECT_NE(refused.error.find("23514"), std::string::npos) << refused.error;
  ASSERT_EQ(workload.write_next().outcome, WriteOutcome::kAcknowledged);  // id 12, on a new session

  // The server dies under an open session: the next write's fate is unknown; nothing answers after.
  ASSERT_TRUE(primary_->kill_hard());
  const auto& in_flight = workload.write_next();
  EXPECT_EQ(in_flight.outcome, WriteOutcome::kUnknown) << in_flight.error;
  const auto& no_server = workload.write_next();
  EXPECT_EQ(no_server.outcome, WriteOutcome::kFailed) << no_server.error;
  // Its killed backends may still hold the shared memory for a moment: pg_ctl start then fails.
  ASSERT_TRUE(
      wait_until([&] { return primary_->start().ok(); }, std::chrono::seconds(20), std::chrono::milliseconds(200)));
  ASSERT_EQ(workload.write_next().outcome, WriteOutcome::kAcknowledged);

  auto read_back = workload.read_back();
  ASSERT_TRUE(read_back) << read_back.error().message;
  const auto verdict = check_write_history(workload.history(), *read_back);
  std::cout << verdict.summary() << "\n";
  EXPECT_TRUE(verdict.clean()) << verdict.summary();
  EXPECT_EQ(verdict.acknowledged, 12);
  EXPECT_EQ(verdict.failed, 2);
  EXPECT_EQ(verdict.unknown, 1);
  EXPECT_EQ(verdict.unknown_missing, std::vector<std::int64_t>{13});
}

TEST_F(WriteWorkloadAgainstPostgres, AFailoverIsCleanAndTheOldPrimaryWritingAgainIsSplitBrain) {
  start_primary();
  auto replica = PostgresNode::init_replica(*primary_, directory_ / "replica", free_tcp_port());
  ASSERT_TRUE(replica) << replica.error().message;
  replica_ = std::move(replica).value();
  // One string over both servers, as a client of a cluster has: libpq finds the one that takes writes.
  const std::string both =
      fmt::format("host=127.0.0.1,127.0.0.1 port={},{} dbname=postgres user=postgres target_session_attrs=read-write",
                  primary_->port(), replica_->port());
  WriteWorkload workload({.conninfo = both});
  ASSERT_TRUE(workload.create_table());
  for (int i = 0; i < 5; ++i) ASSERT_EQ(workload.write_next().outcome, WriteOutcome::kAcknowledged);
  // synchronous_commit is off in these servers: wait until the replica has everything so far.
  const auto caught_up = [&] {
    auto streaming = sql(*primary_, "SELECT count(*) FROM pg_stat_replication WHERE replay_lsn = pg_current_wal_lsn()");
    return streaming && streaming->starts_with("1");
  };
  ASSERT_TRUE(wait_until(caught_up, std::chrono::seconds(10), std::chrono::milliseconds(50)));

  ASSERT_TRUE(primary_->kill_hard());
  EXPECT_EQ(workload.write_next().outcome, WriteOutcome::kUnknown);  // the open session broke
  ASSERT_TRUE(replica_->promote());
  for (int i = 0; i < 5; ++i) {
    const auto& write = workload.write_next();
    ASSERT_EQ(write.outcome, WriteOutcome::kAcknowledged) << write.error;
    EXPECT_EQ(write.member, member_of(*replica_));
    EXPECT_EQ(write.timeline, 2);
  }
  auto read_back = workload.read_back();
  ASSERT_TRUE(read_back) << read_back.error().message;
  const auto after_failover = check_write_history(workload.history(), *read_back);
  std::cout << "after the failover: " << after_failover.summary() << "\n";
  EXPECT_TRUE(after_failover.clean()) << after_failover.summary();
  EXPECT_EQ(after_failover.acknowledged, 10);

  // The old primary comes back on its own, still a primary on timeline 1, and a client reaches it.
  ASSERT_TRUE(
      wait_until([&] { return primary_->start().ok(); }, std::chrono::seconds(20), std::chrono::milliseconds(200)));
  WriteWorkload stale({.conninfo = primary_->conninfo(), .first_id = 1000, .clock_start = workload.clock_start()});
  const auto& stale_write = stale.write_next();
  ASSERT_EQ(stale_write.outcome, WriteOutcome::kAcknowledged) << stale_write.error;
  EXPECT_EQ(stale_write.timeline, 1);
  auto history = workload.history();
  history.push_back(stale_write);
  // What a healed cluster that kept both would hold: the new primary's rows and the old one's.
  WriteWorkload new_primary({.conninfo = replica_->conninfo()});
  auto merged = new_primary.read_back();
  ASSERT_TRUE(merged) << merged.error().message;
  std::vector<std::int64_t> held = *merged;
  held.push_back(1000);
  const auto verdict = check_write_history(history, held);
  std::cout << "with the old primary written to: " << verdict.summary() << "\n";
  ASSERT_EQ(verdict.split_brain.size(), 1U) << verdict.summary();
  EXPECT_EQ(verdict.split_brain[0].earlier.id, 1000);
  EXPECT_EQ(verdict.split_brain[0].earlier.member, member_of(*primary_));
  EXPECT_EQ(verdict.split_brain[0].later.member, member_of(*replica_));
}

}  // namespace
}  // namespace pgstack::testing
