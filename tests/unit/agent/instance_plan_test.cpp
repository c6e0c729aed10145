#include "agent/instance_plan.h"

#include <yaml-cpp/yaml.h>
#include <gtest/gtest.h>

#include "agent/bootstrap_sql.h"

namespace pgstack::agent {
namespace {

using model::Json;

Assignment assignment_for(const std::string& member, int index, bool pooling = true) {
  Json cluster = Json::parse(R"({"apiVersion": "stackgres.io/v1", "kind": "SGCluster",
    "metadata": {"name": "demo", "namespace": "shop"},
    "spec": {"instances": 3, "postgres": {"version": "15"}, "pods": {"persistentVolume": {"size": "5Gi"}}}})");
  cluster["spec"]["pods"]["disableConnectionPooling"] = !pooling;
  Json json = {{"namespace", "shop"}, {"clusterName", "demo"}, {"member", member}, {"index", index},
               {"postgresMajor", 15}, {"ports", {{"postgres", 15433}, {"pgbouncer", 16433}, {"patroni", 18009}}},
               {"cluster", cluster}};
  auto parsed = parse_assignment(json.dump());
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
  EXPECT_NE(script.find("exec '/usr/lib/postgresql/15/bin/psql' --no-psqlrc"), std::string::npos) << script;
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
