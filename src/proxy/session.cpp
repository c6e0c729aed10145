#include "proxy/session.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/digest.h"
#include "common/strings.h"
#include "pgwire/encoder.h"
#include "pgwire/normalize_query.h"
#include "pgwire/raw_message.h"
#include "pgwire/scram.h"

namespace pgstack::proxy {
namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

namespace {

constexpr std::size_t kMaxPendingQueries = 10000;  // pipelined queries tracked for latency
constexpr std::size_t kMaxPreparedStatements = 10000;
constexpr std::size_t kFingerprintLength = 2048;
// Postgres's own limit for a message (1 GB less a header): framing in transaction mode buffers up to it.
constexpr std::size_t kMaxMessageBody = 1U << 30;
constexpr auto kRouteRetry = std::chrono::milliseconds(50);
// A member's pooler that refuses connections is usually being restarted (the agent restarts PgBouncer when its
// member changes role, a second or two after a failover): route again for this long before failing the client.
constexpr auto kRefusedRetryWindow = std::chrono::seconds(2);
// How long a forwarded CancelRequest waits for the server to close its connection (Postgres and
// PgBouncer answer that way once they have acted on it).
constexpr auto kCancelAnswerTimeout = std::chrono::seconds(5);

std::string copy_key(std::span<const std::uint8_t> bytes) { return {bytes.begin(), bytes.end()}; }

std::uint64_t micros_since(std::chrono::steady_clock::time_point start) {
  const auto elapsed = std::chrono::steady_clock::now() - start;
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(elapsed).count());
}

// Reads what `socket` has into `buffer`: its small array, and when that fills, the rest of what is
// waiting too, read at once without blocking (ReadBuffer). Errors of that second read show at the next.
template <typename Handler>
void read_into(tcp::socket& socket, ReadBuffer& buffer, Handler&& handler) {
  socket.async_read_some(buffer.small(), [&socket, &buffer, handler = std::forward<Handler>(handler)](
                                             const error_code& ec, std::size_t size) mutable {
    if (ec || size < ReadBuffer::kSmall) return handler(ec, size);
    error_code ignored;
    if (!socket.non_blocking()) socket.non_blocking(true, ignored);
    error_code more_error;
    const std::size_t more = socket.read_some(buffer.spill(), more_error);
    handler(error_code{}, size + (more_error ? 0 : more));
  });
}

}  // namespace

// Client -> server messages.
class Session::ClientEvents : public pgwire::FrontendEvents {
 public:
  explicit ClientEvents(Session& session) : s_(session) {}

  void on_startup(const pgwire::StartupMessage& startup) override {
    s_.negotiation_ = Negotiation::kStartup;
    s_.database_ = std::string(startup.database().empty() ? startup.user() : startup.database());
    s_.user_ = std::string(startup.user());
    if (s_.pooled()) {
      auto settings = pooled_startup_settings({startup.parameters.begin(), startup.parameters.end()});
      s_.pooled_->pool = client_pool(*s_.listener_.config->pooling, s_.database_, s_.user_);
      if (settings.ok()) {
        PooledStartup startup_settings = std::move(settings).value();
        s_.pooled_->settings = std::move(startup_settings.reported);
        s_.pooled_->other_settings = std::move(startup_settings.other);
      } else
        s_.pooled_->refusal = settings.error().message;
    }
  }
  void on_message(char type, std::size_t /*wire_size*/) override {
    if (!s_.pooled()) return;
    // Extended-protocol messages leave the server connection in the middle of something until a Sync.
    if (type == 'P' || type == 'B' || type == 'E' || type == 'D' || type == 'C' || type == 'H')
      s_.pooled_->release.unsynced = true;
    if (type == 'Q' || type == 'F') ++s_.pooled_->release.unanswered;
  }
  void on_ssl_request() override { s_.negotiation_ = Negotiation::kSsl; }
  void on_gssenc_request() override { s_.negotiation_ = Negotiation::kGssenc; }
  void on_cancel_request(const pgwire::BackendKey& key) override {
    s_.negotiation_ = Negotiation::kCancel;
    s_.cancel_request_ = CancelRegistry::Key{key.process_id, copy_key(key.secret_key)};
  }
  void on_terminate() override {
    // In place of the startup packet (node-postgres on connect(); end()); later it is just relayed.
    if (s_.negotiation_ == Negotiation::kNone) s_.negotiation_ = Negotiation::kTerminate;
    if (s_.phase_ == Phase::kRelay) s_.client_terminated_ = true;
  }

  void on_query(std::string_view sql) override {
    s_.record_query_start({pgwire::normalize_query(sql, kFingerprintLength)});
    if (s_.listener_.mirror)
      s_.listener_.mirror->submit(MirrorItem{MirrorItem::Kind::kQuery, s_.id_, std::string(sql)});
  }
  void on_parse(const pgwire::ParseMessage& parse) override {
    if (s_.statements_.size() >= kMaxPreparedStatements && !s_.statements_.contains(std::string(parse.statement))) {
      return;
    }
    auto& statement = s_.statements_[std::string(parse.statement)];
    if (statement.sql != parse.query || statement.fingerprint.empty()) {
      statement.sql = std::string(parse.query);
      statement.fingerprint = pgwire::normalize_query(parse.query, kFingerprintLength);
    }
    statement.types.clear();
    for (std::size_t i = 0; i < parse.parameter_types.size(); ++i) statement.types.push_back(parse.parameter_types[i]);
  }
  void on_bind(const pgwire::BindMessage& bind) override {
    if (s_.portals_.size() >= kMaxPreparedStatements && !s_.portals_.contains(std::string(bind.portal))) return;
    auto& portal = s_.portals_[std::string(bind.portal)];
    portal.statement = std::string(bind.statement);
    portal.parameters.clear();
    portal.formats.clear();
    if (!s_.listener_.mirror) return;
    for (const auto& value : bind.parameters) {
      if (value.is_null)
        portal.parameters.emplace_back(std::nullopt);
      else
        portal.parameters.emplace_back(std::string(value.text()));
    }
    for (std::size_t i = 0; i < bind.parameter_formats.size(); ++i) portal.formats.push_back(bind.parameter_formats[i]);
  }
  void on_execute(std::string_view portal_name, std::int32_t /*max_rows*/) override {
    const auto portal = s_.portals_.find(std::string(portal_name));
    if (portal == s_.portals_.end()) return;
    const auto statement = s_.statements_.find(portal->second.statement);
    if (statement == s_.statements_.end()) return;
    s_.batch_fingerprints_.push_back(statement->second.fingerprint);
    if (s_.listener_.mirror) {
      MirrorItem item{MirrorItem::Kind::kQuery,  s_.id_,
                      statement->second.sql,     true,
                      portal->second.parameters, portal->second.formats,
                      statement->second.types};
      s_.listener_.mirror->submit(std::move(item));
    }
  }
  void on_close(pgwire::TargetKind kind, std::string_view name) override {
    if (kind == pgwire::TargetKind::kStatement)
      s_.statements_.erase(std::string(name));
    else
      s_.portals_.erase(std::string(name));
  }
  void on_sync() override {
    s_.record_query_start(std::move(s_.batch_fingerprints_));
    if (s_.pooled()) {
      s_.pooled_->release.unsynced = false;
      ++s_.pooled_->release.unanswered;
    }
  }

