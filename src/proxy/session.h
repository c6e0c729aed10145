// One client connection: encryption negotiation and startup, routing to a member, then a byte relay in
// both directions that decodes what passes (statistics, mirroring, cancel keys) without changing it.
// On a pooled listener the session authenticates the client itself (SCRAM) and relays to a server
// connection of the worker's pool, held for the session or, in transaction mode, for one transaction.
// Lives entirely on one worker's io_context: no locks on the data path.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>

#include "pgwire/backend_decoder.h"
#include "pgwire/frontend_decoder.h"
#include "pgwire/raw_message.h"
#include "pgwire/scram.h"
#include "proxy/listener_runtime.h"
#include "proxy/pooling_rules.h"
#include "proxy/proxy_stats.h"
#include "proxy/read_buffer.h"
#include "proxy/server_pool.h"
#include "proxy/statement_rewriter.h"

namespace pgstack::proxy {

class Session;

// The worker's view of its sessions, for closing those that lost their member.
class SessionSet {
 public:
  void add(Session* session, std::weak_ptr<Session> handle) { sessions_[session] = std::move(handle); }
  void remove(Session* session) { sessions_.erase(session); }
  template <typename Visit>
  void for_each(Visit&& visit) {
    // Copy first: a visit may close (and so remove) the session.
    std::vector<std::shared_ptr<Session>> alive;
    for (auto& [raw, weak] : sessions_) {
      if (auto session = weak.lock()) alive.push_back(std::move(session));
    }
    for (auto& session : alive) visit(*session);
  }

 private:
  std::unordered_map<Session*, std::weak_ptr<Session>> sessions_;
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  // `pool` is the worker's; used when the listener pools.
  Session(boost::asio::ip::tcp::socket client, ListenerRuntime& listener, ProxyShared& shared, SessionSet& sessions,
          ServerPool& pool);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  void start();
  // The member this session's server connection goes to ("" before routing).
  const std::string& target_member() const { return target_.member; }
  const ListenerRuntime& listener() const { return listener_; }
  // Ends the session because its member lost the role it was chosen for.
  void terminate_for_failover(std::string_view reason);

 private:
  using Clock = std::chrono::steady_clock;
  enum class Phase { kStartup, kRouting, kConnecting, kAuthenticating, kRelay, kCancelling, kClosed };
  enum class Negotiation { kNone, kSsl, kGssenc, kCancel, kTerminate, kStartup };
  struct PendingQuery {
    Clock::time_point start;
    std::vector<std::string> fingerprints;
  };
  struct PreparedStatement {
    std::string sql;
    std::string fingerprint;
    std::vector<std::uint32_t> types;
  };
  struct BoundPortal {
    std::string statement;
    std::vector<std::optional<std::string>> parameters;  // only kept when mirroring
    std::vector<int> formats;
  };

  class ClientEvents;
  class ServerEvents;

  // What a pooled session adds: the client's SCRAM exchange, its settings and cancel key, and the
  // server connection it holds, if any.
  struct Pooled {
    ClientPool pool;                // its mode and size, by database and user
    ClientSettings settings;        // reported GUCs (pooling_rules.h)
    ClientSettings other_settings;  // the other settings of its startup packet
    std::optional<pgwire::scram::ServerExchange> scram;
    std::string auth_input;  // the client's bytes during the SCRAM exchange
    LoginKeys keys;
    CancelRegistry::Key client_key;            // the BackendKeyData the client was given
    std::unique_ptr<ServerConnection> server;  // its socket is in server_ while held
    ReleaseState release;
    std::string refusal;     // why the startup cannot be pooled ("" when it can)
    bool releasing = false;  // transaction over: the server connection goes back once its read is cancelled
    bool returning = false;  // session over: likewise, with a reset in session mode
    bool terminate_after_forward = false;
    bool reroute = false;  // its member lost its role while the client held nothing: route again first
    std::optional<std::chrono::steady_clock::time_point> reroute_deadline;
    // Transaction mode: whole messages only, so named statements can be renamed (statement_rewriter.h).
    StatementRewriter rewriter;
    std::string client_frame;  // a client message not yet whole
    std::string client_out;    // what goes to the server
    std::string server_frame;
    std::string server_out;
  };

  // Startup phase.
  void read_startup();
  void on_startup_bytes(std::size_t size);
  void answer_negotiation(char answer, bool start_tls);
  void forward_cancel();
  void await_cancel_answer();
  // The member the listener's role routes to now (reads spread by connection count); none while there is none.
  std::optional<RouteTarget> choose_target();
  void route();
  void connect(const RouteTarget& target);
  // After a refused connect: routes again shortly, while within kRefusedRetryWindow of the first refusal and the
  // handshake's deadline; false when the client is to be failed.
  bool route_again_after_refusal();
  void on_connected();

