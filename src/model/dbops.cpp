#include "model/dbops.h"

#include <charconv>
#include <cmath>

#include <fmt/format.h>

#include "model/json_read.h"
#include "model/quantity.h"

namespace pgstack::model {
namespace {

Error invalid(const Document& document, const std::string& field, const std::string& why) {
  return make_error(ErrorCode::kInvalidInput,
                    fmt::format("SGDbOps {}/{}: {}: {}", document.namespace_name(), document.name(), field, why));
}

}  // namespace

Result<std::chrono::milliseconds> parse_iso_duration(std::string_view text) {
  const auto bad = [&](const std::string& why) {
    return make_error(ErrorCode::kInvalidInput,
                      fmt::format("\"{}\": {} (expected an ISO 8601 duration such as PT10M)", text, why));
  };
  if (text.size() < 2 || text[0] != 'P') return bad("it does not start with P");
  double total_seconds = 0;
  bool in_time = false, any = false;
  std::size_t at = 1;
  while (at < text.size()) {
    if (text[at] == 'T') {
      if (in_time) return bad("T appears twice");
      in_time = true;
      ++at;
      continue;
    }
    std::size_t end = at;
    while (end < text.size() && (std::isdigit(static_cast<unsigned char>(text[end])) || text[end] == '.')) ++end;
    if (end == at || end == text.size()) return bad("a number must be followed by its unit");
    double number = 0;
    const auto [parsed_end, failure] = std::from_chars(text.data() + at, text.data() + end, number);
    if (failure != std::errc() || parsed_end != text.data() + end) return bad("a number is malformed");
    const char unit = text[end];
    if (!in_time && unit == 'W') {
      total_seconds += number * 7 * 86400;
    } else if (!in_time && unit == 'D') {
      total_seconds += number * 86400;
    } else if (!in_time && (unit == 'Y' || unit == 'M')) {
      return bad("years and months have no fixed length; use days (P30D)");
    } else if (in_time && unit == 'H') {
      total_seconds += number * 3600;
    } else if (in_time && unit == 'M') {
      total_seconds += number * 60;
    } else if (in_time && unit == 'S') {
      total_seconds += number;
    } else {
      return bad(fmt::format("'{}' is not a unit here", unit));
    }
    any = true;
    at = end + 1;
  }
  if (!any) return bad("it has no amount");
  if (total_seconds > 366.0 * 86400 * 100) return bad("it is over a hundred years");
  return std::chrono::milliseconds(static_cast<std::int64_t>(std::llround(total_seconds * 1000)));
}

Result<DbOps> dbops_from(const Document& document) {
  const Json& spec = field_or_null(document.body, "spec");
  DbOps ops;
  ops.name = document.name();
  ops.namespace_name = document.namespace_name();
  ops.cluster = string_or(spec, "sgCluster", "");
  ops.op = string_or(spec, "op", "");
  ops.run_at = string_or(spec, "runAt", "");
  ops.max_retries = int_or(spec, "maxRetries", 0);
  ops.created = string_or(field_or_null(document.body, "metadata"), "creationTimestamp", "");
  const std::string revision = string_or(field_or_null(document.body, "metadata"), "resourceVersion", "");
  std::from_chars(revision.data(), revision.data() + revision.size(), ops.revision);
  if (const Json& timeout = field_or_null(spec, "timeout"); timeout.is_string()) {
    auto parsed = parse_iso_duration(timeout.get<std::string>());
    if (!parsed.ok()) return invalid(document, "spec.timeout", parsed.error().message);
    ops.timeout = parsed.value();
  }
  if (spec.is_object() && spec.contains("scheduling"))
    ops.ignored.emplace_back("spec.scheduling: Kubernetes pod placement; operations run in the leading controller");
  const Json& details = field_or_null(spec, ops.op.c_str());
  ops.method = string_or(details, "method", "InPlace");
  ops.only_pending_restart = bool_or(details, "onlyPendingRestart", false);
  const Json& version = field_or_null(details, "postgresVersion");
  if (version.is_string()) ops.target_postgres_version = version.get<std::string>();
  if (version.is_number()) ops.target_postgres_version = version.dump();

  if (ops.op == "vacuum") {
    const auto read = [](const Json& from, VacuumTarget defaults) {
      defaults.full = bool_or(from, "full", defaults.full);
      defaults.freeze = bool_or(from, "freeze", defaults.freeze);
      defaults.analyze = bool_or(from, "analyze", defaults.analyze);
      defaults.disable_page_skipping = bool_or(from, "disablePageSkipping", defaults.disable_page_skipping);
      return defaults;
    };
    const VacuumTarget all = read(details, {});
    const Json& databases = field_or_null(details, "databases");
    if (databases.is_array() && !databases.empty()) {
      for (const Json& database : databases) {
        VacuumTarget target = read(database, all);
        target.database = string_or(database, "name", "");
        ops.vacuum.push_back(target);
      }
    } else {
      ops.vacuum.push_back(all);
    }
  }
  if (ops.op == "repack") {
    std::optional<Error> failure;
    const auto read = [&](const Json& from, RepackTarget defaults, const std::string& field) {
      defaults.no_order = bool_or(from, "noOrder", defaults.no_order);
      defaults.no_kill_backend = bool_or(from, "noKillBackend", defaults.no_kill_backend);
      defaults.no_analyze = bool_or(from, "noAnalyze", defaults.no_analyze);
      defaults.exclude_extension = bool_or(from, "excludeExtension", defaults.exclude_extension);
      if (const Json& wait = field_or_null(from, "waitTimeout"); wait.is_string()) {
        auto parsed = parse_iso_duration(wait.get<std::string>());
        if (parsed.ok()) {
          defaults.wait_timeout = parsed.value();
        } else if (!failure) {
          failure = invalid(document, field + ".waitTimeout", parsed.error().message);
        }
      }
      return defaults;
    };
    const RepackTarget all = read(details, {}, "spec.repack");
    const Json& databases = field_or_null(details, "databases");
    if (databases.is_array() && !databases.empty()) {
      for (std::size_t i = 0; i < databases.size(); ++i) {
        RepackTarget target = read(databases[i], all, fmt::format("spec.repack.databases[{}]", i));
        target.database = string_or(databases[i], "name", "");
        ops.repack.push_back(target);
      }
    } else {
      ops.repack.push_back(all);
    }
    if (failure) return *failure;
  }
  if (ops.op == "benchmark") {
    Benchmark& benchmark = ops.benchmark;
    benchmark.connection_type = string_or(details, "connectionType", "primary-service");
    if (string_or(details, "type", "pgbench") != "pgbench")
      return invalid(document, "spec.benchmark.type", "only pgbench is supported (sampling is not implemented)");
    for (const char* field : {"database", "credentials"}) {
      if (details.is_object() && details.contains(field))
        ops.ignored.push_back(fmt::format(
            "spec.benchmark.{}: pgbench runs in a database of its own as the cluster's application user", field));
    }
    const Json& pgbench = field_or_null(details, "pgbench");
    if (!pgbench.is_object()) return invalid(document, "spec.benchmark.pgbench", "required for a pgbench benchmark");
    auto size = parse_memory_bytes(string_or(pgbench, "databaseSize", ""));
    if (!size.ok()) return invalid(document, "spec.benchmark.pgbench.databaseSize", size.error().message);
    benchmark.database_size_bytes = size.value();
    auto duration = parse_iso_duration(string_or(pgbench, "duration", ""));
    if (!duration.ok()) return invalid(document, "spec.benchmark.pgbench.duration", duration.error().message);
    benchmark.duration = duration.value();
    if (benchmark.duration < std::chrono::seconds(1))
      return invalid(document, "spec.benchmark.pgbench.duration", "at least one second");
    benchmark.query_mode = bool_or(pgbench, "usePreparedStatements", false) ? "prepared" : "simple";
    benchmark.query_mode = string_or(pgbench, "queryMode", benchmark.query_mode);
    // Replicas take no writes: the default there is the read-only builtin.
    benchmark.mode =
        string_or(pgbench, "mode", benchmark.connection_type == "replicas-service" ? "select-only" : "tpcb-like");
    benchmark.clients = int_or(pgbench, "concurrentClients", 1);
    benchmark.threads = std::min(int_or(pgbench, "threads", 1), benchmark.clients);
    if (const Json& rate = field_or_null(pgbench, "samplingRate"); rate.is_number())
      benchmark.sampling_rate = rate.get<double>();
    benchmark.foreign_keys = bool_or(pgbench, "foreignKeys", false);
    benchmark.unlogged_tables = bool_or(pgbench, "unloggedTables", false);
    benchmark.partition_method = string_or(pgbench, "partitionMethod", "");
    benchmark.partitions = int_or(pgbench, "partitions", 0);
    benchmark.init_steps = string_or(pgbench, "initSteps", "");
    benchmark.fillfactor = int_or(pgbench, "fillfactor", 0);
    benchmark.no_vacuum = bool_or(pgbench, "noVacuum", false);
    const Json& scripts = field_or_null(field_or_null(pgbench, "custom"), "scripts");
    if (scripts.is_array()) {
      for (const Json& script : scripts)
        benchmark.custom_scripts.push_back(
            {string_or(script, "script", ""), string_or(script, "builtin", ""), int_or(script, "weight", 1)});
    }
    if (benchmark.mode == "custom" && benchmark.custom_scripts.empty())
      return invalid(document, "spec.benchmark.pgbench.custom.scripts", "mode custom needs at least one script");
  }
  return ops;
}

}  // namespace pgstack::model
