#include "proxy/proxy_server.h"

#include <list>
#include <map>
#include <set>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/socket_base.hpp>
#include <boost/asio/write.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include "common/http_server.h"
#include "pgwire/encoder.h"
#include "proxy/listener_runtime.h"
#include "proxy/session.h"

namespace pgstack::proxy {
namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

namespace {

using ReusePort = asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;

// How long a user's verifier is reused without asking Postgres again; a failed login forgets it at once.
constexpr auto kVerifierCacheTime = std::chrono::seconds(30);

struct Worker {
  SessionSet sessions;  // declared first: destroyed after the io_context that holds the sessions' handlers
  asio::io_context io{1};
  asio::executor_work_guard<asio::io_context::executor_type> guard = asio::make_work_guard(io);
  ServerPool pool{io};  // pooled listeners' server connections made on this worker
  std::list<tcp::acceptor> acceptors;
  std::thread thread;
};

}  // namespace

namespace {

Result<std::shared_ptr<asio::ssl::context>> make_tls_context(const TlsConfig& config) {
  auto context = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
  error_code ec;
  context->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                           asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1,
                       ec);
  context->use_certificate_chain_file(config.certificate, ec);
  if (ec) {
    return make_error(ErrorCode::kInvalidInput,
                      fmt::format("tls.certificate: cannot load {}: {}", config.certificate, ec.message()));
  }
  context->use_private_key_file(config.private_key, asio::ssl::context::pem, ec);
  if (ec) {
    return make_error(ErrorCode::kInvalidInput,
                      fmt::format("tls.private_key: cannot load {}: {}", config.private_key, ec.message()));
  }
  return context;
}

}  // namespace

Result<bool> TlsContextSource::load(const TlsConfig& config) {
  std::error_code error;
  const auto time = std::filesystem::last_write_time(config.certificate, error);
  auto context = make_tls_context(config);
  RETURN_IF_ERROR(context);
  std::lock_guard lock(mutex_);
  config_ = config;
  context_ = std::move(context).value();
  certificate_time_ = time;
  checked_ = std::chrono::steady_clock::now();
  return true;
}

std::shared_ptr<asio::ssl::context> TlsContextSource::current() {
  std::lock_guard lock(mutex_);
  const auto now = std::chrono::steady_clock::now();
  if (!config_ || now - checked_ < std::chrono::seconds(1)) return context_;
  checked_ = now;
  std::error_code error;
  const auto time = std::filesystem::last_write_time(config_->certificate, error);
  if (error || time == certificate_time_) return context_;
  // The key is renamed into place before the certificate: a new certificate has its key beside it.
  if (auto context = make_tls_context(*config_)) {
    context_ = std::move(context).value();
    certificate_time_ = time;
    spdlog::info("serving the renewed certificate {}", config_->certificate);
  } else {
    spdlog::warn("keeping the current certificate: {}", context.error().message);
  }
  return context_;
}

struct ProxyServer::Impl {
  ProxyConfig config;
  ProxyShared shared;
  std::vector<std::unique_ptr<ClusterRouter>> routers;
  std::map<std::string, RoutingSnapshot> fixed_routes;  // by cluster name
  std::list<ListenerRuntime> listeners;
  std::vector<std::unique_ptr<Worker>> workers;
  std::unique_ptr<HttpServer> admin;
  bool running = false;

  void accept(Worker& worker, tcp::acceptor& acceptor, ListenerRuntime& listener) {
    acceptor.async_accept(worker.io, [this, &worker, &acceptor, &listener](const error_code& ec, tcp::socket socket) {
      if (ec == asio::error::operation_aborted || !acceptor.is_open()) return;
      if (!ec) {
        ++listener.accepted;
        if (shared.client_connections.load() >= static_cast<std::int64_t>(config.limits.max_client_connections)) {
          ++listener.refused_max_connections;
          refuse(std::move(socket));
        } else {
          std::make_shared<Session>(std::move(socket), listener, shared, worker.sessions, worker.pool)->start();
        }
      } else {
        spdlog::warn("listener {}: accept failed: {}", listener.config->name, ec.message());
      }
      accept(worker, acceptor, listener);
    });
  }

