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
#include "common/pki.h"
#include "support/child_process.h"

namespace pgstack::testing {
namespace {

constexpr const char* kEtcdBinary = "/usr/bin/etcd";

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

}  // namespace

int free_tcp_port() { return BoundPort().port(); }

Result<std::unique_ptr<EtcdServer>> EtcdServer::start(const std::filesystem::path& ca_dir) {
  std::unique_ptr<EtcdServer> server(new EtcdServer());
  std::string pattern = (std::filesystem::temp_directory_path() / "pgstack-etcd-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr)
    return make_error(ErrorCode::kUnavailable, fmt::format("mkdtemp {}: {}", pattern, std::strerror(errno)));
  server->directory_ = pattern;
  server->ca_dir_ = ca_dir.empty() ? server->directory_ / "pki" : ca_dir;
  auto ca = pki::load_or_create_ca(server->ca_dir_, "pgstack test CA");
  RETURN_IF_ERROR(ca);
  const pki::LeafRequest etcd_names{"etcd", {"localhost"}, {"127.0.0.1"}, pki::Usage::kServerAndClient};
  const pki::LeafRequest test_names{"pgstack-test", {}, {}, pki::Usage::kClient};
  for (const auto& [request, name] : {std::pair{etcd_names, "etcd"}, std::pair{test_names, "client"}}) {
    auto issued = pki::issue_certificate(*ca, request);
    RETURN_IF_ERROR(issued);
    const auto& dir = server->directory_;
    if (auto written =
            pki::write_key_pair(*issued, dir / (std::string(name) + ".crt"), dir / (std::string(name) + ".key"));
        !written)
      return written.error();
  }
  set_tls_client_files(
      {server->ca_file().string(), server->client_certificate().string(), server->client_private_key().string()});
  {
    const BoundPort client_port;
    const BoundPort peer_port;
    server->client_url_ = fmt::format("https://127.0.0.1:{}", client_port.port());
    server->peer_url_ = fmt::format("https://127.0.0.1:{}", peer_port.port());
  }
  RETURN_IF_ERROR(server->launch());
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
  const std::string certificate = (directory_ / "etcd.crt").string();
  const std::string key = (directory_ / "etcd.key").string();
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
      "--client-cert-auth",
      "--trusted-ca-file",
      ca_file().string(),
      "--cert-file",
      certificate,
      "--key-file",
      key,
      "--peer-client-cert-auth",
      "--peer-trusted-ca-file",
      ca_file().string(),
      "--peer-cert-file",
      certificate,
      "--peer-key-file",
      key,
      "--logger",
      "zap",
      "--log-outputs",
      "stderr",
  };
  auto spawned = spawn_child(argv, log_path);
  RETURN_IF_ERROR(spawned);
  pid_ = *spawned;
  return wait_until_healthy();
}

Result<bool> EtcdServer::wait_until_healthy() {
  return wait_until_ready(pid_, "etcd", client_url_, directory_ / "etcd.log", [this]() -> std::optional<std::string> {
    auto response = http_request("GET", client_url_ + "/health", {}, {}, std::chrono::milliseconds(500));
    if (response && response->status == 200 && response->body.find("\"true\"") != std::string::npos)
      return std::nullopt;
    return response ? fmt::format("HTTP {}: {}", response->status, response->body) : response.error().message;
  });
}

Result<bool> EtcdServer::stop() {
  stop_child(pid_, kServerStopGrace);
  return true;
}

Result<bool> EtcdServer::restart() {
  RETURN_IF_ERROR(stop());
  return launch();
}

std::string EtcdServer::log_tail() const { return file_tail(directory_ / "etcd.log"); }

}  // namespace pgstack::testing
