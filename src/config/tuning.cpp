#include "config/tuning.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <map>

#include <fmt/format.h>

#include "common/strings.h"
#include "model/extension_catalogue.h"
#include "model/kinds.h"
#include "model/quantity.h"

namespace pgstack::config {
namespace {

constexpr std::int64_t kMiB = 1LL << 20;

// Owned beyond StackGres's blocked list: Patroni writes these itself, or they name pgstack's files.
constexpr std::string_view kPatroniManaged[] = {
    "cluster_name",         "hot_standby",          "synchronous_standby_names", "primary_conninfo",
    "primary_slot_name",    "promote_trigger_file", "restore_command",           "archive_cleanup_command",
    "recovery_end_command", "recovery_target",      "recovery_target_action",    "recovery_target_inclusive",
    "recovery_target_lsn",  "recovery_target_name", "recovery_target_time",      "recovery_target_timeline",
    "recovery_target_xid"};
constexpr std::string_view kLaidOut[] = {
    "config_file", "data_directory", "hba_file",     "ident_file",  "external_pid_file", "unix_socket_directories",
    "ssl",         "ssl_cert_file",  "ssl_key_file", "log_timezone"};

// Patroni's CMDLINE_OPTIONS that it reads from the DCS only (hot_standby and wal_log_hints it forces on).
constexpr std::string_view kDcsParameters[] = {
    "max_connections", "max_locks_per_transaction", "max_worker_processes", "max_prepared_transactions",
    "wal_level",       "track_commit_timestamp",    "max_wal_senders",      "max_replication_slots",
    "wal_keep_size",   "wal_keep_segments"};

bool contains(const auto& names, std::string_view name) {
  return std::find(std::begin(names), std::end(names), name) != std::end(names);
}

// Postgres names: letters, digits, underscore, and a dot for extension namespaces.
bool is_parameter_name(std::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.';
  });
}

std::string drop_reason(const std::string& name) {
  if (!is_parameter_name(name)) return "not a parameter name";
  if (contains(model::blocked_postgres_parameters(), name)) return "pgstack owns it (blocked as in StackGres)";
  if (contains(kPatroniManaged, name)) return "Patroni manages it";
  if (name == "log_timezone") return "pgstack sets it to UTC, so csvlog timestamps are unambiguous in the log store";
  return "pgstack sets it from the instance layout and the cluster's postgres.ssl";
}

std::int64_t clamp(std::int64_t value, std::int64_t low, std::int64_t high) {
  return std::max(low, std::min(value, high));
}

std::string cpu_text(std::int64_t cpus) { return fmt::format("{} CPU{}", cpus, cpus == 1 ? "" : "s"); }

// Postgres memory syntax: a number with an optional unit (B, kB, MB, GB, TB); `default_unit_kb` is the
// parameter's unit when none is written (8 for shared_buffers' pages). nullopt when not understood.
std::optional<std::int64_t> parse_megabytes(std::string_view text, std::int64_t default_unit_kb) {
  const std::string value = trim(text);
  std::size_t digits = 0;
  while (digits < value.size() && (std::isdigit(static_cast<unsigned char>(value[digits])) || value[digits] == '.'))
    ++digits;
  if (digits == 0) return std::nullopt;
  double number = 0;
  try {
    number = std::stod(value.substr(0, digits));
  } catch (...) {
    return std::nullopt;
  }
  const std::string unit = trim(std::string_view(value).substr(digits));
  double kilobytes = 0;
  if (unit.empty())
    kilobytes = number * static_cast<double>(default_unit_kb);
  else if (unit == "B")
    kilobytes = number / 1024;
  else if (unit == "kB")
    kilobytes = number;
  else if (unit == "MB")
    kilobytes = number * 1024;
  else if (unit == "GB")
    kilobytes = number * 1024 * 1024;
  else if (unit == "TB")
    kilobytes = number * 1024 * 1024 * 1024;
  else
    return std::nullopt;
  if (kilobytes / 1024 > 1e15) return std::nullopt;  // beyond any machine; keeps the cast defined
  return static_cast<std::int64_t>(kilobytes / 1024);
}

