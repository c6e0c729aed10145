#include "agent/instance_logs.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <memory>
#include <system_error>
#include <unistd.h>
#include <utility>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
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

// The logs the agent rotates by renaming.
constexpr logs::LogType kAgentRotatedLogs[] = {logs::LogType::kPgbouncer, logs::LogType::kProxy, logs::LogType::kAgent};

// pgbouncer.log.N, proxy.log.N or agent.log.N (N >= 1): a file the agent's rotation renamed, and whose log it is.
std::optional<logs::LogType> rotated_file_type(std::string_view name) {
  for (const auto type : kAgentRotatedLogs) {
    if (logs::renamed_log_number(type, name).value_or(0) > 0) return type;
  }
  return std::nullopt;
}

bool is_rotated_file(std::string_view name) { return rotated_file_type(name).has_value(); }

// The pid of the process the pid file names, while it runs `program`; nothing otherwise.
std::optional<pid_t> running_pid(const fs::path& pid_file, const std::string& program) {
  if (!pid_file_names_live_process(pid_file, program)) return std::nullopt;
  std::ifstream stream(pid_file);
  long long pid = 0;
  if (!(stream >> pid) || pid <= 0) return std::nullopt;
  return static_cast<pid_t>(pid);
}

// An empty `path` with the owner and mode of `model`, unless it exists. The writer of a rotated log may not
// create files in its directory (the proxy's directory is the agent's), so the agent makes the new one.
Result<bool> create_empty_like(const fs::path& path, const fs::path& model) {
  struct stat info {};
  if (::stat(model.c_str(), &info) != 0)
    return make_error(ErrorCode::kUnavailable, fmt::format("cannot stat {}: {}", model.string(), std::strerror(errno)));
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, info.st_mode & 07777);
  if (fd < 0) {
    if (errno == EEXIST) return true;
    return make_error(ErrorCode::kUnavailable,
                      fmt::format("cannot create {}: {}", path.string(), std::strerror(errno)));
  }
  const bool owned = ::fchown(fd, info.st_uid, info.st_gid) == 0 && ::fchmod(fd, info.st_mode & 07777) == 0;
  const int saved_errno = errno;
  ::close(fd);
  if (!owned)
    return make_error(ErrorCode::kUnavailable, fmt::format("cannot give {} the owner of {}: {}", path.string(),
                                                           model.string(), std::strerror(saved_errno)));
  return true;
}

