#include "support/pgstack_runtime.h"

#include <fcntl.h>
#include <fstream>
#include <iostream>
#include <signal.h>
#include <sstream>
#include <thread>
#include <unistd.h>

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <sys/file.h>
#include <sys/socket.h>

#include "common/files.h"
#include "common/pki.h"
#include "support/child_process.h"

namespace pgstack::testing {
namespace {

struct PortBaseClaim {
  int base;
  int lock_fd;  // -1: no lock file could be had
};

bool port_is_free(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool free = ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  ::close(fd);
  return free;
}

// Every daemon a test may leave behind has a pid file under the state directory: the agent's
// supervisor files ("<pid>\n<start time>") and Postgres' postmaster.pid (pid on the first line).
void kill_pid_files_under(const std::filesystem::path& root) {
  std::error_code error;
  if (!std::filesystem::exists(root, error)) return;
  for (auto it = std::filesystem::recursive_directory_iterator(root, error);
       it != std::filesystem::recursive_directory_iterator(); it.increment(error)) {
    if (error) break;
    const auto& path = it->path();
    if (!it->is_regular_file(error) || path.extension() != ".pid") continue;
    std::ifstream file(path);
    long pid = 0;
    if (file >> pid && pid > 1) ::kill(static_cast<pid_t>(pid), SIGKILL);
  }
}

// A base with 500 ports above it free right now (Postgres, PgBouncer, Patroni, proxy and proxy admin
// ranges of 100 each), away from the default ranges (14432 to 18507) and below the ephemeral range
// (32768 and up), where any outgoing connection could take a member's port before it binds it.
// Claimed with a lock file, held until the runtime ends (or its process dies): two suites that ctest runs
// at once may see the same free ports before either has bound them, but only one gets the lock.
PortBaseClaim claim_port_base() {
  const std::filesystem::path locks = std::filesystem::temp_directory_path() / "pgstack-test-port-bases";
  std::error_code ignored;
  std::filesystem::create_directories(locks, ignored);
  for (int attempt = 0; attempt < 50; ++attempt) {
    const int base = 20000 + static_cast<int>((::getpid() * 7919 + attempt * 331) % 25) * 500;
    const int lock = ::open((locks / fmt::format("{}.lock", base)).c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lock < 0) continue;
    if (::flock(lock, LOCK_EX | LOCK_NB) != 0) {
      ::close(lock);
      continue;
    }
    bool all_free = true;
    for (int offset : {0, 100, 200, 300, 400, 450, 460, 470}) {
      for (int slot = 0; slot < 8 && all_free; ++slot) all_free = port_is_free(base + offset + slot);
    }
    if (all_free) return {base, lock};
    ::close(lock);
  }
  return {20000, -1};
}

}  // namespace

bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds timeout,
                std::chrono::milliseconds poll) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (condition()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(poll);
  }
}

Result<CommandOutput> run_psql(const std::string& uri, const std::string& password, const std::string& sql) {
  return run_command({"psql", "-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1", "-d", uri, "-c", sql},
                     {.extra_environment = {{"PGPASSWORD", password}, {"PGCONNECT_TIMEOUT", "5"}}});
}

