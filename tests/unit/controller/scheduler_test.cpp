#include "controller/scheduler.h"

#include <gtest/gtest.h>

namespace pgstack::controller {
namespace {

SchedulingRequest request_for(int instances, std::vector<std::string> hosts, std::vector<Placement> existing = {}) {
  return {"default", "demo", instances, std::nullopt, std::move(hosts), std::move(existing)};
}

TEST(Scheduler, PlacesNewMembersWithDistinctPortsOnOneHost) {
  const auto result = schedule_cluster(request_for(3, {"a"}));
  ASSERT_EQ(result.add.size(), 3u);
  EXPECT_TRUE(result.problem.empty());
  EXPECT_EQ(result.add[0].member, "demo-0");
  EXPECT_EQ(result.add[2].member, "demo-2");
  EXPECT_EQ(result.add[0].ports, (MemberPorts{15432, 16432, 18008, 19187}));
  EXPECT_EQ(result.add[1].ports, (MemberPorts{15433, 16433, 18009, 19188}));
  EXPECT_EQ(result.add[2].ports, (MemberPorts{15434, 16434, 18010, 19189}));
}

TEST(Scheduler, MembersPlacedBeforeTheExporterGetTheirSlotsExporterPort) {
  const std::vector<Placement> existing = {{"default/demo", "demo-0", 0, "a", {15433, 16433, 18009}}};
  const auto result = schedule_cluster(request_for(1, {"a"}, existing));
  ASSERT_EQ(result.keep.size(), 1u);
  EXPECT_EQ(result.keep[0].ports, (MemberPorts{15433, 16433, 18009, 19188}));
}

TEST(Scheduler, SpreadsMembersAcrossHosts) {
  const auto result = schedule_cluster(request_for(3, {"a", "b", "c"}));
  ASSERT_EQ(result.add.size(), 3u);
  EXPECT_EQ(result.add[0].host, "a");
  EXPECT_EQ(result.add[1].host, "b");
  EXPECT_EQ(result.add[2].host, "c");
  // One member per host: every member gets the first port slot of its host.
  for (const auto& placement : result.add) EXPECT_EQ(placement.ports.postgres, 15432);
}

TEST(Scheduler, KeepsExistingMembersAndAvoidsTakenPorts) {
  const std::vector<Placement> existing = {
      {"default/demo", "demo-0", 0, "a", {15432, 16432, 18008}},
      {"default/other", "other-0", 0, "a", {15433, 16433, 18009}},
  };
  const auto result = schedule_cluster(request_for(2, {"a"}, existing));
  ASSERT_EQ(result.keep.size(), 1u);
  ASSERT_EQ(result.add.size(), 1u);
  EXPECT_EQ(result.add[0].member, "demo-1");
  EXPECT_EQ(result.add[0].ports.postgres, 15434);
}

TEST(Scheduler, ScalesDownReplicasFirstHighestIndexFirst) {
  const std::vector<Placement> existing = {
      {"default/demo", "demo-0", 0, "a", {15432, 16432, 18008}},
      {"default/demo", "demo-1", 1, "a", {15433, 16433, 18009}},
      {"default/demo", "demo-2", 2, "a", {15434, 16434, 18010}},
  };
  auto request = request_for(2, {"a"}, existing);
  request.primary_member = "demo-2";
  const auto result = schedule_cluster(request);
  ASSERT_EQ(result.remove.size(), 1u);
  EXPECT_EQ(result.remove[0].member, "demo-1");  // the primary demo-2 stays
  EXPECT_EQ(result.keep.size(), 2u);

  // Scaling up again reuses the freed index and port slot.
  std::vector<Placement> after = {existing[0], existing[2]};
  const auto up = schedule_cluster(request_for(3, {"a"}, after));
  ASSERT_EQ(up.add.size(), 1u);
  EXPECT_EQ(up.add[0].member, "demo-1");
  EXPECT_EQ(up.add[0].ports.postgres, 15433);
}

TEST(Scheduler, ADrainedHostsReplicasMoveUnderNewNamesAndItsPrimaryWaitsForTheSwitchover) {
  const std::vector<Placement> existing = {
      {"default/demo", "demo-0", 0, "a", {15432, 16432, 18008}},
      {"default/demo", "demo-1", 1, "b", {15432, 16432, 18008}},
      {"default/demo", "demo-2", 2, "c", {15432, 16432, 18008}},
  };
  auto request = request_for(3, {"a", "b"}, existing);
  request.leaving_hosts = {"c"};
  request.primary_member = "demo-0";
  auto result = schedule_cluster(request);
  ASSERT_EQ(result.moved.size(), 1u);
  EXPECT_EQ(result.moved[0].member, "demo-2");
  ASSERT_EQ(result.remove.size(), 1u);
  ASSERT_EQ(result.add.size(), 1u);
  EXPECT_EQ(result.add[0].member, "demo-3");  // never the old name: the old host may still run demo-2
  EXPECT_NE(result.add[0].host, "c");
  EXPECT_EQ(result.keep.size(), 2u);

  // The primary on the drained host stays until a switchover has moved the role.
  request.primary_member = "demo-2";
  result = schedule_cluster(request);
  EXPECT_TRUE(result.moved.empty());
  EXPECT_TRUE(result.add.empty());

  // No leader to build a new member from (its host is lost with the only member, or an election runs):
  // nothing moves.
  request.primary_member = std::nullopt;
  result = schedule_cluster(request);
  EXPECT_TRUE(result.moved.empty());
  EXPECT_EQ(result.keep.size(), 3u);

  // Nowhere to go: everything stays.
  request.hosts = {};
  request.primary_member = "demo-0";
  result = schedule_cluster(request);
  EXPECT_TRUE(result.moved.empty());
  EXPECT_EQ(result.keep.size(), 3u);
}

TEST(Scheduler, ScalingDownTakesADrainedHostsReplicaFirst) {
  const std::vector<Placement> existing = {
      {"default/demo", "demo-0", 0, "a", {15432, 16432, 18008}},
      {"default/demo", "demo-1", 1, "c", {15432, 16432, 18008}},
      {"default/demo", "demo-2", 2, "b", {15432, 16432, 18008}},
  };
  auto request = request_for(2, {"a", "b"}, existing);
  request.leaving_hosts = {"c"};
  const auto result = schedule_cluster(request);
  ASSERT_EQ(result.remove.size(), 1u);
  EXPECT_EQ(result.remove[0].member, "demo-1");
  EXPECT_TRUE(result.add.empty());
}

TEST(Scheduler, AHostThatJoinsLaterTakesOneReplicaFromASharedHostWhileEveryMemberIsReady) {
  // Three members placed on one host; b and c joined afterwards.
  const std::vector<Placement> existing = {
      {"default/demo", "demo-0", 0, "a", {15432, 16432, 18008, 19187}},
      {"default/demo", "demo-1", 1, "a", {15433, 16433, 18009, 19188}},
      {"default/demo", "demo-2", 2, "a", {15434, 16434, 18010, 19189}},
  };
  auto request = request_for(3, {"a", "b", "c"}, existing);
  request.primary_member = "demo-0";
  request.ready_members = {"demo-0", "demo-1", "demo-2"};
  request.sync_standbys = {"demo-2"};
  auto result = schedule_cluster(request);
  EXPECT_TRUE(result.spreading);
  ASSERT_EQ(result.moved.size(), 1u);
  EXPECT_EQ(result.moved[0].member, "demo-1");  // not the synchronous standby, though demo-2 has the higher index
  ASSERT_EQ(result.add.size(), 1u);
  EXPECT_EQ(result.add[0].member, "demo-3");
  EXPECT_EQ(result.add[0].host, "b");
  EXPECT_EQ(result.keep.size(), 2u);

  // The next pass: demo-3 is not ready yet (being built), so nothing else moves.
  std::vector<Placement> after = {existing[0], existing[2], result.add[0]};
  request.existing = after;
  request.ready_members = {"demo-0", "demo-2"};
  result = schedule_cluster(request);
  EXPECT_TRUE(result.moved.empty());
  EXPECT_TRUE(result.add.empty());
  EXPECT_EQ(result.keep.size(), 3u);

  // Ready: the synchronous standby may move now that another ready replica (demo-3) can take its place.
  request.ready_members = {"demo-0", "demo-2", "demo-3"};
  result = schedule_cluster(request);
  ASSERT_EQ(result.moved.size(), 1u);
  EXPECT_EQ(result.moved[0].member, "demo-2");
  ASSERT_EQ(result.add.size(), 1u);
  EXPECT_EQ(result.add[0].host, "c");
  EXPECT_EQ(result.add[0].member, "demo-4");  // above every name in use: host a may still hold demo-1's data

  // One member per host: stable.
  request.existing = {existing[0], after[2], result.add[0]};
  request.ready_members = {"demo-0", "demo-3", "demo-4"};
  result = schedule_cluster(request);
  EXPECT_TRUE(result.moved.empty());
  EXPECT_FALSE(result.spreading);
}

TEST(Scheduler, NoReplicaMovesWhenNoHostIsFreeTheOnlySyncStandbyWouldGoOrThePrimaryIsAlone) {
  const std::vector<Placement> existing = {
      {"default/demo", "demo-0", 0, "a", {15432, 16432, 18008, 19187}},
      {"default/demo", "demo-1", 1, "a", {15433, 16433, 18009, 19188}},
      {"default/demo", "demo-2", 2, "b", {15432, 16432, 18008, 19187}},
  };
  // Two hosts for three members: a sharing is unavoidable.
  auto request = request_for(3, {"a", "b"}, existing);
  request.primary_member = "demo-0";
  request.ready_members = {"demo-0", "demo-1", "demo-2"};
  EXPECT_TRUE(schedule_cluster(request).moved.empty());

  // Two members on one host, the replica the only synchronous standby: writes would stop while it is rebuilt.
  const std::vector<Placement> pair = {existing[0], existing[1]};
  request = request_for(2, {"a", "b"}, pair);
  request.primary_member = "demo-0";
  request.ready_members = {"demo-0", "demo-1"};
  request.sync_standbys = {"demo-1"};
  EXPECT_TRUE(schedule_cluster(request).moved.empty());
  // Asynchronous: it moves (the primary runs alone while the new replica is built).
  request.sync_standbys.clear();
  const auto result = schedule_cluster(request);
  ASSERT_EQ(result.moved.size(), 1u);
  EXPECT_EQ(result.moved[0].member, "demo-1");
  ASSERT_EQ(result.add.size(), 1u);
  EXPECT_EQ(result.add[0].host, "b");

  // Without a leader, or a member that is not ready, nothing moves.
  request.primary_member = std::nullopt;
  EXPECT_TRUE(schedule_cluster(request).moved.empty());
  request.primary_member = "demo-0";
  request.ready_members = {"demo-0"};
  EXPECT_TRUE(schedule_cluster(request).moved.empty());
}

TEST(Scheduler, ASingleMembersDrainAddsAMemberElsewhereFirstAndRemovesTheOldOneAfterTheSwitchover) {
  const Placement only{"default/demo", "demo-0", 0, "a", {15432, 16432, 18008, 19187}};
  auto request = request_for(1, {"b"}, {only});
  request.leaving_hosts = {"a"};
  request.primary_member = "demo-0";
  auto result = schedule_cluster(request);
  EXPECT_TRUE(result.surge);
  EXPECT_TRUE(result.remove.empty());
  ASSERT_EQ(result.add.size(), 1u);
  EXPECT_EQ(result.add[0].member, "demo-1");
  EXPECT_EQ(result.add[0].host, "b");

  // Both placed, the primary still on the drained host: both stay (the switchover is the placement step's).
  const Placement surge = result.add[0];
  request.existing = {only, surge};
  result = schedule_cluster(request);
  EXPECT_TRUE(result.surge);
  EXPECT_TRUE(result.remove.empty());
  EXPECT_TRUE(result.add.empty());
  EXPECT_EQ(result.keep.size(), 2u);

  // Switched over: the old member, a replica on the drained host now, goes; one member is left.
  request.primary_member = "demo-1";
  result = schedule_cluster(request);
  EXPECT_FALSE(result.surge);
  ASSERT_EQ(result.remove.size(), 1u);
  EXPECT_EQ(result.remove[0].member, "demo-0");
  ASSERT_EQ(result.keep.size(), 1u);
  EXPECT_EQ(result.keep[0].member, "demo-1");

  // No other host, or no leader to build from: nothing is added.
  request = request_for(1, {}, {only});
  request.leaving_hosts = {"a"};
  request.primary_member = "demo-0";
  EXPECT_TRUE(schedule_cluster(request).add.empty());
  request.hosts = {"b"};
  request.primary_member = std::nullopt;
  EXPECT_TRUE(schedule_cluster(request).add.empty());
}

TEST(LostHosts, AHostWithMembersButNoRegistrationCountsAfterTheGracePeriod) {
  using namespace std::chrono_literals;
  const std::vector<Placement> placements = {{"default/demo", "demo-0", 0, "a", {15432, 16432, 18008}},
                                             {"default/demo", "demo-1", 1, "b", {15432, 16432, 18008}}};
  LostHosts lost;
  const auto t0 = std::chrono::steady_clock::time_point{} + 1h;
  EXPECT_TRUE(hosts_lost_past({"a", "b"}, placements, lost, t0, 60s).empty());
  EXPECT_TRUE(lost.empty());
  EXPECT_TRUE(hosts_lost_past({"a"}, placements, lost, t0, 60s).empty());  // b lost from now
  EXPECT_EQ(lost.size(), 1u);
  EXPECT_TRUE(hosts_lost_past({"a"}, placements, lost, t0 + 59s, 60s).empty());
  EXPECT_EQ(hosts_lost_past({"a"}, placements, lost, t0 + 60s, 60s), (std::set<std::string>{"b"}));
  // Registered again: forgotten, and the grace starts over next time.
  EXPECT_TRUE(hosts_lost_past({"a", "b"}, placements, lost, t0 + 61s, 60s).empty());
  EXPECT_TRUE(lost.empty());
  EXPECT_TRUE(hosts_lost_past({"a"}, placements, lost, t0 + 62s, 60s).empty());
  // Grace 0: never on its own.
  EXPECT_TRUE(hosts_lost_past({"a"}, placements, lost, t0 + 1000s, 0s).empty());
  // A host without members is not lost, whatever its registration.
  EXPECT_TRUE(hosts_lost_past({}, {}, lost, t0 + 2000s, 60s).empty());
  EXPECT_TRUE(lost.empty());
}

TEST(Scheduler, NoHostsIsAProblemNotACrash) {
  const auto result = schedule_cluster(request_for(1, {}));
  EXPECT_TRUE(result.add.empty());
  EXPECT_EQ(result.problem, "no pgstack-agent has registered a host");
}

TEST(ProxyPorts, KeptByTheirClusterAndNewClustersTakeTheLowestFreeSlot) {
  const PortBases bases;
  std::map<std::string, ProxyPorts> in_use;
  const auto first = proxy_ports_for("default/a", in_use, bases);
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(*first, (ProxyPorts{14432, 14433, 17432}));
  in_use["default/a"] = *first;
  in_use["default/c"] = {14436, 14437, 17434};  // slot 2
  EXPECT_EQ(proxy_ports_for("default/a", in_use, bases), first);
  EXPECT_EQ(proxy_ports_for("default/b", in_use, bases), (ProxyPorts{14434, 14435, 17433}));
  PortBases one_slot = bases;
  one_slot.slots = 1;
  EXPECT_FALSE(proxy_ports_for("default/b", {{"default/a", *first}}, one_slot).has_value());
}

}  // namespace
}  // namespace pgstack::controller
