#include "process/process_supervisor.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <fcntl.h>
#include <functional>
#include <memory>
#include <pwd.h>
#include <set>
#include <sstream>
#include <thread>
#include <unistd.h>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gtest/gtest.h>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "common/files.h"

namespace pgstack {
namespace {

using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

// The daemons are not our children (double fork), so there is nothing to block on: poll with a deadline.
bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds timeout = 5s) {
  const auto deadline = SteadyClock::now() + timeout;
  while (true) {
    if (condition()) return true;
    if (SteadyClock::now() >= deadline) return false;
    std::this_thread::sleep_for(5ms);
  }
}

std::string read_text(const std::filesystem::path& path) {
  auto content = read_file(path);
  return content ? content.value() : std::string();
}

std::size_t count_of(const std::string& text, const std::string& needle) {
  std::size_t count = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + needle.size())) ++count;
  return count;
}

// "Uid:\t101\t101\t101\t101" -> the four ids.
std::vector<long> status_ids(pid_t pid, const std::string& key) {
  std::istringstream lines(read_text(fmt::format("/proc/{}/status", pid)));
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind(key + ":", 0) != 0) continue;
    std::istringstream fields(line.substr(key.size() + 1));
    std::vector<long> ids;
    for (long id = 0; fields >> id;) ids.push_back(id);
    return ids;
  }
  return {};
}

std::set<std::string> open_fds(pid_t pid) {
  std::set<std::string> fds;
  for (const auto& entry : std::filesystem::directory_iterator(fmt::format("/proc/{}/fd", pid)))
    fds.insert(entry.path().filename().string());
  return fds;
}

class ProcessSupervisorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "pgstack-agent-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }

  // Kills every process group a test started (the daemon leads its own), so nothing outlives the test.
  void TearDown() override {
    for (const pid_t group : groups_) ::kill(-group, SIGKILL);
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  ProcessSpec spec_for(const std::string& name, std::vector<std::string> argv) {
    ProcessSpec spec;
    spec.name = name;
    spec.argv = std::move(argv);
    spec.environment = {{"PATH", "/usr/bin:/bin"}};
    spec.log_file = dir_ / (name + ".log");
    spec.pid_file = dir_ / (name + ".pid");
    spec.stop_timeout = 5s;
    spec.restart_backoff_initial = 20ms;
    spec.restart_backoff_max = 200ms;
    return spec;
  }

  std::filesystem::path write_script(const std::string& name, const std::string& body) {
    const auto path = dir_ / name;
    EXPECT_TRUE(write_file_atomically(path, "#!/bin/sh\n" + body, std::filesystem::perms(0755)).ok());
    return path;
  }

  // Starts the supervisor and remembers the daemon for cleanup.
  StartOutcome start(ProcessSupervisor& supervisor) {
    const auto outcome = supervisor.start();
    EXPECT_TRUE(outcome.ok()) << (outcome.ok() ? "" : outcome.error().message);
    track(supervisor.status().pid);
    return outcome.ok() ? outcome.value() : StartOutcome::kAlreadyRunning;
  }

  void track(pid_t pid) {
    if (pid > 0) groups_.push_back(pid);
  }

  // Ticks until the supervisor has restarted the daemon `restarts` times in total.
  bool tick_until_restarted(ProcessSupervisor& supervisor, int restarts) {
    const bool restarted = wait_until([&] {
      supervisor.tick();
      const auto status = supervisor.status();
      return status.state == ProcessState::kRunning && status.restarts == restarts;
    });
    track(supervisor.status().pid);
    return restarted;
  }

  std::filesystem::path dir_;
  std::vector<pid_t> groups_;
};

