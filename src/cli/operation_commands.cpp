// Shortcuts that create day-2 operations (SGDbOps) and, with --wait, follow them to the end:
//   pgstack restart CLUSTER [--method InPlace|ReducedImpact] [--only-pending-restart]
//   pgstack vacuum CLUSTER [--full] [--freeze] [--no-analyze] [--disable-page-skipping] [--database D]...
//   pgstack repack CLUSTER [--no-order] [--wait-timeout 60s] [--no-kill-backend] [--database D]...
//   pgstack benchmark CLUSTER [--duration 60s] [--clients 16] [--jobs 2] [--size 64Mi] [--mode M] [--replicas]
// Each prints the operation's name; the exit code with --wait says how it ended: 0 Completed, 6 Failed,
// 7 when it did not end within --timeout (it keeps running: pgstack describe sgdbops NAME).
#include <chrono>
#include <iostream>
#include <map>
#include <memory>
#include <thread>

#include <fmt/format.h>

#include "cli/api_client.h"
#include "cli/api_context.h"
#include "cli/commands.h"
#include "cli/output.h"
#include "common/strings.h"
#include "model/kinds.h"
#include "model/resources.h"

namespace pgstack::cli {
namespace {

using model::Json;
using Clock = std::chrono::steady_clock;

struct CommonOptions {
  std::string cluster;
  std::string namespace_name{kDefaultNamespace};
  std::string name;     // of the SGDbOps; default <cluster>-<op>-<UTC time>
  std::string timeout;  // spec.timeout (ISO 8601 or 90s/10m/1h)
  int max_retries = 0;
  bool wait = false;
  int wait_seconds = 3600;
};

// "90s", "10m", "1h" -> "PT90S"...; ISO 8601 passes through.
std::string iso_duration(const std::string& text) {
  if (text.empty() || text[0] == 'P') return text;
  const char unit = text.back();
  const std::string number = text.substr(0, text.size() - 1);
  if (unit == 's' || unit == 'S') return "PT" + number + "S";
  if (unit == 'm' || unit == 'M') return "PT" + number + "M";
  if (unit == 'h' || unit == 'H') return "PT" + number + "H";
  return "PT" + text + "S";
}

void add_common_options(CLI::App& command, CommonOptions& options) {
  command.add_option("cluster", options.cluster, "SGCluster name")->required();
  command.add_option("-n,--namespace", options.namespace_name, "Namespace")->capture_default_str()->type_name("NS");
  command.add_option("--name", options.name, "Name of the SGDbOps (default: <cluster>-<op>-<UTC time>)");
  command.add_option("--op-timeout", options.timeout, "Fail the operation if it runs longer (spec.timeout: 30m, PT1H)")
      ->type_name("DURATION");
  command.add_option("--max-retries", options.max_retries, "Retries after a failure (spec.maxRetries)")
      ->check(CLI::Range(0, 10));
  command.add_flag("--wait", options.wait, "Follow the operation until it completes or fails");
  command.add_option("--timeout", options.wait_seconds, "With --wait: how long to wait (e.g. 600s, 10m)")
      ->transform(CLI::AsNumberWithUnit(std::map<std::string, int>{{"s", 1}, {"m", 60}, {"h", 3600}}))
      ->default_str("1h")
      ->type_name("DURATION");
}

// Creates the SGDbOps and, with --wait, polls it until Completed (0) or Failed (6).
int create_operation(CLI::App& command, const CommonOptions& options, const std::string& op, const Json& details) {
  const ApiClient client = api_client_for(command);
  std::string name = options.name;
  if (name.empty()) {
    const std::string stamp = model::backup_name_at("", std::chrono::system_clock::now()).substr(1);
    name = fmt::format("{}-{}-{}", options.cluster, to_lower(op), stamp);
  }
  Json spec = {{"sgCluster", options.cluster}, {"op", op}};
  if (!details.empty()) spec[op] = details;
  if (!options.timeout.empty()) spec["timeout"] = iso_duration(options.timeout);
  if (options.max_retries > 0) spec["maxRetries"] = options.max_retries;
  const Json document = {{"apiVersion", "stackgres.io/v1"},
                         {"kind", "SGDbOps"},
                         {"metadata", {{"name", name}, {"namespace", options.namespace_name}}},
                         {"spec", spec}};
  const model::KindInfo& kind = *model::find_kind("SGDbOps");
  if (auto created = client.create(kind, options.namespace_name, document); !created)
    return report_error(op, created.error());
  std::cout << fmt::format("sgdbops/{} created\n", name);
  if (!options.wait) return 0;

  const auto deadline = Clock::now() + std::chrono::seconds(options.wait_seconds);
  std::string last_line;
  while (true) {
    auto current = client.get(kind, options.namespace_name, name);
    if (!current) return report_error(op, current.error());
    const std::string state = operation_state(*current);
    const std::string line = fmt::format("{}: {}", state, operation_message(*current));
    if (line != last_line) std::cerr << "  " << line << "\n";
    last_line = line;
    if (state == "Completed") {
      std::cout << describe_operation(*current, std::chrono::system_clock::now());
      return 0;
    }
    if (state == "Failed") {
      std::cout << describe_operation(*current, std::chrono::system_clock::now());
      return report_error(op, make_error(ErrorCode::kFailedPrecondition,
                                         fmt::format("sgdbops/{} failed: {}", name, operation_message(*current))));
    }
    if (Clock::now() > deadline)
      return report_error(op, make_error(ErrorCode::kUnavailable,
                                         fmt::format("sgdbops/{} has not ended after {} s ({}); it goes on: pgstack "
                                                     "describe sgdbops {}",
                                                     name, options.wait_seconds, line, name)));
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
}

}  // namespace

void add_operation_commands(CLI::App& app, ExitStatus& status) {
  {
    struct Options : CommonOptions {
      std::string method = "InPlace";
      bool only_pending = false;
    };
    auto options = std::make_shared<Options>();
    CLI::App* command = app.add_subcommand(
        "restart", "Rolling restart (SGDbOps op restart): replicas first, then a switchover, then the old primary");
    add_common_options(*command, *options);
    command->add_option("--method", options->method, "InPlace or ReducedImpact")
        ->check(CLI::IsMember({"InPlace", "ReducedImpact"}))
        ->capture_default_str();
    command->add_flag("--only-pending-restart", options->only_pending,
                      "Restart only members whose new settings need a restart");
    command->callback([options, command, &status] {
      status.code = create_operation(*command, *options, "restart",
                                     {{"method", options->method}, {"onlyPendingRestart", options->only_pending}});
    });
  }
  {
    struct Options : CommonOptions {
      bool full = false, freeze = false, no_analyze = false, disable_page_skipping = false;
      std::vector<std::string> databases;
    };
    auto options = std::make_shared<Options>();
    CLI::App* command =
        app.add_subcommand("vacuum", "VACUUM on the primary (SGDbOps op vacuum), every database or some");
    add_common_options(*command, *options);
    command->add_flag("--full", options->full, "VACUUM FULL: rewrites tables to return space (locks them)");
    command->add_flag("--freeze", options->freeze, "Freeze tuples aggressively");
    command->add_flag("--no-analyze", options->no_analyze, "Do not update planner statistics");
    command->add_flag("--disable-page-skipping", options->disable_page_skipping, "Visit every page");
    command->add_option("--database", options->databases, "Only this database (repeatable)")->type_name("DB");
    command->callback([options, command, &status] {
      Json details = {{"full", options->full},
                      {"freeze", options->freeze},
                      {"analyze", !options->no_analyze},
                      {"disablePageSkipping", options->disable_page_skipping}};
      if (!options->databases.empty()) {
        details["databases"] = Json::array();
        for (const auto& database : options->databases) details["databases"].push_back({{"name", database}});
      }
      status.code = create_operation(*command, *options, "vacuum", details);
    });
  }
  {
    struct Options : CommonOptions {
      bool no_order = false, no_kill_backend = false, no_analyze = false;
      std::string wait_timeout;
      std::vector<std::string> databases;
    };
    auto options = std::make_shared<Options>();
    CLI::App* command =
        app.add_subcommand("repack", "pg_repack on the primary (SGDbOps op repack): returns bloat without long locks");
    add_common_options(*command, *options);
    command->add_flag("--no-order", options->no_order, "Do a VACUUM FULL-like rewrite instead of CLUSTER order");
    command->add_option("--wait-timeout", options->wait_timeout, "Cancel conflicting backends after this long (60s)")
        ->type_name("DURATION");
    command->add_flag("--no-kill-backend", options->no_kill_backend, "Do not kill conflicting backends");
    command->add_flag("--no-analyze", options->no_analyze, "Do not analyze at the end");
    command->add_option("--database", options->databases, "Only this database (repeatable)")->type_name("DB");
    command->callback([options, command, &status] {
      Json details = {{"noOrder", options->no_order},
                      {"noKillBackend", options->no_kill_backend},
                      {"noAnalyze", options->no_analyze}};
      if (!options->wait_timeout.empty()) details["waitTimeout"] = iso_duration(options->wait_timeout);
      if (!options->databases.empty()) {
        details["databases"] = Json::array();
        for (const auto& database : options->databases) details["databases"].push_back({{"name", database}});
      }
      status.code = create_operation(*command, *options, "repack", details);
    });
  }
  {
    struct Options : CommonOptions {
      std::string duration = "60s";
      int clients = 16;
      int jobs = 2;
      std::string size = "64Mi";
      std::string mode = "tpcb-like";
      bool replicas = false;
    };
    auto options = std::make_shared<Options>();
    CLI::App* command = app.add_subcommand(
        "benchmark", "pgbench through the cluster's endpoint (SGDbOps op benchmark); results in its status");
    add_common_options(*command, *options);
    command->add_option("--duration", options->duration, "How long pgbench runs (60s, 5m)")->capture_default_str();
    command->add_option("--clients", options->clients, "Concurrent sessions")
        ->capture_default_str()
        ->check(CLI::Range(1, 1000));
    command->add_option("--jobs", options->jobs, "pgbench threads")->capture_default_str()->check(CLI::Range(1, 256));
    command->add_option("--size", options->size, "Database size to generate (Mi, Gi)")->capture_default_str();
    command->add_option("--mode", options->mode, "tpcb-like or select-only")
        ->check(CLI::IsMember({"tpcb-like", "select-only"}))
        ->capture_default_str();
    command->add_flag("--replicas", options->replicas, "Through the read-only endpoint (select-only)");
    command->callback([options, command, &status] {
      const Json pgbench = {{"databaseSize", options->size},
                            {"duration", iso_duration(options->duration)},
                            {"concurrentClients", options->clients},
                            {"threads", options->jobs},
                            {"mode", options->replicas ? "select-only" : options->mode}};
      const Json details = {{"type", "pgbench"},
                            {"connectionType", options->replicas ? "replicas-service" : "primary-service"},
                            {"pgbench", pgbench}};
      status.code = create_operation(*command, *options, "benchmark", details);
    });
  }
}

}  // namespace pgstack::cli