 private:
  Session& s_;
};

// Server -> client messages.
class Session::ServerEvents : public pgwire::BackendEvents {
 public:
  explicit ServerEvents(Session& session) : s_(session) {}

  void on_backend_key_data(const pgwire::BackendKey& key) override {
    if (s_.backend_key_) s_.shared_.cancels.remove(*s_.backend_key_);
    s_.backend_key_ = CancelRegistry::Key{key.process_id, copy_key(key.secret_key)};
    s_.shared_.cancels.add(*s_.backend_key_, s_.server_address_);
  }
  void on_command_complete(const pgwire::CommandTag& tag) override {
    // The client's own DISCARD ALL / DEALLOCATE ALL drops what the server connection had prepared.
    if (s_.pooled() && s_.pooled_->server && (tag.text == "DISCARD ALL" || tag.text == "DEALLOCATE ALL"))
      s_.pooled_->server->statements.prepared.clear();
    ++s_.delta_.statements[static_cast<std::size_t>(tag.kind)];
    if (tag.kind == pgwire::CommandKind::kCommit || tag.kind == pgwire::CommandKind::kRollback)
      s_.block_end_ = tag.kind;
  }
  void on_error(const pgwire::ErrorFields& fields) override {
    s_.delta_.record_error(fields.severity_nonlocalized.empty() ? fields.severity : fields.severity_nonlocalized,
                           fields.sqlstate);
  }
  void on_notice(const pgwire::ErrorFields& /*fields*/) override { ++s_.delta_.notices; }
  void on_ready_for_query(pgwire::TransactionStatus status) override {
    if (s_.pooled()) {
      auto& release = s_.pooled_->release;
      release.unanswered = std::max(0, release.unanswered - 1);
      release.idle = status == pgwire::TransactionStatus::kIdle;
    }
    s_.on_ready_for_query(status);
  }
  void on_parameter_status(std::string_view name, std::string_view value) override {
    if (!s_.pooled() || !s_.pooled_->server) return;
    std::string lower = to_lower(name);
    // The client changed a setting (SET): it follows the client to its next server connection.
    if (tracked_setting(lower)) s_.pooled_->settings[lower] = std::string(value);
    s_.pooled_->server->parameters[std::move(lower)] = {std::string(name), std::string(value)};
  }

 private:
  Session& s_;
};

Session::Session(tcp::socket client, ListenerRuntime& listener, ProxyShared& shared, SessionSet& sessions,
                 ServerPool& pool)
    : client_(std::move(client)),
      server_(client_.get_executor()),
      handshake_timer_(client_.get_executor()),
      idle_timer_(client_.get_executor()),
      listener_(listener),
      shared_(shared),
      sessions_(sessions),
      pool_(pool),
      id_(shared.next_session_id++),
      pooled_(listener.config->pooling ? std::make_unique<Pooled>() : nullptr),
      client_events_(std::make_unique<ClientEvents>(*this)),
      server_events_(std::make_unique<ServerEvents>(*this)),
      front_(*client_events_),
      back_(*server_events_) {}

Session::~Session() { close(); }

void Session::start() {
  sessions_.add(this, weak_from_this());
  ++shared_.client_connections;
  counted_ = true;
  error_code ignored;
  client_.set_option(tcp::no_delay(true), ignored);
  deadline_ = Clock::now() + shared_.config->limits.handshake_timeout;
  handshake_timer_.expires_at(deadline_);
  handshake_timer_.async_wait([self = shared_from_this()](const error_code& ec) {
    if (ec || self->phase_ == Phase::kRelay || self->phase_ == Phase::kCancelling || self->phase_ == Phase::kClosed) {
      return;
    }
    self->fail("08006", "the connection did not complete its startup in time", false);
  });
  read_startup();
}

template <typename Handler>
void Session::client_read_some(Handler&& handler) {
  if (tls_) return tls_->async_read_some(client_buffer_.large(), std::forward<Handler>(handler));
  read_into(client_, client_buffer_, std::forward<Handler>(handler));
}

template <typename Handler>
void Session::server_read_some(Handler&& handler) {
  read_into(server_, server_buffer_, std::forward<Handler>(handler));
}

template <typename Handler>
void Session::client_write(const void* data, std::size_t size, Handler&& handler) {
  client_writing_ = true;
  if (tls_)
    asio::async_write(*tls_, asio::buffer(data, size), std::forward<Handler>(handler));
  else
    asio::async_write(client_, asio::buffer(data, size), std::forward<Handler>(handler));
}

// ---- Startup phase -----------------------------------------------------------------------------------

void Session::read_startup() {
  client_read_some([self = shared_from_this()](const error_code& ec, std::size_t size) {
    if (self->failing_ || self->phase_ == Phase::kClosed) return;
    if (ec) return self->close();
    self->on_startup_bytes(size);
  });
}

