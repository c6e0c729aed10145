// pgstack join-token [--ttl 1h]: a single-use token that lets one more host join this installation.
// pgstack join URL --token TOKEN --address IP: this host joins the installation whose API is at URL: it
// gets the installation's CA and etcd's endpoints and runs an agent, which registers the host; the
// controller then places members here. Run again, it restarts the agent of a host that already joined.
// (docs/multihost.md; the endpoints are in controller/join_api.h.)
#include <chrono>
#include <iostream>
#include <memory>
#include <thread>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "auth/join_token.h"
#include "cli/api_client.h"
#include "cli/api_context.h"
#include "cli/commands.h"
#include "cli/local_stack.h"
#include "cli/output.h"
#include "common/digest.h"
#include "common/files.h"
#include "common/http_client.h"
#include "common/network.h"
#include "common/pki.h"
#include "common/strings.h"
#include "store/etcd_client.h"
#include "store/keys.h"

namespace pgstack::cli {
namespace {

using model::Json;
constexpr std::string_view kJoinPath = "/apis/pgstack.io/v1/join";

// The installation's CA from URL, kept only when its SHA-256 is the token's: the download itself is not
// verified (this host has no CA yet), the digest is what makes it trustworthy.
Result<std::string> fetch_trusted_ca(const std::string& api_url, const auth::JoinToken& token) {
  auto response = http_get_unverified(api_url + std::string(kJoinPath) + "/ca", std::chrono::seconds(10));
  if (!response)
    return make_error(response.error().code, fmt::format("cannot reach {}: {}", api_url, response.error().message));
  if (response->status != 200)
    return make_error(ErrorCode::kUnavailable, fmt::format("{} did not hand out its CA (HTTP {}): {}", api_url,
                                                           response->status, trim(response->body).substr(0, 300)));
  const std::string digest = sha256_hex(response->body);
  if (digest != token.ca_sha256)
    return make_error(ErrorCode::kPermissionDenied,
                      fmt::format("the CA that {} serves (sha256 {}) is not the one the token names (sha256 {}): "
                                  "this is not the installation the token is for, or something in between answered; "
                                  "nothing was changed",
                                  api_url, digest, token.ca_sha256));
  return response->body;
}

// Waits until the agent registered this host in etcd (as the controller sees it), or the deadline.
Result<bool> wait_for_registration(const UpSettings& settings, const LocalStack& stack,
                                   std::chrono::steady_clock::time_point deadline, ProcessSupervisor& agent) {
  // The agent's own client certificate: this process has no other one etcd accepts.
  set_tls_client_files({pki::ca_files_in(stack.pki_dir()).certificate.string(),
                        (stack.agent_dir() / "tls" / "agent.crt").string(),
                        (stack.agent_dir() / "tls" / "agent.key").string()});
  const store::EtcdClient etcd(split(settings.etcd_url, ','));
  std::string last = "not asked yet";
  while (std::chrono::steady_clock::now() < deadline) {
    if (!agent.is_running()) return died_error("pgstack-agent", stack.log_file("agent"));
    auto registered = etcd.get(store::keys::host(settings.etcd_prefix, settings.host_name));
    if (registered && registered->has_value()) return true;
    last = registered ? "no registration yet" : registered.error().message;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  return make_error(ErrorCode::kUnavailable, fmt::format("the agent did not register host {} in time: {}\n{}",
                                                         settings.host_name, last, log_tail(stack.log_file("agent"))));
}

// This host's etcd member, added to the installation's etcd cluster: as a learner first (it does not count
// for quorum, so a member that never starts costs nothing), started, then promoted once it caught up. On
// a failure it is removed again and nothing of it is left. `settings` gets the member's URLs.
class EtcdMemberJoin {
 public:
  EtcdMemberJoin(const LocalStack& stack, UpSettings& settings, std::vector<std::string> endpoints,
                 std::chrono::steady_clock::time_point deadline)
      : stack_(stack), settings_(settings), etcd_(endpoints), endpoints_(std::move(endpoints)), deadline_(deadline) {}

  Result<bool> run() {
    // Its certificate names the address: peers and clients verify it. It is also this process's client
    // certificate for the cluster API.
    ASSIGN_OR_RETURN(const auto ca, pki::load_ca(pki::ca_files_in(stack_.pki_dir())));
    const pki::LeafRequest names{"etcd", {"localhost"}, {"127.0.0.1", settings_.address}, pki::Usage::kServerAndClient};
    RETURN_IF_ERROR(pki::ensure_certificate(ca, names, stack_.pki_dir() / "etcd.crt", stack_.pki_dir() / "etcd.key"));
    set_tls_client_files({pki::ca_files_in(stack_.pki_dir()).certificate.string(),
                          (stack_.pki_dir() / "etcd.crt").string(), (stack_.pki_dir() / "etcd.key").string()});
    ASSIGN_OR_RETURN(const int client_port, free_tcp_port());
    ASSIGN_OR_RETURN(int peer_port, free_tcp_port());
    if (peer_port == client_port) ++peer_port;
    const std::string client_url = "https://" + url_authority(settings_.address, client_port);
    settings_.etcd_peer_url = "https://" + url_authority(settings_.address, peer_port);

    auto added = retry_while_etcd_settles([&] { return etcd_.member_add_learner(settings_.etcd_peer_url); }, deadline_);
    RETURN_IF_ERROR(added);
    member_id_ = added->first.id;
    std::vector<std::string> initial;
    for (const auto& member : added->second) {
      const std::string name = member.id == member_id_ ? settings_.host_name : member.name;
      if (name.empty() || member.peer_urls.empty())
        return undo(make_error(ErrorCode::kFailedPrecondition,
                               fmt::format("etcd member {} ({}) was added but never started; remove it first "
                                           "(etcdctl member remove {:s})",
                                           member.id, fmt::join(member.peer_urls, ","), member.id)));
      initial.push_back(name + "=" + member.peer_urls.front());
    }
    settings_.manage_etcd = true;
    settings_.etcd_member_name = settings_.host_name;
    settings_.etcd_initial_cluster = fmt::format("{}", fmt::join(initial, ","));
    settings_.etcd_url = client_url + "," + fmt::format("{}", fmt::join(endpoints_, ","));

    std::error_code error;
    for (const auto& dir : {stack_.state_dir / "run", stack_.state_dir / "logs"})
      std::filesystem::create_directories(dir, error);
    std::filesystem::create_directories(stack_.etcd_dir(), error);
    std::filesystem::permissions(stack_.etcd_dir(), std::filesystem::perms::owner_all, error);  // etcd wants 0700
    process_ = std::make_unique<ProcessSupervisor>(local_etcd_spec(stack_, settings_));
    if (auto started = start_local_daemon(*process_); !started) return undo(started.error());
    std::string last = "not asked yet";
    while (std::chrono::steady_clock::now() < deadline_) {
      if (!process_->is_running()) return undo(died_error("etcd", stack_.log_file("etcd")));
      auto promoted = etcd_.member_promote(member_id_);
      if (promoted) {
        std::cerr << fmt::format("etcd member {} ({}) joined the etcd cluster, now of {} members\n",
                                 settings_.host_name, client_url, initial.size());
        return true;
      }
      last = promoted.error().message;  // not caught up with the leader yet
      std::this_thread::sleep_for(std::chrono::seconds(1));
    }
    return undo(make_error(ErrorCode::kUnavailable, fmt::format("the new etcd member did not catch up in time: {}\n{}",
                                                                last, log_tail(stack_.log_file("etcd")))));
  }

 private:
  Error undo(Error error) {
    if (process_) (void)process_->stop();
    if (!member_id_.empty()) {
      if (auto removed = etcd_.member_remove(member_id_); !removed)
        error.message += fmt::format("\nand removing the added etcd member {} failed: {} (etcdctl member remove {})",
                                     member_id_, removed.error().message, member_id_);
    }
    std::error_code ignored;
    std::filesystem::remove_all(stack_.etcd_dir(), ignored);
    return error;
  }

  const LocalStack& stack_;
  UpSettings& settings_;
  store::EtcdClient etcd_;
  std::vector<std::string> endpoints_;
  std::chrono::steady_clock::time_point deadline_;
  std::string member_id_;
  std::unique_ptr<ProcessSupervisor> process_;
};

}  // namespace

void add_join_token_command(CLI::App& app, ExitStatus& status) {
  struct Options {
    int ttl_seconds = static_cast<int>(std::chrono::seconds(3600).count());
  };
  auto options = std::make_shared<Options>();
  CLI::App* command =
      app.add_subcommand("join-token", "Make a single-use token with which one more host joins this installation");
  command->add_option("--ttl", options->ttl_seconds, "How long the token may be used (1m to 7d)")
      ->transform(CLI::AsNumberWithUnit(std::map<std::string, int>{{"s", 1}, {"m", 60}, {"h", 3600}, {"d", 86400}}))
      ->default_str("1h")
      ->type_name("DURATION");
  command->callback([options, command, &status] {
    const ApiClient client = api_client_for(*command);
    const Json body = {{"ttlSeconds", options->ttl_seconds}};
    auto made = client.send("POST", "/apis/pgstack.io/v1/jointokens", &body);
    if (!made) {
      status.code = report_error("join-token", made.error());
      return;
    }
    std::cout << made->value("token", "") << "\n";
    std::cerr << fmt::format(
        "valid until {}, for one host. On the new host:\n  pgstack join {} --token {} --address IP-OF-THAT-HOST\n",
        made->value("expiresAt", "?"), client.base_url(), made->value("token", ""));
    status.code = 0;
  });
}

void add_join_command(CLI::App& app, ExitStatus& status) {
  struct Options {
    std::string api_url;
    std::string token;
    std::string address;
    std::string host_name;
    std::string state_dir;
    bool etcd_member = false;
    std::vector<std::string> labels;
    int timeout_seconds = 120;
  };
  auto options = std::make_shared<Options>();
  CLI::App* command = app.add_subcommand(
      "join", "Join this host to an installation (a token from `pgstack join-token`) and run its agent here");
  command->add_option("url", options->api_url, "The installation's API, e.g. https://10.0.0.1:8080")->required();
  command->add_option("--token", options->token, "The join token (single use)")->type_name("TOKEN");
  command
      ->add_option("--address", options->address,
                   "The IP address the other hosts and clients reach this host by: its members and proxy serve on it")
      ->type_name("IP");
  command->add_option("--host-name", options->host_name, "This host's name in the installation (default: hostname)")
      ->type_name("NAME");
  command
      ->add_option("--state-dir", options->state_dir,
                   "Where this host's data, logs and pid files live (default as for pgstack up)")
      ->type_name("DIR");
  command
      ->add_option("--label", options->labels,
                   "A label of this host, KEY=VALUE (repeatable; replaces the kept ones): an SGCluster's "
                   "pods.scheduling.nodeSelector places members only on hosts with its labels")
      ->type_name("KEY=VALUE");
  command->add_flag("--etcd-member", options->etcd_member,
                    "Also run a member of the installation's etcd here (added with etcd's member add; join two "
                    "hosts with it for a 3-member etcd)");
  command->add_option("--timeout", options->timeout_seconds, "How long to wait for the agent to register (e.g. 120s)")
      ->transform(CLI::AsNumberWithUnit(std::map<std::string, int>{{"s", 1}, {"m", 60}}))
      ->default_str("120s")
      ->type_name("DURATION");
  command->callback([options, &status] {
    auto logger = spdlog::stderr_color_mt("pgstack-join");
    logger->set_level(spdlog::level::warn);
    spdlog::set_default_logger(logger);
    const auto fail = [&status](const Error& error) { status.code = report_error("join", error); };
    const auto chosen = options->state_dir.empty() ? default_state_dir() : std::filesystem::path(options->state_dir);
    const LocalStack stack{std::filesystem::absolute(chosen).lexically_normal()};
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(options->timeout_seconds);
    auto labels = checked_labels(options->labels);
    if (!labels) return fail(labels.error());
    std::string api_url = options->api_url;
    while (api_url.ends_with('/')) api_url.pop_back();

    // A host that joined before: its agent is started again from what the join wrote.
    UpSettings settings;
    if (auto content = read_file(stack.settings_file())) {
      const Json json = Json::parse(*content, nullptr, false);
      if (json.is_object()) settings = UpSettings::from_json(json);
      if (settings.joined_api.empty())
        return fail(make_error(
            ErrorCode::kFailedPrecondition,
            fmt::format("{} holds an installation of its own (pgstack up); join with another --state-dir, or "
                        "remove it first (pgstack down --state-dir {} --purge)",
                        stack.state_dir.string(), stack.state_dir.string())));
      if (settings.joined_api != api_url)
        return fail(make_error(ErrorCode::kFailedPrecondition,
                               fmt::format("this host joined {} already ({}); it cannot join {} too",
                                           settings.joined_api, stack.settings_file().string(), api_url)));
      std::cerr << fmt::format("host {} joined {} before; starting its {}agent\n", settings.host_name, api_url,
                               settings.manage_etcd ? "etcd member and " : "");
    } else {
      if (options->token.empty())
        return fail(make_error(ErrorCode::kInvalidInput,
                               "--token: required to join (pgstack join-token on a host of the installation)"));
      const auto token = auth::parse_join_token(trim(options->token));
      if (!token)
        return fail(make_error(ErrorCode::kInvalidInput,
                               "--token: not a join token (expected pgsjoin.<id>.<secret>.<ca digest>, as "
                               "pgstack join-token prints it)"));
      if (options->address.empty())
        return fail(make_error(ErrorCode::kInvalidInput,
                               "--address: required: the IP address the other hosts reach this one by"));
      if (auto own = check_own_address(options->address); !own) return fail(own.error());
      if (auto url = parse_http_url(api_url); !url || !url->tls)
        return fail(make_error(
            ErrorCode::kInvalidInput,
            fmt::format("url: expected the installation's API as https://HOST:PORT, got \"{}\"", options->api_url)));
      const std::string name = options->host_name.empty() ? host_name() : options->host_name;

      auto ca = fetch_trusted_ca(api_url, *token);
      if (!ca) return fail(ca.error());
      std::error_code error;
      std::filesystem::create_directories(stack.pki_dir(), error);
      std::filesystem::permissions(stack.pki_dir(), std::filesystem::perms::owner_all, error);
      const pki::CaFiles ca_files = pki::ca_files_in(stack.pki_dir());
      if (auto written = write_file_atomically(ca_files.certificate, *ca); !written) return fail(written.error());
      // From here on the API is verified with that CA.
      set_tls_client_files({ca_files.certificate.string(), "", ""});
      const Json request = {{"token", trim(options->token)}, {"hostName", name}};
      auto grant = ApiClient(api_url).send("POST", std::string(kJoinPath), &request);
      if (!grant) return fail(grant.error());
      const Json endpoints = grant->value("etcdEndpoints", Json::array());
      if (!grant->contains("caKey") || !endpoints.is_array() || endpoints.empty())
        return fail(make_error(ErrorCode::kInternal, fmt::format("{} answered the join without a CA key or etcd "
                                                                 "endpoints",
                                                                 api_url)));
      if (auto written =
              write_file_atomically(ca_files.private_key, grant->value("caKey", ""),
                                    std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
          !written)
        return fail(written.error());
      settings.manage_etcd = false;
      settings.etcd_url = fmt::format("{}", fmt::join(endpoints.get<std::vector<std::string>>(), ","));
      settings.etcd_prefix = grant->value("etcdPrefix", settings.etcd_prefix);
      settings.host_name = name;
      settings.address = options->address;
      settings.api_address = api_url.substr(api_url.find("://") + 3);
      settings.joined_api = api_url;
      if (options->etcd_member) {
        if (auto member = EtcdMemberJoin(stack, settings, endpoints.get<std::vector<std::string>>(), deadline).run();
            !member) {
          std::error_code ignored;
          std::filesystem::remove(ca_files.private_key, ignored);
          return fail(member.error());
        }
      }
      if (auto written = write_file_atomically(stack.settings_file(), settings.to_json().dump(2) + "\n"); !written)
        return fail(written.error());
      std::cerr << fmt::format("joined {} as host {} ({}); etcd at {}\n", api_url, name, options->address,
                               settings.etcd_url);
    }

    if (!options->labels.empty() && settings.labels != *labels) {
      settings.labels = *labels;
      if (auto written = write_file_atomically(stack.settings_file(), settings.to_json().dump(2) + "\n"); !written)
        return fail(written.error());
    }
    std::error_code error;
    for (const auto& dir : {stack.state_dir / "run", stack.state_dir / "logs"}) {
      std::filesystem::create_directories(dir, error);
      if (error)
        return fail(
            make_error(ErrorCode::kUnavailable, fmt::format("cannot create {}: {}", dir.string(), error.message())));
    }
    // As root the instances run as postgres, which must traverse the state dir to reach them.
    if (::geteuid() == 0)
      std::filesystem::permissions(stack.state_dir, std::filesystem::perms::others_exec,
                                   std::filesystem::perm_options::add, error);
    // A restart: the etcd member before the agent, which may reach etcd through it.
    std::unique_ptr<ProcessSupervisor> etcd;
    if (settings.manage_etcd && !settings.etcd_initial_cluster.empty()) {
      etcd = std::make_unique<ProcessSupervisor>(local_etcd_spec(stack, settings));
      if (auto started = start_local_daemon(*etcd); !started) return fail(started.error());
    }
    auto spec = local_agent_spec(stack, settings);
    if (!spec) return fail(spec.error());
    ProcessSupervisor agent(std::move(spec).value());
    if (auto started = start_local_daemon(agent); !started) return fail(started.error());
    if (auto registered = wait_for_registration(settings, stack, deadline, agent); !registered)
      return fail(registered.error());
    std::cout << fmt::format(
        "host {} is part of the installation at {}\n  address: {}\n  state:   {} (pgstack down --state-dir {} stops "
        "its agent and members)\n  hosts:   pgstack get hosts --api {}\n",
        settings.host_name, api_url, settings.address, stack.state_dir.string(), stack.state_dir.string(), api_url);
    status.code = 0;
  });
}

}  // namespace pgstack::cli
