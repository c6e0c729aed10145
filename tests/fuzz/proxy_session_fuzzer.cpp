// libFuzzer target: pgstack-proxy's sessions end to end, over real sockets. On the first input a real
// ProxyServer starts in-process (one worker, TLS on, one read-write listener on 127.0.0.1:0) whose
// cluster is routed by a fixed snapshot to a stand-in backend on loopback; the stand-in answers a
// startup like Postgres (AuthenticationOk, ParameterStatus, BackendKeyData, ReadyForQuery) and each
// later client message with the next chunk of backend bytes from the input. Each input is one
// conversation on this one thread: connect, write, wait for an answer or a quiet moment, close.
//
// Input: byte 0 flags, then records [kind u8][length u16 big-endian][bytes] (a short last record takes
// what is left). kind % 4: 0 the client writes the bytes on its connection, then waits for an answer;
// 1 a chunk the backend sends (in order, one per client message after the startup); 2 the client
// writes the bytes on a second connection (opened by the first such record: CancelRequest, a second
// session); 3 a pause until quiet. Flags: bit 0 the client makes a TLS handshake when an SSLRequest is
// answered 'S' (and then speaks TLS); bit 1 the backend closes its connection once its chunks are
// sent; bit 2 the first chunk replaces the backend's greeting.
//
// Invariants: no crash or sanitizer report; every input ends with the process's descriptors and
// threads back to what they were (no session left behind); with one session, the client receives the
// backend's bytes unchanged (after the negotiation answers), followed at most by one ErrorResponse of
// the proxy, and the backend receives a contiguous run of what the client sent.
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <dirent.h>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <poll.h>
#include <string>
#include <string_view>
#include <unistd.h>
#include <vector>

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include "pgwire/encoder.h"
#include "proxy/proxy_server.h"

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
namespace proxy = pgstack::proxy;
namespace pgwire = pgstack::pgwire;

constexpr std::int32_t kBackendProcessId = 4242;
constexpr std::uint32_t kBackendSecret = 0x5ec2e75d;
constexpr std::uint32_t kCancelCode = 80877102;
constexpr std::uint32_t kSslCode = 80877103;
constexpr std::uint32_t kGssencCode = 80877104;
constexpr auto kFirstEventWait = 2ms;         // how long a step waits for anything to happen
constexpr auto kSettle = 300us;               // a quiet moment after the last event ends a step
constexpr auto kConversationDeadline = 60ms;  // the whole conversation, whatever happens
constexpr auto kCleanupDeadline = 5s;         // for the proxy to close what the input opened

[[noreturn]] void violated(const char* what) {
  std::fprintf(stderr, "proxy_session_fuzzer: %s\n", what);
  std::abort();
}

void check(bool condition, const char* what) {
  if (!condition) violated(what);
}

std::uint32_t read_u32(std::string_view bytes, std::size_t at) {
  return (std::uint32_t{static_cast<std::uint8_t>(bytes[at])} << 24) |
         (std::uint32_t{static_cast<std::uint8_t>(bytes[at + 1])} << 16) |
         (std::uint32_t{static_cast<std::uint8_t>(bytes[at + 2])} << 8) | static_cast<std::uint8_t>(bytes[at + 3]);
}

// ---- Input --------------------------------------------------------------------------------------------

enum class RecordKind { kClient, kServer, kSecondClient, kPause };

struct Record {
  RecordKind kind;
  std::string bytes;
};

struct Input {
  bool tls = false;
  bool backend_closes = false;
  bool raw_greeting = false;
  std::vector<Record> records;
};

Input parse_input(const std::uint8_t* data, std::size_t size) {
  Input input;
  if (size == 0) return input;
  input.tls = (data[0] & 1) != 0;
  input.backend_closes = (data[0] & 2) != 0;
  input.raw_greeting = (data[0] & 4) != 0;
  std::size_t pos = 1;
  while (pos < size) {
    const auto kind = static_cast<RecordKind>(data[pos] % 4);
    std::size_t length = 0;
    if (pos + 1 < size) length = std::size_t{data[pos + 1]} << 8;
    if (pos + 2 < size) length |= data[pos + 2];
    pos = std::min(size, pos + 3);
    length = std::min(length, size - pos);
    input.records.push_back(Record{kind, std::string(reinterpret_cast<const char*>(data + pos), length)});
    pos += length;
  }
  return input;
}

// ---- Process-wide setup -------------------------------------------------------------------------------