TEST_F(ProcessSupervisorTest, StartDetachesTheDaemonAndWritesItsIdentity) {
  // Not close-on-exec on purpose: the daemon must not inherit it anyway.
  const int leaked = ::open("/dev/null", O_RDONLY);
  ASSERT_GE(leaked, 0);
  ProcessSupervisor supervisor(spec_for("sleeper", {"/bin/sleep", "60"}));
  EXPECT_EQ(start(supervisor), StartOutcome::kStarted);
  ::close(leaked);

  const auto status = supervisor.status();
  ASSERT_EQ(status.state, ProcessState::kRunning);
  ASSERT_GT(status.pid, 0);
  EXPECT_TRUE(status.last_start.has_value());
  EXPECT_TRUE(supervisor.is_running());

  const auto identity = read_process_identity(status.pid);
  ASSERT_TRUE(identity.has_value());
  EXPECT_EQ(read_text(supervisor.spec().pid_file), fmt::format("{}\n{}\n", status.pid, identity->start_time));
  EXPECT_EQ(std::filesystem::status(supervisor.spec().pid_file).permissions(), std::filesystem::perms(0644));
  EXPECT_EQ(std::filesystem::status(supervisor.spec().log_file).permissions(), std::filesystem::perms(0640));

  // Not our child, so it can never become our zombie; in its own session and process group.
  errno = 0;
  EXPECT_EQ(::waitpid(status.pid, nullptr, WNOHANG), -1);
  EXPECT_EQ(errno, ECHILD);
  EXPECT_NE(status_ids(status.pid, "PPid"), std::vector<long>{::getpid()});
  EXPECT_EQ(::getpgid(status.pid), status.pid);
  EXPECT_NE(::getsid(status.pid), ::getsid(0));

  // Waited for, not read once: the program itself may briefly hold a file open while it starts (sleep reads
  // its locale), whereas a leaked descriptor stays.
  const std::set<std::string> stdio_only{"0", "1", "2"};
  EXPECT_TRUE(wait_until([&] { return open_fds(status.pid) == stdio_only; }))
      << fmt::format("{}", fmt::join(open_fds(status.pid), ","));
  EXPECT_EQ(std::filesystem::read_symlink(fmt::format("/proc/{}/fd/0", status.pid)), "/dev/null");
  EXPECT_EQ(std::filesystem::read_symlink(fmt::format("/proc/{}/cwd", status.pid)), "/");
  EXPECT_EQ(supervisor.start().value(), StartOutcome::kAlreadyRunning);
}

TEST_F(ProcessSupervisorTest, LogFileReceivesStdoutAndStderrAppended) {
  auto spec = spec_for("talker", {"/bin/sh", "-c", "echo to-stdout; echo to-stderr >&2; sleep 60; echo never"});
  ASSERT_TRUE(write_file_atomically(spec.log_file, "earlier line\n", std::filesystem::perms(0640)).ok());
  ProcessSupervisor supervisor(spec);
  start(supervisor);

  EXPECT_TRUE(wait_until([&] {
    const auto log = read_text(spec.log_file);
    return log.find("to-stdout\n") != std::string::npos && log.find("to-stderr\n") != std::string::npos;
  })) << read_text(spec.log_file);
  EXPECT_EQ(read_text(spec.log_file).rfind("earlier line\n", 0), 0U);
}

TEST_F(ProcessSupervisorTest, EnvironmentIsExactlyTheGivenOne) {
  ::setenv("PGSTACK_AGENT_TEST_LEAK", "1", 1);
  auto spec = spec_for("environment", {"sleep", "60"});  // found through the given PATH
  spec.environment = {{"PATH", "/usr/bin:/bin"}, {"PGPASSWORD", "s3cret"}, {"EMPTY", ""}};
  spec.working_directory = dir_;
  ProcessSupervisor supervisor(spec);
  start(supervisor);
  const pid_t pid = supervisor.status().pid;

  std::set<std::string> environment;
  std::istringstream entries(read_text(fmt::format("/proc/{}/environ", pid)));
  for (std::string entry; std::getline(entries, entry, '\0');) environment.insert(entry);
  EXPECT_EQ(environment, (std::set<std::string>{"PATH=/usr/bin:/bin", "PGPASSWORD=s3cret", "EMPTY="}));
  EXPECT_EQ(read_text(fmt::format("/proc/{}/cmdline", pid)), std::string("sleep\0"
                                                                         "60\0",
                                                                         9));
  EXPECT_EQ(std::filesystem::read_symlink(fmt::format("/proc/{}/cwd", pid)), dir_);
  ::unsetenv("PGSTACK_AGENT_TEST_LEAK");
}

