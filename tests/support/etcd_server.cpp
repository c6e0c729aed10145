#include "support/etcd_server.h"

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <stdexcept>
#include <thread>
#include <unistd.h>
#include <vector>

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "common/files.h"
#include "common/http_client.h"

namespace pgstack::testing {
namespace {

using Clock = std::chrono::steady_clock;

constexpr const char* kEtcdBinary = "/usr/bin/etcd";
constexpr std::chrono::seconds kStartDeadline{20};
constexpr std::chrono::seconds kStopGrace{10};
constexpr std::chrono::milliseconds kPollInterval{50};

// Keeps the socket open so that a second call cannot hand out the same port.
class BoundPort {
 public:
  BoundPort() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) throw std::runtime_error(fmt::format("socket: {}", std::strerror(errno)));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = 0;
    socklen_t length = sizeof address;
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
      const std::string reason = std::strerror(errno);
      ::close(fd_);
      throw std::runtime_error(fmt::format("cannot bind a free port on 127.0.0.1: {}", reason));
    }
    port_ = ntohs(address.sin_port);
  }
  ~BoundPort() { ::close(fd_); }
  BoundPort(const BoundPort&) = delete;
  BoundPort& operator=(const BoundPort&) = delete;
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

// waitpid without blocking; true once the process is gone (and reaped).
bool has_exited(pid_t pid) {
  int status = 0;
  const pid_t result = ::waitpid(pid, &status, WNOHANG);
  return result == pid || (result < 0 && errno == ECHILD);
}

}  // namespace

int free_tcp_port() { return BoundPort().port(); }

Result<std::unique_ptr<EtcdServer>> EtcdServer::start() {
  std::unique_ptr<EtcdServer> server(new EtcdServer());
  std::string pattern = (std::filesystem::temp_directory_path() / "pgstack-etcd-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr)
    return make_error(ErrorCode::kUnavailable, fmt::format("mkdtemp {}: {}", pattern, std::strerror(errno)));
  server->directory_ = pattern;
  {
    const BoundPort client_port;
    const BoundPort peer_port;
    server->client_url_ = fmt::format("http://127.0.0.1:{}", client_port.port());
    server->peer_url_ = fmt::format("http://127.0.0.1:{}", peer_port.port());
  }
  if (auto launched = server->launch(); !launched) return launched.error();
  return server;
}

EtcdServer::~EtcdServer() {
  (void)stop();
  std::error_code ignored;
  if (!directory_.empty()) std::filesystem::remove_all(directory_, ignored);
}

Result<bool> EtcdServer::launch() {
  const std::string data_dir = (directory_ / "data").string();
  const std::string log_path = (directory_ / "etcd.log").string();
  const std::vector<std::string> argv = {
      kEtcdBinary,
      "--name",
      "default",
      "--data-dir",
      data_dir,
      "--listen-client-urls",
      client_url_,
      "--advertise-client-urls",
      client_url_,
      "--listen-peer-urls",
      peer_url_,
      "--initial-advertise-peer-urls",
      peer_url_,
      "--initial-cluster",
      "default=" + peer_url_,
      "--logger",
      "zap",
      "--log-outputs",
      "stderr",
  };
  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const auto& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);

  const int log_fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) return make_error(ErrorCode::kUnavailable, fmt::format("{}: {}", log_path, std::strerror(errno)));
  const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(log_fd);
    ::close(null_fd);
    return make_error(ErrorCode::kUnavailable, fmt::format("fork: {}", std::strerror(errno)));
  }
  if (pid == 0) {
    // Only async-signal-safe calls until exec. A test that crashes must not leave etcd behind.
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
  pid_ = pid;
  return wait_until_healthy();
}

Result<bool> EtcdServer::wait_until_healthy() {
  const Clock::time_point deadline = Clock::now() + kStartDeadline;
  std::string last_problem = "no answer yet";
  while (Clock::now() < deadline) {
    if (has_exited(pid_)) {
      pid_ = -1;
      return make_error(ErrorCode::kUnavailable,
                        fmt::format("etcd exited while starting; the end of its log:\n{}", log_tail()));
    }
    auto response = http_request("GET", client_url_ + "/health", {}, {}, std::chrono::milliseconds(500));
    if (response && response->status == 200 && response->body.find("\"true\"") != std::string::npos) return true;
    last_problem = response ? fmt::format("HTTP {}: {}", response->status, response->body) : response.error().message;
    std::this_thread::sleep_for(kPollInterval);  // poll interval of the wait, not a guess at readiness
  }
  return make_error(ErrorCode::kUnavailable,
                    fmt::format("etcd at {} not healthy after {} s ({}); the end of its log:\n{}", client_url_,
                                kStartDeadline.count(), last_problem, log_tail()));
}

Result<bool> EtcdServer::stop() {
  if (pid_ <= 0) return true;
  ::kill(pid_, SIGTERM);
  const Clock::time_point deadline = Clock::now() + kStopGrace;
  while (!has_exited(pid_)) {
    if (Clock::now() >= deadline) {
      ::kill(pid_, SIGKILL);
      while (::waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
      }
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  pid_ = -1;
  return true;
}

Result<bool> EtcdServer::restart() {
  if (auto stopped = stop(); !stopped) return stopped.error();
  return launch();
}

std::string EtcdServer::log_tail() const {
  auto log = read_file(directory_ / "etcd.log");
  if (!log) return "(no log: " + log.error().message + ")";
  constexpr std::size_t kTail = 4000;
  return log->size() <= kTail ? *log : log->substr(log->size() - kTail);
}

}  // namespace pgstack::testing
