// A server process a test starts itself (etcd, s3rver): started detached from the test's stdin, its
// output in a log file, killed if the test process dies, stopped with SIGTERM then SIGKILL.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

#include "common/error.h"

namespace pgstack::testing {

// Forks and execs argv (argv[0] is a path); stdout and stderr are appended to log_path.
Result<pid_t> spawn_child(const std::vector<std::string>& argv, const std::filesystem::path& log_path);

// waitpid without blocking; true once the process is gone (and reaped).
bool child_has_exited(pid_t pid);

// SIGTERM, then SIGKILL after `grace`; waits until it is reaped. Sets pid to -1.
void stop_child(pid_t& pid, std::chrono::milliseconds grace);

// The last `bytes` of a log file, or why there is none.
std::string file_tail(const std::filesystem::path& path, std::size_t bytes = 4000);

}  // namespace pgstack::testing
