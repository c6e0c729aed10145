#include "agent/instance_logs.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <csignal>
#include <fstream>
#include <memory>
#include <system_error>
#include <utility>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/types.h>

#include "common/time.h"
#include "logs/log_shipper.h"
#include "logs/ship_plan.h"
#include "model/quantity.h"
#include "process/process_supervisor.h"
#include "store/etcd_client.h"

namespace pgstack::agent {
namespace {

namespace fs = std::filesystem;
using SystemClock = std::chrono::system_clock;

bool ends_with(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

std::vector<LogDirectoryFile> list_directory(const fs::path& directory) {
  std::vector<LogDirectoryFile> files;
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(directory, error)) {
    std::error_code stat_error;
    if (!entry.is_regular_file(stat_error)) continue;
    const auto size = entry.file_size(stat_error);
    if (stat_error) continue;
    const auto modified = entry.last_write_time(stat_error);
    if (stat_error) continue;
    files.push_back({entry.path().filename().string(), size,
                     std::chrono::time_point_cast<SystemClock::duration>(fs::file_time_type::clock::to_sys(modified))});
  }
  return files;
}

// "600 bytes", "64MiB", "1GiB".
std::string size_text(std::uint64_t bytes) {
  const std::string text = model::format_memory_bytes(static_cast<std::int64_t>(bytes));
  return std::isdigit(static_cast<unsigned char>(text.back())) ? text + " bytes" : text + "B";
}

// pgbouncer.log.N (N >= 1): a file the agent's rotation renamed.
bool is_rotated_pgbouncer_file(std::string_view name) {
  return logs::renamed_log_number(logs::LogType::kPgbouncer, name).value_or(0) > 0;
}

// The pid of the PgBouncer the pid file names, while it runs `program`; nothing otherwise.
std::optional<pid_t> running_pgbouncer_pid(const fs::path& pid_file, const std::string& program) {
  if (!pid_file_names_live_process(pid_file, program)) return std::nullopt;
  std::ifstream stream(pid_file);
  long long pid = 0;
  if (!(stream >> pid) || pid <= 0) return std::nullopt;
  return static_cast<pid_t>(pid);
}

}  // namespace

bool is_postgres_log_file_name(std::string_view name) {
  return name.substr(0, 11) == "postgresql-" && (ends_with(name, ".csv") || ends_with(name, ".log"));
}

std::vector<LogRemoval> plan_log_removal(const std::vector<LogDirectoryFile>& files,
                                         const std::optional<std::map<std::string, std::uint64_t>>& shipped,
                                         SystemClock::time_point now, const LogRemovalPolicy& policy) {
  std::uint64_t total = 0;
  std::vector<const LogDirectoryFile*> candidates;
  // Only Postgres's files and PgBouncer's rotated ones count: Patroni bounds its own (log.file_size,
  // file_num), and a large file of another program must not make the agent delete Postgres's lines.
  for (const auto& file : files) {
    if (!is_postgres_log_file_name(file.name) && !is_rotated_pgbouncer_file(file.name)) continue;
    total += file.size;
    candidates.push_back(&file);
  }
  const auto older = [](const LogDirectoryFile* a, const LogDirectoryFile* b) {
    return a->modified != b->modified ? a->modified < b->modified : a->name < b->name;
  };
  std::sort(candidates.begin(), candidates.end(), older);
  // The collector writes to the newest .csv (and .log): never removed.
  const LogDirectoryFile* newest_csv = nullptr;
  const LogDirectoryFile* newest_log = nullptr;
  for (const auto* file : candidates) {
    if (is_postgres_log_file_name(file->name)) (ends_with(file->name, ".csv") ? newest_csv : newest_log) = file;
  }
  // PgBouncer's rotated files past the newest few (the highest numbers are the oldest).
  std::vector<std::pair<std::uint64_t, const LogDirectoryFile*>> rotated;
  for (const auto* file : candidates) {
    if (is_rotated_pgbouncer_file(file->name))
      rotated.emplace_back(*logs::renamed_log_number(logs::LogType::kPgbouncer, file->name), file);
  }
  std::sort(rotated.begin(), rotated.end());
  std::vector<const LogDirectoryFile*> beyond_kept;
  for (std::size_t i = policy.pgbouncer_keep_files; i < rotated.size(); ++i) beyond_kept.push_back(rotated[i].second);
  const auto unshipped = [&](const LogDirectoryFile& file) -> std::uint64_t {
    if (!shipped || !(ends_with(file.name, ".csv") || is_rotated_pgbouncer_file(file.name))) return 0;
    const auto found = shipped->find(file.name);
    const std::uint64_t in_store = found == shipped->end() ? 0 : found->second;
    return file.size > in_store ? file.size - in_store : 0;
  };

  std::vector<LogRemoval> removals;
  std::vector<const LogDirectoryFile*> kept;
  for (const auto* file : candidates) {
    if (file == newest_csv || file == newest_log) continue;
    const bool expired = now - file->modified > policy.max_age ||
                         std::find(beyond_kept.begin(), beyond_kept.end(), file) != beyond_kept.end();
    if (expired && unshipped(*file) == 0) {
      removals.push_back({file->name, 0, false});
      total -= file->size;
    } else {
      kept.push_back(file);
    }
  }
  for (const auto* file : kept) {
    if (total <= policy.max_directory_bytes) break;
    removals.push_back({file->name, unshipped(*file), true});
    total -= file->size;
  }
  return removals;
}

std::vector<LogRename> plan_pgbouncer_rotation(const std::vector<LogDirectoryFile>& files, std::uint64_t rotate_bytes) {
  const auto current = std::find_if(files.begin(), files.end(),
                                    [](const LogDirectoryFile& file) { return file.name == "pgbouncer.log"; });
  if (current == files.end() || current->size < rotate_bytes) return {};
  std::vector<std::uint64_t> numbers;
  for (const auto& file : files) {
    if (is_rotated_pgbouncer_file(file.name))
      numbers.push_back(*logs::renamed_log_number(logs::LogType::kPgbouncer, file.name));
  }
  std::sort(numbers.rbegin(), numbers.rend());
  std::vector<LogRename> renames;
  renames.reserve(numbers.size() + 1);
  for (const auto number : numbers)
    renames.push_back({fmt::format("pgbouncer.log.{}", number), fmt::format("pgbouncer.log.{}", number + 1)});
  renames.push_back({"pgbouncer.log", "pgbouncer.log.1"});
  return renames;
}

struct InstanceLogs::Loop {
  logs::LogType type = logs::LogType::kPostgres;
  std::filesystem::path directory;  // where the log's files are
  std::thread thread;
  // Guarded by InstanceLogs::mutex_.
  model::ReportedLogShipping state;
  bool succeeded = false;
  std::map<std::string, std::uint64_t> shipped;         // by file: its bytes in the store, as of the last success
  std::chrono::steady_clock::time_point shipped_as_of;  // when the batch that learnt `shipped` began
  std::uint64_t behind_at_success = 0;
  std::uint64_t total_at_success = 0;  // the log's bytes on disk then
};

InstanceLogs::InstanceLogs(InstanceLogsSettings settings) : settings_(std::move(settings)) {
  // Postgres's loop also removes old files, so it runs without a store too.
  std::vector<std::pair<logs::LogType, std::filesystem::path>> logs = {{logs::LogType::kPostgres, settings_.log_dir}};
  if (settings_.store) {
    logs.emplace_back(logs::LogType::kPatroni, settings_.log_dir);
    logs.emplace_back(logs::LogType::kPgbouncer, settings_.log_dir);
    if (!settings_.pgbackrest_log_dir.empty())
      logs.emplace_back(logs::LogType::kPgbackrest, settings_.pgbackrest_log_dir);
  }
  for (const auto& [type, directory] : logs) {
    auto loop = std::make_unique<Loop>();
    loop->type = type;
    loop->directory = directory;
    loops_.push_back(std::move(loop));
  }
  for (auto& loop : loops_) loop->thread = std::thread([this, raw = loop.get()] { run(*raw); });
}

InstanceLogs::~InstanceLogs() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (auto& loop : loops_) {
    if (loop->thread.joinable()) loop->thread.join();
  }
}