std::optional<std::int64_t> parse_integer(std::string_view text) {
  const std::string value = trim(text);
  std::int64_t number = 0;
  const auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), number);
  if (error != std::errc() || end != value.data() + value.size()) return std::nullopt;
  return number;
}

struct UserSetting {
  std::string value;
  std::string source;
};

// The user's two lists merged (later wins), names lower-cased, in first-written order.
struct UserSettings {
  std::vector<std::string> order;
  std::map<std::string, UserSetting, std::less<>> by_name;

  const UserSetting* find(std::string_view name) const {
    const auto found = by_name.find(name);
    return found == by_name.end() ? nullptr : &found->second;
  }
};

UserSettings merge_user_settings(const TuningInput& input) {
  UserSettings settings;
  auto add = [&](const model::SettingList& list, const std::string& source) {
    for (const auto& [raw_name, value] : list) {
      std::string name = to_lower(trim(raw_name));
      if (!settings.by_name.contains(name)) settings.order.push_back(name);
      settings.by_name[name] = UserSetting{value, source};
    }
  };
  add(input.postgres_config_parameters, fmt::format("user (SGPostgresConfig/{})", input.postgres_config_name));
  add(input.inline_parameters, fmt::format("user (SGCluster/{})", input.cluster_name));
  return settings;
}

class Builder {
 public:
  void add(std::string name, std::string value, std::string source) {
    parameters_.push_back(TunedParameter{std::move(name), std::move(value), std::move(source)});
  }
  std::vector<TunedParameter> take() { return std::move(parameters_); }

 private:
  std::vector<TunedParameter> parameters_;
};

