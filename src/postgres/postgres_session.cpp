#include "postgres/postgres_session.h"

#include <algorithm>
#include <cstdlib>

#include <fmt/format.h>
#include <libpq-fe.h>

#include "common/strings.h"

namespace pgstack::postgres {
namespace {

// libpq's conninfo value quoting: single quotes, with \ and ' escaped.
std::string conninfo_value(const std::string& value) {
  std::string quoted = "'";
  for (char c : value) {
    if (c == '\\' || c == '\'') quoted += '\\';
    quoted += c;
  }
  return quoted + "'";
}

}  // namespace

std::string conninfo_for(const PostgresTarget& target, std::chrono::seconds connect_timeout) {
  std::string conninfo = fmt::format(
      "host={} port={} dbname={} user={} password={} connect_timeout={} application_name={}",
      conninfo_value(target.host), target.port, conninfo_value(target.database), conninfo_value(target.user),
      conninfo_value(target.password), connect_timeout.count(), conninfo_value(target.application_name));
  if (target.dead_server_timeout.count() > 0) {
    const auto seconds = target.dead_server_timeout.count();
    conninfo +=
        fmt::format(" keepalives=1 keepalives_idle={} keepalives_interval={} keepalives_count=3 tcp_user_timeout={}",
                    std::max<std::int64_t>(1, seconds / 2), std::max<std::int64_t>(1, seconds / 6), seconds * 1000);
  }
  if (target.ssl_root_certificate.empty()) return conninfo + " sslmode=require";
  return conninfo + " sslmode=verify-ca sslrootcert=" + conninfo_value(target.ssl_root_certificate);
}

std::vector<std::pair<std::string, std::string>> libpq_environment(const PostgresTarget& target) {
  std::vector<std::pair<std::string, std::string>> environment = {
      {"PGHOST", target.host}, {"PGPORT", std::to_string(target.port)}, {"PGDATABASE", target.database},
      {"PGUSER", target.user}, {"PGPASSWORD", target.password},         {"PGAPPNAME", target.application_name}};
  if (target.ssl_root_certificate.empty()) {
    environment.emplace_back("PGSSLMODE", "require");
  } else {
    environment.emplace_back("PGSSLMODE", "verify-ca");
    environment.emplace_back("PGSSLROOTCERT", target.ssl_root_certificate);
  }
  return environment;
}

Result<std::unique_ptr<PostgresSession>> PostgresSession::connect(const PostgresTarget& target,
                                                                  std::chrono::seconds connect_timeout) {
  PGconn* connection = PQconnectdb(conninfo_for(target, connect_timeout).c_str());
  if (connection == nullptr) return make_error(ErrorCode::kUnavailable, "libpq could not allocate a connection");
  if (PQstatus(connection) != CONNECTION_OK) {
    std::string message = trim(PQerrorMessage(connection));
    PQfinish(connection);
    return make_error(ErrorCode::kUnavailable,
                      fmt::format("cannot connect to {}:{} as {}: {}", target.host, target.port, target.user, message));
  }
  return std::unique_ptr<PostgresSession>(new PostgresSession(connection));
}

Result<std::unique_ptr<PostgresSession>> PostgresSession::connect_string(
    const std::string& conninfo, const std::vector<std::pair<std::string, std::string>>& overrides) {
  // expand_dbname: the first "dbname" is the whole string; keywords after it override its values.
  std::vector<const char*> keywords = {"dbname"};
  std::vector<const char*> values = {conninfo.c_str()};
  for (const auto& [keyword, value] : overrides) {
    keywords.push_back(keyword.c_str());
    values.push_back(value.c_str());
  }
  keywords.push_back(nullptr);
  values.push_back(nullptr);
  PGconn* connection = PQconnectdbParams(keywords.data(), values.data(), 1);
  if (connection == nullptr) return make_error(ErrorCode::kUnavailable, "libpq could not allocate a connection");
  if (PQstatus(connection) != CONNECTION_OK) {
    std::string message = trim(PQerrorMessage(connection));
    PQfinish(connection);
    return make_error(ErrorCode::kUnavailable, fmt::format("cannot connect: {}", message));
  }
  return std::unique_ptr<PostgresSession>(new PostgresSession(connection));
}

PostgresSession::~PostgresSession() { PQfinish(connection_); }

Result<Rows> PostgresSession::query(const std::string& sql) {
  last_failure_ = {};
  if (PQsendQuery(connection_, sql.c_str()) == 0) {
    last_failure_.message = trim(PQerrorMessage(connection_));
    return make_error(ErrorCode::kUnavailable, last_failure_.message);
  }
  Rows rows;
  bool failed = false;
  while (PGresult* result = PQgetResult(connection_)) {
    const ExecStatusType status = PQresultStatus(result);
    if (status == PGRES_TUPLES_OK) {
      rows.clear();
      for (int row = 0; row < PQntuples(result); ++row) {
        std::vector<std::string> values;
        values.reserve(static_cast<std::size_t>(PQnfields(result)));
        for (int column = 0; column < PQnfields(result); ++column) values.emplace_back(PQgetvalue(result, row, column));
        rows.push_back(std::move(values));
      }
    } else if (status != PGRES_COMMAND_OK && status != PGRES_EMPTY_QUERY && !failed) {
      failed = true;
      const char* sqlstate = PQresultErrorField(result, PG_DIAG_SQLSTATE);
      const char* primary = PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY);
      last_failure_.sqlstate = sqlstate ? sqlstate : "";
      last_failure_.message = primary ? primary : trim(PQresultErrorMessage(result));
    }
    PQclear(result);
  }
  if (failed) {
    return make_error(ErrorCode::kFailedPrecondition,
                      last_failure_.sqlstate.empty()
                          ? last_failure_.message
                          : fmt::format("{} (SQLSTATE {})", last_failure_.message, last_failure_.sqlstate));
  }
  if (PQstatus(connection_) != CONNECTION_OK) {
    last_failure_.message = trim(PQerrorMessage(connection_));
    return make_error(ErrorCode::kUnavailable, "the connection to Postgres broke: " + last_failure_.message);
  }
  return rows;
}

