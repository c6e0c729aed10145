#include "integration/proxy/pgbouncer_node.h"

#include <chrono>
#include <fstream>

#include <fmt/format.h>
#include <libpq-fe.h>

#include "common/process.h"
#include "support/child_process.h"

namespace pgstack::testing {
namespace {

constexpr const char* kPgbouncerBinary = "/usr/sbin/pgbouncer";

}  // namespace

Result<std::unique_ptr<PgbouncerNode>> PgbouncerNode::start(const std::filesystem::path& directory, int port,
                                                            int postgres_port) {
  std::unique_ptr<PgbouncerNode> node(new PgbouncerNode(directory, port));
  std::filesystem::create_directories(directory);
  {
    std::ofstream ini(directory / "pgbouncer.ini", std::ios::trunc);
    // Pool sizes above the tests' concurrency: a cancel must never wait for a free server connection.
    ini << "[databases]\n* = host=127.0.0.1 port=" << postgres_port << "\n\n[pgbouncer]\n"
        << "listen_addr = 127.0.0.1\nlisten_port = " << port << "\nunix_socket_dir = " << directory.string() << "\n"
        << "auth_type = trust\nauth_file = " << (directory / "userlist.txt").string() << "\n"
        << "pool_mode = session\nmax_client_conn = 1000\ndefault_pool_size = 200\n"
        << "ignore_startup_parameters = extra_float_digits\nserver_login_retry = 1\n";
    std::ofstream users(directory / "userlist.txt", std::ios::trunc);
    users << "\"postgres\" \"\"\n";
  }
  const auto user = unprivileged_service_user();
  std::vector<std::string> argv{kPgbouncerBinary};
  if (user) {
    // PgBouncer refuses to run as root; -u switches user in place, so the pid stays the child's.
    if (auto owned = run_command({"chown", "-R", *user, directory.string()}); !owned || owned->exit_code != 0) {
      return make_error(ErrorCode::kUnavailable, "cannot chown " + directory.string());
    }
    argv.insert(argv.end(), {"-u", *user});
  }
  argv.push_back((directory / "pgbouncer.ini").string());
  auto pid = spawn_child(argv, directory / "pgbouncer.log");
  RETURN_IF_ERROR(pid);
  node->pid_ = *pid;
  const std::string conninfo = node->conninfo();
  auto ready = wait_until_ready(node->pid_, "pgbouncer", fmt::format("127.0.0.1:{}", port), directory / "pgbouncer.log",
                                [&]() -> std::optional<std::string> {
                                  if (PQping(conninfo.c_str()) == PQPING_OK) return std::nullopt;
                                  return "not accepting connections";
                                });
  RETURN_IF_ERROR(ready);
  return node;
}

PgbouncerNode::~PgbouncerNode() {
  stop_child(pid_, std::chrono::seconds(5));
  std::error_code ignored;
  std::filesystem::remove_all(directory_, ignored);
}

bool PgbouncerNode::running() {
  if (pid_ <= 0) return false;
  if (!child_has_exited(pid_)) return true;
  pid_ = -1;
  return false;
}

std::string PgbouncerNode::log_tail() const { return file_tail(directory_ / "pgbouncer.log"); }

std::string PgbouncerNode::conninfo(const std::string& database, const std::string& user) const {
  return fmt::format("host=127.0.0.1 port={} dbname={} user={} connect_timeout=10 sslmode=disable", port_, database,
                     user);
}

}  // namespace pgstack::testing
