#include "process/process_supervisor.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <grp.h>
#include <limits>
#include <poll.h>
#include <pwd.h>
#include <sstream>
#include <thread>
#include <unistd.h>
#include <utility>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "common/files.h"
#include "common/process.h"
#include "common/strings.h"

namespace pgstack {
namespace {

using SteadyClock = std::chrono::steady_clock;
using SystemClock = std::chrono::system_clock;
using std::chrono::milliseconds;

// How long a SIGKILLed process may take to disappear before stop() gives up (it is in the kernel then).
constexpr milliseconds kKillTimeout{10000};
// Only used where pidfds are missing (kernels before 5.3).
constexpr milliseconds kLivenessPollInterval{10};

// "; the end of its output (<file>): | line | line", or nothing when the daemon has no log file or it is empty.
std::string last_output(const std::filesystem::path& log_file) {
  if (log_file.empty()) return "";
  const auto tail = read_file_tail(log_file, 2048);
  if (!tail) return "";
  const auto lines = last_lines(*tail, 5);
  if (lines.empty()) return "";
  std::string out = fmt::format("; the end of its output ({}):", log_file.string());
  for (const auto& line : lines) out += " | " + line;
  return out;
}

class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    reset(std::exchange(other.fd_, -1));
    return *this;
  }
  ~UniqueFd() { reset(); }
  int get() const { return fd_; }
  void reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

// Keeps fds away from 0-2 so that dup2() onto stdin/stdout/stderr in the child never clobbers a source.
UniqueFd above_stdio(int fd) {
  if (fd < 0 || fd > STDERR_FILENO) return UniqueFd(fd);
  const int moved = ::fcntl(fd, F_DUPFD_CLOEXEC, STDERR_FILENO + 1);
  ::close(fd);
  return UniqueFd(moved);
}

struct StatFields {
  char state = '?';
  std::uint64_t start_time = 0;
};

// Parses /proc/<pid>/stat without allocating: the middle child of the double fork calls it.
bool parse_stat(const char* text, std::size_t size, StatFields& out) {
  // comm (field 2) may contain spaces and ')', so fields are counted from the last ')'.
  std::size_t position = size;
  while (position > 0 && text[position - 1] != ')') --position;
  if (position == 0) return false;
  int field = 2;
  while (position < size) {
    while (position < size && (text[position] == ' ' || text[position] == '\n')) ++position;
    if (position >= size) break;
    ++field;
    const std::size_t token = position;
    while (position < size && text[position] != ' ' && text[position] != '\n') ++position;
    if (field == 3) out.state = text[token];
    if (field == 22) {
      std::uint64_t value = 0;
      for (std::size_t i = token; i < position; ++i) {
        if (text[i] < '0' || text[i] > '9') return false;
        value = value * 10 + static_cast<std::uint64_t>(text[i] - '0');
      }
      out.start_time = value;
      return true;
    }
  }
  return false;
}

// Async-signal-safe (no allocation, no stdio), for the same reason as parse_stat.
bool read_stat(pid_t pid, StatFields& out) {
  char path[64] = "/proc/";
  char digits[24];
  int count = 0;
  for (auto value = static_cast<unsigned long>(pid); count == 0 || value > 0; value /= 10) {
    digits[count++] = static_cast<char>('0' + value % 10);
  }
  std::size_t length = std::strlen(path);
  while (count > 0) path[length++] = digits[--count];
  std::memcpy(path + length, "/stat", sizeof "/stat");

  const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char buffer[4096];
  std::size_t size = 0;
  while (size < sizeof buffer) {
    const ssize_t n = ::read(fd, buffer + size, sizeof buffer - size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    size += static_cast<std::size_t>(n);
  }
  ::close(fd);
  return parse_stat(buffer, size, out);
}

std::string signal_name(int signal) {
  const char* abbreviation = ::sigabbrev_np(signal);
  return abbreviation != nullptr ? fmt::format("SIG{}", abbreviation) : fmt::format("signal {}", signal);
}

// Wall-clock start of a process: boot time plus its start time in clock ticks.
std::optional<SystemClock::time_point> wall_start_time(std::uint64_t start_ticks) {
  const auto stat = read_file("/proc/stat");
  const long ticks_per_second = ::sysconf(_SC_CLK_TCK);
  if (!stat || ticks_per_second <= 0) return std::nullopt;
  std::istringstream lines(*stat);
  std::string key;
  long long boot_time = 0;
  while (lines >> key) {
    if (key == "btime" && lines >> boot_time) {
      const auto since_boot =
          std::chrono::milliseconds(start_ticks * 1000 / static_cast<std::uint64_t>(ticks_per_second));
      return SystemClock::time_point(std::chrono::seconds(boot_time)) +
             std::chrono::duration_cast<SystemClock::duration>(since_boot);
    }
    lines.ignore(std::numeric_limits<std::streamsize>::max(), '\n');
  }
  return std::nullopt;
}

std::optional<ProcessIdentity> parse_pid_file(const std::string& content) {
  std::istringstream stream(content);
  long long pid = 0;
  std::uint64_t start_time = 0;
  if (!(stream >> pid >> start_time) || pid <= 0) return std::nullopt;
  return ProcessIdentity{static_cast<pid_t>(pid), start_time};
}

std::string basename_of(std::string_view path) {
  const auto slash = path.rfind('/');
  return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

// True when /proc/<pid>/cmdline runs `program`. Besides argv[0], the next two entries are accepted
// because a script (Patroni) shows up as "<interpreter> [option] <script> ...".
bool runs_program(pid_t pid, const std::string& program) {
  const auto cmdline = read_file(fmt::format("/proc/{}/cmdline", pid));
  if (!cmdline) return false;
  const std::string expected = basename_of(program);
  std::size_t begin = 0;
  for (int index = 0; index < 3 && begin < cmdline->size(); ++index) {
    std::size_t end = cmdline->find('\0', begin);
    if (end == std::string::npos) end = cmdline->size();
    if (basename_of(std::string_view(*cmdline).substr(begin, end - begin)) == expected) return true;
    begin = end + 1;
  }
  return false;
}

// A pidfd pins one process, so a signal sent through it can never reach a recycled pid.
class PidHandle {
 public:
  static std::optional<PidHandle> open(const ProcessIdentity& identity) {
    PidHandle handle;
    handle.identity_ = identity;
#ifdef SYS_pidfd_open
    handle.fd_.reset(static_cast<int>(::syscall(SYS_pidfd_open, identity.pid, 0)));
#endif
    // Checked after opening: the pidfd now refers to whatever owns the pid, so it must still be ours.
    if (!is_alive(identity)) return std::nullopt;
    return handle;
  }

  bool send(int signal) const {
#ifdef SYS_pidfd_send_signal
    if (fd_.get() >= 0) return ::syscall(SYS_pidfd_send_signal, fd_.get(), signal, nullptr, 0) == 0;
#endif
    return ::kill(identity_.pid, signal) == 0;
  }

  // True once the process has exited (a zombie counts as exited), false at the deadline.
  bool wait_for_exit(milliseconds timeout) const {
    const auto deadline = SteadyClock::now() + timeout;
    while (true) {
      const auto remaining = std::chrono::duration_cast<milliseconds>(deadline - SteadyClock::now());
      if (fd_.get() >= 0) {
        pollfd poll_fd{fd_.get(), POLLIN, 0};
        const int ready = ::poll(&poll_fd, 1, static_cast<int>(std::max<milliseconds::rep>(remaining.count(), 0)));
        if (ready > 0) return true;
        if (ready < 0 && errno != EINTR) return !is_alive(identity_);
      } else {
        if (!is_alive(identity_)) return true;
        std::this_thread::sleep_for(std::min(kLivenessPollInterval, std::max(remaining, milliseconds(0))));
      }
      if (SteadyClock::now() >= deadline) return !is_alive(identity_);
    }
  }

 private:
  ProcessIdentity identity_;
  UniqueFd fd_;
};

// Steps of the spawn, reported through a pipe by the forked children so that start() fails with a
// precise reason instead of a daemon that silently never ran.
enum class SpawnStep : int {
  kSpawned,  // not a failure: carries the daemon's pid and start time
  kSetsid,
  kFork,
  kSetpgid,
  kRedirect,
  kSetgroups,
  kSetgid,
  kSetuid,
  kChdir,
  kExec,
};

struct SpawnReport {
  SpawnStep step = SpawnStep::kSpawned;
  int error = 0;
  pid_t pid = 0;
  std::uint64_t start_time = 0;
};

// Everything the child needs, prepared before fork: after fork only async-signal-safe calls are allowed.
struct ExecPlan {
  std::string program;
  std::vector<std::string> argument_storage;
  std::vector<std::string> environment_storage;
  std::vector<char*> argv;
  std::vector<char*> envp;
  std::string working_directory;
  bool drop_privileges = false;
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;
  UniqueFd stdin_fd;
  UniqueFd log_fd;
};

void report(int fd, const SpawnReport& message) {
  // Smaller than PIPE_BUF, so the write is atomic.
  [[maybe_unused]] const ssize_t written = ::write(fd, &message, sizeof message);
}

[[noreturn]] void fail(int report_fd, SpawnStep step) {
  report(report_fd, SpawnReport{step, errno, 0, 0});
  ::_exit(127);
}

// The grandchild: becomes the daemon.
[[noreturn]] void exec_daemon(const ExecPlan& plan, int report_fd) {
  // Own process group, so an operator can signal the daemon and its children together.
  if (::setpgid(0, 0) != 0) fail(report_fd, SpawnStep::kSetpgid);

  // Ignored signals and the blocked mask survive execve; the daemon must start with defaults.
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  struct sigaction default_action {};
  default_action.sa_handler = SIG_DFL;
  for (int signal = 1; signal < NSIG; ++signal) {
    if (signal != SIGKILL && signal != SIGSTOP) ::sigaction(signal, &default_action, nullptr);
  }

  if (::dup2(plan.stdin_fd.get(), STDIN_FILENO) < 0 || ::dup2(plan.log_fd.get(), STDOUT_FILENO) < 0 ||
      ::dup2(plan.log_fd.get(), STDERR_FILENO) < 0) {
    fail(report_fd, SpawnStep::kRedirect);
  }
  close_inherited_fds_on_exec();  // the report pipe must stay open until execve succeeds

  if (plan.drop_privileges) {
    if (::setgroups(plan.groups.size(), plan.groups.data()) != 0) fail(report_fd, SpawnStep::kSetgroups);
    if (::setgid(plan.gid) != 0) fail(report_fd, SpawnStep::kSetgid);
    if (::setuid(plan.uid) != 0) fail(report_fd, SpawnStep::kSetuid);
  }
  // After setuid, so the directory must be usable by the daemon's user.
  if (::chdir(plan.working_directory.c_str()) != 0) fail(report_fd, SpawnStep::kChdir);

  ::execve(plan.program.c_str(), plan.argv.data(), plan.envp.data());
  fail(report_fd, SpawnStep::kExec);
}

std::string describe_failure(const ExecPlan& plan, const SpawnReport& failure) {
  std::string reason = std::strerror(failure.error);
  switch (failure.step) {
    case SpawnStep::kSetsid: return fmt::format("setsid: {}", reason);
    case SpawnStep::kFork: return fmt::format("fork: {}", reason);
    case SpawnStep::kSetpgid: return fmt::format("setpgid: {}", reason);
    case SpawnStep::kRedirect: return fmt::format("redirecting stdin/stdout/stderr: {}", reason);
    case SpawnStep::kSetgroups: return fmt::format("setgroups: {}", reason);
    case SpawnStep::kSetgid: return fmt::format("setgid({}): {}", plan.gid, reason);
    case SpawnStep::kSetuid: return fmt::format("setuid({}): {}", plan.uid, reason);
    case SpawnStep::kChdir: return fmt::format("chdir to '{}': {}", plan.working_directory, reason);
    case SpawnStep::kExec: return fmt::format("exec '{}': {}", plan.program, reason);
    case SpawnStep::kSpawned: break;
  }
  return reason;
}

Result<std::string> resolve_executable(const ProcessSpec& spec) {
  const std::string& program = spec.argv.front();
  if (program.find('/') != std::string::npos) return program;
  std::string search_path = "/usr/local/bin:/usr/bin:/bin";
  if (const auto found = spec.environment.find("PATH"); found != spec.environment.end()) {
    search_path = found->second;
  } else if (const char* inherited = std::getenv("PATH"); inherited != nullptr) {
    search_path = inherited;
  }
  std::istringstream directories(search_path);
  std::string directory;
  while (std::getline(directories, directory, ':')) {
    const std::string candidate = (directory.empty() ? std::string(".") : directory) + "/" + program;
    struct stat info {};
    if (::stat(candidate.c_str(), &info) == 0 && S_ISREG(info.st_mode) && ::access(candidate.c_str(), X_OK) == 0)
      return candidate;
  }
  return make_error(ErrorCode::kUnavailable,
                    fmt::format("cannot start '{}': '{}' not found in PATH ({})", spec.name, program, search_path));
}

Result<bool> resolve_user(const ProcessSpec& spec, ExecPlan& plan) {
  if (!spec.run_as_user) return true;
  const std::string& user = *spec.run_as_user;
  passwd entry{};
  passwd* found = nullptr;
  std::vector<char> buffer(16384);
  if (::getpwnam_r(user.c_str(), &entry, buffer.data(), buffer.size(), &found) != 0 || found == nullptr) {
    return make_error(ErrorCode::kFailedPrecondition,
                      fmt::format("cannot start '{}': system user '{}' does not exist", spec.name, user));
  }
  plan.uid = entry.pw_uid;
  plan.gid = entry.pw_gid;
  // Already that user: nothing to drop (and without root nothing could be changed anyway).
  if (plan.uid == ::geteuid() && plan.gid == ::getegid()) return true;
  int count = 32;
  plan.groups.resize(static_cast<std::size_t>(count));
  while (::getgrouplist(user.c_str(), plan.gid, plan.groups.data(), &count) < 0) {
    plan.groups.resize(static_cast<std::size_t>(count));
  }
  plan.groups.resize(static_cast<std::size_t>(count));
  plan.drop_privileges = true;
  return true;
}

Result<bool> open_output(const ProcessSpec& spec, ExecPlan& plan) {
  plan.stdin_fd = above_stdio(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  if (plan.stdin_fd.get() < 0)
    return make_error(ErrorCode::kUnavailable, fmt::format("cannot open /dev/null: {}", std::strerror(errno)));

  if (spec.log_file.empty()) {
    plan.log_fd = above_stdio(::open("/dev/null", O_WRONLY | O_CLOEXEC));
  } else {
    constexpr int kFlags = O_WRONLY | O_APPEND | O_CLOEXEC | O_NOCTTY;
    int fd = ::open(spec.log_file.c_str(), kFlags | O_CREAT | O_EXCL, 0640);
    if (fd >= 0) {
      // The umask may have narrowed the mode; the daemon's user owns its log.
      ::fchmod(fd, 0640);
      if (plan.drop_privileges && ::fchown(fd, plan.uid, plan.gid) != 0) {
        const std::string reason = std::strerror(errno);
        ::close(fd);
        return make_error(ErrorCode::kUnavailable, fmt::format("{}: cannot give the log file to uid {}: {}",
                                                               spec.log_file.string(), plan.uid, reason));
      }
    } else if (errno == EEXIST) {
      fd = ::open(spec.log_file.c_str(), kFlags);
    }
    plan.log_fd = above_stdio(fd);
  }
  if (plan.log_fd.get() < 0) {
    return make_error(ErrorCode::kUnavailable,
                      fmt::format("{}: cannot open log file: {}", spec.log_file.string(), std::strerror(errno)));
  }
  return true;
}

// Double fork: the daemon ends up in its own session, re-parented to init, never our zombie.
Result<ProcessIdentity> spawn_daemon(const ProcessSpec& spec, const ExecPlan& plan) {
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0)
    return make_error(ErrorCode::kUnavailable,
                      fmt::format("cannot start '{}': pipe: {}", spec.name, std::strerror(errno)));
  UniqueFd read_end(pipe_fds[0]);
  UniqueFd write_end(pipe_fds[1]);

  const pid_t middle = ::fork();
  if (middle < 0)
    return make_error(ErrorCode::kUnavailable,
                      fmt::format("cannot start '{}': fork: {}", spec.name, std::strerror(errno)));
  if (middle == 0) {
    if (::setsid() < 0) fail(write_end.get(), SpawnStep::kSetsid);
    const pid_t daemon = ::fork();
    if (daemon < 0) fail(write_end.get(), SpawnStep::kFork);
    if (daemon == 0) exec_daemon(plan, write_end.get());
    // The daemon cannot have been reaped yet (we are its parent), so its stat is always readable.
    StatFields fields;
    read_stat(daemon, fields);
    report(write_end.get(), SpawnReport{SpawnStep::kSpawned, 0, daemon, fields.start_time});
    ::_exit(0);
  }
  write_end.reset();

  // Reads until EOF: the daemon's copy of the pipe closes on a successful execve.
  std::optional<SpawnReport> spawned;
  std::optional<SpawnReport> failure;
  SpawnReport message;
  std::size_t filled = 0;
  while (true) {
    const ssize_t n = ::read(read_end.get(), reinterpret_cast<char*>(&message) + filled, sizeof message - filled);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    filled += static_cast<std::size_t>(n);
    if (filled < sizeof message) continue;
    filled = 0;
    (message.step == SpawnStep::kSpawned ? spawned : failure) = message;
  }
  int middle_status = 0;
  while (::waitpid(middle, &middle_status, 0) < 0 && errno == EINTR) {
  }

  if (failure) {
    return make_error(ErrorCode::kUnavailable,
                      fmt::format("cannot start '{}': {}", spec.name, describe_failure(plan, *failure)));
  }
  if (!spawned || spawned->pid <= 0) {
    return make_error(ErrorCode::kInternal, fmt::format("cannot start '{}': the spawning process died", spec.name));
  }
  return ProcessIdentity{spawned->pid, spawned->start_time};
}

}  // namespace

std::string_view process_state_name(ProcessState state) {
  switch (state) {
    case ProcessState::kRunning: return "Running";
    case ProcessState::kStopped: return "Stopped";
    case ProcessState::kBackoff: return "Backoff";
  }
  return "Unknown";
}

std::optional<ProcessIdentity> read_process_identity(pid_t pid) {
  if (pid <= 0) return std::nullopt;
  StatFields fields;
  if (!read_stat(pid, fields)) return std::nullopt;
  if (fields.state == 'Z' || fields.state == 'X' || fields.state == 'x') return std::nullopt;
  return ProcessIdentity{pid, fields.start_time};
}

bool is_alive(const ProcessIdentity& identity) {
  if (identity.pid <= 0) return false;
  if (::kill(identity.pid, 0) != 0 && errno != EPERM) return false;
  const auto current = read_process_identity(identity.pid);
  return current && *current == identity;
}

ProcessSupervisor::ProcessSupervisor(ProcessSpec spec) : spec_(std::move(spec)) {}

Result<StartOutcome> ProcessSupervisor::start() {
  if (spec_.argv.empty() || spec_.argv.front().empty())
    return make_error(ErrorCode::kInvalidInput, fmt::format("process '{}': argv must name a program", spec_.name));
  if (spec_.pid_file.empty())
    return make_error(ErrorCode::kInvalidInput, fmt::format("process '{}': pid_file must be set", spec_.name));

  if (process_ && is_alive(*process_)) {
    state_ = ProcessState::kRunning;
    return StartOutcome::kAlreadyRunning;
  }
  if (try_reattach()) return StartOutcome::kReattached;
  const auto spawned = spawn();
  RETURN_IF_ERROR(spawned);
  return StartOutcome::kStarted;
}

bool ProcessSupervisor::try_reattach() {
  const auto content = read_file(spec_.pid_file);
  if (!content) {
    if (content.error().code != ErrorCode::kNotFound) spdlog::warn("{}: {}", spec_.name, content.error().message);
    return false;
  }
  const auto recorded = parse_pid_file(*content);
  if (!recorded) {
    spdlog::warn("{}: ignoring malformed pid file {}", spec_.name, spec_.pid_file.string());
    return false;
  }
  if (!is_alive(*recorded)) {
    spdlog::info("{}: pid file {} is stale (pid {} is gone or was reused)", spec_.name, spec_.pid_file.string(),
                 recorded->pid);
    return false;
  }
  if (!runs_program(recorded->pid, spec_.argv.front())) {
    spdlog::warn("{}: pid file {} names pid {}, which does not run {}; not attaching", spec_.name,
                 spec_.pid_file.string(), recorded->pid, spec_.argv.front());
    return false;
  }
  process_ = recorded;
  state_ = ProcessState::kRunning;
  const auto now = SystemClock::now();
  last_start_ = wall_start_time(recorded->start_time).value_or(now);
  const auto uptime = std::max(SystemClock::duration::zero(), now - *last_start_);
  running_since_ = SteadyClock::now() - std::chrono::duration_cast<SteadyClock::duration>(uptime);
  spdlog::info("{}: re-attached to running pid {}", spec_.name, recorded->pid);
  return true;
}

Result<bool> ProcessSupervisor::spawn() {
  ExecPlan plan;
  auto program = resolve_executable(spec_);
  RETURN_IF_ERROR(program);
  plan.program = std::move(program).value();
  RETURN_IF_ERROR(resolve_user(spec_, plan));
  RETURN_IF_ERROR(open_output(spec_, plan));

  plan.argument_storage = spec_.argv;
  for (const auto& [name, value] : spec_.environment)
    plan.environment_storage.push_back(fmt::format("{}={}", name, value));
  for (auto& argument : plan.argument_storage) plan.argv.push_back(argument.data());
  plan.argv.push_back(nullptr);
  for (auto& variable : plan.environment_storage) plan.envp.push_back(variable.data());
  plan.envp.push_back(nullptr);
  plan.working_directory = spec_.working_directory.empty() ? "/" : spec_.working_directory.string();

  const auto spawned = spawn_daemon(spec_, plan);
  RETURN_IF_ERROR(spawned);
  const ProcessIdentity identity = *spawned;

  const auto written = write_file_atomically(spec_.pid_file, fmt::format("{}\n{}\n", identity.pid, identity.start_time),
                                             std::filesystem::perms(0644));
  if (!written) {
    // Without a pid file the next agent would start a second copy; better not to run at all.
    ::kill(identity.pid, SIGKILL);
    return make_error(written.error().code, fmt::format("cannot start '{}': {}", spec_.name, written.error().message));
  }
  process_ = identity;
  state_ = ProcessState::kRunning;
  last_start_ = SystemClock::now();
  running_since_ = SteadyClock::now();
  spdlog::info("{}: started pid {}", spec_.name, identity.pid);
  return true;
}

bool ProcessSupervisor::is_running() const { return process_ && is_alive(*process_); }

Result<bool> ProcessSupervisor::stop() {
  const auto finish = [this](std::string reason) {
    std::error_code ignored;
    std::filesystem::remove(spec_.pid_file, ignored);
    process_.reset();
    state_ = ProcessState::kStopped;
    backoff_ = milliseconds(0);
    if (!reason.empty()) last_exit_reason_ = std::move(reason);
    return true;
  };
  const auto handle = process_ ? PidHandle::open(*process_) : std::nullopt;
  if (!handle) return finish(process_ ? "exited" : "");

  const pid_t pid = process_->pid;
  if (!handle->send(spec_.stop_signal) && errno != ESRCH) {
    return make_error(ErrorCode::kUnavailable,
                      fmt::format("cannot stop '{}' (pid {}): {}", spec_.name, pid, std::strerror(errno)));
  }
  if (handle->wait_for_exit(spec_.stop_timeout)) {
    spdlog::info("{}: pid {} stopped by {}", spec_.name, pid, signal_name(spec_.stop_signal));
    return finish(fmt::format("stopped by {}", signal_name(spec_.stop_signal)));
  }
  spdlog::warn("{}: pid {} still running {} ms after {}; sending SIGKILL", spec_.name, pid, spec_.stop_timeout.count(),
               signal_name(spec_.stop_signal));
  handle->send(SIGKILL);
  if (!handle->wait_for_exit(kKillTimeout)) {
    return make_error(ErrorCode::kUnavailable, fmt::format("cannot stop '{}': pid {} still exists {} ms after SIGKILL",
                                                           spec_.name, pid, kKillTimeout.count()));
  }
  return finish(fmt::format("killed by SIGKILL: still running {} ms after {}", spec_.stop_timeout.count(),
                            signal_name(spec_.stop_signal)));
}

void ProcessSupervisor::schedule_restart(SteadyClock::time_point now) {
  const bool healthy = backoff_ == milliseconds(0) || now - running_since_ >= spec_.restart_backoff_reset;
  backoff_ = healthy ? spec_.restart_backoff_initial : std::min(backoff_ * 2, spec_.restart_backoff_max);
  restart_at_ = now + backoff_;
  state_ = ProcessState::kBackoff;
}

void ProcessSupervisor::tick() {
  const auto now = SteadyClock::now();
  switch (state_) {
    case ProcessState::kStopped: return;
    case ProcessState::kRunning: {
      if (process_ && is_alive(*process_)) return;
      const auto uptime = std::chrono::duration_cast<milliseconds>(now - running_since_);
      // Not our child (double fork), so its exit status is out of reach.
      last_exit_reason_ = "exited";
      std::error_code ignored;
      std::filesystem::remove(spec_.pid_file, ignored);
      const pid_t pid = process_ ? process_->pid : 0;
      process_.reset();
      schedule_restart(now);
      // Its exit status is out of reach, but the end of its output usually says why (a traceback, a FATAL).
      spdlog::warn("{}: pid {} exited after {} ms; restarting in {} ms{}", spec_.name, pid, uptime.count(),
                   backoff_.count(), last_output(spec_.log_file));
      return;
    }
    case ProcessState::kBackoff: {
      if (now < restart_at_) return;
      ++restarts_;
      const auto spawned = spawn();
      if (!spawned) {
        last_exit_reason_ = fmt::format("restart failed: {}", spawned.error().message);
        running_since_ = now;  // a failed start counts as no uptime, so the backoff keeps growing
        schedule_restart(now);
        spdlog::warn("{}: {}; retrying in {} ms", spec_.name, last_exit_reason_, backoff_.count());
      }
      return;
    }
  }
}

ProcessStatus ProcessSupervisor::status() const {
  ProcessStatus status;
  status.state = state_;
  status.pid = process_ ? process_->pid : 0;
  status.restarts = restarts_;
  status.last_start = last_start_;
  status.last_exit_reason = last_exit_reason_;
  status.backoff = backoff_;
  return status;
}

Result<bool> ProcessSupervisor::send_signal(int signal) {
  const auto handle = process_ ? PidHandle::open(*process_) : std::nullopt;
  if (!handle) {
    return make_error(ErrorCode::kFailedPrecondition, fmt::format("cannot signal '{}': it is not running", spec_.name));
  }
  if (!handle->send(signal)) {
    return make_error(ErrorCode::kUnavailable, fmt::format("cannot send {} to '{}' (pid {}): {}", signal_name(signal),
                                                           spec_.name, process_->pid, std::strerror(errno)));
  }
  return true;
}

bool pid_file_names_live_process(const std::filesystem::path& pid_file, const std::string& program) {
  auto content = read_file(pid_file);
  if (!content) return false;
  std::istringstream stream(content.value());
  long long pid = 0;
  std::uint64_t start_time = 0;
  if (!(stream >> pid >> start_time) || pid <= 0) return false;
  if (!is_alive(ProcessIdentity{static_cast<pid_t>(pid), start_time})) return false;
  auto cmdline = read_file(fmt::format("/proc/{}/cmdline", pid));
  const std::string name = std::filesystem::path(program).filename().string();
  return cmdline && cmdline->find(name) != std::string::npos;
}

bool stop_from_pid_file(const std::string& name, const std::string& program, const std::filesystem::path& pid_file,
                        std::chrono::milliseconds timeout) {
  if (!pid_file_names_live_process(pid_file, program)) return false;
  ProcessSpec spec;
  spec.name = name;
  spec.argv = {program};
  spec.pid_file = pid_file;
  spec.stop_timeout = timeout;
  ProcessSupervisor supervisor(spec);
  auto attached = supervisor.start();
  if (!attached) {
    spdlog::warn("{}: {}", name, attached.error().message);
    return false;
  }
  if (auto stopped = supervisor.stop(); !stopped) spdlog::warn("{}: {}", name, stopped.error().message);
  return true;
}

}  // namespace pgstack
