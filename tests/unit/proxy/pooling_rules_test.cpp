#include "proxy/pooling_rules.h"

#include <gtest/gtest.h>

namespace pgstack::proxy {
namespace {

TEST(PoolingRules, StartupSettingsKeepTrackedOnesIgnoreExtraFloatDigitsAndRefuseTheRest) {
  const auto settings = pooled_startup_settings({{"user", "u"},
                                                 {"database", "d"},
                                                 {"application_name", "psql"},
                                                 {"DateStyle", "ISO, DMY"},
                                                 {"client_encoding", "UTF8"},
                                                 {"extra_float_digits", "3"}});
  ASSERT_TRUE(settings.ok()) << settings.error().message;
  EXPECT_EQ(*settings,
            (ClientSettings{{"application_name", "psql"}, {"client_encoding", "UTF8"}, {"datestyle", "ISO, DMY"}}));
  for (const char* refused : {"options", "replication", "search_path", "_pq_.command_compression"}) {
    const auto result = pooled_startup_settings({{"user", "u"}, {refused, "x"}});
    ASSERT_FALSE(result.ok()) << refused;
    EXPECT_NE(result.error().message.find(std::string("pooled connection: ") + refused), std::string::npos)
        << result.error().message;
  }
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
}  // namespace pgstack::proxy
