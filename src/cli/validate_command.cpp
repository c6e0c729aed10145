// pgstack validate -f FILE... [-o yaml|json]: exit 0 when every document is valid, 1 otherwise.
#include <iostream>
#include <memory>

#include <fmt/format.h>

#include "cli/cluster_inputs.h"
#include "cli/commands.h"
#include "cli/manifest_input.h"
#include "host/host_context.h"
#include "model/codec.h"

namespace pgstack::cli {
namespace {

// Every cluster whose references are in the input; the others' references were reported as deferred.
model::Diagnostics tuning_warnings_of_all_clusters(const std::vector<model::Document>& documents) {
  model::Diagnostics warnings;
  host::HostValidationContext host;
  std::vector<model::Document> configurations;
  for (const auto& document : documents) {
    if (document.kind() != "SGCluster") configurations.push_back(document);
  }
  for (const auto& document : documents) {
    if (document.kind() != "SGCluster") continue;
    // The cluster alone among the configurations: clusters of the same name in other namespaces are not its.
    std::vector<model::Document> input = configurations;
    input.push_back(document);
    auto inputs = resolve_cluster_inputs(input, document.name(), host.context().installed_postgres);
    if (inputs.ok()) warnings.append(tuning_warnings(inputs.value(), documents));
  }
  return warnings;
}

}  // namespace

void add_validate_command(CLI::App& app, ExitStatus& status) {
  struct Options {
    std::vector<std::string> files;
    std::string output;
  };
  auto options = std::make_shared<Options>();
  CLI::App* command = app.add_subcommand("validate", "Check manifests offline: schema, values, references");
  command->add_option("-f,--filename", options->files, "Manifest file (YAML or JSON; - for stdin); repeatable")
      ->required();
  command->add_option("-o,--output", options->output, "Print the documents with defaults filled in")
      ->check(CLI::IsMember({"yaml", "json"}));
  command->callback([options, &status] {
    const ManifestInput input = read_manifests(options->files);
    const std::size_t errors = print_diagnostics(input.validation.diagnostics);
    if (errors > 0) {
      std::cerr << fmt::format("{} error{} found; nothing is valid until all are fixed\n", errors,
                               errors == 1 ? "" : "s");
      status.code = 1;
      return;
    }
    print_diagnostics(tuning_warnings_of_all_clusters(input.validation.documents));
    if (options->output == "yaml") std::cout << model::documents_to_yaml(input.validation.documents);
    if (options->output == "json") std::cout << model::documents_to_json(input.validation.documents);
    if (options->output.empty()) {
      for (const auto& document : input.validation.documents)
        std::cerr << fmt::format("{}: {} is valid\n", document.source, document.label());
    }
    status.code = 0;
  });
}

}  // namespace pgstack::cli
