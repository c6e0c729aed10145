// The `pgstack` binary as a user runs it: exit codes, messages on stderr, output on stdout.
#include <filesystem>
#include <unistd.h>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "common/files.h"
#include "common/process.h"
#include "model/codec.h"

namespace pgstack {
namespace {

CommandOutput pgstack_cli(std::vector<std::string> arguments, const std::string& input = "") {
  arguments.insert(arguments.begin(), PGSTACK_BINARY);
  auto result = run_command(arguments, {.working_directory = PGSTACK_SOURCE_DIR, .standard_input = input});
  EXPECT_TRUE(result.ok());
  return result.ok() ? result.value() : CommandOutput{};
}

TEST(CliValidate, AcceptsTheExamples) {
  const auto out = pgstack_cli({"validate", "-f", "examples/minimal-cluster.yaml", "-f", "examples/production.yaml",
                                "-f", "examples/restore-pitr.yaml"});
  EXPECT_EQ(out.exit_code, 0) << out.standard_error;
  EXPECT_NE(out.standard_error.find("examples/production.yaml: SGCluster/orders is valid"), std::string::npos);
  EXPECT_NE(out.standard_error.find("examples/restore-pitr.yaml: SGCluster/demo-restored is valid"), std::string::npos);
  EXPECT_EQ(out.standard_error.find("warning:"), std::string::npos) << out.standard_error;
}

TEST(CliValidate, WarnsAboutPoolLimitsAboveWhatPostgresTakes) {
  const std::string manifests = R"(
apiVersion: stackgres.io/v1
kind: SGPoolingConfig
metadata: {name: poolconf}
spec: {pgBouncer: {pgbouncer.ini: {pgbouncer: {default_pool_size: '1000', max_db_connections: '0'}}}}
---
apiVersion: stackgres.io/v1
kind: SGCluster
metadata: {name: demo}
spec:
  instances: 1
  postgres: {version: '15'}
  pods: {persistentVolume: {size: 5Gi}}
  configurations: {sgPoolingConfig: poolconf}
)";
  const std::string warning =
      R"(<stdin>: SGPoolingConfig/poolconf spec.pgBouncer."pgbouncer.ini".pgbouncer.max_db_connections: warning: for )"
      "SGCluster/demo: max_db_connections 0 (no limit) is more than the 87 server connections Postgres has for "
      "PgBouncer (max_connections 100 - superuser_reserved_connections 8 - 5 outside PgBouncer";
  const auto validated = pgstack_cli({"validate", "-f", "-"}, manifests);
  EXPECT_EQ(validated.exit_code, 0) << validated.standard_error;
  EXPECT_NE(validated.standard_error.find(warning), std::string::npos) << validated.standard_error;
  EXPECT_NE(validated.standard_error.find("<stdin>: SGCluster/demo is valid"), std::string::npos);

  const auto rendered = pgstack_cli({"render", "-f", "-", "--what", "pgbouncer"}, manifests);
  EXPECT_EQ(rendered.exit_code, 0) << rendered.standard_error;
  EXPECT_NE(rendered.standard_error.find(warning), std::string::npos) << rendered.standard_error;
  EXPECT_NE(rendered.standard_output.find("; warning: max_db_connections 0 (no limit)"), std::string::npos);
  EXPECT_NE(rendered.standard_output.find("\nmax_db_connections = 0\n"), std::string::npos) << rendered.standard_output;
}

// validate is an offline check: a StackGres manifest for a major this host lacks is valid, with a
// warning, and its other fields are still checked; -o yaml keeps 'off' a string for kubectl.
TEST(CliValidate, AMajorNotInstalledIsAWarningNotAnError) {
  const std::string manifest = R"(
apiVersion: stackgres.io/v1
kind: SGCluster
metadata: {name: legacy}
spec:
  instances: 1
  postgres: {version: '11'}
  pods: {persistentVolume: {size: 1.5Gi}}
  configurations:
    postgres:
      postgresql.conf: {jit: 'off', app.tenant: acme}
)";
  const auto out = pgstack_cli({"validate", "-f", "-", "-o", "yaml"}, manifest);
  EXPECT_EQ(out.exit_code, 0) << out.standard_error;
  EXPECT_NE(out.standard_error.find("<stdin>: SGCluster/legacy spec.postgres.version: warning: PostgreSQL 11 is not "
                                    "installed on this host"),
            std::string::npos)
      << out.standard_error;
  EXPECT_NE(out.standard_output.find("jit: 'off'"), std::string::npos) << out.standard_output;

