#include "proxy/server_pool.h"

#include <algorithm>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include "common/strings.h"
#include "pgwire/encoder.h"
#include "pgwire/raw_message.h"
#include "pgwire/scram.h"

namespace pgstack::proxy {
namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;
using Clock = std::chrono::steady_clock;

namespace {

constexpr auto kSweepInterval = std::chrono::seconds(1);
constexpr std::size_t kReadChunk = 8192;
constexpr std::int32_t kAuthOk = 0;
constexpr std::int32_t kAuthSasl = 10;
constexpr std::int32_t kAuthSaslContinue = 11;
constexpr std::int32_t kAuthSaslFinal = 12;

std::string key_of(const PoolTarget& target) {
  return fmt::format("{} {}:{}/{}/{}", target.listener, target.host, target.port, target.database, target.user);
}

std::int32_t load_i32(std::string_view bytes) {
  const auto byte = [&](std::size_t i) { return std::uint32_t{static_cast<unsigned char>(bytes[i])}; };
  return static_cast<std::int32_t>((byte(0) << 24) | (byte(1) << 16) | (byte(2) << 8) | byte(3));
}

// A ParameterStatus body: name NUL value NUL.
void remember_parameter(ReportedParameters& parameters, std::string_view body) {
  const std::size_t end = body.find('\0');
  if (end == std::string_view::npos) return;
  const std::string name(body.substr(0, end));
  std::string value(body.substr(end + 1));
  if (!value.empty() && value.back() == '\0') value.pop_back();
  parameters[to_lower(name)] = {name, value};
}

// A connection no client holds has nothing to say: bytes waiting or an end of stream mean the server
// closed it (a FATAL of a terminated backend, a restart).
bool closed_by_server(tcp::socket& socket) {
  char byte = 0;
  const auto received = ::recv(socket.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return received >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK);
}

}  // namespace

struct ServerPool::Waiter {
  PoolTarget target;
  LoginKeys keys;
  PoolLimits limits;
  Ready ready;
  std::shared_ptr<asio::steady_timer> timer;
};

struct ServerPool::Pool {
  std::string listener;
  std::set<std::string> known_statements;
  std::deque<std::unique_ptr<ServerConnection>> idle;  // most recently used at the back
  int open = 0;                                        // idle, in use and logging in
  int size = 1;
  PoolLimits limits;
  std::deque<std::shared_ptr<Waiter>> waiters;
};

// One login: TCP connect, StartupMessage, SCRAM with the client's keys, then ParameterStatus and
// BackendKeyData up to the first ReadyForQuery.
class ServerPool::Login : public std::enable_shared_from_this<ServerPool::Login> {
 public:
  Login(asio::io_context& io, PoolTarget target, LoginKeys keys, std::chrono::milliseconds timeout, Ready ready)
      : connection_(std::make_unique<ServerConnection>(io.get_executor())),
        timer_(io),
        resolver_(io),
        target_(std::move(target)),
        keys_(std::move(keys)),
        timeout_(timeout),
        ready_(std::move(ready)) {}

  void start() {
    timer_.expires_after(timeout_);
    timer_.async_wait([self = shared_from_this()](const error_code& ec) {
      if (!ec) self->finish("08006", "the login to Postgres did not complete in time");
    });
    auto on_connect = [self = shared_from_this()](const error_code& ec, const tcp::endpoint&) {
      if (self->done_) return;
      if (ec) return self->finish("08006", "cannot connect: " + ec.message());
      error_code ignored;
      self->connection_->socket.set_option(tcp::no_delay(true), ignored);
      self->connection_->address = self->connection_->socket.remote_endpoint(ignored);
      self->send_startup();
    };
    error_code ec;
    const auto address = asio::ip::make_address(target_.host, ec);
    if (!ec) {
      std::array<tcp::endpoint, 1> endpoints{tcp::endpoint(address, target_.port)};
      asio::async_connect(connection_->socket, endpoints, std::move(on_connect));
      return;
    }
    resolver_.async_resolve(target_.host, std::to_string(target_.port),
                            [self = shared_from_this(), on_connect = std::move(on_connect)](
                                const error_code& error, const tcp::resolver::results_type& results) mutable {
                              if (self->done_) return;
                              if (error) return self->finish("08006", "cannot resolve: " + error.message());
                              asio::async_connect(self->connection_->socket, results, std::move(on_connect));
                            });
  }

