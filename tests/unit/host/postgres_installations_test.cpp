// Needs Postgres 15 installed under /usr/lib/postgresql (initdb, pg_ctl, psql, pg_stat_statements,
// auto_explain); as root the servers run as the `postgres` system user.
#include "host/postgres_installations.h"

#include <cfloat>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <pwd.h>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

#include <gtest/gtest.h>

#include "common/files.h"
#include "common/process.h"
#include "host/machine.h"

namespace pgstack::host {
namespace {

namespace fs = std::filesystem;

class TemporaryDirectory {
 public:
  TemporaryDirectory() {
    std::string pattern = (fs::temp_directory_path() / "pgstack-host-test-XXXXXX").string();
    if (::mkdtemp(pattern.data()) != nullptr) path_ = pattern;
  }
  ~TemporaryDirectory() {
    std::error_code ignored;
    if (!path_.empty()) fs::remove_all(path_, ignored);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// Sets an environment variable for one test and puts the old value back afterwards.
class ScopedEnvironment {
 public:
  ScopedEnvironment(const char* name, std::optional<std::string> value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value) {
      ::setenv(name, value->c_str(), 1);
    } else {
      ::unsetenv(name);
    }
  }
  ~ScopedEnvironment() {
    if (old_) {
      ::setenv(name_, old_->c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

std::optional<PostgresInstallation> installed_15() {
  for (const auto& installation : find_postgres_installations()) {
    if (installation.major == 15) return installation;
  }
  return std::nullopt;
}

void write_script(const fs::path& path, const std::string& body) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << "#!/bin/sh\n" << body << "\n";
  fs::permissions(path, fs::perms(0755));
}

TEST(PostgresInstallations, FindsTheInstalledPostgres15) {
  const auto installation = installed_15();
  ASSERT_TRUE(installation) << "Postgres 15 is not installed under /usr/lib/postgresql";
  EXPECT_EQ(installation->bin_dir, fs::path("/usr/lib/postgresql/15/bin"));
  EXPECT_EQ(installation->version.rfind("15.", 0), 0u) << installation->version;
  EXPECT_EQ(installation->version.find(' '), std::string::npos) << installation->version;
}

TEST(PostgresInstallations, RootCanBeOverriddenAndResultsAreSortedByMajor) {
  TemporaryDirectory root;
  write_script(root.path() / "16" / "bin" / "postgres", "echo 'postgres (PostgreSQL) 16devel'");
  write_script(root.path() / "13" / "bin" / "postgres", "echo 'postgres (PostgreSQL) 13.4 (Debian 13.4-1)'");
  write_script(root.path() / "9.6" / "bin" / "postgres", "echo 'postgres (PostgreSQL) 9.6.24'");
  write_script(root.path() / "broken" / "bin" / "postgres", "echo 'not postgres'");
  write_script(root.path() / "failing" / "bin" / "postgres", "exit 1");
  fs::create_directories(root.path() / "empty" / "bin");
  std::ofstream(root.path() / "README") << "not a directory\n";
  ScopedEnvironment environment("PGSTACK_POSTGRES_ROOT", root.path().string());

  const auto installations = find_postgres_installations();
  ASSERT_EQ(installations.size(), 2u);
  EXPECT_EQ(installations[0].major, 13);
  EXPECT_EQ(installations[0].version, "13.4");
  EXPECT_EQ(installations[0].bin_dir, root.path() / "13" / "bin");
  EXPECT_EQ(installations[1].major, 16);
  EXPECT_EQ(installations[1].version, "16devel");
}

TEST(PostgresInstallations, MissingRootFindsNothing) {
  ScopedEnvironment environment("PGSTACK_POSTGRES_ROOT", "/nonexistent/pgstack/postgresql");
  EXPECT_TRUE(find_postgres_installations().empty());
}

TEST(PostgresInstallations, DefaultCacheDirFollowsTheEnvironment) {
  {
    ScopedEnvironment cache("PGSTACK_CACHE_DIR", "/var/cache/pgstack-test");
    EXPECT_EQ(default_cache_dir(), fs::path("/var/cache/pgstack-test"));
  }
  ScopedEnvironment cache("PGSTACK_CACHE_DIR", std::nullopt);
  {
    ScopedEnvironment xdg("XDG_CACHE_HOME", "/xdg");
    EXPECT_EQ(default_cache_dir(), fs::path("/xdg/pgstack"));
  }
  ScopedEnvironment xdg("XDG_CACHE_HOME", std::nullopt);
  ScopedEnvironment home("HOME", "/home/someone");
  EXPECT_EQ(default_cache_dir(), fs::path("/home/someone/.cache/pgstack"));
}

TEST(ParameterCatalogLoad, ReadsPgSettingsOfTheRealServerThenUsesTheCache) {
  const auto installation = installed_15();
  ASSERT_TRUE(installation);
  TemporaryDirectory cache;
  const fs::path cache_dir = cache.path() / "nested" / "cache";
  // A private TMPDIR shows that the server's scratch directory is removed; the server's user must reach it.
  TemporaryDirectory scratch;
  fs::permissions(scratch.path(), fs::perms(0711));
  ScopedEnvironment tmpdir("TMPDIR", scratch.path().string());

  const auto started = std::chrono::steady_clock::now();
  const auto catalog = load_parameter_catalog(*installation, cache_dir);
  const auto uncached = std::chrono::steady_clock::now() - started;
  ASSERT_TRUE(catalog.ok()) << catalog.error().message;
  std::cout << "uncached load: " << std::chrono::duration_cast<std::chrono::milliseconds>(uncached).count() << " ms, "
            << catalog->size() << " parameters\n";

  EXPECT_EQ(catalog->major_version(), 15);
  EXPECT_EQ(catalog->server_version(), installation->version);
  EXPECT_GT(catalog->size(), 300u);

  const auto* shared_buffers = catalog->find("shared_buffers");
  ASSERT_NE(shared_buffers, nullptr);
  EXPECT_EQ(shared_buffers->type, model::ParameterType::kInteger);
  EXPECT_EQ(shared_buffers->unit, "8kB");
  EXPECT_EQ(shared_buffers->context, "postmaster");
  EXPECT_EQ(shared_buffers->min_value, 16);
  EXPECT_EQ(shared_buffers->max_value, 1073741823);
  EXPECT_EQ(shared_buffers->default_value, "16384");  // boot_val: 128MB in 8kB pages
  EXPECT_FALSE(shared_buffers->short_description.empty());
  EXPECT_EQ(model::parameter_value_in_base_unit(*shared_buffers, "128MB").value(), 16384);

  const auto* wal_level = catalog->find("wal_level");
  ASSERT_NE(wal_level, nullptr);
  EXPECT_EQ(wal_level->type, model::ParameterType::kEnum);
  EXPECT_EQ(wal_level->enum_values, (std::vector<std::string>{"minimal", "replica", "logical"}));
  EXPECT_EQ(wal_level->default_value, "replica");

  const auto* random_page_cost = catalog->find("random_page_cost");
  ASSERT_NE(random_page_cost, nullptr);
  EXPECT_EQ(random_page_cost->type, model::ParameterType::kReal);
  EXPECT_EQ(random_page_cost->max_value, DBL_MAX);  // pg_settings prints it as 1.79769e+308

  EXPECT_EQ(catalog->find("enable_seqscan")->type, model::ParameterType::kBool);
  EXPECT_EQ(catalog->find("application_name")->type, model::ParameterType::kString);
  EXPECT_EQ(catalog->find("statement_timeout")->unit, "ms");
  EXPECT_EQ(catalog->find("work_mem")->unit, "kB");
  EXPECT_EQ(catalog->find("max_connections")->unit, "");

  // The preloaded extensions' parameters are there.
  const auto* statements_max = catalog->find("pg_stat_statements.max");
  ASSERT_NE(statements_max, nullptr);
  EXPECT_EQ(statements_max->context, "postmaster");
  EXPECT_NE(catalog->find("pg_stat_statements.track"), nullptr);
  EXPECT_NE(catalog->find("auto_explain.log_min_duration"), nullptr);

  const fs::path cache_file = cache_dir / ("postgres-" + installation->version + "-parameters.json");
  ASSERT_TRUE(fs::exists(cache_file));
  EXPECT_FALSE(fs::exists(cache_file.string() + ".tmp"));

  // Mark the cached copy: the second load must return it instead of starting a server.
  auto cached = nlohmann::json::parse(read_file(cache_file).value());
  for (auto& parameter : cached["parameters"]) {
    if (parameter["name"] == "shared_buffers") parameter["description"] = "from the cache";
  }
  ASSERT_TRUE(write_file_atomically(cache_file, cached.dump()).ok());
  const auto again_started = std::chrono::steady_clock::now();
  const auto again = load_parameter_catalog(*installation, cache_dir);
  const auto cached_time = std::chrono::steady_clock::now() - again_started;
  ASSERT_TRUE(again.ok()) << again.error().message;
  std::cout << "cached load: " << std::chrono::duration_cast<std::chrono::milliseconds>(cached_time).count() << " ms\n";
  EXPECT_EQ(again->find("shared_buffers")->short_description, "from the cache");
  EXPECT_EQ(again->size(), catalog->size());

  EXPECT_TRUE(fs::is_empty(scratch.path()));
}

TEST(ParameterCatalogLoad, BrokenOrStaleCacheIsRebuilt) {
  const auto installation = installed_15();
  ASSERT_TRUE(installation);
  TemporaryDirectory cache;
  const fs::path cache_file = cache.path() / ("postgres-" + installation->version + "-parameters.json");
  // A catalogue of another version under this version's name is stale, not trusted.
  ASSERT_TRUE(
      write_file_atomically(cache_file, R"({"major_version": 14, "server_version": "14.1", "parameters": []})").ok());

  const auto catalog = load_parameter_catalog(*installation, cache.path());
  ASSERT_TRUE(catalog.ok()) << catalog.error().message;
  EXPECT_EQ(catalog->major_version(), 15);
  EXPECT_NE(catalog->find("shared_buffers"), nullptr);
  const auto rewritten = model::ParameterCatalog::from_json(nlohmann::json::parse(read_file(cache_file).value()));
  ASSERT_TRUE(rewritten.ok()) << rewritten.error().message;
  EXPECT_EQ(rewritten->server_version(), installation->version);
}

TEST(ParameterCatalogLoad, FailureSaysWhatFailed) {
  TemporaryDirectory cache;
  const PostgresInstallation missing{15, "15.0", "/nonexistent/pgstack/bin"};
  const auto catalog = load_parameter_catalog(missing, cache.path());
  ASSERT_FALSE(catalog.ok());
  EXPECT_NE(catalog.error().message.find("Postgres 15.0"), std::string::npos) << catalog.error().message;
  EXPECT_NE(catalog.error().message.find("initdb"), std::string::npos) << catalog.error().message;
  EXPECT_FALSE(fs::exists(cache.path() / "postgres-15.0-parameters.json"));
  std::cout << catalog.error().message << "\n";
}

TEST(ParameterCatalogLoad, FailureIncludesTheToolsErrorOutput) {
  TemporaryDirectory cache;
  TemporaryDirectory fake;
  fs::permissions(fake.path(), fs::perms(0755));  // the server's user must run these
  const fs::path bin_dir = fake.path() / "bin";
  write_script(bin_dir / "initdb", "echo 'initdb: error: the disk is on fire' >&2; exit 1");
  const auto failed_initdb = load_parameter_catalog({15, "15.0", bin_dir}, cache.path());
  ASSERT_FALSE(failed_initdb.ok());
  EXPECT_NE(failed_initdb.error().message.find("initdb"), std::string::npos) << failed_initdb.error().message;
  EXPECT_NE(failed_initdb.error().message.find("the disk is on fire"), std::string::npos)
      << failed_initdb.error().message;

  // initdb works, the server does not start: the error shows pg_ctl's complaint.
  write_script(bin_dir / "initdb", "mkdir -p \"$2\" && touch \"$2/postgresql.conf\"");
  write_script(bin_dir / "pg_ctl",
               "if [ \"$1\" = start ]; then echo 'pg_ctl: could not start server' >&2; exit 1; fi; exit 0");
  const auto failed_start = load_parameter_catalog({15, "15.0", bin_dir}, cache.path());
  ASSERT_FALSE(failed_start.ok());
  EXPECT_NE(failed_start.error().message.find("pg_ctl start failed"), std::string::npos)
      << failed_start.error().message;
  EXPECT_NE(failed_start.error().message.find("could not start server"), std::string::npos)
      << failed_start.error().message;
}

// Postgres itself as the oracle: `postgres -C name -c name=value` checks a value the way the server
// does at start, without a data directory (only postgresql.conf is read).
class PostgresOracle {
 public:
  explicit PostgresOracle(fs::path bin_dir) : bin_dir_(std::move(bin_dir)) {
    std::ofstream(config_dir_.path() / "postgresql.conf") << "\n";
    options_.run_as_user = unprivileged_service_user();
    options_.working_directory = config_dir_.path().string();
    if (options_.run_as_user) {
      const passwd* entry = ::getpwnam(options_.run_as_user->c_str());
      if (entry != nullptr) {
        ::chown(config_dir_.path().c_str(), entry->pw_uid, entry->pw_gid);
        ::chown((config_dir_.path() / "postgresql.conf").c_str(), entry->pw_uid, entry->pw_gid);
      }
    }
  }

  struct Verdict {
    bool accepted = false;
    std::string output;  // the stored value when accepted, else why not
  };

  Verdict check(const std::string& name, const std::string& value) {
    auto output = run_command(
        {(bin_dir_ / "postgres").string(), "-D", config_dir_.path().string(), "-c", name + "=" + value, "-C", name},
        options_);
    if (!output.ok()) return {false, output.error().message};
    if (output->exit_code != 0) return {false, output->standard_error};
    std::string printed = output->standard_output;
    while (!printed.empty() && printed.back() == '\n') printed.pop_back();
    return {true, printed};
  }

 private:
  fs::path bin_dir_;
  TemporaryDirectory config_dir_;
  CommandOptions options_;
};

TEST(ParameterCatalogLoad, ValueChecksAgreeWithTheRealServer) {
  const auto installation = installed_15();
  ASSERT_TRUE(installation);
  TemporaryDirectory cache;
  const auto catalog = load_parameter_catalog(*installation, cache.path());
  ASSERT_TRUE(catalog.ok()) << catalog.error().message;

  std::vector<std::pair<std::string, std::string>> cases;
  const auto add = [&](const std::string& name, const std::vector<std::string>& values) {
    for (const auto& value : values) cases.emplace_back(name, value);
  };
  // Parameters without check hooks, so only the parsing and the range decide.
  add("shared_buffers",
      {"128MB", "128",      "16",         "15",      "1073741823", "1073741824", "7TB",
       "8TB",   "131072kB", "134217728B", " 128MB ", "128 MB",     "+128MB",     "0x10",
       "020",   "010",      "1e3",        "16.5",    "17.5",       "0.1GB",      "1.00001MB",
       "1.5kB", "4XB",      "128mb",      "128KB",   "128MBs",     "128 MB x",   "0x",
       "",      "-1",       "nan",        "inf",     "1e400",      "2147483648", "99999999999999999999",
       "12,8",  "0x1p4"});
  add("work_mem", {"4MB", "63", "64", "65536B", "65537B", "0.5MB", "1TB", "2TB", "1.5kB", "1 kB"});
  add("min_wal_size", {"80MB", "1GB", "2097152kB", "2621440B", "3670016B", "1MB"});
  add("log_parameter_max_length", {"-1", "-2", "1kB", "1GB", "0x3FFFFFFF", "-0x1"});
  add("statement_timeout", {"1s", "1 s", "1min", "1h", "1d", "24d", "25d", "1500us", "2500us", "500us", "1.5s", "-1",
                            "1 sec", "1S", "1m", "1mins", "1MB", "1d1h"});
  add("checkpoint_timeout", {"5min", "30", "29", "1d", "2d", "30000ms", "29500ms", "28500ms", "0.5min"});
  add("log_rotation_age", {"1d", "90s", "30s", "1h", "60000ms", "150s"});
  add("extra_float_digits", {"-15", "-16", "3", "-1.5", "- 1", "--1", ".5e1", "2MB"});
  add("random_page_cost", {"4", "1.1", ".5", "5.", "1e308", "1.7976931348623157e308", "0x1p3", "010", "-0.5", "inf",
                           "nan", "1e400", "1e-400", "1,5", "4ms", ""});
  add("vacuum_cost_delay", {"2ms", "0.5ms", "1500us", "0.1s", "0.2s", "100", "100.5", "-1", "2kB"});
  add("checkpoint_completion_target", {"0.9", "1", "1.0000001"});
  add("enable_seqscan", {"on", "ON", "off", "of", "o", "true", "tru", "t",  "false", "f",    "yes", "y",
                         "no", "n",  "1",   "0",  "",  " on",  "on ", "01", "2",     "yess", "onn", "maybe"});
  // Every core enum, with its listed values and the words Postgres may hide.
  for (const auto& name : catalog->names()) {
    const auto* spec = catalog->find(name);
    if (spec->type != model::ParameterType::kEnum || name.find('.') != std::string::npos) continue;
    for (const auto& value : spec->enum_values) {
      cases.emplace_back(name, value);
      std::string upper = value;
      for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      cases.emplace_back(name, upper);
    }
    add(name, {"true", "false", "yes", "no", "1", "0", "on", "off", "t", "of", "debug", "info", "archive",
               "hot_standby", "nonsense", ""});
  }

  // Each verdict is a `postgres -C` process, most of this test's time: four at once, each with its own
  // configuration directory.
  constexpr std::size_t kWorkers = 4;
  std::vector<PostgresOracle::Verdict> verdicts(cases.size());
  std::vector<std::thread> workers;
  for (std::size_t worker = 0; worker < kWorkers; ++worker) {
    workers.emplace_back([&, worker] {
      PostgresOracle own_oracle(installation->bin_dir);
      for (std::size_t i = worker; i < cases.size(); i += kWorkers)
        verdicts[i] = own_oracle.check(cases[i].first, cases[i].second);
    });
  }
  for (auto& worker : workers) worker.join();

  int disagreements = 0;
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const auto& [name, value] = cases[i];
    const auto* spec = catalog->find(name);
    ASSERT_NE(spec, nullptr) << name;
    const auto ours = model::check_parameter_value(*spec, value);
    const auto& theirs = verdicts[i];
    if (!ours.has_value() != theirs.accepted) {
      ++disagreements;
      ADD_FAILURE() << name << " = \"" << value << "\": Postgres "
                    << (theirs.accepted ? "accepts it" : "rejects it: " + theirs.output) << "; we "
                    << (ours ? "reject it: " + *ours : std::string("accept it"));
      continue;
    }
    if (!theirs.accepted || spec->type != model::ParameterType::kInteger) continue;
    // Both accept: the stored number must be the same too.
    const auto converted = model::parameter_value_in_base_unit(*spec, value);
    ASSERT_TRUE(converted.ok());
    EXPECT_EQ(std::to_string(static_cast<long long>(converted.value())), theirs.output)
        << name << " = \"" << value << "\"";
  }
  std::cout << cases.size() << " values checked against postgres -C\n";
  EXPECT_EQ(disagreements, 0);
}

TEST(MachineResources, AreReadAndPositive) {
  const MachineResources resources = read_machine_resources();
  EXPECT_GE(resources.cpu_millicores, 1000);
  EXPECT_LE(resources.cpu_millicores, std::int64_t{1024} * 1000);
  EXPECT_GT(resources.memory_bytes, std::int64_t{64} << 20);
  EXPECT_EQ(resources.memory_bytes % 1024, 0);
}

TEST(PgBouncerVersion, ParsedFromVersionOutput) {
  EXPECT_EQ(parse_pgbouncer_version("PgBouncer 1.18.0\nlibevent 2.1.12-stable\n"), "1.18.0");
  EXPECT_EQ(parse_pgbouncer_version("PgBouncer 1.24.1"), "1.24.1");
  EXPECT_EQ(parse_pgbouncer_version("something else"), "");
}

}  // namespace
}  // namespace pgstack::host