void InstanceLogs::set_role(std::string role) {
  std::lock_guard lock(mutex_);
  role_ = std::move(role);
}

std::string InstanceLogs::role() const {
  std::lock_guard lock(mutex_);
  return role_;
}

std::map<std::string, model::ReportedLogShipping> InstanceLogs::report() const {
  std::map<std::string, model::ReportedLogShipping> out;
  std::lock_guard lock(mutex_);
  for (const auto& loop : loops_) {
    if (settings_.store || loop->state.files_removed_unshipped > 0)
      out[std::string(logs::log_type_name(loop->type))] = loop->state;
  }
  return out;
}

InstanceLogs::Loop* InstanceLogs::loop_of(logs::LogType type) const {
  for (const auto& loop : loops_) {
    if (loop->type == type) return loop.get();
  }
  return nullptr;
}

void InstanceLogs::remove_old_files(Loop& loop) {
  Loop* pgbouncer = loop_of(logs::LogType::kPgbouncer);
  std::optional<std::map<std::string, std::uint64_t>> shipped;
  if (settings_.store) {
    std::lock_guard lock(mutex_);
    shipped = loop.shipped;
    // Names shipped before the last rotation are other files now: those count as not shipped.
    if (pgbouncer != nullptr && pgbouncer->succeeded &&
        (!pgbouncer_rotated_ || pgbouncer->shipped_as_of > *pgbouncer_rotated_)) {
      for (const auto& [name, bytes] : pgbouncer->shipped) {
        if (is_rotated_pgbouncer_file(name)) (*shipped)[name] = bytes;
      }
    }
  }
  const auto removals =
      plan_log_removal(list_directory(settings_.log_dir), shipped, SystemClock::now(), settings_.removal);
  const std::string who = fmt::format("{}/{}/{}", settings_.namespace_name, settings_.cluster, settings_.member);
  for (const auto& removal : removals) {
    std::error_code error;
    if (!fs::remove(settings_.log_dir / removal.name, error) || error) continue;
    if (removal.unshipped_bytes == 0) {
      spdlog::info("{}: removed the old log file {}", who, removal.name);
      continue;
    }
    // Lines lost to the store: said in the report (of the log they belong to) and counted, never silently.
    const std::string message = fmt::format(
        "{}: removed {} with {} not shipped to the log store: Postgres's and PgBouncer's log files "
        "exceeded --log-dir-limit ({})",
        utc_timestamp_now(), removal.name, size_text(removal.unshipped_bytes),
        size_text(settings_.removal.max_directory_bytes));
    spdlog::warn("{}: {}", who, message);
    Loop& owner = is_rotated_pgbouncer_file(removal.name) && pgbouncer != nullptr ? *pgbouncer : loop;
    std::lock_guard lock(mutex_);
    ++owner.state.files_removed_unshipped;
    owner.state.last_removal = message;
  }
}

