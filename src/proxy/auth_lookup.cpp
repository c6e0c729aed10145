#include "proxy/auth_lookup.h"

#include <fstream>
#include <memory>

#include <fmt/format.h>
#include <libpq-fe.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include "config/render_pgbouncer.h"  // kPgbouncerAuthQuery: the same function PgBouncer calls

namespace pgstack::proxy {
namespace {

struct LookupConnectionCloser {
  void operator()(PGconn* connection) const { PQfinish(connection); }
};
using LookupConnection = std::unique_ptr<PGconn, LookupConnectionCloser>;

// libpq's conninfo value quoting: single quotes, with \ and ' escaped.
std::string conninfo_value(std::string_view value) {
  std::string out = "'";
  for (const char c : value) {
    if (c == '\\' || c == '\'') out += '\\';
    out += c;
  }
  return out + "'";
}

}  // namespace

struct AuthLookup::Connections {
  std::map<std::string, LookupConnection> by_address;
};

AuthLookup::AuthLookup(std::string auth_user, std::string password, std::chrono::milliseconds cache_for,
                       std::chrono::milliseconds connect_timeout)
    : auth_user_(std::move(auth_user)),
      password_(std::move(password)),
      cache_for_(cache_for),
      connect_timeout_(connect_timeout),
      connections_(std::make_unique<Connections>()),
      thread_([this] { run(); }) {}

AuthLookup::~AuthLookup() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
  // Whoever still waits is told, not left hanging.
  for (auto& pending : pending_) {
    pending.done(make_error(ErrorCode::kUnavailable, "pgstack-proxy is stopping"));
  }
}

void AuthLookup::lookup(AuthLookupRequest request, std::function<void(AuthLookupResult)> done) {
  std::unique_lock lock(mutex_);
  if (const auto found = cache_.find(request.user);
      found != cache_.end() && std::chrono::steady_clock::now() - found->second.fetched < cache_for_) {
    auto verifier = found->second.verifier;
    lock.unlock();
    done(std::move(verifier));
    return;
  }
  pending_.push_back(Pending{std::move(request), std::move(done)});
  lock.unlock();
  wake_.notify_one();
}

void AuthLookup::forget(const std::string& user) {
  std::lock_guard lock(mutex_);
  cache_.erase(user);
}

std::uint64_t AuthLookup::queries() const {
  std::lock_guard lock(mutex_);
  return queries_;
}

void AuthLookup::run() {
  for (;;) {
    Pending next;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !pending_.empty(); });
      if (stopping_) return;
      next = std::move(pending_.front());
      pending_.pop_front();
      // Another login of the same user may have filled the cache while this one waited.
      if (const auto found = cache_.find(next.request.user);
          found != cache_.end() && std::chrono::steady_clock::now() - found->second.fetched < cache_for_) {
        auto verifier = found->second.verifier;
        lock.unlock();
        next.done(std::move(verifier));
        continue;
      }
    }
    AuthLookupResult result = query(next.request);
    {
      std::lock_guard lock(mutex_);
      ++queries_;
      if (result.ok()) cache_[next.request.user] = Cached{*result, std::chrono::steady_clock::now()};
    }
    next.done(std::move(result));
  }
}

AuthLookupResult AuthLookup::query(const AuthLookupRequest& request) {
  bool lost_kept_connection = false;
  auto result = query_once(request, lost_kept_connection);
  // A connection kept from an earlier lookup may have been closed since (its backend terminated, the
  // server restarted): that failure is not the answer, a fresh connection's is.
  if (!result.ok() && lost_kept_connection) result = query_once(request, lost_kept_connection);
  return result;
}

AuthLookupResult AuthLookup::query_once(const AuthLookupRequest& request, bool& lost_kept_connection) {
  lost_kept_connection = false;
  const std::string address = fmt::format("{}:{}", request.host, request.port);
  auto& connection = connections_->by_address[address];
  if (connection && PQstatus(connection.get()) != CONNECTION_OK) connection.reset();
  const bool kept = connection != nullptr;
  if (!connection) {
    const auto timeout_seconds =
        std::max<std::int64_t>(1, std::chrono::duration_cast<std::chrono::seconds>(connect_timeout_).count());
    const std::string conninfo = fmt::format(
        "host={} port={} dbname=postgres user={} password={} connect_timeout={} "
        "application_name=pgstack-proxy-auth",
        conninfo_value(request.host), request.port, conninfo_value(auth_user_), conninfo_value(password_),
        timeout_seconds);
    connection.reset(PQconnectdb(conninfo.c_str()));
    if (!connection || PQstatus(connection.get()) != CONNECTION_OK) {
      std::string why = connection ? PQerrorMessage(connection.get()) : "out of memory";
      connection.reset();
      while (!why.empty() && why.back() == '\n') why.pop_back();
      return make_error(ErrorCode::kUnavailable,
                        fmt::format("cannot look up users at {} as {}: {}", address, auth_user_, why));
    }
  }
  const char* values[1] = {request.user.c_str()};
  PGresult* result = PQexecParams(connection.get(), std::string(config::kPgbouncerAuthQuery).c_str(), 1, nullptr,
                                  values, nullptr, nullptr, 0);
  std::unique_ptr<PGresult, decltype(&PQclear)> owned(result, &PQclear);
  if (!result || PQresultStatus(result) != PGRES_TUPLES_OK) {
    std::string why = connection ? PQerrorMessage(connection.get()) : "no result";
    while (!why.empty() && why.back() == '\n') why.pop_back();
    if (PQstatus(connection.get()) != CONNECTION_OK) {
      connection.reset();
      lost_kept_connection = kept;
    }
    return make_error(ErrorCode::kUnavailable, fmt::format("user lookup at {} failed: {}", address, why));
  }
  // user_lookup returns one row; its passwd is NULL for a role that may not log in or has no password.
  if (PQntuples(result) < 1 || PQgetisnull(result, 0, 1)) return std::optional<std::string>();
  return std::optional<std::string>(PQgetvalue(result, 0, 1));
}

Result<std::string> read_password_file(const std::string& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) {
    return make_error(ErrorCode::kInvalidInput, fmt::format("pooling.auth_password_file: cannot read {}", path));
  }
  if ((info.st_mode & 077) != 0) {
    return make_error(ErrorCode::kInvalidInput,
                      fmt::format("pooling.auth_password_file: {} may be read by others (mode {:o}); expected 0600",
                                  path, info.st_mode & 0777));
  }
  std::ifstream file(path);
  std::string line;
  std::getline(file, line);
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (line.empty()) {
    return make_error(ErrorCode::kInvalidInput, fmt::format("pooling.auth_password_file: {} is empty", path));
  }
  return line;
}

}  // namespace pgstack::proxy
