// Server connections a pooled listener keeps open to Postgres, per worker thread (no locks: a worker's
// sessions and its pool share one io_context). A pool is per member address, database and user; its size
// is the listener's pool_size split across the workers. A connection is logged in with the ClientKey of
// the client that first needed it (src/pgwire/scram.h), handed to one client at a time, reset with
// DISCARD ALL after a session-mode client, checked for a server-side close before reuse, and closed when
// idle or old (server_idle_timeout, server_lifetime). Clients beyond the size wait (query_wait_timeout).
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include "common/error.h"
#include "proxy/listener_runtime.h"
#include "proxy/statement_rewriter.h"

namespace pgstack::proxy {

// GUCs Postgres reports with ParameterStatus: name in lower case -> the name as reported, and its value.
using ReportedParameters = std::map<std::string, std::pair<std::string, std::string>>;

struct ServerConnection {
  explicit ServerConnection(const boost::asio::any_io_executor& executor) : socket(executor) {}
  boost::asio::ip::tcp::socket socket;
  boost::asio::ip::tcp::endpoint address;
  std::string member;
  std::string pool;  // its pool's key
  CancelRegistry::Key backend_key;
  ReportedParameters parameters;
  ReportedParameters login_parameters;  // as the server reported them at login: the database's and user's defaults
  std::map<std::string, std::string> other_settings;  // unreported settings a client SET on it (pooling_rules.h)
  ServerStatements statements;                        // named statements prepared on it (transaction mode)
  std::size_t taught = 0;                             // how many of them its pool had learned from it when last back
  std::uint64_t last_client = 0;                      // the session that held it last (0 after a reset)
  std::chrono::steady_clock::time_point created;
  std::chrono::steady_clock::time_point idle_since;
};

struct PoolTarget {
  std::string listener;  // cluster/listener: each pooled listener has pools of its own size
  std::string member;
  std::string host;
  std::uint16_t port = 0;
  std::string database;         // as the client named it: pools are per [databases] entry, as PgBouncer's
  std::string server_database;  // what server connections log in to (the entry's dbname)
  std::string user;
};

// What a login needs of the client's SCRAM exchange (never a password).
struct LoginKeys {
  std::string client_key;
  std::string server_key;
};

struct PoolLimits {
  PoolGauges* gauges = nullptr;  // the listener's, summed over workers
  int size = 1;                  // this worker's share
  std::chrono::milliseconds wait_timeout{120'000};
  std::chrono::milliseconds connect_timeout{5'000};
  std::chrono::milliseconds idle_timeout{600'000};
  std::chrono::milliseconds lifetime{3'600'000};
};

// A failure to pass on to the client: Postgres's own SQLSTATE and message when it refused the login.
struct AcquireOutcome {
  std::unique_ptr<ServerConnection> connection;  // null on failure
  std::string sqlstate;
  std::string message;
};

class ServerPool {
 public:
  using Ready = std::function<void(AcquireOutcome)>;
  using Done = std::function<void(Result<bool>)>;

  explicit ServerPool(boost::asio::io_context& io);
  ~ServerPool();
  ServerPool(const ServerPool&) = delete;
  ServerPool& operator=(const ServerPool&) = delete;

  // An idle connection (`ready` runs at once, inside acquire()), a new one while the pool is below its
  // size, or the next one released (`ready` runs inside that release()). Either way on the worker.
  void acquire(const PoolTarget& target, const LoginKeys& keys, const PoolLimits& limits, Ready ready);
  // Back to the pool; with `reset`, after DISCARD ALL has run on it (and closed if that fails).
  void release(std::unique_ptr<ServerConnection> connection, bool reset);
  // Closed: its state is unknown (a client left mid-transaction, an I/O error).
  void discard(std::unique_ptr<ServerConnection> connection);
  // Closes a listener's idle connections to members that lost the role it routes for (a demoted primary
  // may stay up and writable, as when partitioned away); those in use end with their sessions.
  void drop_idle(const std::string& listener, const std::function<bool(const std::string& member)>& keep);

  // Statements parsed without error on connections of `target`'s pool (server-side names, at most
  // kMaxKnownStatements): a client preparing one of them needs no connection (StatementRewriter).
  const std::set<std::string>& known_statements(const PoolTarget& target);
  static constexpr std::size_t kMaxKnownStatements = 10000;

  // Runs `sql` on a connection no client is using, reading its answer up to ReadyForQuery and keeping
  // the ParameterStatus it reports; an ErrorResponse fails it.
  void run_quietly(ServerConnection& connection, const std::string& sql, Done done);

  struct Counts {
    std::size_t idle = 0;
    std::size_t open = 0;
    std::size_t waiting = 0;
    std::uint64_t logins = 0;
  };
  Counts counts() const;

 private:
  struct Waiter;
  struct Pool;
  class Login;
  class QuietQuery;
  Pool& pool_for(const std::string& key);
  static void count(Pool& pool, int open, int idle, int waiting);
  void start_login(const std::string& key, const PoolTarget& target, const LoginKeys& keys, const PoolLimits& limits,
                   Ready ready);
  void return_idle(std::unique_ptr<ServerConnection> connection);
  void on_closed(const std::string& key);
  void sweep();

  boost::asio::io_context& io_;
  boost::asio::steady_timer sweeper_;
  bool sweeping_ = false;
  std::map<std::string, std::unique_ptr<Pool>> pools_;
  std::uint64_t logins_ = 0;
  std::shared_ptr<bool> alive_;  // handlers of logins and quiet queries check it after the pool is gone
};

}  // namespace pgstack::proxy