TEST_F(ProcessSupervisorTest, DaemonSurvivesTheSupervisorAndIsReattached) {
  const auto spec = spec_for("survivor", {"/bin/sleep", "60"});
  auto first = std::make_unique<ProcessSupervisor>(spec);
  start(*first);
  const pid_t pid = first->status().pid;
  const auto identity = read_process_identity(pid);
  ASSERT_TRUE(identity.has_value());
  const std::string pid_file = read_text(spec.pid_file);

  first.reset();  // an agent crash: no stop()
  ASSERT_TRUE(is_alive(*identity));

  ProcessSupervisor second(spec);
  EXPECT_EQ(start(second), StartOutcome::kReattached);
  EXPECT_EQ(second.status().pid, pid);
  EXPECT_EQ(second.status().state, ProcessState::kRunning);
  EXPECT_EQ(second.status().restarts, 0);
  EXPECT_EQ(read_text(spec.pid_file), pid_file);
  ASSERT_TRUE(second.status().last_start.has_value());
  EXPECT_LT(std::chrono::system_clock::now() - *second.status().last_start, 60s);

  // The re-attached daemon is supervised like one we started.
  ASSERT_TRUE(second.stop().ok());
  EXPECT_FALSE(is_alive(*identity));
}

TEST_F(ProcessSupervisorTest, ScriptDaemonIsReattachedThroughItsInterpreter) {
  // cmdline of a script is "/bin/sh <script>", not the script name in argv[0].
  const auto script = write_script("daemon.sh", "echo started\nsleep 60\necho never\n");
  const auto spec = spec_for("script", {script.string()});
  auto first = std::make_unique<ProcessSupervisor>(spec);
  start(*first);
  const pid_t pid = first->status().pid;
  ASSERT_TRUE(wait_until([&] { return read_text(spec.log_file).find("started") != std::string::npos; }));
  first.reset();

  ProcessSupervisor second(spec);
  EXPECT_EQ(start(second), StartOutcome::kReattached);
  EXPECT_EQ(second.status().pid, pid);
  EXPECT_EQ(count_of(read_text(spec.log_file), "started"), 1U);
}

TEST_F(ProcessSupervisorTest, StalePidFileOfADeadProcessIsNotAttached) {
  const pid_t dead = ::fork();
  ASSERT_GE(dead, 0);
  if (dead == 0) ::_exit(0);
  ASSERT_EQ(::waitpid(dead, nullptr, 0), dead);

  const auto spec = spec_for("stale", {"/bin/sleep", "60"});
  ASSERT_TRUE(write_file_atomically(spec.pid_file, fmt::format("{}\n12345\n", dead)).ok());
  ProcessSupervisor supervisor(spec);
  EXPECT_EQ(start(supervisor), StartOutcome::kStarted);
  const pid_t pid = supervisor.status().pid;
  EXPECT_TRUE(supervisor.is_running());
  EXPECT_EQ(read_text(spec.pid_file), fmt::format("{}\n{}\n", pid, read_process_identity(pid)->start_time));
}

TEST_F(ProcessSupervisorTest, MalformedPidFileIsNotAttached) {
  const auto spec = spec_for("malformed", {"/bin/sleep", "60"});
  ASSERT_TRUE(write_file_atomically(spec.pid_file, "not a pid\n").ok());
  ProcessSupervisor supervisor(spec);
  EXPECT_EQ(start(supervisor), StartOutcome::kStarted);
}