void Session::on_startup_bytes(std::size_t size) {
  delta_.bytes_in += size;
  negotiation_ = Negotiation::kNone;
  const auto status = front_.feed(std::span<const std::uint8_t>(client_buffer_.data(), size));
  if (status == pgwire::DecodeStatus::kError) {
    return fail(front_.error().sqlstate, front_.error().message, true);
  }
  // Postgres never reads past a Terminate or CancelRequest; neither does the server here.
  startup_bytes_.append(reinterpret_cast<const char*>(client_buffer_.data()), size - front_.trailing_bytes());
  switch (negotiation_) {
    case Negotiation::kNone: return read_startup();
    case Negotiation::kSsl:
      // A second SSLRequest inside TLS is not a thing a client does.
      if (tls_) return fail(pgwire::kSqlstateProtocolViolation, "SSLRequest inside an encrypted connection", true);
      tls_context_ = shared_.tls.current();
      return answer_negotiation(tls_context_ ? 'S' : 'N', tls_context_ != nullptr);
    case Negotiation::kGssenc: return answer_negotiation('N', false);
    case Negotiation::kCancel: return forward_cancel();
    case Negotiation::kTerminate: return close();  // as Postgres and PgBouncer: no answer, and no protocol error
    case Negotiation::kStartup:
      if (pooled() && !pooled_->refusal.empty()) return fail("08P01", pooled_->refusal, false);
      phase_ = Phase::kRouting;
      return route();
  }
}

void Session::answer_negotiation(char answer, bool start_tls) {
  startup_bytes_.clear();
  reply_.assign(1, answer);
  client_write(reply_.data(), reply_.size(), [self = shared_from_this(), start_tls](const error_code& ec, std::size_t) {
    self->client_writing_ = false;
    if (ec || self->failing_ || self->phase_ == Phase::kClosed) return self->close();
    self->delta_.bytes_out += 1;
    if (!start_tls) return self->read_startup();
    self->tls_ = std::make_unique<asio::ssl::stream<tcp::socket&>>(self->client_, *self->tls_context_);
    // The handshake reads TLS records only: plaintext sent before it completes fails it.
    self->tls_->async_handshake(asio::ssl::stream_base::server, [self](const error_code& handshake_error) {
      if (self->phase_ == Phase::kClosed) return;
      if (handshake_error) {
        spdlog::debug("session {}: TLS handshake failed: {}", self->id_, handshake_error.message());
        return self->close();
      }
      self->tls_handshaken_ = true;
      self->read_startup();
    });
  });
}

void Session::forward_cancel() {
  ++listener_.cancel_requests;
  const auto target = shared_.cancels.find(*cancel_request_);
  if (!target) return close();  // as Postgres: an unknown key gets no answer
  // Both connections stay open until the server closes its own, as libpq waits for it: the client
  // then knows the cancel was acted on before it sends its next query, and PgBouncer 1.18 mishandles
  // a cancel whose client leaves first (lost cancels, or a crash that drops every pooled session).
  phase_ = Phase::kCancelling;
  handshake_timer_.cancel();
  idle_timer_.expires_after(kCancelAnswerTimeout);
  idle_timer_.async_wait([self = shared_from_this()](const error_code& ec) {
    if (!ec && self->phase_ == Phase::kCancelling) self->close();
  });
  // The server's own key: a pooled client holds one the proxy made.
  const CancelRegistry::Key& key = target->key;
  reply_ = pgwire::encode_cancel_request(
      key.first,
      std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(key.second.data()), key.second.size()));
  server_.async_connect(target->address, [self = shared_from_this()](const error_code& error) {
    if (self->phase_ != Phase::kCancelling) return;
    if (error) return self->close();
    asio::async_write(self->server_, asio::buffer(self->reply_), [self](const error_code& ec, std::size_t) {
      if (self->phase_ != Phase::kCancelling) return;
      if (ec) return self->close();
      self->await_cancel_answer();
    });
  });
}

void Session::await_cancel_answer() {
  // No bytes are expected, only the close; anything else is read and dropped.
  server_read_some([self = shared_from_this()](const error_code& ec, std::size_t) {
    if (self->phase_ != Phase::kCancelling) return;
    if (ec) return self->close();
    self->await_cancel_answer();
  });
}

std::optional<RouteTarget> Session::choose_target() {
  const auto snapshot = listener_.router->snapshot();
  if (listener_.config->role == ListenerRole::kReadWrite) return snapshot->primary;
  return choose_read_target(*snapshot, listener_.router->connections(), listener_.tiebreak++);
}

void Session::route() {
  if (phase_ != Phase::kRouting) return;
  const std::optional<RouteTarget> target = choose_target();
  if (!target) {
    // During a failover the new primary is usually confirmed within a health interval: wait for it.
    if (Clock::now() + kRouteRetry < deadline_) {
      listener_.router->poke();
      idle_timer_.expires_after(kRouteRetry);
      idle_timer_.async_wait([self = shared_from_this()](const error_code& ec) {
        if (!ec) self->route();
      });
      return;
    }
    ++listener_.routing_failures;
    return fail("57P03",
                fmt::format("pgstack-proxy: no {} member of cluster {} is available",
                            listener_.config->role == ListenerRole::kReadWrite ? "primary" : "readable",
                            listener_.cluster->name),
                false);
  }
  connect(*target);
}

bool Session::route_again_after_refusal() {
  const auto now = Clock::now();
  if (!first_refusal_) first_refusal_ = now;
  if (now - *first_refusal_ >= kRefusedRetryWindow || now + kRouteRetry >= deadline_) return false;
  if (member_counter_) --*member_counter_;
  member_counter_.reset();
  error_code ignored;
  server_.close(ignored);
  phase_ = Phase::kRouting;
  listener_.router->poke();
  // Replaces the connect deadline's wait (its handler sees operation_aborted).
  idle_timer_.expires_after(kRouteRetry);
  idle_timer_.async_wait([self = shared_from_this()](const error_code& ec) {
    if (!ec) self->route();
  });
  return true;
}

