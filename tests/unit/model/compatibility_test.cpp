// StackGres manifests that StackGres accepts are accepted here too (issue 12): each test is one cause
// of a former refusal, or of a former silent acceptance, with a manifest written for the test.
#include <gtest/gtest.h>

#include "model/codec.h"
#include "model/dbops.h"
#include "model/resources.h"
#include "model/validator.h"

namespace pgstack::model {
namespace {

const ParameterCatalog& catalog_15() {
  static const ParameterCatalog catalog(
      15, "15.18",
      {
          {"shared_buffers", ParameterType::kInteger, "postmaster", "8kB", 16, 1073741823, {}, "1024", ""},
          {"jit", ParameterType::kBool, "user", "", {}, {}, {}, "on", ""},
      });
  return catalog;
}

ValidationContext context_with_15() {
  ValidationContext context;
  context.installed_postgres = {{15, "15.18"}};
  context.parameter_catalog = [](int major) { return major == 15 ? &catalog_15() : nullptr; };
  context.pgbouncer_version = "1.18.0";
  return context;
}

ValidationResult validate(const std::string& text, const ValidationContext& context = context_with_15()) {
  const LoadResult loaded = load_documents(text, "m.yaml");
  EXPECT_FALSE(loaded.diagnostics.has_errors()) << loaded.diagnostics.items().front().to_string();
  return validate_documents(loaded.documents, context);
}

std::vector<std::string> with_severity(const ValidationResult& result, Severity severity) {
  std::vector<std::string> lines;
  for (const auto& diagnostic : result.diagnostics.items()) {
    if (diagnostic.severity == severity) lines.push_back(diagnostic.path + ": " + diagnostic.message);
  }
  return lines;
}

bool has(const std::vector<std::string>& lines, const std::string& text) {
  for (const auto& line : lines) {
    if (line.find(text) != std::string::npos) return true;
  }
  return false;
}

std::string cluster(const std::string& version, const std::string& more = "") {
  return "apiVersion: stackgres.io/v1\nkind: SGCluster\nmetadata:\n  name: shop\nspec:\n  instances: 2\n"
         "  postgres:\n    version: '" +
         version + "'\n  pods:\n    persistentVolume:\n      size: 10Gi\n" + more;
}

TEST(Compatibility, MajorNotInstalledIsAWarningAndOtherChecksStillRun) {
  const auto result = validate(cluster("12",
                                       "  configurations:\n    postgres:\n      postgresql.conf:\n"
                                       "        shared_buffers: 4XB\n        wal_keep_segments: '64'\n"
                                       "        port: '1'\n"));
  const auto errors = with_severity(result, Severity::kError);
  // The version is not an error; the parameter checks behind it run (against 15's catalogue).
  ASSERT_EQ(errors.size(), 2u) << testing::PrintToString(errors);
  EXPECT_TRUE(has(errors, "shared_buffers: expected an integer")) << testing::PrintToString(errors);
  EXPECT_TRUE(has(errors, "port: cannot be set")) << testing::PrintToString(errors);
  const auto warnings = with_severity(result, Severity::kWarning);
  EXPECT_TRUE(
      has(warnings, "spec.postgres.version: PostgreSQL 12 is not installed on this host; installed: 15 (15.18)"))
      << testing::PrintToString(warnings);
  // A name 15 lacks may exist in 12: a warning, not an error.
  EXPECT_TRUE(has(warnings, "wal_keep_segments: unknown parameter for PostgreSQL 15"))
      << testing::PrintToString(warnings);
  EXPECT_TRUE(has(with_severity(result, Severity::kNote), "nearest installed major"));
}

TEST(Compatibility, MajorNotInstalledIsValidOfflineAndRefusedWhereItMustRun) {
  EXPECT_TRUE(validate(cluster("16")).valid());
  EXPECT_TRUE(validate(cluster("14.9")).valid());
  ValidationContext api = context_with_15();
  api.postgres_must_be_installed = true;
  const auto errors = with_severity(validate(cluster("16"), api), Severity::kError);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_TRUE(has(errors, "PostgreSQL 16 is not installed on this host; installed: 15 (15.18)"));
}

TEST(Compatibility, CatalogueOfTheRequestedMajorIsUsedWhenKnown) {
  static const ParameterCatalog catalog_12(
      12, "12.20", {{"wal_keep_segments", ParameterType::kInteger, "sighup", "", 0, 2147483647, {}, "0", ""}});
  ValidationContext context = context_with_15();
  context.parameter_catalog = [](int major) -> const ParameterCatalog* {
    return major == 12 ? &catalog_12 : major == 15 ? &catalog_15() : nullptr;
  };
  const auto result = validate(
      cluster("12", "  configurations:\n    postgres:\n      postgresql.conf:\n        wal_keep_segments: x\n"),
      context);
  EXPECT_TRUE(has(with_severity(result, Severity::kError), "wal_keep_segments: expected an integer"));
}

TEST(Compatibility, PostgresConfigOfAMajorNotInstalled) {
  const auto result = validate(R"(
apiVersion: stackgres.io/v1
kind: SGPostgresConfig
metadata: {name: pg13}
spec:
  postgresVersion: "13"
  postgresql.conf:
    jit: 'off'
)");
  EXPECT_TRUE(result.valid()) << testing::PrintToString(with_severity(result, Severity::kError));
  EXPECT_TRUE(has(with_severity(result, Severity::kWarning), "spec.postgresVersion: PostgreSQL 13 is not installed"));
}

TEST(Compatibility, KubernetesOnlyFieldsAreAcceptedWithANote) {
  const auto result = validate(R"(
apiVersion: stackgres.io/v1
kind: SGCluster
metadata: {name: shop}
spec:
  instances: 2
  postgres: {version: '15'}
  autoscaling:
    mode: horizontal
    minInstances: 2
  metadata:
    labels:
      allResources: {team: shop}
      serviceAccount: {a: b}
    annotations:
      serviceAccount: {a: b}
  postgresServices:
    primary:
      type: LoadBalancer
      loadBalancerSourceRanges: [10.0.0.0/8]
      externalTrafficPolicy: Local
      sessionAffinity: ClientIP
  toInstallPostgresExtensions:
  - {name: pg_repack, version: '1.5.0', publisher: com.ongres, postgresVersion: '15', build: '6.22'}
  pods:
    persistentVolume:
      size: 10Gi
      fsGroupChangePolicy: OnRootMismatch
    terminationGracePeriodSeconds: 30
    readinessProbe: {periodSeconds: 5}
    livenessProbe: {periodSeconds: 5}
    customEnv: {patroni: [{name: A, value: b}]}
    customInitEnv: {setup: [{name: A, value: b}]}
    customEnvFrom: {patroni: []}
    customInitEnvFrom: {setup: []}
    resources:
      containers: {envoy: {cpu: 100m}}
      initContainers: {setup: {cpu: 100m}}
)");
  EXPECT_TRUE(result.valid()) << testing::PrintToString(with_severity(result, Severity::kError));
  const auto notes = with_severity(result, Severity::kNote);
  for (const char* path : {"spec.autoscaling: accepted and ignored", "spec.pods.persistentVolume.fsGroupChangePolicy",
                           "spec.metadata.labels", "spec.postgresServices.primary.loadBalancerSourceRanges",
                           "spec.pods.terminationGracePeriodSeconds", "spec.pods.readinessProbe", "spec.pods.customEnv",
                           "spec.pods.resources.containers", "spec.toInstallPostgresExtensions"})
    EXPECT_TRUE(has(notes, path)) << path << "\n" << testing::PrintToString(notes);
}

TEST(Compatibility, FieldsWithMeaningHereAreAppliedOrSayTheyAreNot) {
  const auto result = validate(cluster("15", R"(  configurations:
    postgresExporter:
      queries: {pg_custom: {query: 'select 1'}}
    backups:
    - sgObjectStorage: store
      performance:
        maxNetworkBandwidth: 26214400
        maxDiskBandwidth: 52428800
        uploadDiskConcurrency: 2
)"));
  EXPECT_TRUE(result.valid()) << testing::PrintToString(with_severity(result, Severity::kError));
  const auto notes = with_severity(result, Severity::kNote);
  EXPECT_TRUE(has(notes, "performance.maxNetworkBandwidth: accepted but not enforced: pgBackRest"));
  EXPECT_TRUE(has(notes, "performance.maxDiskBandwidth: accepted but not enforced"));
  EXPECT_TRUE(has(notes, "postgresExporter.queries: accepted and ignored: the exporter runs pgstack's own queries"));

  std::string with_ssl = cluster("15");
  with_ssl.replace(with_ssl.find("  pods:"), 0, "    ssl:\n      enabled: true\n      duration: P30D\n");
  const auto ssl = validate(with_ssl);
  EXPECT_TRUE(ssl.valid()) << testing::PrintToString(with_severity(ssl, Severity::kError));
  const Cluster typed = cluster_from(ssl.documents[0]);
  ASSERT_TRUE(typed.ssl_duration);
  EXPECT_EQ(typed.ssl_duration->count(), 30 * 86400);
  with_ssl.replace(with_ssl.find("P30D"), 4, "30 days");
  EXPECT_TRUE(
      has(with_severity(validate(with_ssl), Severity::kError), "spec.postgres.ssl.duration: expected an ISO-8601"));
  with_ssl.replace(with_ssl.find("30 days"), 7, "PT5M");
  EXPECT_TRUE(has(with_severity(validate(with_ssl), Severity::kError), "at least PT1H"));
}

TEST(Compatibility, BabelfishFlavorIsRefusedWithWhy) {
  std::string text = cluster("15");
  text.replace(text.find("  pods:"), 0, "    flavor: babelfish\n");
  const auto errors = with_severity(validate(text), Severity::kError);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_TRUE(has(errors, "spec.postgres.flavor: the babelfish flavor is not supported")) << errors[0];
  text.replace(text.find("babelfish"), 9, "vanilla");
  EXPECT_TRUE(validate(text).valid());
}

TEST(Compatibility, CustomDottedParametersAreAccepted) {
  const auto result = validate(cluster("15",
                                       "  configurations:\n    postgres:\n      postgresql.conf:\n"
                                       "        app.tenant: acme\n        custom.x: '1'\n"));
  EXPECT_TRUE(result.valid()) << testing::PrintToString(with_severity(result, Severity::kError));
}

TEST(Compatibility, FractionalMemoryQuantities) {
  std::string text = cluster("15");
  text.replace(text.find("10Gi"), 4, "1.8Ti");
  EXPECT_TRUE(validate(text).valid());
}

TEST(Compatibility, ReplicateFromAClusterNotInTheInputIsDeferred) {
  // Another cluster in the input does not turn the missing source into an error.
  const std::string text = cluster("15", "  replicateFrom:\n    instance:\n      sgCluster: origin\n") + "---\n" +
                           R"(apiVersion: stackgres.io/v1
kind: SGCluster
metadata: {name: other}
spec: {instances: 1, postgres: {version: '15'}, pods: {persistentVolume: {size: 1Gi}}}
)";
  const auto result = validate(text);
  EXPECT_TRUE(result.valid()) << testing::PrintToString(with_severity(result, Severity::kError));
  EXPECT_TRUE(
      has(with_severity(result, Severity::kDeferred), "spec.replicateFrom.instance.sgCluster: SGCluster/origin"));
  ValidationContext api = context_with_15();
  api.references_must_exist = true;
  EXPECT_TRUE(has(with_severity(validate(text, api), Severity::kError), "SGCluster/origin does not exist"));
}

TEST(Compatibility, RestoreByUidAndImmediateTarget) {
  const auto result = validate(cluster("15", R"(  initialData:
    restore:
      fromBackup:
        uid: 5d1c1f2e-0000-4000-8000-000000000001
        target: immediate
)"));
  EXPECT_TRUE(result.valid()) << testing::PrintToString(with_severity(result, Severity::kError));
  EXPECT_TRUE(has(with_severity(result, Severity::kDeferred), "fromBackup.uid"));
  const auto both = validate(cluster("15", R"(  initialData:
    restore:
      fromBackup: {name: b1, target: immediate, targetName: before-migration}
)"));
  EXPECT_TRUE(has(with_severity(both, Severity::kError), "expected at most one recovery target"));
  const auto missing = validate(cluster("15", "  initialData:\n    restore:\n      fromBackup: {target: immediate}\n"));
  EXPECT_TRUE(has(with_severity(missing, Severity::kError), "the SGBackup to restore, or its uid"));

  const auto loaded = load_documents(cluster("15",
                                             "  initialData:\n    restore:\n      fromBackup: {name: b1, "
                                             "target: immediate}\n"),
                                     "m.yaml");
  const Cluster typed = cluster_from(loaded.documents[0]);
  ASSERT_TRUE(typed.restore);
  EXPECT_TRUE(typed.restore->target_immediate);
}

TEST(Compatibility, ScriptIdMinusOneAndDbOpsRetriesWithoutCap) {
  const auto scripts = validate(R"(
apiVersion: stackgres.io/v1
kind: SGScript
metadata: {name: schema}
spec:
  scripts:
  - {id: -1, name: one, script: 'create table a (i int)'}
  - {id: -1, name: two, script: 'create table b (i int)'}
)");
  EXPECT_TRUE(scripts.valid()) << testing::PrintToString(with_severity(scripts, Severity::kError));
  const auto managed = validate(cluster("15",
                                        "  managedSql:\n    scripts:\n    - {id: -1, sgScript: a}\n"
                                        "    - {id: -1, sgScript: b}\n"));
  EXPECT_TRUE(managed.valid()) << testing::PrintToString(with_severity(managed, Severity::kError));
  const auto dbops = validate(R"(
apiVersion: stackgres.io/v1
kind: SGDbOps
metadata: {name: upgrade}
spec:
  sgCluster: shop
  op: majorVersionUpgrade
  maxRetries: 25
  majorVersionUpgrade:
    postgresVersion: '16'
    maxErrorsAfterUpgrade: 6
    toInstallPostgresExtensions: []
)");
  EXPECT_TRUE(dbops.valid()) << testing::PrintToString(with_severity(dbops, Severity::kError));
  EXPECT_TRUE(has(with_severity(dbops, Severity::kNote), "maxErrorsAfterUpgrade: accepted but not applied"));
}

TEST(Compatibility, PgbenchOptionsAcceptedAndSamplingRefusedWithWhy) {
  const std::string text = R"(
apiVersion: stackgres.io/v1
kind: SGDbOps
metadata: {name: bench}
spec:
  sgCluster: shop
  op: benchmark
  benchmark:
    type: pgbench
    pgbench:
      databaseSize: 1Gi
      duration: PT1M
      samplingRate: 0.1
      foreignKeys: true
      unloggedTables: true
      partitionMethod: range
      partitions: 4
      initSteps: dtgvp
      fillfactor: 90
      noVacuum: true
)";
  const auto accepted = validate(text);
  EXPECT_TRUE(accepted.valid()) << testing::PrintToString(with_severity(accepted, Severity::kError));
  const auto loaded = load_documents(text, "m.yaml");
  const auto ops = dbops_from(loaded.documents[0]);
  ASSERT_TRUE(ops.ok()) << ops.error().message;
  EXPECT_TRUE(ops->benchmark.foreign_keys);
  EXPECT_EQ(ops->benchmark.partitions, 4);
  EXPECT_EQ(ops->benchmark.sampling_rate, 0.1);

  std::string no_partitions = text;
  no_partitions.replace(no_partitions.find("      partitions: 4\n"), 20, "");
  EXPECT_TRUE(has(with_severity(validate(no_partitions), Severity::kError),
                  "spec.benchmark.pgbench.partitionMethod: needs partitions"));
  std::string replay_mode = text;
  replay_mode.replace(replay_mode.find("      noVacuum: true\n"), 21, "      mode: replay\n");
  EXPECT_TRUE(has(with_severity(validate(replay_mode), Severity::kError),
                  "spec.benchmark.pgbench.mode: replaying sampled queries needs a sampling benchmark"));
  std::string replay = text;
  replay.replace(replay.find("      noVacuum: true\n"), 21,
                 "      samplingSGDbOps: sampled\n      mode: custom\n      custom:\n        scripts:\n"
                 "        - replay: 0\n");
  const auto errors = with_severity(validate(replay), Severity::kError);
  EXPECT_TRUE(has(errors, "spec.benchmark.pgbench.samplingSGDbOps: replaying sampled queries needs a sampling"))
      << testing::PrintToString(errors);
  EXPECT_TRUE(has(errors, "spec.benchmark.pgbench.custom.scripts[0].replay: replaying"))
      << testing::PrintToString(errors);
}

TEST(Compatibility, DistributedLogsProfileAndObjectStorageCredentials) {
  const auto logs = validate(R"(
apiVersion: stackgres.io/v1
kind: SGDistributedLogs
metadata: {name: logs}
spec:
  profile: development
  persistentVolume: {size: 5Gi}
)");
  EXPECT_TRUE(logs.valid()) << testing::PrintToString(with_severity(logs, Severity::kError));
  EXPECT_TRUE(has(with_severity(logs, Severity::kNote), "spec.profile: accepted and ignored"));

  const auto iam = validate(R"(
apiVersion: stackgres.io/v1beta1
kind: SGObjectStorage
metadata: {name: s3}
spec:
  type: s3
  s3:
    bucket: backups
    awsCredentials: {useIAMRole: true}
)");
  EXPECT_TRUE(iam.valid()) << testing::PrintToString(with_severity(iam, Severity::kError));
  const auto loaded = load_documents(
      "apiVersion: stackgres.io/v1beta1\nkind: SGObjectStorage\nmetadata: {name: s3}\nspec:\n  type: s3\n  s3:\n"
      "    bucket: backups\n    awsCredentials: {useIAMRole: true}\n",
      "m.yaml");
  EXPECT_TRUE(object_storage_from(loaded.documents[0]).use_iam_role);
  const auto no_keys = validate(R"(
apiVersion: stackgres.io/v1beta1
kind: SGObjectStorage
metadata: {name: s3}
spec:
  type: s3
  s3:
    bucket: backups
    awsCredentials: {}
)");
  EXPECT_TRUE(
      has(with_severity(no_keys, Severity::kError), "spec.s3.awsCredentials.secretKeySelectors: required field"));

  const std::string compatible = R"(
apiVersion: stackgres.io/v1beta1
kind: SGObjectStorage
metadata: {name: minio}
spec:
  type: s3Compatible
  s3Compatible:
    bucket: backups
    endpoint: https://minio.internal:9000
    awsCredentials:
      secretKeySelectors:
        accessKeyId: {name: minio, key: id}
        secretAccessKey: {name: minio, key: secret}
        caCertificate: {name: minio, key: ca.crt}
)";
  EXPECT_TRUE(validate(compatible).valid());
  EXPECT_EQ(object_storage_from(load_documents(compatible, "m.yaml").documents[0]).ca_certificate_ref, "minio/ca.crt");
}

TEST(Compatibility, PgBouncerSettingsNewerThanTheInstalledOneAreRefused) {
  const std::string text = R"(
apiVersion: stackgres.io/v1
kind: SGPoolingConfig
metadata: {name: pool}
spec:
  pgBouncer:
    pgbouncer.ini:
      pgbouncer:
        max_prepared_statements: '100'
        default_pool_size: '50'
)";
  const auto errors = with_severity(validate(text), Severity::kError);
  ASSERT_EQ(errors.size(), 1u) << testing::PrintToString(errors);
  EXPECT_TRUE(has(errors, "max_prepared_statements: needs PgBouncer 1.21 or later; the installed PgBouncer is 1.18.0"));
  ValidationContext newer = context_with_15();
  newer.pgbouncer_version = "1.21.0";
  EXPECT_TRUE(validate(text, newer).valid());
}

TEST(Compatibility, YamlMergeKeysAsKubernetesReadsThem) {
  const auto loaded = load_documents(R"(
base: &base {a: 1, b: 2}
extra: &extra {b: 3, c: 4}
one:
  <<: *base
  b: 20
list:
  <<: [*base, *extra]
  d: 5
quoted:
  '<<': literal
)",
                                     "m.yaml");
  ASSERT_FALSE(loaded.diagnostics.has_errors()) << loaded.diagnostics.items().front().to_string();
  const Json& body = loaded.documents[0].body;
  EXPECT_EQ(body["one"], Json::parse(R"({"b": 20, "a": 1})"));
  // An earlier mapping in the list wins: b comes from base.
  EXPECT_EQ(body["list"], Json::parse(R"({"d": 5, "a": 1, "b": 2, "c": 4})"));
  EXPECT_EQ(body["quoted"]["<<"], "literal");
  const auto bad = load_documents("x:\n  <<: 3\n", "m.yaml");
  EXPECT_TRUE(bad.diagnostics.has_errors());
  EXPECT_NE(bad.diagnostics.items().front().message.find("merge key"), std::string::npos);
}

