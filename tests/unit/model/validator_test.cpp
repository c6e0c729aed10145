#include "model/validator.h"

#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "model/codec.h"
#include "model/resources.h"

namespace pgstack::model {
namespace {

// A hand-made catalogue: these tests check the validator's logic, not Postgres' catalogue.
const ParameterCatalog& test_catalog() {
  static const ParameterCatalog catalog(
      15, "15.18",
      {
          {"shared_buffers", ParameterType::kInteger, "postmaster", "8kB", 16, 1073741823, {}, "1024", ""},
          {"wal_level",
           ParameterType::kEnum,
           "postmaster",
           "",
           {},
           {},
           {"minimal", "replica", "logical"},
           "replica",
           ""},
          {"jit", ParameterType::kBool, "user", "", {}, {}, {}, "on", ""},
          {"random_page_cost", ParameterType::kReal, "user", "", 0, 1.79769e+308, {}, "4", ""},
          {"max_connections", ParameterType::kInteger, "postmaster", "", 1, 262143, {}, "100", ""},
          {"log_min_duration_statement", ParameterType::kInteger, "superuser", "ms", -1, 2147483647, {}, "-1", ""},
          {"shared_preload_libraries", ParameterType::kString, "postmaster", "", {}, {}, {}, "", ""},
          {"pg_stat_statements.max", ParameterType::kInteger, "postmaster", "", 100, 1073741823, {}, "5000", ""},
      });
  return catalog;
}

ValidationContext test_context() {
  ValidationContext context;
  context.installed_postgres = {{15, "15.18"}};
  context.parameter_catalog = [](int major) { return major == 15 ? &test_catalog() : nullptr; };
  return context;
}

ValidationResult validate_text(const std::string& text, const std::string& source = "cluster.yaml") {
  const LoadResult loaded = load_documents(text, source);
  EXPECT_FALSE(loaded.diagnostics.has_errors()) << loaded.diagnostics.items().front().to_string();
  return validate_documents(loaded.documents, test_context());
}

std::vector<std::string> errors_of(const ValidationResult& result) {
  std::vector<std::string> lines;
  for (const auto& diagnostic : result.diagnostics.items()) {
    if (diagnostic.severity == Severity::kError) lines.push_back(diagnostic.to_string());
  }
  return lines;
}

std::string read_example(const std::string& name) {
  std::ifstream file(std::string(PGSTACK_SOURCE_DIR) + "/examples/" + name);
  std::stringstream content;
  content << file.rdbuf();
  return content.str();
}

const char* kMinimal = R"(
apiVersion: stackgres.io/v1
kind: SGCluster
metadata:
  name: demo
spec:
  instances: 1
  postgres:
    version: 'latest'
  pods:
    persistentVolume:
      size: '5Gi'
)";

TEST(Validator, AcceptsStackGresMinimalClusterUnchanged) {
  const auto result = validate_text(kMinimal);
  EXPECT_TRUE(result.valid()) << testing::PrintToString(errors_of(result));
  ASSERT_EQ(result.documents.size(), 1u);
  const Json& spec = result.documents[0].body["spec"];
  EXPECT_EQ(spec["instances"], 1);
  EXPECT_EQ(spec["postgres"]["version"], "latest");
  // Defaults filled in.
  EXPECT_EQ(spec["profile"], "production");
  EXPECT_EQ(spec["replication"]["mode"], "async");
  EXPECT_EQ(spec["replication"]["syncInstances"], 1);
  EXPECT_EQ(spec["postgres"]["ssl"]["enabled"], true);
  EXPECT_EQ(spec["pods"]["disableConnectionPooling"], false);
  EXPECT_EQ(spec["pods"]["connectionPooler"], "pgbouncer");
  EXPECT_EQ(result.documents[0].body["metadata"]["namespace"], "default");
}

TEST(Validator, AcceptsTheExampleFiles) {
  for (const char* name : {"minimal-cluster.yaml", "production.yaml", "managed-sql.yaml"}) {
    const auto result = validate_text(read_example(name), name);
    EXPECT_TRUE(result.valid()) << name << ": " << testing::PrintToString(errors_of(result));
  }
}

TEST(Validator, ProductionSetResolvesEveryReference) {
  const auto result = validate_text(read_example("production.yaml"), "production.yaml");
  for (const auto& diagnostic : result.diagnostics.items()) {
    EXPECT_NE(diagnostic.severity, Severity::kDeferred) << diagnostic.to_string();
  }
  EXPECT_EQ(result.documents.size(), 5u);
}

TEST(Validator, ReportsTheExactMessageOfTheIssue) {
  std::string text = kMinimal;
  text.replace(text.find("instances: 1"), 12, "instances: three");
  const auto errors = errors_of(validate_text(text));
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0], R"(cluster.yaml: SGCluster/demo spec.instances: expected an integer >= 1, got "three")");
}

