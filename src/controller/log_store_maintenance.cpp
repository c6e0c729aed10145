#include "controller/log_store_maintenance.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/time.h"
#include "controller/primary_target.h"
#include "logs/log_store_maintenance.h"
#include "logs/log_store_plan.h"
#include "postgres/postgres_session.h"
#include "store/keys.h"

namespace pgstack::controller {
namespace {

using model::Json;

std::string key_of(const logs::LogStoreRef& store) { return store.namespace_name + "/" + store.name; }

// The store's primary as its superuser, in `database`; kUnavailable while it has none (or is a standby).
Result<std::unique_ptr<postgres::PostgresSession>> connect_to_store(const store::EtcdClient& etcd,
                                                                    const std::string& etcd_prefix,
                                                                    const logs::LogStoreRef& store,
                                                                    const std::string& database,
                                                                    std::chrono::seconds statement_timeout) {
  ASSIGN_OR_RETURN(postgres::PostgresTarget target,
                   primary_target(etcd, etcd_prefix, store.namespace_name, store.name));
  target.database = database;
  target.application_name = "pgstack-controller log store";
  target.dead_server_timeout = std::chrono::seconds(30);
  auto session = postgres::PostgresSession::connect(target);
  if (!session.ok())
    return make_error(ErrorCode::kUnavailable,
                      fmt::format("cannot connect to the primary of SGCluster {}/{} (database {}): {}",
                                  store.namespace_name, store.name, database, session.error().message));
  auto recovery = (*session)->query(
      fmt::format("SET statement_timeout = '{}s'; SELECT pg_is_in_recovery()", statement_timeout.count()));
  if (!recovery.ok()) return recovery.error();
  if (recovery->empty() || recovery->front().front() != "f")
    return make_error(ErrorCode::kUnavailable, fmt::format("the primary of SGCluster {}/{} is still in recovery",
                                                           store.namespace_name, store.name));
  return std::move(session).value();
}

// A statement that failed, said with what it was for (never the statement: some hold passwords).
Error failed(const std::string& what, const Error& error) {
  return make_error(error.code, fmt::format("{}: {}", what, error.message));
}

Result<std::vector<std::string>> partitions_of(postgres::PostgresSession& session, std::string_view table) {
  ASSIGN_OR_RETURN(postgres::Rows rows, session.query(logs::render_list_partitions(table)));
  std::vector<std::string> names;
  for (const auto& row : rows) names.push_back(row.front());
  return names;
}

}  // namespace

LogStoreMaintenance::LogStoreMaintenance(const store::ResourceStore& store, const LeaderElection& leadership,
                                         LogStoreMaintenanceSettings settings)
    : store_(store), leadership_(leadership), settings_(std::move(settings)) {}

LogStoreMaintenance::~LogStoreMaintenance() { stop(); }

void LogStoreMaintenance::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    if (running_ != nullptr) running_->cancel();
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void LogStoreMaintenance::set_running(postgres::PostgresSession* session) {
  std::lock_guard lock(mutex_);
  running_ = session;
  if (session != nullptr && stopping_) session->cancel();
}

void LogStoreMaintenance::track(const std::vector<logs::LogStoreRef>& stores) {
  std::lock_guard lock(mutex_);
  if (stopping_) return;
  std::map<std::string, std::pair<logs::LogStoreRef, Tracked>> kept;
  bool added = false;
  for (const auto& store : stores) {
    const std::string key = key_of(store);
    if (auto found = stores_.find(key); found != stores_.end()) {
      kept.emplace(key, std::move(found->second));
    } else {
      kept.emplace(key, std::make_pair(store, Tracked{}));
      added = true;
    }
  }
  stores_.swap(kept);
  if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
  if (added) wake_.notify_all();
}

std::optional<LogStoreMaintenanceReport> LogStoreMaintenance::report(const logs::LogStoreRef& store) const {
  std::lock_guard lock(mutex_);
  const auto found = stores_.find(key_of(store));
  if (found == stores_.end() || !found->second.second.ran) return std::nullopt;
  return found->second.second.report;
}

void LogStoreMaintenance::run() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    const auto now = std::chrono::steady_clock::now();
    std::optional<logs::LogStoreRef> due;
    for (const auto& [key, entry] : stores_) {
      const Tracked& tracked = entry.second;
      const auto wait = tracked.failed ? settings_.retry : settings_.interval;
      if (!tracked.ran || now - tracked.last_attempt >= wait) {
        due = entry.first;
        break;
      }
    }
    if (!due || !leadership_.is_leader()) {
      wake_.wait_for(lock, std::chrono::seconds(1));
      continue;
    }
    lock.unlock();
    Result<LogStoreMaintenanceReport> outcome = make_error(ErrorCode::kInternal, "not run");
    try {
      outcome = maintain(*due);
    } catch (const std::exception& failure) {
      outcome = make_error(ErrorCode::kInternal, failure.what());
    }
    lock.lock();
    const auto found = stores_.find(key_of(*due));
    if (found == stores_.end()) continue;  // no longer tracked
    Tracked& tracked = found->second.second;
    const bool failed_before = tracked.failed;
    const std::string previous_error = tracked.report.error;
    tracked.last_attempt = std::chrono::steady_clock::now();
    tracked.report.last_run = utc_timestamp_now();
    if (outcome.ok()) {
      const std::string last_run = tracked.report.last_run;
      tracked.report = outcome.value();
      tracked.report.last_run = last_run;
      tracked.report.last_success = last_run;
      tracked.failed = false;
      if (failed_before || !tracked.ran) spdlog::info("log store {}: maintained", key_of(*due));
    } else {
      tracked.report.error = outcome.error().message;
      tracked.failed = true;
      // Said once per new error: a store that is down is retried every few seconds.
      if (previous_error != tracked.report.error)
        spdlog::warn("log store {}: maintenance failed: {}", key_of(*due), tracked.report.error);
    }
    tracked.ran = true;
  }
}

