#include "integration/proxy/postgres_node.h"

#include <fstream>
#include <signal.h>

#include <fmt/format.h>

namespace pgstack::testing {
namespace {

CommandOptions as_postgres() {
  CommandOptions options;
  options.run_as_user = unprivileged_service_user();
  options.working_directory = "/tmp";
  return options;
}

Error command_error(const std::string& what, const CommandOutput& output) {
  return make_error(ErrorCode::kUnavailable, fmt::format("{} exited {}: {}{}", what, output.exit_code,
                                                         output.standard_output, output.standard_error));
}

Result<bool> run_ok(const std::string& what, const std::vector<std::string>& argv) {
  auto output = run_command(argv, as_postgres());
  RETURN_IF_ERROR(output);
  if (output->exit_code != 0) return command_error(what, output.value());
  return true;
}

void write_settings(const std::filesystem::path& directory, int port) {
  std::ofstream conf(directory / "postgresql.auto.conf", std::ios::app);
  conf << "port = " << port << "\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '" << directory.string()
       << "'\nmax_connections = 300\nwal_level = replica\nmax_wal_senders = 10\nhot_standby = on\n"
       << "shared_buffers = 32MB\nfsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
       << "password_encryption = 'scram-sha-256'\n";
}

}  // namespace

std::string postgres_bin(const std::string& program) { return "/usr/lib/postgresql/15/bin/" + program; }

Result<std::unique_ptr<PostgresNode>> PostgresNode::init_primary(const std::filesystem::path& directory, int port) {
  std::unique_ptr<PostgresNode> node(new PostgresNode(directory, port));
  if (auto done = run_ok("initdb", {postgres_bin("initdb"), "-D", directory.string(), "-U", "postgres", "--auth=trust",
                                    "--no-sync", "-E", "UTF8", "--locale=C"});
      !done) {
    return done.error();
  }
  {
    std::ofstream hba(directory / "pg_hba.conf", std::ios::trunc);
    hba << "local all all trust\nhost all scram_user 127.0.0.1/32 scram-sha-256\nhost all all 127.0.0.1/32 trust\n"
        << "local replication all trust\nhost replication all 127.0.0.1/32 trust\n";
  }
  write_settings(directory, port);
  RETURN_IF_ERROR(node->start());
  return node;
}

Result<std::unique_ptr<PostgresNode>> PostgresNode::init_replica(const PostgresNode& primary,
                                                                 const std::filesystem::path& directory, int port) {
  std::unique_ptr<PostgresNode> node(new PostgresNode(directory, port));
  if (auto done = run_ok("pg_basebackup", {postgres_bin("pg_basebackup"), "-h", "127.0.0.1", "-p",
                                           std::to_string(primary.port()), "-U", "postgres", "-D", directory.string(),
                                           "-R", "-X", "stream", "--no-sync", "--checkpoint=fast"});
      !done) {
    return done.error();
  }
  // The copied settings name the primary's port and socket directory; later lines win.
  write_settings(directory, port);
  RETURN_IF_ERROR(node->start());
  return node;
}

PostgresNode::~PostgresNode() {
  if (running_) (void)pg_ctl({"stop", "-m", "immediate"});
  std::error_code ignored;
  std::filesystem::remove_all(directory_, ignored);
}

Result<CommandOutput> PostgresNode::pg_ctl(const std::vector<std::string>& arguments) const {
  std::vector<std::string> argv{postgres_bin("pg_ctl"), "-D", directory_.string(), "-w", "-t", "60"};
  argv.insert(argv.end(), arguments.begin(), arguments.end());
  return run_command(argv, as_postgres());
}

Result<bool> PostgresNode::start() {
  auto output = pg_ctl({"-l", (directory_ / "server.log").string(), "start"});
  RETURN_IF_ERROR(output);
  if (output->exit_code != 0) return command_error("pg_ctl start", output.value());
  running_ = true;
  return true;
}

Result<bool> PostgresNode::stop() {
  auto output = pg_ctl({"stop", "-m", "fast"});
  RETURN_IF_ERROR(output);
  running_ = false;
  return true;
}

Result<bool> PostgresNode::promote() {
  auto output = pg_ctl({"promote"});
  RETURN_IF_ERROR(output);
  if (output->exit_code != 0) return command_error("pg_ctl promote", output.value());
  return true;
}

pid_t PostgresNode::postmaster_pid() const {
  std::ifstream pid_file(directory_ / "postmaster.pid");
  pid_t pid = -1;
  pid_file >> pid;
  return pid;
}

Result<bool> PostgresNode::kill_hard() {
  const pid_t pid = postmaster_pid();
  if (pid <= 0) return make_error(ErrorCode::kNotFound, "no postmaster.pid");
  // Children first (by parent id): once the postmaster is gone they are re-parented out of reach.
  (void)run_command({"pkill", "-9", "-P", std::to_string(pid)});
  ::kill(pid, SIGKILL);
  running_ = false;
  return true;
}

std::string PostgresNode::conninfo(const std::string& database, const std::string& user) const {
  return fmt::format("host=127.0.0.1 port={} dbname={} user={} connect_timeout=10", port_, database, user);
}

Result<CommandOutput> PostgresNode::psql(const std::string& sql, const std::string& database) const {
  return run_command({"psql", "-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1", "-d", conninfo(database), "-c", sql});
}

FakePatroni::FakePatroni() : server_("127.0.0.1", 0, [this](const HttpRequest& request) { return handle(request); }) {}

Result<bool> FakePatroni::start() { return server_.start(); }

std::string FakePatroni::api_url() const { return fmt::format("http://127.0.0.1:{}/patroni", server_.port()); }

HttpReply FakePatroni::handle(const HttpRequest& request) const {
  const Role role = role_.load();
  if (request.path == "/primary" || request.path == "/master") {
    return HttpReply{role == Role::kPrimary ? 200 : 503, "application/json", "{}"};
  }
  if (request.path == "/replica") {
    const bool ok = role == Role::kReplica && !(lagging_ && request.query.contains("lag"));
    return HttpReply{ok ? 200 : 503, "application/json", "{}"};
  }
  if (request.path == "/patroni") {
    return HttpReply{
        role == Role::kDown ? 503 : 200, "application/json",
        role == Role::kPrimary ? R"({"role":"master","state":"running"})" : R"({"role":"replica","state":"running"})"};
  }
  return HttpReply{404, "text/plain", ""};
}

}  // namespace pgstack::testing
