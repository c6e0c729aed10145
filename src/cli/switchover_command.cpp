// pgstack switchover CLUSTER [--candidate MEMBER] [-n NS]: hands the primary role to a replica and
// returns once Patroni reports the new leader.
#include <iostream>
#include <memory>
#include <optional>

#include <fmt/format.h>

#include "cli/api_client.h"
#include "cli/api_context.h"
#include "cli/commands.h"
#include "cli/output.h"

namespace pgstack::cli {

void add_switchover_command(CLI::App& app, ExitStatus& status) {
  struct Options {
    std::string cluster;
    std::string candidate;
    std::string namespace_name{kDefaultNamespace};
  };
  auto options = std::make_shared<Options>();
  CLI::App* command = app.add_subcommand("switchover", "Make a replica the primary (planned, no data loss)");
  command->add_option("cluster", options->cluster, "SGCluster name")->required();
  command->add_option("--candidate", options->candidate, "Member to promote (default: the healthiest replica)")
      ->type_name("MEMBER");
  command->add_option("-n,--namespace", options->namespace_name, "Namespace")->capture_default_str()->type_name("NS");
  command->callback([options, command, &status] {
    const ApiClient client = api_client_for(*command);
    std::optional<std::string> candidate;
    if (!options->candidate.empty()) candidate = options->candidate;
    std::cerr << fmt::format("switching over {}{}...\n", options->cluster,
                             candidate ? " to " + *candidate : std::string());
    auto result = client.switchover(options->namespace_name, options->cluster, candidate);
    if (!result) {
      status.code = report_error("switchover", result.error());
      return;
    }
    const auto text = [&](const char* key) {
      const auto found = result->find(key);
      return found != result->end() && found->is_string() ? found->get<std::string>() : std::string("?");
    };
    std::cout << fmt::format("switched over {}: {} -> {}\n", options->cluster, text("from"), text("to"));
    status.code = 0;
  });
}

}  // namespace pgstack::cli
