#include "config/tuning.h"

#include <algorithm>
#include <map>
#include <regex>

#include <gtest/gtest.h>

#include "golden.h"
#include "model/kinds.h"

namespace pgstack::config {
namespace {

using testing::profile_of;

struct Profile {
  int cpus;
  int memory_gi;
  std::int64_t volume_gi;
};

// The four sizes docs/tuning.md tabulates, each with a volume a user would give it.
const Profile kProfiles[] = {{1, 2, 5}, {4, 16, 100}, {16, 64, 500}, {64, 512, 4096}};

TuningInput input_for(const Profile& profile, model::StorageKind storage = model::StorageKind::kSsd) {
  TuningInput input;
  input.profile = profile_of(profile.cpus, profile.memory_gi);
  input.storage_kind = storage;
  input.instances = 3;
  input.postgres_major = 15;
  input.volume_bytes = profile.volume_gi << 30;
  input.cluster_name = "demo";
  return input;
}

std::map<std::string, std::string> by_name(const std::vector<TunedParameter>& parameters) {
  std::map<std::string, std::string> values;
  for (const auto& parameter : parameters) values[parameter.name] = parameter.value;
  return values;
}

const TunedParameter* find(const std::vector<TunedParameter>& parameters, std::string_view name) {
  auto found = std::find_if(parameters.begin(), parameters.end(), [&](const auto& p) { return p.name == name; });
  return found == parameters.end() ? nullptr : &*found;
}

// What Postgres accepts for each parameter pgstack sets: memory as whole kB/MB/GB, times with a
// unit, integers, reals, booleans and enums, within the documented ranges.
enum class Kind { kMemory, kTime, kInteger, kReal, kBool, kEnum, kString };
struct Expected {
  Kind kind;
  double min = 0;
  double max = 0;
  std::vector<std::string> values = {};
};

const std::map<std::string, Expected>& expectations() {
  static const std::map<std::string, Expected> table = {
      {"max_connections", {Kind::kInteger, 25, 262143}},  // Patroni's minimum is 25
      {"superuser_reserved_connections", {Kind::kInteger, 0, 262143}},
      {"max_prepared_transactions", {Kind::kInteger, 0, 262143}},
      {"password_encryption", {Kind::kEnum, 0, 0, {"md5", "scram-sha-256"}}},
      {"shared_buffers", {Kind::kMemory, 128.0 / 1024, 1024.0 * 1024 * 1024}},  // in MB
      {"huge_pages", {Kind::kEnum, 0, 0, {"off", "on", "try"}}},
      {"effective_cache_size", {Kind::kMemory, 8.0 / 1024, 16.0 * 1024 * 1024}},
      {"work_mem", {Kind::kMemory, 64.0 / 1024, 2.0 * 1024 * 1024}},
      {"maintenance_work_mem", {Kind::kMemory, 1, 2.0 * 1024 * 1024}},
      {"autovacuum_work_mem", {Kind::kMemory, 1, 2.0 * 1024 * 1024}},
      {"max_worker_processes", {Kind::kInteger, 2, 262143}},  // Patroni's minimum is 2
      {"max_parallel_workers", {Kind::kInteger, 0, 1024}},
      {"max_parallel_workers_per_gather", {Kind::kInteger, 0, 1024}},
      {"max_parallel_maintenance_workers", {Kind::kInteger, 0, 1024}},
      {"random_page_cost", {Kind::kReal, 0, 1.79769e+308}},
      {"effective_io_concurrency", {Kind::kInteger, 0, 1000}},
      {"maintenance_io_concurrency", {Kind::kInteger, 0, 1000}},
      {"wal_level", {Kind::kEnum, 0, 0, {"minimal", "replica", "logical"}}},
      {"wal_compression", {Kind::kEnum, 0, 0, {"on", "off", "pglz", "lz4", "zstd"}}},
      {"wal_buffers", {Kind::kMemory, 64.0 / 1024, 2.0 * 1024 * 1024}},
      {"min_wal_size", {Kind::kMemory, 32, 2147483647}},
      {"max_wal_size", {Kind::kMemory, 32, 2147483647}},
      {"checkpoint_timeout", {Kind::kTime, 30, 86400}},  // seconds
      {"checkpoint_completion_target", {Kind::kReal, 0, 1}},
      {"archive_timeout", {Kind::kTime, 0, 1073741.823}},       // seconds
      {"wal_sender_timeout", {Kind::kTime, 0, 2147483.647}},    // seconds
      {"wal_receiver_timeout", {Kind::kTime, 0, 2147483.647}},  // seconds
      {"max_wal_senders", {Kind::kInteger, 3, 262143}},
      {"max_replication_slots", {Kind::kInteger, 4, 262143}},
      {"wal_keep_size", {Kind::kMemory, 16, 2147483647}},  // Patroni's minimum is 16MB
      {"max_slot_wal_keep_size", {Kind::kMemory, 0, 2147483647}},
      {"track_commit_timestamp", {Kind::kBool}},
      {"default_statistics_target", {Kind::kInteger, 1, 10000}},
      {"enable_partitionwise_aggregate", {Kind::kBool}},
      {"enable_partitionwise_join", {Kind::kBool}},
      {"jit_inline_above_cost", {Kind::kReal, -1, 1.79769e+308}},
      {"max_locks_per_transaction", {Kind::kInteger, 32, 2147483647}},  // Patroni's minimum is 32
      {"max_pred_locks_per_transaction", {Kind::kInteger, 10, 2147483647}},
      {"autovacuum_max_workers", {Kind::kInteger, 1, 262143}},
      {"autovacuum_vacuum_cost_delay", {Kind::kTime, 0, 0.1}},
      {"autovacuum_vacuum_cost_limit", {Kind::kInteger, 1, 10000}},
      {"log_min_duration_statement", {Kind::kTime, 0, 2147483.647}},
      {"log_checkpoints", {Kind::kBool}},
      {"log_connections", {Kind::kBool}},
      {"log_disconnections", {Kind::kBool}},
      {"log_lock_waits", {Kind::kBool}},
      {"log_temp_files", {Kind::kInteger, -1, 2147483647}},
      {"log_autovacuum_min_duration", {Kind::kTime, 0, 2147483.647}},
      {"log_line_prefix", {Kind::kString}},
      {"track_activity_query_size", {Kind::kInteger, 100, 1048576}},
      {"track_functions", {Kind::kEnum, 0, 0, {"none", "pl", "all"}}},
      {"track_io_timing", {Kind::kBool}},
      {"shared_preload_libraries", {Kind::kString}},
      {"pg_stat_statements.track_utility", {Kind::kBool}},
      {"default_toast_compression", {Kind::kEnum, 0, 0, {"pglz", "lz4"}}},
  };
  return table;
}

// Postgres' integer-with-unit syntax for memory: whole numbers only, unit kB, MB, GB or TB. In MB.
std::optional<double> memory_in_mb(const std::string& value) {
  static const std::regex kMemory(R"(^(\d+)(kB|MB|GB|TB)$)");
  std::smatch match;
  if (!std::regex_match(value, match, kMemory)) return std::nullopt;
  const double number = std::stod(match[1]);
  const std::string unit = match[2];
  if (unit == "kB") return number / 1024;
  if (unit == "MB") return number;
  if (unit == "GB") return number * 1024;
  return number * 1024 * 1024;
}

std::optional<double> time_in_seconds(const std::string& value) {
  static const std::regex kTime(R"(^(\d+)(ms|s|min|h|d)$)");
  std::smatch match;
  if (!std::regex_match(value, match, kTime)) return std::nullopt;
  const double number = std::stod(match[1]);
  const std::string unit = match[2];
  if (unit == "ms") return number / 1000;
  if (unit == "s") return number;
  if (unit == "min") return number * 60;
  if (unit == "h") return number * 3600;
  return number * 86400;
}

void expect_valid_postgres_value(const TunedParameter& parameter) {
  const auto found = expectations().find(parameter.name);
  ASSERT_NE(found, expectations().end()) << parameter.name << " has no expectation in this test: add one";
  const Expected& expected = found->second;
  const std::string& value = parameter.value;
  auto in_range = [&](double number) {
    EXPECT_GE(number, expected.min) << parameter.name << " = " << value;
    EXPECT_LE(number, expected.max) << parameter.name << " = " << value;
  };
  switch (expected.kind) {
    case Kind::kMemory: {
      const auto mb = memory_in_mb(value);
      ASSERT_TRUE(mb.has_value()) << parameter.name << " = " << value << " is not whole kB/MB/GB/TB";
      in_range(*mb);
      break;
    }
    case Kind::kTime: {
      const auto seconds = time_in_seconds(value);
      ASSERT_TRUE(seconds.has_value()) << parameter.name << " = " << value << " is not a time with a unit";
      in_range(*seconds);
      break;
    }
    case Kind::kInteger:
      ASSERT_TRUE(std::regex_match(value, std::regex(R"(^-?\d+$)"))) << parameter.name << " = " << value;
      in_range(std::stod(value));
      break;
    case Kind::kReal:
      ASSERT_TRUE(std::regex_match(value, std::regex(R"(^-?\d+(\.\d+)?$)"))) << parameter.name << " = " << value;
      in_range(std::stod(value));
      break;
    case Kind::kBool: EXPECT_TRUE(value == "on" || value == "off") << parameter.name << " = " << value; break;
    case Kind::kEnum:
      EXPECT_NE(std::find(expected.values.begin(), expected.values.end(), value), expected.values.end())
          << parameter.name << " = " << value;
      break;
    case Kind::kString: EXPECT_FALSE(value.empty()) << parameter.name; break;
  }
}

TEST(Tuning, EveryValueIsValidForPostgres) {
  for (const auto& profile : kProfiles) {
    for (const auto storage : {model::StorageKind::kSsd, model::StorageKind::kHdd}) {
      for (const int major : {12, 13, 14, 15, 16, 17}) {
        TuningInput input = input_for(profile, storage);
        input.postgres_major = major;
        SCOPED_TRACE(input.profile.name + " major " + std::to_string(major));
        for (const auto& parameter : tune_postgres_parameters(input)) {
          if (parameter.name == "wal_keep_segments") {
            EXPECT_LT(major, 13);
            continue;
          }
          expect_valid_postgres_value(parameter);
        }
      }
    }
  }
}

TEST(Tuning, SmallestProfileIsSane) {
  // StackGres's default profile: 1 CPU, 2Gi.
  const auto values = by_name(tune_postgres_parameters(input_for({1, 2, 5})));
  EXPECT_EQ(values.at("shared_buffers"), "512MB");
  EXPECT_EQ(values.at("effective_cache_size"), "1536MB");
  EXPECT_EQ(values.at("max_connections"), "100");
  EXPECT_EQ(values.at("work_mem"), "4MB");               // Postgres' default: larger measured slower
  EXPECT_EQ(values.at("maintenance_work_mem"), "64MB");  // likewise; not StackGres's 2GB
  EXPECT_EQ(values.at("autovacuum_work_mem"), "64MB");   // 3 workers: 192MB at most
  EXPECT_EQ(values.at("max_parallel_workers_per_gather"), "0");
  EXPECT_EQ(values.at("max_parallel_maintenance_workers"), "0");
  EXPECT_EQ(values.at("huge_pages"), "off");
  EXPECT_EQ(values.at("max_wal_size"), "1280MB");  // 25% of the 5Gi volume
  EXPECT_EQ(values.at("wal_keep_size"), "640MB");
}

TEST(Tuning, TwoCpusKeepPostgresDefaultOfTwoParallelWorkersPerQuery) {
  // Half of 2 CPUs would be 1 worker: never fewer than Postgres' default of 2.
  for (const int cpus : {2, 3}) {
    const auto values = by_name(tune_postgres_parameters(input_for({cpus, 8, 50})));
    EXPECT_EQ(values.at("max_parallel_workers_per_gather"), "2") << cpus << " CPUs";
    EXPECT_EQ(values.at("max_parallel_maintenance_workers"), "2") << cpus << " CPUs";
    EXPECT_EQ(values.at("max_parallel_workers"), std::to_string(cpus)) << cpus << " CPUs";
  }
}

TEST(Tuning, LargestProfileIsBounded) {
  const auto values = by_name(tune_postgres_parameters(input_for({64, 512, 4096})));
  EXPECT_EQ(values.at("shared_buffers"), "128GB");
  EXPECT_EQ(values.at("huge_pages"), "try");
  EXPECT_EQ(values.at("max_connections"), "500");
  EXPECT_EQ(values.at("maintenance_work_mem"), "64MB");
  EXPECT_EQ(values.at("autovacuum_work_mem"), "512MB");
  EXPECT_EQ(values.at("max_worker_processes"), "72");
  EXPECT_EQ(values.at("max_parallel_workers"), "64");
  EXPECT_EQ(values.at("max_parallel_workers_per_gather"), "4");
  EXPECT_EQ(values.at("max_wal_size"), "16GB");
  EXPECT_EQ(values.at("autovacuum_max_workers"), "8");
  EXPECT_EQ(values.at("autovacuum_vacuum_cost_limit"), "533");
}

TEST(Tuning, SizesGrowWithTheProfile) {
  const char* growing[] = {"shared_buffers",       "effective_cache_size", "autovacuum_work_mem", "max_connections",
                           "max_worker_processes", "max_wal_size",         "wal_buffers"};
  for (const char* name : growing) {
    double previous = 0;
    for (const auto& profile : kProfiles) {
      const std::string value = by_name(tune_postgres_parameters(input_for(profile))).at(name);
      const double number = memory_in_mb(value).value_or(std::atof(value.c_str()));
      EXPECT_GE(number, previous) << name << " at " << profile.cpus << " CPUs";
      previous = number;
    }
  }
}

TEST(Tuning, StorageKindSetsPlannerCosts) {
  const auto ssd = by_name(tune_postgres_parameters(input_for({4, 16, 100}, model::StorageKind::kSsd)));
  const auto hdd = by_name(tune_postgres_parameters(input_for({4, 16, 100}, model::StorageKind::kHdd)));
  EXPECT_EQ(ssd.at("random_page_cost"), "1.1");
  EXPECT_EQ(ssd.at("effective_io_concurrency"), "200");
  EXPECT_EQ(hdd.at("random_page_cost"), "4");
  EXPECT_EQ(hdd.at("effective_io_concurrency"), "2");
  EXPECT_FALSE(hdd.contains("maintenance_io_concurrency"));
}

TEST(Tuning, UserValuesWinAndLaterListWins) {
  TuningInput input = input_for({4, 16, 100});
  input.postgres_config_name = "pgconf";
  input.postgres_config_parameters = {{"work_mem", "64MB"}, {"Random_Page_Cost", "2"}, {"pg_cron.host", "x"}};
  input.inline_parameters = {{"random_page_cost", "3"}, {"statement_timeout", "30s"}};
  const auto parameters = tune_postgres_parameters(input);

  const TunedParameter* work_mem = find(parameters, "work_mem");
  ASSERT_NE(work_mem, nullptr);
  EXPECT_EQ(*work_mem, (TunedParameter{"work_mem", "64MB", "user (SGPostgresConfig/pgconf)"}));
  EXPECT_EQ(*find(parameters, "random_page_cost"), (TunedParameter{"random_page_cost", "3", "user (SGCluster/demo)"}));
  // Parameters pgstack does not set come last, in the order written.
  ASSERT_GE(parameters.size(), 2u);
  EXPECT_EQ(parameters[parameters.size() - 2], (TunedParameter{"pg_cron.host", "x", "user (SGPostgresConfig/pgconf)"}));
  EXPECT_EQ(parameters.back(), (TunedParameter{"statement_timeout", "30s", "user (SGCluster/demo)"}));
  EXPECT_TRUE(dropped_user_parameters(input).empty());
}

TEST(Tuning, ExtensionsThatNeedPreloadingJoinSharedPreloadLibraries) {
  TuningInput input = input_for({4, 16, 100});
  input.extensions = {"hypopg", "pg_cron", "pg_stat_statements"};
  const auto parameters = tune_postgres_parameters(input);
  const TunedParameter* preload = find(parameters, "shared_preload_libraries");
  ASSERT_NE(preload, nullptr);
  EXPECT_EQ(preload->value, "pg_stat_statements, auto_explain, pg_cron");
  EXPECT_EQ(preload->source, "StackGres default, with postgres.extensions: pg_cron, pg_stat_statements");
  const TunedParameter* cron = find(parameters, "cron.database_name");
  ASSERT_NE(cron, nullptr);
  EXPECT_EQ(cron->value, "postgres");
}

TEST(Tuning, ExtensionPreloadsMergeIntoTheUsersValue) {
  TuningInput input = input_for({4, 16, 100});
  input.inline_parameters = {{"shared_preload_libraries", "'pgaudit',pg_stat_statements"},
                             {"cron.database_name", "jobs"}};
  input.extensions = {"pg_cron", "pgaudit", "pg_stat_kcache"};
  const auto parameters = tune_postgres_parameters(input);
  EXPECT_EQ(find(parameters, "shared_preload_libraries")->value,
            "pgaudit, pg_stat_statements, pg_cron, pg_stat_kcache");
  EXPECT_EQ(find(parameters, "cron.database_name")->value, "jobs");

  input.extensions = {"hypopg"};  // needs no preload: the value is left as written
  EXPECT_EQ(find(tune_postgres_parameters(input), "shared_preload_libraries")->value, "'pgaudit',pg_stat_statements");
  EXPECT_EQ(find(tune_postgres_parameters(input), "cron.database_name")->value, "jobs");
}

TEST(Tuning, DependentRulesFollowTheUsersValues) {
  TuningInput input = input_for({4, 16, 100});
  input.inline_parameters = {{"shared_buffers", "262144"}, {"max_connections", "1000"}};  // 2GB in 8kB pages
  const auto values = by_name(tune_postgres_parameters(input));
  EXPECT_EQ(values.at("shared_buffers"), "262144");
  EXPECT_EQ(values.at("wal_buffers"), "64MB");  // 2GB / 32
}

TEST(Tuning, SortAndHashMemoryStayAtPostgresDefaultsOnEveryProfile) {
  // bench/tuning/workloads measured every larger value slower (docs/benchmarks.md).
  for (const auto& profile : kProfiles) {
    const auto values = by_name(tune_postgres_parameters(input_for(profile)));
    EXPECT_EQ(values.at("work_mem"), "4MB") << profile.cpus << " CPUs";
    EXPECT_EQ(values.at("maintenance_work_mem"), "64MB") << profile.cpus << " CPUs";
  }
}

TEST(Tuning, HugePagesAnInstanceMapsFromTheProfileOrEstimatedFromItsSharedMemory) {
  const std::int64_t mib = 1024 * 1024;
  // 24Gi, no hugePages in the profile: shared_buffers 6144MB, wal_buffers 64MB; Postgres 15 said 6265MB
  // for shared_buffers 6026MB with the same rules (postgres -C shared_memory_size): a little above that.
  TuningInput input = input_for({2, 24, 50});
  auto bytes = huge_pages_bytes(tune_postgres_parameters(input), input.profile);
  ASSERT_TRUE(bytes.has_value());
  EXPECT_EQ(*bytes, (6144 + 6144 / 32 + 64 + 64) * mib);
  // The profile's hugepages-2Mi is what it maps.
  input.profile.hugepages_2mi_bytes = 4096 * mib;
  EXPECT_EQ(huge_pages_bytes(tune_postgres_parameters(input), input.profile), 4096 * mib);
  // Under 8Gi huge_pages is off, as when the user turns it off: none.
  const TuningInput small = input_for({1, 2, 5});
  EXPECT_FALSE(huge_pages_bytes(tune_postgres_parameters(small), small.profile).has_value());
  TuningInput off = input_for({2, 24, 50});
  off.inline_parameters = {{"huge_pages", "OFF"}};
  EXPECT_FALSE(huge_pages_bytes(tune_postgres_parameters(off), off.profile).has_value());
  off.inline_parameters = {{"huge_pages", "True"}};
  EXPECT_TRUE(huge_pages_bytes(tune_postgres_parameters(off), off.profile).has_value());
}

TEST(Tuning, BlockedParametersNeverOverride) {
  std::vector<std::string> owned = model::blocked_postgres_parameters();
  owned.insert(owned.end(), {"cluster_name", "synchronous_standby_names", "hot_standby", "unix_socket_directories",
                             "data_directory", "primary_conninfo", "restore_command", "ssl_key_file"});
  for (const auto& name : owned) {
    SCOPED_TRACE(name);
    TuningInput input = input_for({1, 2, 5});
    input.postgres_config_name = "pgconf";
    input.postgres_config_parameters = {{name, "evil"}};
    std::string upper = name;
    std::transform(upper.begin(), upper.end(), upper.begin(), ::toupper);
    input.inline_parameters = {{upper, "evil2"}};
    EXPECT_TRUE(is_owned_postgres_parameter(name));
    EXPECT_EQ(find(tune_postgres_parameters(input), name), nullptr);
    const auto dropped = dropped_user_parameters(input);
    ASSERT_EQ(dropped.size(), 1u);
    EXPECT_EQ(dropped[0].name, name);
    EXPECT_EQ(dropped[0].value, "evil2");
  }
}

TEST(Tuning, InvalidNamesAreDropped) {
  TuningInput input = input_for({1, 2, 5});
  input.inline_parameters = {{"work_mem = '1GB'\nfsync", "off"}};
  EXPECT_EQ(tune_postgres_parameters(input).size(), tune_postgres_parameters(input_for({1, 2, 5})).size());
  ASSERT_EQ(dropped_user_parameters(input).size(), 1u);
  EXPECT_NE(dropped_user_parameters(input)[0].source.find("not a parameter name"), std::string::npos);
}

TEST(Tuning, NoParameterIsListedTwice) {
  for (const auto& profile : kProfiles) {
    auto parameters = tune_postgres_parameters(input_for(profile));
    std::vector<std::string> names;
    for (const auto& parameter : parameters) names.push_back(parameter.name);
    std::sort(names.begin(), names.end());
    EXPECT_EQ(std::adjacent_find(names.begin(), names.end()), names.end());
    for (const auto& name : names) EXPECT_FALSE(is_owned_postgres_parameter(name)) << name;
  }
}

TEST(Tuning, HugePagesInTheProfileCapSharedBuffers) {
  TuningInput input = input_for({4, 16, 100});
  input.profile.hugepages_2mi_bytes = 2LL << 30;  // 2Gi of huge pages, less than 25% of 16Gi
  const auto parameters = tune_postgres_parameters(input);
  EXPECT_EQ(find(parameters, "shared_buffers")->value, "1740MB");  // 85% of 2048MB
  EXPECT_EQ(find(parameters, "huge_pages")->value, "try");
}

TEST(Tuning, OlderMajorsGetTheirOwnParameters) {
  TuningInput input = input_for({1, 2, 5});
  input.postgres_major = 12;
  const auto values = by_name(tune_postgres_parameters(input));
  EXPECT_EQ(values.at("wal_keep_segments"), "40");  // 640MB in 16MB segments
  EXPECT_FALSE(values.contains("wal_keep_size"));
  EXPECT_FALSE(values.contains("max_slot_wal_keep_size"));
  EXPECT_FALSE(values.contains("default_toast_compression"));
  EXPECT_EQ(values.at("wal_compression"), "on");
  input.postgres_major = 0;  // the newest
  EXPECT_EQ(by_name(tune_postgres_parameters(input)).at("wal_compression"), "lz4");
}

TEST(Tuning, WithoutAVolumeWalIsSizedFromCpus) {
  TuningInput input = input_for({4, 16, 100});
  input.volume_bytes.reset();
  const auto values = by_name(tune_postgres_parameters(input));
  EXPECT_EQ(values.at("max_wal_size"), "4GB");
  EXPECT_EQ(values.at("min_wal_size"), "1GB");
  EXPECT_EQ(values.at("wal_keep_size"), "1536MB");
  EXPECT_FALSE(values.contains("max_slot_wal_keep_size"));
}

TEST(Tuning, InputFromACluster) {
  model::Cluster cluster = testing::demo_cluster();
  cluster.volume_size = "20Gi";
  cluster.storage_kind = model::StorageKind::kHdd;
  cluster.inline_postgres_parameters = {{"work_mem", "8MB"}};
  model::PostgresConfig config{"pgconf", "15", {{"work_mem", "16MB"}}};
  const TuningInput input = tuning_input_for(cluster, profile_of(2, 4), &config, 15);
  EXPECT_EQ(input.volume_bytes, 20LL << 30);
  EXPECT_EQ(input.storage_kind, model::StorageKind::kHdd);
  EXPECT_EQ(input.instances, 3);
  EXPECT_EQ(find(tune_postgres_parameters(input), "work_mem")->value, "8MB");
}

TEST(Tuning, DcsParametersAreTheOnesPatroniReadsFromTheDcs) {
  for (const char* name :
       {"max_connections", "max_worker_processes", "wal_level", "max_wal_senders", "wal_keep_size"}) {
    EXPECT_TRUE(is_dcs_postgres_parameter(name)) << name;
  }
  EXPECT_FALSE(is_dcs_postgres_parameter("work_mem"));
  EXPECT_FALSE(is_dcs_postgres_parameter("shared_buffers"));
}

TEST(Tuning, FormatMegabytes) {
  EXPECT_EQ(format_megabytes(512), "512MB");
  EXPECT_EQ(format_megabytes(1024), "1GB");
  EXPECT_EQ(format_megabytes(1536), "1536MB");
  EXPECT_EQ(format_megabytes(131072), "128GB");
}

}  // namespace
}  // namespace pgstack::config