  static void refuse(tcp::socket socket) {
    auto shared_socket = std::make_shared<tcp::socket>(std::move(socket));
    auto reply = std::make_shared<std::string>(
        pgwire::encode_error_response("FATAL", "53300", "pgstack-proxy: too many client connections"));
    asio::async_write(*shared_socket, asio::buffer(*reply), [shared_socket, reply](const error_code&, std::size_t) {
      error_code ignored;
      shared_socket->close(ignored);
    });
  }

  // Whether sessions of a listener may stay on `member` under a new snapshot.
  static bool may_stay(const ListenerRuntime& listener, const RoutingSnapshot& snapshot, const std::string& member) {
    if (listener.config->role == ListenerRole::kReadWrite) {
      return snapshot.primary_for_open_sessions && snapshot.primary_for_open_sessions->member == member;
    }
    // Reads may stay on a member that lags or became primary; not on one that left the cluster.
    bool known = snapshot.primary && snapshot.primary->member == member;
    for (const auto& replica : snapshot.replicas) known = known || replica.member == member;
    return known || snapshot.skipped.contains(member);
  }

  // A new snapshot: end sessions whose member lost the role they were routed for, and close the pooled
  // listeners' idle connections to it.
  void on_routes_changed(const std::string& cluster, const RoutingSnapshot& snapshot) {
    auto shared_snapshot = std::make_shared<RoutingSnapshot>(snapshot);
    for (auto& worker : workers) {
      asio::post(worker->io, [this, worker = worker.get(), cluster, shared_snapshot] {
        worker->sessions.for_each([&](Session& session) {
          const auto& listener = session.listener();
          if (listener.cluster->name != cluster || session.target_member().empty()) return;
          const auto& member = session.target_member();
          if (may_stay(listener, *shared_snapshot, member)) return;
          session.terminate_for_failover(
              listener.config->role == ListenerRole::kReadWrite
                  ? fmt::format("member {} is no longer the primary of cluster {}", member, cluster)
                  : fmt::format("member {} left cluster {}", member, cluster));
        });
        for (const auto& listener : listeners) {
          if (listener.cluster->name != cluster || !listener.config->pooling) continue;
          worker->pool.drop_idle(cluster + "/" + listener.config->name, [&](const std::string& member) {
            return may_stay(listener, *shared_snapshot, member);
          });
        }
      });
    }
  }

  HttpReply handle_admin(const HttpRequest& request) {
    if (request.method != "GET") return HttpReply{405, "text/plain", "only GET\n"};
    if (request.path == "/metrics") {
      return HttpReply{200, "text/plain; version=0.0.4", render_prometheus(view())};
    }
    if (request.path == "/stats") return HttpReply{200, "application/json", render_stats_json(view()).dump(2) + "\n"};
    if (request.path == "/healthz") {
      nlohmann::json clusters = nlohmann::json::object();
      for (const auto& router : routers) {
        const auto snapshot = router->snapshot();
        nlohmann::json replicas = nlohmann::json::array();
        for (const auto& replica : snapshot->replicas) replicas.push_back(replica.member);
        nlohmann::json skipped = nlohmann::json::object();
        for (const auto& [member, why] : snapshot->skipped) skipped[member] = why;
        clusters[router->name()] = {
            {"primary", snapshot->primary ? nlohmann::json(snapshot->primary->member) : nlohmann::json()},
            {"leader_key", snapshot->leader},
            {"replicas", replicas},
            {"skipped", skipped}};
      }
      return HttpReply{200, "application/json", nlohmann::json{{"status", "ok"}, {"clusters", clusters}}.dump() + "\n"};
    }
    if (request.path == "/outages") {
      nlohmann::json clusters = nlohmann::json::object();
      for (const auto& router : routers) clusters[router->name()] = router->outages();
      return HttpReply{200, "application/json", nlohmann::json{{"clusters", clusters}}.dump() + "\n"};
    }
    return HttpReply{404, "text/plain", "not found: try /metrics, /stats, /healthz or /outages\n"};
  }