 private:
  void send_startup() {
    write(pgwire::encode_startup({{"user", target_.user}, {"database", target_.server_database}}));
    read();
  }

  void write(std::string bytes) {
    auto buffer = std::make_shared<std::string>(std::move(bytes));
    asio::async_write(connection_->socket, asio::buffer(*buffer),
                      [self = shared_from_this(), buffer](const error_code& ec, std::size_t) {
                        if (!self->done_ && ec) self->finish("08006", "cannot write: " + ec.message());
                      });
  }

  void read() {
    connection_->socket.async_read_some(
        asio::buffer(chunk_), [self = shared_from_this()](const error_code& ec, std::size_t size) {
          if (self->done_) return;
          if (ec) return self->finish("08006", "the server closed the connection during the login: " + ec.message());
          self->input_.append(self->chunk_.data(), size);
          self->on_input();
        });
  }

  void on_input() {
    for (;;) {
      auto taken = pgwire::take_message(input_);
      if (!taken.ok()) return finish("08P01", "the server sent malformed data: " + taken.error().message);
      if (!*taken) return read();
      const pgwire::RawMessage& message = **taken;
      switch (message.type) {
        case 'R':
          if (!on_authentication(message.body)) return;
          break;
        case 'S': remember_parameter(connection_->parameters, message.body); break;
        case 'K':
          if (message.body.size() < 8) return finish("08P01", "the server sent a short BackendKeyData");
          connection_->backend_key = {load_i32(message.body), message.body.substr(4)};
          break;
        case 'Z': return succeed();
        case 'E': {
          const std::string sqlstate = pgwire::error_field(message.body, 'C');
          return finish(sqlstate.empty() ? "08006" : sqlstate, pgwire::error_field(message.body, 'M'), true);
        }
        case 'N':
        case 'v':  // NegotiateProtocolVersion: the pool asks for 3.0 only, nothing to negotiate
          break;
        default:
          return finish("08P01", fmt::format("the server sent an unexpected '{}' during the login", message.type));
      }
    }
  }

  bool on_authentication(const std::string& body) {
    if (body.size() < 4) {
      finish("08P01", "the server sent a short Authentication message");
      return false;
    }
    const std::int32_t code = load_i32(body);
    const std::string_view data = std::string_view(body).substr(4);
    switch (code) {
      case kAuthOk: return true;
      case kAuthSasl: {
        if (data.find(pgwire::scram::kMechanism) == std::string_view::npos) {
          finish("28000", "the server does not offer SCRAM-SHA-256");
          return false;
        }
        scram_.emplace(keys_.client_key, keys_.server_key, pgwire::scram::random_nonce());
        const std::string first = scram_->client_first();
        write(pgwire::MessageBuilder('p')
                  .add_string(pgwire::scram::kMechanism)
                  .add_i32(static_cast<std::int32_t>(first.size()))
                  .add_bytes(first)
                  .finish());
        return true;
      }
      case kAuthSaslContinue: {
        if (!scram_) break;
        auto final_message = scram_->on_server_first(data);
        if (!final_message.ok()) {
          finish("28000", final_message.error().message);
          return false;
        }
        write(pgwire::MessageBuilder('p').add_bytes(*final_message).finish());
        return true;
      }
      case kAuthSaslFinal: {
        if (!scram_) break;
        auto verified = scram_->on_server_final(data);
        if (!verified.ok()) {
          finish("28000", verified.error().message);
          return false;
        }
        return true;
      }
      default: break;
    }
    // Pooled logins reuse the client's SCRAM keys; a server that wants a password (md5, clear text) or
    // another mechanism cannot be logged in to without storing one.
    finish("28000", fmt::format("the server asked for authentication method {}; pooled listeners need "
                                "scram-sha-256 in pg_hba.conf",
                                code));
    return false;
  }