// pgstack's values before the user's: sizing rules and StackGres's defaults. Rules that depend on
// other parameters (work_mem on shared_buffers and max_connections...) read the user's value when set.
std::vector<TunedParameter> pgstack_parameters(const TuningInput& input, const UserSettings& user) {
  const int major = input.postgres_major > 0 ? input.postgres_major : kNewestPostgresMajor;
  const std::int64_t cpus = std::max<std::int64_t>(1, input.profile.cpu_millicores / 1000);
  const std::int64_t memory_mb = std::max<std::int64_t>(1, input.profile.memory_bytes / kMiB);
  const std::string memory = model::format_memory_bytes(input.profile.memory_bytes);
  const bool ssd = input.storage_kind == model::StorageKind::kSsd;
  // Not an optional: g++ 12 -O2 warns, wrongly, that `*volume_mb` may be used uninitialised.
  const bool volume_known = input.volume_bytes.has_value();
  const std::int64_t volume_mb = volume_known ? *input.volume_bytes / kMiB : 0;
  const std::string volume = input.volume_bytes ? model::format_memory_bytes(*input.volume_bytes) : "";

  auto user_megabytes = [&](std::string_view name, std::int64_t default_unit_kb) -> std::optional<std::int64_t> {
    const UserSetting* setting = user.find(name);
    return setting ? parse_megabytes(setting->value, default_unit_kb) : std::nullopt;
  };
  auto user_integer = [&](std::string_view name) -> std::optional<std::int64_t> {
    const UserSetting* setting = user.find(name);
    return setting ? parse_integer(setting->value) : std::nullopt;
  };

  Builder out;

  // Connections: PgBouncer multiplexes clients, so Postgres needs backends for active work, not sessions.
  const std::int64_t max_connections = clamp(memory_mb / 64 / 10 * 10, 100, 500);
  out.add("max_connections", std::to_string(max_connections),
          fmt::format("1 per 64MB of {} memory, 100..500 (PgBouncer pools in front)", memory));
  out.add("superuser_reserved_connections", "8", std::string(kStackGresDefault));
  out.add("max_prepared_transactions", "32", std::string(kStackGresDefault));
  out.add("password_encryption", "scram-sha-256", "pgstack: pg_hba and PgBouncer use scram-sha-256");

  // Memory.
  std::int64_t shared_buffers = std::max<std::int64_t>(32, memory_mb / 4);
  std::string shared_buffers_source = fmt::format("25% of {} memory", memory);
  if (input.profile.hugepages_2mi_bytes) {
    const std::int64_t fits = *input.profile.hugepages_2mi_bytes / kMiB * 85 / 100;
    if (fits < shared_buffers) {
      shared_buffers = std::max<std::int64_t>(32, fits);
      shared_buffers_source =
          fmt::format("85% of hugepages-2Mi {}, to fit in huge pages with Postgres' other shared memory",
                      model::format_memory_bytes(*input.profile.hugepages_2mi_bytes));
    }
  }
  out.add("shared_buffers", format_megabytes(shared_buffers), shared_buffers_source);
  if (input.profile.hugepages_2mi_bytes) {
    out.add(
        "huge_pages", "try",
        fmt::format("hugepages-2Mi {} in the profile", model::format_memory_bytes(*input.profile.hugepages_2mi_bytes)));
  } else if (memory_mb >= 8 * 1024) {
    out.add("huge_pages", "try",
            fmt::format("{} memory (8Gi or more): fewer page tables when the host has huge pages", memory));
  } else {
    out.add("huge_pages", "off", fmt::format("{} memory (under 8Gi): StackGres default", memory));
  }
  out.add("effective_cache_size", format_megabytes(memory_mb * 3 / 4), fmt::format("75% of {} memory", memory));

  const std::int64_t max_parallel_workers = cpus;
  const std::int64_t effective_shared_buffers = user_megabytes("shared_buffers", 8).value_or(shared_buffers);
  const std::int64_t effective_parallel = user_integer("max_parallel_workers").value_or(max_parallel_workers);
  // Sort and hash memory stay at Postgres' defaults: bench/tuning/workloads measured every larger value
  // slower, because a sort or hash table that fits in a few MB stays in the CPU's caches and the pieces
  // that spill go to temp files the page cache absorbs (docs/benchmarks.md, docs/tuning.md). Reports
  // that sort more raise work_mem per role or per query.
  out.add("work_mem", "4MB", "Postgres' default: larger sort and hash areas measured slower (bench/tuning/workloads)");
  out.add("maintenance_work_mem", "64MB",
          "Postgres' default: CREATE INDEX measured slower with more (bench/tuning/workloads); "
          "autovacuum has its own below");
  out.add("autovacuum_work_mem", format_megabytes(clamp(memory_mb / 32, 32, 512)),
          fmt::format("1/32 of {} memory, 32MB..512MB (StackGres: 512MB)", memory));

  // CPU: parallel query takes whole cores; a few workers per query leave cores for concurrent sessions.
  // From 2 CPUs on, never fewer than Postgres' default of 2 (half of 2 CPUs would be 1; docs/tuning.md).
  const std::int64_t per_query = cpus < 2 ? 0 : std::clamp<std::int64_t>(cpus / 2, 2, 4);
  const std::string per_query_reason =
      cpus / 2 < 2 && cpus >= 2 ? fmt::format("Postgres' default 2 (half of {} would be fewer)", cpu_text(cpus))
                                : fmt::format("half of {}, at most 4", cpu_text(cpus));
  out.add("max_worker_processes", std::to_string(effective_parallel + 8),
          fmt::format("max_parallel_workers {} + 8 for logical replication and extensions", effective_parallel));
  out.add("max_parallel_workers", std::to_string(max_parallel_workers), fmt::format("1 per CPU ({})", cpu_text(cpus)));
  out.add("max_parallel_workers_per_gather", std::to_string(per_query), per_query_reason);
  out.add("max_parallel_maintenance_workers", std::to_string(per_query), per_query_reason);

  // Storage.
  const std::string storage = ssd ? "ssd storage" : "hdd storage";
  out.add("random_page_cost", ssd ? "1.1" : "4", storage);
  out.add("effective_io_concurrency", ssd ? "200" : "2", storage);
  if (ssd && major >= 13) out.add("maintenance_io_concurrency", "200", storage);

  // WAL and checkpoints.
  out.add("wal_level", "logical", std::string(kStackGresDefault));
  if (major >= 15) {
    out.add("wal_compression", "lz4", "lz4 on Postgres 15+ (StackGres: on, which is pglz)");
  } else {
    out.add("wal_compression", "on", std::string(kStackGresDefault));
  }
  out.add("wal_buffers", format_megabytes(clamp(effective_shared_buffers / 32, 1, 64)),
          "1/32 of shared_buffers, 1MB..64MB");
  std::int64_t max_wal_size = clamp(cpus * 1024, 2048, 16384);
  std::string max_wal_source = fmt::format("1GB per CPU ({}), 2GB..16GB (StackGres: 2GB)", cpu_text(cpus));
  if (volume_known && volume_mb / 4 < max_wal_size) {
    max_wal_size = std::max<std::int64_t>(256, volume_mb / 4);
    max_wal_source = fmt::format("25% of {} volume, at least 256MB (StackGres: 2GB)", volume);
  }
  const std::int64_t effective_max_wal = user_megabytes("max_wal_size", 1024).value_or(max_wal_size);
  out.add("min_wal_size", format_megabytes(std::max<std::int64_t>(80, effective_max_wal / 4)),
          "25% of max_wal_size, at least 80MB (StackGres: 1GB)");
  out.add("max_wal_size", format_megabytes(max_wal_size), max_wal_source);
  out.add("checkpoint_timeout", "15min", std::string(kStackGresDefault));
  out.add("checkpoint_completion_target", "0.9", std::string(kStackGresDefault));
  // Without it a quiet cluster's last writes stay in an unfilled segment that is never archived: a
  // point-in-time restore cannot reach them, and a lost host loses them (StackGres: 0, disabled).
  out.add("archive_timeout", "60s", "WAL reaches the backup repository within a minute (StackGres: 0)");

  // Replication.
  const std::int64_t senders = std::max<std::int64_t>(20, 2 * input.instances + 4);
  const std::string senders_source =
      senders == 20 ? std::string(kStackGresDefault) : fmt::format("2 per instance ({}) + 4", input.instances);
  out.add("max_wal_senders", std::to_string(senders), senders_source);
  out.add("max_replication_slots", std::to_string(senders), senders_source);
  // A standby whose host vanishes (a partition, a power loss: no RST) keeps its walsender "streaming"
  // until this timeout; the synchronous standby's then holds every commit that long, and Patroni moves
  // the synchronous role only after it. 5s as CloudNativePG; Postgres' 60s stalled writes for the whole
  // 25 s of the multi-host partition test.
  out.add("wal_sender_timeout", "5s", "a lost synchronous standby holds commits at most this long (Postgres: 60s)");
  out.add("wal_receiver_timeout", "5s", "a standby notices a lost primary within this (Postgres: 60s)");
  std::int64_t keep = 1536;
  std::string keep_source(kStackGresDefault);
  if (volume_known && volume_mb / 8 < keep) {
    keep = std::max<std::int64_t>(16, volume_mb / 8);
    keep_source = fmt::format("12.5% of {} volume (StackGres: 1536MB)", volume);
  }
  if (major >= 13) {
    out.add("wal_keep_size", format_megabytes(keep), keep_source);
  } else {
    out.add("wal_keep_segments", std::to_string(std::max<std::int64_t>(1, keep / 16)),
            keep_source + ", in 16MB segments");
  }
  if (volume_known && major >= 13) {
    out.add("max_slot_wal_keep_size", format_megabytes(std::max<std::int64_t>(256, volume_mb / 4)),
            fmt::format("25% of {} volume: a lost replica's slot must not fill the disk", volume));
  }
  out.add("track_commit_timestamp", "on", std::string(kStackGresDefault));

  // Planner and locks.
  out.add("default_statistics_target", "200", std::string(kStackGresDefault));
  out.add("enable_partitionwise_aggregate", "on", std::string(kStackGresDefault));
  out.add("enable_partitionwise_join", "on", std::string(kStackGresDefault));
  out.add("jit_inline_above_cost", "-1", std::string(kStackGresDefault));
  out.add("max_locks_per_transaction", "128", std::string(kStackGresDefault));
  out.add("max_pred_locks_per_transaction", "128", std::string(kStackGresDefault));

  // Autovacuum: more workers on big machines, each keeping the default I/O budget.
  const std::int64_t autovacuum_workers = std::max<std::int64_t>(3, cpus / 8);
  out.add("autovacuum_max_workers", std::to_string(autovacuum_workers),
          fmt::format("1 per 8 CPUs ({}), at least 3 (StackGres: 3)", cpu_text(cpus)));
  out.add("autovacuum_vacuum_cost_delay", "2ms", std::string(kStackGresDefault));
  if (autovacuum_workers > 3) {
    out.add("autovacuum_vacuum_cost_limit", std::to_string(200 * autovacuum_workers / 3),
            fmt::format("200 per 3 autovacuum workers ({}): the workers share the limit", autovacuum_workers));
  }

  // Logging and statistics.
  out.add("log_min_duration_statement", "1s", std::string(kStackGresDefault));
  out.add("log_checkpoints", "on", std::string(kStackGresDefault));
  out.add("log_connections", "on", std::string(kStackGresDefault));
  out.add("log_disconnections", "on", std::string(kStackGresDefault));
  out.add("log_lock_waits", "on", std::string(kStackGresDefault));
  out.add("log_temp_files", "0", std::string(kStackGresDefault));
  out.add("log_autovacuum_min_duration", "0ms", std::string(kStackGresDefault));
  out.add("log_line_prefix", "%t [%p]: db=%d,user=%u,app=%a,client=%h", std::string(kStackGresDefault));
  out.add("track_activity_query_size", "4096", std::string(kStackGresDefault));
  out.add("track_functions", "pl", std::string(kStackGresDefault));
  out.add("track_io_timing", "on", std::string(kStackGresDefault));
  out.add("shared_preload_libraries", "pg_stat_statements, auto_explain", std::string(kStackGresDefault));
  out.add("pg_stat_statements.track_utility", "off", std::string(kStackGresDefault));
  if (major >= 14) out.add("default_toast_compression", "lz4", std::string(kStackGresDefault));
  return out.take();
}