// Whether the process was started with `argument` (/proc/<pid>/cmdline: arguments separated by NUL).
bool command_line_has(pid_t pid, std::string_view argument) {
  std::ifstream stream(fmt::format("/proc/{}/cmdline", pid));
  std::string word;
  while (std::getline(stream, word, '\0')) {
    if (word == argument) return true;
  }
  return false;
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
  // Only Postgres's files and the rotated ones count: Patroni bounds its own (log.file_size, file_num), and
  // a large file of another program must not make the agent delete Postgres's lines.
  for (const auto& file : files) {
    if (!is_postgres_log_file_name(file.name) && !is_rotated_file(file.name)) continue;
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
  // Each rotated log's files past its newest few (the highest numbers are the oldest).
  std::map<logs::LogType, std::vector<std::pair<std::uint64_t, const LogDirectoryFile*>>> rotated;
  for (const auto* file : candidates) {
    if (const auto type = rotated_file_type(file->name))
      rotated[*type].emplace_back(*logs::renamed_log_number(*type, file->name), file);
  }
  std::vector<const LogDirectoryFile*> beyond_kept;
  for (auto& [type, numbered] : rotated) {
    std::sort(numbered.begin(), numbered.end());
    for (std::size_t i = policy.rotated_keep_files; i < numbered.size(); ++i) beyond_kept.push_back(numbered[i].second);
  }
  const auto unshipped = [&](const LogDirectoryFile& file) -> std::uint64_t {
    if (!shipped || !(ends_with(file.name, ".csv") || is_rotated_file(file.name))) return 0;
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

std::vector<LogRename> plan_renamed_rotation(logs::LogType type, const std::vector<LogDirectoryFile>& files,
                                             std::uint64_t rotate_bytes) {
  const auto current = std::find_if(files.begin(), files.end(), [&](const LogDirectoryFile& file) {
    return logs::renamed_log_number(type, file.name) == 0u;
  });
  if (current == files.end() || current->size < rotate_bytes) return {};
  std::vector<std::uint64_t> numbers;
  for (const auto& file : files) {
    if (const auto number = logs::renamed_log_number(type, file.name); number.value_or(0) > 0)
      numbers.push_back(*number);
  }
  std::sort(numbers.rbegin(), numbers.rend());
  std::vector<LogRename> renames;
  renames.reserve(numbers.size() + 1);
  const std::string& base = current->name;
  for (const auto number : numbers)
    renames.push_back({fmt::format("{}.{}", base, number), fmt::format("{}.{}", base, number + 1)});
  renames.push_back({base, base + ".1"});
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
    if (settings_.proxy) logs.emplace_back(logs::LogType::kProxy, settings_.proxy->directory);
    if (settings_.agent_log) logs.emplace_back(logs::LogType::kAgent, settings_.agent_log->directory);
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

std::map<std::string, std::uint64_t> InstanceLogs::rotated_shipped(logs::LogType type) const {
  std::map<std::string, std::uint64_t> out;
  const Loop* owner = loop_of(type);
  if (owner == nullptr || !owner->succeeded) return out;
  // Names shipped before the last rotation are other files now: those count as not shipped.
  const auto rotated = rotated_at_.find(type);
  if (rotated != rotated_at_.end() && owner->shipped_as_of <= rotated->second) return out;
  for (const auto& [name, bytes] : owner->shipped) {
    if (logs::renamed_log_number(type, name).value_or(0) > 0) out[name] = bytes;
  }
  return out;
}

void InstanceLogs::remove_old_files(Loop& loop) {
  std::optional<std::map<std::string, std::uint64_t>> shipped;
  if (settings_.store) {
    std::lock_guard lock(mutex_);
    shipped = loop.shipped;
    for (const auto& [name, bytes] : rotated_shipped(logs::LogType::kPgbouncer)) (*shipped)[name] = bytes;
  }
  remove_files(settings_.log_dir, shipped, loop);
}

void InstanceLogs::remove_old_host_files(Loop& postgres_loop) {
  std::vector<std::pair<logs::LogType, fs::path>> logs;
  if (settings_.proxy) logs.emplace_back(logs::LogType::kProxy, settings_.proxy->directory);
  if (settings_.agent_log) logs.emplace_back(logs::LogType::kAgent, settings_.agent_log->directory);
  for (const auto& [type, directory] : logs) {
    std::optional<std::map<std::string, std::uint64_t>> shipped;
    if (settings_.store) {
      std::lock_guard lock(mutex_);
      shipped = rotated_shipped(type);
    }
    remove_files(directory, shipped, postgres_loop);
  }
}

void InstanceLogs::remove_files(const fs::path& directory,
                                const std::optional<std::map<std::string, std::uint64_t>>& shipped,
                                Loop& postgres_loop) {
  const auto removals = plan_log_removal(list_directory(directory), shipped, SystemClock::now(), settings_.removal);
  const std::string who = fmt::format("{}/{}/{}", settings_.namespace_name, settings_.cluster, settings_.member);
  for (const auto& removal : removals) {
    std::error_code error;
    if (!fs::remove(directory / removal.name, error) || error) continue;
    if (removal.unshipped_bytes == 0) {
      spdlog::info("{}: removed the old log file {}", who, (directory / removal.name).string());
      continue;
    }
    // Lines lost to the store: said in the report (of the log they belong to) and counted, never silently.
    const std::string message = fmt::format(
        "{}: removed {} with {} not shipped to the log store: the log files of {} exceeded --log-dir-limit ({})",
        utc_timestamp_now(), removal.name, size_text(removal.unshipped_bytes), directory.string(),
        size_text(settings_.removal.max_directory_bytes));
    spdlog::warn("{}: {}", who, message);
    const auto rotated_type = rotated_file_type(removal.name);
    Loop* owner = rotated_type ? loop_of(*rotated_type) : nullptr;
    if (owner == nullptr) owner = &postgres_loop;
    std::lock_guard lock(mutex_);
    ++owner->state.files_removed_unshipped;
    owner->state.last_removal = message;
  }
}

void InstanceLogs::rotate_renamed_log(logs::LogType type, const fs::path& directory, const fs::path& pid_file,
                                      const std::string& program) {
  const bool own_sink = type == logs::LogType::kAgent;
  if (pid_file.empty() && !own_sink) return;
  const auto renames = plan_renamed_rotation(type, list_directory(directory), settings_.removal.rotate_bytes);
  if (renames.empty()) return;
  // Nothing else writes the file: while no writer runs it does not grow, and a writer that is not told would go
  // on writing the renamed file.
  std::optional<pid_t> pid;
  if (!own_sink) {
    pid = running_pid(pid_file, program);
    if (!pid) return;
    // A proxy an older agent started without --log-file would die of the SIGHUP: its log waits for its restart.
    if (type == logs::LogType::kProxy && !command_line_has(*pid, "--log-file")) return;
  }
  const std::string who = fmt::format("{}/{}/{}", settings_.namespace_name, settings_.cluster, settings_.member);
  const std::string_view name = logs::log_type_name(type);
  {
    std::lock_guard lock(mutex_);
    rotated_at_[type] = std::chrono::steady_clock::now();
  }
  for (const auto& rename : renames) {
    std::error_code error;
    fs::rename(directory / rename.from, directory / rename.to, error);
    if (error) {
      // The files renamed so far keep the order the shipper reads them in; the next pass tries again.
      spdlog::warn("{}: cannot rotate {}'s log: renaming {} to {}: {}", who, name, rename.from, rename.to,
                   error.message());
      return;
    }
  }
  if (auto made = create_empty_like(directory / renames.back().from, directory / renames.back().to); !made)
    spdlog::warn("{}: {} (the writer makes it, if it may)", who, made.error().message);
  // PgBouncer reopens its logfile on SIGHUP (and re-reads pgbouncer.ini, which is unchanged), pgstack-proxy its
  // --log-file; until then each writes on to the renamed file, which the shipper reads to its end. The agent's
  // sink sees the path name the new file at its next line.
  if (pid && ::kill(*pid, SIGHUP) != 0) {
    spdlog::warn("{}: rotated {}, but cannot signal {} (pid {}) to reopen it: {}", who, renames.back().from, name, *pid,
                 std::error_code(errno, std::generic_category()).message());
    return;
  }
  spdlog::info("{}: rotated {} to {} at {}", who, (directory / renames.back().from).string(), renames.back().to,
               size_text(settings_.removal.rotate_bytes));
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
  // The proxy's and the agent's rows are the host's, not a member's: they carry no role.
  const bool has_role = loop.type != logs::LogType::kProxy && loop.type != logs::LogType::kAgent;
  std::string logged_error;
  bool attempted = false;
  while (true) {
    std::chrono::milliseconds wait = kLogCleanupInterval;
    // With a store, after the first batch: what is shipped is known then (or, after an error, not).
    if (loop.type == logs::LogType::kPostgres && std::chrono::steady_clock::now() >= next_cleanup &&
        (!settings_.store || attempted)) {
      remove_old_files(loop);
      remove_old_host_files(loop);
      rotate_renamed_log(logs::LogType::kPgbouncer, settings_.log_dir, settings_.pgbouncer_pid_file,
                         settings_.pgbouncer_program);
      if (settings_.proxy)
        rotate_renamed_log(logs::LogType::kProxy, settings_.proxy->directory, settings_.proxy->pid_file,
                           settings_.proxy->program);
      if (settings_.agent_log) rotate_renamed_log(logs::LogType::kAgent, settings_.agent_log->directory, {}, {});
      next_cleanup = std::chrono::steady_clock::now() + kLogCleanupInterval;
    }
    if (settings_.store && has_role && role().empty() && std::chrono::steady_clock::now() < role_deadline) {
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
          if (has_role) {
            shipper_settings.source = {settings_.namespace_name, settings_.cluster, settings_.member, role(),
                                       settings_.cluster_uid};
            shipper_settings.current_role = [this] { return role(); };
          } else {
            const std::string& host =
                loop.type == logs::LogType::kProxy ? settings_.proxy->instance : settings_.agent_log->instance;
            shipper_settings.source = {settings_.namespace_name, settings_.cluster, host, "", settings_.cluster_uid};
          }
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
          if (outcome->bytes_skipped > 0) {
            state.bytes_skipped += static_cast<std::int64_t>(outcome->bytes_skipped);
            state.last_skip = utc_timestamp_now() + ": " + outcome->notice;
          }
          loop.succeeded = true;
          loop.shipped = outcome->shipped_bytes;
          loop.shipped_as_of = batch_began;
          loop.behind_at_success = outcome->bytes_behind;
          loop.total_at_success = in_store + outcome->bytes_behind;
        }
        if (outcome->bytes_skipped > 0) {
          spdlog::warn("{}: {}", who, outcome->notice);  // lines the store never gets
        } else if (!outcome->notice.empty()) {
          spdlog::info("{}: {}", who, outcome->notice);
        }
        if (!logged_error.empty()) spdlog::info("{}: shipping to the log store again", who);
        logged_error.clear();
        backoff = kShipFirstBackoff;
        wait = outcome->shipped ? std::chrono::milliseconds(0) : kShipIdle;
      } else {
        // A refused batch is narrowed down by the same shipper, at once; any other error looks the store up
        // again after a backoff.
        const bool narrowing = shipper && shipper->refusal_pending();
        if (!narrowing) shipper.reset();
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
        if (narrowing) {
          wait = std::chrono::milliseconds(0);
        } else {
          wait = backoff;
          backoff = std::min(backoff * 2, kShipMaxBackoff);
        }
      }
    }
    std::unique_lock lock(mutex_);
    if (wake_.wait_for(lock, wait, [this] { return stopping_; })) return;
  }
}

}  // namespace pgstack::agent
