#include "cli/app.h"

#include <iostream>

#include "cli/commands.h"

namespace pgstack::cli {

int run(int argc, char** argv) {
  CLI::App app{"pgstack: production PostgreSQL clusters from StackGres-compatible manifests"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "pgstack 0.1.0");
  ExitStatus status;
  add_validate_command(app, status);
  add_render_command(app, status);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    return app.exit(error);  // usage errors exit 106/109..., help exits 0
  }
  return status.code;
}

}  // namespace pgstack::cli
