#include "config/render_patroni.h"

#include <algorithm>

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include "golden.h"

namespace pgstack::config {
namespace {

using testing::demo_cluster;
using testing::expect_matches_golden;
using testing::profile_of;

static_assert(kPatroniTiming.loop_wait + 2 * kPatroniTiming.retry_timeout <= kPatroniTiming.ttl,
              "Patroni needs loop_wait + 2 * retry_timeout <= ttl");
static_assert(kPatroniTiming.ttl <= 10, "failover within 15 s needs the leader key to expire within 10 s");

std::string render(const model::Cluster& cluster, int member_index = 0) {
  const auto parameters = tune_postgres_parameters(tuning_input_for(cluster, profile_of(1, 2), nullptr, 15));
  return render_patroni_yaml(cluster, default_instance_layout(cluster, member_index, 15), parameters);
}

struct ModeCase {
  model::ReplicationMode mode;
  const char* name;
};

const ModeCase kModes[] = {{model::ReplicationMode::kAsync, "async"},
                           {model::ReplicationMode::kSync, "sync"},
                           {model::ReplicationMode::kStrictSync, "strict-sync"},
                           {model::ReplicationMode::kSyncAll, "sync-all"},
                           {model::ReplicationMode::kStrictSyncAll, "strict-sync-all"}};

TEST(RenderPatroni, GoldenPerReplicationMode) {
  for (const auto& [mode, name] : kModes) {
    model::Cluster cluster = demo_cluster();
    cluster.replication_mode = mode;
    SCOPED_TRACE(name);
    expect_matches_golden(std::string("patroni/") + name + ".yaml", render(cluster));
  }
}

TEST(RenderPatroni, GoldenWithPassthrough) {
  model::Cluster cluster = demo_cluster();
  cluster.replication_mode = model::ReplicationMode::kSync;
  cluster.ssl_enabled = false;
  cluster.credentials.superuser_name = "admin";
  cluster.patroni_dynamic_config = model::Json::parse(R"({
    "ttl": 30, "maximum_lag_on_failover": 0, "check_timeline": true, "failsafe_mode": null,
    "synchronous_mode": false, "postgresql": {"use_slots": false, "parameters": {"archive_command": "x"}}
  })");
  cluster.patroni_initial_config = model::Json::parse(R"({
    "tags": {"nofailover": false, "clonefrom": true}, "log": {"level": "DEBUG"},
    "postgresql": {"data_dir": "/tmp/evil", "pg_ctl_timeout": 120}, "name": "other"
  })");
  InstanceLayout layout = default_instance_layout(cluster, 2, 15);
  layout.host_address = "10.0.0.12";
  layout.etcd_endpoints = {"10.0.0.1:2379", "10.0.0.2:2379", "10.0.0.3:2379"};
  const auto parameters = tune_postgres_parameters(tuning_input_for(cluster, profile_of(4, 16), nullptr, 15));
  expect_matches_golden("patroni/passthrough.yaml", render_patroni_yaml(cluster, layout, parameters));
}

// Several etcd members: Patroni keeps the agent's order (its host's member first). One: Patroni may
// learn the others from etcd, as the first host of an installation needs when its own member is down.
TEST(RenderPatroni, EtcdMembersInTheAgentsOrderOnlyWhenItKnowsSeveral) {
  const model::Cluster cluster = demo_cluster();
  InstanceLayout layout = default_instance_layout(cluster, 0, 15);
  layout.etcd_endpoints = {"10.0.0.2:2379", "10.0.0.1:2379"};
  const auto parameters = tune_postgres_parameters(tuning_input_for(cluster, profile_of(1, 2), nullptr, 15));
  auto several = YAML::Load(render_patroni_yaml(cluster, layout, parameters));
  EXPECT_EQ(several["etcd3"]["hosts"][0].as<std::string>(), "10.0.0.2:2379");
  EXPECT_TRUE(several["etcd3"]["use_proxies"].as<bool>());
  layout.etcd_endpoints = {"10.0.0.1:2379"};
  auto one = YAML::Load(render_patroni_yaml(cluster, layout, parameters));
  EXPECT_FALSE(one["etcd3"]["use_proxies"]);
}

struct SyncCase {
  model::ReplicationMode mode;
  int instances;
  int sync_instances;
  bool synchronous;
  bool strict;
  int node_count;  // 0: absent
};