Result<std::unique_ptr<PgstackRuntime>> PgstackRuntime::start(const RuntimeBinaries& binaries) {
  std::unique_ptr<PgstackRuntime> runtime(new PgstackRuntime());
  runtime->binaries_ = binaries;
  runtime->agent_flags_ = binaries.agent_flags;
  char pattern[] = "/tmp/pgstack-e2e-XXXXXX";
  if (::mkdtemp(pattern) == nullptr) return make_error(ErrorCode::kUnavailable, "mkdtemp failed");
  runtime->directory_ = pattern;
  // The agent's children run as postgres when we are root: they must be able to enter the tree.
  std::filesystem::permissions(runtime->directory_, std::filesystem::perms(0755));
  runtime->agent_state_dir_ = runtime->directory_ / "agent";
  std::filesystem::create_directories(runtime->agent_state_dir_);
  std::filesystem::create_directories(runtime->directory_ / "logs");
  // The installation's CA, as `pgstack up` makes it: clients verify every server with ca.crt.
  auto ca = pki::load_or_create_ca(runtime->directory_ / "pki", "pgstack e2e CA");
  RETURN_IF_ERROR(ca);
  // etcd requires client certificates from this CA; the test process gets one of its own (and so talks
  // https to Patroni and etcd as pgstack's processes do).
  auto etcd = EtcdServer::start(runtime->directory_ / "pki");
  // The controller's own client certificate, as `pgstack up` issues it.
  ASSIGN_OR_RETURN(const auto controller_identity,
                   pki::issue_certificate(*ca, {"pgstack-controller", {}, {}, pki::Usage::kClient}));
  RETURN_IF_ERROR(pki::write_key_pair(controller_identity, runtime->directory_ / "pki" / "controller.crt",
                                      runtime->directory_ / "pki" / "controller.key"));
  RETURN_IF_ERROR(etcd);
  runtime->etcd_ = std::move(etcd).value();
  runtime->api_port_ = free_tcp_port();
  const auto claim = claim_port_base();
  runtime->port_base_ = claim.base;
  runtime->port_base_lock_ = claim.lock_fd;
  runtime->api_url_ = fmt::format("https://127.0.0.1:{}", runtime->api_port_);
  // The API's certificate, as `pgstack up` issues it.
  ASSIGN_OR_RETURN(const auto api_identity,
                   pki::issue_certificate(*ca, {"pgstack API", {"localhost"}, {"127.0.0.1"}, pki::Usage::kServer}));
  RETURN_IF_ERROR(pki::write_key_pair(api_identity, runtime->directory_ / "pki" / "api.crt",
                                      runtime->directory_ / "pki" / "api.key"));
  RETURN_IF_ERROR(runtime->start_controller());
  RETURN_IF_ERROR(runtime->start_agent());
  return runtime;
}

PgstackRuntime::~PgstackRuntime() {
  stop_everything();
  if (port_base_lock_ >= 0) ::close(port_base_lock_);
}

void PgstackRuntime::stop_everything() {
  if (agent_) (void)agent_->stop();
  if (controller_) (void)controller_->stop();
  kill_pid_files_under(agent_state_dir_);
  // Postgres backends notice their postmaster died and exit; give them a moment before removing files.
  wait_until([] { return false; }, std::chrono::milliseconds(500));
  etcd_.reset();
  std::error_code ignored;
  if (!directory_.empty() && std::getenv("PGSTACK_KEEP_TEST_DIR") == nullptr)
    std::filesystem::remove_all(directory_, ignored);
}

ProcessSpec PgstackRuntime::controller_spec() const {
  ProcessSpec spec;
  spec.name = "pgstack-controller";
  // Port ranges of their own, so a test never collides with another pgstack on this machine.
  spec.argv = {binaries_.controller, "--listen", fmt::format("127.0.0.1:{}", api_port_), "--etcd", etcd_->endpoint(),
               "--postgres-port-base", std::to_string(port_base_), "--pgbouncer-port-base",
               std::to_string(port_base_ + 100), "--patroni-port-base", std::to_string(port_base_ + 200),
               "--exporter-port-base", std::to_string(port_base_ + 450), "--proxy-port-base",
               std::to_string(port_base_ + 300), "--proxy-admin-port-base", std::to_string(port_base_ + 400),
               "--ca-file", ca_certificate().string(), "--client-cert",
               (directory_ / "pki" / "controller.crt").string(), "--client-key",
               (directory_ / "pki" / "controller.key").string(), "--tls-cert",
               (directory_ / "pki" / "api.crt").string(), "--tls-key", (directory_ / "pki" / "api.key").string(),
               // As `pgstack up` runs it: joins are refused here only because etcd is on loopback.
               "--ca-key", pki::ca_files_in(directory_ / "pki").private_key.string(), "--bootstrap-admin", "e2e-admin",
               "--bootstrap-token-file", (directory_ / "admin-token").string()};
  spec.argv.insert(spec.argv.end(), binaries_.controller_flags.begin(), binaries_.controller_flags.end());
  spec.environment = {{"PATH", "/usr/sbin:/usr/bin:/sbin:/bin"}, {"HOME", "/root"}};
  if (const char* home = std::getenv("HOME")) spec.environment["HOME"] = home;
  spec.log_file = directory_ / "logs" / "controller.log";
  spec.pid_file = directory_ / "controller.pid";
  spec.stop_timeout = std::chrono::seconds(10);
  return spec;
}

