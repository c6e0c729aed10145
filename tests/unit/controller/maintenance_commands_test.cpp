#include "controller/operations/maintenance_commands.h"

#include <gtest/gtest.h>

namespace pgstack::controller::operations {
namespace {

using model::Json;

TEST(Vacuum, OptionsAsTheOperationAsks) {
  model::VacuumTarget target;
  EXPECT_EQ(vacuum_statement(target), "VACUUM (ANALYZE)");
  target.full = target.freeze = target.disable_page_skipping = true;
  target.analyze = false;
  EXPECT_EQ(vacuum_statement(target), "VACUUM (FULL, FREEZE, DISABLE_PAGE_SKIPPING)");
  target = {};
  target.analyze = false;
  EXPECT_EQ(vacuum_statement(target), "VACUUM");
}

TEST(Repack, Arguments) {
  model::RepackTarget target;
  target.no_order = true;
  target.wait_timeout = std::chrono::milliseconds(1500);
  target.no_kill_backend = true;
  const auto arguments = repack_arguments(target, "app");
  EXPECT_EQ(arguments[0], "--dbname=app");
  EXPECT_NE(std::find(arguments.begin(), arguments.end(), "--no-order"), arguments.end());
  EXPECT_NE(std::find(arguments.begin(), arguments.end(), "--wait-timeout=2"), arguments.end());
  EXPECT_NE(std::find(arguments.begin(), arguments.end(), "--no-kill-backend"), arguments.end());
}

TEST(Pgbench, ScaleAndArguments) {
  EXPECT_EQ(pgbench_scale(1), 1);
  EXPECT_EQ(pgbench_scale(64LL << 20), 4);
  EXPECT_EQ(pgbench_scale(1LL << 30), 64);
  model::Benchmark benchmark;
  benchmark.duration = std::chrono::seconds(30);
  benchmark.clients = 4;
  benchmark.threads = 2;
  auto arguments = pgbench_run_arguments(benchmark, "db", "/tmp/x/log", {});
  EXPECT_EQ(arguments.back(), "db");
  EXPECT_NE(std::find(arguments.begin(), arguments.end(), "--time=30"), arguments.end());
  EXPECT_NE(std::find(arguments.begin(), arguments.end(), "--builtin=tpcb-like"), arguments.end());
  benchmark.mode = "custom";
  benchmark.custom_scripts = {{"SELECT 1;", "", 3}, {"", "select-only", 1}};
  arguments = pgbench_run_arguments(benchmark, "db", "/tmp/x/log", {"/tmp/x/script-0.sql"});
  EXPECT_NE(std::find(arguments.begin(), arguments.end(), "--file=/tmp/x/script-0.sql@3"), arguments.end());
  EXPECT_NE(std::find(arguments.begin(), arguments.end(), "--builtin=select-only@1"), arguments.end());
}

// pgbench 15's report, as it prints it with --report-per-command.
constexpr const char* kReport = R"(pgbench (15.10 (Debian 15.10-0+deb12u1))
transaction type: <builtin: TPC-B (sort of)>
scaling factor: 1
query mode: simple
number of clients: 4
number of threads: 2
maximum number of tries: 1
duration: 10 s
number of transactions actually processed: 5000
number of failed transactions: 0 (0.000%)
latency average = 8.000 ms
initial connection time = 20.000 ms
tps = 500.000000 (without initial connection time)
statement latencies in milliseconds and failures:
         0.002           0  \set aid random(1, 100000 * :scale)
         0.512           0  BEGIN;
         1.250           0  UPDATE pgbench_accounts SET abalance = abalance + :delta WHERE aid = :aid;
)";

// StackGres' pgbench fields shape the initialization and the logged sample.
TEST(Pgbench, InitializationOptionsAndSamplingRate) {
  model::Benchmark benchmark;
  EXPECT_EQ(pgbench_init_arguments(benchmark, 4), (std::vector<std::string>{"--initialize", "--scale=4", "--quiet"}));
  benchmark.foreign_keys = true;
  benchmark.unlogged_tables = true;
  benchmark.partition_method = "hash";
  benchmark.partitions = 8;
  benchmark.init_steps = "dtgp";
  benchmark.fillfactor = 90;
  benchmark.no_vacuum = true;
  EXPECT_EQ(pgbench_init_arguments(benchmark, 1),
            (std::vector<std::string>{"--initialize", "--scale=1", "--quiet", "--init-steps=dtgp", "--no-vacuum",
                                      "--foreign-keys", "--unlogged-tables", "--fillfactor=90", "--partitions=8",
                                      "--partition-method=hash"}));
  benchmark.duration = std::chrono::seconds(10);
  benchmark.sampling_rate = 0.25;
  const auto arguments = pgbench_run_arguments(benchmark, "db", "/tmp/x/log", {});
  EXPECT_NE(std::find(arguments.begin(), arguments.end(), "--sampling-rate=0.25"), arguments.end());
}

TEST(Pgbench, ResultsAsStackGresReportsThem) {
  std::vector<double> latencies;
  read_pgbench_log(
      "0 0 1000 0 1700000000 1\n0 1 2000 0 1700000000 2\n1 0 3000 0 1700000000 3\n1 1 4000 0 1 4\n"
      "garbage\n",
      latencies);
  ASSERT_EQ(latencies.size(), 4u);
  const Json results = pgbench_results(kReport, latencies, 1);
  EXPECT_EQ(results["scaleFactor"], 1);
  EXPECT_EQ(results["transactionsProcessed"], 5000);
  EXPECT_DOUBLE_EQ(results["latency"]["average"]["value"].get<double>(), 8.0);  // pgbench's own number wins
  EXPECT_EQ(results["latency"]["average"]["unit"], "ms");
  EXPECT_DOUBLE_EQ(results["latency"]["p50"]["value"].get<double>(), 2.0);
  EXPECT_DOUBLE_EQ(results["latency"]["p99"]["value"].get<double>(), 4.0);
  EXPECT_GT(results["latency"]["standardDeviation"]["value"].get<double>(), 1.0);
  const Json& tps = results["transactionsPerSecond"];
  EXPECT_DOUBLE_EQ(tps["excludingConnectionsEstablishing"]["value"].get<double>(), 500.0);
  EXPECT_NEAR(tps["includingConnectionsEstablishing"]["value"].get<double>(), 5000 / 10.02, 0.01);
  ASSERT_EQ(results["statements"].size(), 3u);
  EXPECT_EQ(results["statements"][2]["command"],
            "UPDATE pgbench_accounts SET abalance = abalance + :delta WHERE aid = :aid;");
  EXPECT_DOUBLE_EQ(results["statements"][1]["latency"].get<double>(), 0.512);
}

TEST(Pgbench, AReportWithoutNumbersGivesNulls) {
  const Json results = pgbench_results("pgbench: error: connection refused\n", {}, 4);
  EXPECT_TRUE(results["transactionsProcessed"].is_null());
  EXPECT_TRUE(results["transactionsPerSecond"]["excludingConnectionsEstablishing"]["value"].is_null());
  EXPECT_TRUE(results["statements"].empty());
}

}  // namespace
}  // namespace pgstack::controller::operations
