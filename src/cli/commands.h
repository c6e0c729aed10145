// Each subcommand registers itself on the CLI11 app and returns the code the process exits with.
#pragma once

#include <CLI/CLI.hpp>

namespace pgstack::cli {

// Set by the subcommand that ran; main() returns it.
struct ExitStatus {
  int code = 0;
};

void add_validate_command(CLI::App& app, ExitStatus& status);
void add_render_command(CLI::App& app, ExitStatus& status);

}  // namespace pgstack::cli