TEST_F(ProcessSupervisorTest, LivePidWithAnotherStartTimeOrProgramIsNotAttached) {
  const auto self = read_process_identity(::getpid());
  ASSERT_TRUE(self.has_value());
  const auto spec = spec_for("recycled", {"/bin/sleep", "60"});

  // Our own pid with a start time that is not ours: a recycled pid.
  ASSERT_TRUE(write_file_atomically(spec.pid_file, fmt::format("{}\n{}\n", self->pid, self->start_time + 1)).ok());
  {
    ProcessSupervisor supervisor(spec);
    EXPECT_EQ(start(supervisor), StartOutcome::kStarted);
    EXPECT_NE(supervisor.status().pid, ::getpid());
    ASSERT_TRUE(supervisor.stop().ok());
  }

  // The right identity but another program (this test binary is not sleep).
  ASSERT_TRUE(write_file_atomically(spec.pid_file, fmt::format("{}\n{}\n", self->pid, self->start_time)).ok());
  {
    ProcessSupervisor supervisor(spec);
    EXPECT_EQ(start(supervisor), StartOutcome::kStarted);
    EXPECT_NE(supervisor.status().pid, ::getpid());
    ASSERT_TRUE(supervisor.stop().ok());
  }

  // Control: a live sleep with the right start time is attached, the same with a wrong one is not.
  const pid_t sleeper = ::fork();
  ASSERT_GE(sleeper, 0);
  if (sleeper == 0) {
    ::execl("/bin/sleep", "/bin/sleep", "60", nullptr);
    ::_exit(127);
  }
  std::optional<ProcessIdentity> sleeper_identity;
  ASSERT_TRUE(wait_until([&] {
    sleeper_identity = read_process_identity(sleeper);
    return sleeper_identity && read_text(fmt::format("/proc/{}/cmdline", sleeper)).rfind("/bin/sleep", 0) == 0;
  }));
  ASSERT_TRUE(
      write_file_atomically(spec.pid_file, fmt::format("{}\n{}\n", sleeper, sleeper_identity->start_time + 7)).ok());
  {
    ProcessSupervisor supervisor(spec);
    EXPECT_EQ(start(supervisor), StartOutcome::kStarted);
    EXPECT_NE(supervisor.status().pid, sleeper);
    ASSERT_TRUE(supervisor.stop().ok());
  }
  ASSERT_TRUE(
      write_file_atomically(spec.pid_file, fmt::format("{}\n{}\n", sleeper, sleeper_identity->start_time)).ok());
  {
    ProcessSupervisor supervisor(spec);
    EXPECT_EQ(start(supervisor), StartOutcome::kReattached);
    EXPECT_EQ(supervisor.status().pid, sleeper);
  }
  ::kill(sleeper, SIGKILL);
  ::waitpid(sleeper, nullptr, 0);
}

TEST_F(ProcessSupervisorTest, TickRestartsADeadDaemonWithGrowingBackoff) {
  auto spec = spec_for("crasher", {"/bin/sleep", "60"});
  spec.restart_backoff_initial = 50ms;
  spec.restart_backoff_max = 120ms;
  ProcessSupervisor supervisor(spec);
  start(supervisor);
  supervisor.tick();
  EXPECT_EQ(supervisor.status().state, ProcessState::kRunning);

  const std::vector<std::chrono::milliseconds> expected_backoffs{50ms, 100ms, 120ms};
  for (std::size_t round = 0; round < expected_backoffs.size(); ++round) {
    SCOPED_TRACE(round);
    const pid_t old_pid = supervisor.status().pid;
    ASSERT_EQ(::kill(old_pid, SIGKILL), 0);

    // Taken before the tick that notices the death: the supervisor's own backoff starts no earlier.
    SteadyClock::time_point died_noticed;
    ASSERT_TRUE(wait_until([&] {
      died_noticed = SteadyClock::now();
      supervisor.tick();
      return supervisor.status().state == ProcessState::kBackoff;
    }));
    EXPECT_EQ(supervisor.status().backoff, expected_backoffs[round]);
    EXPECT_EQ(supervisor.status().last_exit_reason, "exited");
    EXPECT_EQ(supervisor.status().pid, 0);
    EXPECT_FALSE(std::filesystem::exists(spec.pid_file));

    ASSERT_TRUE(tick_until_restarted(supervisor, static_cast<int>(round) + 1));
    EXPECT_GE(SteadyClock::now() - died_noticed, expected_backoffs[round]);
    const pid_t new_pid = supervisor.status().pid;
    EXPECT_NE(new_pid, old_pid);
    EXPECT_EQ(read_text(spec.pid_file), fmt::format("{}\n{}\n", new_pid, read_process_identity(new_pid)->start_time));
  }
}

