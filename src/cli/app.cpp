#include "cli/app.h"

#include <iostream>

#include "cli/api_client.h"
#include "cli/commands.h"
#include "common/http_client.h"

namespace pgstack::cli {

int run(int argc, char** argv) {
  CLI::App app{"pgstack: production PostgreSQL clusters from StackGres-compatible manifests"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "pgstack 0.1.0");
  // Subcommands inherit this: --api may come before or after the subcommand.
  app.fallthrough();
  add_api_option(app);
  // The API is served over HTTPS with a certificate from the installation's CA (up may pick another).
  std::error_code error;
  if (const auto ca = installation_ca_file(); std::filesystem::is_regular_file(ca, error))
    set_tls_client_files({ca.string(), "", ""});
  ExitStatus status;
  add_validate_command(app, status);
  add_render_command(app, status);
  add_up_command(app, status);
  add_down_command(app, status);
  add_join_token_command(app, status);
  add_join_command(app, status);
  add_host_command(app, status);
  add_apply_command(app, status);
  add_create_command(app, status);
  add_get_command(app, status);
  add_describe_command(app, status);
  add_delete_command(app, status);
  add_switchover_command(app, status);
  add_operation_commands(app, status);
  add_backup_command(app, status);
  add_connstr_command(app, status);
  add_psql_command(app, status);
  add_metrics_command(app, status);
  add_top_command(app, status);
  add_logs_command(app, status);
  add_login_command(app, status);
  add_user_command(app, status);
  add_token_command(app, status);
  add_auth_command(app, status);
  add_audit_command(app, status);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    // Help and --version exit 0; a usage error is invalid input: exit 1, as for a bad manifest.
    return app.exit(error) == 0 ? 0 : 1;
  }
  return status.code;
}

}  // namespace pgstack::cli