TEST(Validator, NodeSelectorIsUsedAndTheOtherSchedulingFieldsAreNoted) {
  const std::string text = std::string(kMinimal) +
                           "    scheduling:\n"
                           "      nodeSelector: {zone: a, disk: ssd}\n"
                           "      tolerations: [{key: dedicated, operator: Exists}]\n"
                           "      podAntiAffinity: {}\n";
  const auto result = validate_text(text);
  ASSERT_TRUE(result.valid()) << testing::PrintToString(errors_of(result));
  const Cluster cluster = cluster_from(result.documents[0]);
  EXPECT_EQ(cluster.node_selector, (std::map<std::string, std::string>{{"disk", "ssd"}, {"zone", "a"}}));
  bool noted_selector = false;
  bool noted_tolerations = false;
  for (const auto& diagnostic : result.diagnostics.items()) {
    if (diagnostic.severity != Severity::kNote) continue;
    noted_selector |= diagnostic.to_string().find("nodeSelector") != std::string::npos &&
                      diagnostic.message.find("only on hosts that have all of these labels") != std::string::npos;
    noted_tolerations |= diagnostic.to_string().find("tolerations") != std::string::npos;
  }
  EXPECT_TRUE(noted_selector);
  EXPECT_TRUE(noted_tolerations);

  const auto bad =
      errors_of(validate_text(std::string(kMinimal) + "    scheduling:\n      nodeSelector: {zone: 'a b'}\n"));
  ASSERT_EQ(bad.size(), 1u);
  EXPECT_NE(bad[0].find("spec.pods.scheduling.nodeSelector.zone: expected a label value"), std::string::npos) << bad[0];
  const auto unknown = errors_of(validate_text(std::string(kMinimal) + "    scheduling:\n      nodeSelektor: {}\n"));
  ASSERT_EQ(unknown.size(), 1u);
  EXPECT_NE(unknown[0].find("unknown field"), std::string::npos) << unknown[0];
}

// Found by rest_request_fuzzer: a list where a mapping of named fields belongs threw out of the
// validator (a 500 from the API, an abort of `pgstack validate`).
TEST(Validator, AListWhereAMappingBelongsIsAnErrorNotAThrow) {
  for (const char* field : {"configurations", "postgres", "replication", "initialData", "managedSql"}) {
    std::string text = kMinimal;
    text += std::string("  ") + field + ":\n    - {sgObjectStorage: store}\n";
    if (std::string(field) == "postgres") text.replace(text.find("  postgres:\n    version: 'latest'\n"), 33, "");
    const auto errors = errors_of(validate_text(text));
    ASSERT_FALSE(errors.empty()) << field;
    EXPECT_NE(errors[0].find(std::string("spec.") + field), std::string::npos) << errors[0];
  }
}

TEST(Validator, TheConnectionPoolerIsPgbouncerOrPgstackProxy) {
  const auto errors = errors_of(validate_text(R"(
apiVersion: stackgres.io/v1
kind: SGCluster
metadata: {name: demo}
spec:
  instances: 1
  postgres: {version: "15"}
  pods: {persistentVolume: {size: 1Gi}, connectionPooler: odyssey}
)",
                                              "pooler.yaml"));
  ASSERT_EQ(errors.size(), 1U);
  EXPECT_EQ(
      errors[0],
      R"(pooler.yaml: SGCluster/demo spec.pods.connectionPooler: expected one of pgbouncer, pgstack-proxy, got "odyssey")");
}