TEST(RenderPatroni, SynchronousSettingsFollowTheReplicationMode) {
  using model::ReplicationMode;
  const SyncCase cases[] = {
      {ReplicationMode::kAsync, 3, 1, false, false, 0},
      {ReplicationMode::kSync, 3, 1, true, false, 1},
      {ReplicationMode::kSync, 5, 2, true, false, 2},
      {ReplicationMode::kSync, 2, 3, true, false, 1},  // more than the replicas: capped
      {ReplicationMode::kStrictSync, 3, 1, true, true, 1},
      {ReplicationMode::kStrictSync, 4, 2, true, true, 2},
      {ReplicationMode::kSyncAll, 3, 1, true, false, 2},
      {ReplicationMode::kSyncAll, 5, 1, true, false, 4},
      {ReplicationMode::kStrictSyncAll, 4, 1, true, true, 3},
      {ReplicationMode::kStrictSyncAll, 1, 1, true, true, 1},  // Patroni's minimum
  };
  for (const auto& c : cases) {
    model::Cluster cluster = demo_cluster();
    cluster.replication_mode = c.mode;
    cluster.instances = c.instances;
    cluster.sync_instances = c.sync_instances;
    SCOPED_TRACE(std::string(model::replication_mode_name(c.mode)) + " x" + std::to_string(c.instances));
    const YAML::Node root = YAML::Load(render(cluster));
    const YAML::Node dcs = root["bootstrap"]["dcs"];
    EXPECT_EQ(dcs["synchronous_mode"].as<bool>(), c.synchronous);
    EXPECT_EQ(dcs["synchronous_mode_strict"].as<bool>(), c.strict);
    if (c.node_count == 0) {
      EXPECT_FALSE(dcs["synchronous_node_count"]);
    } else {
      EXPECT_EQ(dcs["synchronous_node_count"].as<int>(), c.node_count);
    }
    // Patroni owns synchronous_standby_names: pgstack never sets it.
    EXPECT_FALSE(dcs["postgresql"]["parameters"]["synchronous_standby_names"]);
    EXPECT_FALSE(root["postgresql"]["parameters"]["synchronous_standby_names"]);
  }
}

TEST(RenderPatroni, YamlParsesWithTheExpectedStructure) {
  model::Cluster cluster = demo_cluster();
  const YAML::Node root = YAML::Load(render(cluster, 1));
  EXPECT_EQ(root["scope"].as<std::string>(), "demo");
  EXPECT_EQ(root["namespace"].as<std::string>(), "/pgstack/patroni/default/");
  EXPECT_EQ(root["name"].as<std::string>(), "demo-1");
  EXPECT_EQ(root["restapi"]["listen"].as<std::string>(), "127.0.0.1:8008");
  EXPECT_EQ(root["etcd3"]["hosts"][0].as<std::string>(), "127.0.0.1:2379");
  const YAML::Node dcs = root["bootstrap"]["dcs"];
  EXPECT_EQ(dcs["ttl"].as<int>(), 10);
  EXPECT_EQ(dcs["loop_wait"].as<int>(), 2);
  EXPECT_EQ(dcs["retry_timeout"].as<int>(), 4);
  EXPECT_TRUE(dcs["postgresql"]["use_pg_rewind"].as<bool>());
  EXPECT_TRUE(dcs["postgresql"]["use_slots"].as<bool>());
  EXPECT_EQ(dcs["postgresql"]["parameters"]["max_connections"].as<std::string>(), "100");
  EXPECT_EQ(dcs["postgresql"]["parameters"]["wal_level"].as<std::string>(), "logical");
  EXPECT_FALSE(dcs["postgresql"]["parameters"]["work_mem"]);  // in postgresql.conf
  const YAML::Node postgresql = root["postgresql"];
  EXPECT_EQ(postgresql["data_dir"].as<std::string>(), "/var/lib/pgstack/default/demo/demo-1/data");
  EXPECT_EQ(postgresql["custom_conf"].as<std::string>(), "/var/lib/pgstack/default/demo/demo-1/config/postgresql.conf");
  EXPECT_EQ(postgresql["authentication"]["superuser"]["username"].as<std::string>(), "postgres");
  EXPECT_EQ(postgresql["authentication"]["replication"]["username"].as<std::string>(), "replicator");
  EXPECT_EQ(postgresql["authentication"]["rewind"]["username"].as<std::string>(), "rewinder");
  for (const char* user : {"superuser", "replication", "rewind"}) {
    EXPECT_FALSE(postgresql["authentication"][user]["password"]) << user;
  }
  EXPECT_EQ(postgresql["parameters"]["unix_socket_directories"].as<std::string>(), "/run/pgstack/default/demo-1");
  EXPECT_EQ(postgresql["parameters"]["archive_mode"].as<std::string>(), "on");
  for (const auto& line : postgresql["pg_hba"]) {
    const std::string text = line.as<std::string>();
    EXPECT_EQ(text.find("trust"), std::string::npos) << text;
    EXPECT_EQ(text.find("md5"), std::string::npos) << text;
  }
}

