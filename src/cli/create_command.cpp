// pgstack create secret NAME --from-literal KEY=VALUE... [--from-file KEY=PATH...] [-n NS]: a user's
// Secret (what an SGObjectStorage's credentials refer to), like kubectl create secret generic. The
// values go to the API only; nothing prints them.
#include <iostream>
#include <memory>

#include <fmt/format.h>

#include "cli/api_client.h"
#include "cli/api_context.h"
#include "cli/commands.h"
#include "cli/output.h"
#include "cli/secret_input.h"
#include "common/files.h"

namespace pgstack::cli {

void add_create_command(CLI::App& app, ExitStatus& status) {
  struct Options {
    std::string name;
    std::string namespace_name{kDefaultNamespace};
    std::vector<std::string> literals;
    std::vector<std::string> files;
  };
  auto options = std::make_shared<Options>();
  CLI::App* create = app.add_subcommand("create", "Create a resource from the command line");
  create->require_subcommand(1);
  CLI::App* command = create->add_subcommand("secret", "Create a Secret (e.g. an SGObjectStorage's S3 credentials)");
  command->add_option("name", options->name, "Secret name")->required();
  command->add_option("-n,--namespace", options->namespace_name, "Namespace")->capture_default_str()->type_name("NS");
  command->add_option("--from-literal", options->literals, "A key and its value; repeatable")->type_name("KEY=VALUE");
  command
      ->add_option("--from-file", options->files,
                   "A key and the file holding its value (PATH alone: the key is "
                   "the file name); repeatable")
      ->type_name("KEY=PATH");
  command->footer("Values are sent to the API and never printed; `pgstack describe secret NAME` shows the keys.");
  command->callback([options, command, &status] {
    auto data = secret_data_from_arguments(options->literals, options->files,
                                           [](const std::string& path) { return read_file(path); });
    if (!data) {
      status.code = report_error("create secret", data.error());
      return;
    }
    const ApiClient client = api_client_for(*command);
    auto created =
        client.create_secret(options->namespace_name, secret_document(options->name, options->namespace_name, *data));
    if (!created) {
      status.code = report_error("create secret", created.error());
      return;
    }
    std::cout << fmt::format("secret/{} created\n", options->name);
    status.code = 0;
  });
}

}  // namespace pgstack::cli
