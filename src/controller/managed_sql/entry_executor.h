// Runs one SGScript entry on a cluster's primary (libpq, as the cluster's superuser): in its database,
// as its user, wrapped in a transaction or not, and with StackGres' managed_sql.status table when
// storeStatusInDatabase is set. The SQL built here is the whole of what pgstack adds around a script.
#pragma once

#include <chrono>
#include <functional>
#include <string>

#include "model/script.h"
#include "postgres/postgres_session.h"

namespace pgstack::controller::managed_sql {

struct EntryExecution {
  postgres::PostgresTarget target;  // the primary, as the superuser; database is set from the entry
  model::ScriptEntry entry;
  std::string sql;
  bool from_secret = false;  // keep the text out of Postgres' log and out of the failure message
  int script_id = 0;         // spec.managedSql.scripts[].id, for managed_sql.status
  std::int64_t version = 0;
  std::string hash;
  std::chrono::milliseconds statement_timeout{std::chrono::minutes(10)};
};

struct EntryOutcome {
  bool succeeded = false;
  std::string failure_code;  // SQLSTATE; 08006 when the connection failed or broke
  std::string failure;
};

// `on_session` gets the session while the entry runs (nullptr after), so that another thread can
// cancel it.
EntryOutcome execute_entry(const EntryExecution& execution,
                           const std::function<void(postgres::PostgresSession*)>& on_session = nullptr);

// The statements around an entry, apart so that tests read them.
std::string session_settings_sql(const EntryExecution& execution);
std::string status_table_sql();

// A failure message of a script from a Secret with what Postgres quoted of it ("near ...") left out.
std::string redact_quoted(const std::string& message);

}  // namespace pgstack::controller::managed_sql
