#include "model/host_labels.h"

#include <gtest/gtest.h>

namespace pgstack::model {
namespace {

TEST(HostLabels, ParsedFromKeyEqualsValue) {
  std::string error;
  const auto zone = parse_label("topology.kubernetes.io/zone=eu-1a", error);
  ASSERT_TRUE(zone.has_value()) << error;
  EXPECT_EQ(zone->first, "topology.kubernetes.io/zone");
  EXPECT_EQ(zone->second, "eu-1a");
  ASSERT_TRUE(parse_label("spare=", error).has_value());  // an empty value is a value
  EXPECT_FALSE(parse_label("zone", error).has_value());
  EXPECT_NE(error.find("expected KEY=VALUE"), std::string::npos);
  EXPECT_FALSE(parse_label("=a", error).has_value());
  EXPECT_NE(error.find("the key must be"), std::string::npos);
  EXPECT_FALSE(parse_label("zone=a b", error).has_value());
  EXPECT_NE(error.find("the value must be"), std::string::npos);
  EXPECT_FALSE(parse_label("zone=" + std::string(64, 'a'), error).has_value());
  EXPECT_FALSE(parse_label("zo ne=a", error).has_value());
}

TEST(HostLabels, ASelectorMatchesHostsWithAllOfItsLabels) {
  const Labels host = {{"zone", "a"}, {"disk", "ssd"}};
  EXPECT_TRUE(matches_selector(host, {}));
  EXPECT_TRUE(matches_selector(host, {{"zone", "a"}}));
  EXPECT_TRUE(matches_selector(host, {{"zone", "a"}, {"disk", "ssd"}}));
  EXPECT_FALSE(matches_selector(host, {{"zone", "b"}}));
  EXPECT_FALSE(matches_selector(host, {{"zone", "a"}, {"rack", "1"}}));
  EXPECT_FALSE(matches_selector({}, {{"zone", "a"}}));
  EXPECT_EQ(describe_labels(host), "disk=ssd,zone=a");
  EXPECT_EQ(describe_labels({}), "no labels");
}

}  // namespace
}  // namespace pgstack::model
