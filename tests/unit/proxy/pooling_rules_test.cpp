#include "proxy/pooling_rules.h"

#include <utility>
#include <vector>

#include <gtest/gtest.h>

namespace pgstack::proxy {
namespace {

TEST(PoolingRules, StartupSettingsSplitReportedFromOtherSettingsAndRefuseWhatAPoolCannotCarry) {
  const auto settings =
      pooled_startup_settings({{"user", "u"},
                               {"database", "d"},
                               {"application_name", "psql"},
                               {"DateStyle", "ISO, DMY"},
                               {"client_encoding", "UTF8"},
                               {"extra_float_digits", "3"},
                               {"statement_timeout", "5s"},
                               {"options", "-c search_path=app\\,\\ public --work-mem=64MB -cgeqo=off"}});
  ASSERT_TRUE(settings.ok()) << settings.error().message;
  EXPECT_EQ(settings->reported,
            (ClientSettings{{"application_name", "psql"}, {"client_encoding", "UTF8"}, {"datestyle", "ISO, DMY"}}));
  EXPECT_EQ(settings->other,
            (ClientSettings{
                {"statement_timeout", "5s"}, {"search_path", "app, public"}, {"work_mem", "64MB"}, {"geqo", "off"}}));
  // A reported setting in options is followed like the others.
  const auto in_options = pooled_startup_settings({{"options", "-c application_name=batch"}});
  ASSERT_TRUE(in_options.ok());
  EXPECT_EQ(in_options->reported, (ClientSettings{{"application_name", "batch"}}));

  for (const auto& [name, value] : std::vector<std::pair<std::string, std::string>>{{"replication", "database"},
                                                                                    {"_pq_.command_compression", "on"},
                                                                                    {"bad name", "x"},
                                                                                    {"options", "-d 5"},
                                                                                    {"options", "-c"},
                                                                                    {"options", "-c work_mem"},
                                                                                    {"options", "-c x;drop=1"}}) {
    const auto result = pooled_startup_settings({{"user", "u"}, {name, value}});
    ASSERT_FALSE(result.ok()) << name << "=" << value;
    EXPECT_NE(result.error().message.find("pooled connection: " + name), std::string::npos) << result.error().message;
  }
}

TEST(PoolingRules, OtherSettingsAreSetWhereTheyDifferAndResetWhereTheClientDidNotAskForThem) {
  EXPECT_EQ(other_settings_sync_sql({{"statement_timeout", "5s"}, {"search_path", "it's"}}, {}),
            "SET search_path TO 'it''s'; SET statement_timeout TO '5s'");
  EXPECT_EQ(other_settings_sync_sql({{"statement_timeout", "5s"}}, {{"statement_timeout", "5s"}}), "");
  EXPECT_EQ(other_settings_sync_sql({}, {{"statement_timeout", "5s"}, {"work_mem", "1GB"}}),
            "RESET statement_timeout; RESET work_mem");
}

TEST(PoolingRules, TheSyncSetsOnlyWhatDiffersAndQuotesValues) {
  const ClientSettings wanted = {{"application_name", "it's me"}, {"timezone", "UTC"}, {"datestyle", "ISO, MDY"}};
  const std::map<std::string, std::string> server = {
      {"application_name", ""}, {"timezone", "UTC"}, {"datestyle", "German, DMY"}};
  EXPECT_EQ(settings_sync_sql(wanted, server), "SET application_name TO 'it''s me'; SET datestyle TO 'ISO, MDY'");
  EXPECT_EQ(settings_sync_sql({{"timezone", "UTC"}}, server), "");
  EXPECT_EQ(settings_sync_sql({{"intervalstyle", "iso_8601"}}, {}), "SET intervalstyle TO 'iso_8601'");
}

TEST(PoolingRules, AConnectionGoesBackOnlyBetweenTransactionsWithEverythingAnswered) {
  const ReleaseState between;
  EXPECT_TRUE(may_release(between));
  auto with = [&](auto change) {
    ReleaseState state = between;
    change(state);
    return may_release(state);
  };
  EXPECT_FALSE(with([](ReleaseState& s) { s.idle = false; }));                // inside BEGIN ... COMMIT
  EXPECT_FALSE(with([](ReleaseState& s) { s.unanswered = 1; }));              // a pipelined query still running
  EXPECT_FALSE(with([](ReleaseState& s) { s.unsynced = true; }));             // Parse/Bind/Execute before their Sync
  EXPECT_FALSE(with([](ReleaseState& s) { s.client_at_boundary = false; }));  // half a message forwarded
  EXPECT_FALSE(with([](ReleaseState& s) { s.server_at_boundary = false; }));
  EXPECT_FALSE(with([](ReleaseState& s) { s.pinned = true; }));  // a named prepared statement lives there
  EXPECT_TRUE(tracked_setting("timezone"));
  EXPECT_FALSE(tracked_setting("work_mem"));
}

}  // namespace
TEST(PoolingRules, AClientsPoolFollowsItsUserThenItsDatabaseThenTheListener) {
  PoolingConfig pooling;
  pooling.mode = PoolMode::kTransaction;
  pooling.pool_size = 20;
  pooling.databases["reports"] = PoolOverride{PoolMode::kSession, 5, "warehouse"};
  pooling.databases["*"] = PoolOverride{std::nullopt, 8, ""};
  pooling.users["batch"] = PoolOverride{PoolMode::kTransaction, std::nullopt, ""};
  pooling.users["admin"] = PoolOverride{PoolMode::kSession, std::nullopt, ""};

  const auto reports = client_pool(pooling, "reports", "alice");
  EXPECT_EQ(reports.mode, PoolMode::kSession);
  EXPECT_EQ(reports.pool_size, 5);
  EXPECT_EQ(reports.server_database, "warehouse");
  EXPECT_EQ(client_pool(pooling, "reports", "batch").mode, PoolMode::kTransaction);  // the user's wins
  const auto other = client_pool(pooling, "shop", "admin");
  EXPECT_EQ(other.mode, PoolMode::kSession);
  EXPECT_EQ(other.pool_size, 8);  // "*"
  EXPECT_EQ(other.server_database, "shop");
  pooling.databases.erase("*");
  const auto plain = client_pool(pooling, "shop", "alice");
  EXPECT_EQ(plain.mode, PoolMode::kTransaction);
  EXPECT_EQ(plain.pool_size, 20);
  EXPECT_EQ(plain.server_database, "shop");
}

}  // namespace pgstack::proxy
