#include "agent/backup_runner.h"

#include <thread>
#include <unistd.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "agent/archive_continuity.h"
#include "common/files.h"
#include "common/network.h"
#include "common/process.h"
#include "common/shell_quote.h"
#include "common/strings.h"
#include "common/time.h"
#include "store/keys.h"

namespace pgstack::agent {

namespace fs = std::filesystem;
using model::Json;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::chrono::seconds kStanzaRetry{15};
// How long pending backups wait while stanza-create cannot connect to the primary (a start, a restart).
constexpr std::chrono::seconds kStanzaConnectWait{120};
// How long a new backup waits for a starting replica before it reads from the primary instead.
constexpr std::chrono::seconds kStandbyWait{120};

std::string now_utc() { return utc_timestamp(std::chrono::system_clock::now()); }

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

bool waited_long_enough_for_a_standby(const model::Document& backup) {
  const auto created =
      parse_utc_timestamp(backup.body.value("/metadata/creationTimestamp"_json_pointer, std::string()));
  return !created || std::chrono::system_clock::now() - *created >= kStandbyWait;
}

// pgBackRest prints its errors as "ERROR: [code]: text"; the last lines say what went wrong.
std::string failure_text(const CommandOutput& output) {
  std::string text = trim(output.standard_error);
  if (text.empty()) text = trim(output.standard_output);
  auto lines = split(text, '\n');
  std::vector<std::string> kept;
  for (const auto& line : lines) {
    if (!trim(line).empty()) kept.push_back(trim(line));
  }
  const std::size_t first = kept.size() > 4 ? kept.size() - 4 : 0;
  std::string out;
  for (std::size_t i = first; i < kept.size(); ++i) out += (out.empty() ? "" : " | ") + kept[i];
  return out.empty() ? fmt::format("exit code {}", output.exit_code) : out;
}

// A backup that failed for want of space says so first: pgBackRest's message names only one file, or
// only the WAL segment that could not be archived (into the same full disk) in time.
std::string explain_full_repository(const std::string& message, const std::optional<Json>& disk) {
  const bool no_space = message.find("No space left on device") != std::string::npos;
  // A WAL segment that was not archived in time while less than a segment is free: archive-push
  // failed for want of space, though its removed temporary file may have freed some since.
  constexpr std::uint64_t kWalSegmentBytes = 16 * 1024 * 1024;
  const bool wal_stuck_on_space = message.find("was not archived before") != std::string::npos && disk &&
                                  disk->is_object() && disk->contains("freeBytes") &&
                                  disk->value("freeBytes", kWalSegmentBytes) < kWalSegmentBytes;
  if (!no_space && !wal_stuck_on_space && !(disk && config::repository_nearly_full(*disk))) return message;
  if (!disk) return "the backup repository is full: " + message;
  return config::repository_full_message(*disk) + ": " + message;
}

std::string run_failure(const Result<CommandOutput>& result, std::string_view what) {
  if (!result) return fmt::format("{}: {}", what, result.error().message);
  return fmt::format("{} failed: {}", what, failure_text(*result));
}

bool succeeded(const Result<CommandOutput>& result) { return result && result->exit_code == 0; }

// The backups of a stanza as `pgbackrest info --output=json` lists them, oldest first.
Result<Json> repository_backups(const std::string& config_path, const std::string& stanza,
                                const CommandOptions& options, const std::vector<std::string>& overrides = {}) {
  std::vector<std::string> arguments = overrides;
  arguments.insert(arguments.end(), {"--output=json", "info"});
  auto info = run_command(config::pgbackrest_argv(config_path, stanza, arguments), options);
  if (!succeeded(info)) return make_error(ErrorCode::kUnavailable, run_failure(info, "pgbackrest info"));
  const Json parsed = Json::parse(info->standard_output, nullptr, false);
  if (!parsed.is_array() || parsed.empty() || !parsed[0].is_object())
    return make_error(ErrorCode::kUnavailable, "pgbackrest info answered something that is not its JSON");
  return parsed[0].value("backup", Json::array());
}

std::string timestamp_of(const Json& epoch) {
  if (!epoch.is_number_integer()) return {};
  return utc_timestamp(std::chrono::system_clock::time_point(std::chrono::seconds(epoch.get<std::int64_t>())));
}

// The parts of pgBackRest's description of one backup set that SGBackup's status shows.
Json status_from_info(const Json& backup) {
  const Json info = backup.value("info", Json::object());
  const Json lsn = backup.value("lsn", Json::object());
  const Json archive = backup.value("archive", Json::object());
  const Json timestamp = backup.value("timestamp", Json::object());
  Json out = {{"label", backup.value("label", "")},
              {"type", backup.value("type", "")},
              {"startedAt", timestamp_of(timestamp.value("start", Json()))},
              {"finishedAt", timestamp_of(timestamp.value("stop", Json()))},
              {"sizeBytes", info.value("size", Json())},
              {"storedBytes", info.value("/repository/delta"_json_pointer, Json())},
              {"lsn", {{"start", lsn.value("start", Json())}, {"stop", lsn.value("stop", Json())}}},
              {"wal", {{"start", archive.value("start", Json())}, {"stop", archive.value("stop", Json())}}}};
  const std::string first_wal = archive.value("start", "");
  if (first_wal.size() >= 8) out["timeline"] = std::stoll(first_wal.substr(0, 8), nullptr, 16);
  if (timestamp.value("start", Json()).is_number_integer() && timestamp.value("stop", Json()).is_number_integer())
    out["durationSeconds"] = timestamp["stop"].get<std::int64_t>() - timestamp["start"].get<std::int64_t>();
  return out;
}

std::string records_prefix(const std::string& etcd_prefix, const BackupTarget& target) {
  return store::keys::backup_records_prefix(etcd_prefix, target.namespace_name, target.cluster);
}

}  // namespace