TEST(Validator, ReportsAllErrorsOfADocument) {
  const auto errors = errors_of(validate_text(read_example("invalid/cluster-errors.yaml"), "bad.yaml"));
  const std::vector<std::string> expected = {
      R"(bad.yaml: SGCluster/demo spec.instances: expected an integer >= 1, got "three")",
      R"(bad.yaml: SGCluster/demo spec.postgres.verson: unknown field; did you mean "version"?)",
      R"(bad.yaml: SGCluster/demo spec.postgres.version: required field is missing (expected "latest", a major version such as "15" or an exact version such as "15.4"))",
      R"(bad.yaml: SGCluster/demo spec.replication.mode: expected one of async, sync, strict-sync, sync-all, strict-sync-all, got "synchronous")",
      R"(bad.yaml: SGCluster/demo spec.pods.persistentVolume.size: expected a memory quantity such as "16Gi", "512Mi" or "2G", got "5Gb")",
      R"(bad.yaml: SGCluster/demo spec.configurations.postgres."postgresql.conf".archive_mode: cannot be set: pgstack runs WAL archiving itself)",
  };
  EXPECT_EQ(errors, expected);
}

TEST(Validator, UnknownFieldWithoutCloseMatchListsTheKnownOnes) {
  std::string text = kMinimal;
  text += "  zzzzzzzzzz: 1\n";
  const auto errors = errors_of(validate_text(text));
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].find("spec.zzzzzzzzzz: unknown field; expected one of instances, profile, postgres"),
            std::string::npos)
      << errors[0];
}

TEST(Validator, UnknownKindAndWrongApiVersion) {
  auto errors =
      errors_of(validate_text("apiVersion: stackgres.io/v1\nkind: SGClustr\nmetadata: {name: a}\nspec: {}\n"));
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].find(R"(kind: unknown kind "SGClustr" (did you mean "SGCluster"?))"), std::string::npos)
      << errors[0];

  errors =
      errors_of(validate_text("apiVersion: stackgres.io/v1\nkind: SGObjectStorage\nmetadata: {name: a}\nspec: {type: "
                              "filesystem, filesystem: {path: /x}}\n"));
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].find(R"(apiVersion: expected "stackgres.io/v1beta1" for SGObjectStorage, got "stackgres.io/v1")"),
            std::string::npos)
      << errors[0];
}

TEST(Validator, RejectsBadNames) {
  std::string text = kMinimal;
  text.replace(text.find("name: demo"), 10, "name: Demo_1");
  const auto errors = errors_of(validate_text(text));
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].find("metadata.name: expected a lower-case DNS label"), std::string::npos) << errors[0];
}

TEST(Validator, PostgresVersionResolvesToInstalledMajor) {
  for (const char* version : {"'latest'", "'15'", "15", "'15.4'"}) {
    std::string text = kMinimal;
    text.replace(text.find("'latest'"), 8, version);
    EXPECT_TRUE(validate_text(text).valid()) << version;
  }
  // Where the cluster must run (the API), a major no host has is refused with what is installed.
  std::string text = kMinimal;
  text.replace(text.find("'latest'"), 8, "'16'");
  ValidationContext context = test_context();
  context.postgres_must_be_installed = true;
  const auto errors = errors_of(validate_documents(load_documents(text, "cluster.yaml").documents, context));
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].find("spec.postgres.version: PostgreSQL 16 is not installed on this host; installed: 15 (15.18)"),
            std::string::npos)
      << errors[0];
}

TEST(Validator, ExactVersionOtherThanInstalledGetsANote) {
  std::string text = kMinimal;
  text.replace(text.find("'latest'"), 8, "'15.4'");
  const auto result = validate_text(text);
  ASSERT_TRUE(result.valid());
  bool noted = false;
  for (const auto& diagnostic : result.diagnostics.items()) {
    noted |=
        diagnostic.severity == Severity::kNote && diagnostic.message.find("15.18 is installed") != std::string::npos;
  }
  EXPECT_TRUE(noted);
}

std::string cluster_with_parameters(const std::string& parameters) {
  return std::string(kMinimal) + "  configurations:\n    postgres:\n      postgresql.conf:\n" + parameters;
}

