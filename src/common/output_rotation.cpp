#include "common/output_rotation.h"

#include <cerrno>
#include <cstring>
#include <unistd.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include "common/daemon_options.h"

namespace pgstack {

namespace fs = std::filesystem;

std::vector<std::pair<fs::path, fs::path>> rotation_renames(const fs::path& path, int keep) {
  std::vector<std::pair<fs::path, fs::path>> renames;
  const auto numbered = [&](int n) { return fs::path(path.string() + "." + std::to_string(n)); };
  for (int n = keep - 1; n >= 1; --n) renames.emplace_back(numbered(n), numbered(n + 1));
  if (keep >= 1) renames.emplace_back(path, numbered(1));
  return renames;
}

OutputRotation::OutputRotation(fs::path path, std::uint64_t max_bytes, int keep, std::chrono::milliseconds interval)
    : path_(std::move(path)), max_bytes_(max_bytes), keep_(keep), interval_(interval) {
  if (max_bytes_ > 0 && keep_ >= 1) thread_ = std::thread([this] { run(); });
}

OutputRotation::~OutputRotation() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

Result<bool> OutputRotation::rotate_if_due() {
  struct stat open_file {};
  if (::fstat(STDERR_FILENO, &open_file) != 0)
    return make_error(ErrorCode::kUnavailable,
                      fmt::format("cannot stat the log's descriptor: {}", std::strerror(errno)));
  struct stat named {};
  const bool still_named =
      ::stat(path_.c_str(), &named) == 0 && named.st_ino == open_file.st_ino && named.st_dev == open_file.st_dev;
  if (still_named && static_cast<std::uint64_t>(open_file.st_size) < max_bytes_) return false;
  if (still_named) {
    for (const auto& [from, to] : rotation_renames(path_, keep_)) {
      std::error_code error;
      fs::rename(from, to, error);  // a number not there yet is no error: the file has not rotated that often
      if (error && error != std::errc::no_such_file_or_directory)
        return make_error(ErrorCode::kUnavailable,
                          fmt::format("cannot rename {} to {}: {}", from.string(), to.string(), error.message()));
    }
  }
  // dup2 swaps the descriptors at once: each line goes to the old file or the new one, whole.
  RETURN_IF_ERROR(redirect_output_to(path_.string()));
  return still_named;
}

Result<std::unique_ptr<OutputRotation>> log_to_own_file(const DaemonOptions& options) {
  if (options.log_file.empty()) return std::unique_ptr<OutputRotation>();
  RETURN_IF_ERROR(redirect_output_to(options.log_file));
  return std::make_unique<OutputRotation>(options.log_file, options.log_rotate_bytes, options.log_files_kept);
}

void OutputRotation::run() {
  std::string logged_error;
  while (true) {
    {
      std::unique_lock lock(mutex_);
      if (wake_.wait_for(lock, interval_, [this] { return stopping_; })) return;
    }
    auto rotated = rotate_if_due();
    if (!rotated) {
      // Said once per distinct error: the next check tries again.
      if (rotated.error().message != logged_error)
        spdlog::warn("rotating the log {}: {}", path_.string(), rotated.error().message);
      logged_error = rotated.error().message;
      continue;
    }
    logged_error.clear();
    if (*rotated) {
      const std::string size = max_bytes_ >= (1U << 20) && max_bytes_ % (1U << 20) == 0
                                   ? fmt::format("{} MiB", max_bytes_ >> 20)
                                   : fmt::format("{} bytes", max_bytes_);
      spdlog::info("rotated the log: the lines before this one are in {}.1 (a file up to {}, {} kept)", path_.string(),
                   size, keep_);
    }
  }
}

}  // namespace pgstack