// What each descriptor is ("socket:[123]", a path...), by number.
std::vector<std::string> open_descriptors() {
  std::vector<std::string> out;
  DIR* directory = ::opendir("/proc/self/fd");
  if (!directory) violated("cannot list /proc/self/fd");
  const int own = ::dirfd(directory);
  while (const dirent* entry = ::readdir(directory)) {
    if (entry->d_name[0] == '.' || std::atoi(entry->d_name) == own) continue;
    char target[256] = {};
    const auto length = ::readlinkat(own, entry->d_name, target, sizeof(target) - 1);
    out.push_back(std::string(entry->d_name) + " -> " + (length > 0 ? std::string(target, length) : "?"));
  }
  ::closedir(directory);
  std::sort(out.begin(), out.end());
  return out;
}

std::size_t running_threads() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("Threads:", 0) == 0) return std::stoul(line.substr(8));
  }
  violated("cannot read the thread count");
}

// True when every thread but this one sleeps (a worker blocks in epoll_wait only once it has run every
// handler it had queued: the sessions of a finished conversation are then destroyed).
bool other_threads_asleep() {
  const std::string self = std::to_string(::gettid());
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
    if (task.path().filename() == self) continue;
    std::ifstream file(task.path() / "stat");
    std::string stat((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
    const auto name_end = stat.rfind(')');
    if (name_end != std::string::npos && name_end + 2 < stat.size() && stat[name_end + 2] != 'S') return false;
  }
  return true;
}

void set_nonblocking(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK); }

// A self-signed P-256 certificate for the proxy's TLS, written as PEM files.
void write_certificate(const std::string& certificate_path, const std::string& key_path) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* certificate = X509_new();
  check(key && certificate, "cannot make a key");
  ASN1_INTEGER_set(X509_get_serialNumber(certificate), 1);
  X509_gmtime_adj(X509_getm_notBefore(certificate), 0);
  X509_gmtime_adj(X509_getm_notAfter(certificate), 7 * 86400);
  X509_set_pubkey(certificate, key);
  X509_NAME* name = X509_get_subject_name(certificate);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("127.0.0.1"), -1, -1, 0);
  X509_set_issuer_name(certificate, name);
  check(X509_sign(certificate, key, EVP_sha256()) > 0, "cannot sign the certificate");
  FILE* file = std::fopen(certificate_path.c_str(), "w");
  check(file && PEM_write_X509(file, certificate) == 1, "cannot write the certificate");
  std::fclose(file);
  file = std::fopen(key_path.c_str(), "w");
  check(file && PEM_write_PrivateKey(file, key, nullptr, nullptr, 0, nullptr, nullptr) == 1, "cannot write the key");
  std::fclose(file);
  X509_free(certificate);
  EVP_PKEY_free(key);
}

struct Environment {
  int backend_listener = -1;
  std::uint16_t proxy_port = 0;
  SSL_CTX* client_tls = nullptr;
  proxy::ProxyServer* proxy = nullptr;  // never destroyed: it runs until the process exits
};