void InstanceLogs::rotate_pgbouncer_log() {
  if (settings_.pgbouncer_pid_file.empty()) return;
  const auto renames =
      plan_pgbouncer_rotation(list_directory(settings_.log_dir), settings_.removal.pgbouncer_rotate_bytes);
  if (renames.empty()) return;
  // Nothing else writes pgbouncer.log: while no PgBouncer runs it does not grow, and a PgBouncer that is not
  // told would go on writing the renamed file.
  const auto pid = running_pgbouncer_pid(settings_.pgbouncer_pid_file, settings_.pgbouncer_program);
  if (!pid) return;
  const std::string who = fmt::format("{}/{}/{}", settings_.namespace_name, settings_.cluster, settings_.member);
  {
    std::lock_guard lock(mutex_);
    pgbouncer_rotated_ = std::chrono::steady_clock::now();
  }
  for (const auto& rename : renames) {
    std::error_code error;
    fs::rename(settings_.log_dir / rename.from, settings_.log_dir / rename.to, error);
    if (error) {
      // The files renamed so far keep the order the shipper reads them in; the next pass tries again.
      spdlog::warn("{}: cannot rotate PgBouncer's log: renaming {} to {}: {}", who, rename.from, rename.to,
                   error.message());
      return;
    }
  }
  // PgBouncer reopens its logfile on SIGHUP (and re-reads pgbouncer.ini, which is unchanged); until then
  // it writes on to pgbouncer.log.1, which the shipper reads to its end.
  if (::kill(*pid, SIGHUP) != 0) {
    spdlog::warn("{}: rotated pgbouncer.log, but cannot signal PgBouncer (pid {}) to reopen it: {}", who, *pid,
                 std::error_code(errno, std::generic_category()).message());
    return;
  }
  spdlog::info("{}: rotated pgbouncer.log to pgbouncer.log.1 at {}", who,
               size_text(settings_.removal.pgbouncer_rotate_bytes));
}