ProcessSpec PgstackRuntime::agent_spec() const {
  ProcessSpec spec;
  spec.name = "pgstack-agent";
  spec.argv = {binaries_.agent,
               "--etcd",
               etcd_->endpoint(),
               "--state-dir",
               agent_state_dir_.string(),
               "--host-name",
               "e2e-host",
               "--address",
               "127.0.0.1",
               "--ca-dir",
               (directory_ / "pki").string(),
               "--certificate-lifetime",
               std::to_string(certificate_lifetime_.count()),
               "--node-exporter-listen",
               fmt::format("127.0.0.1:{}", node_exporter_port()),
               "--metrics-listen",
               fmt::format("127.0.0.1:{}", agent_metrics_port())};
  spec.argv.insert(spec.argv.end(), agent_flags_.begin(), agent_flags_.end());
  spec.environment = {{"PATH", "/usr/sbin:/usr/bin:/sbin:/bin"}, {"HOME", "/root"}};
  if (const char* home = std::getenv("HOME")) spec.environment["HOME"] = home;
  spec.log_file = directory_ / "logs" / "agent.log";
  spec.pid_file = directory_ / "agent.pid";
  spec.stop_timeout = std::chrono::seconds(10);
  return spec;
}

Result<bool> PgstackRuntime::start_controller() {
  controller_ = std::make_unique<ProcessSupervisor>(controller_spec());
  RETURN_IF_ERROR(controller_->start());
  const bool healthy = wait_until(
      [this] {
        auto response = http_request("GET", api_url_ + "/healthz", "", {}, std::chrono::seconds(2));
        return response.ok() && response->status == 200;
      },
      std::chrono::seconds(30));
  if (!healthy)
    return make_error(ErrorCode::kUnavailable, "pgstack-controller did not become healthy:\n" + controller_log());
  auto token = read_file(directory_ / "admin-token");
  RETURN_IF_ERROR(token);
  admin_token_ = token.value();
  while (!admin_token_.empty() && admin_token_.back() == '\n') admin_token_.pop_back();
  return true;
}

Result<bool> PgstackRuntime::stop_controller() {
  if (!controller_) return true;
  auto stopped = controller_->stop();
  controller_.reset();
  return stopped;
}

Result<bool> PgstackRuntime::start_agent() {
  agent_ = std::make_unique<ProcessSupervisor>(agent_spec());
  auto started = agent_->start();
  RETURN_IF_ERROR(started);
  return true;
}

namespace {

// SIGKILL, as a crash or an OOM kill would stop it; waits until the supervised process is gone.
Result<bool> kill_supervised(std::unique_ptr<ProcessSupervisor>& process, std::string_view what) {
  if (!process) return true;
  const pid_t pid = process->status().pid;
  if (pid > 0) ::kill(pid, SIGKILL);
  const bool gone = wait_until([&process] { return !process->is_running(); }, std::chrono::seconds(10));
  process.reset();
  if (!gone) return make_error(ErrorCode::kInternal, fmt::format("the {} survived SIGKILL", what));
  return true;
}

}  // namespace

Result<bool> PgstackRuntime::kill_controller() { return kill_supervised(controller_, "controller"); }

Result<bool> PgstackRuntime::kill_agent() { return kill_supervised(agent_, "agent"); }

Result<HttpResponse> PgstackRuntime::api(const std::string& method, const std::string& path,
                                         const std::string& body) const {
  return api_as(admin_token_, method, path, body);
}

Result<HttpResponse> PgstackRuntime::api_as(const std::string& token, const std::string& method,
                                            const std::string& path, const std::string& body) const {
  const std::string full = path.rfind('/', 0) == 0 ? path : "/apis/stackgres.io/v1/namespaces/default/" + path;
  HttpHeaders headers = {{"Content-Type", "application/json"}};
  if (!token.empty()) headers.emplace_back("Authorization", "Bearer " + token);
  return http_request(method, api_url_ + full, body, headers, std::chrono::seconds(90));
}

Result<nlohmann::json> PgstackRuntime::api_json(const std::string& method, const std::string& path,
                                                const std::string& body) const {
  auto response = api(method, path, body);
  RETURN_IF_ERROR(response);
  auto parsed = nlohmann::json::parse(response->body, nullptr, false);
  if (parsed.is_discarded())
    return make_error(ErrorCode::kInternal, fmt::format("{} {}: not JSON: {}", method, path, response->body));
  return parsed;
}