// Registers a pass's session for stop() while it lives; declared after the session, so it ends first.
class LogStoreMaintenance::RunningSession {
 public:
  RunningSession(LogStoreMaintenance& owner, postgres::PostgresSession* session) : owner_(owner) {
    owner_.set_running(session);
  }
  ~RunningSession() { owner_.set_running(nullptr); }
  RunningSession(const RunningSession&) = delete;
  RunningSession& operator=(const RunningSession&) = delete;

 private:
  LogStoreMaintenance& owner_;
};

Result<LogStoreMaintenanceReport> LogStoreMaintenance::maintain(const logs::LogStoreRef& store) {
  const auto& etcd = store_.client();
  const std::string database(logs::kLogStoreDatabase);
  {
    ASSIGN_OR_RETURN(auto admin,
                     connect_to_store(etcd, settings_.etcd_prefix, store, "postgres", settings_.statement_timeout));
    const RunningSession watched(*this, admin.get());
    ASSIGN_OR_RETURN(postgres::Rows found,
                     admin->query("SELECT 1 FROM pg_database WHERE datname = " + postgres::quote_literal(database)));
    if (found.empty()) {
      auto created = admin->query("CREATE DATABASE " + postgres::quote_identifier(database));
      // 42P04: another pass (or controller) made it a moment ago.
      if (!created.ok() && admin->last_failure().sqlstate != "42P04")
        return failed("CREATE DATABASE " + database, created.error());
      spdlog::info("log store {}: created database {}", key_of(store), database);
    }
  }
  ASSIGN_OR_RETURN(auto session,
                   connect_to_store(etcd, settings_.etcd_prefix, store, database, settings_.statement_timeout));
  const RunningSession watched(*this, session.get());
  if (auto schema = session->query(logs::render_log_store_schema()); !schema.ok())
    return failed("the log tables", schema.error());

  ASSIGN_OR_RETURN(auto secrets,
                   etcd.get(store::keys::cluster_secrets(settings_.etcd_prefix, store.namespace_name, store.name)));
  const Json credentials = secrets ? Json::parse(secrets->value, nullptr, false) : Json();
  const auto password = [&](std::string_view role) -> std::string {
    const std::string key(role);
    if (!credentials.is_object() || !credentials.contains(key) || !credentials[key].is_object()) return "";
    return credentials[key].value("password", "");
  };
  const std::string writer = password(logs::kLogWriterCredential);
  const std::string reader = password(logs::kLogReaderCredential);
  if (writer.empty() || reader.empty())
    return make_error(ErrorCode::kUnavailable,
                      fmt::format("SGCluster {}/{} has no {} and {} credentials yet", store.namespace_name, store.name,
                                  logs::kLogWriterCredential, logs::kLogReaderCredential));
  if (auto roles = session->query(logs::render_log_store_roles(writer, reader)); !roles.ok())
    return failed("the roles " + std::string(logs::kLogWriterUser) + " and " + std::string(logs::kLogReaderUser),
                  roles.error());

  ASSIGN_OR_RETURN(auto clusters, store_.list("SGCluster"));
  const logs::RetentionPlan retention = logs::plan_log_retention(logs::clusters_using_store(clusters, store));
  LogStoreMaintenanceReport report;
  report.retention = logs::format_log_retention(retention.partitions);
  const auto now = std::chrono::system_clock::now();
  for (const std::string_view table : logs::log_tables()) {
    ASSIGN_OR_RETURN(auto existing, partitions_of(*session, table));
    const logs::PartitionPlan plan = logs::plan_partitions(table, existing, now, retention.partitions);
    for (const auto day : plan.create) {
      const std::string name = logs::day_partition_name(table, day);
      if (auto made = session->query(logs::render_create_day_partition_from_default(table, day)); !made.ok())
        return failed("partition " + name, made.error());
    }
    for (const auto& name : plan.drop) {
      if (auto dropped = session->query(logs::render_drop_partition(name)); !dropped.ok())
        return failed("dropping partition " + name, dropped.error());
      spdlog::info("log store {}: dropped {} (older than {})", key_of(store), name, report.retention);
    }
    for (const auto& trim : retention.trims) {
      for (int batch = 0; batch < settings_.max_delete_batches; ++batch) {
        auto deleted = session->query(logs::render_trim_cluster_logs(table, trim.namespace_name, trim.cluster,
                                                                     trim.after, settings_.delete_batch));
        if (!deleted.ok())
          return failed(fmt::format("deleting {}'s lines of {}/{} older than {}", table, trim.namespace_name,
                                    trim.cluster, logs::format_log_retention(trim.after)),
                        deleted.error());
        if (deleted->empty() || deleted->front().front() != std::to_string(settings_.delete_batch)) break;
      }
    }
    ASSIGN_OR_RETURN(auto present, partitions_of(*session, table));
    std::erase_if(present, [&](const std::string& name) { return name == std::string(table) + "_default"; });
    report.partitions[std::string(table)] = std::move(present);
  }
  if (auto trimmed = session->query(logs::render_trim_quarantine(retention)); !trimmed.ok())
    return failed("deleting log_quarantine's rows past their retention", trimmed.error());
  return report;
}

Result<bool> delete_cluster_logs(const store::EtcdClient& etcd, const std::string& etcd_prefix,
                                 const logs::LogStoreRef& store, const std::string& ns, const std::string& cluster,
                                 const std::string& uid) {
  auto session =
      connect_to_store(etcd, etcd_prefix, store, std::string(logs::kLogStoreDatabase), std::chrono::seconds(60));
  if (!session.ok())
    return make_error(ErrorCode::kUnavailable, fmt::format("the log store SGDistributedLogs {}/{} is not reachable: {}",
                                                           store.namespace_name, store.name, session.error().message));
  if (auto deleted = (*session)->query(logs::render_delete_cluster_logs(ns, cluster, uid)); !deleted.ok())
    return make_error(ErrorCode::kUnavailable,
                      fmt::format("deleting the logs of {}/{} from SGDistributedLogs {}/{} failed: {}", ns, cluster,
                                  store.namespace_name, store.name, deleted.error().message));
  return true;
}

}  // namespace pgstack::controller