  StatsView view() const {
    StatsView view;
    view.top_queries = config.stats.top_queries;
    view.entries = shared.stats->collect();
    for (const auto& listener : listeners) {
      ListenerCounters counters;
      counters.cluster = listener.cluster->name;
      counters.listener = listener.config->name;
      counters.role = std::string(listener_role_name(listener.config->role));
      counters.accepted = listener.accepted;
      counters.refused_max_connections = listener.refused_max_connections;
      counters.routing_failures = listener.routing_failures;
      counters.protocol_errors = listener.protocol_errors;
      counters.closed_by_failover = listener.closed_by_failover;
      counters.rerouted_by_failover = listener.rerouted_by_failover;
      counters.cancel_requests = listener.cancel_requests;
      if (listener.config->pooling) {
        counters.pooled = true;
        counters.pool_open = listener.pool.open;
        counters.pool_idle = listener.pool.idle;
        counters.pool_waiting = listener.pool.waiting;
        counters.pool_logins = listener.pool.logins;
        counters.pool_wait_timeouts = listener.pool.wait_timeouts;
        counters.pool_prepares_answered = listener.pool.prepares_answered;
      }
      if (listener.mirror) {
        counters.mirror_enabled = true;
        counters.mirrored = listener.mirror->mirrored();
        counters.mirror_dropped = listener.mirror->dropped();
        counters.mirror_errors = listener.mirror->errors();
      }
      view.listeners.push_back(std::move(counters));
    }
    for (const auto& router : routers) {
      const auto snapshot = router->snapshot();
      auto connections = router->connections().all();
      std::set<std::string> names;
      for (const auto& [name, count] : connections) names.insert(name);
      if (snapshot->primary) names.insert(snapshot->primary->member);
      for (const auto& replica : snapshot->replicas) names.insert(replica.member);
      for (const auto& [name, why] : snapshot->skipped) names.insert(name);
      for (const auto& name : names) {
        MemberGauge gauge{router->name(), name};
        gauge.primary = snapshot->primary && snapshot->primary->member == name;
        for (const auto& replica : snapshot->replicas) gauge.readable = gauge.readable || replica.member == name;
        gauge.active_connections = connections[name];
        view.members.push_back(std::move(gauge));
      }
    }
    return view;
  }

  Result<bool> bind_listener(ListenerRuntime& listener) {
    const auto& listen = listener.config->listen;
    error_code ec;
    const auto address = asio::ip::make_address(listen.host, ec);
    if (ec) {
      return make_error(ErrorCode::kInvalidInput,
                        fmt::format("listener {}: \"{}\" is not an IP address", listener.config->name, listen.host));
    }
    std::uint16_t port = listen.port;
    for (auto& worker : workers) {
      auto& acceptor = worker->acceptors.emplace_back(worker->io);
      const tcp::endpoint endpoint(address, port);
      acceptor.open(endpoint.protocol(), ec);
      if (!ec) acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
      if (!ec) acceptor.set_option(ReusePort(true), ec);
      if (!ec) acceptor.bind(endpoint, ec);
      if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
      if (ec) {
        return make_error(ErrorCode::kUnavailable,
                          fmt::format("listener {} of cluster {}: cannot listen on {}:{}: {}", listener.config->name,
                                      listener.cluster->name, listen.host, port, ec.message()));
      }
      port = acceptor.local_endpoint().port();  // port 0: the others join the one the first got
      accept(*worker, acceptor, listener);
    }
    listener.bound_port = port;
    return true;
  }
};

ProxyServer::ProxyServer(ProxyConfig config) : impl_(std::make_unique<Impl>()) {
  impl_->config = std::move(config);
  impl_->shared.config = &impl_->config;
  impl_->shared.stats = std::make_unique<StatsRegistry>(impl_->config.stats.max_fingerprints);
}

ProxyServer::~ProxyServer() { stop(); }

void ProxyServer::use_fixed_routes(const std::string& cluster, RoutingSnapshot snapshot) {
  impl_->fixed_routes[cluster] = std::move(snapshot);
}

