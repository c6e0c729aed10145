#include "agent/instance_plan.h"

#include <algorithm>

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include "agent/bootstrap_sql.h"

namespace pgstack::agent {
namespace {

using model::Json;

Assignment assignment_for(const std::string& member, int index, bool pooling = true) {
  Json cluster = Json::parse(R"({"apiVersion": "stackgres.io/v1", "kind": "SGCluster",
    "metadata": {"name": "demo", "namespace": "shop"},
    "spec": {"instances": 3, "postgres": {"version": "15"}, "pods": {"persistentVolume": {"size": "5Gi"}}}})");
  cluster["spec"]["pods"]["disableConnectionPooling"] = !pooling;
  Json json = {{"namespace", "shop"}, {"clusterName", "demo"},
               {"member", member},    {"index", index},
               {"postgresMajor", 15}, {"ports", {{"postgres", 15433}, {"pgbouncer", 16433}, {"patroni", 18009}}},
               {"cluster", cluster}};
  auto parsed = model::assignment_from_json(json);
  EXPECT_TRUE(parsed.ok()) << parsed.error().message;
  return parsed.value();
}

ClusterSecrets secrets() {
  ClusterSecrets secrets;
  secrets.superuser = {"admin", "super-secret"};
  secrets.replication = {"streamer", "replication-secret"};
  secrets.rewind = {"rewinder", "rewind-secret"};
  secrets.authenticator = {"bouncer", "auth\"secret"};
  secrets.application = {"app", "app-secret"};
  secrets.application_database = "shop";
  return secrets;
}

AgentSettings settings() {
  AgentSettings settings;
  settings.host_name = "node-a";
  settings.address = "10.0.0.7";
  settings.state_dir = "/var/lib/pgstack";
  settings.etcd_endpoints = {"http://10.0.0.1:2379", "http://10.0.0.2:2379/"};
  settings.etcd_prefix = "/pgs";
  settings.os_user = "postgres";
  settings.os_user_home = "/var/lib/postgresql";
  settings.socket_owner_uid = 0;
  return settings;
}

TEST(InstancePlan, EtcdEndpointsAsPatroniWantsThem) {
  EXPECT_EQ(etcd_host_port("http://127.0.0.1:2379"), "127.0.0.1:2379");
  EXPECT_EQ(etcd_host_port("http://etcd-1:2379/"), "etcd-1:2379");
  EXPECT_EQ(etcd_host_port("10.0.0.1:2379"), "10.0.0.1:2379");
}

TEST(InstancePlan, PatroniTalksToItsOwnHostsEtcdMemberFirst) {
  EXPECT_EQ(own_etcd_member_first({"10.0.0.1:2379", "10.0.0.2:2379", "10.0.0.3:2379"}, "10.0.0.3"),
            (std::vector<std::string>{"10.0.0.3:2379", "10.0.0.1:2379", "10.0.0.2:2379"}));
  EXPECT_EQ(own_etcd_member_first({"10.0.0.1:2379", "10.0.0.2:2379"}, "10.0.0.9"),
            (std::vector<std::string>{"10.0.0.1:2379", "10.0.0.2:2379"}));
  // Not a prefix match, and IPv6 in brackets.
  EXPECT_EQ(own_etcd_member_first({"10.0.0.10:2379", "10.0.0.1:2379"}, "10.0.0.1"),
            (std::vector<std::string>{"10.0.0.1:2379", "10.0.0.10:2379"}));
  EXPECT_EQ(own_etcd_member_first({"[fd00::1]:2379", "[fd00::2]:2379"}, "fd00::2"),
            (std::vector<std::string>{"[fd00::2]:2379", "[fd00::1]:2379"}));
}

TEST(InstancePlan, LayoutTakesPortsAddressAndDirectoriesFromTheAssignment) {
  const auto layout = instance_layout_for(assignment_for("demo-1", 1), settings());
  EXPECT_EQ(layout.member_name, "demo-1");
  EXPECT_EQ(layout.member_index, 1);
  EXPECT_EQ(layout.host_address, "10.0.0.7");
  EXPECT_EQ(layout.postgres_port, 15433);
  EXPECT_EQ(layout.pgbouncer_port, 16433);
  EXPECT_EQ(layout.patroni_port, 18009);
  EXPECT_EQ(layout.data_dir, "/var/lib/pgstack/instances/shop/demo/demo-1/data");
  EXPECT_EQ(layout.config_dir, "/var/lib/pgstack/instances/shop/demo/demo-1/config");
  EXPECT_EQ(layout.log_dir, "/var/lib/pgstack/instances/shop/demo/demo-1/log");
  EXPECT_EQ(layout.socket_dir, "/var/lib/pgstack/run/shop.demo-1");
  EXPECT_EQ(layout.bin_dir, "/usr/lib/postgresql/15/bin");
  EXPECT_EQ(layout.etcd_endpoints, (std::vector<std::string>{"10.0.0.1:2379", "10.0.0.2:2379"}));
  EXPECT_EQ(layout.etcd_prefix, "/pgs");
  EXPECT_EQ(layout.os_user, "postgres");
  EXPECT_EQ(layout.post_bootstrap_script, "/var/lib/pgstack/instances/shop/demo/demo-1/config/post_bootstrap.sh");
}

TEST(InstancePlan, ServerCertificateNamesTheMemberLoopbackAndTheAdvertisedAddress) {
  const auto layout = instance_layout_for(assignment_for("demo-1", 1), settings());
  const auto request = server_certificate_request(layout, std::chrono::hours(2));
  EXPECT_EQ(request.common_name, "demo-1");
  EXPECT_EQ(request.dns_names, (std::vector<std::string>{"demo-1", "localhost"}));
  EXPECT_EQ(request.ip_addresses, (std::vector<std::string>{"127.0.0.1", "10.0.0.7"}));
  EXPECT_EQ(request.usage, pki::Usage::kServerAndClient);  // Patroni presents it to other members
  EXPECT_EQ(request.lifetime, std::chrono::hours(2));
  AgentSettings named = settings();
  named.address = "db-7.example";
  const auto by_name =
      server_certificate_request(instance_layout_for(assignment_for("demo-1", 1), named), std::chrono::hours(2));
  EXPECT_EQ(by_name.dns_names, (std::vector<std::string>{"demo-1", "localhost", "db-7.example"}));
  EXPECT_EQ(by_name.ip_addresses, (std::vector<std::string>{"127.0.0.1"}));
}

TEST(InstancePlan, SocketDirectoryStaysShortEnoughForUnixSockets) {
  const Assignment assignment = assignment_for("demo-1", 1);
  AgentSettings long_state = settings();
  long_state.state_dir = "/srv/" + std::string(90, 'x');
  long_state.socket_owner_uid = 1000;
  const auto fallback = socket_dir_for(long_state.state_dir, assignment, 1000).string();
  EXPECT_EQ(fallback.rfind("/tmp/pgstack-1000/", 0), 0U) << fallback;
  EXPECT_LE(fallback.size() + std::string("/.s.PGSQL.65535").size(), 107U);
  // Deterministic (an agent restart must find the same sockets), and distinct per instance.
  EXPECT_EQ(fallback, socket_dir_for(long_state.state_dir, assignment, 1000).string());
  EXPECT_NE(fallback, socket_dir_for(long_state.state_dir, assignment_for("demo-2", 2), 1000).string());
}

TEST(InstancePlan, RendersEveryFileWithTheRightModes) {
  const InstancePlan plan = plan_instance(assignment_for("demo-1", 1), secrets(), settings());
  ASSERT_EQ(plan.files.size(), 5U);
  EXPECT_TRUE(plan.pooling);
  EXPECT_EQ(plan.files.at(InstanceFile::kPgbouncerAuth).permissions, std::filesystem::perms(0600));
  EXPECT_EQ(plan.files.at(InstanceFile::kPgbouncerAuth).content, "\"bouncer\" \"auth\"\"secret\"\n");
  EXPECT_EQ(plan.files.at(InstanceFile::kPgbouncerAuth).path,
            "/var/lib/pgstack/instances/shop/demo/demo-1/config/pgbouncer_auth.txt");
  EXPECT_EQ(plan.files.at(InstanceFile::kPostBootstrap).permissions, std::filesystem::perms(0700));
  EXPECT_EQ(plan.tls_dir, "/var/lib/pgstack/instances/shop/demo/demo-1/config/tls");

  const std::string ini = plan.files.at(InstanceFile::kPgbouncerIni).content;
  EXPECT_NE(ini.find("listen_port = 16433"), std::string::npos) << ini;
  EXPECT_NE(ini.find("auth_user = bouncer"), std::string::npos) << ini;
  EXPECT_NE(ini.find("host=/var/lib/pgstack/run/shop.demo-1 port=15433"), std::string::npos) << ini;
  // Sized to what the instance's Postgres takes: max_connections 100 on 2Gi, 3 instances.
  EXPECT_NE(ini.find("max_db_connections = 85\n"), std::string::npos) << ini;
  const std::string conf = plan.files.at(InstanceFile::kPostgresqlConf).content;
  EXPECT_NE(conf.find("shared_buffers = '512MB'"), std::string::npos);  // the default 2Gi profile
}

TEST(InstancePlan, PatroniConfigurationUsesTheSecretsUserNamesButNoPasswords) {
  const InstancePlan plan = plan_instance(assignment_for("demo-1", 1), secrets(), settings());
  const std::string yaml = plan.files.at(InstanceFile::kPatroniYaml).content;
  const YAML::Node root = YAML::Load(yaml);
  EXPECT_EQ(root["name"].as<std::string>(), "demo-1");
  EXPECT_EQ(root["namespace"].as<std::string>(), "/pgs/patroni/shop/");
  EXPECT_EQ(root["restapi"]["listen"].as<std::string>(), "10.0.0.7:18009");
  EXPECT_EQ(root["etcd3"]["hosts"][1].as<std::string>(), "10.0.0.2:2379");
  EXPECT_EQ(root["postgresql"]["authentication"]["superuser"]["username"].as<std::string>(), "admin");
  EXPECT_EQ(root["postgresql"]["authentication"]["replication"]["username"].as<std::string>(), "streamer");
  EXPECT_EQ(root["bootstrap"]["post_bootstrap"].as<std::string>(),
            "/var/lib/pgstack/instances/shop/demo/demo-1/config/post_bootstrap.sh");
  EXPECT_EQ(root["postgresql"]["pg_ident"][0].as<std::string>(), "pgstack postgres admin");
  for (const auto& [which, file] : plan.files) {
    if (which == InstanceFile::kPgbouncerAuth) continue;
    for (const char* secret : {"super-secret", "replication-secret", "rewind-secret", "app-secret"}) {
      EXPECT_EQ(file.content.find(secret), std::string::npos) << file.path << " holds " << secret;
    }
  }
}

TEST(InstancePlan, PasswordsReachPatroniThroughItsEnvironment) {
  const InstancePlan plan = plan_instance(assignment_for("demo-1", 1), secrets(), settings());
  const auto& environment = plan.patroni_environment;
  EXPECT_EQ(environment.at("PATRONI_SUPERUSER_PASSWORD"), "super-secret");
  EXPECT_EQ(environment.at("PATRONI_REPLICATION_PASSWORD"), "replication-secret");
  EXPECT_EQ(environment.at("PATRONI_REWIND_PASSWORD"), "rewind-secret");
  EXPECT_EQ(environment.at(std::string(kAuthenticatorUserVariable)), "bouncer");
  EXPECT_EQ(environment.at(std::string(kAuthenticatorPasswordVariable)), "auth\"secret");
  EXPECT_EQ(environment.at(std::string(kAppUserVariable)), "app");
  EXPECT_EQ(environment.at(std::string(kAppPasswordVariable)), "app-secret");
  EXPECT_EQ(environment.at(std::string(kAppDatabaseVariable)), "shop");
  EXPECT_EQ(environment.at("LC_ALL"), "C.UTF-8");
  EXPECT_EQ(environment.at("HOME"), "/var/lib/postgresql");
  EXPECT_EQ(plan.pgbouncer_environment.count("PATRONI_SUPERUSER_PASSWORD"), 0U);
}

TEST(InstancePlan, PatroniRestApiCredentialsReachItsEnvironmentAndTheAgentsHeader) {
  ClusterSecrets with_restapi = secrets();
  with_restapi.restapi = {"patroni", "rest-secret"};
  AgentSettings tls = settings();
  tls.etcd_endpoints = {"https://10.0.0.1:2379"};
  const InstancePlan plan = plan_instance(assignment_for("demo-1", 1), with_restapi, tls);
  EXPECT_EQ(plan.patroni_environment.at("PATRONI_RESTAPI_USERNAME"), "patroni");
  EXPECT_EQ(plan.patroni_environment.at("PATRONI_RESTAPI_PASSWORD"), "rest-secret");
  EXPECT_EQ(plan.patroni_api_authorization, "Basic cGF0cm9uaTpyZXN0LXNlY3JldA==");  // base64("patroni:rest-secret")
  EXPECT_TRUE(plan.layout.etcd_tls);
  for (const auto& [which, file] : plan.files)
    EXPECT_EQ(file.content.find("rest-secret"), std::string::npos) << file.path;
  const InstancePlan without = plan_instance(assignment_for("demo-1", 1), secrets(), settings());
  EXPECT_EQ(without.patroni_environment.count("PATRONI_RESTAPI_PASSWORD"), 0U);
  EXPECT_FALSE(without.layout.etcd_tls);
}

TEST(InstancePlan, NoPgBouncerWhenPoolingIsDisabled) {
  const InstancePlan plan = plan_instance(assignment_for("demo-0", 0, /*pooling=*/false), secrets(), settings());
  EXPECT_FALSE(plan.pooling);
  EXPECT_EQ(plan.files.count(InstanceFile::kPgbouncerIni), 0U);
  EXPECT_EQ(plan.files.count(InstanceFile::kPgbouncerAuth), 0U);
  EXPECT_EQ(plan.files.count(InstanceFile::kPatroniYaml), 1U);
}

TEST(InstancePlan, SameInputsSameBytes) {
  const InstancePlan first = plan_instance(assignment_for("demo-1", 1), secrets(), settings());
  const InstancePlan second = plan_instance(assignment_for("demo-1", 1), secrets(), settings());
  for (const auto& [which, file] : first.files) EXPECT_EQ(file.content, second.files.at(which).content) << file.path;
}

TEST(BootstrapScript, ReadsSecretsFromTheEnvironmentAndCoversEveryDatabase) {
  const std::string script = post_bootstrap_script("/usr/lib/postgresql/15/bin/psql");
  EXPECT_EQ(script.rfind("#!/bin/sh\n", 0), 0U);
  EXPECT_NE(script.find("exec /usr/lib/postgresql/15/bin/psql --no-psqlrc"), std::string::npos) << script;
  EXPECT_NE(script.find("--set ON_ERROR_STOP=1 --dbname \"$1\""), std::string::npos) << script;
  // Quoted here-document: the shell expands nothing in the SQL.
  EXPECT_NE(script.find("<<'PGSTACK_SQL'"), std::string::npos);
  EXPECT_NE(script.find("\\getenv authenticator_password PGSTACK_AUTHENTICATOR_PASSWORD"), std::string::npos);
  EXPECT_NE(script.find("\\getenv app_password PGSTACK_APP_PASSWORD"), std::string::npos);
  const std::string sql = bootstrap_sql();
  const auto template1 = sql.find("\\connect template1");
  const auto postgres = sql.find("\\connect postgres");
  const auto database = sql.find("CREATE DATABASE");
  ASSERT_NE(template1, std::string::npos);
  ASSERT_NE(postgres, std::string::npos);
  ASSERT_NE(database, std::string::npos);
  // The lookup function is in template1 before the application database is copied from it.
  EXPECT_LT(template1, database);
  EXPECT_NE(sql.find("pgstack.user_lookup", template1), std::string::npos);
  EXPECT_NE(sql.find("pgstack.user_lookup", postgres), std::string::npos);
  EXPECT_NE(sql.find("REVOKE ALL ON FUNCTION pgstack.user_lookup(text) FROM PUBLIC"), std::string::npos);
  EXPECT_NE(sql.find("GRANT EXECUTE ON FUNCTION pgstack.user_lookup(text) TO :\"authenticator_user\""),
            std::string::npos);
}

}  // namespace
}  // namespace pgstack::agent