void InstanceLogs::run(Loop& loop) {
  const std::string who = fmt::format("{}/{}/{} {} log", settings_.namespace_name, settings_.cluster, settings_.member,
                                      logs::log_type_name(loop.type));
  std::unique_ptr<store::EtcdClient> etcd;
  if (settings_.store) etcd = std::make_unique<store::EtcdClient>(settings_.etcd_endpoints, std::chrono::seconds(3));
  std::unique_ptr<logs::LogShipper> shipper;
  auto backoff = kShipFirstBackoff;
  auto next_cleanup = std::chrono::steady_clock::now();
  // The role comes from the agent's next report (within seconds): rows get it unless Patroni says nothing.
  const auto role_deadline = std::chrono::steady_clock::now() + kRoleWait;
  std::string logged_error;
  bool attempted = false;
  while (true) {
    std::chrono::milliseconds wait = kLogCleanupInterval;
    // With a store, after the first batch: what is shipped is known then (or, after an error, not).
    if (loop.type == logs::LogType::kPostgres && std::chrono::steady_clock::now() >= next_cleanup &&
        (!settings_.store || attempted)) {
      remove_old_files(loop);
      rotate_pgbouncer_log();
      next_cleanup = std::chrono::steady_clock::now() + kLogCleanupInterval;
    }
    if (settings_.store && role().empty() && std::chrono::steady_clock::now() < role_deadline) {
      wait = kShipIdle;
    } else if (settings_.store) {
      const auto batch_began = std::chrono::steady_clock::now();
      auto outcome = [&]() -> Result<logs::ShipOutcome> {
        if (!shipper) {
          // Looked up again after each error: the store's primary may have moved.
          ASSIGN_OR_RETURN(auto target,
                           logs::log_store_target(*etcd, settings_.etcd_prefix, *settings_.store,
                                                  logs::kLogWriterCredential, settings_.ca_file, "pgstack-agent"));
          logs::ShipperSettings shipper_settings;
          shipper_settings.type = loop.type;
          shipper_settings.directory = loop.directory;
          shipper_settings.source = {settings_.namespace_name, settings_.cluster, settings_.member, role()};
          shipper_settings.current_role = [this] { return role(); };
          shipper_settings.store = std::move(target);
          shipper = std::make_unique<logs::LogShipper>(std::move(shipper_settings));
        }
        return shipper->ship_once();
      }();
      attempted = true;
      if (outcome) {
        std::uint64_t in_store = 0;
        for (const auto& [name, bytes] : outcome->shipped_bytes) in_store += bytes;
        {
          std::lock_guard lock(mutex_);
          model::ReportedLogShipping& state = loop.state;
          state.records_total += static_cast<std::int64_t>(outcome->records);
          state.bytes_behind = static_cast<std::int64_t>(outcome->bytes_behind);
          if (!outcome->last_record_time.empty()) state.last_record_time = outcome->last_record_time;
          state.last_error.clear();
          state.last_success = utc_timestamp_now();
          loop.succeeded = true;
          loop.shipped = outcome->shipped_bytes;
          loop.shipped_as_of = batch_began;
          loop.behind_at_success = outcome->bytes_behind;
          loop.total_at_success = in_store + outcome->bytes_behind;
        }
        if (!outcome->notice.empty()) spdlog::info("{}: {}", who, outcome->notice);
        if (!logged_error.empty()) spdlog::info("{}: shipping to the log store again", who);
        logged_error.clear();
        backoff = kShipFirstBackoff;
        wait = outcome->shipped ? std::chrono::milliseconds(0) : kShipIdle;
      } else {
        shipper.reset();
        // The files are the buffer: what was written since the last success is behind too.
        std::uint64_t total = 0;
        for (const auto& file : list_directory(loop.directory)) {
          if (logs::is_log_file(loop.type, file.name)) total += file.size;
        }
        {
          std::lock_guard lock(mutex_);
          model::ReportedLogShipping& state = loop.state;
          ++state.errors_total;
          state.last_error = outcome.error().message;
          const std::uint64_t grown = total > loop.total_at_success ? total - loop.total_at_success : 0;
          state.bytes_behind = static_cast<std::int64_t>(loop.succeeded ? loop.behind_at_success + grown : total);
        }
        if (outcome.error().message != logged_error) spdlog::warn("{}: {}", who, outcome.error().message);
        logged_error = outcome.error().message;
        wait = backoff;
        backoff = std::min(backoff * 2, kShipMaxBackoff);
      }
    }
    std::unique_lock lock(mutex_);
    if (wake_.wait_for(lock, wait, [this] { return stopping_; })) return;
  }
}

}  // namespace pgstack::agent