  // Pooled listeners.
  bool pooled() const { return pooled_ != nullptr; }
  bool transaction_pooled() const;
  void forward_framed();
  bool answer_prepare_locally();
  PoolTarget pool_target() const;
  PoolLimits pool_limits() const;
  void look_up_verifier();
  void on_verifier(const AuthLookupResult& result);
  void read_auth();
  void on_auth_message(const pgwire::RawMessage& message);
  void on_authenticated(std::string server_final);
  // Takes a server connection from the pool and brings it to the client's settings, then runs `then`.
  void attach(std::function<void()> then, bool at_login = false);
  // After a failover: the member now in the role, waited for up to handshake_timeout, then attach().
  void reroute_then_attach(std::function<void()> then);
  void sync_settings(std::function<void()> then);
  void maybe_release();
  void release_server();
  void drop_server();
  void on_server_read_stopped(const boost::system::error_code& ec, std::size_t size);
  void send_login_answer(const std::string& server_final);
  void forward_to_server(std::size_t size);

  // Relay.
  void read_client();
  void read_server();
  void on_client_bytes(std::size_t size);
  void on_server_bytes(std::size_t size);
  void arm_idle_timer();

  // Ending.
  void fail(std::string_view sqlstate, std::string message, bool protocol_error);
  void close();
  void flush_stats();

  template <typename Handler>
  void client_read_some(Handler&& handler);
  template <typename Handler>
  void server_read_some(Handler&& handler);
  template <typename Handler>
  void client_write(const void* data, std::size_t size, Handler&& handler);

  // Decoder events.
  void record_query_start(std::vector<std::string> fingerprints);
  void on_ready_for_query(pgwire::TransactionStatus status);

  boost::asio::ip::tcp::socket client_;
  boost::asio::ip::tcp::socket server_;
  std::shared_ptr<boost::asio::ssl::context> tls_context_;  // declared first: outlives the stream
  std::unique_ptr<boost::asio::ssl::stream<boost::asio::ip::tcp::socket&>> tls_;
  boost::asio::steady_timer handshake_timer_;
  boost::asio::steady_timer idle_timer_;
  ListenerRuntime& listener_;
  ProxyShared& shared_;
  SessionSet& sessions_;
  ServerPool& pool_;
  const std::uint64_t id_;
  std::unique_ptr<Pooled> pooled_;

  std::unique_ptr<ClientEvents> client_events_;
  std::unique_ptr<ServerEvents> server_events_;
  pgwire::FrontendDecoder front_;
  pgwire::BackendDecoder back_;

  Phase phase_ = Phase::kStartup;
  Negotiation negotiation_ = Negotiation::kNone;
  std::string startup_bytes_;  // the startup packet as received, forwarded once connected
  std::string database_;
  std::string user_;
  std::optional<CancelRegistry::Key> cancel_request_;
  std::optional<CancelRegistry::Key> backend_key_;
  RouteTarget target_;
  ServerEndpoint endpoint_;
  CancelRegistry::Address server_address_;  // where server_ is connected, once it is
  std::shared_ptr<std::atomic<std::int64_t>> member_counter_;
  Clock::time_point deadline_;
  std::optional<Clock::time_point> first_refusal_;
  Clock::time_point last_activity_;

  ReadBuffer client_buffer_;
  ReadBuffer server_buffer_;
  std::string reply_;  // what the proxy itself writes to the client
  bool client_writing_ = false;
  bool server_at_boundary_ = true;
  bool failing_ = false;
  bool tls_handshaken_ = false;
  bool fatal_pending_ = false;
  bool counted_ = false;  // counted in shared_.client_connections
  bool server_writing_ = false;
  bool server_reading_ = false;
  bool client_terminated_ = false;
  bool scram_first_answered_ = false;  // the client sent Terminate after its startup

  // Statistics (flushed into entry_ at ReadyForQuery and at close).
  std::shared_ptr<StatsEntry> entry_;
  SessionCounters delta_;
  std::list<PendingQuery> pending_queries_;  // not a deque: that allocates 576 bytes up front, idle or not
  std::vector<std::string> batch_fingerprints_;
  pgwire::TransactionStatus transaction_status_ = pgwire::TransactionStatus::kIdle;
  Clock::time_point transaction_start_;
  std::optional<pgwire::CommandKind> block_end_;  // COMMIT/ROLLBACK seen since the last ReadyForQuery
  std::unordered_map<std::string, PreparedStatement> statements_;
  std::unordered_map<std::string, BoundPortal> portals_;
};

}  // namespace pgstack::proxy
