#include "proxy/routing_table.h"

#include <map>

#include <gtest/gtest.h>

#include "patroni/rest.h"

namespace pgstack::proxy {
namespace {

MemberInfo member(const std::string& name, const std::string& role, std::uint16_t port, std::uint64_t lsn = 1000) {
  auto parsed = parse_member(name, R"({"conn_url":"postgres://127.0.0.1:)" + std::to_string(port) +
                                       R"(/postgres","api_url":"http://127.0.0.1:18008/patroni","role":")" + role +
                                       R"(","state":"running","xlog_location":)" + std::to_string(lsn) + "}");
  EXPECT_TRUE(parsed.ok()) << parsed.error().message;
  return parsed.value();
}

struct Counts : ConnectionCounts {
  std::map<std::string, std::int64_t, std::less<>> active_by_member;
  std::int64_t active(std::string_view name) const override {
    const auto found = active_by_member.find(name);
    return found == active_by_member.end() ? 0 : found->second;
  }
};

RoutingInputs three_members() {
  RoutingInputs inputs;
  inputs.leader = "demo-0";
  inputs.members["demo-0"] = member("demo-0", "master", 15432);
  inputs.members["demo-1"] = member("demo-1", "replica", 15433);
  inputs.members["demo-2"] = member("demo-2", "replica", 15434);
  inputs.health["demo-0"].primary = Check::kPass;
  inputs.health["demo-1"].replica = Check::kPass;
  inputs.health["demo-2"].replica = Check::kPass;
  return inputs;
}

TEST(ParseMember, ReadsPatroniMemberJson) {
  const auto parsed = parse_member(
      "demo-1", R"({"conn_url":"postgres://10.0.0.5:15433/postgres","api_url":"http://10.0.0.5:18009/patroni",
                    "state":"running","role":"replica","version":"3.0.2","xlog_location":50331968,"timeline":2})");
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->host, "10.0.0.5");
  EXPECT_EQ(parsed->postgres_port, 15433);
  EXPECT_EQ(parsed->role, "replica");
  EXPECT_EQ(parsed->xlog_location, 50331968u);
  EXPECT_EQ(parsed->timeline, 2);
  EXPECT_EQ(patroni::base_url(parsed->api_url), "http://10.0.0.5:18009");
}

