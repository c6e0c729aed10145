#include "config/render_pgbouncer.h"

#include <algorithm>

#include <gtest/gtest.h>

#include "golden.h"
#include "model/kinds.h"

namespace pgstack::config {
namespace {

using testing::demo_cluster;
using testing::expect_matches_golden;

const TunedParameter* find(const std::vector<TunedParameter>& settings, std::string_view name) {
  auto found = std::find_if(settings.begin(), settings.end(), [&](const auto& s) { return s.name == name; });
  return found == settings.end() ? nullptr : &*found;
}

TEST(RenderPgbouncer, GoldenDefaults) {
  const model::Cluster cluster = demo_cluster();
  expect_matches_golden("pgbouncer/defaults.ini",
                        render_pgbouncer_ini(cluster, nullptr, default_instance_layout(cluster, 0, 15)));
}

TEST(RenderPgbouncer, GoldenWithPoolingConfigs) {
  model::Cluster cluster = demo_cluster();
  cluster.ssl_enabled = false;
  InstanceLayout layout = default_instance_layout(cluster, 1, 15);
  layout.host_address = "10.0.0.11";
  const model::PoolingConfig named{"poolconf",
                                   {{"pool_mode", "transaction"}, {"max_client_conn", "2000"}, {"auth_type", "trust"}},
                                   {{"app", "dbname=appdb pool_mode=transaction"}},
                                   {{"report", "pool_mode=session"}}};
  cluster.inline_pooling =
      model::PoolingConfig{"demo",
                           {{"max_client_conn", "3000"}, {"Listen_Port", "1"}, {"server_idle_timeout", "30"}},
                           {{"app", "dbname=appdb2"}, {"remote", "host=10.0.0.9 dbname=x"}},
                           {}};
  expect_matches_golden("pgbouncer/pooling-configs.ini", render_pgbouncer_ini(cluster, &named, layout));
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
  const auto settings = pgbouncer_settings(cluster, &named, layout);
  const auto defaults = pgbouncer_settings(demo_cluster(), nullptr, layout);
  for (const auto& key : model::owned_pgbouncer_settings()) {
    const TunedParameter* setting = find(settings, key);
    ASSERT_NE(setting, nullptr) << key;
    EXPECT_EQ(setting->value, find(defaults, key)->value) << key;
    EXPECT_EQ(setting->source, "pgstack (not overridable)") << key;
  }
  EXPECT_EQ(find(settings, "auth_type")->value, "scram-sha-256");
  EXPECT_EQ(dropped_pgbouncer_settings(cluster, &named).size(), 2 * model::owned_pgbouncer_settings().size());
  const std::string text = render_pgbouncer_ini(cluster, &named, layout);
  EXPECT_EQ(text.find("evil"), std::string::npos);
}

TEST(RenderPgbouncer, LineBreaksCannotInjectSettings) {
  model::Cluster cluster = demo_cluster();
  cluster.inline_pooling = model::PoolingConfig{"demo",
                                                {{"pool_mode", "session\nauth_type = trust"}, {"a=b", "c"}},
                                                {{"db", "dbname=x\n[pgbouncer]"}},
                                                {{"u\nv", "pool_mode=session"}}};
  const std::string text = render_pgbouncer_ini(cluster, nullptr, default_instance_layout(cluster, 0, 15));
  EXPECT_EQ(text.find("trust"), std::string::npos);
  EXPECT_EQ(text.find("a=b"), std::string::npos);
  EXPECT_EQ(text.find("[pgbouncer]"), text.rfind("[pgbouncer]"));
  EXPECT_EQ(dropped_pgbouncer_settings(cluster, nullptr).size(), 4u);
}

TEST(RenderPgbouncer, StackGresDefaultsWithScram) {
  const model::Cluster cluster = demo_cluster();
  const auto settings = pgbouncer_settings(cluster, nullptr, default_instance_layout(cluster, 0, 15));
  const std::pair<std::string_view, std::string_view> expected[] = {
      {"pool_mode", "session"},           {"max_client_conn", "1000"},
      {"default_pool_size", "1000"},      {"max_db_connections", "0"},
      {"max_user_connections", "0"},      {"auth_type", "scram-sha-256"},
      {"admin_users", "pgbouncer_admin"}, {"stats_users", "pgbouncer_stats"},
      {"application_name_add_host", "1"}, {"ignore_startup_parameters", "extra_float_digits"},
      {"server_check_query", ";"},        {"listen_port", "6432"},
      {"auth_user", "authenticator"},     {"auth_query", kPgbouncerAuthQuery},
  };
  for (const auto& [name, value] : expected) {
    const TunedParameter* setting = find(settings, name);
    ASSERT_NE(setting, nullptr) << name;
    EXPECT_EQ(setting->value, value) << name;
  }
}

}  // namespace
}  // namespace pgstack::config
