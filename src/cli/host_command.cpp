// pgstack host drain|uncordon|remove HOST: take a host out of service. `drain` has the controller move
// the host's members to other hosts (replicas rebuilt there, a switchover first for a primary) and place
// nothing new on it; with --wait it returns once the host has no members left. `uncordon` ends a drain.
// `remove` forgets a host that has no members and whose agent is stopped.
#include <chrono>
#include <iostream>
#include <memory>
#include <thread>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "cli/api_client.h"
#include "cli/api_context.h"
#include "cli/commands.h"
#include "cli/output.h"

namespace pgstack::cli {
namespace {

using model::Json;

std::string host_path(const std::string& host) { return "/apis/pgstack.io/v1/hosts/" + host; }

std::vector<std::string> members_of(const Json& host) {
  std::vector<std::string> members;
  for (const auto& member : host.value("members", Json::array())) {
    if (member.is_string()) members.push_back(member.get<std::string>());
  }
  return members;
}

// Polls the host until it has no members; the error says which are left.
Result<bool> wait_until_empty(const ApiClient& client, const std::string& host, std::chrono::seconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::vector<std::string> left;
  while (true) {
    auto current = client.send("GET", host_path(host));
    if (!current) return current.error();
    left = members_of(*current);
    if (left.empty()) return true;
    if (std::chrono::steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(std::chrono::seconds(2));
  }
  return make_error(ErrorCode::kUnavailable,
                    fmt::format("{} still has members after {} s: {} (pgstack get clusters and the cluster's status "
                                "say why: a replica is rebuilt elsewhere before it leaves)",
                                host, timeout.count(), fmt::join(left, ", ")));
}

}  // namespace

void add_host_command(CLI::App& app, ExitStatus& status) {
  CLI::App* host = app.add_subcommand("host", "Take a host of the installation out of service");
  host->require_subcommand(1);

  struct DrainOptions {
    std::string host;
    bool wait = false;
    int timeout_seconds = 600;
  };
  auto drain_options = std::make_shared<DrainOptions>();
  CLI::App* drain = host->add_subcommand(
      "drain", "Move the host's members to other hosts (a switchover first for a primary); place nothing new there");
  drain->add_option("host", drain_options->host, "Host name (pgstack get hosts)")->required();
  drain->add_flag("--wait", drain_options->wait, "Return once the host has no members left");
  drain->add_option("--timeout", drain_options->timeout_seconds, "How long --wait waits")
      ->transform(CLI::AsNumberWithUnit(std::map<std::string, int>{{"s", 1}, {"m", 60}, {"h", 3600}}))
      ->default_str("10m")
      ->type_name("DURATION");
  drain->callback([drain_options, drain, &status] {
    const ApiClient client = api_client_for(*drain);
    auto started = client.send("POST", host_path(drain_options->host) + "/drain");
    if (!started) {
      status.code = report_error("host drain", started.error());
      return;
    }
    std::cerr << started->value("message", "") << "\n";
    if (drain_options->wait) {
      if (auto empty =
              wait_until_empty(client, drain_options->host, std::chrono::seconds(drain_options->timeout_seconds));
          !empty) {
        status.code = report_error("host drain", empty.error());
        return;
      }
      std::cerr << fmt::format("{} has no members left; pgstack host remove {} forgets it once its agent is stopped\n",
                               drain_options->host, drain_options->host);
    }
    status.code = 0;
  });

  auto uncordon_host = std::make_shared<std::string>();
  CLI::App* uncordon = host->add_subcommand("uncordon", "End a drain: the host takes new members again");
  uncordon->add_option("host", *uncordon_host, "Host name")->required();
  uncordon->callback([uncordon_host, uncordon, &status] {
    auto ended = api_client_for(*uncordon).send("DELETE", host_path(*uncordon_host) + "/drain");
    if (!ended) {
      status.code = report_error("host uncordon", ended.error());
      return;
    }
    std::cerr << ended->value("message", "") << "\n";
    status.code = 0;
  });

  auto remove_host = std::make_shared<std::string>();
  CLI::App* remove = host->add_subcommand("remove", "Forget a host that has no members and whose agent is stopped");
  remove->add_option("host", *remove_host, "Host name")->required();
  remove->callback([remove_host, remove, &status] {
    auto removed = api_client_for(*remove).send("DELETE", host_path(*remove_host));
    if (!removed) {
      status.code = report_error("host remove", removed.error());
      return;
    }
    std::cerr << removed->value("message", "") << "\n";
    status.code = 0;
  });
}

}  // namespace pgstack::cli