// Its exit status is out of reach (not our child), so the warning carries the end of its output: Patroni's
// traceback says why it exited.
TEST_F(ProcessSupervisorTest, TheWarningOfAnExitCarriesTheEndOfTheDaemonsOutput) {
  const auto script =
      write_script("dies.sh", "echo starting\nsleep 0.2\necho 'Traceback: KeyError' >&2\necho\nexit 1\n");
  auto spec = spec_for("dies", {script.string()});
  spec.restart_backoff_initial = 10s;
  auto sink = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(16);
  const auto previous = spdlog::default_logger();
  spdlog::set_default_logger(std::make_shared<spdlog::logger>("captured", sink));
  ProcessSupervisor supervisor(spec);
  start(supervisor);
  const bool noticed = wait_until([&] {
    supervisor.tick();
    return supervisor.status().state == ProcessState::kBackoff;
  });
  spdlog::set_default_logger(previous);
  ASSERT_TRUE(noticed);
  const auto lines = sink->last_formatted();
  const auto warning = std::find_if(lines.begin(), lines.end(), [](const std::string& line) {
    return line.find("exited after") != std::string::npos;
  });
  ASSERT_NE(warning, lines.end()) << fmt::format("{}", fmt::join(lines, ""));
  EXPECT_NE(warning->find(
                fmt::format("the end of its output ({}): | starting | Traceback: KeyError", spec.log_file.string())),
            std::string::npos)
      << *warning;
}

TEST_F(ProcessSupervisorTest, BackoffResetsAfterTheDaemonStayedUp) {
  auto spec = spec_for("flapper", {"/bin/sleep", "60"});
  spec.restart_backoff_initial = 20ms;
  spec.restart_backoff_max = 1000ms;
  spec.restart_backoff_reset = 100ms;
  ProcessSupervisor supervisor(spec);
  start(supervisor);

  const auto kill_and_notice = [&] {
    ::kill(supervisor.status().pid, SIGKILL);
    return wait_until([&] {
      supervisor.tick();
      return supervisor.status().state == ProcessState::kBackoff;
    });
  };
  ASSERT_TRUE(kill_and_notice());
  EXPECT_EQ(supervisor.status().backoff, 20ms);
  ASSERT_TRUE(tick_until_restarted(supervisor, 1));
  ASSERT_TRUE(kill_and_notice());
  EXPECT_EQ(supervisor.status().backoff, 40ms);
  ASSERT_TRUE(tick_until_restarted(supervisor, 2));

  // The condition here is time itself: the daemon must stay up longer than restart_backoff_reset.
  std::this_thread::sleep_for(150ms);
  ASSERT_TRUE(kill_and_notice());
  EXPECT_EQ(supervisor.status().backoff, 20ms);
}

TEST_F(ProcessSupervisorTest, StopSendsTheStopSignalAndRemovesThePidFile) {
  const auto spec = spec_for("polite", {"/bin/sleep", "60"});
  ProcessSupervisor supervisor(spec);
  start(supervisor);
  const auto identity = read_process_identity(supervisor.status().pid);
  ASSERT_TRUE(identity.has_value());

  ASSERT_TRUE(supervisor.stop().ok());
  EXPECT_FALSE(is_alive(*identity));
  EXPECT_FALSE(std::filesystem::exists(spec.pid_file));
  EXPECT_EQ(supervisor.status().state, ProcessState::kStopped);
  EXPECT_EQ(supervisor.status().pid, 0);
  EXPECT_EQ(supervisor.status().last_exit_reason, "stopped by SIGTERM");

  supervisor.tick();  // a stopped daemon stays stopped
  EXPECT_EQ(supervisor.status().state, ProcessState::kStopped);
  EXPECT_EQ(supervisor.status().restarts, 0);
  EXPECT_TRUE(supervisor.stop().ok());  // idempotent
}

TEST_F(ProcessSupervisorTest, StopEscalatesToSigkillAfterTheTimeout) {
  auto spec = spec_for("stubborn", {"/bin/sh", "-c", "trap '' TERM; echo ready; sleep 60; echo never"});
  spec.stop_timeout = 300ms;
  ProcessSupervisor supervisor(spec);
  start(supervisor);
  const auto identity = read_process_identity(supervisor.status().pid);
  ASSERT_TRUE(identity.has_value());
  // Only once "ready" is printed is the trap in place.
  ASSERT_TRUE(wait_until([&] { return read_text(spec.log_file).find("ready") != std::string::npos; }));

  const auto before = SteadyClock::now();
  ASSERT_TRUE(supervisor.stop().ok());
  const auto took = SteadyClock::now() - before;
  EXPECT_GE(took, 300ms);
  EXPECT_LT(took, 5s);
  EXPECT_FALSE(is_alive(*identity));
  EXPECT_FALSE(std::filesystem::exists(spec.pid_file));
  EXPECT_NE(supervisor.status().last_exit_reason.find("SIGKILL"), std::string::npos)
      << supervisor.status().last_exit_reason;
}

