// pgstack connstr CLUSTER [--replica] [--direct|--pooler] [--show-password] [-n NS]: a multi-host libpq URI
// built from the cluster's status: pgstack-proxy's stable endpoints by default, the members' own with
// --direct (Postgres) or --pooler (PgBouncer); the password only on request; with --show-ca,
// sslmode=verify-full and the installation's CA (<state dir>/pki/ca.crt, or $PGSTACK_CA_FILE).
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>

#include <fmt/format.h>

#include "cli/api_client.h"
#include "cli/api_context.h"
#include "cli/commands.h"
#include "cli/output.h"

namespace pgstack::cli {

void add_connstr_command(CLI::App& app, ExitStatus& status) {
  struct Options {
    std::string cluster;
    std::string namespace_name{kDefaultNamespace};
    ConnectionOptions connection;
    bool show_ca = false;
  };
  auto options = std::make_shared<Options>();
  CLI::App* command = app.add_subcommand("connstr", "Print a libpq connection URI for a cluster");
  command->add_option("cluster", options->cluster, "SGCluster name")->required();
  command->add_option("-n,--namespace", options->namespace_name, "Namespace")->capture_default_str()->type_name("NS");
  command->add_flag("--replica", options->connection.replica,
                    "The read-only endpoint: replicas, the primary when none is healthy (with --direct or "
                    "--pooler: target_session_attrs=prefer-standby)");
  add_endpoint_flags(*command, options->connection);
  command->add_flag("--show-password", options->connection.include_password,
                    "Put the password in the URI (otherwise use PGPASSWORD or ~/.pgpass)");
  command->add_flag("--show-ca", options->show_ca,
                    "Add sslmode=verify-full and sslrootcert=<the CA's path> (<state dir>/pki/ca.crt, or "
                    "$PGSTACK_CA_FILE) so that libpq verifies the server");
  command->callback([options, command, &status] {
    std::filesystem::path ca;
    if (options->show_ca) {
      ca = installation_ca_file();
      std::error_code error;
      ca = std::filesystem::absolute(ca, error);
      if (!std::filesystem::is_regular_file(ca, error)) {
        status.code = report_error(
            "connstr", make_error(ErrorCode::kNotFound,
                                  fmt::format("no CA certificate at {} (pgstack up makes it in its state dir; set "
                                              "PGSTACK_STATE_DIR or PGSTACK_CA_FILE)",
                                              ca.string())));
        return;
      }
    }
    const ApiClient client = api_client_for(*command);
    auto connection = fetch_connection(client, options->namespace_name, options->cluster, options->connection);
    if (!connection) {
      status.code = report_error("connstr", connection.error());
      return;
    }
    if (connection->fell_back_to)
      std::cerr << fmt::format("note: {} has no {} endpoints: the URI names {} instead\n", options->cluster,
                               endpoint_kind_description(options->connection.endpoints),
                               endpoint_kind_description(*connection->fell_back_to));
    std::string uri = connection->uri;
    if (options->show_ca) {
      uri += fmt::format("{}sslmode=verify-full&sslrootcert={}", uri.find('?') == std::string::npos ? "?" : "&",
                         percent_encode(ca.string()));
    }
    std::cout << uri << "\n";
    status.code = 0;
  });
}

}  // namespace pgstack::cli
