#include "controller/hosts_api.h"

#include <gtest/gtest.h>

namespace pgstack::controller {
namespace {

TEST(HostList, RegisteredHostsCarryTheirFactsAndMembers) {
  const auto list =
      host_list({R"({"name":"host-b","address":"10.0.0.2","cpus":4,"memoryBytes":8589934592,"freeDiskBytes":1000,
           "reportedAt":"2026-12-05T10:00:00Z","stateDir":"/var/lib/pgstack"})",
                 R"({"name":"host-a","address":"10.0.0.1","cpus":2})"},
                {"host-a/default/demo/demo-1", "host-a/default/demo/demo-0", "host-b/team/shop/shop-0"});
  EXPECT_EQ(list["kind"], "HostList");
  ASSERT_EQ(list["items"].size(), 2u);
  const auto& a = list["items"][0];
  EXPECT_EQ(a["name"], "host-a");
  EXPECT_EQ(a["status"], "Ready");
  EXPECT_EQ(a["members"], (model::Json{"default/demo/demo-0", "default/demo/demo-1"}));
  const auto& b = list["items"][1];
  EXPECT_EQ(b["cpus"], 4);
  EXPECT_EQ(b["memoryBytes"], 8589934592LL);
  EXPECT_EQ(b["reportedAt"], "2026-12-05T10:00:00Z");
  EXPECT_EQ(b["members"], (model::Json{"team/shop/shop-0"}));
  // Where the agent keeps its files is the host's business, not the API's.
  EXPECT_FALSE(b.contains("stateDir"));
}

TEST(HostList, AHostWithMembersButNoRegistrationIsLost) {
  const auto list = host_list({R"({"name":"host-a"})"}, {"host-a/default/demo/demo-0", "host-c/default/demo/demo-1"});
  ASSERT_EQ(list["items"].size(), 2u);
  EXPECT_EQ(list["items"][1]["name"], "host-c");
  EXPECT_EQ(list["items"][1]["status"], "Lost");
  EXPECT_EQ(list["items"][1]["members"], (model::Json{"default/demo/demo-1"}));
  EXPECT_FALSE(list["items"][1].contains("address"));
}

TEST(HostList, ADrainedHostSaysSoAndALostOneStaysLost) {
  const auto list = host_list({R"({"name":"host-a"})", R"({"name":"host-b"})"},
                              {"host-b/default/demo/demo-1", "host-c/default/demo/demo-2"},
                              {R"({"host":"host-b","since":"2026-12-06T14:00:00Z"})",
                               R"({"host":"host-c","since":"x"})", R"({"host":"gone"})", "not json"});
  ASSERT_EQ(list["items"].size(), 3u);
  EXPECT_EQ(list["items"][0]["status"], "Ready");
  EXPECT_FALSE(list["items"][0].contains("drainingSince"));
  EXPECT_EQ(list["items"][1]["status"], "Draining");
  EXPECT_EQ(list["items"][1]["drainingSince"], "2026-12-06T14:00:00Z");
  EXPECT_EQ(list["items"][2]["status"], "Lost");
  EXPECT_EQ(list["items"][2]["drainingSince"], "x");
}

TEST(HostList, UnreadableRegistrationsAndKeysAreSkipped) {
  const auto list = host_list({"not json", R"({"address":"10.0.0.9"})", R"({"name":7})", "[]"},
                              {"", "/default/demo/demo-0", "host-a/"});
  EXPECT_TRUE(list["items"].empty()) << list.dump();
}

TEST(HostsPath, OnlyTheListAndOneHost) {
  EXPECT_TRUE(is_hosts_path({"apis", "pgstack.io", "v1", "hosts"}));
  EXPECT_TRUE(is_hosts_path({"apis", "pgstack.io", "v1", "hosts", "host-a"}));
  EXPECT_TRUE(is_hosts_path({"apis", "pgstack.io", "v1", "hosts", "host-a", "drain"}));
  EXPECT_FALSE(is_hosts_path({"apis", "pgstack.io", "v1", "hosts", "host-a", "members"}));
  EXPECT_FALSE(is_hosts_path({"apis", "stackgres.io", "v1", "hosts"}));
}

}  // namespace
}  // namespace pgstack::controller