void Session::connect(const RouteTarget& target) {
  phase_ = Phase::kConnecting;
  target_ = target;
  const int port = int{target.postgres_port} + listener_.config->port_offset;
  endpoint_ = ServerEndpoint{target.host, static_cast<std::uint16_t>(port)};
  member_counter_ = listener_.router->connections().counter(target.member);
  ++*member_counter_;
  if (pooled()) {
    phase_ = Phase::kAuthenticating;
    return look_up_verifier();
  }
  // The connect timeout is the shorter of its own and what is left of the handshake.
  const auto connect_deadline = std::min(deadline_, Clock::now() + shared_.config->limits.connect_timeout);
  idle_timer_.expires_at(connect_deadline);
  idle_timer_.async_wait([self = shared_from_this()](const error_code& ec) {
    if (ec || self->phase_ != Phase::kConnecting) return;
    error_code ignored;
    self->server_.close(ignored);
  });
  auto on_connect = [self = shared_from_this()](const error_code& ec, const auto& /*endpoint*/) {
    if (self->phase_ != Phase::kConnecting) return;
    if (ec == asio::error::connection_refused && self->route_again_after_refusal()) return;
    if (ec) {
      ++self->listener_.routing_failures;
      return self->fail("08006",
                        fmt::format("pgstack-proxy: cannot connect to member {} ({}:{}): {}", self->target_.member,
                                    self->endpoint_.host, self->endpoint_.port, ec.message()),
                        false);
    }
    self->on_connected();
  };
  error_code ec;
  const auto address = asio::ip::make_address(endpoint_.host, ec);
  if (!ec) {
    std::array<tcp::endpoint, 1> endpoints{tcp::endpoint(address, endpoint_.port)};
    asio::async_connect(server_, endpoints, std::move(on_connect));
    return;
  }
  auto resolver = std::make_shared<tcp::resolver>(client_.get_executor());
  resolver->async_resolve(endpoint_.host, std::to_string(endpoint_.port),
                          [self = shared_from_this(), resolver, on_connect = std::move(on_connect)](
                              const error_code& error, const tcp::resolver::results_type& results) mutable {
                            if (self->phase_ != Phase::kConnecting) return;
                            if (error) return on_connect(error, tcp::endpoint());
                            asio::async_connect(self->server_, results, std::move(on_connect));
                          });
}

void Session::on_connected() {
  phase_ = Phase::kRelay;
  handshake_timer_.cancel();
  idle_timer_.cancel();
  error_code ignored;
  server_.set_option(tcp::no_delay(true), ignored);
  server_address_ = server_.remote_endpoint(ignored);

  // The entry for this database and user is made at the first ReadyForQuery, once the server has
  // authenticated the client: names sent by clients that never log in must not grow the statistics.
  ++delta_.sessions_total;
  ++(tls_ ? delta_.sessions_tls : delta_.sessions_plain);
  ++delta_.sessions_active;
  flush_stats();

  last_activity_ = Clock::now();
  arm_idle_timer();
  asio::async_write(server_, asio::buffer(startup_bytes_),
                    [self = shared_from_this()](const error_code& ec, std::size_t) {
                      if (self->phase_ != Phase::kRelay || self->failing_) return;
                      if (ec) return self->close();
                      self->startup_bytes_.clear();
                      self->startup_bytes_.shrink_to_fit();
                      self->read_client();
                      self->read_server();
                    });
}

// ---- Relay -------------------------------------------------------------------------------------------

void Session::read_client() {
  client_read_some([self = shared_from_this()](const error_code& ec, std::size_t size) {
    if (self->phase_ != Phase::kRelay || self->failing_) return;
    if (ec) return self->close();
    self->on_client_bytes(size);
  });
}

void Session::on_client_bytes(std::size_t size) {
  last_activity_ = Clock::now();
  delta_.bytes_in += size;
  const auto status = front_.feed(std::span<const std::uint8_t>(client_buffer_.data(), size));
  if (status == pgwire::DecodeStatus::kError) {
    // Nothing of a malformed chunk reaches the server.
    return fail(front_.error().sqlstate, front_.error().message, true);
  }
  // Postgres stops reading at a Terminate: what follows is dropped (quietly, as Postgres does), and
  // the session ends when the server or the client closes.
  std::size_t forward = size - front_.trailing_bytes();
  if (pooled()) {
    pooled_->release.client_at_boundary = status == pgwire::DecodeStatus::kReady;
    if (client_terminated_) {
      forward -= std::min<std::size_t>(forward, 5);  // the Terminate itself: the server connection outlives the client
      if (forward == 0) return close();
      // Statements sent just before leaving still run; nobody reads their answers, so the connection is not reused.
      pooled_->release.pinned = true;
      pooled_->terminate_after_forward = true;
    }
    if (forward == 0) return read_client();
    if (transaction_pooled()) {
      pooled_->client_frame.append(reinterpret_cast<const char*>(client_buffer_.data()), forward);
      if (pooled_->server) return forward_framed();
      auto whole = pgwire::message_at(pooled_->client_frame, kMaxMessageBody);
      if (whole.ok() && !*whole) return read_client();  // nothing whole yet: no server connection needed
      if (answer_prepare_locally()) return;
      // Between transactions: the client's next message takes a server connection first.
      return attach([self = shared_from_this()] {
        self->forward_framed();
        self->read_server();
      });
    }
    if (!pooled_->server) {
      return attach([self = shared_from_this(), forward] {
        self->forward_to_server(forward);
        self->read_server();
      });
    }
  }
  if (forward == 0) return read_client();
  forward_to_server(forward);
}

// A PQprepare between transactions of statements this pool has parsed before is answered here: a client
// that prepares while other clients of its thread hold every server connection (pgbench -M prepared)
// does not wait for one, and nobody waits on it.
bool Session::answer_prepare_locally() {
  if (pooled_->reroute || pooled_->client_frame.empty() || pooled_->client_frame.front() != 'P') return false;
  std::string reply;
  if (!pooled_->rewriter.answer_prepare_locally(pooled_->client_frame, pool_.known_statements(pool_target()), reply)) {
    return false;
  }
  pooled_->client_frame.clear();
  ++listener_.pool.prepares_answered;
  // The statistics see the answer as the server's.
  back_.feed(std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(reply.data()), reply.size()));
  reply_ = std::move(reply);
  client_write(reply_.data(), reply_.size(), [self = shared_from_this()](const error_code& ec, std::size_t size) {
    self->client_writing_ = false;
    if (self->phase_ != Phase::kRelay || self->failing_) return;
    if (ec) return self->close();
    self->delta_.bytes_out += size;
    self->read_client();
  });
  return true;
}

bool Session::transaction_pooled() const { return pooled() && pooled_->pool.mode == PoolMode::kTransaction; }

