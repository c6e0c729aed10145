#include "config/render_pgbouncer.h"

#include <algorithm>

#include <gtest/gtest.h>

#include "golden.h"
#include "model/kinds.h"

namespace pgstack::config {
namespace {

using testing::demo_cluster;
using testing::expect_matches_golden;
using testing::profile_of;

const TunedParameter* find_setting(const std::vector<TunedParameter>& settings, std::string_view name) {
  auto found = std::find_if(settings.begin(), settings.end(), [&](const auto& s) { return s.name == name; });
  return found == settings.end() ? nullptr : &*found;
}

// The demo cluster's on the default 1 CPU / 2Gi profile: max_connections 100, 3 instances.
PoolBudget demo_budget(const model::Cluster& cluster = demo_cluster()) {
  return pgbouncer_pool_budget(tuning_input_for(cluster, profile_of(1, 2), nullptr, 15));
}

TEST(RenderPgbouncer, GoldenDefaults) {
  const model::Cluster cluster = demo_cluster();
  expect_matches_golden("pgbouncer/defaults.ini",
                        render_pgbouncer_ini(cluster, nullptr, default_instance_layout(cluster, 0, 15), demo_budget()));
}

TEST(RenderPgbouncer, GoldenWithPoolingConfigs) {
  model::Cluster cluster = demo_cluster();
  cluster.ssl_enabled = false;
  InstanceLayout layout = default_instance_layout(cluster, 1, 15);
  layout.host_address = "10.0.0.11";
  const model::PoolingConfig named{
      "poolconf",
      {{"pool_mode", "transaction"}, {"max_client_conn", "2000"}, {"auth_type", "trust"}, {"max_db_connections", "0"}},
      {{"app", "dbname=appdb pool_mode=transaction"}},
      {{"report", "pool_mode=session max_user_connections=500"}}};
  cluster.inline_pooling = model::PoolingConfig{
      "demo",
      {{"max_client_conn", "3000"}, {"Listen_Port", "1"}, {"server_idle_timeout", "30"}, {"default_pool_size", "20"}},
      {{"app", "dbname=appdb2"}, {"remote", "host=10.0.0.9 dbname=x max_db_connections=0"}},
      {}};
  expect_matches_golden("pgbouncer/pooling-configs.ini", render_pgbouncer_ini(cluster, &named, layout, demo_budget()));
}

TEST(RenderPgbouncer, OwnedSettingsAreNotOverridable) {
  model::Cluster cluster = demo_cluster();
  model::PoolingConfig named{"poolconf", {}, {}, {}};
  model::PoolingConfig inline_config{"demo", {}, {}, {}};
  for (const auto& key : model::owned_pgbouncer_settings()) {
    named.pgbouncer.emplace_back(key, "named-evil");
    inline_config.pgbouncer.emplace_back(key, "inline-evil");
  }
  cluster.inline_pooling = inline_config;
  const InstanceLayout layout = default_instance_layout(cluster, 0, 15);
  const auto settings = pgbouncer_settings(cluster, &named, layout, demo_budget());
  const auto defaults = pgbouncer_settings(demo_cluster(), nullptr, layout, demo_budget());
  for (const auto& key : model::owned_pgbouncer_settings()) {
    const TunedParameter* setting = find_setting(settings, key);
    ASSERT_NE(setting, nullptr) << key;
    EXPECT_EQ(setting->value, find_setting(defaults, key)->value) << key;
    EXPECT_EQ(setting->source, "pgstack (not overridable)") << key;
  }
  EXPECT_EQ(find_setting(settings, "auth_type")->value, "scram-sha-256");
  EXPECT_EQ(dropped_pgbouncer_settings(cluster, &named).size(), 2 * model::owned_pgbouncer_settings().size());
  const std::string text = render_pgbouncer_ini(cluster, &named, layout, demo_budget());
  EXPECT_EQ(text.find("evil"), std::string::npos);
}

TEST(RenderPgbouncer, LineBreaksCannotInjectSettings) {
  model::Cluster cluster = demo_cluster();
  cluster.inline_pooling = model::PoolingConfig{"demo",
                                                {{"pool_mode", "session\nauth_type = trust"}, {"a=b", "c"}},
                                                {{"db", "dbname=x\n[pgbouncer]"}},
                                                {{"u\nv", "pool_mode=session"}}};
  const std::string text =
      render_pgbouncer_ini(cluster, nullptr, default_instance_layout(cluster, 0, 15), demo_budget());
  EXPECT_EQ(text.find("trust"), std::string::npos);
  EXPECT_EQ(text.find("a=b"), std::string::npos);
  EXPECT_EQ(text.find("[pgbouncer]"), text.rfind("[pgbouncer]"));
  EXPECT_EQ(dropped_pgbouncer_settings(cluster, nullptr).size(), 4u);
}

TEST(RenderPgbouncer, StackGresDefaultsWithScramAndSizedPools) {
  const model::Cluster cluster = demo_cluster();
  const auto settings = pgbouncer_settings(cluster, nullptr, default_instance_layout(cluster, 0, 15), demo_budget());
  const std::pair<std::string_view, std::string_view> expected[] = {
      {"pool_mode", "session"},           {"max_client_conn", "1000"},
      {"default_pool_size", "85"},        {"max_db_connections", "85"},
      {"max_user_connections", "85"},     {"server_idle_timeout", "60"},
      {"server_login_retry", "1"},        {"auth_type", "scram-sha-256"},
      {"admin_users", "pgbouncer_admin"}, {"stats_users", "pgbouncer_stats"},
      {"application_name_add_host", "1"}, {"ignore_startup_parameters", "extra_float_digits"},
      {"server_check_query", ";"},        {"listen_port", "6432"},
      {"auth_user", "authenticator"},     {"auth_query", kPgbouncerAuthQuery},
  };
  for (const auto& [name, value] : expected) {
    const TunedParameter* setting = find_setting(settings, name);
    ASSERT_NE(setting, nullptr) << name;
    EXPECT_EQ(setting->value, value) << name;
  }
}

TEST(RenderPgbouncer, RequiredTlsKeepsPgbouncerOffTheNetwork) {
  model::Cluster cluster = demo_cluster();
  InstanceLayout layout = default_instance_layout(cluster, 0, 15);
  layout.host_address = "10.0.0.5";
  EXPECT_EQ(find_setting(pgbouncer_settings(cluster, nullptr, layout, demo_budget()), "listen_addr")->value,
            "127.0.0.1,10.0.0.5");
  cluster.ssl_required = true;
  EXPECT_EQ(find_setting(pgbouncer_settings(cluster, nullptr, layout, demo_budget()), "listen_addr")->value,
            "127.0.0.1");
}

TEST(PgbouncerPoolBudget, LeavesRoomForWhatConnectsOutsidePgbouncer) {
  model::Cluster single = demo_cluster();
  single.instances = 1;
  const PoolBudget one = demo_budget(single);
  EXPECT_EQ(one.connections, 87);
  EXPECT_EQ(one.reason,
            "max_connections 100 - superuser_reserved_connections 8 - 5 outside PgBouncer "
            "(Patroni 2, pgBackRest 1, monitoring 2)");
  // Each replica may connect to the primary as the rewind user.
  const PoolBudget three = demo_budget();
  EXPECT_EQ(three.connections, 85);
  EXPECT_EQ(three.reason,
            "max_connections 100 - superuser_reserved_connections 8 - 7 outside PgBouncer "
            "(Patroni 2, pgBackRest 1, pg_rewind 2, monitoring 2)");
  EXPECT_EQ(pgbouncer_pool_budget(tuning_input_for(demo_cluster(), profile_of(16, 64), nullptr, 15)).connections, 485);
}

TEST(PgbouncerPoolBudget, FollowsTheUsersPostgresParameters) {
  model::Cluster cluster = demo_cluster();
  cluster.inline_postgres_parameters = {{"superuser_reserved_connections", "5"}};
  const model::PostgresConfig config{"pgconf", "15", {{"max_connections", "300"}}};
  const PoolBudget budget = pgbouncer_pool_budget(tuning_input_for(cluster, profile_of(1, 2), &config, 15));
  EXPECT_EQ(budget.connections, 300 - 5 - 7);
  EXPECT_NE(budget.reason.find("max_connections 300 - superuser_reserved_connections 5"), std::string::npos)
      << budget.reason;
}

TEST(PgbouncerPoolBudget, WalSendersCountBeforePostgres12AndAtLeastOneIsLeft) {
  const PoolBudget old = pgbouncer_pool_budget(tuning_input_for(demo_cluster(), profile_of(1, 2), nullptr, 11));
  EXPECT_EQ(old.connections, 100 - 8 - 7 - 20);
  EXPECT_NE(old.reason.find("WAL senders 20"), std::string::npos) << old.reason;

  model::Cluster tiny = demo_cluster();
  tiny.inline_postgres_parameters = {{"max_connections", "12"}};
  const PoolBudget none = demo_budget(tiny);
  EXPECT_EQ(none.connections, 1);
  EXPECT_NE(none.reason.find(", at least 1"), std::string::npos) << none.reason;
}

TEST(PgbouncerPoolWarnings, NameTheFieldThatExceedsTheBudget) {
  model::Cluster cluster = demo_cluster();
  const model::PoolingConfig named{
      "poolconf",
      {{"max_db_connections", "0"}, {"max_user_connections", "85"}},
      {{"app", "dbname=app pool_size=500 max_db_connections=200"}, {"remote", "host=10.0.0.9 max_db_connections=0"}},
      {{"report", "max_user_connections=86"}, {"batch", "max_user_connections=0"}}};
  cluster.inline_pooling = model::PoolingConfig{"demo", {{"max_user_connections", "300"}}, {}, {}};
  const auto warnings = pgbouncer_pool_warnings(cluster, &named, demo_budget());
  ASSERT_EQ(warnings.size(), 4u);
  EXPECT_EQ(warnings[0].to_string(),
            R"(SGPoolingConfig/poolconf spec.pgBouncer."pgbouncer.ini".pgbouncer.max_db_connections: warning: for )"
            "SGCluster/demo: max_db_connections 0 (no limit) is more than the 85 server connections Postgres has for "
            "PgBouncer (max_connections 100 - superuser_reserved_connections 8 - 7 outside PgBouncer (Patroni 2, "
            "pgBackRest 1, pg_rewind 2, monitoring 2)): clients beyond them get \"too many clients\" instead of "
            "waiting in the pool; remove it or set at most 85");
  EXPECT_EQ(warnings[1].document, "SGCluster/demo");
  EXPECT_EQ(warnings[1].path,
            R"(spec.configurations.pooling.pgBouncer."pgbouncer.ini".pgbouncer.max_user_connections)");
  EXPECT_NE(warnings[1].message.find("max_user_connections 300 is more than the 85"), std::string::npos);
  EXPECT_EQ(warnings[2].path, R"(spec.pgBouncer."pgbouncer.ini".databases.app)");
  EXPECT_NE(warnings[2].message.find("max_db_connections 200 is more"), std::string::npos);
  EXPECT_EQ(warnings[3].path, R"(spec.pgBouncer."pgbouncer.ini".users.report)");
  for (const auto& warning : warnings) EXPECT_EQ(warning.severity, model::Severity::kWarning);

  // The user's values are kept, with the warning above them.
  const std::string text =
      render_pgbouncer_ini(cluster, &named, default_instance_layout(cluster, 0, 15), demo_budget());
  EXPECT_NE(text.find("; warning: max_db_connections 0 (no limit) is more than the 85 server connections"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("\nmax_db_connections = 0\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\nmax_user_connections = 300\n"), std::string::npos) << text;
}

TEST(PgbouncerPoolWarnings, NoneForPgstacksOwnValuesOrLimitsWithinTheBudget) {
  model::Cluster cluster = demo_cluster();
  EXPECT_TRUE(pgbouncer_pool_warnings(cluster, nullptr, demo_budget()).empty());
  EXPECT_EQ(
      render_pgbouncer_ini(cluster, nullptr, default_instance_layout(cluster, 0, 15), demo_budget()).find("warning"),
      std::string::npos);
  cluster.inline_pooling = model::PoolingConfig{
      "demo", {{"max_db_connections", "50"}, {"default_pool_size", "1000"}, {"max_user_connections", "0"}}, {}, {}};
  EXPECT_TRUE(pgbouncer_pool_warnings(cluster, nullptr, demo_budget()).empty());
}

}  // namespace
}  // namespace pgstack::config
