#include "controller/operations/maintenance_commands.h"

#include <algorithm>
#include <cmath>
#include <regex>
#include <sstream>

#include <fmt/format.h>

#include "common/strings.h"

namespace pgstack::controller::operations {
namespace {

using model::Json;

std::optional<double> number_after(const std::string& report, const std::string& pattern) {
  std::smatch match;
  if (!std::regex_search(report, match, std::regex(pattern))) return std::nullopt;
  return std::stod(match[1].str());
}

Json measured(std::optional<double> value, const char* unit) {
  return {{"value", value ? Json(*value) : Json(nullptr)}, {"unit", unit}};
}

double percentile(const std::vector<double>& sorted, double fraction) {
  if (sorted.empty()) return 0;
  const auto rank = static_cast<std::size_t>(std::ceil(fraction * static_cast<double>(sorted.size())));
  return sorted[std::min(sorted.size() - 1, rank == 0 ? 0 : rank - 1)];
}

}  // namespace

std::string vacuum_statement(const model::VacuumTarget& target) {
  std::vector<std::string> options;
  if (target.full) options.emplace_back("FULL");
  if (target.freeze) options.emplace_back("FREEZE");
  if (target.analyze) options.emplace_back("ANALYZE");
  if (target.disable_page_skipping) options.emplace_back("DISABLE_PAGE_SKIPPING");
  if (options.empty()) return "VACUUM";
  std::string joined;
  for (const auto& option : options) joined += (joined.empty() ? "" : ", ") + option;
  return "VACUUM (" + joined + ")";
}

std::vector<std::string> repack_arguments(const model::RepackTarget& target, const std::string& database) {
  std::vector<std::string> arguments = {"--dbname=" + database, "--no-superuser-check", "--echo"};
  if (target.no_order) arguments.emplace_back("--no-order");
  if (target.wait_timeout)
    arguments.push_back(
        fmt::format("--wait-timeout={}",
                    std::max<std::int64_t>(1, std::chrono::ceil<std::chrono::seconds>(*target.wait_timeout).count())));
  if (target.no_kill_backend) arguments.emplace_back("--no-kill-backend");
  if (target.no_analyze) arguments.emplace_back("--no-analyze");
  // pg_repack cannot repack an extension's own tables when they change under it; StackGres's flag.
  if (target.exclude_extension) arguments.emplace_back("--exclude-extension=pg_repack");
  return arguments;
}

int pgbench_scale(std::int64_t bytes) {
  constexpr std::int64_t kBytesPerScale = 16LL << 20;
  return static_cast<int>(std::max<std::int64_t>(1, (bytes + kBytesPerScale / 2) / kBytesPerScale));
}

std::vector<std::string> pgbench_init_arguments(const model::Benchmark& benchmark, int scale) {
  std::vector<std::string> arguments = {"--initialize", fmt::format("--scale={}", scale), "--quiet"};
  if (!benchmark.init_steps.empty()) arguments.push_back("--init-steps=" + benchmark.init_steps);
  if (benchmark.no_vacuum) arguments.emplace_back("--no-vacuum");
  if (benchmark.foreign_keys) arguments.emplace_back("--foreign-keys");
  if (benchmark.unlogged_tables) arguments.emplace_back("--unlogged-tables");
  if (benchmark.fillfactor > 0) arguments.push_back(fmt::format("--fillfactor={}", benchmark.fillfactor));
  if (benchmark.partitions > 0) arguments.push_back(fmt::format("--partitions={}", benchmark.partitions));
  if (!benchmark.partition_method.empty() && benchmark.partitions > 0)
    arguments.push_back("--partition-method=" + benchmark.partition_method);
  return arguments;
}

std::vector<std::string> pgbench_run_arguments(const model::Benchmark& benchmark, const std::string& database,
                                               const std::string& log_prefix,
                                               const std::vector<std::string>& custom_script_files) {
  std::vector<std::string> arguments = {
      fmt::format("--client={}", benchmark.clients),
      fmt::format("--jobs={}", benchmark.threads),
      fmt::format("--time={}", std::max<std::int64_t>(
                                   1, std::chrono::duration_cast<std::chrono::seconds>(benchmark.duration).count())),
      "--protocol=" + benchmark.query_mode,
      "--report-per-command",
      "--log",
      "--log-prefix=" + log_prefix,
      "--no-vacuum",
  };
  if (benchmark.sampling_rate) arguments.push_back(fmt::format("--sampling-rate={}", *benchmark.sampling_rate));
  if (benchmark.mode == "select-only") {
    arguments.emplace_back("--builtin=select-only");
  } else if (benchmark.mode == "custom") {
    std::size_t file = 0;
    for (const auto& script : benchmark.custom_scripts) {
      if (!script.builtin.empty()) {
        arguments.push_back(fmt::format("--builtin={}@{}", script.builtin, script.weight));
      } else if (file < custom_script_files.size()) {
        arguments.push_back(fmt::format("--file={}@{}", custom_script_files[file++], script.weight));
      }
    }
  } else {
    arguments.emplace_back("--builtin=tpcb-like");
  }
  arguments.push_back(database);
  return arguments;
}

void read_pgbench_log(const std::string& text, std::vector<double>& latencies_us) {
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream fields(line);
    std::string client, transaction, latency;
    if (!(fields >> client >> transaction >> latency)) continue;
    if (latency == "failed" || latency == "skipped") continue;
    char* end = nullptr;
    const double value = std::strtod(latency.c_str(), &end);
    if (end != latency.c_str()) latencies_us.push_back(value);
  }
}

