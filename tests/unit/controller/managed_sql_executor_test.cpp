// The statements pgstack wraps around an SGScript entry (the run itself is in the e2e test).
#include <gtest/gtest.h>

#include "controller/managed_sql/entry_executor.h"

namespace pgstack::controller::managed_sql {
namespace {

TEST(ManagedSqlExecutor, SessionSettingsBecomeTheUserAndHideSecretScriptsFromTheLog) {
  EntryExecution execution;
  execution.target.user = "postgres";
  execution.statement_timeout = std::chrono::seconds(30);
  EXPECT_EQ(session_settings_sql(execution), "SET statement_timeout = 30000");
  execution.entry.user = "postgres";  // the superuser itself: nothing to change
  EXPECT_EQ(session_settings_sql(execution), "SET statement_timeout = 30000");
  execution.entry.user = "app \"owner\"";
  execution.from_secret = true;
  EXPECT_EQ(session_settings_sql(execution),
            "SET statement_timeout = 30000; SET log_min_error_statement = panic; SET log_min_duration_statement = -1; "
            "SET log_statement = none; SET SESSION AUTHORIZATION \"app \"\"owner\"\"\"");
}

TEST(ManagedSqlExecutor, StatusTableIsStackGres) {
  EXPECT_NE(status_table_sql().find("CREATE TABLE IF NOT EXISTS managed_sql.status (id int, entry_id int, version int, "
                                    "hash text, applied timestamp DEFAULT now())"),
            std::string::npos);
}

TEST(ManagedSqlExecutor, RedactsWhatPostgresQuotesOfASecretScript) {
  EXPECT_EQ(redact_quoted("syntax error at or near \"s3cret\""), "syntax error at or near \"…\"");
  EXPECT_EQ(redact_quoted("no quotes here"), "no quotes here");
}

}  // namespace
}  // namespace pgstack::controller::managed_sql