// The whole messages of client_frame, named statements renamed, to the server connection held.
void Session::forward_framed() {
  auto& pooled = *pooled_;
  pooled.client_out.clear();
  std::string_view frame = pooled.client_frame;
  std::size_t consumed = 0;
  for (;;) {
    auto view = pgwire::message_at(frame.substr(consumed), kMaxMessageBody);
    if (!view.ok()) return fail(pgwire::kSqlstateProtocolViolation, view.error().message, true);
    if (!*view) break;
    pooled.rewriter.on_client_message((*view)->type, (*view)->body, (*view)->wire, pooled.server->statements,
                                      pooled.client_out);
    consumed += (*view)->wire.size();
  }
  pooled.client_frame.erase(0, consumed);
  if (pooled.client_out.empty()) return read_client();
  server_writing_ = true;
  asio::async_write(server_, asio::buffer(pooled.client_out),
                    [self = shared_from_this()](const error_code& ec, std::size_t) {
                      self->server_writing_ = false;
                      if (self->phase_ != Phase::kRelay || self->failing_) return;
                      if (ec) return self->close();
                      if (self->pooled_->terminate_after_forward) return self->close();
                      self->read_client();
                      self->maybe_release();
                    });
}

void Session::forward_to_server(std::size_t size) {
  server_writing_ = true;
  asio::async_write(server_, asio::buffer(client_buffer_.data(), size),
                    [self = shared_from_this()](const error_code& ec, std::size_t) {
                      self->server_writing_ = false;
                      if (self->phase_ != Phase::kRelay || self->failing_) return;
                      if (ec) return self->close();
                      if (self->pooled() && self->pooled_->terminate_after_forward) return self->close();
                      self->read_client();
                      self->maybe_release();
                    });
}

void Session::read_server() {
  server_reading_ = true;
  server_read_some([self = shared_from_this()](const error_code& ec, std::size_t size) {
    self->server_reading_ = false;
    if (self->pooled() && (self->pooled_->releasing || self->pooled_->returning)) {
      return self->on_server_read_stopped(ec, size);
    }
    if (self->phase_ != Phase::kRelay || self->failing_) return;
    if (ec) return self->close();
    self->on_server_bytes(size);
  });
}

void Session::on_server_bytes(std::size_t size) {
  last_activity_ = Clock::now();
  const auto status = back_.feed(std::span<const std::uint8_t>(server_buffer_.data(), size));
  if (status == pgwire::DecodeStatus::kError) {
    return fail(pgwire::kSqlstateProtocolViolation,
                "pgstack-proxy: the server sent malformed data: " + back_.error().message, true);
  }
  server_at_boundary_ = status == pgwire::DecodeStatus::kReady;
  if (pooled()) pooled_->release.server_at_boundary = server_at_boundary_;
  const char* out = reinterpret_cast<const char*>(server_buffer_.data());
  if (transaction_pooled() && (pooled_->rewriter.expecting_answers() || !pooled_->server_frame.empty())) {
    // Answers to Parses the client did not send are dropped: whole messages only until none is expected.
    auto& pooled = *pooled_;
    pooled.server_frame.append(out, size);
    pooled.server_out.clear();
    std::string_view frame = pooled.server_frame;
    std::size_t consumed = 0;
    for (;;) {
      auto view = pgwire::message_at(frame.substr(consumed), kMaxMessageBody);
      if (!view.ok() || !*view) break;  // the decoder has vetted the bytes: only an incomplete message stops here
      if (pooled.rewriter.on_server_message((*view)->type, (*view)->body, pooled.server->statements))
        pooled.server_out.append((*view)->wire);
      consumed += (*view)->wire.size();
    }
    pooled.server_frame.erase(0, consumed);
    if (pooled.server_out.empty()) return read_server();
    out = pooled.server_out.data();
    size = pooled.server_out.size();
  }
  client_write(out, size, [self = shared_from_this(), size](const error_code& ec, std::size_t) {
    self->client_writing_ = false;
    if (self->phase_ == Phase::kClosed) return;
    if (self->failing_) {
      if (self->fatal_pending_) {
        self->fatal_pending_ = false;
        self->client_write(self->reply_.data(), self->reply_.size(),
                           [self](const error_code&, std::size_t) { self->close(); });
      }
      return;
    }
    if (ec) return self->close();
    self->delta_.bytes_out += size;
    if (self->pooled()) {
      self->maybe_release();
      if (!self->pooled_->server) return;  // back in the pool: the next message takes one again
    }
    self->read_server();
  });
}

void Session::arm_idle_timer() {
  const auto idle = shared_.config->limits.idle_timeout;
  if (idle.count() <= 0) return;
  idle_timer_.expires_at(last_activity_ + idle);
  idle_timer_.async_wait([self = shared_from_this(), idle](const error_code& ec) {
    if (ec || self->phase_ != Phase::kRelay || self->failing_) return;
    // Activity moves last_activity_ only; the timer re-arms itself instead of being reset per read.
    if (Clock::now() - self->last_activity_ >= idle) {
      return self->fail("57P05", "pgstack-proxy: terminating connection due to idle timeout", false);
    }
    self->arm_idle_timer();
  });
}

void Session::terminate_for_failover(std::string_view reason) {
  if (phase_ == Phase::kClosed || failing_) return;
  // A transaction-mode client between transactions has nothing on the old member: its next transaction
  // goes to the member now in the role (its settings and statements follow it, as to any connection).
  if (phase_ == Phase::kRelay && transaction_pooled() && !pooled_->server) {
    if (!pooled_->reroute) {
      ++listener_.rerouted_by_failover;
      spdlog::info("session {}: {}; its next transaction is routed again", id_, reason);
    }
    pooled_->reroute = true;
    return;
  }
  ++listener_.closed_by_failover;
  spdlog::info("session {}: closing: {}", id_, reason);
  if (phase_ == Phase::kRelay && !server_at_boundary_) {
    // Mid-message: an ErrorResponse now would garble the stream; just end it.
    return close();
  }
  fail("57P01", fmt::format("pgstack-proxy: terminating connection: {}", reason), false);
}

// ---- Pooled listeners ---------------------------------------------------------------------------------

PoolTarget Session::pool_target() const {
  return PoolTarget{listener_.cluster->name + "/" + listener_.config->name,
                    target_.member,
                    endpoint_.host,
                    endpoint_.port,
                    database_,
                    pooled_->pool.server_database,
                    user_};
}

