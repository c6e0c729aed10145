#include "support/child_process.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <string_view>
#include <thread>
#include <unistd.h>

#include <fmt/format.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include "common/files.h"

namespace pgstack::testing {

namespace {

// What the child needs to become another user, looked up before fork (getpwnam is not
// async-signal-safe).
struct ChildIdentity {
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;
  std::vector<std::string> environment;  // ours with HOME, USER and LOGNAME of the user
};

Result<ChildIdentity> child_identity(const std::string& user) {
  const passwd* entry = ::getpwnam(user.c_str());
  if (entry == nullptr)
    return make_error(ErrorCode::kFailedPrecondition, fmt::format("system user '{}' does not exist", user));
  ChildIdentity identity;
  identity.uid = entry->pw_uid;
  identity.gid = entry->pw_gid;
  int count = 32;
  identity.groups.resize(static_cast<std::size_t>(count));
  if (::getgrouplist(user.c_str(), identity.gid, identity.groups.data(), &count) < 0) {
    identity.groups.resize(static_cast<std::size_t>(count));
    ::getgrouplist(user.c_str(), identity.gid, identity.groups.data(), &count);
  }
  identity.groups.resize(static_cast<std::size_t>(std::max(count, 0)));
  for (char** variable = environ; *variable != nullptr; ++variable) {
    const std::string_view text(*variable);
    if (text.starts_with("HOME=") || text.starts_with("USER=") || text.starts_with("LOGNAME=")) continue;
    identity.environment.emplace_back(text);
  }
  identity.environment.push_back(std::string("HOME=") + entry->pw_dir);
  identity.environment.push_back("USER=" + user);
  identity.environment.push_back("LOGNAME=" + user);
  return identity;
}

}  // namespace

Result<pid_t> spawn_child(const std::vector<std::string>& argv, const std::filesystem::path& log_path) {
  return spawn_child(argv, log_path, ChildPlacement{});
}

Result<pid_t> spawn_child(const std::vector<std::string>& argv, const std::filesystem::path& log_path,
                          const ChildPlacement& placement) {
  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const auto& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);

  std::optional<ChildIdentity> identity;
  std::vector<char*> environment;
  if (placement.user) {
    auto found = child_identity(*placement.user);
    RETURN_IF_ERROR(found);
    identity = std::move(found).value();
    for (auto& variable : identity->environment) environment.push_back(variable.data());
    environment.push_back(nullptr);
  }
  int namespace_fd = -1;
  if (!placement.network_namespace.empty()) {
    namespace_fd = ::open(placement.network_namespace.c_str(), O_RDONLY | O_CLOEXEC);
    if (namespace_fd < 0)
      return make_error(ErrorCode::kUnavailable,
                        fmt::format("{}: {}", placement.network_namespace.string(), std::strerror(errno)));
  }

  const int log_fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) {
    if (namespace_fd >= 0) ::close(namespace_fd);
    return make_error(ErrorCode::kUnavailable, fmt::format("{}: {}", log_path.string(), std::strerror(errno)));
  }
  const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) {
    const std::string reason = std::strerror(errno);
    ::close(log_fd);
    ::close(null_fd);
    if (namespace_fd >= 0) ::close(namespace_fd);
    return make_error(ErrorCode::kUnavailable, fmt::format("fork: {}", reason));
  }
  if (pid == 0) {
    // Only async-signal-safe calls until exec. A test that crashes must not leave its servers behind.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) _exit(125);
    if (namespace_fd >= 0 && ::setns(namespace_fd, CLONE_NEWNET) != 0) _exit(126);
    if (identity && (::setgroups(identity->groups.size(), identity->groups.data()) != 0 ||
                     ::setgid(identity->gid) != 0 || ::setuid(identity->uid) != 0))
      _exit(126);
    ::dup2(null_fd, STDIN_FILENO);
    ::dup2(log_fd, STDOUT_FILENO);
    ::dup2(log_fd, STDERR_FILENO);
    if (identity)
      ::execve(args[0], args.data(), environment.data());
    else
      ::execv(args[0], args.data());
    _exit(127);
  }
  ::close(log_fd);
  ::close(null_fd);
  if (namespace_fd >= 0) ::close(namespace_fd);
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
