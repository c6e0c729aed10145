#include "integration/logs/log_servers.h"

#include <chrono>
#include <fstream>
#include <unistd.h>

#include <sys/stat.h>

#include "common/files.h"
#include "common/network.h"
#include "common/pki.h"
#include "common/process.h"
#include "logs/log_store_plan.h"

namespace pgstack::testing {

namespace fs = std::filesystem;

void append_postgres_settings(const fs::path& data, const std::string& settings) {
  std::ofstream conf(data / "postgresql.auto.conf", std::ios::app);
  conf << settings;
}

LogServers::~LogServers() {
  store.reset();
  source.reset();
  std::error_code ignored;
  if (!root.empty()) fs::remove_all(root, ignored);
}

Result<std::unique_ptr<LogServers>> start_log_servers(const std::string& source_settings) {
  auto servers = std::make_unique<LogServers>();
  char pattern[] = "/tmp/pgstack-logship-XXXXXX";
  if (::mkdtemp(pattern) == nullptr) return make_error(ErrorCode::kInternal, "mkdtemp failed");
  servers->root = pattern;
  ASSIGN_OR_RETURN(auto chown, run_command({"chown", "postgres:postgres", servers->root.string()}));
  if (chown.exit_code != 0) return make_error(ErrorCode::kInternal, "chown of the temp directory failed");

  // The store, with TLS as the shipper requires: a CA and a certificate for 127.0.0.1.
  const fs::path store_data = servers->root / "store";
  ASSIGN_OR_RETURN(const int store_port, free_tcp_port());
  ASSIGN_OR_RETURN(servers->store, PostgresNode::init_primary(store_data, store_port));
  ASSIGN_OR_RETURN(auto ca, pki::create_ca("logship test CA"));
  ASSIGN_OR_RETURN(auto leaf, pki::issue_certificate(ca, pki::LeafRequest{"127.0.0.1", {}, {"127.0.0.1"}}));
  RETURN_IF_ERROR(write_file_atomically(servers->root / "ca.crt", ca.certificate_pem));
  RETURN_IF_ERROR(write_file_atomically(store_data / "server.crt", leaf.certificate_pem));
  RETURN_IF_ERROR(write_file_atomically(store_data / "server.key", leaf.private_key_pem));
  ::chmod((store_data / "server.key").c_str(), 0600);
  ASSIGN_OR_RETURN(auto owned, run_command({"chown", "postgres:postgres", (store_data / "server.crt").string(),
                                            (store_data / "server.key").string()}));
  if (owned.exit_code != 0) return make_error(ErrorCode::kInternal, "chown of the store's certificate failed");
  append_postgres_settings(store_data, "ssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n");
  RETURN_IF_ERROR(servers->store->stop());
  RETURN_IF_ERROR(servers->store->start());
  ASSIGN_OR_RETURN(auto created_database, servers->store->psql("CREATE DATABASE pgstack_logs"));
  if (created_database.exit_code != 0) return make_error(ErrorCode::kInternal, "CREATE DATABASE pgstack_logs failed");
  servers->store_target.host = "127.0.0.1";
  servers->store_target.port = servers->store->port();
  servers->store_target.database = "pgstack_logs";
  servers->store_target.user = "postgres";
  servers->store_target.ssl_root_certificate = (servers->root / "ca.crt").string();
  ASSIGN_OR_RETURN(auto admin, postgres::PostgresSession::connect(servers->store_target));
  std::string schema = logs::render_log_store_schema();
  const auto today = std::chrono::floor<std::chrono::days>(std::chrono::system_clock::now());
  for (int day = -1; day <= 1; ++day) {
    for (auto table : logs::log_tables())
      schema += logs::render_create_day_partition(table, today + std::chrono::days(day));
  }
  RETURN_IF_ERROR(admin->query(schema));

  // The instance: every statement logged to csvlog, nothing logged on its own (no checkpoints).
  servers->source_data = servers->root / "source";
  ASSIGN_OR_RETURN(const int source_port, free_tcp_port());
  ASSIGN_OR_RETURN(servers->source, PostgresNode::init_primary(servers->source_data, source_port));
  append_postgres_settings(servers->source_data,
                           "logging_collector = on\nlog_destination = 'csvlog'\nlog_directory = 'log'\n"
                           "log_filename = 'postgresql-%Y%m%d_%H%M%S.log'\nlog_min_duration_statement = 0\n"
                           "log_checkpoints = off\nlog_rotation_age = 0\nlog_rotation_size = 0\nlog_file_mode = 0644\n"
                           "lc_messages = 'C'\n" +
                               source_settings);
  RETURN_IF_ERROR(servers->source->stop());
  RETURN_IF_ERROR(servers->source->start());
  return servers;
}

}  // namespace pgstack::testing
