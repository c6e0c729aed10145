#include "support/child_process.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <signal.h>
#include <thread>
#include <unistd.h>

#include <fmt/format.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include "common/files.h"

namespace pgstack::testing {

Result<pid_t> spawn_child(const std::vector<std::string>& argv, const std::filesystem::path& log_path) {
  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const auto& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);

  const int log_fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0)
    return make_error(ErrorCode::kUnavailable, fmt::format("{}: {}", log_path.string(), std::strerror(errno)));
  const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(log_fd);
    ::close(null_fd);
    return make_error(ErrorCode::kUnavailable, fmt::format("fork: {}", std::strerror(errno)));
  }
  if (pid == 0) {
    // Only async-signal-safe calls until exec. A test that crashes must not leave its servers behind.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) _exit(125);
    ::dup2(null_fd, STDIN_FILENO);
    ::dup2(log_fd, STDOUT_FILENO);
    ::dup2(log_fd, STDERR_FILENO);
    ::execv(args[0], args.data());
    _exit(127);
  }
  ::close(log_fd);
  ::close(null_fd);
  return pid;
}

bool child_has_exited(pid_t pid) {
  int status = 0;
  const pid_t result = ::waitpid(pid, &status, WNOHANG);
  return result == pid || (result < 0 && errno == ECHILD);
}

void stop_child(pid_t& pid, std::chrono::milliseconds grace) {
  if (pid <= 0) return;
  ::kill(pid, SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + grace;
  while (!child_has_exited(pid)) {
    if (std::chrono::steady_clock::now() >= deadline) {
      ::kill(pid, SIGKILL);
      while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
      }
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  pid = -1;
}

std::string file_tail(const std::filesystem::path& path, std::size_t bytes) {
  auto log = read_file(path);
  if (!log) return "(no log: " + log.error().message + ")";
  return log->size() <= bytes ? *log : log->substr(log->size() - bytes);
}

Result<bool> wait_until_ready(pid_t& pid, const std::string& name, const std::string& where,
                              const std::filesystem::path& log_path, const ReadinessProbe& probe,
                              std::chrono::seconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string last_problem = "no answer yet";
  while (std::chrono::steady_clock::now() < deadline) {
    if (child_has_exited(pid)) {
      pid = -1;
      return make_error(ErrorCode::kUnavailable,
                        fmt::format("{} exited while starting; the end of its log:\n{}", name, file_tail(log_path)));
    }
    const auto problem = probe();
    if (!problem) return true;
    last_problem = *problem;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // the poll interval, not a guess at readiness
  }
  return make_error(ErrorCode::kUnavailable,
                    fmt::format("{} at {} not ready after {} s ({}); the end of its log:\n{}", name, where,
                                timeout.count(), last_problem, file_tail(log_path)));
}

}  // namespace pgstack::testing
