#include "support/https_test_server.h"

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <unistd.h>

#include <fmt/format.h>

#include "common/files.h"
#include "common/process.h"
#include "support/child_process.h"
#include "support/etcd_server.h"

namespace pgstack::testing {
namespace {

namespace fs = std::filesystem;

Result<bool> run_openssl(const std::vector<std::string>& arguments) {
  std::vector<std::string> argv = {"openssl"};
  argv.insert(argv.end(), arguments.begin(), arguments.end());
  auto output = run_command(argv);
  RETURN_IF_ERROR(output);
  if (output->exit_code != 0)
    return make_error(ErrorCode::kUnavailable, fmt::format("openssl {} exited with {}: {}", arguments.front(),
                                                           output->exit_code, output->standard_error));
  return true;
}

}  // namespace

HttpsTestServer::~HttpsTestServer() {
  (void)stop();
  std::error_code ignored;
  if (!directory_.empty()) fs::remove_all(directory_, ignored);
}

std::string HttpsTestServer::endpoint() const { return fmt::format("https://{}:{}", host_, port_); }

std::string HttpsTestServer::ca_certificate() const {
  auto content = read_file(ca_file());
  return content ? content.value() : std::string();
}

Result<bool> HttpsTestServer::prepare() {
  std::string pattern = (fs::temp_directory_path() / ("pgstack-" + name_ + "-XXXXXX")).string();
  if (::mkdtemp(pattern.data()) == nullptr)
    return make_error(ErrorCode::kUnavailable, fmt::format("mkdtemp {}: {}", pattern, std::strerror(errno)));
  directory_ = pattern;
  std::error_code error;
  fs::permissions(directory_, fs::perms(0700), error);
  if (error) return make_error(ErrorCode::kUnavailable, fmt::format("{}: {}", directory_.string(), error.message()));
  port_ = free_tcp_port();
  return make_certificates();
}

Result<bool> HttpsTestServer::make_certificates() {
  const std::string ca_key = (directory_ / "ca.key").string();
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
  RETURN_IF_ERROR(write_file_atomically(extensions, extension_lines));
  const std::vector<std::vector<std::string>> steps = {
      {"req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=pgstack test CA", "-keyout", ca_key,
       "-out", ca_file().string(), "-addext", "basicConstraints=critical,CA:TRUE", "-addext",
       "keyUsage=critical,keyCertSign,cRLSign"},
      {"req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=" + host_, "-keyout", key_file().string(), "-out",
       request},
      {"x509", "-req", "-in", request, "-CA", ca_file().string(), "-CAkey", ca_key, "-CAcreateserial", "-days", "2",
       "-extfile", extensions.string(), "-out", certificate_file().string()},
  };
  for (const auto& step : steps) {
    RETURN_IF_ERROR(run_openssl(step));
  }
  std::error_code error;
  fs::permissions(ca_key, fs::perms(0600), error);
  fs::permissions(key_file(), fs::perms(0600), error);
  fs::permissions(ca_file(), fs::perms(0644), error);
  return true;
}

Result<bool> HttpsTestServer::launch(const std::vector<std::string>& argv, const ReadinessProbe& probe) {
  auto spawned = spawn_child(argv, log_file());
  RETURN_IF_ERROR(spawned);
  pid_ = *spawned;
  return wait_until_ready(pid_, name_, endpoint(), log_file(), probe);
}

std::vector<std::string> HttpsTestServer::curl_argv(const std::vector<std::string>& arguments) const {
  std::vector<std::string> argv = {"curl",       "--silent", "--show-error", "--fail",
                                   "--max-time", "2",        "--cacert",     ca_file().string()};
  argv.insert(argv.end(), arguments.begin(), arguments.end());
  return argv;
}

Result<bool> HttpsTestServer::stop() {
  stop_child(pid_, kServerStopGrace);
  return true;
}

std::string HttpsTestServer::log_tail() const { return file_tail(log_file()); }

}  // namespace pgstack::testing
