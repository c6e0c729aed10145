// A server process a test starts itself (etcd, s3rver): started detached from the test's stdin, its
// output in a log file, killed if the test process dies, stopped with SIGTERM then SIGKILL.
#pragma once

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <sys/types.h>

#include "common/error.h"

namespace pgstack::testing {

// How long a test's server gets to stop after SIGTERM before SIGKILL.
inline constexpr std::chrono::seconds kServerStopGrace{10};
// The image's Node 20, which runs the npm test servers (s3rver, Azurite).
inline constexpr const char* kNodeBinary = "/usr/bin/node";

// Forks and execs argv (argv[0] is a path); stdout and stderr are appended to log_path.
Result<pid_t> spawn_child(const std::vector<std::string>& argv, const std::filesystem::path& log_path);

// Where a child runs besides this process' own place (tests/support/test_hosts.h).
struct ChildPlacement {
  std::filesystem::path network_namespace;  // a bind-mounted namespace (/run/netns/NAME); empty: ours
  std::optional<std::string> user;          // a system user to run as (needs root); Postgres refuses root
};

// The same, entered into `placement` in the child before exec. The child dies with the calling
// thread (PR_SET_PDEATHSIG), so call it from a thread that lives as long as the child should.
Result<pid_t> spawn_child(const std::vector<std::string>& argv, const std::filesystem::path& log_path,
                          const ChildPlacement& placement);

// waitpid without blocking; true once the process is gone (and reaped).
bool child_has_exited(pid_t pid);

// SIGTERM, then SIGKILL after `grace`; waits until it is reaped. Sets pid to -1.
void stop_child(pid_t& pid, std::chrono::milliseconds grace);

// The last `bytes` of a log file, or why there is none.
std::string file_tail(const std::filesystem::path& path, std::size_t bytes = 4000);

// What a started server still lacks to be ready ("HTTP 503 ..."), or nothing when it is ready.
using ReadinessProbe = std::function<std::optional<std::string>()>;

// Polls `probe` until it reports the server `name` (at `where`) ready; fails with the end of its log
// at `log_path` when the process exits first (pid becomes -1) or after `timeout`.
Result<bool> wait_until_ready(pid_t& pid, const std::string& name, const std::string& where,
                              const std::filesystem::path& log_path, const ReadinessProbe& probe,
                              std::chrono::seconds timeout = std::chrono::seconds(20));

}  // namespace pgstack::testing