  std::string bad = manifest;
  bad.replace(bad.find("jit: 'off'"), 10, "port: '5433'");
  const auto refused = pgstack_cli({"validate", "-f", "-"}, bad);
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.standard_error.find("postgresql.conf\".port: cannot be set"), std::string::npos)
      << refused.standard_error;
}

TEST(CliValidate, RejectsWithFieldPathsAndExitOne) {
  const auto out = pgstack_cli({"validate", "-f", "examples/invalid/cluster-errors.yaml"});
  EXPECT_EQ(out.exit_code, 1);
  EXPECT_NE(
      out.standard_error.find(
          R"(examples/invalid/cluster-errors.yaml: SGCluster/demo spec.instances: expected an integer >= 1, got "three")"),
      std::string::npos)
      << out.standard_error;
  EXPECT_NE(out.standard_error.find("6 errors found"), std::string::npos) << out.standard_error;
  EXPECT_TRUE(out.standard_output.empty());
}

TEST(CliValidate, SecretsAreCheckedButNeverEchoed) {
  for (const char* example : {"examples/s3-backups.yaml", "examples/cloud-backups.yaml"}) {
    const auto good = pgstack_cli({"validate", "-f", example, "-o", "yaml"});
    EXPECT_EQ(good.exit_code, 0) << example << ": " << good.standard_error;
    EXPECT_NE(good.standard_output.find("kind: SGObjectStorage"), std::string::npos) << example;
    EXPECT_EQ(good.standard_output.find("REPLACE-WITH-"), std::string::npos) << good.standard_output;
  }

  const auto bad = pgstack_cli({"validate", "-f", "-"},
                               "apiVersion: v1\nkind: Secret\nmetadata: {name: creds}\ndata: {key: 'hunter2!'}\n");
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.standard_error.find("<stdin>: Secret/creds: Secret data.key: expected base64"), std::string::npos)
      << bad.standard_error;
  EXPECT_EQ(bad.standard_error.find("hunter2"), std::string::npos) << bad.standard_error;
}

TEST(CliValidate, ChecksParameterValuesAgainstTheInstalledCatalogue) {
  const std::string manifest = R"(
apiVersion: stackgres.io/v1
kind: SGPostgresConfig
metadata: {name: conf}
spec:
  postgresVersion: '15'
  postgresql.conf: {shared_buffers: 4XB, checkpoint_timeout: 15min, wal_level: logicl}
)";
  const auto out = pgstack_cli({"validate", "-f", "-"}, manifest);
  EXPECT_EQ(out.exit_code, 1);
  EXPECT_NE(out.standard_error.find(
                "<stdin>: SGPostgresConfig/conf spec.\"postgresql.conf\".shared_buffers: expected an integer"),
            std::string::npos)
      << out.standard_error;
  EXPECT_NE(out.standard_error.find("wal_level: expected one of"), std::string::npos) << out.standard_error;
  EXPECT_EQ(out.standard_error.find("checkpoint_timeout"), std::string::npos) << out.standard_error;
}

TEST(CliValidate, MissingFileIsAnError) {
  const auto out = pgstack_cli({"validate", "-f", "no-such-file.yaml"});
  EXPECT_EQ(out.exit_code, 1);
  EXPECT_NE(out.standard_error.find("no-such-file.yaml: cannot read"), std::string::npos) << out.standard_error;
}

