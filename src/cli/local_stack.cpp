#include "cli/local_stack.h"

#include <chrono>
#include <iostream>

#include "common/files.h"
#include "common/network.h"
#include "common/pki.h"
#include "common/process.h"
#include "common/strings.h"
#include "model/host_labels.h"

extern char** environ;  // NOLINT: POSIX

namespace pgstack::cli {

std::string host_name() {
  char buffer[256] = {};
  if (::gethostname(buffer, sizeof(buffer) - 1) != 0 || buffer[0] == '\0') return "localhost";
  return buffer;
}

std::map<std::string, std::string> current_environment() {
  std::map<std::string, std::string> out;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    const std::string_view text(*entry);
    const auto equals = text.find('=');
    if (equals != std::string_view::npos) out.emplace(text.substr(0, equals), text.substr(equals + 1));
  }
  return out;
}

std::string log_tail(const std::filesystem::path& path, std::size_t lines) {
  const auto content = read_file_tail(path, 16384);  // a daemon's log may be large; its end says why
  if (!content) return "  (no log at " + path.string() + ")";
  std::string out;
  for (const auto& line : last_lines(*content, lines)) out += "  | " + line + "\n";
  return out.empty() ? "  (the log is empty)\n" : out;
}

Error died_error(std::string_view name, const std::filesystem::path& log) {
  return make_error(ErrorCode::kUnavailable,
                    fmt::format("{} exited; the end of {}:\n{}", name, log.string(), log_tail(log)));
}

std::string url_authority(const std::string& host, int port) {
  return host.find(':') == std::string::npos ? fmt::format("{}:{}", host, port) : fmt::format("[{}]:{}", host, port);
}

Result<bool> check_own_address(const std::string& address) {
  if (!pki::is_ip_address(address))
    return make_error(ErrorCode::kInvalidInput,
                      fmt::format("--address: expected an IP address of this machine, got \"{}\"", address));
  if (auto bound = probe_tcp_listen(address, 0); !bound && bound.error().code != ErrorCode::kAlreadyExists)
    return make_error(ErrorCode::kInvalidInput,
                      fmt::format("--address {}: not an address of this machine ({})", address, bound.error().message));
  return true;
}

ProcessSpec local_daemon_spec(const LocalStack& stack, const std::string& name) {
  ProcessSpec spec;
  spec.name = name;
  spec.environment = current_environment();
  spec.working_directory = stack.state_dir;
  spec.log_file = stack.log_file(name);
  spec.pid_file = stack.pid_file(name);
  spec.stop_timeout = std::chrono::seconds(10);
  return spec;
}
Result<bool> start_local_daemon(ProcessSupervisor& supervisor) {
  auto outcome = supervisor.start();
  RETURN_IF_ERROR(outcome);
  const auto pid = supervisor.status().pid;
  std::cerr << fmt::format("{}: {} (pid {})\n", supervisor.spec().name,
                           *outcome == StartOutcome::kStarted ? "started" : "already running", pid);
  return true;
}
Result<std::vector<std::string>> checked_labels(const std::vector<std::string>& flags) {
  for (const auto& text : flags) {
    std::string error;
    if (!model::parse_label(text, error)) return make_error(ErrorCode::kInvalidInput, "--label " + error);
  }
  return flags;
}

ProcessSpec local_etcd_spec(const LocalStack& stack, const UpSettings& settings) {
  ProcessSpec spec = local_daemon_spec(stack, "etcd");
  const std::string ca_file = pki::ca_files_in(stack.pki_dir()).certificate.string();
  const std::string certificate = (stack.pki_dir() / "etcd.crt").string();
  const std::string key = (stack.pki_dir() / "etcd.key").string();
  const std::string client_url = split(settings.etcd_url, ',').front();
  const bool joined = !settings.etcd_initial_cluster.empty();
  spec.argv = {"etcd", "--name", settings.etcd_member_name, "--data-dir", stack.etcd_dir().string(),
               "--listen-client-urls", client_url, "--advertise-client-urls", client_url, "--listen-peer-urls",
               settings.etcd_peer_url, "--initial-advertise-peer-urls", settings.etcd_peer_url, "--initial-cluster",
               joined ? settings.etcd_initial_cluster : settings.etcd_member_name + "=" + settings.etcd_peer_url,
               "--initial-cluster-state", joined ? "existing" : "new",
               // Client and peer TLS; only holders of a certificate from the CA get anything.
               "--client-cert-auth", "--trusted-ca-file", ca_file, "--cert-file", certificate, "--key-file", key,
               "--peer-client-cert-auth", "--peer-trusted-ca-file", ca_file, "--peer-cert-file", certificate,
               "--peer-key-file", key,
               // etcd 3.4's default is off: a member cut off from its peers raises its term in vain, and when
               // it is back that term deposes the leader. The seconds without one made Patroni demote a healthy
               // primary in the multi-host partition test (docs/multihost.md).
               "--pre-vote"};
  spec.stop_timeout = std::chrono::seconds(15);
  return spec;
}

Result<ProcessSpec> local_agent_spec(const LocalStack& stack, const UpSettings& settings) {
  auto binary = sibling_program("pgstack-agent");
  RETURN_IF_ERROR(binary);
  std::error_code error;
  std::filesystem::create_directories(stack.agent_dir(), error);
  ProcessSpec spec = local_daemon_spec(stack, "agent");
  spec.argv = {*binary, "--etcd", settings.etcd_url, "--etcd-prefix", settings.etcd_prefix, "--state-dir",
               stack.agent_dir().string(), "--host-name", settings.host_name, "--address", settings.address, "--ca-dir",
               stack.pki_dir().string(),
               // It rotates its own log (16 MiB, 4 kept): nothing else here would.
               "--log-file", stack.log_file("agent").string()};
  if (!settings.agent_metrics_listen.empty()) {
    spec.argv.emplace_back("--metrics-listen");
    spec.argv.push_back(settings.agent_metrics_listen);
  }
  for (const auto& label : settings.labels) {
    spec.argv.emplace_back("--label");
    spec.argv.push_back(label);
  }
  if (!settings.node_exporter_listen.empty()) {
    spec.argv.emplace_back("--node-exporter-listen");
    spec.argv.push_back(settings.node_exporter_listen);
  }
  spec.stop_timeout = std::chrono::seconds(30);
  return spec;
}
}  // namespace pgstack::cli
