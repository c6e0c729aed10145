// pgstack backup CLUSTER [--type full|diff|incr] [--wait] [-n NS]: creates an SGBackup named
// <cluster>-<YYYYMMDDHHMMSS> (UTC), which the agent on the primary's host takes with pgBackRest.
// pgstack backup verify BACKUP [--wait] [-n NS]: asks for a restore test of a completed backup.
// --wait follows the SGBackup's status until it is done; the exit code says how it ended.
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
using model::Json;

constexpr auto kPollInterval = std::chrono::seconds(2);

struct Options {
  std::string cluster;
  std::string type;
  std::string backup;
  std::string namespace_name{kDefaultNamespace};
  bool wait = false;
  int timeout_seconds = 3600;
};

void add_wait_options(CLI::App& command, Options& options) {
  command.add_option("-n,--namespace", options.namespace_name, "Namespace")->capture_default_str()->type_name("NS");
  command.add_flag("--wait", options.wait, "Wait until it has finished; the exit code says how it ended");
  command.add_option("--timeout", options.timeout_seconds, "How long --wait waits (e.g. 600s, 30m, 2h)")
      ->transform(CLI::AsNumberWithUnit(std::map<std::string, int>{{"s", 1}, {"m", 60}, {"h", 3600}}))
      ->default_str("1h")
      ->type_name("DURATION");
}

const Json& field(const Json& object, const char* key) {
  static const Json none = nullptr;
  if (!object.is_object()) return none;
  const auto found = object.find(key);
  return found == object.end() ? none : *found;
}

std::string text(const Json& value) { return value.is_string() ? value.get<std::string>() : std::string(); }

// Polls the SGBackup until `done` says so; prints each new `progress` line on stderr. The last
// document seen, or the error that ended the wait (a timeout is kUnavailable).
template <typename Done, typename Progress>
Result<Json> wait_for_backup(const ApiClient& client, const Options& options, const std::string& name, Done done,
                             Progress progress) {
  const auto deadline = Clock::now() + std::chrono::seconds(options.timeout_seconds);
  std::string last_line;
  while (true) {
    auto current = client.get(*model::find_kind("SGBackup"), options.namespace_name, name);
    RETURN_IF_ERROR(current);
    const std::string line = progress(*current);
    if (line != last_line) std::cerr << "  " << line << "\n";
    last_line = line;
    if (done(*current)) return current;
    if (Clock::now() > deadline)
      return make_error(ErrorCode::kUnavailable,
                        fmt::format("not finished after {} s: {} (pgstack describe sgbackup {})",
                                    options.timeout_seconds, line, name));
    std::this_thread::sleep_for(kPollInterval);
  }
}

int take_backup(const ApiClient& client, const Options& options) {
  const std::string base_name = backup_name_at(options.cluster, std::chrono::system_clock::now());
  Json spec = {{"sgCluster", options.cluster}};
  if (!options.type.empty()) spec["type"] = options.type;
  Json document = {{"apiVersion", "stackgres.io/v1"},
                   {"kind", "SGBackup"},
                   {"metadata", {{"name", base_name}, {"namespace", options.namespace_name}}},
                   {"spec", spec}};
  // Names are per second, like the controller's scheduled ones: a backup asked for in the same second
  // as another (the first one after creation, say) takes the next free suffix.
  std::string name = base_name;
  for (int attempt = 2;; ++attempt) {
    auto created = client.create(*model::find_kind("SGBackup"), options.namespace_name, document);
    if (created) break;
    if (created.error().code != ErrorCode::kAlreadyExists || attempt > 9)
      return report_error("backup", created.error());
    name = fmt::format("{}-{}", base_name, attempt);
    document["metadata"]["name"] = name;
  }
  std::cout << name << "\n" << std::flush;
  if (!options.wait) return 0;

  auto finished = wait_for_backup(
      client, options, name,
      [](const Json& backup) {
        const std::string phase = backup_phase(backup);
        return phase == "Completed" || phase == "Failed";
      },
      [](const Json& backup) {
        const std::string message = text(field(field(backup, "status"), "message"));
        return backup_phase(backup) + (message.empty() ? "" : ": " + message);
      });
  if (!finished) return report_error("backup", finished.error());
  if (backup_phase(*finished) == "Failed") {
    const std::string message = text(field(field(*finished, "status"), "message"));
    return report_error("backup", make_error(ErrorCode::kFailedPrecondition,
                                             fmt::format("backup {} failed: {}", name,
                                                         message.empty() ? "the agent gave no reason" : message)));
  }
  std::cout << fmt::format("{} completed: {}\n", name, backup_result(*finished));
  return 0;
}

