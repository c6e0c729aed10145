// Running other programs (initdb, postgres, pgbench...) and capturing what they print.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"

namespace pgstack {

struct CommandOptions {
  // Run as this system user (needs root); Postgres refuses to run as root.
  std::optional<std::string> run_as_user;
  std::optional<std::string> working_directory;
  std::map<std::string, std::string> extra_environment;
  std::string standard_input;
};

struct CommandOutput {
  int exit_code = -1;  // 128+N when killed by signal N
  std::string standard_output;
  std::string standard_error;
};

// Runs argv[0] (looked up in PATH) to completion. Fails only when it cannot be started.
Result<CommandOutput> run_command(const std::vector<std::string>& argv, const CommandOptions& options = {});

// In a forked child before execve: every descriptor above stderr becomes close-on-exec, so a program never
// inherits the parent's sockets (kept-alive etcd connections) or files. Async-signal-safe.
void close_inherited_fds_on_exec();

// The user that servers should run as: "postgres" when we are root, nobody to switch to otherwise.
std::optional<std::string> unprivileged_service_user();

// pgstack's programs are installed side by side: the path of `name` next to the running executable,
// or an error that says where it was looked for.
Result<std::string> sibling_program(std::string_view name);

}  // namespace pgstack
