#include "agent/agent_metrics.h"

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <span>

namespace pgstack::agent {
namespace {

using Labels = std::vector<std::pair<std::string, std::string>>;

Labels instance_labels(const InstanceMetricsInput& instance) {
  return {{"namespace", instance.namespace_name}, {"cluster", instance.cluster}, {"instance_name", instance.member}};
}

}  // namespace

std::optional<double> archiver_time_seconds(const model::Json& value) {
  if (!value.is_string()) return std::nullopt;
  const std::string text = value.get<std::string>();
  std::tm parts{};
  double seconds = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%lfZ", &parts.tm_year, &parts.tm_mon, &parts.tm_mday,
                  &parts.tm_hour, &parts.tm_min, &seconds) != 6)
    return std::nullopt;
  parts.tm_year -= 1900;
  parts.tm_mon -= 1;
  parts.tm_sec = 0;
  return static_cast<double>(::timegm(&parts)) + seconds;
}

std::vector<ShowTable> parse_pgbouncer_show(std::string_view output) {
  const auto split = [](std::string_view line) {
    std::vector<std::string> fields;
    while (true) {
      const auto bar = line.find('|');
      fields.emplace_back(line.substr(0, bar));
      if (bar == std::string_view::npos) break;
      line.remove_prefix(bar + 1);
    }
    return fields;
  };
  const auto is_header = [](const std::vector<std::string>& fields) {
    return fields.size() >= 2 &&
           ((fields[0] == "database" && (fields[1] == "user" || fields[1] == "total_xact_count")) ||
            (fields[0] == "list" && fields[1] == "items"));
  };
  std::vector<ShowTable> tables;
  while (!output.empty()) {
    const auto end = output.find('\n');
    const std::string_view line = output.substr(0, end);
    output.remove_prefix(end == std::string_view::npos ? output.size() : end + 1);
    if (line.empty()) continue;
    auto fields = split(line);
    if (is_header(fields)) {
      tables.push_back({std::move(fields), {}});
    } else if (!tables.empty() && fields.size() == tables.back().columns.size()) {
      tables.back().rows.push_back(std::move(fields));
    }
  }
  return tables;
}

