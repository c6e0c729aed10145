// The pure parts of the test hosts: the address plan, namespace names, the nftables and netem text.
#include <gtest/gtest.h>

#include "support/test_hosts.h"

namespace pgstack::testing {
namespace {

TEST(TestNetworkPlan, NamesEveryNamespaceAfterTheOwnerAndNumbersTheAddresses) {
  auto plan = plan_test_network(4242, 3);
  ASSERT_TRUE(plan) << plan.error().message;
  EXPECT_EQ(plan->bridge_netns, "pgsth-4242-br");
  EXPECT_EQ(plan->prefix_length, 24);
  ASSERT_EQ(plan->hosts.size(), 3U);
  EXPECT_EQ(plan->hosts[0].name, "n1");
  EXPECT_EQ(plan->hosts[0].netns, "pgsth-4242-n1");
  EXPECT_EQ(plan->hosts[0].address, "10.77.0.1");
  EXPECT_EQ(plan->hosts[0].bridge_port, "port1");
  EXPECT_EQ(plan->hosts[2].netns, "pgsth-4242-n3");
  EXPECT_EQ(plan->hosts[2].address, "10.77.0.3");
}

TEST(TestNetworkPlan, AddressesCrossAnOctetWithinTheSubnet) {
  auto plan = plan_test_network(7, 300, "172.20.0.0/16");
  ASSERT_TRUE(plan) << plan.error().message;
  EXPECT_EQ(plan->prefix_length, 16);
  EXPECT_EQ(plan->hosts[254].address, "172.20.0.255");
  EXPECT_EQ(plan->hosts[255].address, "172.20.1.0");
  EXPECT_EQ(plan->hosts[299].address, "172.20.1.44");
}

TEST(TestNetworkPlan, RefusesSubnetsThatAreNotPrivateOrDoNotFit) {
  for (const char* subnet : {"8.8.8.0/24", "100.64.0.0/24", "172.32.0.0/24", "127.0.0.0/24", "192.169.0.0/24"}) {
    auto plan = plan_test_network(1, 3, subnet);
    ASSERT_FALSE(plan) << subnet;
    EXPECT_NE(plan.error().message.find("private"), std::string::npos) << plan.error().message;
  }
  EXPECT_FALSE(plan_test_network(1, 3, "10.77.0.5/24"));   // host bits set
  EXPECT_FALSE(plan_test_network(1, 3, "10.77.0.0"));      // no length
  EXPECT_FALSE(plan_test_network(1, 3, "10.77.0.0/8"));    // wider than /16
  EXPECT_FALSE(plan_test_network(1, 3, "10.77.0.0/30"));   // narrower than /28
  EXPECT_FALSE(plan_test_network(1, 3, "10.77.0/24"));     // not an address
  EXPECT_FALSE(plan_test_network(1, 15, "10.77.0.0/28"));  // 14 usable addresses
  EXPECT_TRUE(plan_test_network(1, 14, "10.77.0.0/28"));
  EXPECT_FALSE(plan_test_network(1, 0));
  EXPECT_FALSE(plan_test_network(0, 3));
}

TEST(TestNetworkOwner, ReadsThePidOfOurNamesOnly) {
  EXPECT_EQ(test_network_owner("pgsth-4242-n1"), 4242);
  EXPECT_EQ(test_network_owner("pgsth-4242-br"), 4242);
  EXPECT_EQ(test_network_owner("pgsth-n1"), std::nullopt);
  EXPECT_EQ(test_network_owner("pgsth-4242"), std::nullopt);
  EXPECT_EQ(test_network_owner("other-4242-n1"), std::nullopt);
  EXPECT_EQ(test_network_owner("pgsth--1-n1"), std::nullopt);
  auto plan = plan_test_network(99, 2);
  ASSERT_TRUE(plan);
  EXPECT_EQ(test_network_owner(plan->bridge_netns), 99);
  for (const auto& host : plan->hosts) EXPECT_EQ(test_network_owner(host.netns), 99);
}

TEST(FaultRuleset, DropsBothDirectionsForEveryBlockedAddress) {
  EXPECT_EQ(render_fault_ruleset({{"10.77.0.3", "10.77.0.2"}, 0}),
            "table inet pgstack_faults\n"
            "delete table inet pgstack_faults\n"
            "table inet pgstack_faults {\n"
            "  chain input {\n"
            "    type filter hook input priority filter; policy accept;\n"
            "    ip saddr { 10.77.0.2, 10.77.0.3 } drop\n"
            "  }\n"
            "  chain output {\n"
            "    type filter hook output priority filter; policy accept;\n"
            "    ip daddr { 10.77.0.2, 10.77.0.3 } drop\n"
            "  }\n"
            "}\n");
}

TEST(FaultRuleset, LossDropsARandomShareOfWhatTheHostSends) {
  EXPECT_EQ(render_fault_ruleset({{}, 2550}),
            "table inet pgstack_faults\n"
            "delete table inet pgstack_faults\n"
            "table inet pgstack_faults {\n"
            "  chain output {\n"
            "    type filter hook output priority filter; policy accept;\n"
            "    numgen random mod 10000 < 2550 drop\n"
            "  }\n"
            "}\n");
  EXPECT_NE(render_fault_ruleset({{}, 10000}).find("policy accept;\n    drop\n  }"), std::string::npos);
  const std::string both = render_fault_ruleset({{"10.77.0.9"}, 100});
  EXPECT_NE(both.find("    ip daddr { 10.77.0.9 } drop\n    numgen random mod 10000 < 100 drop\n"), std::string::npos)
      << both;
}

TEST(FaultRuleset, NoRulesRemovesTheTable) {
  EXPECT_EQ(render_fault_ruleset({}), "table inet pgstack_faults\ndelete table inet pgstack_faults\n");
}

TEST(NetemArguments, DelayAndLoss) {
  auto arguments = netem_arguments(std::chrono::milliseconds(150), 2.5);
  ASSERT_TRUE(arguments);
  EXPECT_EQ(*arguments, (std::vector<std::string>{"netem", "delay", "150ms", "loss", "2.5%"}));
  arguments = netem_arguments(std::chrono::milliseconds(0), 0);
  ASSERT_TRUE(arguments);
  EXPECT_EQ(*arguments, (std::vector<std::string>{"netem", "delay", "0ms", "loss", "0%"}));
  EXPECT_FALSE(netem_arguments(std::chrono::milliseconds(-1), 0));
  EXPECT_FALSE(netem_arguments(std::chrono::milliseconds(10), 100.5));
  EXPECT_FALSE(netem_arguments(std::chrono::milliseconds(10), -0.1));
}

}  // namespace
}  // namespace pgstack::testing
