#include "agent/instance_logs.h"

#include <algorithm>
#include <cctype>
#include <memory>
#include <system_error>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/time.h"
#include "logs/log_shipper.h"
#include "model/quantity.h"
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

}  // namespace

bool is_postgres_log_file_name(std::string_view name) {
  return name.substr(0, 11) == "postgresql-" && (ends_with(name, ".csv") || ends_with(name, ".log"));
}

std::vector<LogRemoval> plan_log_removal(const std::vector<LogDirectoryFile>& files,
                                         const std::optional<std::map<std::string, std::uint64_t>>& shipped,
                                         SystemClock::time_point now, const LogRemovalPolicy& policy) {
  std::uint64_t total = 0;
  std::vector<const LogDirectoryFile*> candidates;
  // Only Postgres's files count: Patroni bounds its own (log.file_size, file_num), and a large file of
  // another program must not make the agent delete Postgres's lines.
  for (const auto& file : files) {
    if (!is_postgres_log_file_name(file.name)) continue;
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
  for (const auto* file : candidates) (ends_with(file->name, ".csv") ? newest_csv : newest_log) = file;
  const auto unshipped = [&](const LogDirectoryFile& file) -> std::uint64_t {
    if (!shipped || !ends_with(file.name, ".csv")) return 0;
    const auto found = shipped->find(file.name);
    const std::uint64_t in_store = found == shipped->end() ? 0 : found->second;
    return file.size > in_store ? file.size - in_store : 0;
  };

  std::vector<LogRemoval> removals;
  std::vector<const LogDirectoryFile*> kept;
  for (const auto* file : candidates) {
    if (file == newest_csv || file == newest_log) continue;
    if (now - file->modified > policy.max_age && unshipped(*file) == 0) {
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

struct InstanceLogs::Loop {
  logs::LogType type = logs::LogType::kPostgres;
  std::thread thread;
  // Guarded by InstanceLogs::mutex_.
  model::ReportedLogShipping state;
  bool succeeded = false;
  std::map<std::string, std::uint64_t> shipped;  // by file: its bytes in the store, as of the last success
  std::uint64_t behind_at_success = 0;
  std::uint64_t total_at_success = 0;  // the log's bytes on disk then
};

InstanceLogs::InstanceLogs(InstanceLogsSettings settings) : settings_(std::move(settings)) {
  // Postgres's loop also removes old files, so it runs without a store too.
  std::vector<logs::LogType> types = {logs::LogType::kPostgres};
  if (settings_.store) types.push_back(logs::LogType::kPatroni);
  for (const auto type : types) {
    auto loop = std::make_unique<Loop>();
    loop->type = type;
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

void InstanceLogs::remove_old_files(Loop& loop) {
  std::optional<std::map<std::string, std::uint64_t>> shipped;
  if (settings_.store) {
    std::lock_guard lock(mutex_);
    shipped = loop.shipped;
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
    // Lines lost to the store: said in the report and counted, never silently.
    const std::string message = fmt::format(
        "{}: removed {} with {} not shipped to the log store: Postgres's log files exceeded --log-dir-limit ({})",
        utc_timestamp_now(), removal.name, size_text(removal.unshipped_bytes),
        size_text(settings_.removal.max_directory_bytes));
    spdlog::warn("{}: {}", who, message);
    std::lock_guard lock(mutex_);
    ++loop.state.files_removed_unshipped;
    loop.state.last_removal = message;
  }
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
      next_cleanup = std::chrono::steady_clock::now() + kLogCleanupInterval;
    }
    if (settings_.store && role().empty() && std::chrono::steady_clock::now() < role_deadline) {
      wait = kShipIdle;
    } else if (settings_.store) {
      auto outcome = [&]() -> Result<logs::ShipOutcome> {
        if (!shipper) {
          // Looked up again after each error: the store's primary may have moved.
          ASSIGN_OR_RETURN(auto target,
                           logs::log_store_target(*etcd, settings_.etcd_prefix, *settings_.store,
                                                  logs::kLogWriterCredential, settings_.ca_file, "pgstack-agent"));
          logs::ShipperSettings shipper_settings;
          shipper_settings.type = loop.type;
          shipper_settings.directory = settings_.log_dir;
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
        for (const auto& file : list_directory(settings_.log_dir)) {
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
