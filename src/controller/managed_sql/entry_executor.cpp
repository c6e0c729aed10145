#include "controller/managed_sql/entry_executor.h"

#include <fmt/format.h>

namespace pgstack::controller::managed_sql {
namespace {

// Postgres' code for a connection that failed or broke.
constexpr const char* kConnectionFailure = "08006";

EntryOutcome failure_of(const postgres::PostgresSession& session, const Error& error, bool from_secret) {
  const postgres::SqlFailure& failure = session.last_failure();
  EntryOutcome outcome;
  outcome.failure_code = failure.sqlstate.empty() ? kConnectionFailure : failure.sqlstate;
  outcome.failure = failure.message.empty() ? error.message : failure.message;
  if (from_secret) outcome.failure = redact_quoted(outcome.failure);
  return outcome;
}

}  // namespace

std::string redact_quoted(const std::string& message) {
  std::string redacted;
  bool quoted = false;
  for (char c : message) {
    if (c == '"') {
      redacted += quoted ? "\"" : "\"…";
      quoted = !quoted;
    } else if (!quoted) {
      redacted += c;
    }
  }
  return redacted;
}

std::string session_settings_sql(const EntryExecution& execution) {
  std::string sql = fmt::format("SET statement_timeout = {}", execution.statement_timeout.count());
  // Superuser-only settings: the script's user cannot turn them back on.
  if (execution.from_secret)
    sql += "; SET log_min_error_statement = panic; SET log_min_duration_statement = -1; SET log_statement = none";
  if (!execution.entry.user.empty() && execution.entry.user != execution.target.user)
    sql += "; SET SESSION AUTHORIZATION " + postgres::quote_identifier(execution.entry.user);
  return sql;
}

std::string status_table_sql() {
  return "CREATE SCHEMA IF NOT EXISTS managed_sql; "
         "CREATE TABLE IF NOT EXISTS managed_sql.status (id int, entry_id int, version int, hash text, "
         "applied timestamp DEFAULT now()); "
         "GRANT USAGE ON SCHEMA managed_sql TO PUBLIC; "
         "GRANT SELECT, INSERT, DELETE ON managed_sql.status TO PUBLIC";
}

EntryOutcome execute_entry(const EntryExecution& execution,
                           const std::function<void(postgres::PostgresSession*)>& on_session) {
  postgres::PostgresTarget target = execution.target;
  target.database = execution.entry.database;
  auto connected = postgres::PostgresSession::connect(target);
  if (!connected.ok()) return {false, kConnectionFailure, connected.error().message};
  postgres::PostgresSession& session = **connected;
  if (on_session) on_session(&session);
  struct Unregister {
    const std::function<void(postgres::PostgresSession*)>& on_session;
    ~Unregister() {
      if (on_session) on_session(nullptr);
    }
  } unregister{on_session};

  // As the superuser, before the session becomes the entry's user.
  if (execution.entry.store_status_in_database) {
    if (auto created = session.query(status_table_sql()); !created.ok())
      return failure_of(session, created.error(), false);
  }
  if (auto set = session.query(session_settings_sql(execution)); !set.ok())
    return failure_of(session, set.error(), false);

  if (execution.entry.isolation == model::ScriptIsolation::kNone) {
    // One simple query: Postgres runs the statements of a multi-statement script as one implicit
    // transaction (as StackGres' JDBC does); a CREATE DATABASE belongs in an entry of its own.
    if (auto ran = session.query(execution.sql); !ran.ok())
      return failure_of(session, ran.error(), execution.from_secret);
    return {true, "", ""};
  }

  const std::string key = fmt::format("({}, {}, {}, {})", execution.script_id, execution.entry.id, execution.version,
                                      postgres::quote_literal(execution.hash));
  const auto fail = [&](const Error& error, bool from_script) {
    EntryOutcome outcome = failure_of(session, error, from_script && execution.from_secret);
    (void)session.query("ROLLBACK");
    return outcome;
  };
  if (auto begun = session.query("BEGIN ISOLATION LEVEL " + model::isolation_sql(execution.entry.isolation));
      !begun.ok())
    return failure_of(session, begun.error(), false);
  if (execution.entry.store_status_in_database) {
    // Applied already (the controller stopped before it could record it): not again.
    auto found = session.query("SELECT applied FROM managed_sql.status WHERE (id, entry_id, version, hash) = " + key);
    if (!found.ok()) return fail(found.error(), false);
    if (!found->empty()) {
      (void)session.query("ROLLBACK");
      return {true, "", ""};
    }
  }
  if (auto ran = session.query(execution.sql); !ran.ok()) return fail(ran.error(), true);
  if (execution.entry.store_status_in_database) {
    auto stored =
        session.query(fmt::format("DELETE FROM managed_sql.status WHERE (id, entry_id) = ({}, {}); "
                                  "INSERT INTO managed_sql.status (id, entry_id, version, hash) VALUES {}",
                                  execution.script_id, execution.entry.id, key));
    if (!stored.ok()) return fail(stored.error(), false);
  }
  if (auto committed = session.query("COMMIT"); !committed.ok()) return fail(committed.error(), true);
  return {true, "", ""};
}

}  // namespace pgstack::controller::managed_sql