// What postgres.extensions needs: their libraries merged into shared_preload_libraries (kept wherever
// that value came from), and pg_cron's database.
void add_extension_parameters(const TuningInput& input, const UserSettings& user,
                              std::vector<TunedParameter>& parameters) {
  std::vector<std::string> libraries;
  std::vector<std::string> needing;
  bool cron = false;
  for (const auto& name : input.extensions) {
    auto resolved =
        model::resolve_extension(name, input.postgres_major == 0 ? kNewestPostgresMajor : input.postgres_major);
    if (!resolved) continue;  // validation refuses it; nothing to preload
    cron = cron || resolved->name == "pg_cron";
    if (resolved->preload.empty()) continue;
    libraries.push_back(resolved->preload);
    needing.push_back(resolved->name);
  }
  if (!libraries.empty()) {
    const auto found = std::find_if(parameters.begin(), parameters.end(), [](const TunedParameter& parameter) {
      return parameter.name == "shared_preload_libraries";
    });
    if (found != parameters.end()) {
      const std::string merged = model::merge_preload_libraries(found->value, libraries);
      if (merged != model::merge_preload_libraries(found->value, {})) {
        found->value = merged;
        found->source = fmt::format("{}, with postgres.extensions: {}", found->source, fmt::join(needing, ", "));
      }
    }
  }
  // pg_cron runs its jobs from one database; "postgres" is its default, said here so it is visible.
  if (cron && user.find("cron.database_name") == nullptr) {
    parameters.push_back(TunedParameter{"cron.database_name", "postgres",
                                        "postgres.extensions: pg_cron keeps its jobs in the postgres database"});
  }
}

