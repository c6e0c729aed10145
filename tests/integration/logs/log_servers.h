// Real servers for the log shipper's test and benchmark: a Postgres 15 log store (TLS, as the shipper
// requires; the store's schema and partitions for yesterday, today and tomorrow) and a Postgres 15
// instance writing csvlog, both started as the postgres user in a temp directory.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "common/error.h"
#include "integration/proxy/postgres_node.h"
#include "postgres/postgres_session.h"

namespace pgstack::testing {

struct LogServers {
  std::filesystem::path root;
  std::unique_ptr<PostgresNode> store;
  std::unique_ptr<PostgresNode> source;
  postgres::PostgresTarget store_target;  // the store's pgstack_logs as postgres, TLS verified
  std::filesystem::path source_data;
  std::filesystem::path source_log_dir() const { return source_data / "log"; }

  LogServers() = default;
  LogServers(const LogServers&) = delete;
  LogServers& operator=(const LogServers&) = delete;
  ~LogServers();  // stops both and removes root
};

// `source_settings` is appended to the instance's postgresql.auto.conf after pgstack's csvlog settings
// (logging_collector, csvlog into log/, every statement logged, no rotation).
Result<std::unique_ptr<LogServers>> start_log_servers(const std::string& source_settings = "");

// Appends settings to a data directory's postgresql.auto.conf (taken at the next start).
void append_postgres_settings(const std::filesystem::path& data, const std::string& settings);

}  // namespace pgstack::testing
