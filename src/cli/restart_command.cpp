// pgstack restart CLUSTER [-n NS] [--timeout 10m]: asks for a rolling restart (replicas, switchover,
// old primary) and follows it in the cluster's status (status.restart, then the members) until every
// member runs again.
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

namespace pgstack::cli {

namespace {

using Clock = std::chrono::steady_clock;

constexpr auto kPollInterval = std::chrono::seconds(1);
// A restart that shows nothing in the status this long was not picked up by anyone.
constexpr auto kStartGrace = std::chrono::seconds(60);

// status.restart as the controller records it: {"phase": Running|Completed|Failed, "message", "time"}.
struct RestartProgress {
  std::string phase;
  std::string message;
  std::string time;
};

RestartProgress restart_progress(const model::Json& status) {
  const auto restart = status.find("restart");
  if (restart == status.end() || !restart->is_object()) return {};
  return {restart->value("phase", ""), restart->value("message", ""), restart->value("time", "")};
}

// Every member runs again (streaming replicas included) and the cluster says Ready.
bool members_settled(const model::Json& status) {
  if (!condition_is_true(status, "Ready")) return false;
  if (const auto members = status.find("members"); members != status.end() && members->is_array()) {
    for (const auto& member : *members) {
      const std::string state = member.value("state", "");
      if (state != "running" && state != "streaming") return false;
    }
  }
  return true;
}

std::string primary_of(const model::Json& status) {
  const auto primary = status.find("primary");
  return primary != status.end() && primary->is_string() ? primary->get<std::string>() : std::string();
}

}  // namespace

void add_restart_command(CLI::App& app, ExitStatus& status) {
  struct Options {
    std::string cluster;
    std::string namespace_name{kDefaultNamespace};
    int timeout_seconds = 600;
  };
  auto options = std::make_shared<Options>();
  CLI::App* command =
      app.add_subcommand("restart", "Rolling restart: replicas first, then a switchover, then the old primary");
  command->add_option("cluster", options->cluster, "SGCluster name")->required();
  command->add_option("-n,--namespace", options->namespace_name, "Namespace")->capture_default_str()->type_name("NS");
  command
      ->add_option("--timeout", options->timeout_seconds, "How long to wait for the restart to finish (e.g. 600s, 10m)")
      ->transform(CLI::AsNumberWithUnit(std::map<std::string, int>{{"s", 1}, {"m", 60}, {"h", 3600}}))
      ->default_str("10m")
      ->type_name("DURATION");
  command->callback([options, command, &status] {
    const ApiClient client = api_client_for(*command);
    auto before = client.cluster_status(options->namespace_name, options->cluster);
    if (!before) {
      status.code = report_error("restart", before.error());
      return;
    }
    if (auto requested = client.restart(options->namespace_name, options->cluster); !requested) {
      status.code = report_error("restart", requested.error());
      return;
    }
    std::cerr << fmt::format("restart of {} requested; waiting for every member to run again\n", options->cluster);
    // The restart is ours once status.restart differs from what it was before the request.
    const RestartProgress previous = restart_progress(*before);
    const auto started = Clock::now();
    const auto deadline = started + std::chrono::seconds(options->timeout_seconds);
    bool seen = false;
    std::string last_line;
    model::Json observed = *before;
    while (true) {
      std::this_thread::sleep_for(kPollInterval);
      auto current = client.cluster_status(options->namespace_name, options->cluster);
      if (!current) {
        status.code = report_error("restart", current.error());
        return;
      }
      observed = std::move(current).value();
      const RestartProgress progress = restart_progress(observed);
      seen =
          seen || (!progress.phase.empty() && (progress.time != previous.time || progress.message != previous.message ||
                                               progress.phase != previous.phase));
      const std::string line = fmt::format("{}{}", seen && !progress.message.empty() ? progress.message + ": " : "",
                                           member_summary(observed));
      if (line != last_line) std::cerr << "  " << line << "\n";
      last_line = line;
      if (seen && progress.phase == "Failed") {
        status.code =
            report_error("restart", make_error(ErrorCode::kFailedPrecondition,
                                               fmt::format("the rolling restart failed: {}", progress.message)));
        return;
      }
      if (seen && progress.phase == "Completed" && members_settled(observed)) break;
      if (!seen && Clock::now() - started > kStartGrace) {
        status.code = report_error(
            "restart", make_error(ErrorCode::kUnavailable,
                                  fmt::format("the restart was accepted but the status shows no progress after {} s "
                                              "(pgstack describe sgcluster {})",
                                              kStartGrace.count(), options->cluster)));
        return;
      }
      if (Clock::now() > deadline) {
        status.code = report_error(
            "restart", make_error(ErrorCode::kUnavailable,
                                  fmt::format("not finished after {} s: {}", options->timeout_seconds, line)));
        return;
      }
    }
    std::cout << fmt::format("restarted {}: {} members ready, primary {}\n", options->cluster,
                             ready_members(model::Json{{"status", observed}}), primary_of(observed));
    status.code = 0;
  });
}

}  // namespace pgstack::cli