int verify_backup(const ApiClient& client, const Options& options) {
  auto requested = client.verify_backup(options.namespace_name, options.backup);
  if (!requested) return report_error("backup verify", requested.error());
  const std::string requested_at = text(field(field(*requested, "verification"), "requestedAt"));
  std::cerr << fmt::format("verification of {} requested\n", options.backup);
  if (!options.wait) return 0;

  const auto requested_time = parse_timestamp(requested_at);
  // Finished, and for this request: the agent keeps requestedAt or finishes after it.
  const auto done = [&](const Json& backup) {
    const Json& verification = field(field(backup, "status"), "verification");
    const std::string phase = text(field(verification, "phase"));
    if (phase != "Passed" && phase != "Failed") return false;
    if (text(field(verification, "requestedAt")) == requested_at || !requested_time) return true;
    const auto finished_time = parse_timestamp(text(field(verification, "finishedAt")));
    return finished_time && *finished_time >= *requested_time;
  };
  auto finished = wait_for_backup(client, options, options.backup, done, [](const Json& backup) {
    const Json& verification = field(field(backup, "status"), "verification");
    const std::string phase = text(field(verification, "phase"));
    const std::string message = text(field(verification, "message"));
    return fmt::format("verification {}{}", phase.empty() ? "Pending" : phase, message.empty() ? "" : ": " + message);
  });
  if (!finished) return report_error("backup verify", finished.error());
  const Json& verification = field(field(*finished, "status"), "verification");
  const std::string message = text(field(verification, "message"));
  if (text(field(verification, "phase")) == "Failed") {
    return report_error("backup verify",
                        make_error(ErrorCode::kFailedPrecondition,
                                   fmt::format("verification of {} failed: {}", options.backup,
                                               message.empty() ? "the agent gave no reason" : message)));
  }
  const Json& usable = field(verification, "timeToUsableSeconds");
  std::cout << fmt::format(
      "{} verified: restored and usable in {}, verification took {}{}\n", options.backup,
      usable.is_number() ? format_age(std::chrono::seconds(usable.get<std::int64_t>())) : "?",
      field(verification, "durationSeconds").is_number()
          ? format_age(std::chrono::seconds(field(verification, "durationSeconds").get<std::int64_t>()))
          : "?",
      message.empty() ? "" : " (" + message + ")");
  return 0;
}

}  // namespace

void add_backup_command(CLI::App& app, ExitStatus& status) {
  auto options = std::make_shared<Options>();
  CLI::App* command = app.add_subcommand("backup", "Back up a cluster now (pgBackRest), or verify a backup");
  command->add_option("cluster", options->cluster, "SGCluster name");
  command->add_option("--type", options->type, "full, diff or incr (default: incr after a full, else full)")
      ->check(CLI::IsMember({"full", "diff", "incr"}));
  add_wait_options(*command, *options);

  CLI::App* verify = command->add_subcommand(
      "verify", "Restore a completed backup into a scratch instance and check it (status.verification)");
  verify->add_option("backup", options->backup, "SGBackup name")->required();
  add_wait_options(*verify, *options);
  verify->callback([options, verify, &status] { status.code = verify_backup(api_client_for(*verify), *options); });

  command->callback([options, command, verify, &status] {
    if (verify->parsed()) return;  // `backup verify` ran its own callback
    if (options->cluster.empty()) {
      status.code = report_error("backup", make_error(ErrorCode::kInvalidInput,
                                                      "name the SGCluster to back up (pgstack backup CLUSTER), or "
                                                      "verify a backup (pgstack backup verify BACKUP)"));
      return;
    }
    status.code = take_backup(api_client_for(*command), *options);
  });
}

}  // namespace pgstack::cli
