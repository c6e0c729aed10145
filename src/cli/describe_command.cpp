// pgstack describe KIND NAME [-n NS]: for an SGCluster its spec in short, the members as
// `patronictl list` shows them, endpoints and conditions; for an SGBackup its status and
// verification; for a Secret its key names (never the values); for other kinds the spec.
#include <iostream>
#include <memory>

#include "cli/api_client.h"
#include "cli/api_context.h"
#include "cli/commands.h"
#include "cli/output.h"
#include "cli/secret_input.h"

namespace pgstack::cli {

void add_describe_command(CLI::App& app, ExitStatus& status) {
  struct Options {
    std::string kind;
    std::string name;
    std::string namespace_name{kDefaultNamespace};
  };
  auto options = std::make_shared<Options>();
  CLI::App* command = app.add_subcommand("describe", "Show one resource in detail (an SGCluster with its members)");
  command->add_option("kind", options->kind, "Kind, plural, singular or short name (sgcluster, sgclu)")->required();
  command->add_option("name", options->name, "Resource name")->required();
  command->add_option("-n,--namespace", options->namespace_name, "Namespace")->capture_default_str()->type_name("NS");
  command->callback([options, command, &status] {
    if (is_secret_kind(options->kind)) {
      auto secret = api_client_for(*command).get_secret(options->namespace_name, options->name);
      if (!secret) {
        status.code = report_error("describe", secret.error());
        return;
      }
      std::cout << describe_secret(*secret);
      status.code = 0;
      return;
    }
    const auto kind = resolve_kind(options->kind);
    if (!kind) {
      status.code = report_error("describe", kind.error());
      return;
    }
    const ApiClient client = api_client_for(*command);
    auto document = client.get(**kind, options->namespace_name, options->name);
    if (!document) {
      status.code = report_error("describe", document.error());
      return;
    }
    model::Json resource = std::move(document).value();
    const auto now = std::chrono::system_clock::now();
    if ((*kind)->kind == "SGCluster") {
      if (!resource.contains("status")) {
        if (auto observed = client.cluster_status(options->namespace_name, options->name))
          resource["status"] = std::move(observed).value();
      }
      std::cout << describe_cluster(resource, now);
    } else if ((*kind)->kind == "SGBackup") {
      std::cout << describe_backup(resource, now);
    } else if ((*kind)->kind == "SGDbOps") {
      std::cout << describe_operation(resource, now);
    } else {
      std::cout << describe_resource(**kind, resource, now);
    }
    status.code = 0;
  });
}

}  // namespace pgstack::cli