namespace {

// The failure a result reports, as an error with its SQLSTATE.
Error failure_error(const SqlFailure& failure) {
  return make_error(
      ErrorCode::kFailedPrecondition,
      failure.sqlstate.empty() ? failure.message : fmt::format("{} (SQLSTATE {})", failure.message, failure.sqlstate));
}

SqlFailure failure_of(PGresult* result) {
  const char* sqlstate = PQresultErrorField(result, PG_DIAG_SQLSTATE);
  const char* primary = PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY);
  return SqlFailure{sqlstate ? sqlstate : "", primary ? primary : trim(PQresultErrorMessage(result))};
}

}  // namespace

Result<std::uint64_t> PostgresSession::copy_from(const std::string& copy_sql, std::string_view data) {
  last_failure_ = {};
  PGresult* started = PQexec(connection_, copy_sql.c_str());
  const ExecStatusType status = started ? PQresultStatus(started) : PGRES_FATAL_ERROR;
  if (status != PGRES_COPY_IN) {
    last_failure_ = started ? failure_of(started) : SqlFailure{"", trim(PQerrorMessage(connection_))};
    PQclear(started);
    if (last_failure_.message.empty()) last_failure_.message = "the statement did not start a COPY FROM STDIN";
    if (PQstatus(connection_) != CONNECTION_OK)
      return make_error(ErrorCode::kUnavailable, "the connection to Postgres broke: " + last_failure_.message);
    return failure_error(last_failure_);
  }
  PQclear(started);
  // Pieces of 1 MiB: libpq buffers what it is given, so this bounds its copy, not the whole batch.
  constexpr std::size_t kPiece = 1 << 20;
  bool sent = true;
  for (std::size_t at = 0; at < data.size() && sent; at += kPiece) {
    const std::size_t length = std::min(kPiece, data.size() - at);
    sent = PQputCopyData(connection_, data.data() + at, static_cast<int>(length)) == 1;
  }
  if (sent) sent = PQputCopyEnd(connection_, nullptr) == 1;
  if (!sent) last_failure_.message = trim(PQerrorMessage(connection_));
  std::uint64_t rows = 0;
  bool failed = false;
  while (PGresult* result = PQgetResult(connection_)) {
    if (PQresultStatus(result) == PGRES_COMMAND_OK) {
      rows = std::strtoull(PQcmdTuples(result), nullptr, 10);
    } else if (!failed) {
      failed = true;
      last_failure_ = failure_of(result);
    }
    PQclear(result);
  }
  if (!sent || PQstatus(connection_) != CONNECTION_OK) {
    if (last_failure_.message.empty()) last_failure_.message = trim(PQerrorMessage(connection_));
    return make_error(ErrorCode::kUnavailable,
                      "the connection to Postgres broke during COPY: " + last_failure_.message);
  }
  if (failed) return failure_error(last_failure_);
  return rows;
}

void PostgresSession::cancel() {
  PGcancel* handle = PQgetCancel(connection_);
  if (handle == nullptr) return;
  char error[256];
  PQcancel(handle, error, sizeof error);
  PQfreeCancel(handle);
}

std::string quote_identifier(const std::string& name) {
  std::string quoted = "\"";
  for (char c : name) {
    if (c == '"') quoted += '"';
    quoted += c;
  }
  return quoted + "\"";
}

std::string quote_literal(const std::string& value) {
  std::string quoted = "'";
  for (char c : value) {
    if (c == '\'') quoted += '\'';
    quoted += c;
  }
  return quoted + "'";
}

}  // namespace pgstack::postgres