TEST(Validator, ChecksPostgresParameters) {
  EXPECT_TRUE(validate_text(cluster_with_parameters("        shared_buffers: 128MB\n        jit: 'off'\n"
                                                    "        wal_level: logical\n        random_page_cost: 1.1\n"
                                                    "        pg_stat_statements.max: 10000\n"
                                                    "        auto_explain.log_min_duration: 1s\n"))
                  .valid());
  const auto errors = errors_of(validate_text(
      cluster_with_parameters("        shared_buffers: 4XB\n        wal_level: minimal2\n        max_connectons: 10\n"
                              "        port: 5433\n        jit: maybe\n")));
  ASSERT_EQ(errors.size(), 5u) << testing::PrintToString(errors);
  EXPECT_NE(errors[0].find("shared_buffers: expected an integer"), std::string::npos) << errors[0];
  EXPECT_NE(errors[1].find("wal_level: expected one of minimal, replica, logical"), std::string::npos) << errors[1];
  EXPECT_NE(errors[2].find(R"(max_connectons: unknown parameter for PostgreSQL 15; did you mean "max_connections"?)"),
            std::string::npos)
      << errors[2];
  EXPECT_NE(errors[3].find("port: cannot be set: pgstack assigns each instance its addresses and ports"),
            std::string::npos)
      << errors[3];
  EXPECT_NE(errors[4].find("jit: expected a boolean"), std::string::npos) << errors[4];
}

TEST(Validator, ExtensionPrefixIsLoadedByClusterExtensions) {
  std::string text = kMinimal;
  text.replace(text.find("    version: 'latest'"), 21,
               "    version: 'latest'\n    extensions:\n    - name: pg_qualstats");
  text += "  configurations:\n    postgres:\n      postgresql.conf:\n        pg_qualstats.sample_rate: '0.1'\n";
  const auto result = validate_text(text);
  EXPECT_TRUE(result.valid()) << testing::PrintToString(errors_of(result));
}

TEST(Validator, UnknownExtensionIsAnErrorWithNearMatchesAndItsPath) {
  std::string text = kMinimal;
  text.replace(
      text.find("    version: 'latest'"), 21,
      "    version: 'latest'\n    extensions:\n    - name: pg_cron\n    - name: hypopgg\n    - name: timescaledb");
  const auto result = validate_text(text);
  const auto errors = errors_of(result);
  ASSERT_EQ(errors.size(), 2u) << testing::PrintToString(errors);
  EXPECT_NE(errors[0].find("spec.postgres.extensions[1].name: unknown extension \"hypopgg\""), std::string::npos)
      << errors[0];
  EXPECT_NE(errors[0].find("did you mean hypopg?"), std::string::npos) << errors[0];
  EXPECT_NE(errors[1].find("spec.postgres.extensions[2].name: unknown extension \"timescaledb\""), std::string::npos)
      << errors[1];
}

TEST(Validator, CatalogueMissingDefersParameterChecksButStillBlocks) {
  const LoadResult loaded =
      load_documents(cluster_with_parameters("        shared_buffers: 4XB\n        port: 1\n"), "c.yaml");
  ValidationContext context;
  context.installed_postgres = {{15, "15.18"}};
  const auto result = validate_documents(loaded.documents, context);
  const auto errors = errors_of(result);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].find("port: cannot be set"), std::string::npos);
  bool deferred = false;
  for (const auto& diagnostic : result.diagnostics.items()) deferred |= diagnostic.severity == Severity::kDeferred;
  EXPECT_TRUE(deferred);
}

TEST(Validator, SyncInstancesMustLeaveAnAsyncOrBeBelowInstances) {
  std::string text = kMinimal;
  text.replace(text.find("instances: 1"), 12, "instances: 3\n  replication:\n    mode: sync\n    syncInstances: 3");
  const auto errors = errors_of(validate_text(text));
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].find(
                "spec.replication.syncInstances: expected at most 2 (instances - 1) with replication mode sync, got 3"),
            std::string::npos)
      << errors[0];
}

TEST(Validator, ReferencesInTheInputAreCheckedOthersDeferred) {
  const std::string profile =
      "apiVersion: stackgres.io/v1\nkind: SGInstanceProfile\nmetadata: {name: size-s}\n"
      "spec: {cpu: '1', memory: 2Gi}\n---\n";
  std::string cluster = kMinimal;
  cluster.replace(cluster.find("  instances: 1"), 14,
                  "  instances: 1\n  sgInstanceProfile: size-m\n  configurations:\n    sgPoolingConfig: pool");
  const auto result = validate_text(profile + cluster);
  const auto errors = errors_of(result);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].find("spec.sgInstanceProfile: SGInstanceProfile/size-m is not defined in namespace default; the "
                           "input defines size-s (did you mean \"size-s\"?)"),
            std::string::npos)
      << errors[0];
  bool deferred = false;
  for (const auto& diagnostic : result.diagnostics.items()) {
    if (diagnostic.severity == Severity::kDeferred) {
      deferred = true;
      EXPECT_EQ(diagnostic.path, "spec.configurations.sgPoolingConfig");
      EXPECT_NE(diagnostic.to_string().find("deferred: SGPoolingConfig/pool is not in the input"), std::string::npos);
    }
  }
  EXPECT_TRUE(deferred);
}