// A fresh directory for one test's manifests, removed at the end of the test.
class ManifestDirectory {
 public:
  explicit ManifestDirectory(const std::string& name)
      : path_(std::filesystem::temp_directory_path() / fmt::format("pgstack-cli-{}-{}", name, ::getpid())) {
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~ManifestDirectory() { std::filesystem::remove_all(path_); }
  ManifestDirectory(const ManifestDirectory&) = delete;
  ManifestDirectory& operator=(const ManifestDirectory&) = delete;

  std::string write(const std::string& name, const std::string& content) const {
    std::filesystem::create_directories((path_ / name).parent_path());
    EXPECT_TRUE(write_file_atomically(path_ / name, content).ok());
    return (path_ / name).string();
  }
  std::string path() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

std::string instance_profile(const std::string& name, const std::string& cpu = "\"1\"") {
  return fmt::format(
      "apiVersion: stackgres.io/v1\nkind: SGInstanceProfile\nmetadata: {{name: {}}}\n"
      "spec: {{cpu: {}, memory: 2Gi}}\n",
      name, cpu);
}

TEST(CliValidate, FileNameTooLongIsAnErrorNotACrash) {
  const std::string name = std::string(300, 'a') + ".yaml";
  for (const char* command : {"validate", "render", "apply"}) {
    const auto out = pgstack_cli({command, "-f", name});
    EXPECT_EQ(out.exit_code, 1) << command << ": " << out.standard_error;
    EXPECT_NE(out.standard_error.find(name + ": cannot read: File name too long\n"), std::string::npos)
        << out.standard_error;
  }
}

TEST(CliValidate, DeepNestingIsRefusedAtTheLimitWithOneError) {
  const ManifestDirectory dir("deep");
  const std::string file = dir.write("deep.yaml", std::string(50000, '[') + std::string(50000, ']') + "\n");
  const auto out = pgstack_cli({"validate", "-f", file});
  EXPECT_EQ(out.exit_code, 1);
  EXPECT_EQ(out.standard_error, file +
                                    ": line 1, column 65: nested deeper than 64 levels, the limit for a manifest\n"
                                    "1 error found; nothing is valid until all are fixed\n");
}

TEST(CliValidate, DirectoryIsReadLikeKubectlApply) {
  const ManifestDirectory dir("directory");
  dir.write("b.yaml", instance_profile("b"));
  dir.write("a.yml", instance_profile("a"));
  dir.write("c.json", R"({"apiVersion": "stackgres.io/v1", "kind": "SGInstanceProfile", "metadata": {"name": "c"},
                          "spec": {"cpu": "1", "memory": "2Gi"}})");
  dir.write("notes.txt", "not a manifest: [");
  dir.write("nested/d.yaml", "not read: [");
  const auto good = pgstack_cli({"validate", "-f", dir.path()});
  EXPECT_EQ(good.exit_code, 0) << good.standard_error;
  EXPECT_EQ(good.standard_error, fmt::format("{0}/a.yml: SGInstanceProfile/a is valid\n"
                                             "{0}/b.yaml: SGInstanceProfile/b is valid\n"
                                             "{0}/c.json: SGInstanceProfile/c is valid\n",
                                             dir.path()));

  dir.write("e.yaml", instance_profile("e", "many"));
  const auto bad = pgstack_cli({"validate", "-f", dir.path()});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.standard_error.find(dir.path() + "/e.yaml: SGInstanceProfile/e spec.cpu:"), std::string::npos)
      << bad.standard_error;

  const ManifestDirectory empty("empty-directory");
  const auto none = pgstack_cli({"validate", "-f", empty.path()});
  EXPECT_EQ(none.exit_code, 1);
  EXPECT_NE(none.standard_error.find(empty.path() + ": no documents"), std::string::npos) << none.standard_error;
}

TEST(CliValidate, InputWithoutDocumentsIsAnError) {
  const ManifestDirectory dir("no-documents");
  for (const char* content : {"", "---\n", "# only a comment\n---\n---\n"}) {
    const std::string file = dir.write("empty.yaml", content);
    for (const char* command : {"validate", "render"}) {
      const auto out = pgstack_cli({command, "-f", file});
      EXPECT_EQ(out.exit_code, 1) << command << " " << content;
      EXPECT_EQ(out.standard_error.rfind(file + ": no documents\n", 0), 0u) << out.standard_error;
    }
  }
  const auto stdin_out = pgstack_cli({"validate", "-f", "-"}, "");
  EXPECT_EQ(stdin_out.exit_code, 1);
  EXPECT_NE(stdin_out.standard_error.find("<stdin>: no documents"), std::string::npos) << stdin_out.standard_error;
}

TEST(CliValidate, UnreadableFileIsAnErrorThatSaysWhy) {
  // Opens but fails to read, even for root: page 0 of pgstack's own memory is not mapped.
  const auto out = pgstack_cli({"validate", "-f", "/proc/self/mem"});
  EXPECT_EQ(out.exit_code, 1);
  EXPECT_NE(out.standard_error.find("/proc/self/mem: cannot read: Input/output error\n"), std::string::npos)
      << out.standard_error;
  if (::geteuid() == 0) return;  // root reads a file of mode 000
  const ManifestDirectory dir("unreadable");
  const std::string file = dir.write("locked.yaml", instance_profile("locked"));
  std::filesystem::permissions(file, std::filesystem::perms::none);
  const auto locked = pgstack_cli({"validate", "-f", file});
  EXPECT_EQ(locked.exit_code, 1);
  EXPECT_NE(locked.standard_error.find(file + ": cannot read: Permission denied\n"), std::string::npos)
      << locked.standard_error;
}