PoolLimits Session::pool_limits() const {
  const PoolingConfig& pooling = *listener_.config->pooling;
  PoolLimits limits;
  limits.gauges = &listener_.pool;
  const int workers = static_cast<int>(std::max(1U, shared_.workers));
  limits.size = std::max(1, (pooled_->pool.pool_size + workers - 1) / workers);
  limits.wait_timeout = pooling.query_wait_timeout;
  limits.connect_timeout = shared_.config->limits.connect_timeout;
  limits.idle_timeout = pooling.server_idle_timeout;
  limits.lifetime = pooling.server_lifetime;
  return limits;
}

void Session::look_up_verifier() {
  listener_.auth->lookup(
      AuthLookupRequest{endpoint_.host, endpoint_.port, user_}, [self = shared_from_this()](AuthLookupResult result) {
        asio::post(self->client_.get_executor(), [self, result = std::move(result)]() { self->on_verifier(result); });
      });
}

void Session::on_verifier(const AuthLookupResult& result) {
  if (phase_ != Phase::kAuthenticating || failing_) return;
  if (!result.ok()) {
    spdlog::warn("session {}: {}", id_, result.error().message);
    return fail("08006", "pgstack-proxy: cannot look up the user's credentials: " + result.error().message, false);
  }
  // Unknown users and roles without a SCRAM verifier go through the same exchange and fail at the proof,
  // as a wrong password does: a client cannot probe which users exist.
  std::optional<pgwire::scram::Verifier> verifier;
  if (result->has_value()) {
    if (auto parsed = pgwire::scram::parse_verifier(**result); parsed.ok()) verifier = std::move(parsed).value();
  }
  pooled_->scram.emplace(verifier ? std::move(*verifier) : pgwire::scram::unknown_user_verifier(),
                         pgwire::scram::random_nonce());
  reply_ = pgwire::encode_authentication_sasl({pgwire::scram::kMechanism});
  client_write(reply_.data(), reply_.size(), [self = shared_from_this()](const error_code& ec, std::size_t) {
    self->client_writing_ = false;
    if (self->phase_ != Phase::kAuthenticating || self->failing_) return;
    if (ec) return self->close();
    self->read_auth();
  });
}

void Session::read_auth() {
  client_read_some([self = shared_from_this()](const error_code& ec, std::size_t size) {
    if (self->phase_ != Phase::kAuthenticating || self->failing_) return;
    if (ec) return self->close();
    self->delta_.bytes_in += size;
    self->pooled_->auth_input.append(reinterpret_cast<const char*>(self->client_buffer_.data()), size);
    auto taken = pgwire::take_message(self->pooled_->auth_input, 64 * 1024);
    if (!taken.ok()) return self->fail(pgwire::kSqlstateProtocolViolation, taken.error().message, true);
    if (!*taken) return self->read_auth();
    self->on_auth_message(**taken);
  });
}

void Session::on_auth_message(const pgwire::RawMessage& message) {
  if (message.type != 'p') {
    return fail(pgwire::kSqlstateProtocolViolation,
                fmt::format("expected a SASL response during authentication, got a '{}' message", message.type), true);
  }
  auto& scram = *pooled_->scram;
  if (!scram_first_answered_) {
    // SASLInitialResponse: mechanism, Int32 length, client-first-message.
    const std::size_t end = message.body.find('\0');
    if (end == std::string::npos || message.body.size() < end + 5) {
      return fail(pgwire::kSqlstateProtocolViolation, "a malformed SASLInitialResponse", true);
    }
    if (message.body.substr(0, end) != pgwire::scram::kMechanism) {
      return fail("28000",
                  fmt::format("pgstack-proxy: SASL mechanism {} is not offered; use SCRAM-SHA-256",
                              message.body.substr(0, end)),
                  false);
    }
    auto server_first = scram.on_client_first(std::string_view(message.body).substr(end + 5));
    if (!server_first.ok()) return fail(pgwire::kSqlstateProtocolViolation, server_first.error().message, true);
    scram_first_answered_ = true;
    reply_ = pgwire::encode_authentication(pgwire::AuthenticationKind::kSaslContinue, *server_first);
    client_write(reply_.data(), reply_.size(), [self = shared_from_this()](const error_code& ec, std::size_t) {
      self->client_writing_ = false;
      if (self->phase_ != Phase::kAuthenticating || self->failing_) return;
      if (ec) return self->close();
      self->read_auth();
    });
    return;
  }
  auto server_final = scram.on_client_final(message.body);
  if (!server_final.ok()) {
    // A changed password is looked up afresh at the next attempt.
    listener_.auth->forget(user_);
    spdlog::info("session {}: authentication of user {} failed: {}", id_, user_, server_final.error().message);
    return fail("28P01", fmt::format("password authentication failed for user \"{}\"", user_), false);
  }
  pooled_->keys = LoginKeys{scram.client_key(), scram.verifier().server_key};
  // The exchange is over: an idle client keeps only its keys.
  pooled_->scram.reset();
  pooled_->auth_input = std::string();
  startup_bytes_ = std::string();
  on_authenticated(std::move(server_final).value());
}

void Session::on_authenticated(std::string server_final) {
  // The key this client cancels with; it maps to whichever server connection the client holds.
  const std::string random = base64_decode(pgwire::scram::random_nonce()).value();  // 18 bytes
  const auto byte = [&](std::size_t i) { return std::uint32_t{static_cast<unsigned char>(random[i])}; };
  const auto process_id =
      static_cast<std::int32_t>(((byte(0) << 24) | (byte(1) << 16) | (byte(2) << 8) | byte(3)) & 0x7fffffffU);
  pooled_->client_key = CancelRegistry::Key{process_id, random.substr(4, 4)};
  attach([self = shared_from_this(), server_final = std::move(server_final)] { self->send_login_answer(server_final); },
         true);
}