TEST(Validator, ClusterAndPostgresConfigMajorsMustMatch) {
  ValidationContext context = test_context();
  context.installed_postgres.push_back({16, "16.4"});
  const std::string text =
      "apiVersion: stackgres.io/v1\nkind: SGPostgresConfig\nmetadata: {name: conf}\n"
      "spec:\n  postgresVersion: '16'\n  postgresql.conf: {}\n---\n" +
      std::string(kMinimal).replace(std::string(kMinimal).find("  instances: 1"), 14,
                                    "  instances: 1\n  configurations: {sgPostgresConfig: conf}");
  std::string fixed = text;
  fixed.replace(fixed.find("'latest'"), 8, "'15'");
  const auto result = validate_documents(load_documents(fixed, "c.yaml").documents, context);
  const auto errors = errors_of(result);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].find("SGPostgresConfig/conf is for PostgreSQL 16, but the cluster runs 15"), std::string::npos)
      << errors[0];
}

TEST(Validator, DuplicateResourcesAreErrors) {
  const auto errors = errors_of(validate_text(std::string(kMinimal) + "---\n" + kMinimal));
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].find("defined twice in namespace default"), std::string::npos);
}

TEST(Validator, ObjectStorageTypeNeedsItsSection) {
  const auto errors =
      errors_of(validate_text("apiVersion: stackgres.io/v1beta1\nkind: SGObjectStorage\nmetadata: {name: s}\n"
                              "spec:\n  type: s3\n  filesystem: {path: /x}\n"));
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_NE(errors[0].find("spec.s3: required field is missing (type is s3)"), std::string::npos) << errors[0];
  EXPECT_NE(errors[1].find("spec.filesystem: only allowed when type is filesystem"), std::string::npos) << errors[1];
}

// An SGObjectStorage whose spec is `spec` (a YAML flow mapping).
std::string object_storage(const std::string& spec, const std::string& name = "s") {
  return "apiVersion: stackgres.io/v1beta1\nkind: SGObjectStorage\nmetadata: {name: " + name + "}\nspec: " + spec +
         "\n";
}

TEST(Validator, GcsAndAzureBlobStoragesWithPgstacksEndpointAndCa) {
  const std::string documents =
      object_storage(
          "{type: gcs, gcs: {bucket: backups/pg, endpoint: 'https://gcs.internal:4443', "
          "caCertificate: {name: gcp, key: ca.crt}, gcpCredentials: {secretKeySelectors: "
          "{serviceAccountJSON: {name: gcp, key: key.json}}}}}") +
      "---\n" +
      object_storage("{type: gcs, gcs: {bucket: backups, gcpCredentials: {fetchCredentialsFromMetadataService: true}}}",
                     "g") +
      "---\n" +
      object_storage(
          "{type: azureBlob, azureBlob: {bucket: backups, endpoint: 'https://127.0.0.1:10000', "
          "azureCredentials: {secretKeySelectors: {storageAccount: {name: az, key: account}, "
          "accessKey: {name: az, key: key}}}}}",
          "a");
  const auto result = validate_text(documents);
  EXPECT_TRUE(result.valid()) << testing::PrintToString(errors_of(result));
  const ObjectStorage gcs = object_storage_from(result.documents[0]);
  EXPECT_EQ(gcs.service_account_json_ref, "gcp/key.json");
  EXPECT_EQ(gcs.ca_certificate_ref, "gcp/ca.crt");
  EXPECT_EQ(gcs.endpoint, "https://gcs.internal:4443");
  EXPECT_FALSE(gcs.metadata_service_credentials);
  EXPECT_TRUE(object_storage_from(result.documents[1]).metadata_service_credentials);
  const ObjectStorage azure = object_storage_from(result.documents[2]);
  EXPECT_EQ(azure.storage_account_ref, "az/account");
  EXPECT_EQ(azure.account_key_ref, "az/key");
}

