// pgstack-wal-push: Postgres' archive_command on members that archive WAL. It pushes through
// pgBackRest (archive-push, asynchronous through the spool), after asking wal_archive_policy whether
// the segment belongs to the surviving history; WAL of an abandoned history is set aside on the
// member instead of pushed, and a duplicate that pgBackRest refuses is resolved or reported.
//
// Set-aside copies and their records live in `set_aside_dir` (a directory of the instance's
// pgBackRest work directory): "<segment>" is the copy, "<segment>.json" says when and why; the agent
// reports them (instance report, cluster events). Nothing there is deleted by pgstack.
#pragma once

#include <filesystem>
#include <string>

namespace pgstack::agent {

struct WalPushOptions {
  std::string pgbackrest_config;
  std::string stanza;
  std::filesystem::path set_aside_dir;
  std::filesystem::path wal_path;  // %p: relative to the data directory (Postgres' cwd) or absolute
  std::string pgbackrest_program = "pgbackrest";
};

// The exit code for Postgres: 0 when the segment is archived or set aside, pgBackRest's code when it
// failed. Says what it did on standard error (Postgres' log).
int wal_push(const WalPushOptions& options);

}  // namespace pgstack::agent