VerificationResult verify_backup(const VerificationRequest& request) {
  VerificationResult result;
  const auto started = Clock::now();
  CommandOptions options;
  options.run_as_user = request.os_user;
  const fs::path data = request.scratch_dir / "data";
  std::error_code error;
  fs::remove_all(request.scratch_dir, error);
  fs::create_directories(data, error);
  if (error) {
    result.message = fmt::format("cannot create {}: {}", data.string(), error.message());
    return result;
  }
  if (request.os_user) {
    // The scratch instance runs as the OS user, like the real ones.
    if (auto owner = run_command({"chown", "-R", *request.os_user, request.scratch_dir.string()}); !succeeded(owner)) {
      result.message = run_failure(owner, "chown of the scratch directory");
      return result;
    }
  }
  fs::permissions(data, fs::perms::owner_all, error);

  const auto finish = [&](bool passed, std::string message) {
    const std::string pg_ctl = request.bin_dir + "/pg_ctl";
    if (fs::exists(data / "postmaster.pid"))
      (void)run_command({pg_ctl, "-D", data.string(), "-m", "immediate", "-w", "stop"}, options);
    fs::remove_all(request.scratch_dir, error);
    result.passed = passed;
    result.message = std::move(message);
    result.duration_seconds = seconds_since(started);
    return result;
  };

  // archive-get checks the restored data directory against its pg1-path: point it at the scratch one.
  std::vector<std::string> archive_get = request.repository_overrides;
  archive_get.insert(archive_get.end(), {"--pg1-path=" + data.string(), "archive-get"});
  const std::string restore_command =
      shell_command(config::pgbackrest_argv(request.config_path, request.stanza, archive_get)) + " %f \"%p\"";
  std::vector<std::string> arguments = request.repository_overrides;
  arguments.insert(arguments.end(),
                   {"--set=" + request.label, "--type=immediate", "--target-action=promote",
                    fmt::format("--process-max={}", std::max(1, request.process_max)),
                    "--recovery-option=restore_command=" + restore_command, "--pg1-path=" + data.string(), "restore"});
  auto restored = run_command(config::pgbackrest_argv(request.config_path, request.stanza, arguments), options);
  if (!succeeded(restored)) return finish(false, run_failure(restored, "pgbackrest restore"));

  auto port = free_tcp_port();
  if (!port) return finish(false, port.error().message);
  // The restored configuration is the live instance's: what would clash with it is overridden.
  const std::string settings = fmt::format(
      "-c port={} -c listen_addresses='' -c unix_socket_directories='{}' -c archive_mode=off -c ssl=off "
      "-c logging_collector=off -c shared_buffers=128MB -c hot_standby=on -c synchronous_standby_names='' "
      "-c primary_conninfo='' -c cluster_name=pgstack-verify",
      *port, request.scratch_dir.string());
  auto start =
      run_command({request.bin_dir + "/pg_ctl", "-D", data.string(), "-l",
                   (request.scratch_dir / "postgres.log").string(), "-o", settings, "-w", "-t", "900", "start"},
                  options);
  if (!succeeded(start)) {
    auto read = read_file(request.scratch_dir / "postgres.log");
    std::string log = read ? read.value() : std::string();
    // The lines that say why: FATAL/PANIC and the first hint, not the whole log.
    std::string why;
    for (const auto& line : split(log, '\n')) {
      if (line.find("FATAL") != std::string::npos || line.find("PANIC") != std::string::npos ||
          line.find("HINT") != std::string::npos)
        why += (why.empty() ? "" : " | ") + trim(line);
    }
    log = why.empty() ? (log.size() > 600 ? log.substr(log.size() - 600) : log) : why;
    return finish(false, run_failure(start, "starting the restored backup") + " | " + trim(log));
  }
  const auto psql = [&](const std::string& database, const std::string& sql) {
    return run_command(
        {request.bin_dir + "/psql", "-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1", "-h", request.scratch_dir.string(),
         "-p", std::to_string(*port), "-U", request.superuser, "-d", database, "-c", sql},
        options);
  };
  // Usable = out of recovery (the immediate target reached and promoted) and answering.
  const auto deadline = Clock::now() + std::chrono::minutes(15);
  while (true) {
    auto recovering = psql("postgres", "SELECT pg_is_in_recovery()");
    if (succeeded(recovering) && trim(recovering->standard_output) == "f") break;
    if (Clock::now() > deadline) return finish(false, "the restored backup did not finish recovery in 15 minutes");
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  result.time_to_usable_seconds = seconds_since(started);

  auto amcheck =
      run_command({request.bin_dir + "/pg_amcheck", "-h", request.scratch_dir.string(), "-p", std::to_string(*port),
                   "-U", request.superuser, "--all", "--install-missing", "--no-strict-names"},
                  options);
  if (!succeeded(amcheck)) return finish(false, run_failure(amcheck, "pg_amcheck"));
  auto databases = psql("postgres", "SELECT datname FROM pg_database WHERE datallowconn ORDER BY 1");
  if (!succeeded(databases)) return finish(false, run_failure(databases, "listing databases"));
  int checked = 0;
  for (const auto& name : split(trim(databases->standard_output), '\n')) {
    if (trim(name).empty()) continue;
    auto query = psql(trim(name), "SELECT count(*) FROM pg_class");
    if (!succeeded(query)) return finish(false, run_failure(query, fmt::format("a query on database {}", trim(name))));
    ++checked;
  }
  return finish(true,
                fmt::format("restored, recovered to consistency, pg_amcheck clean, {} databases answer", checked));
}

bool stanza_failure_is_transient(std::string_view failure) {
  return failure.find("[DbConnectError]") != std::string_view::npos ||
         failure.find("ERROR: [056]") != std::string_view::npos;
}

BackupRunner::BackupRunner(AgentSettings settings, store::ResourceStore store)
    : settings_(std::move(settings)), store_(std::move(store)) {}

BackupRunner::~BackupRunner() {
  if (job_.valid()) job_.wait();
}

CommandOptions BackupRunner::command_options() const {
  CommandOptions options;
  if (::geteuid() == 0) options.run_as_user = settings_.os_user;
  return options;
}

void BackupRunner::reconcile(const std::vector<BackupTarget>& targets) {
  if (job_.valid()) {
    if (job_.wait_for(std::chrono::seconds(0)) != std::future_status::ready) return;
    job_.get();
  }
  for (const auto& target : targets) {
    const std::string key = target.namespace_name + "/" + target.cluster;
    if (!target.problem.empty()) {
      fail_pending_backups(target, target.problem);
      continue;
    }
    if (stanzas_ready_.count(key) == 0) {
      std::string stanza_error;
      bool waiting_for_primary = false;
      {
        std::lock_guard lock(stanza_errors_mutex_);
        if (auto found = stanza_errors_.find(key); found != stanza_errors_.end()) stanza_error = found->second;
        const auto since = stanza_transient_since_.find(key);
        waiting_for_primary =
            since != stanza_transient_since_.end() && Clock::now() - since->second < kStanzaConnectWait;
      }
      // The repository could not be prepared: what was asked for fails now, with the reason; unless the
      // primary only took no connections yet, which the next attempt may find changed.
      if (!stanza_error.empty() && !waiting_for_primary)
        fail_pending_backups(target, "the backup repository cannot be used: " + stanza_error);
      if (Clock::now() < retry_stanza_at_[key]) continue;
      retry_stanza_at_[key] = Clock::now() + kStanzaRetry;
      job_ = std::async(std::launch::async, [this, target] { create_stanza(target); });
      return;
    }
    if (const auto restoring = restores_to_seal(target); !restoring.empty()) {
      job_ = std::async(std::launch::async, [this, target, restoring] {
        for (const auto& cluster : restoring) seal_wal(target, cluster);
      });
      return;
    }
    // Before a verification, so that a new backup's window is checked first; it is one listing.
    if (Clock::now() >= next_archive_check_[key]) {
      next_archive_check_[key] = Clock::now() + settings_.archive_check_interval;
      job_ = std::async(std::launch::async, [this, target] {
        try {
          check_archive(target);
        } catch (const std::exception& error) {
          spdlog::error("{}/{}: checking the WAL in the backup repository: {}", target.namespace_name, target.cluster,
                        error.what());
        }
      });
      return;
    }
    for (const auto& [name, current] : backups_of(target)) {
      const std::string phase = current.value("phase", "Pending");
      if (phase == "Running" && !interrupted_checked_) {
        // Nothing runs in this process yet: a Running status was left by an agent that stopped.
        mark_failed(target, name, current, "interrupted: the agent stopped while pgBackRest ran; take a new backup");
        continue;
      }
      if (phase == "Pending") {
        job_ = std::async(std::launch::async, [this, target, name = name] { run_job(target, "backup", name); });
        return;
      }
      if (phase == "Completed" && current.value("/verification/phase"_json_pointer, std::string()) == "Pending") {
        job_ = std::async(std::launch::async, [this, target, name = name] { run_job(target, "verify", name); });
        return;
      }
    }
  }
  interrupted_checked_ = true;
  for (const auto& target : targets) {
    if (stanzas_ready_.count(target.namespace_name + "/" + target.cluster) > 0) expire_deleted(target);
  }
}

void BackupRunner::run_job(const BackupTarget& target, const std::string& kind, const std::string& backup_name) {
  try {
    if (kind == "backup") {
      take_backup(target, backup_name);
    } else {
      verify(target, backup_name);
    }
  } catch (const std::exception& error) {
    spdlog::error("backup {} of {}/{}: {}", backup_name, target.namespace_name, target.cluster, error.what());
  }
}

void BackupRunner::check_archive(const BackupTarget& target) {
  const std::string key = target.namespace_name + "/" + target.cluster;
  // From the oldest Completed backup's first segment: older WAL serves no restore.
  std::optional<std::uint64_t> from;
  for (const auto& [name, status] : backups_of(target)) {
    if (status.value("phase", "") != "Completed") continue;
    const auto first = parse_wal_segment_name(status.value("/wal/start"_json_pointer, std::string()), kWalSegmentSize);
    if (first && (!from || first->number < *from)) from = first->number;
  }
  if (!from) return;
  const config::PgbackrestInstance& instance = target.primary.instance;
  auto listed =
      run_command(config::pgbackrest_argv(instance.config_path, instance.stanza,
                                          {"--output=json", "--recurse", "repo-ls", "archive/" + instance.stanza}),
                  command_options());
  Result<std::vector<ArchivedSegment>> segments =
      succeeded(listed) ? archived_segments(Json::parse(listed->standard_output, nullptr, false), kWalSegmentSize)
                        : Result<std::vector<ArchivedSegment>>(
                              make_error(ErrorCode::kUnavailable, run_failure(listed, "pgbackrest repo-ls")));
  if (!segments) {
    // The window keeps the last check; the next one is due at the usual interval.
    spdlog::warn("{}: checking the WAL in the backup repository: {}", key, segments.error().message);
    return;
  }
  const Json continuity = archive_continuity_json(*segments, *from, std::chrono::system_clock::now(), kWalSegmentSize);
  const std::size_t holes = continuity["holes"].size();
  const auto reported = reported_holes_.find(key);
  if (holes > 0 && (reported == reported_holes_.end() || reported->second != holes))
    spdlog::warn("{}: {} hole(s) in the WAL of the backup repository, first {} to {}: restores cannot replay past them",
                 key, holes, continuity["/holes/0/missingFrom"_json_pointer].get<std::string>(),
                 continuity["/holes/0/missingTo"_json_pointer].get<std::string>());
  else if (holes == 0 && (reported == reported_holes_.end() || reported->second != 0))
    spdlog::info("{}: the backup repository holds every WAL segment from {} ({} segments)", key,
                 continuity.value("fromSegment", ""), continuity.value("segments", 0));
  reported_holes_[key] = holes;
  if (auto stored = store_.client().put(
          store::keys::archive_continuity(settings_.etcd_prefix, target.namespace_name, target.cluster),
          continuity.dump());
      !stored)
    spdlog::warn("{}: storing the WAL check of the backup repository: {}", key, stored.error().message);
}

std::vector<std::pair<std::string, Json>> BackupRunner::backups_of(const BackupTarget& target) const {
  std::vector<std::pair<std::string, Json>> out;
  auto backups = store_.list("SGBackup", target.namespace_name);
  if (!backups) return out;
  for (const auto& document : *backups) {
    if (model::backup_from(document).cluster != target.cluster) continue;
    auto status = store_.get_status("SGBackup", target.namespace_name, document.name());
    if (status) out.emplace_back(document.name(), status->value_or(Json::object()));
  }
  return out;
}

void BackupRunner::mark_failed(const BackupTarget& target, const std::string& name, Json status,
                               const std::string& message) {
  status["phase"] = "Failed";
  status["finishedAt"] = now_utc();
  status["message"] = message;
  (void)store_.put_status("SGBackup", target.namespace_name, name, status);
  spdlog::warn("{}/{}: backup {} failed: {}", target.namespace_name, target.cluster, name, message);
}

void BackupRunner::fail_pending_backups(const BackupTarget& target, const std::string& reason) {
  for (const auto& [name, current] : backups_of(target)) {
    if (current.value("phase", "Pending") == "Pending") mark_failed(target, name, current, reason);
  }
}

std::vector<std::string> BackupRunner::restores_to_seal(const BackupTarget& target) {
  std::vector<std::string> out;
  auto clusters = store_.list("SGCluster", target.namespace_name);
  if (!clusters) return out;
  for (const auto& document : *clusters) {
    const model::Cluster cluster = model::cluster_from(document);
    if (!cluster.restore) continue;
    const std::string key = fmt::format("{}/{}/{}", target.namespace_name, cluster.name,
                                        document.body.value("/metadata/uid"_json_pointer, std::string()));
    if (sealed_restores_.count(key) > 0) continue;
    auto backup = store_.get("SGBackup", target.namespace_name, cluster.restore->backup);
    if (!backup || model::backup_from(*backup).cluster != target.cluster) continue;
    // Once the restored cluster has a primary its restore is over; nothing to seal any more.
    auto status = store_.get_status("SGCluster", target.namespace_name, cluster.name);
    if (!status) continue;
    if (const auto& current = status.value(); current && current->is_object()) {
      const Json primary = current->value("primary", Json());
      if (primary.is_string() && !primary.get<std::string>().empty()) {
        sealed_restores_.insert(key);  // not looked up again
        continue;
      }
    }
    out.push_back(key);
  }
  return out;
}

void BackupRunner::seal_wal(const BackupTarget& target, const std::string& restoring_key) {
  const std::string restoring_cluster = restoring_key.substr(0, restoring_key.rfind('/'));
  const auto& server = target.primary.instance;
  // txid_current() commits a transaction of its own; pg_switch_wal() closes the segment it is in,
  // and the asynchronous archive-push sends it within a second.
  auto sealed = run_command({target.bin_dir + "/psql", "-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1", "-h",
                             server.socket_dir, "-p", std::to_string(server.postgres_port), "-U", server.superuser,
                             "-d", "postgres", "-c", "SELECT txid_current()", "-c", "SELECT pg_switch_wal()"},
                            command_options());
  if (!succeeded(sealed)) {
    // Retried on the next round; the restore itself retries until the WAL it needs is archived.
    spdlog::warn("{}/{}: sealing the WAL for the restore of {} failed: {}", target.namespace_name, target.cluster,
                 restoring_cluster, run_failure(sealed, "psql"));
    return;
  }
  const std::string answer = trim(sealed->standard_output);  // the xid, then the switch's LSN
  spdlog::info("{}/{}: WAL sealed for the restore of {} (a commit, then a segment switch at {})", target.namespace_name,
               target.cluster, restoring_cluster, answer.substr(answer.rfind('\n') + 1));
  sealed_restores_.insert(restoring_key);
}

void BackupRunner::create_stanza(const BackupTarget& target) {
  const auto& instance = target.primary.instance;
  // The primary's archive-push (asynchronous, through pgstack-wal-push) takes the same archive lock
  // while it tries to push: a LockAcquireError [050] only means "a moment later", not a failure.
  constexpr int kLockAttempts = 10;
  auto created =
      run_command(config::pgbackrest_argv(instance.config_path, instance.stanza, {"stanza-create"}), command_options());
  const auto lock_busy = [](const Result<CommandOutput>& result) {
    return result.ok() && result->exit_code != 0 &&
           (result->standard_error + result->standard_output).find("[050]") != std::string::npos;
  };
  for (int attempt = 1; attempt < kLockAttempts && lock_busy(created); ++attempt) {
    std::this_thread::sleep_for(std::chrono::seconds(1));
    created = run_command(config::pgbackrest_argv(instance.config_path, instance.stanza, {"stanza-create"}),
                          command_options());
  }
  const std::string key = target.namespace_name + "/" + target.cluster;
  if (!succeeded(created)) {
    const std::string failure = run_failure(created, "pgbackrest stanza-create");
    spdlog::warn("{}/{}: {}", target.namespace_name, target.cluster, failure);
    std::lock_guard lock(stanza_errors_mutex_);
    stanza_errors_[key] = explain_full_repository(failure, repository_disk(target.primary));
    if (!stanza_failure_is_transient(failure)) {
      stanza_transient_since_.erase(key);
    } else if (stanza_transient_since_.count(key) == 0) {
      stanza_transient_since_[key] = Clock::now();
    }
    return;
  }
  {
    std::lock_guard lock(stanza_errors_mutex_);
    stanza_errors_.erase(key);
    stanza_transient_since_.erase(key);
  }
  spdlog::info("{}/{}: pgBackRest stanza {} is ready in {}", target.namespace_name, target.cluster, instance.stanza,
               target.primary.repository.path);
  stanzas_ready_.insert(target.namespace_name + "/" + target.cluster);
}

void BackupRunner::take_backup(const BackupTarget& target, const std::string& name) {
  const auto& instance = target.primary.instance;
  const std::string& ns = target.namespace_name;
  auto document = store_.get("SGBackup", ns, name);
  if (!document) return;
  // Roles come from the last report and may have just changed: ask the servers themselves.
  const auto ask = [&](const config::PgbackrestInstance& server, const char* sql) -> std::optional<std::string> {
    auto answer =
        run_command({target.bin_dir + "/psql", "-X", "-A", "-t", "-q", "-h", server.socket_dir, "-p",
                     std::to_string(server.postgres_port), "-U", server.superuser, "-d", "postgres", "-c", sql},
                    command_options());
    if (!succeeded(answer)) return std::nullopt;
    return trim(answer->standard_output);
  };
  const auto in_recovery = [&](const config::PgbackrestInstance& server) -> std::optional<bool> {
    const auto answer = ask(server, "SELECT pg_is_in_recovery()");
    if (!answer) return std::nullopt;
    return *answer == "t";
  };
  if (in_recovery(instance) != std::optional<bool>(false)) {
    // Not the primary (any more): the backup stays Pending for the agent that runs the primary.
    spdlog::info("{}/{}: backup {} waits: {} is not a running primary now", ns, target.cluster, name,
                 instance.data_dir);
    return;
  }
  // Backups just added to a running cluster: until the primary has reloaded its archive_command,
  // pgBackRest refuses ("archive_command must contain pgbackrest"); the backup stays Pending meanwhile.
  // pgBackRest's own rule: the command must name pgbackrest (pgstack-wal-push's names its configuration).
  const auto archive_command = ask(instance, "SHOW archive_command");
  if (!archive_command || archive_command->find("pgbackrest") == std::string::npos) {
    spdlog::info("{}/{}: backup {} waits: the primary does not archive WAL with pgBackRest yet", ns, target.cluster,
                 name);
    return;
  }
  std::optional<config::PgbackrestInstance> standby = target.standby;
  if (standby && in_recovery(*standby) != std::optional<bool>(true)) standby.reset();
  const bool standby_expected = target.standby.has_value() || target.standby_starting;
  if (!standby && standby_expected && !waited_long_enough_for_a_standby(*document)) {
    spdlog::info("{}/{}: backup {} waits for a replica on this host to stream (the primary after {} s)", ns,
                 target.cluster, name, kStandbyWait.count());
    return;
  }
  const model::Backup backup = model::backup_from(*document);
  const Json repository = {{"objectStorage", target.object_storage},
                           {"path", target.primary.repository.path_in_storage},
                           {"stanza", instance.stanza}};
  Json status = {{"phase", "Running"}, {"startedAt", now_utc()}, {"repository", repository}};
  if (!backup.type.empty()) status["type"] = backup.type;
  status["source"] = standby ? "standby" : "primary";
  (void)store_.put_status("SGBackup", ns, name, status);
  spdlog::info("{}/{}: backup {} started from the {}", ns, target.cluster, name, standby ? "standby" : "primary");

  const auto fail = [&](const std::string& message) {
    const std::optional<Json> disk = repository_disk(target.primary);
    if (disk) status["repositoryDisk"] = *disk;
    mark_failed(target, name, status, explain_full_repository(message, disk));
  };
  // pgBackRest would only wait for WAL that cannot be archived into the same full disk.
  if (auto disk = repository_disk(target.primary); disk && config::repository_nearly_full(*disk))
    return fail("no backup was attempted; free space in the repository or give it a larger disk");
  const CommandOptions options = command_options();
  auto before = repository_backups(instance.config_path, instance.stanza, options);
  if (!before) return fail(before.error().message);
  std::set<std::string> known;
  for (const auto& set : *before) known.insert(set.value("label", ""));

  std::vector<std::string> arguments;
  if (!backup.type.empty()) arguments.push_back("--type=" + backup.type);
  if (standby) {
    // pg1 stays the primary (pgBackRest starts and stops the backup there); files come from pg2.
    arguments.insert(arguments.end(), {"--backup-standby", "--pg2-path=" + standby->data_dir,
                                       fmt::format("--pg2-port={}", standby->postgres_port),
                                       "--pg2-socket-path=" + standby->socket_dir, "--pg2-user=" + standby->superuser});
  }
  arguments.emplace_back("backup");
  auto ran = run_command(config::pgbackrest_argv(instance.config_path, instance.stanza, arguments), options);
  if (!succeeded(ran)) return fail(run_failure(ran, "pgbackrest backup"));

  // Completed only when pgBackRest lists a new, finished backup set.
  auto after = repository_backups(instance.config_path, instance.stanza, options);
  if (!after) return fail(after.error().message);
  const Json* made = nullptr;
  for (const auto& set : *after) {
    if (known.count(set.value("label", "")) == 0) made = &set;
  }
  if (made == nullptr) return fail("pgbackrest backup exited 0 but the repository lists no new backup");
  const Json information = status_from_info(*made);
  for (const auto& [key, value] : information.items()) status[key] = value;
  status["phase"] = "Completed";
  status.erase("message");
  if (auto disk = repository_disk(target.primary)) status["repositoryDisk"] = *disk;
  status["verification"] = {{"phase", "Pending"}, {"requestedAt", now_utc()}};  // every new backup is verified
  (void)store_.put_status("SGBackup", ns, name, status);
  (void)store_.client().put(records_prefix(settings_.etcd_prefix, target) + information.value("label", ""), name);
  next_archive_check_[ns + "/" + target.cluster] = {};  // the new backup's WAL is checked next
  spdlog::info("{}/{}: backup {} completed: {} {}", ns, target.cluster, name, information.value("type", ""),
               information.value("label", ""));

  // Retention ran inside `pgbackrest backup` (repo1-retention-full): SGBackups of expired sets go.
  std::set<std::string> kept;
  for (const auto& set : *after) kept.insert(set.value("label", ""));
  auto records = store_.client().get_prefix(records_prefix(settings_.etcd_prefix, target));
  if (!records) return;
  for (const auto& record : records->items) {
    const std::string label = record.key.substr(records_prefix(settings_.etcd_prefix, target).size());
    if (kept.count(label) > 0) continue;
    spdlog::info("{}/{}: retention expired backup {} ({})", ns, target.cluster, record.value, label);
    (void)store_.remove("SGBackup", ns, record.value);
    (void)store_.client().remove(record.key);
  }
}

void BackupRunner::verify(const BackupTarget& target, const std::string& name) {
  const std::string& ns = target.namespace_name;
  auto status = store_.get_status("SGBackup", ns, name);
  if (!status || !status->has_value()) return;
  Json current = **status;
  current["verification"] = {{"phase", "Running"},
                             {"requestedAt", current.value("/verification/requestedAt"_json_pointer, now_utc())},
                             {"startedAt", now_utc()}};
  (void)store_.put_status("SGBackup", ns, name, current);

  VerificationRequest request;
  request.config_path = target.primary.instance.config_path;
  request.stanza = target.primary.instance.stanza;
  request.label = current.value("label", "");
  request.scratch_dir = settings_.state_dir / "verify" / (ns + "-" + name);
  request.bin_dir = target.bin_dir;
  request.superuser = target.superuser;
  if (::geteuid() == 0) request.os_user = settings_.os_user;
  request.process_max = target.primary.instance.process_max;
  spdlog::info("{}/{}: verifying backup {} ({})", ns, target.cluster, name, request.label);
  const VerificationResult result = verify_backup(request);

  // Re-read: the status may have changed while the verification ran (a new request is kept).
  auto latest = store_.get_status("SGBackup", ns, name);
  if (latest && latest->has_value()) current = **latest;
  current["verification"] = {{"phase", result.passed ? "Passed" : "Failed"},
                             {"requestedAt", current.value("/verification/requestedAt"_json_pointer, now_utc())},
                             {"startedAt", current.value("/verification/startedAt"_json_pointer, now_utc())},
                             {"finishedAt", now_utc()},
                             {"durationSeconds", result.duration_seconds},
                             {"timeToUsableSeconds", result.time_to_usable_seconds},
                             {"message", result.message}};
  (void)store_.put_status("SGBackup", ns, name, current);
  spdlog::info("{}/{}: verification of {} {}: {}", ns, target.cluster, name, result.passed ? "passed" : "FAILED",
               result.message);
}

void BackupRunner::expire_deleted(const BackupTarget& target) {
  const std::string prefix = records_prefix(settings_.etcd_prefix, target);
  auto records = store_.client().get_prefix(prefix);
  if (!records) return;
  for (const auto& record : records->items) {
    auto exists = store_.get("SGBackup", target.namespace_name, record.value);
    if (exists || exists.error().code != ErrorCode::kNotFound) continue;
    const std::string label = record.key.substr(prefix.size());
    // `pgstack delete sgbackup` removed the resource: its backup set goes from the repository too.
    const auto& instance = target.primary.instance;
    auto expired =
        run_command(config::pgbackrest_argv(instance.config_path, instance.stanza, {"--set=" + label, "expire"}),
                    command_options());
    if (!succeeded(expired)) {
      spdlog::warn("{}/{}: {}", target.namespace_name, target.cluster,
                   run_failure(expired, fmt::format("expiring deleted backup {} ({})", record.value, label)));
    } else {
      spdlog::info("{}/{}: expired backup set {} of deleted SGBackup {}", target.namespace_name, target.cluster, label,
                   record.value);
    }
    (void)store_.client().remove(record.key);
  }
}

}  // namespace pgstack::agent