void add_pgbouncer_families(const Labels& labels, const std::string& show_output,
                            std::map<std::string, MetricFamily>& families) {
  const auto add = [&](const std::string& name, const std::string& help, MetricType type, Labels sample_labels,
                       double value) {
    MetricFamily& family = families[name];
    if (family.name.empty()) family = {name, help, type, {}};
    family.samples.push_back({std::move(sample_labels), value});
  };
  const auto tables = parse_pgbouncer_show(show_output);
  add("pgbouncer_up", "1 when PgBouncer's admin console answered the agent", MetricType::kGauge, labels,
      tables.empty() ? 0.0 : 1.0);
  const auto number = [](const std::string& text) {
    char* end = nullptr;
    const double value = std::strtod(text.c_str(), &end);
    return end != text.c_str() ? value : 0.0;
  };
  // Column -> (family, help, type, scale): what each table's numeric columns become.
  struct Column {
    const char* column;
    const char* family;
    const char* help;
    MetricType type;
    double scale;
  };
  static const Column kPools[] = {
      {"cl_active", "pgbouncer_pools_cl_active", "Clients linked to a server connection or idle", MetricType::kGauge,
       1},
      {"cl_waiting", "pgbouncer_pools_cl_waiting", "Clients waiting for a server connection", MetricType::kGauge, 1},
      {"sv_active", "pgbouncer_pools_sv_active", "Server connections linked to a client", MetricType::kGauge, 1},
      {"sv_idle", "pgbouncer_pools_sv_idle", "Server connections idle and ready", MetricType::kGauge, 1},
      {"sv_used", "pgbouncer_pools_sv_used", "Server connections idle for longer than server_check_delay",
       MetricType::kGauge, 1},
      {"sv_tested", "pgbouncer_pools_sv_tested", "Server connections being tested or reset", MetricType::kGauge, 1},
      {"sv_login", "pgbouncer_pools_sv_login", "Server connections logging in", MetricType::kGauge, 1},
  };
  static const Column kStats[] = {
      {"total_xact_count", "pgbouncer_stats_transactions_total", "Transactions pooled", MetricType::kCounter, 1},
      {"total_query_count", "pgbouncer_stats_queries_total", "Queries pooled", MetricType::kCounter, 1},
      {"total_received", "pgbouncer_stats_received_bytes_total", "Bytes received from clients", MetricType::kCounter,
       1},
      {"total_sent", "pgbouncer_stats_sent_bytes_total", "Bytes sent to clients", MetricType::kCounter, 1},
      {"total_xact_time", "pgbouncer_stats_transaction_seconds_total", "Time spent in transactions",
       MetricType::kCounter, 1e-6},
      {"total_query_time", "pgbouncer_stats_query_seconds_total", "Time spent in queries", MetricType::kCounter, 1e-6},
      {"total_wait_time", "pgbouncer_stats_wait_seconds_total", "Time clients waited for a server connection",
       MetricType::kCounter, 1e-6},
  };
  for (const auto& table : tables) {
    const auto index = [&](const char* column) -> std::optional<std::size_t> {
      for (std::size_t i = 0; i < table.columns.size(); ++i) {
        if (table.columns[i] == column) return i;
      }
      return std::nullopt;
    };
    const bool pools = table.columns[1] == "user";
    const bool lists = table.columns[0] == "list";
    for (const auto& row : table.rows) {
      Labels row_labels = labels;
      if (lists) {
        row_labels.emplace_back("list", row[0]);
        add("pgbouncer_lists_items", "Items in PgBouncer's internal lists (SHOW LISTS)", MetricType::kGauge, row_labels,
            number(row[1]));
        continue;
      }
      row_labels.emplace_back("database", row[0]);
      if (pools) row_labels.emplace_back("user", row[1]);
      for (const Column& column : pools ? std::span<const Column>(kPools) : std::span<const Column>(kStats)) {
        if (const auto at = index(column.column))
          add(column.family, column.help, column.type, row_labels, number(row[*at]) * column.scale);
      }
      if (pools) {
        const auto wait = index("maxwait");
        const auto wait_us = index("maxwait_us");
        if (wait && wait_us)
          add("pgbouncer_pools_maxwait_seconds", "How long the oldest waiting client has waited", MetricType::kGauge,
              row_labels, number(row[*wait]) + number(row[*wait_us]) / 1e6);
      }
    }
  }
}

