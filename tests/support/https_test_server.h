// What the object stores the tests start (s3rver, Azurite) share: a private temporary directory, a
// throwaway CA and a server certificate for 127.0.0.1, the server on a free loopback port with its
// output in a log, and a wait until it answers.
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <sys/types.h>

#include "common/error.h"
#include "support/child_process.h"

namespace pgstack::testing {

class HttpsTestServer {
 public:
  // Stops the server and removes its directory.
  virtual ~HttpsTestServer();
  HttpsTestServer(const HttpsTestServer&) = delete;
  HttpsTestServer& operator=(const HttpsTestServer&) = delete;

  const std::string& host() const { return host_; }  // 127.0.0.1, also what the certificate names
  int port() const { return port_; }
  std::string endpoint() const;  // https://127.0.0.1:<port>
  std::filesystem::path ca_file() const { return directory_ / "ca.crt"; }
  const std::filesystem::path& directory() const { return directory_; }
  // The CA certificate (PEM), what an SGObjectStorage's caCertificate Secret holds.
  std::string ca_certificate() const;

  // SIGTERM, then SIGKILL after 10 s.
  Result<bool> stop();
  bool running() const { return pid_ > 0; }
  std::string log_tail() const;

 protected:
  // `name` names the server in messages, its directory (pgstack-<name>-XXXXXX) and its log.
  explicit HttpsTestServer(std::string name) : name_(std::move(name)) {}

  // Makes the directory (0700: the test runs as root, nobody else needs it), the certificates, and
  // picks the port.
  Result<bool> prepare();
  std::filesystem::path certificate_file() const { return directory_ / "server.crt"; }
  std::filesystem::path key_file() const { return directory_ / "server.key"; }

  // Starts argv (argv[0] a path), then asks `probe` until it is ready, the server exits, or 20 s have
  // passed; the errors end with the end of the server's log.
  Result<bool> launch(const std::vector<std::string>& argv, const ReadinessProbe& probe);

  // curl verifying the server against ca_file(), quiet but for errors, failing on HTTP errors.
  std::vector<std::string> curl_argv(const std::vector<std::string>& arguments) const;

 private:
  Result<bool> make_certificates();
  std::filesystem::path log_file() const { return directory_ / (name_ + ".log"); }

  std::string name_;
  std::filesystem::path directory_;
  std::string host_ = "127.0.0.1";
  int port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace pgstack::testing