namespace pgstack::agent {
namespace {

// An SGObjectStorage of type s3Compatible whose credentials and CA are in Secret "s3-creds".
Json s3_storage(const std::string& name = "objects") {
  return Json::parse(R"({"apiVersion": "stackgres.io/v1beta1", "kind": "SGObjectStorage",
    "metadata": {"name": ")" +
                     name + R"(", "namespace": "shop"},
    "spec": {"type": "s3Compatible", "s3Compatible": {"bucket": "backups", "region": "eu-1",
      "endpoint": "https://127.0.0.1:9000", "enablePathStyleAddressing": true,
      "caCertificate": {"name": "s3-creds", "key": "ca.crt"},
      "awsCredentials": {"secretKeySelectors": {"accessKeyId": {"name": "s3-creds", "key": "accessKeyId"},
                                                "secretAccessKey": {"name": "s3-creds", "key": "secretAccessKey"}}}}}})");
}

Assignment s3_assignment() {
  Assignment assignment = assignment_for("demo-0", 0);
  assignment.cluster.backup = model::BackupConfiguration{};
  assignment.cluster.backup->object_storage = "objects";
  assignment.object_storage = model::object_storage_from(model::Document{"test", 0, s3_storage()});
  return assignment;
}

ClusterSecrets secrets_with_s3_keys() {
  ClusterSecrets with = secrets();
  with.storage_secrets["s3-creds"] = {{"accessKeyId", "AKIAEXAMPLE"},
                                      {"secretAccessKey", "wJalr/EXAMPLEKEY"},
                                      {"ca.crt", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"}};
  return with;
}

TEST(InstancePlanBackups, S3KeysGoIntoAnOwnerOnlyPgbackrestConfAndTheCaNextToIt) {
  const InstancePlan plan = plan_instance(s3_assignment(), secrets_with_s3_keys(), settings());
  EXPECT_EQ(plan.backup_problem, "");
  ASSERT_TRUE(plan.backup.has_value());
  const RenderedFile& conf = plan.files.at(InstanceFile::kPgbackrestConf);
  EXPECT_EQ(conf.permissions, std::filesystem::perms(0600));
  EXPECT_NE(conf.content.find("\nrepo1-s3-key=AKIAEXAMPLE\n"), std::string::npos) << conf.content;
  EXPECT_NE(conf.content.find("\nrepo1-s3-key-secret=wJalr/EXAMPLEKEY\n"), std::string::npos) << conf.content;
  const std::string ca_path = "/var/lib/pgstack/instances/shop/demo/demo-0/config/pgbackrest-ca.crt";
  EXPECT_NE(conf.content.find("\nrepo1-storage-ca-file=" + ca_path + "\n"), std::string::npos) << conf.content;
  const RenderedFile& ca = plan.files.at(InstanceFile::kPgbackrestCa);
  EXPECT_EQ(ca.path, ca_path);
  EXPECT_EQ(ca.permissions, std::filesystem::perms(0600));
  EXPECT_EQ(ca.content.rfind("-----BEGIN CERTIFICATE-----", 0), 0u);
  // The keys never reach a command line or an environment.
  EXPECT_EQ(plan.layout.archive_command.find("AKIAEXAMPLE"), std::string::npos);
  for (const auto& [name, value] : plan.patroni_environment) EXPECT_EQ(value.find("wJalr"), std::string::npos) << name;
}

TEST(InstancePlanBackups, AMissingSecretKeyIsNamedAndArchivingStaysOn) {
  ClusterSecrets missing_key = secrets_with_s3_keys();
  missing_key.storage_secrets["s3-creds"].erase("secretAccessKey");
  const InstancePlan plan = plan_instance(s3_assignment(), missing_key, settings());
  EXPECT_NE(plan.backup_problem.find("SGObjectStorage objects"), std::string::npos) << plan.backup_problem;
  EXPECT_NE(plan.backup_problem.find("awsCredentials.secretKeySelectors.secretAccessKey"), std::string::npos)
      << plan.backup_problem;
  EXPECT_NE(plan.backup_problem.find("key \"secretAccessKey\" of Secret \"s3-creds\""), std::string::npos)
      << plan.backup_problem;
  EXPECT_EQ(plan.backup_problem.find("AKIAEXAMPLE"), std::string::npos);
  // The WAL waits in pg_wal (archive-push fails) rather than being dropped, and nothing restarts.
  ASSERT_TRUE(plan.backup.has_value());
  EXPECT_TRUE(plan.backup->archiving);
  EXPECT_NE(plan.layout.archive_command.find("archive-push"), std::string::npos);
  const std::string& conf = plan.files.at(InstanceFile::kPgbackrestConf).content;
  EXPECT_EQ(conf.find("repo1-s3-key"), std::string::npos) << conf;
  EXPECT_EQ(plan.files.count(InstanceFile::kPgbackrestCa), 0u);

  ClusterSecrets no_secret = secrets();
  const InstancePlan without = plan_instance(s3_assignment(), no_secret, settings());
  EXPECT_NE(without.backup_problem.find("Secret \"s3-creds\", which does not exist"), std::string::npos)
      << without.backup_problem;
}

TEST(InstancePlanBackups, AGcsServiceAccountKeyIsAnOwnerOnlyFileNextToPgbackrestConf) {
  Assignment assignment = s3_assignment();
  assignment.object_storage = model::object_storage_from(model::Document{"test", 0, Json::parse(R"({
    "apiVersion": "stackgres.io/v1beta1", "kind": "SGObjectStorage", "metadata": {"name": "google", "namespace": "shop"},
    "spec": {"type": "gcs", "gcs": {"bucket": "backups", "gcpCredentials": {"secretKeySelectors":
      {"serviceAccountJSON": {"name": "gcp-creds", "key": "key.json"}}}}}})")});
  ClusterSecrets with_key = secrets();
  const std::string key = R"({"type": "service_account", "client_email": "b@shop.iam.gserviceaccount.com",
    "private_key": "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n", "token_uri": "https://oauth2.googleapis.com/token"})";
  with_key.storage_secrets["gcp-creds"] = {{"key.json", key}};
  const InstancePlan plan = plan_instance(assignment, with_key, settings());
  EXPECT_EQ(plan.backup_problem, "");
  const RenderedFile& key_file = plan.files.at(InstanceFile::kPgbackrestGcsKey);
  EXPECT_EQ(key_file.path, "/var/lib/pgstack/instances/shop/demo/demo-0/config/pgbackrest-gcs-key.json");
  EXPECT_EQ(key_file.permissions, std::filesystem::perms(0600));
  EXPECT_EQ(key_file.content, key);
  const std::string& conf = plan.files.at(InstanceFile::kPgbackrestConf).content;
  EXPECT_NE(conf.find("\nrepo1-gcs-key-type=service\n"), std::string::npos) << conf;
  EXPECT_NE(conf.find("\nrepo1-gcs-key=" + key_file.path.string() + "\n"), std::string::npos) << conf;
  EXPECT_EQ(conf.find("PRIVATE KEY"), std::string::npos) << conf;
  EXPECT_EQ(plan.files.count(InstanceFile::kPgbackrestCa), 0u);
}

TEST(InstancePlanBackups, ARestoreSourceHasAConfigFileOfItsOwnWithItsCredentials) {
  Assignment assignment = s3_assignment();
  RestoreAssignment restore;
  restore.backup = "old-20261124020000";
  restore.label = "20261124-020002F";
  restore.storage = model::object_storage_from(model::Document{"test", 0, s3_storage("old-objects")});
  restore.path = "shop/old";
  restore.stanza = "shop-old";
  assignment.restore = restore;
  const InstancePlan plan = plan_instance(assignment, secrets_with_s3_keys(), settings());
  EXPECT_EQ(plan.backup_problem, "");
  const RenderedFile& source = plan.files.at(InstanceFile::kPgbackrestRestoreConf);
  EXPECT_EQ(source.path, "/var/lib/pgstack/instances/shop/demo/demo-0/config/pgbackrest-restore.conf");
  EXPECT_EQ(source.permissions, std::filesystem::perms(0600));
  EXPECT_NE(source.content.find("\nrepo1-path=/shop/old\n"), std::string::npos) << source.content;
  EXPECT_NE(source.content.find("\nrepo1-s3-key=AKIAEXAMPLE\n"), std::string::npos);
  EXPECT_NE(source.content.find("\n[shop-old]\npg1-path=/var/lib/pgstack/instances/shop/demo/demo-0/data\n"),
            std::string::npos)
      << source.content;
  EXPECT_EQ(plan.files.at(InstanceFile::kPgbackrestRestoreCa).path,
            "/var/lib/pgstack/instances/shop/demo/demo-0/config/pgbackrest-restore-ca.crt");
  const std::string& command = plan.layout.restore_bootstrap_command;
  EXPECT_NE(command.find("--config=" + source.path.string() + " --stanza=shop-old --set=20261124-020002F"),
            std::string::npos)
      << command;
  EXPECT_EQ(command.find("AKIAEXAMPLE"), std::string::npos);
  EXPECT_EQ(command.find("--repo1-"), std::string::npos) << command;
  // The cluster's own repository is still in pgbackrest.conf.
  EXPECT_NE(plan.files.at(InstanceFile::kPgbackrestConf).content.find("\nrepo1-path=/shop/demo\n"), std::string::npos);
}

}  // namespace
}  // namespace pgstack::agent