TEST(ParseMember, RejectsBadValuesWithTheReason) {
  EXPECT_NE(parse_member("m", "not json").error().message.find("not a JSON object"), std::string::npos);
  EXPECT_NE(parse_member("m", R"({"role":"replica"})").error().message.find("conn_url is missing"), std::string::npos);
  EXPECT_FALSE(parse_member("m", R"({"conn_url":"http://x:1/"})").ok());
  EXPECT_FALSE(parse_member("m", R"({"conn_url":"postgres://x:99999/"})").ok());
  EXPECT_FALSE(parse_conn_url("postgres://x:0/").ok());
  EXPECT_FALSE(parse_conn_url("postgres://x:+5432/").ok());
  EXPECT_FALSE(parse_conn_url("postgres://x:54a/").ok());
  EXPECT_EQ(parse_conn_url("postgres://x:6432/")->second, 6432);
  EXPECT_EQ(parse_conn_url("postgresql://u:p@[::1]:6000/db?x=1")->first, "::1");
  EXPECT_EQ(parse_conn_url("postgres://host/db")->second, 5432);
}

TEST(ParseLsn, PatronisIntegerAndPostgresHexForms) {
  EXPECT_EQ(parse_lsn("50331968"), 50331968u);
  EXPECT_EQ(parse_lsn("0/3000148"), 0x3000148u);
  EXPECT_EQ(parse_lsn("1/0"), 1ULL << 32);
  EXPECT_FALSE(parse_lsn("x/1"));
  EXPECT_FALSE(parse_lsn(""));
  EXPECT_FALSE(parse_lsn("-1"));
}

TEST(ComputeRoutes, LeaderConfirmedByRestIsThePrimary) {
  const auto routes = compute_routes(three_members(), RoutingPolicy{});
  ASSERT_TRUE(routes.primary);
  EXPECT_EQ(routes.primary->member, "demo-0");
  EXPECT_EQ(routes.primary->postgres_port, 15432);
  ASSERT_EQ(routes.replicas.size(), 2u);
}

TEST(ComputeRoutes, UnconfirmedLeaderIsNoPrimaryAndTakesNoReads) {
  auto inputs = three_members();
  inputs.leader = "demo-1";  // the key moved; Patroni on demo-1 does not answer /primary yet
  inputs.health["demo-1"] = {};
  const auto routes = compute_routes(inputs, RoutingPolicy{});
  EXPECT_FALSE(routes.primary);
  // demo-0 still says master in its member key but lost the leader key: no reads either.
  ASSERT_EQ(routes.replicas.size(), 1u);
  EXPECT_EQ(routes.replicas[0].member, "demo-2");
  EXPECT_TRUE(routes.skipped.contains("demo-0"));
  EXPECT_TRUE(routes.skipped.contains("demo-1"));
}

TEST(ComputeRoutes, ASilentPrimaryTakesNoNewConnectionsButKeepsItsOpenSessions) {
  auto inputs = three_members();
  inputs.health["demo-0"].primary = Check::kNoAnswer;  // a lossy link: its checks time out
  const auto routes = compute_routes(inputs, RoutingPolicy{});
  EXPECT_FALSE(routes.primary);
  ASSERT_TRUE(routes.primary_for_open_sessions);
  EXPECT_EQ(routes.primary_for_open_sessions->member, "demo-0");
  EXPECT_EQ(routes.skipped.at("demo-0"), "holds the leader key but its Patroni does not answer");
}

TEST(ComputeRoutes, APrimaryThatSaysItIsNotOneKeepsNoSessions) {
  auto inputs = three_members();
  inputs.health["demo-0"].primary = Check::kFail;  // Patroni answered /primary with 503: demoted
  auto routes = compute_routes(inputs, RoutingPolicy{});
  EXPECT_FALSE(routes.primary);
  EXPECT_FALSE(routes.primary_for_open_sessions);
  // Silent, and its member key no longer says primary: no proof left that it is one.
  inputs.health["demo-0"].primary = Check::kNoAnswer;
  inputs.members["demo-0"] = member("demo-0", "replica", 15432);
  routes = compute_routes(inputs, RoutingPolicy{});
  EXPECT_FALSE(routes.primary_for_open_sessions);
  // A confirmed primary is where open sessions stay too.
  routes = compute_routes(three_members(), RoutingPolicy{});
  ASSERT_TRUE(routes.primary_for_open_sessions);
  EXPECT_EQ(routes.primary_for_open_sessions->member, "demo-0");
}

TEST(ComputeRoutes, WithoutRestTheLeaderKeyDecides) {
  auto inputs = three_members();
  inputs.health.clear();
  const auto routes = compute_routes(inputs, RoutingPolicy{false, 1024});
  ASSERT_TRUE(routes.primary);
  EXPECT_EQ(routes.primary->member, "demo-0");
  EXPECT_EQ(routes.replicas.size(), 2u);
}

TEST(ComputeRoutes, NoLeaderKeyNoPrimary) {
  auto inputs = three_members();
  inputs.leader.reset();
  EXPECT_FALSE(compute_routes(inputs, RoutingPolicy{}).primary);
}

TEST(ComputeRoutes, LaggingReplicasAreSkipped) {
  auto inputs = three_members();
  inputs.members["demo-0"].xlog_location = 10'000'000;
  inputs.members["demo-1"].xlog_location = 9'999'000;  // 1000 bytes behind
  inputs.members["demo-2"].xlog_location = 1'000'000;  // 9 MB behind
  const auto routes = compute_routes(inputs, RoutingPolicy{true, 1'000'000});
  ASSERT_EQ(routes.replicas.size(), 1u);
  EXPECT_EQ(routes.replicas[0].member, "demo-1");
  EXPECT_NE(routes.skipped.at("demo-2").find("lags"), std::string::npos);
  // The REST lag check failing also skips.
  inputs.health["demo-1"].replica = Check::kFail;
  EXPECT_TRUE(compute_routes(inputs, RoutingPolicy{true, 1'000'000}).replicas.empty());
}

TEST(ComputeRoutes, StoppedOrStartingReplicasTakeNoReads) {
  auto inputs = three_members();
  inputs.members["demo-2"].state = "starting";
  const auto routes = compute_routes(inputs, RoutingPolicy{});
  ASSERT_EQ(routes.replicas.size(), 1u);
  EXPECT_EQ(routes.replicas[0].member, "demo-1");
}

TEST(ChooseReadTarget, LeastConnectionsThenRoundRobin) {
  const auto routes = compute_routes(three_members(), RoutingPolicy{});
  Counts counts;
  counts.active_by_member["demo-1"] = 5;
  counts.active_by_member["demo-2"] = 2;
  EXPECT_EQ(choose_read_target(routes, counts, 0)->member, "demo-2");
  EXPECT_EQ(choose_read_target(routes, counts, 1)->member, "demo-2");
  counts.active_by_member["demo-2"] = 5;
  EXPECT_NE(choose_read_target(routes, counts, 0)->member, choose_read_target(routes, counts, 1)->member);
}

TEST(ChooseReadTarget, PrimaryServesReadsWhenNoReplicaIsHealthy) {
  auto inputs = three_members();
  inputs.health["demo-1"].replica = Check::kFail;
  inputs.health["demo-2"].replica = Check::kFail;
  const auto routes = compute_routes(inputs, RoutingPolicy{});
  Counts counts;
  EXPECT_EQ(choose_read_target(routes, counts, 0)->member, "demo-0");
  inputs.leader.reset();
  EXPECT_FALSE(choose_read_target(compute_routes(inputs, RoutingPolicy{}), counts, 0));
}

}  // namespace
}  // namespace pgstack::proxy