  void succeed() {
    done_ = true;
    timer_.cancel();
    connection_->created = Clock::now();
    connection_->idle_since = connection_->created;
    connection_->member = target_.member;
    connection_->login_parameters = connection_->parameters;
    ready_(AcquireOutcome{std::move(connection_), {}, {}});
  }

  void finish(std::string sqlstate, std::string message, bool from_server = false) {
    if (done_) return;
    done_ = true;
    timer_.cancel();
    error_code ignored;
    connection_->socket.close(ignored);
    if (!from_server) {
      message =
          fmt::format("pgstack-proxy: member {} ({}:{}): {}", target_.member, target_.host, target_.port, message);
    }
    ready_(AcquireOutcome{nullptr, std::move(sqlstate), std::move(message)});
  }

  std::unique_ptr<ServerConnection> connection_;
  asio::steady_timer timer_;
  tcp::resolver resolver_;
  PoolTarget target_;
  LoginKeys keys_;
  std::chrono::milliseconds timeout_;
  Ready ready_;
  std::optional<pgwire::scram::ClientExchange> scram_;
  std::array<char, kReadChunk> chunk_{};
  std::string input_;
  bool done_ = false;
};

// A statement of the pool's own (DISCARD ALL, SET) on a connection no client holds.
class ServerPool::QuietQuery : public std::enable_shared_from_this<ServerPool::QuietQuery> {
 public:
  QuietQuery(ServerConnection& connection, const std::string& sql, Done done)
      : connection_(connection), sql_(pgwire::encode_query(sql)), done_(std::move(done)) {}

  void start() {
    asio::async_write(connection_.socket, asio::buffer(sql_),
                      [self = shared_from_this()](const error_code& ec, std::size_t) {
                        if (ec)
                          return self->done_(make_error(ErrorCode::kUnavailable, "cannot write: " + ec.message()));
                        self->read();
                      });
  }

 private:
  void read() {
    connection_.socket.async_read_some(
        asio::buffer(chunk_), [self = shared_from_this()](const error_code& ec, std::size_t size) {
          if (ec) return self->done_(make_error(ErrorCode::kUnavailable, "cannot read: " + ec.message()));
          self->input_.append(self->chunk_.data(), size);
          for (;;) {
            auto taken = pgwire::take_message(self->input_);
            if (!taken.ok()) return self->done_(make_error(ErrorCode::kUnavailable, taken.error().message));
            if (!*taken) return self->read();
            const pgwire::RawMessage& message = **taken;
            if (message.type == 'S') remember_parameter(self->connection_.parameters, message.body);
            if (message.type == 'E') self->error_ = pgwire::error_field(message.body, 'M');
            if (message.type == 'Z') {
              if (!self->input_.empty()) {
                return self->done_(make_error(ErrorCode::kUnavailable, "the server sent more than was asked for"));
              }
              if (!self->error_.empty()) return self->done_(make_error(ErrorCode::kUnavailable, self->error_));
              return self->done_(true);
            }
          }
        });
  }