TEST(Compatibility, YamlOutputQuotesYaml11Booleans) {
  const std::string yaml = documents_to_yaml({Document{"m.yaml", 0, Json::parse(R"({"spec": {"a": "on", "b": "off",
      "c": "yes", "d": "n", "e": "true", "f": "Off", "g": "ok", "y": 1}})")}});
  for (const char* quoted : {"a: 'on'", "b: 'off'", "c: 'yes'", "d: 'n'", "e: 'true'", "f: 'Off'", "g: ok", "'y': 1"})
    EXPECT_NE(yaml.find(quoted), std::string::npos) << quoted << "\n" << yaml;
  // And they read back as strings.
  const auto again = load_documents(yaml, "again.yaml");
  EXPECT_EQ(again.documents[0].body["spec"]["a"], "on");
}

// Nothing pgstack cannot run is accepted silently: what the user expects to happen and does not is a
// warning; defaults the walker fills in get no note.
TEST(Compatibility, WhatIsNotAppliedIsSaidAndDefaultsAreQuiet) {
  const auto minimal = validate(cluster("15"));
  EXPECT_TRUE(minimal.valid());
  EXPECT_TRUE(with_severity(minimal, Severity::kNote).empty())
      << testing::PrintToString(with_severity(minimal, Severity::kNote));
  EXPECT_TRUE(with_severity(minimal, Severity::kWarning).empty());

  const auto standby =
      validate(cluster("15",
                       "  replicateFrom:\n    instance:\n      external: {host: db.example, port: 5432}\n"
                       "  initialData:\n    scripts:\n    - {script: 'create table t (i int)'}\n"
                       "  pods2: {}\n"));
  EXPECT_TRUE(has(with_severity(standby, Severity::kError), "spec.pods2: unknown field"));
  const auto warned =
      validate(cluster("15",
                       "  replicateFrom:\n    instance:\n      external: {host: db.example, port: 5432}\n"
                       "  initialData:\n    scripts:\n    - {script: 'create table t (i int)'}\n"));
  EXPECT_TRUE(warned.valid());
  const auto warnings = with_severity(warned, Severity::kWarning);
  EXPECT_TRUE(has(warnings, "spec.replicateFrom: accepted but not yet applied: pgstack does not run standby clusters"))
      << testing::PrintToString(warnings);
  EXPECT_TRUE(has(warnings, "spec.initialData.scripts: accepted but not applied")) << testing::PrintToString(warnings);

  const auto users = validate(cluster("15", R"(  configurations:
    credentials:
      users:
        superuser:
          username: {name: creds, key: user}
          password: {name: creds, key: password}
)"));
  EXPECT_TRUE(users.valid());
  const auto user_warnings = with_severity(users, Severity::kWarning);
  EXPECT_TRUE(has(user_warnings, "users.superuser.username: accepted but not yet applied"))
      << testing::PrintToString(user_warnings);
  EXPECT_TRUE(has(user_warnings, "users.superuser.password: accepted but not yet applied: pgstack generates"));

  const auto encrypted = validate(R"(
apiVersion: stackgres.io/v1beta1
kind: SGObjectStorage
metadata: {name: fs}
spec:
  type: filesystem
  filesystem: {path: /srv/backups}
  encryption:
    method: sodium
    sodium: {key: {name: backup-keys, key: sodium}}
)");
  EXPECT_TRUE(encrypted.valid());
  const auto snapshots =
      validate(cluster("15", "  configurations:\n    backups:\n    - {sgObjectStorage: s, useVolumeSnapshot: true}\n"));
  EXPECT_TRUE(snapshots.valid());
  EXPECT_TRUE(
      has(with_severity(snapshots, Severity::kWarning), "backups[0].useVolumeSnapshot: accepted but not applied"));
  EXPECT_TRUE(with_severity(encrypted, Severity::kWarning).empty());
  EXPECT_TRUE(
      has(with_severity(encrypted, Severity::kNote), "spec.encryption: backups and WAL are encrypted by pgBackRest"));
  const auto keyless = validate(R"(
apiVersion: stackgres.io/v1beta1
kind: SGObjectStorage
metadata: {name: fs}
spec:
  type: filesystem
  filesystem: {path: /srv/backups}
  encryption: {method: openpgp}
)");
  EXPECT_TRUE(has(with_severity(keyless, Severity::kError), "spec.encryption.openpgp: required field is missing"));
}

TEST(Compatibility, RestoreTargetTimeline) {
  const auto loaded = load_documents(
      cluster("15", "  initialData:\n    restore:\n      fromBackup: {name: b1, targetTimeline: '2'}\n"), "m.yaml");
  const Cluster typed = cluster_from(loaded.documents[0]);
  ASSERT_TRUE(typed.restore);
  EXPECT_EQ(typed.restore->target_timeline, "2");
  EXPECT_TRUE(has(with_severity(validate(cluster("15",
                                                 "  initialData:\n    restore:\n      fromBackup: {name: b1, "
                                                 "targetTimeline: previous}\n")),
                                Severity::kError),
                  "targetTimeline: expected latest, current or a timeline number"));
}

TEST(Compatibility, VersionHelpers) {
  EXPECT_TRUE(version_less("1.18.0", "1.21"));
  EXPECT_FALSE(version_less("1.21.0", "1.21"));
  EXPECT_FALSE(version_less("1.24.1", "1.21"));
  EXPECT_EQ(requested_major("15.4"), 15);
  EXPECT_EQ(requested_major("latest"), std::nullopt);
  EXPECT_EQ(nearest_installed(12, {{15, "15.18"}, {17, "17.2"}})->major, 15);
  EXPECT_EQ(nearest_installed(16, {{15, "15.18"}, {17, "17.2"}})->major, 17);
  EXPECT_FALSE(nearest_installed(16, {}));
}

}  // namespace
}  // namespace pgstack::model
