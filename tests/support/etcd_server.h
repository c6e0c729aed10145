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

// A single-member etcd (/usr/bin/etcd) in its own temporary directory, removed on destruction.
class EtcdServer {
 public:
  // Returns once /health answers, or fails after 20 s with the end of etcd's log.
  static Result<std::unique_ptr<EtcdServer>> start();
  ~EtcdServer();
  EtcdServer(const EtcdServer&) = delete;
  EtcdServer& operator=(const EtcdServer&) = delete;

  const std::string& endpoint() const { return client_url_; }  // http://127.0.0.1:<port>
  const std::filesystem::path& directory() const { return directory_; }

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
  std::string client_url_;
  std::string peer_url_;
  pid_t pid_ = -1;
};

}  // namespace pgstack::testing