TEST_F(ProcessSupervisorTest, SendSignalReachesTheDaemon) {
  const auto spec =
      spec_for("reloader", {"/bin/sh", "-c", "trap 'echo reloaded' HUP; echo ready; while :; do sleep 0.02; done"});
  ProcessSupervisor supervisor(spec);
  start(supervisor);
  ASSERT_TRUE(wait_until([&] { return read_text(spec.log_file).find("ready") != std::string::npos; }));

  ASSERT_TRUE(supervisor.send_signal(SIGHUP).ok());
  EXPECT_TRUE(wait_until([&] { return read_text(spec.log_file).find("reloaded") != std::string::npos; }));
  EXPECT_TRUE(supervisor.is_running());

  ASSERT_TRUE(supervisor.stop().ok());
  const auto refused = supervisor.send_signal(SIGHUP);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kFailedPrecondition);
}

TEST_F(ProcessSupervisorTest, RunsAsTheGivenUser) {
  const passwd* user = ::getpwnam("postgres");
  if (::geteuid() != 0 || user == nullptr) GTEST_SKIP() << "needs root and a 'postgres' user";
  const long uid = user->pw_uid;
  const long gid = user->pw_gid;
  auto spec = spec_for("unprivileged", {"/bin/sleep", "60"});
  spec.run_as_user = "postgres";
  ProcessSupervisor supervisor(spec);
  start(supervisor);
  const pid_t pid = supervisor.status().pid;

  EXPECT_EQ(status_ids(pid, "Uid"), (std::vector<long>{uid, uid, uid, uid}));
  EXPECT_EQ(status_ids(pid, "Gid"), (std::vector<long>{gid, gid, gid, gid}));
  const auto groups = status_ids(pid, "Groups");
  EXPECT_EQ(std::count(groups.begin(), groups.end(), 0L), 0) << "still in root's group";

  struct stat log {};
  ASSERT_EQ(::stat(spec.log_file.c_str(), &log), 0);
  EXPECT_EQ(static_cast<long>(log.st_uid), uid);
  EXPECT_EQ(static_cast<long>(log.st_gid), gid);
  EXPECT_EQ(log.st_mode & 0777, 0640U);
}

TEST_F(ProcessSupervisorTest, StartFailsWithTheReasonWhenTheDaemonCannotRun) {
  const auto expect_failure = [&](ProcessSpec spec, ErrorCode code, const std::string& fragment) {
    ProcessSupervisor supervisor(std::move(spec));
    const auto outcome = supervisor.start();
    ASSERT_FALSE(outcome.ok());
    EXPECT_EQ(outcome.error().code, code);
    EXPECT_NE(outcome.error().message.find(fragment), std::string::npos) << outcome.error().message;
    EXPECT_EQ(supervisor.status().state, ProcessState::kStopped);
    EXPECT_FALSE(std::filesystem::exists(supervisor.spec().pid_file));
  };
  expect_failure(spec_for("missing", {"/nonexistent/daemon"}), ErrorCode::kUnavailable, "exec '/nonexistent/daemon'");
  expect_failure(spec_for("unknown", {"pgstack-no-such-program"}), ErrorCode::kUnavailable, "not found in PATH");

  auto bad_directory = spec_for("nowhere", {"/bin/sleep", "60"});
  bad_directory.working_directory = dir_ / "missing";
  expect_failure(bad_directory, ErrorCode::kUnavailable, "chdir");

  auto bad_log = spec_for("unlogged", {"/bin/sleep", "60"});
  bad_log.log_file = dir_ / "missing" / "daemon.log";
  expect_failure(bad_log, ErrorCode::kUnavailable, "log file");

  auto bad_user = spec_for("nobody-here", {"/bin/sleep", "60"});
  bad_user.run_as_user = "pgstack-no-such-user";
  expect_failure(bad_user, ErrorCode::kFailedPrecondition, "does not exist");

  expect_failure(spec_for("empty", {}), ErrorCode::kInvalidInput, "argv");
}

}  // namespace
}  // namespace pgstack
