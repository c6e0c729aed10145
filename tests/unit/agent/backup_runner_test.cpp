// BackupRunner's pure decisions.
#include "agent/backup_runner.h"

#include <gtest/gtest.h>

namespace pgstack::agent {
namespace {

TEST(StanzaFailure, APrimaryNotTakingConnectionsYetIsWaitedFor) {
  // As pgBackRest 2.x says it while the primary's Postgres restarts (seen in the backups e2e suite).
  EXPECT_TRUE(stanza_failure_is_transient(
      "pgbackrest stanza-create failed: WARN: unable to check pg1: [DbConnectError] unable to connect to "
      "'dbname='postgres' port=23500': connection to server on socket \"/run/.s.PGSQL.23500\" failed: No such file "
      "or directory | ERROR: [056]: unable to find primary cluster - cannot proceed"));
  // What waiting would not change fails the pending backups at once.
  EXPECT_FALSE(
      stanza_failure_is_transient("pgbackrest stanza-create failed: ERROR: [049]: unable to get info for path/file "
                                  "'/repo': [13] Permission denied"));
  EXPECT_FALSE(
      stanza_failure_is_transient("pgbackrest stanza-create failed: ERROR: [039]: HTTP request failed with "
                                  "404 (Not Found): No bucket found for \"no-such-bucket\""));
}

}  // namespace
}  // namespace pgstack::agent