TEST(Validator, GcsCredentialsAreExactlyOneOfMetadataServiceOrServiceAccountKey) {
  for (const auto& [credentials, expected] : std::vector<std::pair<std::string, std::string>>{
           {"{fetchCredentialsFromMetadataService: true, secretKeySelectors: {serviceAccountJSON: {name: g, key: k}}}",
            "spec.gcs.gcpCredentials: both are given; expected exactly one of fetchCredentialsFromMetadataService: "
            "true or secretKeySelectors.serviceAccountJSON"},
           {"{fetchCredentialsFromMetadataService: false}", "spec.gcs.gcpCredentials: neither is given"},
           {"{secretKeySelectors: {}}", "spec.gcs.gcpCredentials: neither is given"}}) {
    const auto errors =
        errors_of(validate_text(object_storage("{type: gcs, gcs: {bucket: b, gcpCredentials: " + credentials + "}}")));
    ASSERT_EQ(errors.size(), 1u) << credentials << testing::PrintToString(errors);
    EXPECT_NE(errors[0].find(expected), std::string::npos) << errors[0];
  }
}

TEST(Validator, ObjectStoreEndpointsAndBucketsSayWhatIsExpected) {
  auto errors = errors_of(validate_text(
      object_storage("{type: azureBlob, azureBlob: {bucket: /pg, endpoint: 'http://127.0.0.1:10000', azureCredentials: "
                     "{secretKeySelectors: {storageAccount: {name: az, key: account}}}}}")));
  ASSERT_EQ(errors.size(), 3u) << testing::PrintToString(errors);
  EXPECT_NE(errors[0].find("spec.azureBlob.bucket: expected a bucket name, optionally followed by /<key prefix>"),
            std::string::npos)
      << errors[0];
  EXPECT_NE(errors[1].find("spec.azureBlob.endpoint: expected https://host or https://host:port"), std::string::npos)
      << errors[1];
  EXPECT_NE(errors[2].find("spec.azureBlob.azureCredentials.secretKeySelectors.accessKey: required field is missing"),
            std::string::npos)
      << errors[2];
}

TEST(Validator, BackupsCronAndPooling) {
  std::string text = kMinimal;
  text +=
      "  configurations:\n    backups:\n    - sgObjectStorage: disk\n      cronSchedule: '61 * * * *'\n"
      "    pooling:\n      pgBouncer:\n        pgbouncer.ini:\n          pgbouncer:\n            listen_port: 7000\n"
      "            pool_mod: transaction\n";
  const auto errors = errors_of(validate_text(text));
  ASSERT_EQ(errors.size(), 3u) << testing::PrintToString(errors);
  EXPECT_NE(errors[0].find("cronSchedule: expected a 5-field cron schedule"), std::string::npos) << errors[0];
  EXPECT_NE(errors[1].find("listen_port: cannot be set: pgstack owns PgBouncer"), std::string::npos) << errors[1];
  EXPECT_NE(errors[2].find(R"(pool_mod: unknown PgBouncer setting; did you mean "pool_mode"?)"), std::string::npos)
      << errors[2];
}

TEST(Validator, EveryKindHasAValidMinimalDocument) {
  const std::string documents = R"(
apiVersion: stackgres.io/v1
kind: SGBackup
metadata: {name: b}
spec: {sgCluster: demo}
---
apiVersion: stackgres.io/v1
kind: SGDbOps
metadata: {name: o}
spec: {sgCluster: demo, op: restart, runAt: '2026-11-24T10:00:00Z', timeout: PT10M, restart: {method: ReducedImpact}}
---
apiVersion: stackgres.io/v1
kind: SGDistributedLogs
metadata: {name: logs}
spec: {persistentVolume: {size: 10Gi}}
---
apiVersion: stackgres.io/v1
kind: SGScript
metadata: {name: s}
spec: {scripts: [{name: init, script: 'CREATE TABLE t (id int)'}]}
---
apiVersion: stackgres.io/v1
kind: SGPoolingConfig
metadata: {name: p}
spec: {pgBouncer: {pgbouncer.ini: {pgbouncer: {pool_mode: transaction}, databases: {app: {dbname: app}}}}}
)";
  const auto result = validate_text(std::string(kMinimal) + "---" + documents);
  EXPECT_TRUE(result.valid()) << testing::PrintToString(errors_of(result));
  EXPECT_EQ(result.documents.size(), 6u);
}

