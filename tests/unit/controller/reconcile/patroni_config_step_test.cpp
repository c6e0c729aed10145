#include "controller/reconcile/patroni_config_step.h"

#include <gtest/gtest.h>

#include "step_fixture.h"

namespace pgstack::controller {
namespace {

using model::Json;

TEST(PatroniConfigStep, ComparesWhatTheClusterAsksForOnly) {
  const Json actual = Json::parse(R"({"ttl": 10, "postgresql": {"parameters": {"max_connections": "100", "x": 1}}})");
  EXPECT_TRUE(contains_all(actual, Json::parse(R"({"postgresql": {"parameters": {"max_connections": 100}}})")));
  EXPECT_TRUE(contains_all(actual, Json::parse(R"({"ttl": "10"})")));
  EXPECT_FALSE(contains_all(actual, Json::parse(R"({"postgresql": {"parameters": {"max_connections": 200}}})")));
  EXPECT_FALSE(contains_all(actual, Json::parse(R"({"loop_wait": 2})")));
}

TEST(PatroniConfigStep, PatchesThePrimaryWhenPatroniDiffers) {
  const model::Document document = testing::cluster_document();
  const model::Cluster cluster = model::cluster_from(document);
  ResolvedInputs inputs;
  inputs.postgres = testing::postgres15();
  ClusterTopology topology;
  EXPECT_FALSE(decide_patroni_config({&cluster, &inputs, &topology}).patch.has_value());  // no leader
  EXPECT_FALSE(decide_patroni_config({&cluster, &inputs, nullptr}).patch.has_value());

  topology.leader = "demo-0";
  topology.members["demo-0"] = parse_patroni_member("demo-0", R"({"role": "master", "state": "running"})");
  EXPECT_FALSE(decide_patroni_config({&cluster, &inputs, &topology}).patch.has_value());  // no config yet
  topology.dynamic_config = Json{{"ttl", 10}};
  const PatroniConfigDecision decision = decide_patroni_config({&cluster, &inputs, &topology});
  ASSERT_TRUE(decision.patch.has_value());
  EXPECT_EQ(decision.leader, "demo-0");
  // Once Patroni has it, nothing more is sent.
  topology.dynamic_config = *decision.patch;
  EXPECT_FALSE(decide_patroni_config({&cluster, &inputs, &topology}).patch.has_value());
}

}  // namespace
}  // namespace pgstack::controller