Environment make_environment() {
  Environment env;
  std::signal(SIGPIPE, SIG_IGN);
  spdlog::set_level(spdlog::level::off);

  env.backend_listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  check(::bind(env.backend_listener, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0 &&
            ::listen(env.backend_listener, 64) == 0 &&
            ::getsockname(env.backend_listener, reinterpret_cast<sockaddr*>(&address), &length) == 0,
        "cannot listen for the backend");
  set_nonblocking(env.backend_listener);

  char pattern[] = "/tmp/proxy-session-fuzzer-XXXXXX";
  check(::mkdtemp(pattern) != nullptr, "cannot make a temporary directory");
  const std::filesystem::path directory = pattern;
  write_certificate(directory / "proxy.crt", directory / "proxy.key");

  proxy::ProxyConfig config;
  config.workers = 1;
  config.admin = {"127.0.0.1", 0};
  config.health.patroni_rest = false;
  config.limits.connect_timeout = 1000ms;
  config.limits.handshake_timeout = 2000ms;
  config.tls = proxy::TlsConfig{directory / "proxy.crt", directory / "proxy.key"};
  proxy::ClusterConfig cluster;
  cluster.name = "fuzz";
  cluster.dcs_prefix = "/fuzz/";
  proxy::ListenerConfig listener;
  listener.name = "rw";
  listener.role = proxy::ListenerRole::kReadWrite;
  listener.listen = {"127.0.0.1", 0};
  cluster.listeners.push_back(listener);
  config.clusters.push_back(cluster);

  env.proxy = new proxy::ProxyServer(std::move(config));
  proxy::RoutingSnapshot routes;
  routes.primary = proxy::RouteTarget{"m0", "127.0.0.1", ntohs(address.sin_port)};
  routes.leader = "m0";
  env.proxy->use_fixed_routes("fuzz", routes);
  const auto started = env.proxy->start();
  if (!started) {
    std::fprintf(stderr, "proxy_session_fuzzer: the proxy did not start: %s\n", started.error().message.c_str());
    std::abort();
  }
  std::filesystem::remove_all(directory);
  env.proxy_port = env.proxy->listener_port("fuzz", "rw");

  env.client_tls = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_verify(env.client_tls, SSL_VERIFY_NONE, nullptr);
  SSL_CTX_set_mode(env.client_tls, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  return env;
}

Environment& environment() {
  static Environment env = make_environment();
  return env;
}

// ---- One conversation ---------------------------------------------------------------------------------

struct ClientConnection {
  int fd = -1;
  SSL* tls = nullptr;
  bool closed = false;
  bool awaiting_ssl_answer = false;  // the last bytes written were an SSLRequest
  std::string sent;                  // what the client wrote (plaintext, TLS or not)
  std::string received;              // what it read (plaintext)
  std::string unsent;                // waiting for the socket (or TLS) to take it
};

struct BackendConnection {
  int fd = -1;
  bool started = false;  // the startup packet was read
  bool closing = false;  // close once `unsent` is written
  std::string buffered;  // read, not yet a whole packet
  std::string received;  // everything read
  std::string sent;      // everything written
  std::string unsent;
};

class Conversation {
 public:
  // What was open before (libFuzzer's symbolizer may have opened pipes since the last input).
  Conversation(Environment& env, Input input)
      : env_(env), input_(std::move(input)), descriptors_(open_descriptors()), threads_(running_threads()) {
    for (const auto& record : input_.records) {
      if (record.kind == RecordKind::kServer) chunks_.push_back(record.bytes);
    }
  }
  ~Conversation() { close_all(); }
  Conversation(const Conversation&) = delete;
  Conversation& operator=(const Conversation&) = delete;

  void run() {
    main_.fd = connect_to_proxy();
    for (const auto& record : input_.records) {
      if (Clock::now() >= deadline_) break;
      switch (record.kind) {
        case RecordKind::kClient: client_write(main_, record.bytes); break;
        case RecordKind::kSecondClient:
          if (second_.fd < 0 && !second_.closed) second_.fd = connect_to_proxy();
          client_write(second_, record.bytes);
          break;
        case RecordKind::kServer: continue;
        case RecordKind::kPause: break;
      }
      step();
    }
    step();
    if (std::getenv("PROXY_SESSION_FUZZER_TRACE")) trace();
    check_relay();
  }

  // Closes this side and waits until the proxy closed its side of everything.
  void finish() {
    close_all();
    const auto deadline = Clock::now() + kCleanupDeadline;
    while (true) {
      drain_backend_listener();
      const auto descriptors = open_descriptors();
      const bool closed = descriptors.size() <= descriptors_.size();
      if (closed && other_threads_asleep()) break;
      if (Clock::now() >= deadline && closed) violated("a proxy thread stays busy after the conversation");
      if (Clock::now() >= deadline) {
        for (const auto& descriptor : descriptors) {
          if (!std::binary_search(descriptors_.begin(), descriptors_.end(), descriptor)) {
            std::fprintf(stderr, "proxy_session_fuzzer: descriptor left open: %s\n", descriptor.c_str());
          }
        }
        violated("the proxy kept descriptors of a finished conversation");
      }
      pollfd listener{env_.backend_listener, POLLIN, 0};
      const timespec pause{0, 100'000};
      ::ppoll(&listener, 1, &pause, nullptr);
    }
    check(running_threads() == threads_, "the thread count changed");
  }

 private:
  int connect_to_proxy() {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(env_.proxy_port);
    int result = ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address));
    if (result != 0 && errno == EINTR) {
      // libFuzzer's timeout alarm (SIGALRM) interrupted a connect that had to wait (a loaded machine): the
      // handshake goes on in the kernel; wait for it to end and read how it ended.
      pollfd writable{fd, POLLOUT, 0};
      while (::poll(&writable, 1, 10'000) < 0 && errno == EINTR) {
      }
      int error = 0;
      socklen_t length = sizeof(error);
      result = ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) == 0 && error == 0 ? 0 : -1;
      if (error != 0) errno = error;
    }
    if (result != 0) {
      std::fprintf(stderr, "proxy_session_fuzzer: cannot connect to the proxy: %s\n", std::strerror(errno));
      std::abort();
    }
    const int on = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
    set_nonblocking(fd);
    return fd;
  }

  void client_write(ClientConnection& client, const std::string& bytes) {
    if (client.fd < 0 || client.closed || bytes.empty()) return;
    client.sent += bytes;
    client.unsent += bytes;
    client.awaiting_ssl_answer = client.tls == nullptr && bytes == pgwire::encode_ssl_request();
    flush(client);
  }

  void flush(ClientConnection& client) {
    while (!client.unsent.empty() && !client.closed) {
      if (client.tls) {
        const int written = SSL_write(client.tls, client.unsent.data(), static_cast<int>(client.unsent.size()));
        if (written <= 0) {
          const int error = SSL_get_error(client.tls, written);
          if (error != SSL_ERROR_WANT_WRITE && error != SSL_ERROR_WANT_READ) close_client(client);
          ERR_clear_error();
          return;
        }
        client.unsent.erase(0, static_cast<std::size_t>(written));
      } else {
        const auto written = ::send(client.fd, client.unsent.data(), client.unsent.size(), MSG_NOSIGNAL);
        if (written < 0) {
          if (errno != EAGAIN && errno != EWOULDBLOCK) close_client(client);
          return;
        }
        client.unsent.erase(0, static_cast<std::size_t>(written));
      }
    }
  }

  // Reads what is there; true when something happened.
  bool client_read(ClientConnection& client) {
    bool progressed = false;
    char buffer[16384];
    while (!client.closed) {
      if (client.tls) {
        const int got = SSL_read(client.tls, buffer, sizeof(buffer));
        if (got <= 0) {
          const int error = SSL_get_error(client.tls, got);
          ERR_clear_error();
          if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) return progressed;
          close_client(client);
          return true;
        }
        client.received.append(buffer, static_cast<std::size_t>(got));
        progressed = true;
        continue;
      }
      // Plaintext: read the answer to an SSLRequest alone, so that a TLS handshake can follow it.
      const std::size_t want = client.awaiting_ssl_answer ? 1 : sizeof(buffer);
      const auto got = ::recv(client.fd, buffer, want, 0);
      if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return progressed;
      if (got <= 0) {
        close_client(client);
        return true;
      }
      client.received.append(buffer, static_cast<std::size_t>(got));
      progressed = true;
      if (client.awaiting_ssl_answer) {
        client.awaiting_ssl_answer = false;
        if (buffer[0] == 'S' && input_.tls && &client == &main_) start_tls(client);
      }
    }
    return progressed;
  }

  void start_tls(ClientConnection& client) {
    client.tls = SSL_new(env_.client_tls);
    SSL_set_fd(client.tls, client.fd);
    while (true) {
      const int done = SSL_connect(client.tls);
      if (done == 1) return;
      const int error = SSL_get_error(client.tls, done);
      ERR_clear_error();
      const auto now = Clock::now();
      if ((error != SSL_ERROR_WANT_READ && error != SSL_ERROR_WANT_WRITE) || now >= deadline_) {
        close_client(client);
        return;
      }
      pollfd wait{client.fd, static_cast<short>(error == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT), 0};
      const auto left = std::chrono::duration_cast<std::chrono::nanoseconds>(deadline_ - now);
      const timespec timeout{0, static_cast<long>(left.count())};
      ::ppoll(&wait, 1, &timeout, nullptr);
    }
  }

  void close_client(ClientConnection& client) {
    if (client.tls) SSL_free(client.tls);
    client.tls = nullptr;
    if (client.fd >= 0) ::close(client.fd);
    client.fd = -1;
    client.closed = true;
    client.unsent.clear();
  }

  void close_backend(BackendConnection& backend) {
    if (backend.fd >= 0) ::close(backend.fd);
    backend.fd = -1;
  }

  void close_all() {
    close_client(main_);
    close_client(second_);
    for (auto& backend : backends_) close_backend(backend);
  }

  void drain_backend_listener() {
    while (true) {
      const int fd = ::accept4(env_.backend_listener, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) return;
      ::close(fd);
    }
  }

  void backend_send(BackendConnection& backend, std::string_view bytes) {
    backend.sent += bytes;
    backend.unsent += bytes;
    backend_flush(backend);
  }

  void backend_flush(BackendConnection& backend) {
    while (!backend.unsent.empty() && backend.fd >= 0) {
      const auto written = ::send(backend.fd, backend.unsent.data(), backend.unsent.size(), MSG_NOSIGNAL);
      if (written < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK) close_backend(backend);
        return;
      }
      backend.unsent.erase(0, static_cast<std::size_t>(written));
    }
    if (backend.closing && backend.unsent.empty()) close_backend(backend);
  }

  std::string greeting() const {
    return pgwire::encode_authentication(pgwire::AuthenticationKind::kOk) +
           pgwire::encode_parameter_status("server_version", "16.4") +
           pgwire::encode_parameter_status("client_encoding", "UTF8") +
           pgwire::encode_backend_key_data(kBackendProcessId, kBackendSecret) +
           pgwire::encode_ready_for_query(pgwire::TransactionStatus::kIdle);
  }

  // Like Postgres, as far as the proxy can tell: answers a startup, then each message with a chunk.
  void backend_read(BackendConnection& backend) {
    char buffer[16384];
    while (backend.fd >= 0) {
      const auto got = ::recv(backend.fd, buffer, sizeof(buffer), 0);
      if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
      if (got <= 0) {
        close_backend(backend);
        return;
      }
      backend.received.append(buffer, static_cast<std::size_t>(got));
      backend.buffered.append(buffer, static_cast<std::size_t>(got));
    }
    while (backend.fd >= 0 && !backend.closing) {
      std::string_view packet = backend.buffered;
      if (!backend.started) {
        if (packet.size() < 8) return;
        const std::uint32_t length = read_u32(packet, 0);
        if (length < 8 || length > 10000) return close_backend(backend);
        if (packet.size() < length) return;
        const std::uint32_t code = read_u32(packet, 4);
        backend.buffered.erase(0, length);
        if (code == kCancelCode) return close_backend(backend);
        if (code == kSslCode || code == kGssencCode) {
          backend_send(backend, "N");
          continue;
        }
        backend.started = true;
        ++startups_;
        if (startups_ == 1) session_backend_ = &backend - backends_.data();
        if (input_.raw_greeting && !chunks_.empty()) {
          backend_send(backend, chunks_.front());
          chunks_.pop_front();
        } else {
          backend_send(backend, greeting());
        }
      } else {
        if (packet.size() < 5) return;
        const std::uint32_t length = read_u32(packet, 1);
        if (length < 4 || length > (1u << 30)) return close_backend(backend);
        if (packet.size() < std::size_t{length} + 1) return;
        const char type = packet[0];
        backend.buffered.erase(0, std::size_t{length} + 1);
        if (type == 'X') return close_backend(backend);
        if (!chunks_.empty()) {
          backend_send(backend, chunks_.front());
          chunks_.pop_front();
        }
      }
      if (input_.backend_closes && chunks_.empty()) {
        backend.closing = true;
        backend_flush(backend);
      }
    }
  }

  // Runs the sockets until a quiet moment after the last event (or none within kFirstEventWait).
  void step() {
    auto last_event = Clock::now();
    bool any_event = false;
    while (true) {
      const auto now = Clock::now();
      if (now >= deadline_ || (main_.closed && (second_.fd < 0 || second_.closed))) return;
      const auto quiet_until = any_event ? last_event + kSettle : last_event + kFirstEventWait;
      if (now >= quiet_until) return;

      std::vector<pollfd> fds;
      std::vector<ClientConnection*> clients;
      for (ClientConnection* client : {&main_, &second_}) {
        if (client->fd < 0 || client->closed) continue;
        fds.push_back({client->fd, static_cast<short>(POLLIN | (client->unsent.empty() ? 0 : POLLOUT)), 0});
        clients.push_back(client);
      }
      fds.push_back({env_.backend_listener, POLLIN, 0});
      std::vector<std::size_t> backends;
      for (std::size_t i = 0; i < backends_.size(); ++i) {
        if (backends_[i].fd < 0) continue;
        fds.push_back({backends_[i].fd, static_cast<short>(POLLIN | (backends_[i].unsent.empty() ? 0 : POLLOUT)), 0});
        backends.push_back(i);
      }
      const auto wait = std::chrono::duration_cast<std::chrono::nanoseconds>(std::min(quiet_until, deadline_) - now);
      const timespec timeout{static_cast<time_t>(wait.count() / 1'000'000'000),
                             static_cast<long>(wait.count() % 1'000'000'000)};
      if (::ppoll(fds.data(), fds.size(), &timeout, nullptr) <= 0) continue;

      bool progressed = false;
      std::size_t at = 0;
      for (ClientConnection* client : clients) {
        const short events = fds[at++].revents;
        if (events & POLLOUT) flush(*client);
        if (events & (POLLIN | POLLHUP | POLLERR)) progressed = client_read(*client) || progressed;
        if (events) progressed = true;
      }
      if (fds[at++].revents & POLLIN) {
        const int fd = ::accept4(env_.backend_listener, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd >= 0) {
          backends_.push_back(BackendConnection{fd});
          progressed = true;
        }
      }
      for (const std::size_t index : backends) {
        const short events = fds[at++].revents;
        if (!events) continue;
        progressed = true;
        // backends_ does not grow below: the references stay valid.
        if (events & POLLOUT) backend_flush(backends_[index]);
        if (events & (POLLIN | POLLHUP | POLLERR)) backend_read(backends_[index]);
      }
      if (progressed) {
        any_event = true;
        last_event = Clock::now();
      }
    }
  }

  // PROXY_SESSION_FUZZER_TRACE=1: what each side sent and received, to read a reproducer.
  void trace() const {
    const auto show = [](std::string_view bytes) {
      std::string out;
      for (const char c : bytes.substr(0, 400)) {
        out += c >= 32 && c < 127 ? std::string(1, c) : fmt::format("\\x{:02x}", static_cast<std::uint8_t>(c));
      }
      return out + (bytes.size() > 400 ? "..." : "");
    };
    for (const auto* client : {&main_, &second_}) {
      std::fprintf(stderr, "%s client: sent %zu, received %zu%s%s\n  sent: %s\n  received: %s\n",
                   client == &main_ ? "main" : "second", client->sent.size(), client->received.size(),
                   client->tls ? ", TLS" : "", client->closed ? ", closed by the proxy" : "",
                   show(client->sent).c_str(), show(client->received).c_str());
    }
    for (const auto& backend : backends_) {
      std::fprintf(stderr, "backend: %s%s\n  received: %s\n  sent: %s\n", backend.started ? "session" : "other",
                   backend.fd < 0 ? ", closed" : "", show(backend.received).c_str(), show(backend.sent).c_str());
    }
  }

  // With one session: the client gets the backend's bytes unchanged, after the negotiation answers and
  // before at most one ErrorResponse of the proxy; the backend gets a contiguous run of the client's.
  void check_relay() {
    if (second_.fd >= 0 || second_.closed || startups_ != 1 || input_.raw_greeting) return;
    const BackendConnection& backend = backends_[session_backend_];

    std::string_view received = main_.received;
    while (!received.empty() && (received[0] == 'N' || received[0] == 'S')) received.remove_prefix(1);
    const std::string_view sent = backend.sent;
    std::size_t common = 0;
    while (common < received.size() && common < sent.size() && received[common] == sent[common]) ++common;
    bool relayed = common == received.size();
    for (std::size_t split = common + 1; split-- > 0 && !relayed;) {
      const std::string_view rest = received.substr(split);
      if (rest[0] != 'E') continue;
      if (rest.size() < 5) {
        relayed = true;
        continue;
      }
      const std::size_t length = read_u32(rest, 1);
      relayed = rest.size() <= length + 1 && (rest.size() < length + 1 || rest.back() == '\0');
    }
    check(relayed, "the client did not receive the backend's bytes unchanged");

    const std::string_view client = main_.sent;
    const std::string_view forwarded = backend.received;
    bool contiguous = client.substr(0, forwarded.size()) == forwarded;
    const std::string ssl_request = pgwire::encode_ssl_request();
    const std::string gssenc_request = pgwire::encode_gssenc_request();
    for (std::size_t at = 0; at + 8 <= client.size() && !contiguous; ++at) {
      const std::string_view request = client.substr(at, 8);
      if (request != ssl_request && request != gssenc_request) continue;
      contiguous = client.substr(at + 8, forwarded.size()) == forwarded;
    }
    check(contiguous, "the backend did not receive a contiguous run of the client's bytes");
  }

  Environment& env_;
  const Input input_;
  const std::vector<std::string> descriptors_;
  const std::size_t threads_;
  const Clock::time_point deadline_ = Clock::now() + kConversationDeadline;
  std::deque<std::string> chunks_;
  ClientConnection main_;
  ClientConnection second_;
  std::vector<BackendConnection> backends_;
  std::size_t session_backend_ = 0;
  int startups_ = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Environment& env = environment();
  Conversation conversation(env, parse_input(data, size));
  conversation.run();
  conversation.finish();
  return 0;
}