TEST(CliValidate, ASyntaxErrorIsTheOnlyErrorOfItsDocument) {
  const auto out = pgstack_cli({"validate", "-f", "-"}, "kind: A\nkind: B\n---\n" + instance_profile("fine"));
  EXPECT_EQ(out.exit_code, 1);
  EXPECT_EQ(out.standard_error,
            "<stdin>: document 1: line 2: duplicate key \"kind\"\n"
            "1 error found; nothing is valid until all are fixed\n");
}

TEST(CliValidate, OutputYamlHasDefaultsAndRoundTrips) {
  const auto out = pgstack_cli({"validate", "-f", "examples/minimal-cluster.yaml", "-o", "yaml"});
  ASSERT_EQ(out.exit_code, 0) << out.standard_error;
  EXPECT_NE(out.standard_output.find("mode: async"), std::string::npos) << out.standard_output;
  EXPECT_NE(out.standard_output.find("version: latest"), std::string::npos) << out.standard_output;
  const auto again = pgstack_cli({"validate", "-f", "-", "-o", "yaml"}, out.standard_output);
  EXPECT_EQ(again.exit_code, 0) << again.standard_error;
  EXPECT_EQ(again.standard_output, out.standard_output);
}

TEST(CliRender, PrintsTheThreeFilesOfAnInstance) {
  const auto out = pgstack_cli({"render", "-f", "examples/production.yaml", "--cluster", "orders", "--instance", "2"});
  ASSERT_EQ(out.exit_code, 0) << out.standard_error;
  EXPECT_NE(out.standard_output.find("postgresql.conf ====="), std::string::npos);
  EXPECT_NE(out.standard_output.find("shared_buffers = '4GB'  # 25% of 16Gi memory"), std::string::npos);
  EXPECT_NE(out.standard_output.find("name: orders-2"), std::string::npos) << out.standard_output;
  EXPECT_NE(out.standard_output.find("synchronous_mode: true"), std::string::npos);
  EXPECT_NE(out.standard_output.find("pool_mode = transaction"), std::string::npos) << out.standard_output;
}

TEST(CliRender, OnlyOneFileAndDefaultProfile) {
  const auto out = pgstack_cli({"render", "-f", "examples/minimal-cluster.yaml", "--what", "postgresql"});
  ASSERT_EQ(out.exit_code, 0) << out.standard_error;
  EXPECT_EQ(out.standard_output.find("====="), std::string::npos);
  EXPECT_NE(out.standard_output.find("shared_buffers = '512MB'  # 25% of 2Gi memory"), std::string::npos)
      << out.standard_output;
}

TEST(CliRender, ClearErrorsForBadSelections) {
  auto out = pgstack_cli({"render", "-f", "examples/minimal-cluster.yaml", "--instance", "1"});
  EXPECT_EQ(out.exit_code, 1);
  EXPECT_NE(out.standard_error.find("--instance 1 is out of range: SGCluster/simple has 1 instance (0..0)"),
            std::string::npos)
      << out.standard_error;
  out = pgstack_cli({"render", "-f", "examples/production.yaml", "--cluster", "nope"});
  EXPECT_NE(out.exit_code, 0);
  EXPECT_NE(out.standard_error.find("no SGCluster named \"nope\""), std::string::npos) << out.standard_error;
  out = pgstack_cli({"render", "-f", "examples/invalid/cluster-errors.yaml"});
  EXPECT_EQ(out.exit_code, 1);
  EXPECT_NE(out.standard_error.find("render: the input is not valid"), std::string::npos);
}

TEST(CliRender, ProfileMustBeInTheInput) {
  const std::string cluster = R"(
apiVersion: stackgres.io/v1
kind: SGCluster
metadata: {name: c}
spec: {instances: 1, postgres: {version: '15'}, sgInstanceProfile: big, pods: {persistentVolume: {size: 5Gi}}}
)";
  const auto out = pgstack_cli({"render", "-f", "-"}, cluster);
  EXPECT_NE(out.exit_code, 0);
  EXPECT_NE(out.standard_error.find("references SGInstanceProfile/big, which is not in the input"), std::string::npos)
      << out.standard_error;
}

}  // namespace
}  // namespace pgstack