  ServerConnection& connection_;
  std::string sql_;
  Done done_;
  std::array<char, kReadChunk> chunk_{};
  std::string input_;
  std::string error_;
};

ServerPool::ServerPool(asio::io_context& io) : io_(io), sweeper_(io), alive_(std::make_shared<bool>(true)) {}

ServerPool::~ServerPool() { *alive_ = false; }

// Keeps the pool's own count and the listener's gauges in step.
void ServerPool::count(Pool& pool, int open, int idle, int waiting) {
  pool.open += open;
  if (PoolGauges* gauges = pool.limits.gauges) {
    gauges->open += open;
    gauges->idle += idle;
    gauges->waiting += waiting;
  }
}

ServerPool::Pool& ServerPool::pool_for(const std::string& key) {
  auto& pool = pools_[key];
  if (!pool) pool = std::make_unique<Pool>();
  return *pool;
}

void ServerPool::acquire(const PoolTarget& target, const LoginKeys& keys, const PoolLimits& limits, Ready ready) {
  const std::string key = key_of(target);
  Pool& pool = pool_for(key);
  pool.listener = target.listener;
  pool.size = std::max(1, limits.size);
  pool.limits = limits;
  if (!sweeping_) {
    sweeping_ = true;
    sweep();
  }
  while (!pool.idle.empty()) {
    std::unique_ptr<ServerConnection> connection = std::move(pool.idle.back());
    pool.idle.pop_back();
    count(pool, 0, -1, 0);
    if (closed_by_server(connection->socket)) {
      error_code ignored;
      connection->socket.close(ignored);
      count(pool, -1, 0, 0);
      continue;
    }
    // At once: a transaction-mode client takes one per transaction, and a turn of the loop is latency.
    ready(AcquireOutcome{std::move(connection), {}, {}});
    return;
  }
  if (pool.open < pool.size) {
    count(pool, 1, 0, 0);
    start_login(key, target, keys, limits, std::move(ready));
    return;
  }
  auto waiter = std::make_shared<Waiter>(
      Waiter{target, keys, limits, std::move(ready), std::make_shared<asio::steady_timer>(io_)});
  pool.waiters.push_back(waiter);
  count(pool, 0, 0, 1);
  waiter->timer->expires_after(limits.wait_timeout);
  waiter->timer->async_wait([this, alive = alive_, key, weak = std::weak_ptr<Waiter>(waiter)](const error_code& ec) {
    if (ec || !*alive) return;
    auto waiting = weak.lock();
    if (!waiting) return;
    Pool& pool = pool_for(key);
    pool.waiters.erase(std::remove(pool.waiters.begin(), pool.waiters.end(), waiting), pool.waiters.end());
    count(pool, 0, 0, -1);
    if (pool.limits.gauges) ++pool.limits.gauges->wait_timeouts;
    waiting->ready(
        AcquireOutcome{nullptr, "08P01",
                       fmt::format("pgstack-proxy: no server connection for database {} and user {} came free within "
                                   "query_wait_timeout ({} ms; {} connections per worker)",
                                   waiting->target.database, waiting->target.user, waiting->limits.wait_timeout.count(),
                                   waiting->limits.size)});
  });
}

void ServerPool::start_login(const std::string& key, const PoolTarget& target, const LoginKeys& keys,
                             const PoolLimits& limits, Ready ready) {
  ++logins_;
  if (limits.gauges) ++limits.gauges->logins;
  auto login = std::make_shared<Login>(io_, target, keys, limits.connect_timeout,
                                       [this, alive = alive_, key, ready = std::move(ready)](AcquireOutcome outcome) {
                                         if (!*alive) return;
                                         if (outcome.connection) {
                                           outcome.connection->pool = key;
                                         } else {
                                           on_closed(key);
                                         }
                                         ready(std::move(outcome));
                                       });
  login->start();
}

void ServerPool::release(std::unique_ptr<ServerConnection> connection, bool reset) {
  if (!reset) return return_idle(std::move(connection));
  ServerConnection& held = *connection;
  auto owned = std::make_shared<std::unique_ptr<ServerConnection>>(std::move(connection));
  run_quietly(held, "DISCARD ALL", [this, alive = alive_, owned](const Result<bool>& result) {
    if (!*alive) return;
    if (!result.ok()) {
      spdlog::debug("closing a server connection whose reset failed: {}", result.error().message);
      return discard(std::move(*owned));
    }
    (*owned)->statements = ServerStatements{};  // DISCARD ALL deallocated them
    (*owned)->taught = 0;
    (*owned)->other_settings.clear();  // RESET ALL
    (*owned)->last_client = 0;         // and reset the settings
    return_idle(std::move(*owned));
  });
}

void ServerPool::return_idle(std::unique_ptr<ServerConnection> connection) {
  Pool& pool = pool_for(connection->pool);
  const auto& prepared = connection->statements.prepared;
  if (prepared.size() != connection->taught && pool.known_statements.size() < kMaxKnownStatements) {
    pool.known_statements.insert(prepared.begin(), prepared.end());
    connection->taught = prepared.size();
  }
  if (!pool.waiters.empty()) {
    auto waiter = pool.waiters.front();
    pool.waiters.pop_front();
    count(pool, 0, 0, -1);
    waiter->timer->cancel();
    // Handed over at once: the connection does not sit idle for a turn of the loop while a client waits.
    waiter->ready(AcquireOutcome{std::move(connection), {}, {}});
    return;
  }
  connection->idle_since = Clock::now();
  pool.idle.push_back(std::move(connection));
  count(pool, 0, 1, 0);
}

const std::set<std::string>& ServerPool::known_statements(const PoolTarget& target) {
  return pool_for(key_of(target)).known_statements;
}

void ServerPool::discard(std::unique_ptr<ServerConnection> connection) {
  error_code ignored;
  connection->socket.close(ignored);
  on_closed(connection->pool);
}

// A connection of `key` is gone: a waiter may take its place with a login of its own.
void ServerPool::on_closed(const std::string& key) {
  Pool& pool = pool_for(key);
  count(pool, -1, 0, 0);
  if (pool.waiters.empty() || pool.open >= pool.size) return;
  auto waiter = pool.waiters.front();
  pool.waiters.pop_front();
  waiter->timer->cancel();
  count(pool, 1, 0, -1);
  start_login(key, waiter->target, waiter->keys, waiter->limits, waiter->ready);
}

void ServerPool::drop_idle(const std::string& listener, const std::function<bool(const std::string& member)>& keep) {
  for (auto& [key, pool] : pools_) {
    if (pool->listener != listener) continue;
    auto& idle = pool->idle;
    for (auto it = idle.begin(); it != idle.end();) {
      if (keep((*it)->member)) {
        ++it;
        continue;
      }
      error_code ignored;
      (*it)->socket.close(ignored);
      count(*pool, -1, -1, 0);
      it = idle.erase(it);
    }
  }
}

void ServerPool::run_quietly(ServerConnection& connection, const std::string& sql, Done done) {
  std::make_shared<QuietQuery>(connection, sql, std::move(done))->start();
}

void ServerPool::sweep() {
  const auto now = Clock::now();
  for (auto& [key, pool] : pools_) {
    auto& idle = pool->idle;
    for (auto it = idle.begin(); it != idle.end();) {
      const bool too_idle = now - (*it)->idle_since >= pool->limits.idle_timeout;
      const bool too_old = now - (*it)->created >= pool->limits.lifetime;
      if (!too_idle && !too_old && !closed_by_server((*it)->socket)) {
        ++it;
        continue;
      }
      error_code ignored;
      (*it)->socket.close(ignored);
      count(*pool, -1, -1, 0);
      it = idle.erase(it);
    }
  }
  sweeper_.expires_after(kSweepInterval);
  sweeper_.async_wait([this, alive = alive_](const error_code& ec) {
    if (!ec && *alive) sweep();
  });
}

ServerPool::Counts ServerPool::counts() const {
  Counts counts;
  counts.logins = logins_;
  for (const auto& [key, pool] : pools_) {
    counts.idle += pool->idle.size();
    counts.open += static_cast<std::size_t>(std::max(0, pool->open));
    counts.waiting += pool->waiters.size();
  }
  return counts;
}

}  // namespace pgstack::proxy