struct Tuning {
  std::vector<TunedParameter> parameters;
  std::vector<TunedParameter> dropped;
};

Tuning tune(const TuningInput& input) {
  const UserSettings user = merge_user_settings(input);
  Tuning tuning;
  tuning.parameters = pgstack_parameters(input, user);
  for (auto& parameter : tuning.parameters) {
    if (const UserSetting* setting = user.find(parameter.name)) {
      parameter.value = setting->value;
      parameter.source = setting->source;
    }
  }
  for (const auto& name : user.order) {
    const UserSetting& setting = *user.find(name);
    if (!is_parameter_name(name) || is_owned_postgres_parameter(name)) {
      tuning.dropped.push_back(
          TunedParameter{name, setting.value, fmt::format("{}: {}", setting.source, drop_reason(name))});
      continue;
    }
    const bool known = std::any_of(tuning.parameters.begin(), tuning.parameters.end(),
                                   [&](const TunedParameter& parameter) { return parameter.name == name; });
    if (!known) tuning.parameters.push_back(TunedParameter{name, setting.value, setting.source});
  }
  add_extension_parameters(input, user, tuning.parameters);
  return tuning;
}

}  // namespace

TuningInput tuning_input_for(const model::Cluster& cluster, const model::InstanceProfile& profile,
                             const model::PostgresConfig* postgres_config, int postgres_major) {
  TuningInput input;
  input.profile = profile;
  input.storage_kind = cluster.storage_kind;
  input.instances = cluster.instances;
  input.postgres_major = postgres_major;
  if (auto volume = model::parse_memory_bytes(cluster.volume_size); volume.ok()) input.volume_bytes = volume.value();
  if (postgres_config != nullptr) {
    input.postgres_config_name = postgres_config->name;
    input.postgres_config_parameters = postgres_config->parameters;
  }
  input.cluster_name = cluster.name;
  input.inline_parameters = cluster.inline_postgres_parameters;
  for (const auto& extension : cluster.extensions) input.extensions.push_back(extension.name);
  return input;
}