std::vector<std::string> hba_of(const model::Cluster& cluster) {
  const YAML::Node config = YAML::Load(render(cluster));
  std::vector<std::string> lines;
  for (const auto& line : config["postgresql"]["pg_hba"]) lines.push_back(line.as<std::string>());
  return lines;
}

TEST(RenderPatroni, SslRequiredLeavesOnlyHostsslForTcp) {
  model::Cluster cluster = demo_cluster();
  for (const auto& line : hba_of(cluster)) EXPECT_NE(line.rfind("hostssl", 0), 0u) << line;
  cluster.ssl_required = true;
  int tcp = 0;
  for (const auto& line : hba_of(cluster)) {
    if (line.rfind("local", 0) == 0) continue;
    ++tcp;
    EXPECT_EQ(line.rfind("hostssl ", 0), 0u) << line;
  }
  EXPECT_EQ(tcp, 4);
  // Without PgBouncer the proxy reaches Postgres in clear over loopback.
  cluster.disable_connection_pooling = true;
  const auto lines = hba_of(cluster);
  EXPECT_EQ(
      std::count_if(lines.begin(), lines.end(), [](const std::string& line) { return line.rfind("host ", 0) == 0; }),
      2);
}

TEST(RenderPatroni, ReplicationAndRewindVerifyThePrimaryWithTheCa) {
  model::Cluster cluster = demo_cluster();
  const auto layout = default_instance_layout(cluster, 0, 15);
  YAML::Node config = YAML::Load(render(cluster));
  for (const char* user : {"replication", "rewind"}) {
    EXPECT_EQ(config["postgresql"]["authentication"][user]["sslmode"].as<std::string>(), "verify-ca") << user;
    EXPECT_EQ(config["postgresql"]["authentication"][user]["sslrootcert"].as<std::string>(),
              layout.config_dir + "/tls/ca.crt");
  }
  cluster.ssl_enabled = false;
  config = YAML::Load(render(cluster));
  EXPECT_FALSE(config["postgresql"]["authentication"]["replication"]["sslmode"]);
}

TEST(RenderPatroni, RestApiAndEtcdUseTheMembersCertificate) {
  model::Cluster cluster = demo_cluster();
  InstanceLayout layout = default_instance_layout(cluster, 0, 15);
  const std::string tls = layout.config_dir + "/tls/";
  const auto parameters = tune_postgres_parameters(tuning_input_for(cluster, profile_of(1, 2), nullptr, 15));
  model::Json config = patroni_config(cluster, layout, parameters);
  EXPECT_EQ(config["restapi"]["certfile"], tls + "server.crt");
  EXPECT_EQ(config["restapi"]["keyfile"], tls + "server.key");
  EXPECT_EQ(config["restapi"]["cafile"], tls + "ca.crt");
  EXPECT_FALSE(config["restapi"].contains("authentication"));  // from PATRONI_RESTAPI_* only
  EXPECT_FALSE(config["etcd3"].contains("protocol"));
  layout.etcd_tls = true;
  config = patroni_config(cluster, layout, parameters);
  EXPECT_EQ(config["etcd3"]["protocol"], "https");
  EXPECT_EQ(config["etcd3"]["cacert"], tls + "ca.crt");
  EXPECT_EQ(config["etcd3"]["cert"], tls + "server.crt");
  EXPECT_EQ(config["etcd3"]["key"], tls + "server.key");
}

TEST(RenderPatroni, StringsThatLookLikeOtherTypesAreQuoted) {
  const std::string text = render(demo_cluster());
  // PyYAML would read a bare on as true and 100 as an integer.
  EXPECT_NE(text.find("archive_mode: \"on\""), std::string::npos);
  EXPECT_NE(text.find("max_connections: \"100\""), std::string::npos);
}