std::vector<MetricFamily> agent_metric_families(const AgentMetricsInput& input) {
  MetricFamily up{"pgstack_process_up",
                  "1 while the supervised process runs, 0 while it is down or backing off",
                  MetricType::kGauge,
                  {}};
  MetricFamily restarts{"pgstack_process_restarts_total",
                        "Restarts of the supervised process after it died, since the agent started",
                        MetricType::kCounter,
                        {}};
  MetricFamily failing{"pgstack_instance_reconcile_failing",
                       "1 while the agent cannot bring the instance to its assignment (the report says why)",
                       MetricType::kGauge,
                       {}};
  MetricFamily errors{"pgstack_instance_reconcile_errors_total",
                      "Reconciles of the instance that stopped at a failed step, since the agent started",
                      MetricType::kCounter,
                      {}};
  MetricFamily archived{"pgstack_wal_archive_archived_total",
                        "WAL segments archived (pg_stat_archiver, primary)",
                        MetricType::kCounter,
                        {}};
  MetricFamily archive_failed{"pgstack_wal_archive_failed_total",
                              "Failed WAL archive attempts (pg_stat_archiver, primary)",
                              MetricType::kCounter,
                              {}};
  MetricFamily archive_success{"pgstack_wal_archive_last_success_timestamp_seconds",
                               "When the last WAL segment was archived",
                               MetricType::kGauge,
                               {}};
  MetricFamily archive_failure{"pgstack_wal_archive_last_failure_timestamp_seconds",
                               "When the last WAL archive attempt failed",
                               MetricType::kGauge,
                               {}};
  MetricFamily archive_failing{"pgstack_wal_archive_failing",
                               "1 when the last archive attempt failed after the last success",
                               MetricType::kGauge,
                               {}};

  MetricFamily shipped_records{"pgstack_log_shipper_records_total",
                               "Log records the agent committed to the cluster's log store, since it started",
                               MetricType::kCounter,
                               {}};
  MetricFamily shipper_errors{"pgstack_log_shipper_errors_total",
                              "Failed batches of the log shipper (store unreachable, refused), since the agent started",
                              MetricType::kCounter,
                              {}};
  MetricFamily shipper_behind{
      "pgstack_log_shipper_bytes_behind", "Bytes of the log files not in the log store yet", MetricType::kGauge, {}};
  MetricFamily shipper_success{"pgstack_log_shipper_last_success_timestamp_seconds",
                               "When the log shipper last shipped a batch or found nothing new",
                               MetricType::kGauge,
                               {}};
  MetricFamily removed_unshipped{"pgstack_log_files_removed_unshipped_total",
                                 "Log files removed before they were shipped (the log directory exceeded its limit)",
                                 MetricType::kCounter,
                                 {}};
  MetricFamily skipped{"pgstack_log_shipper_bytes_skipped_total",
                       "Log bytes the store refused even as a single record, skipped (never in the store)",
                       MetricType::kCounter,
                       {}};
  const auto add_process = [&](const Labels& base, const std::string& process, const ProcessStatus& status) {
    Labels labels = base;
    labels.emplace_back("process", process);
    up.samples.push_back({labels, status.state == ProcessState::kRunning ? 1.0 : 0.0});
    restarts.samples.push_back({labels, static_cast<double>(status.restarts)});
  };
  std::map<std::string, MetricFamily> pgbouncer;
  for (const auto& [process, status] : input.host_processes) add_process({{"host", input.host}}, process, status);
  for (const auto& instance : input.instances) {
    const Labels labels = instance_labels(instance);
    if (instance.pgbouncer_show) add_pgbouncer_families(labels, *instance.pgbouncer_show, pgbouncer);
    for (const auto& [process, status] : instance.processes) add_process(labels, process, status);
    failing.samples.push_back({labels, instance.reconcile_failing ? 1.0 : 0.0});
    for (const auto& [log_type, shipping] : instance.log_shipping) {
      Labels log_labels = labels;
      log_labels.emplace_back("log_type", log_type);
      shipped_records.samples.push_back({log_labels, static_cast<double>(shipping.records_total)});
      shipper_errors.samples.push_back({log_labels, static_cast<double>(shipping.errors_total)});
      shipper_behind.samples.push_back({log_labels, static_cast<double>(shipping.bytes_behind)});
      if (const auto success = archiver_time_seconds(model::Json(shipping.last_success)))
        shipper_success.samples.push_back({log_labels, *success});
      removed_unshipped.samples.push_back({log_labels, static_cast<double>(shipping.files_removed_unshipped)});
      skipped.samples.push_back({log_labels, static_cast<double>(shipping.bytes_skipped)});
    }
    errors.samples.push_back({labels, static_cast<double>(instance.reconcile_errors)});
    if (!instance.archiver || !instance.archiver->is_object()) continue;
    const model::Json& archiver = *instance.archiver;
    if (archiver.contains("archived_count") && archiver["archived_count"].is_number())
      archived.samples.push_back({labels, archiver["archived_count"].get<double>()});
    if (archiver.contains("failed_count") && archiver["failed_count"].is_number())
      archive_failed.samples.push_back({labels, archiver["failed_count"].get<double>()});
    const auto success = archiver_time_seconds(archiver.value("last_archived_time", model::Json()));
    const auto failure = archiver_time_seconds(archiver.value("last_failed_time", model::Json()));
    if (success) archive_success.samples.push_back({labels, *success});
    if (failure) archive_failure.samples.push_back({labels, *failure});
    archive_failing.samples.push_back({labels, failure && (!success || *failure > *success) ? 1.0 : 0.0});
  }
  MetricFamily backup_success{"pgstack_backup_last_success_timestamp_seconds",
                              "When the cluster's last completed backup finished",
                              MetricType::kGauge,
                              {}};
  MetricFamily backup_duration{
      "pgstack_backup_duration_seconds", "How long the cluster's last completed backup took", MetricType::kGauge, {}};
  MetricFamily backup_errors{"pgstack_backup_errors_total",
                             "The cluster's SGBackups in phase Failed (drops when they are deleted)",
                             MetricType::kCounter,
                             {}};
  MetricFamily verify_success{"pgstack_restore_verification_last_success_timestamp_seconds",
                              "When a restore test of one of the cluster's backups last passed",
                              MetricType::kGauge,
                              {}};
  MetricFamily verify_duration{"pgstack_restore_verification_duration_seconds",
                               "How long the last passed restore test took",
                               MetricType::kGauge,
                               {}};
  MetricFamily verify_errors{"pgstack_restore_verification_errors_total",
                             "The cluster's SGBackups whose restore test failed",
                             MetricType::kCounter,
                             {}};
  for (const auto& cluster : input.backups) {
    const Labels labels = {{"namespace", cluster.namespace_name}, {"cluster", cluster.cluster}};
    std::optional<double> last_success, last_duration, last_verified, verified_duration;
    double failed = 0, verify_failed = 0;
    for (const auto& status : cluster.statuses) {
      if (!status.is_object()) continue;
      const std::string phase = status.value("phase", "");
      if (phase == "Failed") ++failed;
      const auto finished = archiver_time_seconds(status.value("finishedAt", model::Json()));
      if (phase == "Completed" && finished && (!last_success || *finished > *last_success)) {
        last_success = finished;
        const model::Json duration = status.value("durationSeconds", model::Json());
        last_duration = duration.is_number() ? std::optional<double>(duration.get<double>()) : std::nullopt;
      }
      const model::Json verification = status.value("verification", model::Json::object());
      if (!verification.is_object()) continue;
      const std::string verdict = verification.value("phase", "");
      if (verdict == "Failed") ++verify_failed;
      const auto checked = archiver_time_seconds(verification.value("finishedAt", model::Json()));
      if (verdict == "Passed" && checked && (!last_verified || *checked > *last_verified)) {
        last_verified = checked;
        const model::Json duration = verification.value("durationSeconds", model::Json());
        verified_duration = duration.is_number() ? std::optional<double>(duration.get<double>()) : std::nullopt;
      }
    }
    if (last_success) backup_success.samples.push_back({labels, *last_success});
    if (last_duration) backup_duration.samples.push_back({labels, *last_duration});
    backup_errors.samples.push_back({labels, failed});
    if (last_verified) verify_success.samples.push_back({labels, *last_verified});
    if (verified_duration) verify_duration.samples.push_back({labels, *verified_duration});
    verify_errors.samples.push_back({labels, verify_failed});
  }
  std::vector<MetricFamily> families = {
      up, restarts, failing, errors, archived, archive_failed, archive_success, archive_failure, archive_failing};
  for (auto* family :
       {&backup_success, &backup_duration, &backup_errors, &verify_success, &verify_duration, &verify_errors,
        &shipped_records, &shipper_errors, &shipper_behind, &shipper_success, &removed_unshipped, &skipped})
    families.push_back(std::move(*family));
  for (auto& [name, family] : pgbouncer) families.push_back(std::move(family));
  return families;
}

}  // namespace pgstack::agent
