// The statements and command lines of vacuum, repack and benchmark operations, and the reading of
// pgbench's results. Pure: the runner executes them.
#pragma once

#include <string>
#include <vector>

#include "model/dbops.h"
#include "model/document.h"

namespace pgstack::controller::operations {

// "VACUUM (FULL, FREEZE, ANALYZE, DISABLE_PAGE_SKIPPING)": the options one target asks for.
std::string vacuum_statement(const model::VacuumTarget& target);

// pg_repack's arguments for every table of one database (connection from PG* variables).
std::vector<std::string> repack_arguments(const model::RepackTarget& target, const std::string& database);

// pgbench's scale for a database of about `bytes` (scale 1 is about 16 MiB of pgbench_accounts).
int pgbench_scale(std::int64_t bytes);

// pgbench --initialize's arguments (without the program): the scale and StackGres' pgbench options
// (foreignKeys, unloggedTables, partitionMethod, partitions, initSteps, fillfactor, noVacuum).
std::vector<std::string> pgbench_init_arguments(const model::Benchmark& benchmark, int scale);

// pgbench's arguments for the run (after `pgbench -i -s <scale>` made the tables). `log_prefix`
// gets per-transaction latencies (-l) for the percentiles; custom scripts are files already written.
std::vector<std::string> pgbench_run_arguments(const model::Benchmark& benchmark, const std::string& database,
                                               const std::string& log_prefix,
                                               const std::vector<std::string>& custom_script_files);

// StackGres's status.benchmark.pgbench from pgbench's report (stdout, with -r) and the latencies of
// every transaction in microseconds (from the -l logs): tps with and without connection time,
// latency average, standard deviation and percentiles, per-statement latencies.
model::Json pgbench_results(const std::string& report, const std::vector<double>& latencies_us, int scale);

// The latencies (microseconds, third column) of a pgbench -l log.
void read_pgbench_log(const std::string& text, std::vector<double>& latencies_us);

}  // namespace pgstack::controller::operations