void Session::reroute_then_attach(std::function<void()> then) {
  const std::optional<RouteTarget> target = choose_target();
  const auto now = Clock::now();
  if (!target) {
    if (!pooled_->reroute_deadline) pooled_->reroute_deadline = now + shared_.config->limits.handshake_timeout;
    if (now + kRouteRetry >= *pooled_->reroute_deadline) {
      ++listener_.routing_failures;
      return fail("57P03",
                  fmt::format("pgstack-proxy: no {} member of cluster {} is available",
                              listener_.config->role == ListenerRole::kReadWrite ? "primary" : "readable",
                              listener_.cluster->name),
                  false);
    }
    listener_.router->poke();
    // The handshake timer is free once the session relays.
    handshake_timer_.expires_after(kRouteRetry);
    handshake_timer_.async_wait([self = shared_from_this(), then = std::move(then)](const error_code& ec) mutable {
      if (ec || self->phase_ != Phase::kRelay || self->failing_) return;
      self->reroute_then_attach(std::move(then));
    });
    return;
  }
  pooled_->reroute = false;
  pooled_->reroute_deadline.reset();
  if (member_counter_) --*member_counter_;
  target_ = *target;
  endpoint_ = ServerEndpoint{target->host,
                             static_cast<std::uint16_t>(int{target->postgres_port} + listener_.config->port_offset)};
  member_counter_ = listener_.router->connections().counter(target->member);
  ++*member_counter_;
  attach(std::move(then));
}

void Session::attach(std::function<void()> then, bool at_login) {
  if (pooled_->reroute) return reroute_then_attach(std::move(then));
  pool_.acquire(pool_target(), pooled_->keys, pool_limits(),
                [self = shared_from_this(), then = std::move(then), at_login](AcquireOutcome outcome) mutable {
                  if (self->phase_ == Phase::kClosed || self->failing_) {
                    // The client left while it waited: a connection fresh from a login or the idle list is clean.
                    if (outcome.connection) self->pool_.release(std::move(outcome.connection), false);
                    return;
                  }
                  if (!outcome.connection) return self->fail(outcome.sqlstate, outcome.message, false);
                  if (self->pooled_->reroute) {
                    // The member lost its role while this client waited for a connection to it: that
                    // connection is closed, and the transaction goes to the member now in the role.
                    self->pool_.discard(std::move(outcome.connection));
                    return self->reroute_then_attach(std::move(then));
                  }
                  self->pooled_->server = std::move(outcome.connection);
                  if (at_login) {
                    // What the client did not ask for is what a fresh connection has: the database's and
                    // user's defaults, not what an earlier client left on this one.
                    for (const auto& [lower, reported] : self->pooled_->server->login_parameters) {
                      if (tracked_setting(lower)) self->pooled_->settings.try_emplace(lower, reported.second);
                    }
                  }
                  self->sync_settings(std::move(then));
                });
}

void Session::sync_settings(std::function<void()> then) {
  ServerConnection& server = *pooled_->server;
  std::string sql;
  // The connection this client had last, untouched since: its settings are the client's already.
  if (server.last_client != id_) {
    std::map<std::string, std::string> current;
    for (const auto& [lower, reported] : server.parameters) current[lower] = reported.second;
    sql = settings_sync_sql(pooled_->settings, current);
    const std::string others = other_settings_sync_sql(pooled_->other_settings, server.other_settings);
    if (!others.empty()) sql += (sql.empty() ? "" : "; ") + others;
  }
  auto hand_over = [this, then = std::move(then)] {
    ServerConnection& held = *pooled_->server;
    held.last_client = id_;
    server_ = std::move(held.socket);
    server_address_ = held.address;
    shared_.cancels.add(pooled_->client_key, CancelRegistry::Target{held.address, held.backend_key});
    then();
  };
  if (sql.empty()) return hand_over();
  pool_.run_quietly(
      server, sql, [self = shared_from_this(), hand_over = std::move(hand_over)](const Result<bool>& applied) mutable {
        if (self->phase_ == Phase::kClosed || self->failing_) {
          if (self->pooled_->server) self->pool_.discard(std::move(self->pooled_->server));
          return;
        }
        if (!applied.ok()) {
          self->pool_.discard(std::move(self->pooled_->server));
          return self->fail("22023",
                            "pgstack-proxy: cannot apply the connection's settings: " + applied.error().message, false);
        }
        self->pooled_->server->other_settings = self->pooled_->other_settings;
        // Postgres may spell a value its own way (utf8 -> UTF8): take its spelling.
        for (auto& [name, value] : self->pooled_->settings) {
          const auto reported = self->pooled_->server->parameters.find(name);
          if (reported != self->pooled_->server->parameters.end()) value = reported->second.second;
        }
        hand_over();
      });
}

void Session::send_login_answer(const std::string& server_final) {
  reply_ = pgwire::encode_authentication(pgwire::AuthenticationKind::kSaslFinal, server_final);
  reply_ += pgwire::encode_authentication(pgwire::AuthenticationKind::kOk);
  for (const auto& [lower, reported] : pooled_->server->parameters) {
    reply_ += pgwire::encode_parameter_status(reported.first, reported.second);
  }
  const auto& key = pooled_->client_key;
  reply_ += pgwire::encode_backend_key_data(
      key.first,
      std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(key.second.data()), key.second.size()));
  reply_ += pgwire::encode_ready_for_query(pgwire::TransactionStatus::kIdle);
  client_write(reply_.data(), reply_.size(), [self = shared_from_this()](const error_code& ec, std::size_t size) {
    self->client_writing_ = false;
    if (self->phase_ != Phase::kAuthenticating || self->failing_) return;
    if (ec) return self->close();
    self->delta_.bytes_out += size;
    self->reply_ = std::string();  // a few hundred bytes an idle client need not keep
    self->phase_ = Phase::kRelay;
    self->handshake_timer_.cancel();
    ++self->delta_.sessions_total;
    ++(self->tls_ ? self->delta_.sessions_tls : self->delta_.sessions_plain);
    ++self->delta_.sessions_active;
    self->entry_ = self->shared_.stats->entry(
        StatsKey{self->listener_.cluster->name, self->listener_.config->name, self->database_, self->user_});
    self->flush_stats();
    self->last_activity_ = Clock::now();
    self->arm_idle_timer();
    self->read_client();
    self->maybe_release();
    if (self->pooled_->server) self->read_server();
  });
}

void Session::maybe_release() {
  if (!pooled() || !pooled_->server || phase_ != Phase::kRelay || failing_) return;
  if (pooled_->pool.mode != PoolMode::kTransaction) return;
  if (server_writing_ || pooled_->releasing || !may_release(pooled_->release)) return;
  if (!server_reading_) return release_server();
  // A read is waiting on the connection: it is cancelled, and its handler releases the connection
  // unless the server sent something meanwhile.
  pooled_->releasing = true;
  error_code ignored;
  server_.cancel(ignored);
}

