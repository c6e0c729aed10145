#include "controller/postgres_session.h"

#include <charconv>

#include <fmt/format.h>
#include <libpq-fe.h>

#include "common/http_client.h"
#include "common/strings.h"
#include "controller/patroni_client.h"
#include "model/document.h"

namespace pgstack::controller {
namespace {

using model::Json;

// libpq's conninfo value quoting: single quotes, with \ and ' escaped.
std::string conninfo_value(const std::string& value) {
  std::string quoted = "'";
  for (char c : value) {
    if (c == '\\' || c == '\'') quoted += '\\';
    quoted += c;
  }
  return quoted + "'";
}

// "postgres://host:port/db" (Patroni's conn_url) to host and port; IPv6 hosts come bracketed.
Result<std::pair<std::string, int>> host_and_port(const std::string& url) {
  const auto scheme = url.find("://");
  if (scheme == std::string::npos) return make_error(ErrorCode::kInvalidInput, "conn_url \"" + url + "\": no scheme");
  const std::string rest = url.substr(scheme + 3);
  const std::string authority = rest.substr(0, rest.find('/'));
  const auto colon = authority.rfind(':');
  if (colon == std::string::npos) return make_error(ErrorCode::kInvalidInput, "conn_url \"" + url + "\": no port");
  std::string host = authority.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  const std::string port_text = authority.substr(colon + 1);
  int port = 0;
  const auto [end, failure] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (failure != std::errc() || end != port_text.data() + port_text.size() || port <= 0 || port > 65535)
    return make_error(ErrorCode::kInvalidInput, "conn_url \"" + url + "\": bad port");
  return std::make_pair(host, port);
}

}  // namespace

Result<PostgresTarget> primary_target(const store::EtcdClient& etcd, const std::string& etcd_prefix,
                                      const std::string& ns, const std::string& cluster) {
  auto topology = read_topology(etcd, etcd_prefix, ns, cluster);
  if (!topology.ok()) return topology.error();
  if (!topology->leader || topology->members.count(*topology->leader) == 0)
    return make_error(ErrorCode::kUnavailable, fmt::format("cluster {}/{} has no primary now", ns, cluster));
  const PatroniMember& primary = topology->members.at(*topology->leader);
  auto address = host_and_port(primary.conn_url);
  if (!address.ok()) return address.error();
  auto secrets = etcd.get(fmt::format("{}/secrets/{}/{}", etcd_prefix, ns, cluster));
  if (!secrets.ok()) return secrets.error();
  if (!secrets->has_value())
    return make_error(ErrorCode::kUnavailable, fmt::format("cluster {}/{} has no credentials yet", ns, cluster));
  const Json credentials = Json::parse((*secrets)->value, nullptr, false);
  if (!credentials.is_object() || !credentials.contains("superuser") || !credentials["superuser"].is_object())
    return make_error(ErrorCode::kInternal,
                      fmt::format("cluster {}/{}: the stored credentials are unreadable", ns, cluster));
  PostgresTarget target;
  target.host = address->first;
  target.port = address->second;
  target.user = credentials["superuser"].value("username", "");
  target.password = credentials["superuser"].value("password", "");
  target.ssl_root_certificate = tls_client_files().ca_file;
  return target;
}

std::string conninfo_for(const PostgresTarget& target, std::chrono::seconds connect_timeout) {
  std::string conninfo = fmt::format(
      "host={} port={} dbname={} user={} password={} connect_timeout={} application_name=pgstack-controller",
      conninfo_value(target.host), target.port, conninfo_value(target.database), conninfo_value(target.user),
      conninfo_value(target.password), connect_timeout.count());
  if (target.ssl_root_certificate.empty()) return conninfo + " sslmode=require";
  return conninfo + " sslmode=verify-ca sslrootcert=" + conninfo_value(target.ssl_root_certificate);
}

std::vector<std::pair<std::string, std::string>> libpq_environment(const PostgresTarget& target) {
  std::vector<std::pair<std::string, std::string>> environment = {
      {"PGHOST", target.host}, {"PGPORT", std::to_string(target.port)}, {"PGDATABASE", target.database},
      {"PGUSER", target.user}, {"PGPASSWORD", target.password},         {"PGAPPNAME", "pgstack-controller"}};
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

}  // namespace pgstack::controller