Json pgbench_results(const std::string& report, const std::vector<double>& latencies_us, int scale) {
  Json results = Json::object();
  results["scaleFactor"] = scale;
  const auto processed = number_after(report, R"(number of transactions actually processed:\s*(\d+))");
  results["transactionsProcessed"] = processed ? Json(static_cast<std::int64_t>(*processed)) : Json(nullptr);
  const auto failed = number_after(report, R"(number of failed transactions:\s*(\d+))");
  results["transactionsFailed"] = failed ? Json(static_cast<std::int64_t>(*failed)) : Json(nullptr);

  std::optional<double> average = number_after(report, R"(latency average = ([0-9.]+) ms)");
  std::optional<double> deviation = number_after(report, R"(latency stddev = ([0-9.]+) ms)");
  Json latency = Json::object();
  if (!latencies_us.empty()) {
    std::vector<double> sorted = latencies_us;
    std::sort(sorted.begin(), sorted.end());
    double sum = 0, squares = 0;
    for (double value : sorted) sum += value;
    const double mean = sum / static_cast<double>(sorted.size());
    for (double value : sorted) squares += (value - mean) * (value - mean);
    if (!average) average = mean / 1000;
    if (!deviation) deviation = std::sqrt(squares / static_cast<double>(sorted.size())) / 1000;
    for (const auto& [name, fraction] : {std::pair{"p50", 0.50}, std::pair{"p95", 0.95}, std::pair{"p99", 0.99}})
      latency[name] = measured(percentile(sorted, fraction) / 1000, "ms");
    latency["max"] = measured(sorted.back() / 1000, "ms");
  }
  latency["average"] = measured(average, "ms");
  latency["standardDeviation"] = measured(deviation, "ms");
  results["latency"] = latency;

  // pgbench 14+ prints tps without the initial connection time and that time apart; with it is the
  // same transactions over the run plus the time to connect.
  const auto excluding = number_after(
      report, R"(tps = ([0-9.]+) \((?:without initial connection time|excluding connections establishing)\))");
  auto including = number_after(report, R"(tps = ([0-9.]+) \(including connections establishing\))");
  const auto connection_ms = number_after(report, R"(initial connection time = ([0-9.]+) ms)");
  const auto duration_s = number_after(report, R"(duration: (\d+) s)");
  if (!including && processed && duration_s && connection_ms && *duration_s > 0)
    including = *processed / (*duration_s + *connection_ms / 1000);
  results["transactionsPerSecond"] = {{"includingConnectionsEstablishing", measured(including, "tps")},
                                      {"excludingConnectionsEstablishing", measured(excluding, "tps")}};

  // "statement latencies in milliseconds and failures:" then "<latency> <failures> <command>" lines,
  // per script when there are several ("SQL script 1: <builtin: ...>").
  Json statements = Json::array();
  std::istringstream lines(report);
  std::string line;
  bool in_statements = false;
  int script = 0;
  const std::regex statement_line(R"(^\s+([0-9.]+)\s+(?:(\d+)\s+)?(.+)$)");
  while (std::getline(lines, line)) {
    if (line.find("statement latencies in milliseconds") != std::string::npos) {
      in_statements = true;
      if (script == 0) script = 1;
      continue;
    }
    if (line.rfind("SQL script ", 0) == 0) {
      const auto parsed = number_after(line, R"(SQL script (\d+))");
      script = parsed ? static_cast<int>(*parsed) : script + 1;
      continue;
    }
    std::smatch match;
    if (in_statements && std::regex_match(line, match, statement_line)) {
      statements.push_back({{"script", script},
                            {"command", trim(match[3].str())},
                            {"latency", std::stod(match[1].str())},
                            {"unit", "ms"}});
    } else if (in_statements && !line.empty() && line[0] != ' ') {
      in_statements = false;
    }
  }
  results["statements"] = statements;
  return results;
}

}  // namespace pgstack::controller::operations