void Session::release_server() {
  pooled_->server->socket = std::move(server_);
  shared_.cancels.remove(pooled_->client_key);
  pool_.release(std::move(pooled_->server), false);
}

void Session::drop_server() {
  if (!pooled() || !pooled_->server) return;
  shared_.cancels.remove(pooled_->client_key);
  if (!pooled_->server->socket.is_open()) pooled_->server->socket = std::move(server_);
  pool_.discard(std::move(pooled_->server));
}

// The read on a server connection was cancelled to give it back (end of a transaction, or of the session).
void Session::on_server_read_stopped(const error_code& ec, std::size_t size) {
  const bool returning = pooled_->returning;
  pooled_->releasing = false;
  pooled_->returning = false;
  if (returning) {
    if (ec == asio::error::operation_aborted && pooled_->server) {
      pooled_->server->socket = std::move(server_);
      const bool reset = pooled_->pool.mode == PoolMode::kSession || pooled_->release.pinned;
      pool_.release(std::move(pooled_->server), reset);
    } else {
      drop_server();
    }
    error_code ignored;
    server_.close(ignored);
    return;
  }
  if (phase_ != Phase::kRelay || failing_) return;
  if (ec == asio::error::operation_aborted) {
    // The client may have sent more meanwhile.
    if (!server_writing_ && may_release(pooled_->release)) return release_server();
    return read_server();
  }
  if (ec) return close();
  on_server_bytes(size);
}

// ---- Statistics --------------------------------------------------------------------------------------

void Session::record_query_start(std::vector<std::string> fingerprints) {
  if (pending_queries_.size() >= kMaxPendingQueries) return;
  pending_queries_.push_back(PendingQuery{Clock::now(), std::move(fingerprints)});
}

void Session::on_ready_for_query(pgwire::TransactionStatus status) {
  const auto now = Clock::now();
  if (!pending_queries_.empty()) {
    auto query = std::move(pending_queries_.front());
    pending_queries_.pop_front();
    const auto micros =
        static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(now - query.start).count());
    delta_.query_latency.record(micros);
    for (auto& fingerprint : query.fingerprints) {
      auto& stats = delta_.fingerprints[std::move(fingerprint)];
      ++stats.calls;
      stats.total_micros += micros;
    }
    if (transaction_status_ == pgwire::TransactionStatus::kIdle && status != pgwire::TransactionStatus::kIdle) {
      transaction_start_ = query.start;
    }
  }
  if (transaction_status_ != pgwire::TransactionStatus::kIdle && status == pgwire::TransactionStatus::kIdle) {
    delta_.transaction_latency.record(micros_since(transaction_start_));
    if (block_end_ == pgwire::CommandKind::kCommit)
      ++delta_.commits;
    else
      ++delta_.rollbacks;  // ROLLBACK, or a COMMIT of a failed block (its tag says ROLLBACK too)
  }
  block_end_.reset();
  transaction_status_ = status;
  if (!entry_)
    entry_ = shared_.stats->entry(StatsKey{listener_.cluster->name, listener_.config->name, database_, user_});
  flush_stats();
}

void Session::flush_stats() {
  if (entry_) entry_->flush(delta_);
}

// ---- Ending ------------------------------------------------------------------------------------------

void Session::fail(std::string_view sqlstate, std::string message, bool protocol_error) {
  if (failing_ || phase_ == Phase::kClosed) return;
  failing_ = true;
  if (protocol_error) ++listener_.protocol_errors;
  spdlog::debug("session {}: {}", id_, message);
  // No plaintext answer in the middle of a TLS handshake.
  if (tls_ && !tls_handshaken_) return close();
  drop_server();
  error_code ignored;
  server_.close(ignored);
  handshake_timer_.cancel();
  idle_timer_.cancel();
  reply_ = pgwire::encode_error_response("FATAL", sqlstate, message);
  if (client_writing_) {
    fatal_pending_ = true;  // written when the relay's current write completes
    return;
  }
  client_write(reply_.data(), reply_.size(), [self = shared_from_this()](const error_code&, std::size_t) {
    self->client_writing_ = false;
    self->close();
  });
}

void Session::close() {
  if (phase_ == Phase::kClosed) return;
  const bool was_relaying = phase_ == Phase::kRelay;
  phase_ = Phase::kClosed;
  error_code ignored;
  handshake_timer_.cancel();
  idle_timer_.cancel();
  if (pooled() && pooled_->server) {
    // Between statements the server connection goes back (reset in session mode, or after named
    // statements); in the middle of anything its state is unknown and it is closed.
    ReleaseState state = pooled_->release;
    state.pinned = false;
    if (was_relaying && !server_writing_ && !pooled_->terminate_after_forward && may_release(state)) {
      if (server_reading_) {
        pooled_->returning = true;  // the read handler hands it back once the read is cancelled
        server_.cancel(ignored);
      } else {
        pooled_->server->socket = std::move(server_);
        shared_.cancels.remove(pooled_->client_key);
        const bool reset = pooled_->pool.mode == PoolMode::kSession || pooled_->release.pinned;
        pool_.release(std::move(pooled_->server), reset);
      }
    } else {
      drop_server();
    }
  }
  if (!pooled() || !pooled_->returning) server_.close(ignored);
  client_.shutdown(tcp::socket::shutdown_both, ignored);
  client_.close(ignored);
  if (member_counter_) --*member_counter_;
  member_counter_.reset();
  if (was_relaying || entry_) {
    --delta_.sessions_active;
    // Never authenticated (a wrong password, a dropped connection): counted under one fixed key.
    if (!entry_)
      entry_ = shared_.stats->entry(StatsKey{listener_.cluster->name, listener_.config->name,
                                             std::string(kUnauthenticated), std::string(kUnauthenticated)});
    flush_stats();
  }
  if (backend_key_) shared_.cancels.remove(*backend_key_);
  if (listener_.mirror && was_relaying) listener_.mirror->submit(MirrorItem{MirrorItem::Kind::kEndSession, id_});
  if (counted_) --shared_.client_connections;
  counted_ = false;
  sessions_.remove(this);
}

}  // namespace pgstack::proxy
