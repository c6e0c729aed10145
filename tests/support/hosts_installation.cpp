#include "support/hosts_installation.h"

#include <cstdlib>
#include <cstring>
#include <optional>
#include <regex>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "common/files.h"
#include "common/pki.h"
#include "support/child_process.h"
#include "support/pgstack_runtime.h"

namespace pgstack::testing {
namespace {

constexpr int kApiPort = 8443;

// Runs `call` on a thread inside `host` and returns what it returned.
template <typename Call>
auto inside(const TestHosts& hosts, int host, Call&& call) -> decltype(call()) {
  std::optional<decltype(call())> result;
  auto ran = hosts.run_inside(host, [&] { result.emplace(call()); });
  if (!ran) return ran.error();
  return std::move(*result);
}

}  // namespace

Result<std::unique_ptr<HostsInstallation>> HostsInstallation::start(const InstallationBinaries& binaries) {
  std::unique_ptr<HostsInstallation> installation(new HostsInstallation());
  installation->binaries_ = binaries;
  ASSIGN_OR_RETURN(installation->hosts_, TestHosts::create(kMemberHosts + 1));
  ASSIGN_OR_RETURN(installation->etcd_, EtcdCluster::start(*installation->hosts_, {0, 1, 2}, kClientHost));
  std::string pattern = (std::filesystem::temp_directory_path() / "pgsth-install-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr)
    return make_error(ErrorCode::kUnavailable, fmt::format("mkdtemp {}: {}", pattern, std::strerror(errno)));
  installation->directory_ = pattern;
  // The agents' children run as postgres: they must be able to enter the tree.
  std::filesystem::permissions(installation->directory_, std::filesystem::perms(0755));
  RETURN_IF_ERROR(installation->start_controller());
  for (int host = 0; host < kMemberHosts; ++host) RETURN_IF_ERROR(installation->start_agent(host));
  // Every host registered before a test makes a cluster: the controller places members on the hosts it
  // knows at that moment, and one registering late (a loaded machine) would leave two members on a host.
  const bool registered = wait_until(
      [&] {
        const auto items = installation->get("/apis/pgstack.io/v1/hosts").value("items", nlohmann::json::array());
        std::size_t ready = 0;
        for (const auto& host : items) ready += host.value("status", "") == "Ready" ? 1 : 0;
        return ready == static_cast<std::size_t>(kMemberHosts);
      },
      std::chrono::seconds(60), std::chrono::milliseconds(250));
  if (!registered)
    return make_error(ErrorCode::kUnavailable, fmt::format("not every agent registered its host within 60 s: {}",
                                                           installation->get("/apis/pgstack.io/v1/hosts").dump()));
  return installation;
}

HostsInstallation::~HostsInstallation() {
  // Every process lives in a host: the hosts' teardown kills them all (Patroni's Postgres included).
  etcd_.reset();
  hosts_.reset();
  std::error_code ignored;
  if (!directory_.empty() && std::getenv("PGSTACK_KEEP_TEST_DIR") == nullptr)
    std::filesystem::remove_all(directory_, ignored);
}

int HostsInstallation::host_named(const std::string& name) const {
  for (int host = 0; host < kMemberHosts; ++host) {
    if (hosts_->name(host) == name) return host;
  }
  return -1;
}

Result<bool> HostsInstallation::start_controller() {
  const std::string address = hosts_->address(kClientHost);
  ASSIGN_OR_RETURN(const auto ca, pki::load_or_create_ca(etcd_->ca_directory(), "pgstack test hosts CA"));
  ASSIGN_OR_RETURN(const auto api_identity,
                   pki::issue_certificate(ca, {"pgstack API", {}, {address}, pki::Usage::kServer}));
  RETURN_IF_ERROR(pki::write_key_pair(api_identity, directory_ / "api.crt", directory_ / "api.key"));
  api_url_ = fmt::format("https://{}:{}", address, kApiPort);
  std::vector<std::string> argv = {binaries_.controller,
                                   "--listen",
                                   fmt::format("{}:{}", address, kApiPort),
                                   "--etcd",
                                   fmt::format("{}", fmt::join(etcd_->endpoints(), ",")),
                                   "--ca-file",
                                   etcd_->ca_file().string(),
                                   "--client-cert",
                                   etcd_->client_certificate().string(),
                                   "--client-key",
                                   etcd_->client_key().string(),
                                   "--tls-cert",
                                   (directory_ / "api.crt").string(),
                                   "--tls-key",
                                   (directory_ / "api.key").string(),
                                   "--bootstrap-admin",
                                   "e2e-admin",
                                   "--bootstrap-token-file",
                                   (directory_ / "admin-token").string()};
  argv.insert(argv.end(), binaries_.controller_arguments.begin(), binaries_.controller_arguments.end());
  RETURN_IF_ERROR(hosts_->spawn(kClientHost, argv, directory_ / "controller.log"));
  const bool healthy = wait_until(
      [this] {
        auto response = inside(*hosts_, kClientHost, [this] {
          return http_request("GET", api_url_ + "/healthz", "", {}, std::chrono::seconds(2));
        });
        return response.ok() && response->status == 200;
      },
      std::chrono::seconds(60));
  if (!healthy)
    return make_error(ErrorCode::kUnavailable,
                      "pgstack-controller did not become healthy:\n" + file_tail(directory_ / "controller.log"));
  ASSIGN_OR_RETURN(admin_token_, read_file(directory_ / "admin-token"));
  while (!admin_token_.empty() && admin_token_.back() == '\n') admin_token_.pop_back();
  return true;
}

Result<bool> HostsInstallation::start_agent(int host) {
  const std::filesystem::path state = directory_ / host_name(host);
  std::filesystem::create_directories(state);
  std::filesystem::permissions(state, std::filesystem::perms(0755));
  const std::vector<std::string> argv = {binaries_.agent,
                                         "--etcd",
                                         fmt::format("{}", fmt::join(etcd_->endpoints(), ",")),
                                         "--state-dir",
                                         state.string(),
                                         "--host-name",
                                         host_name(host),
                                         "--address",
                                         hosts_->address(host),
                                         "--ca-dir",
                                         etcd_->ca_directory().string(),
                                         "--node-exporter-listen",
                                         "off",
                                         "--metrics-listen",
                                         "off",
                                         "--no-extension-installs"};
  RETURN_IF_ERROR(hosts_->spawn(host, argv, directory_ / (host_name(host) + "-agent.log")));
  return true;
}

void HostsInstallation::kill_host(int host) { hosts_->kill_all(host); }

Result<bool> HostsInstallation::restart_host(int host) {
  for (int member = 0; member < etcd_->size(); ++member) {
    if (etcd_->member_host(member) == host) RETURN_IF_ERROR(etcd_->restart(member));
  }
  return start_agent(host);
}

Result<HttpResponse> HostsInstallation::api(const std::string& method, const std::string& path,
                                            const std::string& body) const {
  const std::string full = path.rfind('/', 0) == 0 ? path : "/apis/stackgres.io/v1/namespaces/default/" + path;
  HttpHeaders headers = {{"Content-Type", "application/json"}, {"Authorization", "Bearer " + admin_token_}};
  return inside(*hosts_, kClientHost,
                [&] { return http_request(method, api_url_ + full, body, headers, std::chrono::seconds(30)); });
}

nlohmann::json HostsInstallation::get(const std::string& path) const {
  auto response = api("GET", path);
  if (!response || response->status != 200) return nlohmann::json::object();
  auto parsed = nlohmann::json::parse(response->body, nullptr, false);
  return parsed.is_discarded() ? nlohmann::json::object() : parsed;
}

Result<CommandOutput> HostsInstallation::cli(const std::vector<std::string>& arguments) const {
  std::vector<std::string> argv = {"env",
                                   "PGSTACK_API=" + api_url_,
                                   "PGSTACK_TOKEN=" + admin_token_,
                                   "PGSTACK_CA_FILE=" + etcd_->ca_file().string(),
                                   "PGSTACK_STATE_DIR=" + directory_.string(),
                                   binaries_.cli};
  argv.insert(argv.end(), arguments.begin(), arguments.end());
  return hosts_->run(kClientHost, argv);
}

std::vector<std::filesystem::path> HostsInstallation::patroni_logs(int host) const {
  std::vector<std::filesystem::path> logs;
  std::error_code error;
  const std::filesystem::path instances = directory_ / host_name(host) / "instances";
  for (auto it = std::filesystem::recursive_directory_iterator(instances, error);
       it != std::filesystem::recursive_directory_iterator(); it.increment(error)) {
    if (error) break;
    if (it->path().filename() == "patroni.log") logs.push_back(it->path());
  }
  return logs;
}

std::string HostsInstallation::logs_tail() const {
  std::string logs = "---- controller ----\n" + file_tail(directory_ / "controller.log", 4000) + "\n";
  for (int member = 0; member < etcd_->size(); ++member)
    logs += fmt::format("---- etcd member {} ----\n{}\n", member, etcd_->log_tail(member));
  for (int host = 0; host < kMemberHosts; ++host) {
    logs += fmt::format("---- agent of {} ----\n{}\n", host_name(host),
                        file_tail(directory_ / (host_name(host) + "-agent.log"), 4000));
    for (const auto& log : patroni_logs(host))
      logs += fmt::format("---- {} ----\n{}\n", log.string(), file_tail(log, 3000));
  }
  return logs;
}

std::string HostsInstallation::leadership_trail(std::size_t per_file) const {
  static const std::regex kLeadership(
      "demot|promot|leader|lock|DCS|rewind|Demot|guard|etcd answers|Patroni stopped|starting Patroni",
      std::regex::optimize);
  const auto matching_lines = [&](const std::filesystem::path& file) {
    std::vector<std::string> kept;
    const auto text = read_file(file);
    if (!text) return std::string("(cannot read)\n");
    std::istringstream lines(*text);
    for (std::string line; std::getline(lines, line);) {
      if (!std::regex_search(line, kLeadership)) continue;
      kept.push_back(line.size() > 220 ? line.substr(0, 220) + "..." : line);
      if (kept.size() > per_file) kept.erase(kept.begin());
    }
    return fmt::format("{}\n", fmt::join(kept, "\n"));
  };
  std::string trail;
  for (int host = 0; host < kMemberHosts; ++host) {
    trail += fmt::format("==== agent of {} ====\n{}", host_name(host),
                         matching_lines(directory_ / (host_name(host) + "-agent.log")));
    for (const auto& log : patroni_logs(host))
      trail += fmt::format("==== Patroni on {} ====\n{}", host_name(host), matching_lines(log));
  }
  return trail;
}

}  // namespace pgstack::testing
