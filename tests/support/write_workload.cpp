#include "support/write_workload.h"

#include <algorithm>
#include <charconv>
#include <thread>
#include <utility>

#include <fmt/format.h>

namespace pgstack::testing {

WriteOutcome classify_write_failure(std::string_view sqlstate) {
  if (sqlstate.size() != 5) return WriteOutcome::kUnknown;
  const std::string_view error_class = sqlstate.substr(0, 2);
  // 08 connection exception, 57 operator intervention (shutdown, cancel), 58 system error, XX internal.
  for (const std::string_view uncertain : {"08", "57", "58", "XX"}) {
    if (error_class == uncertain) return WriteOutcome::kUnknown;
  }
  return WriteOutcome::kFailed;
}

std::int64_t timeline_of_wal_file(std::string_view wal_file_name) {
  if (wal_file_name.size() != 24) return 0;
  std::int64_t timeline = 0;
  const auto [end, error] = std::from_chars(wal_file_name.data(), wal_file_name.data() + 8, timeline, 16);
  if (error != std::errc() || end != wal_file_name.data() + 8) return 0;
  return timeline;
}

WriteWorkload::WriteWorkload(WriteWorkloadOptions options)
    : options_(std::move(options)),
      started_(options_.clock_start.value_or(std::chrono::steady_clock::now())),
      next_id_(options_.first_id) {}

std::chrono::microseconds WriteWorkload::since_start() const {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started_);
}

std::vector<std::pair<std::string, std::string>> WriteWorkload::connection_overrides() const {
  std::vector<std::pair<std::string, std::string>> overrides = {
      {"connect_timeout", std::to_string(options_.connect_timeout.count())},
      {"application_name", "pgstack-write-workload"},
  };
  const auto dead = options_.dead_server_timeout.count();
  if (dead > 0) {
    overrides.insert(overrides.end(), {{"keepalives", "1"},
                                       {"keepalives_idle", std::to_string(std::max<std::int64_t>(1, dead / 3))},
                                       {"keepalives_interval", "1"},
                                       {"keepalives_count", "2"},
                                       {"tcp_user_timeout", std::to_string(dead * 1000)}});
  }
  return overrides;
}

Result<bool> WriteWorkload::create_table() {
  ASSIGN_OR_RETURN(auto session, postgres::PostgresSession::connect_string(options_.conninfo, connection_overrides()));
  RETURN_IF_ERROR(
      session->query(fmt::format("CREATE TABLE IF NOT EXISTS {} (id bigint NOT NULL, member text NOT NULL, "
                                 "written_at timestamptz NOT NULL DEFAULT clock_timestamp())",
                                 postgres::quote_identifier(options_.table))));
  return true;
}

const WriteRecord& WriteWorkload::write_next() {
  WriteRecord record;
  record.id = next_id_++;
  record.start = since_start();
  if (!session_) {
    auto connected = postgres::PostgresSession::connect_string(options_.conninfo, connection_overrides());
    if (!connected) {
      // Nothing was sent.
      record.outcome = WriteOutcome::kFailed;
      record.error = connected.error().message;
      record.end = since_start();
      history_.push_back(std::move(record));
      return history_.back();
    }
    session_ = std::move(connected).value();
    record.start = since_start();
  }
  const std::string sql =
      fmt::format("INSERT INTO {} (id, member) VALUES ({}, {}) RETURNING member, pg_walfile_name(pg_current_wal_lsn())",
                  postgres::quote_identifier(options_.table), record.id, options_.member_expression);
  auto rows = session_->query(sql);
  record.end = since_start();
  if (rows) {
    record.outcome = WriteOutcome::kAcknowledged;
    if (rows->size() == 1 && rows->front().size() == 2) {
      record.member = rows->front()[0];
      record.timeline = timeline_of_wal_file(rows->front()[1]);
    } else {
      record.error = fmt::format("committed, but the answer had {} rows instead of 1", rows->size());
    }
  } else {
    record.outcome = classify_write_failure(session_->last_failure().sqlstate);
    record.error = rows.error().message;
    // The next write connects again: with several hosts, libpq finds the one that takes writes now.
    session_.reset();
  }
  history_.push_back(std::move(record));
  return history_.back();
}

void WriteWorkload::run(const std::function<bool()>& keep_going, std::chrono::milliseconds pause) {
  while (keep_going()) {
    write_next();
    if (pause.count() > 0) std::this_thread::sleep_for(pause);
  }
}

Result<std::vector<std::int64_t>> WriteWorkload::read_back() const {
  ASSIGN_OR_RETURN(auto session, postgres::PostgresSession::connect_string(options_.conninfo, connection_overrides()));
  ASSIGN_OR_RETURN(const auto rows,
                   session->query(fmt::format("SELECT id FROM {}", postgres::quote_identifier(options_.table))));
  std::vector<std::int64_t> ids;
  ids.reserve(rows.size());
  for (const auto& row : rows) {
    std::int64_t id = 0;
    const std::string& text = row.at(0);
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), id);
    if (error != std::errc() || end != text.data() + text.size())
      return make_error(ErrorCode::kInternal, fmt::format("table {} holds id \"{}\"", options_.table, text));
    ids.push_back(id);
  }
  return ids;
}

}  // namespace pgstack::testing
