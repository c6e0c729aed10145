#include "model/kinds.h"

#include <regex>

#include "common/strings.h"
#include "model/cron.h"
#include "model/dbops.h"
#include "model/host_labels.h"

namespace pgstack::model {
namespace {

using F = Field;

ValueCheck regex_check(const std::string& pattern) {
  return [re = std::regex(pattern)](const Json& value) -> std::optional<std::string> {
    if (value.is_string() && std::regex_match(value.get<std::string>(), re)) return std::nullopt;
    return "";  // the field's expectation says what is wrong
  };
}

// spec.distributedLogs.retention: StackGres's pattern, and above zero (a store cannot keep logs for no time).
ValueCheck log_retention_check() {
  return [form = regex_check(R"(^(\d+) *(minutes?|hours?|days?|weeks?|months?)$)")](
             const Json& value) -> std::optional<std::string> {
    if (auto problem = form(value)) return problem;
    const std::string text = value.get<std::string>();
    const std::string number = text.substr(0, text.find_first_not_of("0123456789"));
    if (number.find_first_not_of('0') != std::string::npos) return std::nullopt;
    return "a retention of " + Json(text).dump() + " keeps nothing; expected a period above zero such as \"7 days\"";
  };
}

F iso_timestamp() {
  return F::string().checked(regex_check(R"(^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$)"),
                             "an ISO-8601 timestamp with a time zone, such as \"2026-11-24T10:00:00Z\"");
}

F iso_duration() {
  return F::string().checked(
      regex_check(R"(^P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?$)"),
      "an ISO-8601 duration such as \"PT10M\" or \"P1D\"");
}

// At least an hour: certificates are renewed at two thirds of their lifetime.
F ssl_duration() {
  return F::string().checked(
      [](const Json& value) -> std::optional<std::string> {
        auto parsed = parse_iso_duration(value.get<std::string>());
        if (!parsed.ok()) return "";
        if (*parsed < std::chrono::hours(1)) return "expected a certificate lifetime of at least PT1H";
        return std::nullopt;
      },
      "an ISO-8601 duration of at least an hour, such as \"P365D\"");
}

F cron_schedule() {
  return F::string().checked(
      [](const Json& value) -> std::optional<std::string> {
        auto parsed = parse_cron(value.get<std::string>());
        if (parsed.ok()) return std::nullopt;
        return parsed.error().message;
      },
      "a 5-field cron schedule (minute hour day-of-month month day-of-week)");
}

F secret_key_selector() { return F::object({{"name", F::string().required()}, {"key", F::string().required()}}); }

F string_map() { return F::map(F::scalar_string()); }

// "name" or "name/key/prefix": the prefix goes in front of every cluster's repository path.
F bucket_name() {
  return F::string()
      .checked(regex_check(R"(^[^/\s]+(/\S*)?$)"), "a bucket name, optionally followed by /<key prefix>")
      .required();
}

// pgBackRest speaks only HTTPS to object stores.
F https_endpoint() {
  return F::string().checked(regex_check(R"(^https://[A-Za-z0-9.-]+(:\d{1,5})?/?$)"),
                             "https://host or https://host:port, such as \"https://storage.example.internal:4443\"");
}

F postgres_version() {
  return F::scalar_string().checked(regex_check(R"(^(latest|\d+(\.\d+)?)$)"),
                                    "\"latest\", a major version such as \"15\" or an exact version such as \"15.4\"");
}

F pgbouncer_ini() {
  return F::object({{"pgbouncer", string_map()},
                    {"databases", F::map(F::either({F::scalar_string(), F::map(F::scalar_string())}))},
                    {"users", F::map(F::either({F::scalar_string(), F::map(F::scalar_string())}))}});
}

// Why a Kubernetes-only field means nothing here; each is accepted with a note naming it.
const std::string kServiceKnob = "a Kubernetes Service setting; pgstack's endpoints are pgstack-proxy listeners";
const std::string kPodKnob = "a Kubernetes Pod setting; pgstack runs each instance as processes on a host";
const std::string kSchedulingKnob = "Kubernetes scheduling; pgstack places members on registered hosts";
std::optional<std::string> label_value_check(const Json& value) {
  if (value.is_string() && is_label_value(value.get<std::string>())) return std::nullopt;
  return std::string();  // the field's expectation says what is wanted
}
const std::string kOwnCertificate =
    "accepted but not yet applied: the members serve a certificate pgstack issues from the installation's CA, "
    "not this Secret's";
const std::string kResourceKnob =
    "Kubernetes resource requests and limits; pgstack sizes Postgres from the "
    "SGInstanceProfile's cpu and memory";

F service() {
  F members = F::object(
      {{"enabled",
        F::boolean().defaults_to(true).noted("accepted but not yet applied: pgstack-proxy serves both endpoints")},
       {"type",
        F::string().one_of({"ClusterIP", "LoadBalancer", "NodePort"}).noted("accepted and ignored: " + kServiceKnob)}});
  Field::Members all = members.members();
  for (const char* knob : {"externalIPs", "loadBalancerIP", "customPorts", "nodePorts", "allocateLoadBalancerNodePorts",
                           "externalTrafficPolicy", "healthCheckNodePort", "internalTrafficPolicy", "ipFamilies",
                           "ipFamilyPolicy", "loadBalancerClass", "loadBalancerSourceRanges",
                           "publishNotReadyAddresses", "sessionAffinity", "sessionAffinityConfig"})
    all.emplace_back(knob, F::ignored(kServiceKnob));
  return F::object(std::move(all));
}

// Babelfish (SQL Server's protocol on Postgres) needs a patched server that pgstack does not ship.
F postgres_flavor() {
  return F::string()
      .one_of({"vanilla", "babelfish"})
      .checked(
          [](const Json& value) -> std::optional<std::string> {
            if (value == "babelfish")
              return "the babelfish flavor is not supported: pgstack runs PostgreSQL without Babelfish's patched "
                     "server; expected vanilla";
            return std::nullopt;
          },
          "vanilla");
}

// pgBackRest has no bandwidth limit (it has process-max); accepted so StackGres' manifests apply as written.
F bandwidth_limit() {
  return F::integer().at_least(1).noted(
      "accepted but not enforced: pgBackRest, pgstack's backup engine, cannot limit bandwidth "
      "(performance.uploadConcurrency and downloadConcurrency set its parallelism)");
}

// The schema tables are laid out by hand, one field a line where it helps reading.
// clang-format off
F cluster_spec() {
  // A username from a Secret is reported by the validator (an either() alternative cannot warn).
  const F user_credentials = F::object({{"username", F::either({F::string(), secret_key_selector()})},
                                        {"password", secret_key_selector().warned(
                                                         "accepted but not yet applied: pgstack generates this "
                                                         "user's password (stored in the cluster's credentials)")}});
  return F::object({
      {"instances", F::integer().at_least(1).required()},
      {"profile", F::string()
                      .one_of({"production", "testing", "development"})
                      .defaults_to("production")
                      .noted("accepted and ignored: the profile sets Kubernetes pod anti-affinity and resource "
                             "requests; pgstack sizes Postgres from the SGInstanceProfile")},
      {"postgres",
       F::object({
           {"version", postgres_version().required()},
           {"flavor", postgres_flavor().defaults_to("vanilla")},
           {"extensions", F::array(F::object({{"name", F::string().required()},
                                               {"version", F::scalar_string()},
                                               {"publisher", F::string()},
                                               {"repository", F::string()}}))},
           // required is pgstack's: every TCP client must use TLS (hostssl only).
           {"ssl", F::object({{"enabled", F::boolean().defaults_to(true)},
                              {"required", F::boolean().defaults_to(false)},
                              {"certificateSecretKeySelector", secret_key_selector().warned(kOwnCertificate)},
                              {"privateKeySecretKeySelector", secret_key_selector().warned(kOwnCertificate)},
                              // The lifetime of the certificates the agents issue to the cluster's members.
                              {"duration", ssl_duration()}})
                       .defaults_to(Json::object())},
       }).required()},
      {"replication",
       F::object({{"mode", F::string()
                               .one_of({"async", "sync", "strict-sync", "sync-all", "strict-sync-all"})
                               .defaults_to("async")},
                  {"role", F::string()
                               .one_of({"ha-read", "ha", "readonly", "none"})
                               .defaults_to("ha-read")
                               .noted("accepted but not yet applied: replicas serve reads and may be promoted, "
                                      "as with ha-read")},
                  {"syncInstances", F::integer().at_least(1).defaults_to(1)},
                  {"groups", F::any().warned("accepted but not yet applied: every replica has the role that "
                                             "replication.role gives")},
                  {"initialization", F::any().noted("accepted but not yet applied: replicas are initialized "
                                                    "from the primary (pg_basebackup through Patroni)")}})
           .defaults_to(Json::object())},
      {"sgInstanceProfile", F::string()},
      // Labels and annotations of Kubernetes objects pgstack does not create.
      {"metadata", F::object({{"annotations", F::ignored("annotations of Kubernetes objects (pods, services, "
                                                           "service accounts), which pgstack does not create")},
                              {"labels", F::ignored("labels of Kubernetes objects (pods, services, service "
                                                      "accounts), which pgstack does not create")}})},
      {"postgresServices", F::object({{"primary", service()}, {"replicas", service()}})},
      {"autoscaling", F::ignored("autoscaling drives Kubernetes' KEDA and Vertical Pod Autoscaler; pgstack runs "
                                 "spec.instances members")},
      {"toInstallPostgresExtensions", F::ignored("StackGres' record of the extension packages it installed; pgstack "
                                                 "installs what postgres.extensions asks for")},
      {"pods",
       F::object({
           {"persistentVolume", F::object({{"size", F::memory().required()},
                                           {"storageClass", F::string()},
                                           {"fsGroupChangePolicy", F::ignored("a Kubernetes volume setting; "
                                                                              "pgstack's data directories are "
                                                                              "owned by the postgres user")}}).required()},
           {"terminationGracePeriodSeconds", F::ignored(kPodKnob)},
           {"readinessProbe", F::ignored(kPodKnob + "; pgstack checks instances through Patroni's REST API")},
           {"livenessProbe", F::ignored(kPodKnob + "; pgstack checks instances through Patroni's REST API")},
           {"customEnv", F::ignored(kPodKnob)},
           {"customInitEnv", F::ignored(kPodKnob)},
           {"customEnvFrom", F::ignored(kPodKnob)},
           {"customInitEnvFrom", F::ignored(kPodKnob)},
           {"customInitVolumeMounts", F::ignored(kPodKnob)},
           {"disableConnectionPooling", F::boolean().defaults_to(false)},
           // pgstack's: which pooler the cluster's pgstack-proxy endpoints use (docs/proxy.md, "Pooling").
           {"connectionPooler", F::string().one_of({"pgbouncer", "pgstack-proxy"}).defaults_to("pgbouncer")},
           {"disableMetricsExporter", F::boolean().defaults_to(false)},
           {"disablePostgresUtil", F::boolean().defaults_to(false).noted(
                                        "accepted and ignored: pgstack runs no postgres-util sidecar; psql and the "
                                        "client tools are on the host")},
           {"disableEnvoy", F::boolean().noted("accepted and ignored: pgstack runs no Envoy; pgstack-proxy routes "
                                               "connections")},
           {"resources", F::object({{"containers", F::ignored(kPodKnob)},
                                    {"initContainers", F::ignored(kPodKnob)},
                                    {"enableClusterLimitsRequirements", F::ignored(kResourceKnob)},
                                    {"disableResourcesRequestsSplitFromTotal", F::ignored(kResourceKnob)},
                                    {"failWhenTotalIsHigher", F::ignored(kResourceKnob)}})},
           {"managementPolicy", F::string().one_of({"OrderedReady", "Parallel"}).noted("accepted and ignored: " +
                                                                                      kPodKnob)},
           {"scheduling",
            F::object({{"nodeSelector",
                        F::map(F::string().checked(label_value_check, "a label value: up to 63 letters, digits, '-', "
                                                                       "'_' or '.'"))
                            .noted("members are placed only on hosts that have all of these labels (pgstack up "
                                   "--label, pgstack join --label; pgstack get hosts -o wide lists them)")},
                       {"tolerations", F::ignored(kSchedulingKnob)},
                       {"nodeAffinity", F::ignored(kSchedulingKnob)},
                       {"priorityClassName", F::ignored(kSchedulingKnob)},
                       {"podAffinity", F::ignored(kSchedulingKnob)},
                       {"podAntiAffinity", F::ignored(kSchedulingKnob + "; pgstack spreads a cluster's members over "
                                                                        "hosts by itself")},
                       {"topologySpreadConstraints", F::ignored(kSchedulingKnob)},
                       {"backup", F::ignored(kSchedulingKnob + "; backups run on the host of the member they read")}})},
           {"updateStrategy", F::ignored(kPodKnob + "; restarts for pending changes are SGDbOps restart")},
           {"customVolumes", F::ignored(kPodKnob)},
           {"customVolumeMounts", F::ignored(kPodKnob)},
           {"customContainers", F::ignored(kPodKnob)},
           {"customInitContainers", F::ignored(kPodKnob)},
       }).required()},
      {"configurations",
       F::object({
           {"sgPostgresConfig", F::string()},
           {"sgPoolingConfig", F::string()},
           {"postgres", F::object({{"postgresql.conf", F::map(F::scalar_string())}})},
           {"pooling", F::object({{"pgBouncer", F::object({{"pgbouncer.ini", pgbouncer_ini()}})}})},
           {"postgresExporter", F::object({{"queries", F::any().noted("accepted and ignored: the exporter runs "
                                                                       "pgstack's own queries (docs/monitoring.md)")}})},
           {"backups",
            F::array(F::object({
                {"sgObjectStorage", F::string().required()},
                {"cronSchedule", cron_schedule()},
                {"retention", F::integer().at_least(1).defaults_to(5)},
                {"compression", F::string().one_of({"lz4", "zstd", "gzip", "lzma", "brotli", "none"}).defaults_to("lz4")},
                {"path", F::string()},
                {"performance", F::object({{"maxNetworkBandwidth", bandwidth_limit()},
                                           {"maxDiskBandwidth", bandwidth_limit()},
                                           {"uploadDiskConcurrency", F::integer().at_least(1).noted(
                                                                         "accepted and ignored: pgBackRest reads "
                                                                         "with performance.uploadConcurrency "
                                                                         "processes")},
                                           {"uploadConcurrency", F::integer().at_least(1)},
                                           {"downloadConcurrency", F::integer().at_least(1)}})},
                {"useVolumeSnapshot", F::boolean()},
                {"volumeSnapshotClass", F::ignored("volume snapshots need Kubernetes")},
                {"fastVolumeSnapshot", F::ignored("volume snapshots need Kubernetes")},
                {"timeout", F::integer().at_least(0).noted("accepted but not yet applied: a backup runs until "
                                                           "pgBackRest ends")},
                {"reconciliationTimeout", F::integer().at_least(0).noted("accepted and ignored: a Kubernetes "
                                                                         "reconciliation setting")},
                {"maxRetries", F::integer().at_least(0).noted("accepted but not yet applied: a failed scheduled "
                                                              "backup is retried at the next schedule")},
                {"retainWalsForUnmanagedLifecycle", F::boolean().noted("accepted but not yet applied: pgBackRest "
                                                                       "expires WAL with the backups it keeps")},
            }))},
           {"credentials", F::object({{"patroni", F::object({{"restApiPassword", secret_key_selector().noted(
                                                                 "accepted and ignored: pgstack generates the "
                                                                 "Patroni REST API credentials")}})},
                                      {"users", F::object({{"superuser", user_credentials},
                                                           {"replication", user_credentials},
                                                           {"authenticator", user_credentials}})}})},
           {"patroni", F::object({{"dynamicConfig", F::map(F::any())}, {"initialConfig", F::map(F::any())}})},
           {"observability", F::object({{"disableMetrics", F::boolean().defaults_to(false)},
                                        // pgstack's default differs: its own Prometheus is always there.
                                        {"prometheusAutobind", F::boolean().defaults_to(true)},
                                        {"receiver", F::string().noted("accepted and ignored: an OpenTelemetry collector on Kubernetes; "
                                                                        "pgstack's metrics go to the installation's Prometheus")}})},
           {"binding", F::ignored("Kubernetes' Service Binding (a Secret for applications); pgstack connstr "
                                  "prints connection strings")},
       }).defaults_to(Json::object())},
      {"initialData",
       F::object({
           {"restore",
            F::object({{"fromBackup", F::object({{"name", F::string()},
                                                 {"uid", F::string()},
                                                 {"target", F::string().one_of({"immediate"})},
                                                 {"pointInTimeRecovery",
                                                  F::object({{"restoreToTimestamp", iso_timestamp()}})},
                                                 {"targetLsn", F::string().checked(regex_check(R"(^[0-9A-Fa-f]{1,8}/[0-9A-Fa-f]{1,8}$)"),
                                                                                   "an LSN such as \"0/3000060\"")},
                                                 {"targetXid", F::scalar_string().checked(regex_check(R"(^\d+$)"),
                                                                                          "a transaction id (a number)")},
                                                 {"targetName", F::string()},
                                                 {"targetTimeline", F::scalar_string().checked(
                                                                        regex_check(R"(^(latest|current|\d+)$)"),
                                                                        "latest, current or a timeline number")},
                                                 {"targetInclusive", F::boolean()}})},
                       {"downloadDiskConcurrency", F::integer().at_least(1).noted(
                                                       "accepted and ignored: pgBackRest restores with "
                                                       "backups[].performance.downloadConcurrency processes")}})},
           // Deprecated by StackGres in favour of managedSql; SQL the user expects to run must not be dropped quietly.
           {"scripts", F::any().warned("accepted but not applied: initialData.scripts do not run; put the SQL in "
                                       "an SGScript and list it in managedSql.scripts")},
       })},
      {"managedSql", F::object({{"continueOnSGScriptError", F::boolean().defaults_to(false)},
                                {"scripts", F::array(F::object({{"id", F::integer().at_least(-1)},
                                                                {"sgScript", F::string().required()}}))}})},
      {"distributedLogs",
       F::object({{"sgDistributedLogs", F::string()},
                  {"retention", F::string().checked(log_retention_check(), "a period such as \"7 days\" or \"12 hours\"")}})},
      {"nonProductionOptions", F::object({{"disableClusterPodAntiAffinity", F::boolean()},
                                          {"disablePatroniResourceRequirements", F::boolean()},
                                          {"disableClusterResourceRequirements", F::boolean()},
                                          {"enableSetPatroniCpuRequests", F::boolean()},
                                          {"enableSetClusterCpuRequests", F::boolean()},
                                          {"enableSetPatroniMemoryRequests", F::boolean()},
                                          {"enableSetClusterMemoryRequests", F::boolean()},
                                          {"enabledFeatureGates", F::array(F::string())}})
                                   .noted("accepted and ignored: pod anti-affinity, Kubernetes resource requests "
                                          "and StackGres' feature gates")},
      {"replicateFrom",
       F::object({{"instance", F::object({{"sgCluster", F::string()},
                                          {"external", F::object({{"host", F::string().required()},
                                                                  {"port", F::integer().at_least(1).at_most(65535).required()}})}})},
                  {"storage", F::object({{"sgObjectStorage", F::string().required()},
                                         {"path", F::string().required()},
                                         {"performance", F::any()}})},
                  {"users", F::any()}})
           // A standby the user asked for must not quietly run as a primary that takes writes.
           .warned("accepted but not yet applied: pgstack does not run standby clusters yet; this cluster starts as "
                   "an independent primary")},
      {"prometheusAutobind", F::boolean()},  // deprecated: configurations.observability.prometheusAutobind
  });
}

F instance_profile_spec() {
  return F::object({{"cpu", F::cpu().required()},
                    {"memory", F::memory().required()},
                    {"hugePages", F::object({{"hugepages-2Mi", F::memory()}, {"hugepages-1Gi", F::memory()}})},
                    {"containers", F::ignored(kResourceKnob)},
                    {"initContainers", F::ignored(kResourceKnob)},
                    {"requests", F::object({{"cpu", F::cpu()}, {"memory", F::memory()}, {"containers", F::any()},
                                            {"initContainers", F::any()}})
                                     .noted("accepted and ignored: " + kResourceKnob)}});
}

F postgres_config_spec() {
  return F::object({{"postgresVersion", F::scalar_string()
                                            .checked(regex_check(R"(^\d+$)"), "a major version such as \"15\"")
                                            .required()},
                    {"postgresql.conf", F::map(F::scalar_string()).required()}});
}

F pooling_config_spec() {
  return F::object({{"pgBouncer", F::object({{"pgbouncer.ini", pgbouncer_ini()}})}});
}

F object_storage_spec() {
  // secretKeySelectors is required unless useIAMRole (checked in validator.cpp: the CRD has no such rule).
  const F s3_credentials =
      F::object({{"useIAMRole", F::boolean()},
                 {"secretKeySelectors",
                  F::object({{"accessKeyId", secret_key_selector().required()},
                             {"secretAccessKey", secret_key_selector().required()}})}});
  // StackGres keeps an S3-compatible store's CA certificate beside the keys; pgstack also takes it one level up.
  const F s3_compatible_credentials =
      F::object({{"secretKeySelectors",
                  F::object({{"accessKeyId", secret_key_selector().required()},
                             {"secretAccessKey", secret_key_selector().required()},
                             {"caCertificate", secret_key_selector()}}).required()}});
  return F::object({
      {"type", F::string().one_of({"s3", "s3Compatible", "gcs", "azureBlob", "filesystem"}).required()},
      {"s3", F::object({{"bucket", bucket_name()},
                        {"region", F::string()},
                        {"storageClass", F::string()},
                        {"awsCredentials", s3_credentials.required()}})},
      {"s3Compatible", F::object({{"bucket", bucket_name()},
                                  {"region", F::string()},
                                  {"endpoint", F::string()},
                                  {"enablePathStyleAddressing", F::boolean().defaults_to(false)},
                                  {"storageClass", F::string()},
                                  {"caCertificate", secret_key_selector()},
                                  {"awsCredentials", s3_compatible_credentials.required()}})},
      // endpoint and caCertificate of gcs and azureBlob are pgstack's (an emulator, a sovereign cloud).
      {"gcs", F::object({{"bucket", bucket_name()},
                         {"endpoint", https_endpoint()},
                         {"caCertificate", secret_key_selector()},
                         {"gcpCredentials", F::object({{"fetchCredentialsFromMetadataService", F::boolean()},
                                                       {"secretKeySelectors",
                                                        F::object({{"serviceAccountJSON", secret_key_selector()}})}})
                                                .required()}})},
      {"azureBlob",
       F::object({{"bucket", bucket_name()},
                  {"endpoint", https_endpoint()},
                  {"caCertificate", secret_key_selector()},
                  {"azureCredentials",
                   F::object({{"secretKeySelectors", F::object({{"storageAccount", secret_key_selector().required()},
                                                                {"accessKey", secret_key_selector().required()}})
                                                         .required()}})
                       .required()}})},
      {"filesystem", F::object({{"path", F::string().required()}})},
      // pgBackRest encrypts the repository (aes-256-cbc) with a passphrase derived from the key
      // (docs/backups.md): StackGres' method names which key, not the cipher.
      {"encryption",
       F::object({{"method", F::string().one_of({"sodium", "openpgp"}).required()},
                  {"sodium", F::object({{"key", secret_key_selector().required()},
                                        {"keyTransform", F::string().one_of({"base64", "hex", "none"})}})},
                  {"openpgp", F::object({{"key", secret_key_selector().required()},
                                         {"keyPassphrase", secret_key_selector()}})}})
           .noted("backups and WAL are encrypted by pgBackRest (aes-256-cbc) with a passphrase derived from the "
                  "key, not with libsodium or OpenPGP")},
  });
}

F backup_spec() {
  return F::object({{"sgCluster", F::string().required()},
                    {"managedLifecycle", F::boolean().defaults_to(false)},
                    {"type", F::string().one_of({"full", "diff", "incr"})},
                    {"timeout", F::integer().at_least(0).noted("accepted but not yet applied: a backup runs until "
                                                               "pgBackRest ends")},
                    {"reconciliationTimeout", F::integer().at_least(0).noted("accepted and ignored: a Kubernetes "
                                                                             "reconciliation setting")},
                    {"maxRetries", F::integer().at_least(0).noted("accepted but not yet applied: a failed backup is "
                                                                  "not retried")}});
}

F dbops_spec() {
  const F method = F::string().one_of({"InPlace", "ReducedImpact"});
  const F vacuum_database = F::object({{"name", F::string().required()}, {"full", F::boolean()}, {"freeze", F::boolean()},
                                 {"analyze", F::boolean()}, {"disablePageSkipping", F::boolean()}});
  const F repack_database = F::object({{"name", F::string().required()}, {"noOrder", F::boolean()},
                                 {"waitTimeout", iso_duration()}, {"noKillBackend", F::boolean()},
                                 {"noAnalyze", F::boolean()}, {"excludeExtension", F::boolean()}});
  const F custom_script = F::object({{"script", F::string()}, {"builtin", F::string().one_of({"tpcb-like", "simple-update", "select-only"})},
                                     {"weight", F::integer().at_least(0)},
                                     {"scriptFrom", F::refused("a script from a Secret or ConfigMap is not supported "
                                                               "for benchmarks; expected the SQL inline in script")},
                                     {"replay", F::refused("replaying sampled queries needs a sampling benchmark, "
                                                           "which pgstack does not run")}});
  const F pgbench = F::object({
      {"databaseSize", F::memory().required()},
      {"duration", iso_duration().required()},
      {"usePreparedStatements", F::boolean()},
      {"queryMode", F::string().one_of({"simple", "extended", "prepared"})},
      {"mode", F::string()
                   .one_of({"tpcb-like", "select-only", "custom", "replay"})
                   .checked(
                       [](const Json& value) -> std::optional<std::string> {
                         if (value == "replay")
                           return "replaying sampled queries needs a sampling benchmark, which pgstack does not run; "
                                  "expected tpcb-like, select-only or custom";
                         return std::nullopt;
                       },
                       "tpcb-like, select-only or custom")},
      {"concurrentClients", F::integer().at_least(1).at_most(1000)},
      {"threads", F::integer().at_least(1).at_most(256)},
      {"samplingRate", F::number().checked(
                           [](const Json& value) -> std::optional<std::string> {
                             const double rate = value.get<double>();
                             if (rate > 0 && rate <= 1) return std::nullopt;
                             return "";
                           },
                           "a fraction of transactions above 0 and at most 1, such as 0.1")},
      {"foreignKeys", F::boolean()},
      {"unloggedTables", F::boolean()},
      {"partitionMethod", F::string().one_of({"range", "hash"})},
      {"partitions", F::integer().at_least(0)},
      {"initSteps", F::string().checked(regex_check("^[dtgGvpf ]+$"), "pgbench's initialization steps, letters of dtgGvpf")},
      {"fillfactor", F::integer().at_least(10).at_most(100)},
      {"noVacuum", F::boolean()},
      {"samplingSGDbOps", F::refused("replaying sampled queries needs a sampling benchmark, which pgstack does not run "
                                     "(benchmark.type sampling)")},
      {"custom", F::object({{"initialization", F::refused("a custom initialization script is not supported; pgstack "
                                                          "initializes with pgbench --initialize (initSteps, "
                                                          "partitions, foreignKeys, ... shape it)")},
                            {"scripts", F::array(custom_script)}})},
  });
  return F::object({
      {"sgCluster", F::string().required()},
      {"op", F::string()
                 .one_of({"benchmark", "vacuum", "repack", "restart", "securityUpgrade", "minorVersionUpgrade",
                          "majorVersionUpgrade"})
                 .required()},
      {"runAt", iso_timestamp()},
      {"timeout", iso_duration()},
      {"maxRetries", F::integer().at_least(0)},
      {"scheduling", F::any()},
      {"benchmark", F::object({{"type", F::string().one_of({"pgbench", "sampling"}).defaults_to("pgbench")},
                               {"connectionType", F::string().one_of({"primary-service", "replicas-service"})},
                               {"database", F::string()},
                               {"credentials", F::any()},
                               {"pgbench", pgbench},
                               {"sampling", F::any()}})},
      {"vacuum", F::object({{"full", F::boolean()}, {"freeze", F::boolean()}, {"analyze", F::boolean()},
                            {"disablePageSkipping", F::boolean()}, {"databases", F::array(vacuum_database)}})},
      {"repack", F::object({{"noOrder", F::boolean()}, {"waitTimeout", iso_duration()},
                            {"noKillBackend", F::boolean()}, {"noAnalyze", F::boolean()},
                            {"excludeExtension", F::boolean()}, {"databases", F::array(repack_database)}})},
      {"restart", F::object({{"method", method}, {"onlyPendingRestart", F::boolean()}})},
      {"securityUpgrade", F::object({{"method", method}})},
      {"minorVersionUpgrade", F::object({{"postgresVersion", F::scalar_string()}, {"method", method}})},
      {"majorVersionUpgrade", F::object({{"postgresVersion", F::scalar_string().required()},
                                         {"sgPostgresConfig", F::string()},
                                         {"postgresExtensions", F::any()},
                                         {"backupPath", F::string()},
                                         {"link", F::boolean()},
                                         {"clone", F::boolean()},
                                         {"check", F::boolean()},
                                         {"toInstallPostgresExtensions",
                                          F::ignored("StackGres' record of the extension packages to install; "
                                                     "pgstack installs what the cluster's postgres.extensions asks for")},
                                         {"maxErrorsAfterUpgrade",
                                          F::integer().at_least(0).noted(
                                              "accepted but not applied: pgstack's upgrade waits for the instances' "
                                              "readiness with the operation's timeout, not an error count")}})},
  });
}

F distributed_logs_spec() {
  return F::object({{"profile", F::string().one_of({"production", "testing", "development"}).noted(
                        "accepted and ignored: the profile sets Kubernetes pod anti-affinity and resource requests")},
                    {"persistentVolume", F::object({{"size", F::memory().required()}, {"storageClass", F::string()}}).required()},
                    {"postgresServices", F::ignored(kServiceKnob)},
                    {"resources", F::ignored(kResourceKnob)},
                    {"scheduling", F::ignored("Kubernetes scheduling")},
                    {"sgInstanceProfile", F::string()},
                    {"configurations", F::object({{"sgPostgresConfig", F::string()}})},
                    {"metadata", F::ignored("labels and annotations of Kubernetes objects")},
                    {"nonProductionOptions", F::ignored(kResourceKnob)}});
}

F script_spec() {
  const F key_ref = F::object({{"name", F::string().required()}, {"key", F::string().required()}});
  return F::object({
      {"managedVersions", F::boolean().defaults_to(true)},
      {"continueOnError", F::boolean().defaults_to(false)},
      {"scripts", F::array(F::object({
                      {"name", F::string()},
                      {"id", F::integer().at_least(-1)},  // -1: StackGres' default, the operator assigns one
                      {"version", F::integer().at_least(0)},
                      {"database", F::string()},
                      {"user", F::string()},
                      {"wrapInTransaction", F::string().one_of({"read-committed", "repeatable-read", "serializable"})},
                      {"storeStatusInDatabase", F::boolean()},
                      {"retryOnError", F::boolean()},
                      {"script", F::string()},
                      {"scriptFrom", F::object({{"secretKeyRef", key_ref}, {"configMapKeyRef", key_ref}})},
                  }))},
  });
}
// clang-format on

}  // namespace

const std::vector<KindInfo>& all_kinds() {
  static const std::vector<KindInfo> kinds = {
      {"SGCluster", "sgclusters", {"sgclu"}, "stackgres.io/v1", cluster_spec()},
      {"SGInstanceProfile", "sginstanceprofiles", {"sginp"}, "stackgres.io/v1", instance_profile_spec()},
      {"SGPostgresConfig", "sgpgconfigs", {"sgpgc"}, "stackgres.io/v1", postgres_config_spec()},
      {"SGPoolingConfig", "sgpoolconfigs", {"sgpoc"}, "stackgres.io/v1", pooling_config_spec()},
      {"SGObjectStorage", "sgobjectstorages", {"sgobjs"}, "stackgres.io/v1beta1", object_storage_spec()},
      {"SGBackup", "sgbackups", {"sgbkp"}, "stackgres.io/v1", backup_spec()},
      {"SGDbOps", "sgdbops", {"sgdo"}, "stackgres.io/v1", dbops_spec()},
      {"SGDistributedLogs", "sgdistributedlogs", {"sgdil"}, "stackgres.io/v1", distributed_logs_spec()},
      {"SGScript", "sgscripts", {"sgscr"}, "stackgres.io/v1", script_spec()},
  };
  return kinds;
}

const KindInfo* find_kind(std::string_view name) {
  const std::string lowered = to_lower(name);
  for (const auto& info : all_kinds()) {
    if (to_lower(info.kind) == lowered || info.plural == lowered) return &info;
    // Singular of the plural: sgcluster, sgpgconfig, sgdbops stays as is.
    if (info.plural.back() == 's' && info.plural.substr(0, info.plural.size() - 1) == lowered) return &info;
    for (const auto& short_name : info.short_names) {
      if (short_name == lowered) return &info;
    }
  }
  return nullptr;
}

const std::vector<std::string>& blocked_postgres_parameters() {
  static const std::vector<std::string> names = {"archive_command",
                                                 "archive_mode",
                                                 "dynamic_library_path",
                                                 "lc_messages",
                                                 "listen_addresses",
                                                 "logging_collector",
                                                 "log_destination",
                                                 "log_directory",
                                                 "log_filename",
                                                 "log_rotation_age",
                                                 "log_rotation_size",
                                                 "log_truncate_on_rotation",
                                                 "port",
                                                 "wal_log_hints"};
  return names;
}

const std::vector<std::string>& owned_pgbouncer_settings() {
  static const std::vector<std::string> names = {"listen_addr", "listen_port", "unix_socket_dir",
                                                 "auth_type",   "auth_file",   "auth_user",
                                                 "auth_query",  "logfile",     "pidfile"};
  return names;
}

const std::vector<std::string>& known_pgbouncer_settings() {
  static const std::vector<std::string> names = {"admin_users",
                                                 "application_name_add_host",
                                                 "auth_dbname",
                                                 "auth_file",
                                                 "auth_hba_file",
                                                 "auth_query",
                                                 "auth_type",
                                                 "auth_user",
                                                 "autodb_idle_timeout",
                                                 "client_idle_timeout",
                                                 "client_login_timeout",
                                                 "client_tls_ca_file",
                                                 "client_tls_cert_file",
                                                 "client_tls_ciphers",
                                                 "client_tls_dheparams",
                                                 "client_tls_ecdhcurve",
                                                 "client_tls_key_file",
                                                 "client_tls_protocols",
                                                 "client_tls_sslmode",
                                                 "default_pool_size",
                                                 "disable_pqexec",
                                                 "dns_max_ttl",
                                                 "dns_nxdomain_ttl",
                                                 "dns_zone_check_period",
                                                 "idle_transaction_timeout",
                                                 "ignore_startup_parameters",
                                                 "job_name",
                                                 "listen_addr",
                                                 "listen_backlog",
                                                 "listen_port",
                                                 "log_connections",
                                                 "log_disconnections",
                                                 "log_pooler_errors",
                                                 "log_stats",
                                                 "logfile",
                                                 "max_client_conn",
                                                 "max_db_client_connections",
                                                 "max_db_connections",
                                                 "max_packet_size",
                                                 "max_prepared_statements",
                                                 "max_user_client_connections",
                                                 "max_user_connections",
                                                 "min_pool_size",
                                                 "pidfile",
                                                 "pkt_buf",
                                                 "pool_mode",
                                                 "query_timeout",
                                                 "query_wait_timeout",
                                                 "reserve_pool_size",
                                                 "reserve_pool_timeout",
                                                 "resolv_conf",
                                                 "sbuf_loopcnt",
                                                 "server_check_delay",
                                                 "server_check_query",
                                                 "server_connect_timeout",
                                                 "server_fast_close",
                                                 "server_idle_timeout",
                                                 "server_lifetime",
                                                 "server_login_retry",
                                                 "server_reset_query",
                                                 "server_reset_query_always",
                                                 "server_round_robin",
                                                 "server_tls_ca_file",
                                                 "server_tls_cert_file",
                                                 "server_tls_ciphers",
                                                 "server_tls_key_file",
                                                 "server_tls_protocols",
                                                 "server_tls_sslmode",
                                                 "so_reuseport",
                                                 "stats_period",
                                                 "stats_users",
                                                 "suspend_timeout",
                                                 "syslog",
                                                 "syslog_facility",
                                                 "syslog_ident",
                                                 "tcp_defer_accept",
                                                 "tcp_keepalive",
                                                 "tcp_keepcnt",
                                                 "tcp_keepidle",
                                                 "tcp_keepintvl",
                                                 "tcp_socket_buffer",
                                                 "tcp_user_timeout",
                                                 "track_extra_parameters",
                                                 "unix_socket_dir",
                                                 "unix_socket_group",
                                                 "unix_socket_mode",
                                                 "user",
                                                 "verbose"};
  return names;
}

bool is_valid_resource_name(std::string_view name) {
  static const std::regex kLabel("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$");
  return name.size() <= 63 && std::regex_match(std::string(name), kLabel);
}

}  // namespace pgstack::model
