#include "controller/join_api.h"

#include <gtest/gtest.h>

namespace pgstack::controller {
namespace {

TEST(JoinApi, LoopbackEndpointsAreTheOnesAnotherHostCannotReach) {
  EXPECT_EQ(loopback_endpoints({"https://127.0.0.1:2379", "https://10.0.0.1:2379", "https://localhost:2379",
                                "https://[::1]:2379", "https://etcd.example:2379"}),
            (std::vector<std::string>{"https://127.0.0.1:2379", "https://localhost:2379", "https://[::1]:2379"}));
  EXPECT_TRUE(loopback_endpoints({"https://10.77.0.1:2379", "https://10.77.0.2:2379"}).empty());
}

TEST(JoinApi, ATokensLifetimeIsAnHourUnlessAskedWithinBounds) {
  EXPECT_EQ(requested_token_lifetime("").lifetime, kDefaultJoinTokenLifetime);
  EXPECT_EQ(requested_token_lifetime("{}").lifetime, kDefaultJoinTokenLifetime);
  EXPECT_EQ(requested_token_lifetime(R"({"ttlSeconds": 600})").lifetime, std::chrono::seconds(600));
  EXPECT_TRUE(requested_token_lifetime(R"({"ttlSeconds": 600})").error.empty());
  const auto too_short = requested_token_lifetime(R"({"ttlSeconds": 5})");
  EXPECT_NE(too_short.error.find("ttlSeconds: expected a whole number of seconds from 60 to 604800"), std::string::npos)
      << too_short.error;
  EXPECT_FALSE(requested_token_lifetime(R"({"ttlSeconds": 604801})").error.empty());
  EXPECT_FALSE(requested_token_lifetime(R"({"ttlSeconds": "1h"})").error.empty());
  EXPECT_NE(requested_token_lifetime(R"({"ttl": 600})").error.find("unknown field \"ttl\""), std::string::npos);
  EXPECT_FALSE(requested_token_lifetime("[1]").error.empty());
  EXPECT_FALSE(requested_token_lifetime("{").error.empty());
}

}  // namespace
}  // namespace pgstack::controller
