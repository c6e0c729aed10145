#include <gtest/gtest.h>

#include "patroni/dcs.h"
#include "patroni/member.h"
#include "patroni/rest.h"
#include "patroni/roles.h"

namespace pgstack::patroni {
namespace {

TEST(PatroniDcs, KeysOfAClusterInItsNamespace) {
  EXPECT_EQ(dcs_namespace("/pgstack", "shop"), "/pgstack/patroni/shop/");
  EXPECT_EQ(cluster_prefix("/pgstack", "shop", "demo"), "/pgstack/patroni/shop/demo/");
  EXPECT_EQ(leader_key("/pgstack", "shop", "demo"), "/pgstack/patroni/shop/demo/leader");
}

TEST(PatroniDcs, ClassifiesTheKeysOfACluster) {
  EXPECT_EQ(classify_key("leader").kind, DcsKey::kLeader);
  const DcsEntry member = classify_key("members/demo-1");
  EXPECT_EQ(member.kind, DcsKey::kMember);
  EXPECT_EQ(member.member, "demo-1");
  EXPECT_EQ(classify_key("members/").kind, DcsKey::kOther);
  EXPECT_EQ(classify_key("config").kind, DcsKey::kConfig);
  EXPECT_EQ(classify_key("sync").kind, DcsKey::kSync);
  EXPECT_EQ(classify_key("status").kind, DcsKey::kLeaderOptime);
  EXPECT_EQ(classify_key("optime/leader").kind, DcsKey::kLeaderOptime);
  EXPECT_EQ(classify_key("initialize").kind, DcsKey::kOther);
  EXPECT_EQ(classify_key("failover").kind, DcsKey::kOther);
}

TEST(PatroniMember, ParsesTheRecordPatroniWrites) {
  auto member = parse_member("demo-0", R"({"conn_url": "postgres://10.0.0.1:15432/postgres",
    "api_url": "https://10.0.0.1:18008/patroni", "state": "running", "role": "master", "version": "3.0.2",
    "xlog_location": 50331968, "timeline": 2, "pending_restart": true})");
  ASSERT_TRUE(member.ok()) << member.error().message;
  EXPECT_EQ(member->name, "demo-0");
  EXPECT_EQ(member->role, "master");
  EXPECT_EQ(member->state, "running");
  EXPECT_EQ(member->conn_url, "postgres://10.0.0.1:15432/postgres");
  EXPECT_EQ(member->timeline, 2);
  EXPECT_EQ(member->xlog_location, 50331968u);
  EXPECT_TRUE(member->pending_restart);
}

TEST(PatroniMember, ToleratesMissingFieldsButNotAnotherValue) {
  auto sparse =
      parse_member("demo-1", R"({"role": "replica", "pending_restart": "yes", "xlog_location": "0/3000060"})");
  ASSERT_TRUE(sparse.ok()) << sparse.error().message;
  EXPECT_TRUE(sparse->api_url.empty());
  EXPECT_FALSE(sparse->pending_restart);
  EXPECT_EQ(sparse->xlog_location, 0x3000060u);
  auto bad = parse_member("demo-1", "[1]");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message, "member demo-1: the value is not a JSON object");
}

TEST(PatroniMember, ParsesLsnsAsIntegersOrText) {
  EXPECT_EQ(parse_lsn("50331968"), 50331968u);
  EXPECT_EQ(parse_lsn("16/B374D848"), (0x16ULL << 32) | 0xB374D848ULL);
  EXPECT_FALSE(parse_lsn("").has_value());
  EXPECT_FALSE(parse_lsn("1/G").has_value());
  EXPECT_FALSE(parse_lsn("100000000/0").has_value());
}

TEST(PatroniMember, WherePostgresListensFromTheConnUrl) {
  EXPECT_EQ(conn_url_address("postgres://127.0.0.1:15432/postgres").value(),
            std::make_pair(std::string("127.0.0.1"), 15432));
  EXPECT_EQ(conn_url_address("postgres://[::1]:5432/postgres").value(), std::make_pair(std::string("::1"), 5432));
  for (const std::string bad :
       {"127.0.0.1:5432", "postgres://host/postgres", "postgres://host:0/x", "postgres://h:5x/"}) {
    const auto address = conn_url_address(bad);
    ASSERT_FALSE(address.ok()) << bad;
    EXPECT_NE(address.error().message.find(bad), std::string::npos) << address.error().message;
  }
}

TEST(PatroniRoles, TheLeaderAWritablePrimaryAndReplicas) {
  for (const char* role : {"master", "primary"}) {
    EXPECT_TRUE(is_leader_role(role)) << role;
    EXPECT_TRUE(is_writable_role(role)) << role;
  }
  // A standby cluster's leader holds the leader key but replicates from elsewhere: no writes.
  EXPECT_TRUE(is_leader_role("standby_leader"));
  EXPECT_FALSE(is_writable_role("standby_leader"));
  for (const char* role : {"replica", "sync_standby", "standby", "quorum_standby"}) {
    EXPECT_TRUE(is_replica_role(role)) << role;
    EXPECT_FALSE(is_leader_role(role)) << role;
  }
  EXPECT_FALSE(is_replica_role("uninitialized"));
}

TEST(PatroniRest, UrlsFromTheApiUrl) {
  EXPECT_EQ(base_url("https://10.0.0.1:18008/patroni"), "https://10.0.0.1:18008");
  EXPECT_EQ(base_url("https://10.0.0.1:18008/patroni/"), "https://10.0.0.1:18008");
  EXPECT_EQ(base_url("http://h:1/"), "http://h:1");
  EXPECT_EQ(status_url("https://h:1/patroni"), "https://h:1/patroni");
  EXPECT_EQ(primary_check_url("https://h:1/patroni"), "https://h:1/primary");
  EXPECT_EQ(replica_check_url("https://h:1/patroni", 1024), "https://h:1/replica?lag=1024");
  EXPECT_EQ(switchover_url("https://h:1/patroni"), "https://h:1/switchover");
  EXPECT_EQ(restart_url("https://h:1/patroni"), "https://h:1/restart");
  EXPECT_EQ(config_url("https://h:1/patroni"), "https://h:1/config");
}

}  // namespace
}  // namespace pgstack::patroni