TEST(RenderPatroni, DynamicConfigIsMergedUserWins) {
  model::Cluster cluster = demo_cluster();
  cluster.replication_mode = model::ReplicationMode::kStrictSync;
  cluster.patroni_dynamic_config = model::Json::parse(R"({
    "ttl": 40, "loop_wait": 10, "master_start_timeout": 60, "failsafe_mode": null,
    "synchronous_mode": false, "synchronous_node_count": 9, "standby_cluster": {"host": "x"},
    "postgresql": {"use_pg_rewind": false, "parameters": {"max_connections": "5000"}, "pg_hba": ["local all all trust"]}
  })");
  const model::Json dcs = patroni_dynamic_config(
      cluster, tune_postgres_parameters(tuning_input_for(cluster, profile_of(1, 2), nullptr, 15)));
  EXPECT_EQ(dcs["ttl"], 40);
  EXPECT_EQ(dcs["loop_wait"], 10);
  EXPECT_EQ(dcs["retry_timeout"], kPatroniTiming.retry_timeout);
  EXPECT_EQ(dcs["master_start_timeout"], 60);
  EXPECT_FALSE(dcs.contains("failsafe_mode"));  // null deletes, as in Patroni's PATCH
  EXPECT_EQ(dcs["synchronous_mode"], true);     // replication.mode decides
  EXPECT_EQ(dcs["synchronous_mode_strict"], true);
  EXPECT_EQ(dcs["synchronous_node_count"], 1);
  EXPECT_FALSE(dcs.contains("standby_cluster"));
  EXPECT_EQ(dcs["postgresql"]["use_pg_rewind"], false);
  EXPECT_EQ(dcs["postgresql"]["use_slots"], true);
  EXPECT_EQ(dcs["postgresql"]["parameters"]["max_connections"], "100");
  EXPECT_EQ(dcs["postgresql"]["pg_hba"][0], "local all all trust");

  const auto ignored = ignored_patroni_overrides(cluster);
  const std::vector<std::string> expected = {"dynamicConfig.synchronous_mode", "dynamicConfig.synchronous_node_count",
                                             "dynamicConfig.standby_cluster", "dynamicConfig.postgresql.parameters"};
  EXPECT_EQ(ignored, expected);
}

TEST(RenderPatroni, InitialConfigIsMergedExceptTheLayout) {
  model::Cluster cluster = demo_cluster();
  cluster.patroni_initial_config = model::Json::parse(R"({
    "tags": {"nofailover": true}, "name": "x", "etcd3": {"hosts": ["evil:2379"]},
    "bootstrap": {"dcs": {"ttl": 99}, "initdb": ["data-checksums", {"locale": "en_US.UTF-8"}]},
    "restapi": {"listen": "0.0.0.0:1", "certfile": "/etc/tls/api.crt"},
    "postgresql": {"authentication": {"superuser": {"password": "leak"}}, "pg_ctl_timeout": 120,
                   "parameters": {"port": "1"}}
  })");
  const auto parameters = tune_postgres_parameters(tuning_input_for(cluster, profile_of(1, 2), nullptr, 15));
  const model::Json config = patroni_config(cluster, default_instance_layout(cluster, 0, 15), parameters);
  EXPECT_EQ(config["tags"]["nofailover"], true);
  EXPECT_EQ(config["name"], "demo-0");
  EXPECT_EQ(config["etcd3"]["hosts"][0], "127.0.0.1:2379");
  EXPECT_EQ(config["bootstrap"]["dcs"]["ttl"], kPatroniTiming.ttl);
  EXPECT_EQ(config["bootstrap"]["initdb"][1]["locale"], "en_US.UTF-8");
  EXPECT_EQ(config["restapi"]["listen"], "127.0.0.1:8008");
  // pgstack's callers verify Patroni with the installation's CA: its certificate is not the user's to change.
  EXPECT_EQ(config["restapi"]["certfile"], "/var/lib/pgstack/default/demo/demo-0/config/tls/server.crt");
  EXPECT_EQ(config["postgresql"]["pg_ctl_timeout"], 120);
  EXPECT_FALSE(config["postgresql"]["authentication"]["superuser"].contains("password"));
  EXPECT_FALSE(config["postgresql"]["parameters"].contains("port"));
  const std::vector<std::string> expected = {"initialConfig.name",
                                             "initialConfig.etcd3",
                                             "initialConfig.bootstrap.dcs",
                                             "initialConfig.restapi.listen",
                                             "initialConfig.restapi.certfile",
                                             "initialConfig.postgresql.authentication",
                                             "initialConfig.postgresql.parameters"};
  EXPECT_EQ(ignored_patroni_overrides(cluster), expected);
}

TEST(RenderPatroni, BlockedUserParametersNeverReachPatroni) {
  model::Cluster cluster = demo_cluster();
  cluster.inline_postgres_parameters = {
      {"archive_command", "evil"}, {"listen_addresses", "evil"}, {"log_directory", "evil"}};
  const std::string text = render(cluster);
  EXPECT_EQ(text.find("evil"), std::string::npos);
}

}  // namespace
}  // namespace pgstack::config
