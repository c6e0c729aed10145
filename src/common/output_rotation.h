// Size-based rotation of a daemon's own log (the agent's, the controller's): nobody else is there to rotate
// it, and a log that only grows fills the disk in the end. The daemon's stdout and stderr point at the file
// (redirect_output_to); when it has grown past a size, path.(keep-1) ... path.1 move up one (the oldest is
// replaced), path becomes path.1, and the output is pointed at a new path. A crash's last words (an abort
// message, a sanitizer report) still land in the file, which a logging library's own file sink would miss.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "common/error.h"

namespace pgstack {

// The renames that rotate `path` keeping `keep` older files, in the order they must run: path.(keep-1) ->
// path.keep first, path -> path.1 last, so that no file is overwritten before it moved.
std::vector<std::pair<std::filesystem::path, std::filesystem::path>> rotation_renames(const std::filesystem::path& path,
                                                                                      int keep);

class OutputRotation {
 public:
  // Checks every `interval` on its own thread; max_bytes 0: never rotates (no thread).
  OutputRotation(std::filesystem::path path, std::uint64_t max_bytes, int keep,
                 std::chrono::milliseconds interval = std::chrono::seconds(5));
  ~OutputRotation();
  OutputRotation(const OutputRotation&) = delete;
  OutputRotation& operator=(const OutputRotation&) = delete;

  // Rotates when the file the output goes to is at least max_bytes; also points the output at `path` again
  // when that no longer names the open file (moved away by hand). True when it rotated.
  Result<bool> rotate_if_due();

 private:
  void run();

  std::filesystem::path path_;
  std::uint64_t max_bytes_;
  int keep_;
  std::chrono::milliseconds interval_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

struct DaemonOptions;

// A daemon's own --log-file: its output pointed there (redirect_output_to) and rotated by size as its flags say
// (add_log_rotation_flags). Without --log-file, nothing changes and no rotation runs (nullptr).
Result<std::unique_ptr<OutputRotation>> log_to_own_file(const DaemonOptions& options);

}  // namespace pgstack
