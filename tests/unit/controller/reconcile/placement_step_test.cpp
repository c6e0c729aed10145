#include "controller/reconcile/placement_step.h"

#include <gtest/gtest.h>

#include "step_fixture.h"

namespace pgstack::controller {
namespace {

using model::Json;

struct PlacementFixture {
  model::Document document;
  ClusterState state;
  PassSnapshot pass;

  explicit PlacementFixture(int instances = 2)
      : document(testing::cluster_document(instances)), state{document, model::cluster_from(document)} {
    state.inputs.postgres = testing::postgres15();
    pass.hosts = {{"node-a", "10.0.0.1"}};
  }
  PlacementDecision plan() { return plan_placement({&state, &pass, "/pgstack", PortBases{}}); }
  // What the agents would find after the decision's writes.
  void apply(const PlacementDecision& decision) {
    for (const auto& write : decision.writes) pass.assignments[write.key] = model::assignment_to_json(write.assignment);
    pass.placements = decision.members;
    if (decision.proxy) pass.proxy_ports[state.key] = *decision.proxy;
  }
};

TEST(PlacementStep, AssignsANewClustersMembersAndItsProxy) {
  PlacementFixture fixture;
  const PlacementDecision decision = fixture.plan();
  EXPECT_FALSE(decision.outcome.stop) << decision.outcome.message;
  ASSERT_EQ(decision.writes.size(), 2u);
  const AssignmentWrite& first = decision.writes[0];
  EXPECT_TRUE(first.is_new);
  EXPECT_EQ(first.key, "/pgstack/assignments/node-a/shop/demo/demo-0");
  EXPECT_EQ(first.assignment.postgres_major, 15);
  EXPECT_EQ(first.assignment.cluster_document, fixture.document.body);
  ASSERT_TRUE(first.assignment.proxy.has_value());
  ASSERT_TRUE(decision.proxy.has_value());
  EXPECT_EQ(first.assignment.proxy->read_write, decision.proxy->read_write);
  EXPECT_EQ(decision.added.size(), 2u);
}

TEST(PlacementStep, ANodeSelectorPlacesMembersOnlyOnHostsWithItsLabels) {
  PlacementFixture fixture;
  fixture.pass.hosts = {{"node-a", "10.0.0.1"}, {"node-b", "10.0.0.2"}, {"node-c", "10.0.0.3"}};
  fixture.pass.host_registrations = {Json{{"name", "node-a"}, {"labels", {{"zone", "a"}}}},
                                     Json{{"name", "node-b"}, {"labels", {{"zone", "b"}, {"disk", "ssd"}}}},
                                     Json{{"name", "node-c"}}};
  fixture.state.cluster.node_selector = {{"zone", "b"}};
  PlacementDecision decision = fixture.plan();
  EXPECT_FALSE(decision.outcome.stop) << decision.outcome.message;
  ASSERT_EQ(decision.added.size(), 2u);
  for (const auto& placement : decision.added) EXPECT_EQ(placement.host, "node-b");

  fixture.state.cluster.node_selector = {{"zone", "c"}};
  decision = fixture.plan();
  EXPECT_TRUE(decision.outcome.stop);
  EXPECT_EQ(decision.outcome.reason, "CannotPlaceMembers");
  EXPECT_EQ(decision.outcome.message,
            "no registered host has the labels of pods.scheduling.nodeSelector (zone=c); the hosts: node-a (zone=a), "
            "node-b (disk=ssd,zone=b), node-c (no labels) (pgstack up or pgstack join --label KEY=VALUE gives a "
            "host labels)");
  EXPECT_TRUE(decision.added.empty());
}

TEST(PlacementStep, ADrainedHostTakesNothingAndItsPrimarySwitchesOverToASyncStandbyElsewhere) {
  PlacementFixture fixture(3);
  fixture.pass.hosts = {{"node-a", "10.0.0.1"}, {"node-b", "10.0.0.2"}, {"node-c", "10.0.0.3"}};
  fixture.apply(fixture.plan());  // demo-0 on a, demo-1 on b, demo-2 on c
  ASSERT_EQ(fixture.pass.placements.size(), 3u);

  fixture.pass.draining_hosts = {"node-a"};
  ClusterTopology topology;
  topology.leader = "demo-0";
  for (const char* name : {"demo-0", "demo-1", "demo-2"}) {
    PatroniMember member;
    member.name = name;
    member.state = "running";
    topology.members[name] = member;
  }
  topology.sync_standbys = {"demo-2"};
  fixture.state.topology = topology;
  PlacementDecision decision = fixture.plan();
  ASSERT_TRUE(decision.switchover_to.has_value());
  EXPECT_EQ(*decision.switchover_to, "demo-2");  // the synchronous standby, not on the drained host
  EXPECT_TRUE(decision.moved.empty());           // the primary waits for the switchover

  // After it: the old primary is a replica on the drained host and is rebuilt elsewhere.
  fixture.state.topology->leader = "demo-2";
  fixture.state.topology->sync_standbys = {"demo-1"};
  decision = fixture.plan();
  EXPECT_FALSE(decision.switchover_to.has_value());
  ASSERT_EQ(decision.moved.size(), 1u);
  EXPECT_EQ(decision.moved[0].member, "demo-0");
  ASSERT_EQ(decision.added.size(), 1u);
  EXPECT_EQ(decision.added[0].member, "demo-3");
  EXPECT_NE(decision.added[0].host, "node-a");

  // Every host drained: nowhere to go, and the reason says so.
  fixture.pass.draining_hosts = {"node-a", "node-b", "node-c"};
  fixture.pass.placements.clear();
  decision = fixture.plan();
  EXPECT_TRUE(decision.outcome.stop);
  EXPECT_EQ(decision.outcome.message,
            "every registered host is being drained (node-a, node-b, node-c; pgstack host uncordon HOST)");
}

TEST(PlacementStep, AnOperationsAdditionalMemberIsPlacedAndRemovedAfter) {
  PlacementFixture fixture;
  fixture.apply(fixture.plan());
  fixture.state.additional_instances = 1;  // a ReducedImpact restart asked for one
  PlacementDecision decision = fixture.plan();
  ASSERT_EQ(decision.added.size(), 1u);
  EXPECT_EQ(decision.added[0].member, "demo-2");
  fixture.apply(decision);
  fixture.state.additional_instances = 0;
  decision = fixture.plan();
  ASSERT_EQ(decision.remove.size(), 1u);
  EXPECT_EQ(decision.remove[0].member, "demo-2");
}

TEST(PlacementStep, WritesNothingWhenOnlyResourceVersionsChanged) {
  PlacementFixture fixture;
  fixture.apply(fixture.plan());
  EXPECT_TRUE(fixture.plan().writes.empty());
  for (auto& [key, assignment] : fixture.pass.assignments) assignment["cluster"]["metadata"]["resourceVersion"] = "8";
  EXPECT_TRUE(fixture.plan().writes.empty());
  fixture.state.inputs.postgres = {16, "16.4"};
  EXPECT_EQ(fixture.plan().writes.size(), 2u);
}

TEST(PlacementStep, KeepsWhatTheMemberWasAssignedButTheControllerDoesNotDecide) {
  PlacementFixture fixture;
  fixture.apply(fixture.plan());
  Json& current = fixture.pass.assignments.begin()->second;
  current["restartGeneration"] = 3;
  EXPECT_TRUE(fixture.plan().writes.empty());
  const model::Assignment desired =
      desired_assignment(fixture.state, fixture.pass.placements[0], std::nullopt, current);
  EXPECT_EQ(desired.restart_generation, 3);
  EXPECT_EQ(desired_assignment(fixture.state, fixture.pass.placements[0], std::nullopt, nullptr).restart_generation, 0);
}

TEST(PlacementStep, ScalesDownByRemovingAReplica) {
  PlacementFixture fixture;
  fixture.apply(fixture.plan());
  fixture.state.cluster.instances = 1;
  fixture.state.topology = ClusterTopology{};
  fixture.state.topology->leader = "demo-0";
  const PlacementDecision decision = fixture.plan();
  ASSERT_EQ(decision.remove.size(), 1u);
  EXPECT_EQ(decision.remove[0].member, "demo-1");
  ASSERT_EQ(decision.members.size(), 1u);
  EXPECT_EQ(decision.members[0].member, "demo-0");
}

TEST(PlacementStep, StopsWithTheSchedulersReasonWithoutHosts) {
  PlacementFixture fixture;
  fixture.pass.hosts.clear();
  const PlacementDecision decision = fixture.plan();
  ASSERT_TRUE(decision.outcome.stop);
  EXPECT_EQ(decision.outcome.reason, "CannotPlaceMembers");
  EXPECT_FALSE(decision.outcome.message.empty());
  EXPECT_TRUE(decision.writes.empty());
}

}  // namespace
}  // namespace pgstack::controller
