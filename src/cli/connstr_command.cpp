// pgstack connstr CLUSTER [--replica] [--direct] [--show-password] [-n NS]: a multi-host libpq URI
// built from the cluster's status; the password only on request.
#include <iostream>
#include <memory>

#include <fmt/format.h>

#include "cli/api_client.h"
#include "cli/commands.h"
#include "cli/output.h"

namespace pgstack::cli {

void add_connstr_command(CLI::App& app, ExitStatus& status) {
  struct Options {
    std::string cluster;
    std::string namespace_name{kDefaultNamespace};
    ConnectionOptions connection;
  };
  auto options = std::make_shared<Options>();
  CLI::App* command = app.add_subcommand("connstr", "Print a libpq connection URI for a cluster");
  command->add_option("cluster", options->cluster, "SGCluster name")->required();
  command->add_option("-n,--namespace", options->namespace_name, "Namespace")->capture_default_str()->type_name("NS");
  command->add_flag("--replica", options->connection.replica,
                    "Prefer a standby (target_session_attrs=prefer-standby; the primary when none answers)");
  command->add_flag("--direct", options->connection.direct, "Postgres ports instead of PgBouncer's");
  command->add_flag("--show-password", options->connection.include_password,
                    "Put the password in the URI (otherwise use PGPASSWORD or ~/.pgpass)");
  command->callback([options, command, &status] {
    const ApiClient client(api_url_for(*command));
    auto connection = fetch_connection(client, options->namespace_name, options->cluster, options->connection);
    if (!connection) {
      status.code = report_error("connstr", connection.error());
      return;
    }
    if (connection->fell_back_to_direct)
      std::cerr << fmt::format("note: {} has no connection pooling: the URI names Postgres directly\n",
                               options->cluster);
    std::cout << connection->uri << "\n";
    status.code = 0;
  });
}

}  // namespace pgstack::cli