Result<bool> ProxyServer::start() {
  auto& impl = *impl_;
  if (impl.config.tls) {
    RETURN_IF_ERROR(impl.shared.tls.load(*impl.config.tls));
  }

  const unsigned workers =
      impl.config.workers ? impl.config.workers : std::max(1u, std::thread::hardware_concurrency());
  for (unsigned i = 0; i < workers; ++i) impl.workers.push_back(std::make_unique<Worker>());
  impl.shared.workers = workers;

  for (const auto& cluster : impl.config.clusters) {
    impl.routers.push_back(std::make_unique<ClusterRouter>(
        cluster, impl.config.health, impl.config.etcd_endpoints, impl.config.etcd_prefix,
        [&impl](const std::string& name, const RoutingSnapshot& snapshot) { impl.on_routes_changed(name, snapshot); }));
    if (const auto fixed = impl.fixed_routes.find(cluster.name); fixed != impl.fixed_routes.end()) {
      impl.routers.back()->use_fixed_routes(fixed->second);
    }
    for (const auto& listener_config : cluster.listeners) {
      auto& listener = impl.listeners.emplace_back();
      listener.cluster = &cluster;
      listener.config = &listener_config;
      listener.router = impl.routers.back().get();
      if (listener_config.mirror) listener.mirror = std::make_unique<Mirror>(*listener_config.mirror);
      if (const auto& pooling = listener_config.pooling) {
        auto password = read_password_file(pooling->auth_password_file);
        if (!password.ok()) {
          stop();
          return make_error(password.error().code, fmt::format("cluster {}, listener {}: {}", cluster.name,
                                                               listener_config.name, password.error().message));
        }
        listener.auth = std::make_unique<AuthLookup>(pooling->auth_user, std::move(password).value(),
                                                     kVerifierCacheTime, impl.config.limits.connect_timeout);
      }
      if (auto bound = impl.bind_listener(listener); !bound) {
        stop();
        return bound.error();
      }
    }
  }

  impl.admin = std::make_unique<HttpServer>(impl.config.admin.host, impl.config.admin.port,
                                            [&impl](const HttpRequest& request) { return impl.handle_admin(request); });
  if (auto started = impl.admin->start(); !started) {
    stop();
    return make_error(started.error().code, "admin.listen: " + started.error().message);
  }

  for (auto& listener : impl.listeners) {
    if (listener.mirror) listener.mirror->start();
  }
  for (auto& router : impl.routers) router->start();
  for (auto& worker : impl.workers) {
    worker->thread = std::thread([worker = worker.get()] { worker->io.run(); });
  }
  impl.running = true;
  return true;
}

void ProxyServer::stop() {
  auto& impl = *impl_;
  if (impl.admin) impl.admin->stop();
  for (auto& worker : impl.workers) {
    asio::post(worker->io, [worker = worker.get()] {
      for (auto& acceptor : worker->acceptors) {
        error_code ignored;
        acceptor.close(ignored);
      }
    });
    worker->guard.reset();
    worker->io.stop();
  }
  for (auto& worker : impl.workers) {
    if (worker->thread.joinable()) worker->thread.join();
  }
  for (auto& router : impl.routers) router->stop();
  for (auto& listener : impl.listeners) {
    if (listener.mirror) listener.mirror->stop();
  }
  impl.workers.clear();  // destroys pending handlers and so the sessions they hold
  impl.running = false;
}

std::uint16_t ProxyServer::listener_port(const std::string& cluster, const std::string& listener) const {
  for (const auto& runtime : impl_->listeners) {
    if (runtime.cluster->name == cluster && runtime.config->name == listener) return runtime.bound_port;
  }
  return 0;
}

std::uint16_t ProxyServer::admin_port() const { return impl_->admin ? impl_->admin->port() : 0; }
StatsView ProxyServer::stats_view() const { return impl_->view(); }
const ProxyConfig& ProxyServer::config() const { return impl_->config; }

}  // namespace pgstack::proxy
