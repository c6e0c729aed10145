// Supervision of long-running daemons (Patroni, PgBouncer) that must outlive the agent: restarting or
// crashing the agent must never restart Postgres. `pgstack up` starts etcd, the controller and the agent
// the same way.
//
// How: a daemon is started with a double fork (fork, setsid, fork) so that it runs in its own session
// and process group and is re-parented to init (or the nearest subreaper) as soon as the middle child
// exits. The agent is therefore NOT the daemon's parent: it cannot waitpid() it and never learns its
// exit status. Liveness is observed instead: kill(pid, 0) plus a check that /proc/<pid>/stat still shows
// the same start time (field 22) and is not a zombie. The pid file records "<pid>\n<starttime>\n" so
// that after an agent restart a recycled pid is never mistaken for our daemon, and start() re-attaches
// to a daemon that is still running instead of starting a second one.
//
// Thread-safety: none. One thread (the agent loop) calls every method; status() returns a copy that
// may be handed to other threads.
#pragma once

#include <chrono>
#include <csignal>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <sys/types.h>

#include "common/error.h"

namespace pgstack {

struct ProcessSpec {
  std::string name;               // for logs and error messages
  std::vector<std::string> argv;  // argv[0] without a '/' is looked up in environment's PATH
  // The complete environment of the child, nothing is inherited; secrets come through here, never argv.
  std::map<std::string, std::string> environment;
  std::optional<std::string> run_as_user;   // needs root; the child gets this user's uid, gid and groups
  std::filesystem::path working_directory;  // "/" when empty
  std::filesystem::path log_file;           // stdout and stderr are appended; created 0640, owned by the user
  std::filesystem::path pid_file;           // "<pid>\n<starttime>\n", 0644
  int stop_signal = SIGTERM;
  std::chrono::milliseconds stop_timeout{30000};  // then SIGKILL
  std::chrono::milliseconds restart_backoff_initial{1000};
  std::chrono::milliseconds restart_backoff_max{30000};
  // A daemon that stayed up this long is healthy again: its next restart waits only the initial backoff.
  std::chrono::milliseconds restart_backoff_reset{60000};
};

enum class ProcessState {
  kRunning,  // alive as of the last observation
  kStopped,  // never started, or stopped by stop()
  kBackoff,  // died; tick() restarts it once the backoff has passed
};

std::string_view process_state_name(ProcessState state);

struct ProcessStatus {
  ProcessState state = ProcessState::kStopped;
  pid_t pid = 0;                                                    // 0 when there is no process
  int restarts = 0;                                                 // restarts done by tick() after the daemon died
  std::optional<std::chrono::system_clock::time_point> last_start;  // when the current/last process started
  std::string last_exit_reason;          // "exited" is all we can know of a daemon that is not our child
  std::chrono::milliseconds backoff{0};  // delay before the pending (or last) restart
};

enum class StartOutcome {
  kStarted,         // a new process was spawned
  kReattached,      // the pid file named our daemon, still running; nothing was spawned
  kAlreadyRunning,  // this supervisor already runs it
};

// Identifies one process for its whole life: pids are recycled, (pid, start time) pairs are not.
struct ProcessIdentity {
  pid_t pid = 0;
  std::uint64_t start_time = 0;  // clock ticks since boot, /proc/<pid>/stat field 22
  bool operator==(const ProcessIdentity&) const = default;
};

// The identity of a live (not zombie) process, or nothing if there is no such process.
std::optional<ProcessIdentity> read_process_identity(pid_t pid);

// Whether exactly this process still runs (a zombie does not count).
bool is_alive(const ProcessIdentity& identity);

class ProcessSupervisor {
 public:
  explicit ProcessSupervisor(ProcessSpec spec);
  // Leaves the daemon running on purpose: the agent going away must not take Postgres down.
  ~ProcessSupervisor() = default;

  ProcessSupervisor(const ProcessSupervisor&) = delete;
  ProcessSupervisor& operator=(const ProcessSupervisor&) = delete;

  // Re-attaches to the daemon named by the pid file if it still runs, otherwise starts it. Fails when
  // the daemon cannot be spawned (bad executable, user, working directory, log file...).
  Result<StartOutcome> start();

  // Probes the process now (does not change status()).
  bool is_running() const;

  // stop_signal, up to stop_timeout for it to exit, then SIGKILL; removes the pid file.
  Result<bool> stop();

  // Called periodically by the agent loop: notices a dead daemon and restarts it after the backoff.
  void tick();

  // What was observed at the last start(), tick() or stop().
  ProcessStatus status() const;

  // Fails with kFailedPrecondition when the daemon is not running.
  Result<bool> send_signal(int signal);

  const ProcessSpec& spec() const { return spec_; }

 private:
  Result<bool> spawn();
  bool try_reattach();
  void schedule_restart(std::chrono::steady_clock::time_point now);

  ProcessSpec spec_;
  std::optional<ProcessIdentity> process_;
  ProcessState state_ = ProcessState::kStopped;
  int restarts_ = 0;
  std::optional<std::chrono::system_clock::time_point> last_start_;
  std::chrono::steady_clock::time_point running_since_{};
  std::chrono::steady_clock::time_point restart_at_{};
  std::chrono::milliseconds backoff_{0};
  std::string last_exit_reason_;
};

// True when the pid file names a live process that runs `program` (ProcessSupervisor::start checks again).
bool pid_file_names_live_process(const std::filesystem::path& pid_file, const std::string& program);

// Stops a daemon that only its pid file knows (after an agent restart): re-attach, never spawn, then
// stop. True when one ran.
bool stop_from_pid_file(const std::string& name, const std::string& program, const std::filesystem::path& pid_file,
                        std::chrono::milliseconds timeout);

}  // namespace pgstack
