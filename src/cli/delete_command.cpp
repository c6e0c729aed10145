// pgstack delete KIND NAME [-n NS] [--yes] [--delete-logs]: asks on a terminal; without one, --yes is
// required. An SGCluster's logs stay in its log store unless --delete-logs asks otherwise.
#include <iostream>
#include <memory>

#include <fmt/format.h>

#include "cli/api_client.h"
#include "cli/api_context.h"
#include "cli/commands.h"
#include "cli/output.h"
#include "cli/secret_input.h"

namespace pgstack::cli {

void add_delete_command(CLI::App& app, ExitStatus& status) {
  struct Options {
    std::string kind;
    std::string name;
    std::string namespace_name{kDefaultNamespace};
    bool yes = false;
    bool delete_logs = false;
  };
  auto options = std::make_shared<Options>();
  CLI::App* command = app.add_subcommand("delete", "Delete a resource (an SGCluster's instances stop; data is kept)");
  command->add_option("kind", options->kind, "Kind, plural, singular or short name (sgcluster, sgclu)")->required();
  command->add_option("name", options->name, "Resource name")->required();
  command->add_option("-n,--namespace", options->namespace_name, "Namespace")->capture_default_str()->type_name("NS");
  command->add_flag("-y,--yes", options->yes, "Do not ask (required when standard input is not a terminal)");
  command->add_flag("--delete-logs", options->delete_logs,
                    "SGCluster: delete its logs from its log store too (kept otherwise); fails, deleting nothing, "
                    "when the store cannot be reached");
  command->callback([options, command, &status] {
    const bool secret = is_secret_kind(options->kind);
    const auto kind = secret ? Result<const model::KindInfo*>(nullptr) : resolve_kind(options->kind);
    if (!kind) {
      status.code = report_error("delete", kind.error());
      return;
    }
    const ApiClient client = api_client_for(*command);
    const std::string singular = secret ? std::string("secret") : singular_name(**kind);
    if (options->delete_logs && (secret || (*kind)->kind != "SGCluster")) {
      status.code =
          report_error("delete", make_error(ErrorCode::kInvalidInput, "--delete-logs applies to an sgcluster only"));
      return;
    }
    // Checked first, so nobody confirms the deletion of something that is not there.
    if (auto existing = secret ? client.get_secret(options->namespace_name, options->name)
                               : client.get(**kind, options->namespace_name, options->name);
        !existing) {
      status.code = report_error("delete", existing.error());
      return;
    }
    const std::string question = fmt::format("delete {} {}{}{}?", singular, options->name,
                                             options->namespace_name == kDefaultNamespace
                                                 ? std::string()
                                                 : fmt::format(" in namespace {}", options->namespace_name),
                                             options->delete_logs ? " and its logs" : "");
    const auto confirmed = confirm(question, options->yes);
    if (!confirmed) {
      status.code = report_error("delete", confirmed.error());
      return;
    }
    if (!*confirmed) {
      std::cerr << "not deleted\n";
      status.code = 1;
      return;
    }
    if (auto removed = secret ? client.remove_secret(options->namespace_name, options->name)
                              : client.remove(**kind, options->namespace_name, options->name, options->delete_logs);
        !removed) {
      status.code = report_error("delete", removed.error());
      return;
    }
    if (secret) {
      std::cout << fmt::format("secret \"{}\" deleted\n", options->name);
      status.code = 0;
      return;
    }
    std::cout << fmt::format("{}.{} \"{}\" deleted\n", singular, model::kApiGroup, options->name);
    if ((*kind)->kind == "SGCluster") {
      std::cerr << "its instances stop; their data is kept on the hosts\n";
      if (options->delete_logs) std::cerr << "its logs were deleted from its log store\n";
    }
    if ((*kind)->kind == "SGDistributedLogs")
      std::cerr << "its SGCluster, made by pgstack for it, is deleted with it (instances stop; their data is kept "
                   "on the hosts)\n";
    status.code = 0;
  });
}

}  // namespace pgstack::cli
