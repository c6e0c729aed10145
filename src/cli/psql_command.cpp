// pgstack psql CLUSTER [--replica] [--direct|--pooler] [-n NS] [-- ARGS...]: runs psql against the cluster.
// The password travels in PGPASSWORD, never on the command line where `ps` would show it.
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <memory>
#include <unistd.h>

#include <fmt/format.h>

#include "cli/api_client.h"
#include "cli/api_context.h"
#include "cli/commands.h"
#include "cli/output.h"

namespace pgstack::cli {

void add_psql_command(CLI::App& app, ExitStatus& status) {
  struct Options {
    std::string cluster;
    std::string namespace_name{kDefaultNamespace};
    ConnectionOptions connection;
    std::vector<std::string> psql_arguments;
  };
  auto options = std::make_shared<Options>();
  CLI::App* command = app.add_subcommand("psql", "Run psql connected to a cluster (arguments after -- go to psql)");
  command->add_option("cluster", options->cluster, "SGCluster name")->required();
  command->add_option("-n,--namespace", options->namespace_name, "Namespace")->capture_default_str()->type_name("NS");
  command->add_flag("--replica", options->connection.replica, "Prefer a standby");
  add_endpoint_flags(*command, options->connection);
  command->add_option("psql-arguments", options->psql_arguments, "Passed to psql as they are (after --)");
  command->callback([options, command, &status] {
    const ApiClient client = api_client_for(*command);
    options->connection.include_password = false;
    auto connection = fetch_connection(client, options->namespace_name, options->cluster, options->connection);
    if (!connection) {
      status.code = report_error("psql", connection.error());
      return;
    }
    if (!connection->password.empty()) ::setenv("PGPASSWORD", connection->password.c_str(), 1);
    std::vector<std::string> arguments = {"psql", connection->uri};
    arguments.insert(arguments.end(), options->psql_arguments.begin(), options->psql_arguments.end());
    std::vector<char*> argv;
    argv.reserve(arguments.size() + 1);
    for (auto& argument : arguments) argv.push_back(argument.data());
    argv.push_back(nullptr);
    std::cout.flush();
    ::execvp("psql", argv.data());
    const int error = errno;
    status.code = report_error(
        "psql", make_error(ErrorCode::kUnavailable,
                           error == ENOENT ? std::string("psql is not installed (or not in PATH): install the "
                                                         "PostgreSQL client, or use: pgstack connstr " +
                                                         options->cluster)
                                           : fmt::format("cannot run psql: {}", std::strerror(error))));
  });
}

}  // namespace pgstack::cli