namespace pgstack::agent {
namespace {

ClusterSecrets secrets_with_monitor() {
  ClusterSecrets with = secrets();
  with.monitor = {"pgstack_monitor", "monitor-secret"};
  return with;
}

// The address 10.0.0.7 is off loopback: the exporter runs only with the installation's scrape credential.
AgentSettings exporter_settings() {
  AgentSettings with_credential = settings();
  with_credential.scrape_credential = monitoring::ScrapeCredential{"scrape-secret", "$2b$10$hash"};
  return with_credential;
}

Assignment assignment_with_exporter(bool disable_metrics = false) {
  Assignment assignment = assignment_for("demo-1", 1);
  assignment.ports.exporter = 19188;
  assignment.cluster.disable_metrics = disable_metrics;
  return assignment;
}

TEST(InstancePlanExporter, RunsAsTheMonitorRoleOverTheSocketWithThePasswordInAnOwnerOnlyPassfile) {
  const InstancePlan plan = plan_instance(assignment_with_exporter(), secrets_with_monitor(), exporter_settings());
  ASSERT_TRUE(plan.metrics);
  ASSERT_EQ(plan.files.count(InstanceFile::kExporterQueries), 1U);
  ASSERT_EQ(plan.files.count(InstanceFile::kExporterPassfile), 1U);
  const RenderedFile& passfile = plan.files.at(InstanceFile::kExporterPassfile);
  EXPECT_EQ(passfile.permissions, std::filesystem::perms(0600));
  EXPECT_EQ(passfile.content, "*:*:*:pgstack_monitor:monitor-secret\n");
  EXPECT_EQ(plan.exporter_environment.at("PGPASSFILE"), passfile.path.string());
  const std::string& source = plan.exporter_environment.at("DATA_SOURCE_NAME");
  EXPECT_NE(source.find("host='" + plan.layout.socket_dir + "'"), std::string::npos) << source;
  EXPECT_NE(source.find("user='pgstack_monitor'"), std::string::npos) << source;
  EXPECT_NE(source.find("dbname='shop'"), std::string::npos) << source;
  EXPECT_NE(source.find("statement_timeout=5000"), std::string::npos) << source;
  // No password on the command line or in the environment.
  for (const auto& [name, value] : plan.exporter_environment)
    EXPECT_EQ(value.find("monitor-secret"), std::string::npos) << name;
  for (const auto& argument : plan.exporter_argv) EXPECT_EQ(argument.find("monitor-secret"), std::string::npos);
  // On the host's address, like Patroni's REST API.
  EXPECT_EQ(plan.exporter_argv.front(), settings().exporter_program);
  EXPECT_NE(std::find(plan.exporter_argv.begin(), plan.exporter_argv.end(),
                      "--web.listen-address=" + settings().address + ":19188"),
            plan.exporter_argv.end());
  // Bootstrap creates the role with the password from Patroni's environment.
  EXPECT_EQ(plan.patroni_environment.at(std::string(kMonitorUserVariable)), "pgstack_monitor");
  EXPECT_EQ(plan.patroni_environment.at(std::string(kMonitorPasswordVariable)), "monitor-secret");
}

TEST(InstancePlanExporter, NoneWhenTheClusterDisablesMetricsOrTheRoleOrPortIsMissing) {
  EXPECT_FALSE(plan_instance(assignment_with_exporter(true), secrets_with_monitor(), exporter_settings()).metrics);
  EXPECT_FALSE(plan_instance(assignment_with_exporter(), secrets(), exporter_settings()).metrics);
  EXPECT_FALSE(plan_instance(assignment_for("demo-1", 1), secrets_with_monitor(), exporter_settings()).metrics);
  AgentSettings without_program = exporter_settings();
  without_program.exporter_program.clear();
  const InstancePlan plan = plan_instance(assignment_with_exporter(), secrets_with_monitor(), without_program);
  EXPECT_FALSE(plan.metrics);
  EXPECT_EQ(plan.files.count(InstanceFile::kExporterPassfile), 0U);
  // The bootstrap variables are set all the same (psql's \getenv needs them): empty means no role.
  EXPECT_EQ(plan_instance(assignment_for("demo-1", 1), secrets(), settings())
                .patroni_environment.at(std::string(kMonitorUserVariable)),
            "");
}

TEST(BootstrapScript, CreatesTheMonitorRoleInPgMonitorOnlyWithAStatementTimeout) {
  const std::string sql = bootstrap_sql();
  EXPECT_NE(sql.find("\\getenv monitor_password PGSTACK_MONITOR_PASSWORD"), std::string::npos);
  EXPECT_NE(sql.find("CREATE ROLE :\"monitor_user\" LOGIN PASSWORD :'monitor_password' CONNECTION LIMIT 3 IN ROLE "
                     "pg_monitor;"),
            std::string::npos);
  EXPECT_NE(sql.find("ALTER ROLE :\"monitor_user\" SET statement_timeout = '5s';"), std::string::npos);
  EXPECT_NE(sql.find("CREATE EXTENSION IF NOT EXISTS pg_stat_statements", sql.find("\\connect template1")),
            std::string::npos);
}

TEST(InstancePlanExporter, OffLoopbackItAsksForTheScrapeCredentialThroughAnOwnerOnlyWebConfig) {
  const InstancePlan plan = plan_instance(assignment_with_exporter(), secrets_with_monitor(), exporter_settings());
  ASSERT_TRUE(plan.metrics);
  ASSERT_EQ(plan.files.count(InstanceFile::kExporterWebConfig), 1U);
  const RenderedFile& web_config = plan.files.at(InstanceFile::kExporterWebConfig);
  EXPECT_EQ(web_config.permissions, std::filesystem::perms(0600));
  EXPECT_NE(web_config.content.find("\"prometheus\": \"$2b$10$hash\""), std::string::npos) << web_config.content;
  EXPECT_EQ(web_config.content.find("scrape-secret"), std::string::npos);
  EXPECT_NE(
      std::find(plan.exporter_argv.begin(), plan.exporter_argv.end(), "--web.config.file=" + web_config.path.string()),
      plan.exporter_argv.end());
  for (const auto& argument : plan.exporter_argv) EXPECT_EQ(argument.find("scrape-secret"), std::string::npos);
}

TEST(InstancePlanExporter, OffLoopbackWithoutTheCredentialNoExporterRunsRatherThanAnOpenOne) {
  const InstancePlan plan = plan_instance(assignment_with_exporter(), secrets_with_monitor(), settings());
  EXPECT_FALSE(plan.metrics);
  EXPECT_TRUE(plan.exporter_argv.empty());
}

TEST(InstancePlanExporter, OnLoopbackItIsOpenUnlessTheModeIsAlways) {
  AgentSettings loopback = settings();
  loopback.address = "127.0.0.1";
  InstancePlan plan = plan_instance(assignment_with_exporter(), secrets_with_monitor(), loopback);
  ASSERT_TRUE(plan.metrics);
  EXPECT_EQ(plan.files.count(InstanceFile::kExporterWebConfig), 0U);
  loopback.metrics_auth = monitoring::MetricsAuthMode::kAlways;
  loopback.scrape_credential = monitoring::ScrapeCredential{"scrape-secret", "$2b$10$hash"};
  plan = plan_instance(assignment_with_exporter(), secrets_with_monitor(), loopback);
  ASSERT_TRUE(plan.metrics);
  EXPECT_EQ(plan.files.count(InstanceFile::kExporterWebConfig), 1U);
}

TEST(InstancePlan, ThePoolingConfigSettingsTheProxysPoolDoesNotApplyAreListedForTheWarning) {
  Assignment assignment = assignment_for("demo-0", 0);
  assignment.cluster.proxy_pooling = true;
  model::PoolingConfig pooling;
  pooling.name = "pool";
  pooling.pgbouncer = {{"pool_mode", "statement"}, {"default_pool_size", "25"}};
  assignment.pooling_config = pooling;
  const config::ProxyLayout layout = proxy_layout_for(assignment, settings());
  ASSERT_TRUE(layout.pool);
  EXPECT_EQ(layout.pool->pool_size, 25);
  ASSERT_EQ(layout.ignored_pool_settings.size(), 1u);
  EXPECT_NE(layout.ignored_pool_settings[0].find("pool_mode=statement"), std::string::npos);
  // Nothing of that reaches the proxy's configuration file.
  EXPECT_EQ(config::render_proxy_config(layout).find("statement"), std::string::npos);
}

}  // namespace
}  // namespace pgstack::agent