const char* kClusterWithLogs = R"(
apiVersion: stackgres.io/v1
kind: SGCluster
metadata: {name: demo, namespace: default}
spec:
  instances: 1
  postgres: {version: 'latest'}
  pods: {persistentVolume: {size: '5Gi'}}
  distributedLogs: {sgDistributedLogs: STORE, retention: RETENTION}
---
apiVersion: stackgres.io/v1
kind: SGDistributedLogs
metadata: {name: logs, namespace: team}
spec: {persistentVolume: {size: 1Gi}}
)";

std::string cluster_with_logs(const std::string& store, const std::string& retention) {
  std::string text = kClusterWithLogs;
  text.replace(text.find("STORE"), 5, store);
  text.replace(text.find("RETENTION"), 9, retention);
  return text;
}

TEST(Validator, ALogRetentionOfZeroIsRefused) {
  for (const std::string zero : {"'0 days'", "'00 hours'", "'0minutes'"}) {
    const auto errors = errors_of(validate_text(cluster_with_logs("team.logs", zero)));
    ASSERT_EQ(errors.size(), 1u) << zero << ": " << testing::PrintToString(errors);
    EXPECT_NE(errors[0].find("spec.distributedLogs.retention: a retention of"), std::string::npos) << errors[0];
    EXPECT_NE(errors[0].find("keeps nothing"), std::string::npos) << errors[0];
  }
  EXPECT_TRUE(validate_text(cluster_with_logs("team.logs", "'10 days'")).valid());
  EXPECT_FALSE(validate_text(cluster_with_logs("team.logs", "'7 fortnights'")).valid());
}

bool deferred_store(const ValidationResult& result) {
  for (const auto& diagnostic : result.diagnostics.items()) {
    if (diagnostic.severity == Severity::kDeferred && diagnostic.path == "spec.distributedLogs.sgDistributedLogs")
      return true;
  }
  return false;
}

TEST(Validator, ALogStoreInAnotherNamespaceIsNamedNamespaceDotName) {
  // team.logs is in the input: found there. "logs" alone is looked for in the cluster's namespace.
  const auto found = validate_text(cluster_with_logs("team.logs", "'7 days'"));
  EXPECT_TRUE(found.valid()) << testing::PrintToString(errors_of(found));
  EXPECT_FALSE(deferred_store(found));
  const auto same_namespace = validate_text(cluster_with_logs("logs", "'7 days'"));
  EXPECT_TRUE(same_namespace.valid());
  EXPECT_TRUE(deferred_store(same_namespace));  // default/logs is not in the input: checked when applied

  ValidationContext applied = test_context();
  applied.references_must_exist = true;
  const auto missing = errors_of(validate_documents(
      load_documents(cluster_with_logs("other.logs", "'7 days'"), "cluster.yaml").documents, applied));
  ASSERT_EQ(missing.size(), 1u) << testing::PrintToString(missing);
  EXPECT_NE(missing[0].find("SGDistributedLogs/logs does not exist in namespace other"), std::string::npos)
      << missing[0];

  const auto malformed = errors_of(validate_text(cluster_with_logs("'team.'", "'7 days'")));
  ASSERT_EQ(malformed.size(), 1u) << testing::PrintToString(malformed);
  EXPECT_NE(malformed[0].find("\"namespace.name\""), std::string::npos) << malformed[0];
}

TEST(Validator, SerializationRoundTrips) {
  const auto first = validate_text(read_example("production.yaml"), "p.yaml");
  ASSERT_TRUE(first.valid());
  const std::string yaml = documents_to_yaml(first.documents);
  const auto second = validate_text(yaml, "p.yaml");
  ASSERT_TRUE(second.valid()) << testing::PrintToString(errors_of(second));
  ASSERT_EQ(first.documents.size(), second.documents.size());
  for (std::size_t i = 0; i < first.documents.size(); ++i) EXPECT_EQ(first.documents[i].body, second.documents[i].body);
  EXPECT_EQ(documents_to_yaml(second.documents), yaml);
  // JSON too.
  const auto third = validate_text(documents_to_json(first.documents), "p.json");
  ASSERT_EQ(third.documents.size(), first.documents.size());
  for (std::size_t i = 0; i < first.documents.size(); ++i) EXPECT_EQ(first.documents[i].body, third.documents[i].body);
}

}  // namespace
}  // namespace pgstack::model
