// Each subcommand registers itself on the CLI11 app and returns the code the process exits with.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include <CLI/CLI.hpp>

namespace pgstack::cli {

// Set by the subcommand that ran; main() returns it.
struct ExitStatus {
  int code = 0;
};

// Offline: manifests in, findings or rendered files out.
void add_validate_command(CLI::App& app, ExitStatus& status);
void add_render_command(CLI::App& app, ExitStatus& status);

// This machine: start and stop etcd, the controller and an agent.
void add_up_command(CLI::App& app, ExitStatus& status);
void add_down_command(CLI::App& app, ExitStatus& status);
// Another host: `join-token` here, `join` there (join_command.cpp).
void add_join_token_command(CLI::App& app, ExitStatus& status);
void add_host_command(CLI::App& app, ExitStatus& status);
void add_join_command(CLI::App& app, ExitStatus& status);

// Through the REST API of the controller (--api).
void add_apply_command(CLI::App& app, ExitStatus& status);
void add_create_command(CLI::App& app, ExitStatus& status);  // create secret
void add_get_command(CLI::App& app, ExitStatus& status);
void add_describe_command(CLI::App& app, ExitStatus& status);
void add_delete_command(CLI::App& app, ExitStatus& status);
void add_switchover_command(CLI::App& app, ExitStatus& status);
// restart, vacuum, repack, benchmark: each creates an SGDbOps (operation_commands.cpp).
void add_operation_commands(CLI::App& app, ExitStatus& status);
void add_backup_command(CLI::App& app, ExitStatus& status);
void add_connstr_command(CLI::App& app, ExitStatus& status);
void add_psql_command(CLI::App& app, ExitStatus& status);
// What Prometheus has: raw PromQL, and a cluster's dashboard (metrics_command.cpp).
void add_metrics_command(CLI::App& app, ExitStatus& status);
void add_top_command(CLI::App& app, ExitStatus& status);
// A cluster's records from its log store (logs_command.cpp).
void add_logs_command(CLI::App& app, ExitStatus& status);

// Who may use the API: login, users, tokens, can-i, the audit trail (auth_commands.cpp).
void add_login_command(CLI::App& app, ExitStatus& status);
void add_user_command(CLI::App& app, ExitStatus& status);
void add_token_command(CLI::App& app, ExitStatus& status);
void add_auth_command(CLI::App& app, ExitStatus& status);
void add_audit_command(CLI::App& app, ExitStatus& status);

// Where `pgstack up` keeps what it runs on this machine; `down` reads the same layout.
struct LocalStack {
  std::filesystem::path state_dir;

  std::filesystem::path settings_file() const { return state_dir / "up.json"; }  // ports, URLs, what is managed
  std::filesystem::path pid_file(std::string_view process) const {
    return state_dir / "run" / (std::string(process) + ".pid");
  }
  std::filesystem::path log_file(std::string_view process) const {
    return state_dir / "logs" / (std::string(process) + ".log");
  }
  std::filesystem::path etcd_dir() const { return state_dir / "etcd"; }
  std::filesystem::path agent_dir() const { return state_dir / "agent"; }      // the agent's instances live here
  std::filesystem::path backups_dir() const { return state_dir / "backups"; }  // the default backup repository
  std::filesystem::path pki_dir() const { return state_dir / "pki"; }          // the CA: ca.crt, ca.key (0600)
};

// $PGSTACK_STATE_DIR, else /var/lib/pgstack for root, else $XDG_STATE_HOME/pgstack or
// ~/.local/state/pgstack.
std::filesystem::path default_state_dir();

// The installation's CA certificate the CLI trusts (the API, and `connstr --show-ca`): $PGSTACK_CA_FILE,
// else <default_state_dir()>/pki/ca.crt.
std::filesystem::path installation_ca_file();

}  // namespace pgstack::cli
