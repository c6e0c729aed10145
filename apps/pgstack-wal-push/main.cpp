// pgstack-wal-push: Postgres' archive_command on members that archive WAL (src/agent/wal_push.h).
#include <CLI/CLI.hpp>

#include "agent/wal_push.h"

int main(int argc, char** argv) {
  CLI::App app{"pgstack-wal-push: pushes one WAL file through pgBackRest unless it belongs to an abandoned history"};
  pgstack::agent::WalPushOptions options;
  std::string set_aside_dir;
  std::string wal_path;
  app.add_option("--pgbackrest-config", options.pgbackrest_config, "pgbackrest.conf of the instance")->required();
  app.add_option("--stanza", options.stanza, "pgBackRest stanza")->required();
  app.add_option("--set-aside-dir", set_aside_dir, "Where WAL that is not pushed is kept, with a record of why")
      ->required();
  app.add_option("--pgbackrest", options.pgbackrest_program, "pgBackRest program")->capture_default_str();
  app.add_option("wal", wal_path, "The WAL file (%p)")->required();
  CLI11_PARSE(app, argc, argv);
  options.set_aside_dir = set_aside_dir;
  options.wal_path = wal_path;
  return pgstack::agent::wal_push(options);
}
