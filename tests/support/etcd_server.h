// Real servers for tests that start them themselves: free ports, a temporary directory, no sleeps.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include <sys/types.h>

#include "common/error.h"

namespace pgstack::testing {

// A TCP port on 127.0.0.1 that nothing listens on right now (bound to port 0 and read back).
int free_tcp_port();

// A single-member etcd (/usr/bin/etcd) in its own temporary directory, removed on destruction. Like
// pgstack's own etcd it serves only TLS and requires a client certificate from the CA in `ca_dir`
// (common/pki.h; made in its directory when empty). start() makes this test process trust that CA and
// present a client certificate of its own (set_tls_client_files).
class EtcdServer {
 public:
  // Returns once /health answers, or fails after 20 s with the end of etcd's log.
  static Result<std::unique_ptr<EtcdServer>> start(const std::filesystem::path& ca_dir = {});
  ~EtcdServer();
  EtcdServer(const EtcdServer&) = delete;
  EtcdServer& operator=(const EtcdServer&) = delete;

  const std::string& endpoint() const { return client_url_; }  // https://127.0.0.1:<port>
  const std::filesystem::path& directory() const { return directory_; }
  const std::filesystem::path& ca_dir() const { return ca_dir_; }  // ca.crt, ca.key
  std::filesystem::path ca_file() const { return ca_dir_ / "ca.crt"; }
  // The test process' own client certificate.
  std::filesystem::path client_certificate() const { return directory_ / "client.crt"; }
  std::filesystem::path client_private_key() const { return directory_ / "client.key"; }

  // SIGTERM, then SIGKILL after 10 s. The data stays, so restart() brings back the same store.
  Result<bool> stop();
  // Starts again on the same ports and data directory.
  Result<bool> restart();
  bool running() const { return pid_ > 0; }
  std::string log_tail() const;

 private:
  EtcdServer() = default;
  Result<bool> launch();
  Result<bool> wait_until_healthy();

  std::filesystem::path directory_;
  std::filesystem::path ca_dir_;
  std::string client_url_;
  std::string peer_url_;
  pid_t pid_ = -1;
};

}  // namespace pgstack::testing
