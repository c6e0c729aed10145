#include "common/process.h"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <unistd.h>
#include <vector>

#include <fmt/format.h>
#include <sys/syscall.h>
#include <sys/wait.h>

namespace pgstack {
namespace {

struct Pipe {
  int read_end = -1;
  int write_end = -1;
  ~Pipe() {
    if (read_end >= 0) ::close(read_end);
    if (write_end >= 0) ::close(write_end);
  }
  bool open() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return false;
    read_end = fds[0];
    write_end = fds[1];
    return true;
  }
  void close_read() { ::close(read_end), read_end = -1; }
  void close_write() { ::close(write_end), write_end = -1; }
};

// Feeds stdin and drains stdout/stderr together so that neither pipe fills up and deadlocks the child.
void pump(Pipe& in, Pipe& out, Pipe& err, const std::string& input, CommandOutput& result) {
  std::size_t written = 0;
  if (input.empty()) in.close_write();
  char buffer[65536];
  while (out.read_end >= 0 || err.read_end >= 0) {
    pollfd fds[3];
    int count = 0;
    if (out.read_end >= 0) fds[count++] = {out.read_end, POLLIN, 0};
    if (err.read_end >= 0) fds[count++] = {err.read_end, POLLIN, 0};
    if (in.write_end >= 0) fds[count++] = {in.write_end, POLLOUT, 0};
    if (::poll(fds, count, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    for (int i = 0; i < count; ++i) {
      if (fds[i].revents == 0) continue;
      if (fds[i].fd == in.write_end) {
        const ssize_t n = ::write(in.write_end, input.data() + written, input.size() - written);
        if (n > 0) written += static_cast<std::size_t>(n);
        if (n < 0 || written == input.size()) in.close_write();
        continue;
      }
      const ssize_t n = ::read(fds[i].fd, buffer, sizeof buffer);
      if (n > 0) {
        (fds[i].fd == out.read_end ? result.standard_output : result.standard_error).append(buffer, n);
      } else if (n == 0 || errno != EINTR) {
        if (fds[i].fd == out.read_end)
          out.close_read();
        else
          err.close_read();
      }
    }
  }
}

// The child's environment as NAME=VALUE strings: this process's, then HOME and USER of `run_as_user`,
// then `extra_environment`. Built before fork: between fork and exec, a child of a threaded process
// may only make async-signal-safe calls, and setenv allocates. An allocator lock another thread held
// at the fork stays held in the child for ever (seen as a hang of a unit test under ASan).
std::vector<std::string> child_environment(const CommandOptions& options, const std::string& home) {
  std::vector<std::pair<std::string, std::string>> variables;
  auto set = [&variables](std::string name, std::string value) {
    for (auto& variable : variables) {
      if (variable.first == name) {
        variable.second = std::move(value);
        return;
      }
    }
    variables.emplace_back(std::move(name), std::move(value));
  };
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    const std::string_view text(*entry);
    const auto equals = text.find('=');
    if (equals == std::string_view::npos) continue;
    set(std::string(text.substr(0, equals)), std::string(text.substr(equals + 1)));
  }
  if (options.run_as_user) {
    set("HOME", home);
    set("USER", *options.run_as_user);
  }
  for (const auto& [name, value] : options.extra_environment) set(name, value);
  std::vector<std::string> out;
  out.reserve(variables.size());
  for (const auto& [name, value] : variables) {
    std::string variable = name;
    variable += '=';
    variable += value;
    out.push_back(std::move(variable));
  }
  return out;
}

}  // namespace

void close_inherited_fds_on_exec() {
  // Marked close-on-exec rather than closed: a caller may still need a pipe until execve succeeds.
#if defined(SYS_close_range) && defined(CLOSE_RANGE_CLOEXEC)
  if (::syscall(SYS_close_range, STDERR_FILENO + 1, ~0U, CLOSE_RANGE_CLOEXEC) == 0) return;
#endif
  const long limit = std::min<long>(::sysconf(_SC_OPEN_MAX), 1L << 16);
  for (int fd = STDERR_FILENO + 1; fd < limit; ++fd) ::fcntl(fd, F_SETFD, FD_CLOEXEC);
}

Result<CommandOutput> run_command(const std::vector<std::string>& argv, const CommandOptions& options) {
  if (argv.empty()) return make_error(ErrorCode::kInternal, "run_command: empty argv");

  uid_t uid = 0;
  gid_t gid = 0;
  std::string home;
  if (options.run_as_user) {
    // getpwnam_r: run_command is called from several threads at once (the agent's workers).
    passwd record{};
    passwd* entry = nullptr;
    std::vector<char> buffer(16384);
    ::getpwnam_r(options.run_as_user->c_str(), &record, buffer.data(), buffer.size(), &entry);
    if (entry == nullptr)
      return make_error(ErrorCode::kFailedPrecondition,
                        fmt::format("system user '{}' does not exist", *options.run_as_user));
    uid = entry->pw_uid;
    gid = entry->pw_gid;
    home = entry->pw_dir;
  }

  Pipe in, out, err;
  if (!in.open() || !out.open() || !err.open())
    return make_error(ErrorCode::kUnavailable, fmt::format("pipe: {}", std::strerror(errno)));

  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const auto& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  const std::vector<std::string> environment = child_environment(options, home);
  std::vector<char*> envp;
  envp.reserve(environment.size() + 1);
  for (const auto& variable : environment) envp.push_back(const_cast<char*>(variable.c_str()));
  envp.push_back(nullptr);

  const pid_t pid = ::fork();
  if (pid < 0) return make_error(ErrorCode::kUnavailable, fmt::format("fork: {}", std::strerror(errno)));
  if (pid == 0) {
    ::dup2(in.read_end, STDIN_FILENO);
    ::dup2(out.write_end, STDOUT_FILENO);
    ::dup2(err.write_end, STDERR_FILENO);
    if (options.run_as_user) {
      if (::setgroups(0, nullptr) != 0 || ::setgid(gid) != 0 || ::setuid(uid) != 0) _exit(126);
    }
    if (options.working_directory && ::chdir(options.working_directory->c_str()) != 0) _exit(126);
    close_inherited_fds_on_exec();
    ::execvpe(args[0], args.data(), envp.data());
    _exit(127);
  }
  in.close_read();
  out.close_write();
  err.close_write();

  // A child that stops reading stdin must not kill us.
  struct sigaction ignore {
  }, previous{};
  ignore.sa_handler = SIG_IGN;
  ::sigaction(SIGPIPE, &ignore, &previous);
  CommandOutput result;
  pump(in, out, err, options.standard_input, result);
  ::sigaction(SIGPIPE, &previous, nullptr);

  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status)) {
    result.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    result.exit_code = 128 + WTERMSIG(status);
  }
  if (result.exit_code == 127 && result.standard_output.empty() && result.standard_error.empty())
    return make_error(ErrorCode::kUnavailable, fmt::format("cannot run '{}': not found or not executable", argv[0]));
  if (result.exit_code == 126 && options.run_as_user && result.standard_error.empty())
    return make_error(ErrorCode::kUnavailable,
                      fmt::format("cannot run '{}' as user '{}'", argv[0], *options.run_as_user));
  return result;
}

std::optional<std::string> unprivileged_service_user() {
  if (::geteuid() == 0) return std::string("postgres");
  return std::nullopt;
}

Result<std::string> sibling_program(std::string_view name) {
  std::error_code error;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", error);
  const auto path = (error ? std::filesystem::path(".") : self.parent_path()) / name;
  if (::access(path.c_str(), X_OK) != 0) {
    return make_error(
        ErrorCode::kUnavailable,
        fmt::format("{} not found at {}: it is installed next to the pgstack binaries", name, path.string()));
  }
  return path.string();
}

}  // namespace pgstack
