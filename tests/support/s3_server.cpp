#include "support/s3_server.h"

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <thread>
#include <unistd.h>

#include <fmt/format.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include "common/files.h"
#include "support/child_process.h"
#include "common/process.h"
#include "support/etcd_server.h"

namespace pgstack::testing {
namespace {

using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

constexpr const char* kNodeBinary = "/usr/bin/node";
// Installed by scripts/install-deps (npm install --prefix /opt/pgstack-test-tools s3rver@3.7.1).
constexpr const char* kS3rverScript = "/opt/pgstack-test-tools/node_modules/s3rver/bin/s3rver.js";
constexpr std::chrono::seconds kStartDeadline{20};
constexpr std::chrono::seconds kStopGrace{10};
constexpr std::chrono::milliseconds kPollInterval{50};

Result<bool> run_openssl(const std::vector<std::string>& arguments) {
  std::vector<std::string> argv = {"openssl"};
  argv.insert(argv.end(), arguments.begin(), arguments.end());
  auto output = run_command(argv);
  if (!output) return output.error();
  if (output->exit_code != 0)
    return make_error(ErrorCode::kUnavailable, fmt::format("openssl {} exited with {}: {}", arguments.front(),
                                                           output->exit_code, output->standard_error));
  return true;
}

}  // namespace

Result<std::unique_ptr<S3Server>> S3Server::start() {
  if (::access(kS3rverScript, R_OK) != 0)
    return make_error(ErrorCode::kUnavailable,
                      fmt::format("{} is missing; run scripts/install-deps to install s3rver", kS3rverScript));
  std::unique_ptr<S3Server> server(new S3Server());
  std::string pattern = (fs::temp_directory_path() / "pgstack-s3-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr)
    return make_error(ErrorCode::kUnavailable, fmt::format("mkdtemp {}: {}", pattern, std::strerror(errno)));
  server->directory_ = pattern;
  std::error_code error;
  // The objects are checked by the test (root); nobody else needs to read them.
  fs::permissions(server->directory_, fs::perms(0700), error);
  fs::create_directory(server->directory_ / "data", error);
  if (error)
    return make_error(ErrorCode::kUnavailable, fmt::format("{}: {}", server->directory_.string(), error.message()));
  server->port_ = free_tcp_port();
  if (auto made = server->make_certificates(); !made) return made.error();
  if (auto launched = server->launch(); !launched) return launched.error();
  return server;
}

S3Server::~S3Server() {
  (void)stop();
  std::error_code ignored;
  if (!directory_.empty()) fs::remove_all(directory_, ignored);
}

std::string S3Server::endpoint() const { return fmt::format("https://{}:{}", host_, port_); }

std::string S3Server::ca_certificate() const {
  auto content = read_file(ca_file());
  return content ? content.value() : std::string();
}

Result<bool> S3Server::make_certificates() {
  const std::string ca_key = (directory_ / "ca.key").string();
  const std::string server_key = (directory_ / "server.key").string();
  const std::string request = (directory_ / "server.csr").string();
  const fs::path extensions = directory_ / "server.ext";
  // pgBackRest 2.45 matches the host only against DNS names (and the CN when there are none), so the
  // address is also given as a DNS name; the IP entry is for curl and other clients.
  const std::string extension_lines = fmt::format(
      "subjectAltName=DNS:{0},IP:{0},DNS:localhost\n"
      "basicConstraints=critical,CA:FALSE\n"
      "keyUsage=critical,digitalSignature,keyEncipherment\n"
      "extendedKeyUsage=serverAuth\n",
      host_);
  if (auto written = write_file_atomically(extensions, extension_lines); !written) return written.error();
  const std::vector<std::vector<std::string>> steps = {
      {"req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=pgstack test CA", "-keyout", ca_key,
       "-out", ca_file().string(), "-addext", "basicConstraints=critical,CA:TRUE", "-addext",
       "keyUsage=critical,keyCertSign,cRLSign"},
      {"req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=" + host_, "-keyout", server_key, "-out", request},
      {"x509", "-req", "-in", request, "-CA", ca_file().string(), "-CAkey", ca_key, "-CAcreateserial", "-days", "2",
       "-extfile", extensions.string(), "-out", (directory_ / "server.crt").string()},
  };
  for (const auto& step : steps) {
    if (auto ran = run_openssl(step); !ran) return ran.error();
  }
  std::error_code error;
  fs::permissions(ca_key, fs::perms(0600), error);
  fs::permissions(server_key, fs::perms(0600), error);
  fs::permissions(ca_file(), fs::perms(0644), error);
  return true;
}

Result<bool> S3Server::launch() {
  const std::string log_path = (directory_ / "s3rver.log").string();
  const std::vector<std::string> argv = {
      kNodeBinary,
      kS3rverScript,
      "--directory",
      (directory_ / "data").string(),
      "--address",
      host_,
      "--port",
      std::to_string(port_),
      "--key",
      (directory_ / "server.key").string(),
      "--cert",
      (directory_ / "server.crt").string(),
      "--no-vhost-buckets",
      "--configure-bucket",
      bucket_,
  };
  auto spawned = spawn_child(argv, log_path);
  if (!spawned) return spawned.error();
  pid_ = *spawned;
  return wait_until_ready();
}

Result<bool> S3Server::wait_until_ready() {
  // s3rver creates the bucket before it listens; a verified HTTPS GET of it proves port, TLS and bucket.
  const std::vector<std::string> probe = {"curl",
                                          "--silent",
                                          "--show-error",
                                          "--fail",
                                          "--max-time",
                                          "2",
                                          "--cacert",
                                          ca_file().string(),
                                          "--output",
                                          "/dev/null",
                                          fmt::format("{}/{}", endpoint(), bucket_)};
  const Clock::time_point deadline = Clock::now() + kStartDeadline;
  std::string last_problem = "no answer yet";
  while (Clock::now() < deadline) {
    if (child_has_exited(pid_)) {
      pid_ = -1;
      return make_error(ErrorCode::kUnavailable,
                        fmt::format("s3rver exited while starting; the end of its log:\n{}", log_tail()));
    }
    auto answer = run_command(probe);
    if (!answer) return answer.error();
    if (answer->exit_code == 0) return true;
    last_problem = answer->standard_error;
    std::this_thread::sleep_for(kPollInterval);  // poll interval of the wait, not a guess at readiness
  }
  return make_error(ErrorCode::kUnavailable,
                    fmt::format("s3rver at {} not ready after {} s ({}); the end of its log:\n{}", endpoint(),
                                kStartDeadline.count(), last_problem, log_tail()));
}

Result<bool> S3Server::stop() {
  stop_child(pid_, kStopGrace);
  return true;
}

std::string S3Server::log_tail() const { return file_tail(directory_ / "s3rver.log"); }

}  // namespace pgstack::testing