Result<CommandOutput> PgstackRuntime::cli(std::vector<std::string> arguments) const {
  arguments.insert(arguments.begin(), binaries_.cli);
  // The state dir as `pgstack up` lays it out where the CLI looks for it (pki/ca.crt).
  return run_command(arguments, {.extra_environment = {{"PGSTACK_API", api_url_},
                                                       {"PGSTACK_STATE_DIR", directory_.string()},
                                                       {"PGSTACK_TOKEN", admin_token_}}});
}

std::string PgstackRuntime::controller_log() const { return file_tail(directory_ / "logs" / "controller.log", 6000); }
std::string PgstackRuntime::agent_log() const { return file_tail(directory_ / "logs" / "agent.log", 6000); }

std::string PgstackRuntime::patroni_logs(const std::string& cluster, std::size_t bytes_per_member) const {
  std::string logs;
  std::error_code error;
  const std::filesystem::path members = agent_state_dir_ / "instances" / "default" / cluster;
  for (const auto& member : std::filesystem::directory_iterator(members, error)) {
    logs += "---- patroni log of " + member.path().filename().string() + " ----\n" +
            file_tail(member.path() / "log" / "patroni.log", bytes_per_member) + "\n";
    // What Patroni wrote before it read its configuration (log.dir), or a crash's traceback.
    const std::string early = file_tail(member.path() / "log" / "patroni.stderr.log", bytes_per_member);
    if (!early.empty())
      logs += "---- patroni stderr of " + member.path().filename().string() + " ----\n" + early + "\n";
  }
  return logs;
}

nlohmann::json PgstackRuntime::get(const std::string& path) const {
  auto found = api_json("GET", path);
  return found.ok() ? found.value() : nlohmann::json::object();
}

nlohmann::json PgstackRuntime::cluster_status(const std::string& cluster) const {
  return get("sgclusters/" + cluster + "/status");
}

Result<std::string> PgstackRuntime::superuser_sql(const std::string& cluster, const std::string& statement) const {
  const nlohmann::json status = cluster_status(cluster);
  const nlohmann::json credentials = get("sgclusters/" + cluster + "/credentials");
  std::string endpoint;
  for (const auto& member : status.value("members", nlohmann::json::array())) {
    if (member.value("role", "") == "primary") endpoint = member["endpoints"]["postgres"];
  }
  if (endpoint.empty()) return make_error(ErrorCode::kUnavailable, "no primary");
  const nlohmann::json superuser = credentials.value("superuser", nlohmann::json::object());
  auto out = run_psql(fmt::format("postgresql://{}@{}/app", superuser.value("username", ""), endpoint),
                      superuser.value("password", ""), statement);
  RETURN_IF_ERROR(out);
  if (out->exit_code != 0) return make_error(ErrorCode::kUnavailable, out->standard_error);
  std::string text = out->standard_output;
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

std::string primary_in(const nlohmann::json& status) {
  return status.contains("primary") && status["primary"].is_string() ? status["primary"].get<std::string>() : "";
}

nlohmann::json condition_in(const nlohmann::json& status, const std::string& type) {
  for (const auto& condition : status.value("conditions", nlohmann::json::array())) {
    if (condition.value("type", "") == type) return condition;
  }
  return nlohmann::json::object();
}

void RuntimeEnvironment::SetUp() {
  auto started = PgstackRuntime::start(binaries_);
  ASSERT_TRUE(started.ok()) << started.error().message;
  runtime_ = std::move(started).value();
  *runtime_pointer_ = runtime_.get();
}

void RuntimeEnvironment::TearDown() {
  if (::testing::UnitTest::GetInstance()->failed_test_count() > 0 && runtime_) {
    std::cerr << "---- controller log ----\n"
              << runtime_->controller_log() << "\n---- agent log ----\n"
              << runtime_->agent_log() << "\n";
    if (!cluster_to_dump_.empty()) std::cerr << runtime_->patroni_logs(cluster_to_dump_, 12000);
  }
  *runtime_pointer_ = nullptr;
  runtime_.reset();
}

}  // namespace pgstack::testing