std::vector<TunedParameter> tune_postgres_parameters(const TuningInput& input) { return tune(input).parameters; }

std::optional<std::int64_t> huge_pages_bytes(const std::vector<TunedParameter>& parameters,
                                             const model::InstanceProfile& profile) {
  auto value_of = [&](std::string_view name) -> std::optional<std::string> {
    std::optional<std::string> value;
    for (const auto& parameter : parameters) {
      if (parameter.name == name) value = parameter.value;  // a later value wins
    }
    return value;
  };
  std::string huge_pages = trim(value_of("huge_pages").value_or("try"));
  std::transform(huge_pages.begin(), huge_pages.end(), huge_pages.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  // Postgres' boolean spellings count as on; anything else (off, false, no, 0) maps none.
  if (huge_pages != "try" && huge_pages != "on" && huge_pages != "true" && huge_pages != "yes" && huge_pages != "1")
    return std::nullopt;
  if (profile.hugepages_2mi_bytes) return *profile.hugepages_2mi_bytes;
  const auto shared_buffers = parse_megabytes(value_of("shared_buffers").value_or("128MB"), 8);
  if (!shared_buffers) return std::nullopt;
  // wal_buffers -1 (auto) is 1/32 of shared_buffers, at most 16MB.
  const std::string wal_text = value_of("wal_buffers").value_or("-1");
  const std::int64_t wal_buffers =
      wal_text == "-1" ? clamp(*shared_buffers / 32, 1, 16) : parse_megabytes(wal_text, 8).value_or(16);
  return (*shared_buffers + *shared_buffers / 32 + wal_buffers + 64) * kMiB;
}

std::vector<TunedParameter> dropped_user_parameters(const TuningInput& input) { return tune(input).dropped; }

const std::vector<std::string>& owned_postgres_parameter_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> all = model::blocked_postgres_parameters();
    all.insert(all.end(), std::begin(kPatroniManaged), std::end(kPatroniManaged));
    all.insert(all.end(), std::begin(kLaidOut), std::end(kLaidOut));
    return all;
  }();
  return names;
}

bool is_owned_postgres_parameter(std::string_view name) {
  return contains(owned_postgres_parameter_names(), to_lower(name));
}

bool is_dcs_postgres_parameter(std::string_view name) { return contains(kDcsParameters, to_lower(name)); }

std::string format_megabytes(std::int64_t megabytes) {
  if (megabytes != 0 && megabytes % 1024 == 0) return fmt::format("{}GB", megabytes / 1024);
  return fmt::format("{}MB", megabytes);
}

}  // namespace pgstack::config
