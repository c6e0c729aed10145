#include <gtest/gtest.h>

#include "store/etcd_client.h"

namespace pgstack::store {
namespace {

TEST(EtcdEndpointList, TheGivenStayFirstAndEachMemberIsListedOnce) {
  EXPECT_EQ(merge_endpoints({"https://10.0.0.1:2379"}, {"https://10.0.0.3:2379", "https://10.0.0.2:2379/",
                                                        "https://10.0.0.1:2379", "https://10.0.0.3:2379", ""}),
            (std::vector<std::string>{"https://10.0.0.1:2379", "https://10.0.0.2:2379", "https://10.0.0.3:2379"}));
  // A given endpoint that is no member's URL (loopback) stays, first.
  EXPECT_EQ(merge_endpoints({"https://127.0.0.1:2379"}, {"https://10.0.0.2:2379"}),
            (std::vector<std::string>{"https://127.0.0.1:2379", "https://10.0.0.2:2379"}));
}

TEST(EtcdEndpointList, LearntMembersReplaceTheLearntBeforeAndCopiesOfAClientShareThem) {
  EtcdEndpoints endpoints({"https://10.0.0.1:2379"});
  EXPECT_TRUE(endpoints.set_learnt({"https://10.0.0.1:2379", "https://10.0.0.2:2379", "https://10.0.0.3:2379"}));
  EXPECT_FALSE(endpoints.set_learnt({"https://10.0.0.3:2379", "https://10.0.0.2:2379"}));  // same members
  // A member removed since is dropped; the given one never is.
  EXPECT_TRUE(endpoints.set_learnt({"https://10.0.0.3:2379"}));
  EXPECT_EQ(endpoints.current(), (std::vector<std::string>{"https://10.0.0.1:2379", "https://10.0.0.3:2379"}));
  EXPECT_TRUE(endpoints.set_learnt({}));
  EXPECT_EQ(endpoints.current(), (std::vector<std::string>{"https://10.0.0.1:2379"}));

  const EtcdClient client({"https://10.0.0.1:2379/"});
  const EtcdClient copy(client);
  const EtcdClient other_timeout(client, std::chrono::seconds(1));
  EXPECT_EQ(copy.endpoints(), (std::vector<std::string>{"https://10.0.0.1:2379"}));
  EXPECT_EQ(other_timeout.endpoints(), client.endpoints());
}

}  // namespace
}  // namespace pgstack::store
