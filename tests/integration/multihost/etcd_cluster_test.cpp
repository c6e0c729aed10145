// A 3-member etcd on three test hosts, and pgstack's own etcd client (src/store) on a fourth: the
// leader cut off from its peers loses its quorum, the majority elects a new leader and takes writes,
// the cut-off member refuses linearizable reads and writes, and pgstack's client, which was talking
// to that member, goes on through the others; after healing the member catches up.
#include "support/etcd_cluster.h"

#include <chrono>
#include <condition_variable>
#include <iostream>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "store/etcd_client.h"
#include "support/test_hosts.h"

namespace pgstack::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using store::EtcdClient;

constexpr auto kRequestTimeout = 2s;  // per endpoint, as EtcdClient's `timeout`
constexpr int kClientHost = 3;

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

// Runs `call` on a thread inside the client host and returns what it returned.
template <typename Call>
auto from_client(const TestHosts& hosts, Call&& call) -> decltype(call()) {
  std::optional<decltype(call())> result;
  auto ran = hosts.run_inside(kClientHost, [&] { result.emplace(call()); });
  if (!ran) return ran.error();
  return std::move(*result);
}

Result<std::string> value_of(const EtcdClient& client, const std::string& key) {
  ASSIGN_OR_RETURN(const auto found, client.get(key));
  if (!found) return make_error(ErrorCode::kNotFound, key + " is absent");
  return found->value;
}

class EtcdAcrossHosts : public ::testing::Test {
 protected:
  void SetUp() override {
    auto hosts = TestHosts::create(4);
    ASSERT_TRUE(hosts) << hosts.error().message;
    hosts_ = std::move(hosts).value();
    const auto started = Clock::now();
    auto cluster = EtcdCluster::start(*hosts_, {0, 1, 2}, kClientHost);
    ASSERT_TRUE(cluster) << cluster.error().message;
    cluster_ = std::move(cluster).value();
    std::cout << fmt::format("3-member etcd across hosts healthy after {:.1f} s\n", seconds_since(started));
  }
  void TearDown() override {
    if (HasFailure() && cluster_) {
      for (int member = 0; member < cluster_->size(); ++member)
        std::cout << "--- etcd member " << member << ":\n" << cluster_->log_tail(member) << "\n";
    }
    cluster_.reset();
    hosts_.reset();
  }

  std::unique_ptr<TestHosts> hosts_;
  std::unique_ptr<EtcdCluster> cluster_;
};

TEST_F(EtcdAcrossHosts, IsolatedLeaderStopsServingTheMajorityGoesOnAndTheClientFailsOver) {
  const TestHosts& hosts = *hosts_;
  const EtcdClient all(cluster_->endpoints(), kRequestTimeout);
  ASSERT_TRUE(from_client(hosts, [&] { return all.put("/multihost/first", "1"); }));
  for (int member = 0; member < 3; ++member) {
    const EtcdClient one({cluster_->endpoint(member)}, kRequestTimeout);
    const auto value = from_client(hosts, [&] { return value_of(one, "/multihost/first"); });
    ASSERT_TRUE(value) << "member " << member << ": " << value.error().message;
    EXPECT_EQ(*value, "1");
  }

  auto leader = cluster_->wait_for_leader({0, 1, 2}, {0, 1, 2}, 10s);
  ASSERT_TRUE(leader) << leader.error().message;
  const int old_leader = *leader;
  std::vector<int> majority;
  std::vector<int> majority_hosts;
  for (int member = 0; member < 3; ++member) {
    if (member == old_leader) continue;
    majority.push_back(member);
    majority_hosts.push_back(cluster_->member_host(member));
  }
  // pgstack's client as a daemon runs it: every endpoint, the one it talks to (the first) the leader.
  std::vector<std::string> leader_first = {cluster_->endpoint(old_leader)};
  for (const int member : majority) leader_first.push_back(cluster_->endpoint(member));
  const EtcdClient daemon_client(leader_first, kRequestTimeout);
  ASSERT_TRUE(from_client(hosts, [&] { return daemon_client.put("/multihost/before", "1"); }));

  // The leader loses its peers; the client host still reaches it.
  ASSERT_TRUE(hosts_->partition({cluster_->member_host(old_leader)}, majority_hosts));
  auto started = Clock::now();
  auto new_leader = cluster_->wait_for_leader(majority, majority, 15s);
  ASSERT_TRUE(new_leader) << new_leader.error().message;
  std::cout << fmt::format("majority elected member {} {:.1f} s after the partition\n", *new_leader,
                           seconds_since(started));

  std::vector<std::string> majority_endpoints;
  majority_endpoints.reserve(majority.size());
  for (const int member : majority) majority_endpoints.push_back(cluster_->endpoint(member));
  const EtcdClient majority_client(majority_endpoints, kRequestTimeout);
  ASSERT_TRUE(from_client(hosts, [&] { return majority_client.put("/multihost/majority", "2"); }));

  // The cut-off member refuses (or cannot finish) linearizable reads and writes.
  const EtcdClient cut_off({cluster_->endpoint(old_leader)}, kRequestTimeout);
  auto refused_write = from_client(hosts, [&] { return cut_off.put("/multihost/minority", "x"); });
  ASSERT_FALSE(refused_write) << "the cut-off member took a write";
  EXPECT_EQ(refused_write.error().code, ErrorCode::kUnavailable) << refused_write.error().message;
  auto refused_read = from_client(hosts, [&] { return value_of(cut_off, "/multihost/majority"); });
  ASSERT_FALSE(refused_read) << "the cut-off member answered a linearizable read: " << *refused_read;
  EXPECT_EQ(refused_read.error().code, ErrorCode::kUnavailable) << refused_read.error().message;
  std::cout << "cut-off member: write: " << refused_write.error().message
            << "\ncut-off member: read: " << refused_read.error().message << "\n";

  // pgstack's client, still preferring the cut-off member, goes on through the majority.
  started = Clock::now();
  ASSERT_TRUE(from_client(hosts, [&] { return daemon_client.put("/multihost/during", "3"); }));
  const auto seen = from_client(hosts, [&] { return value_of(daemon_client, "/multihost/majority"); });
  ASSERT_TRUE(seen) << seen.error().message;
  EXPECT_EQ(*seen, "2");
  std::cout << fmt::format(
      "pgstack's client: a write and a read through the majority {:.1f} s after asking the "
      "cut-off member\n",
      seconds_since(started));

  // Now the member is cut off from the client too: a new client that starts with it still works.
  ASSERT_TRUE(hosts_->isolate(cluster_->member_host(old_leader)));
  const EtcdClient fresh_client(leader_first, kRequestTimeout);
  started = Clock::now();
  ASSERT_TRUE(from_client(hosts, [&] { return fresh_client.put("/multihost/isolated", "4"); }));
  EXPECT_LT(seconds_since(started), 2 * std::chrono::duration<double>(kRequestTimeout).count());
  std::cout << fmt::format("a client whose first endpoint is unreachable wrote after {:.1f} s\n",
                           seconds_since(started));

  // Healed: the member rejoins, follows the new leader and serves what the majority wrote.
  ASSERT_TRUE(hosts_->heal());
  started = Clock::now();
  auto rejoined = cluster_->wait_for_leader({0, 1, 2}, majority, 15s);
  ASSERT_TRUE(rejoined) << rejoined.error().message;
  bool caught_up = false;
  const auto deadline = Clock::now() + 15s;
  while (!caught_up && Clock::now() < deadline) {
    const auto during = from_client(hosts, [&] { return value_of(cut_off, "/multihost/during"); });
    const auto isolated = from_client(hosts, [&] { return value_of(cut_off, "/multihost/isolated"); });
    caught_up = during && *during == "3" && isolated && *isolated == "4";
    if (!caught_up) std::this_thread::sleep_for(100ms);
  }
  EXPECT_TRUE(caught_up) << "the healed member does not serve the majority's writes";
  const auto minority = from_client(hosts, [&] { return cut_off.get("/multihost/minority"); });
  ASSERT_TRUE(minority) << minority.error().message;
  EXPECT_FALSE(minority->has_value()) << "the write the cut-off member refused is there after healing";
  std::cout << fmt::format("healed member caught up {:.1f} s after healing\n", seconds_since(started));
}

// The keys a watch delivered, for the test thread to wait on.
class WatchedKeys {
 public:
  store::WatchCallback callback() {
    return [this](const std::vector<store::WatchEvent>& events) {
      std::lock_guard lock(mutex_);
      for (const auto& event : events) keys_.insert(event.kv.key);
      changed_.notify_all();
    };
  }
  bool wait_for(const std::string& key, std::chrono::seconds timeout) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return keys_.contains(key); });
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::set<std::string> keys_;
};

TEST_F(EtcdAcrossHosts, AWatchOnACutOffMemberMovesToTheMajority) {
  const TestHosts& hosts = *hosts_;
  auto leader = cluster_->wait_for_leader({0, 1, 2}, {0, 1, 2}, 10s);
  ASSERT_TRUE(leader) << leader.error().message;
  const int cut = *leader;
  std::vector<int> majority;
  std::vector<int> majority_hosts;
  std::vector<std::string> cut_first = {cluster_->endpoint(cut)};
  std::vector<std::string> majority_endpoints;
  for (int member = 0; member < 3; ++member) {
    if (member == cut) continue;
    majority.push_back(member);
    majority_hosts.push_back(cluster_->member_host(member));
    cut_first.push_back(cluster_->endpoint(member));
    majority_endpoints.push_back(cluster_->endpoint(member));
  }
  const EtcdClient watcher(cut_first, kRequestTimeout);  // its watches start on the first endpoint
  const EtcdClient writer(majority_endpoints, kRequestTimeout);
  // Started on the client host (the watch's thread and sockets stay there) from `revision` on, so a
  // write made before the stream is established is delivered too.
  const auto watch_from_client = [&](WatchedKeys& keys, std::int64_t revision) {
    std::unique_ptr<store::EtcdWatch> watch;
    EXPECT_TRUE(
        hosts.run_inside(kClientHost, [&] { watch = watcher.watch_prefix("/watched/", revision, keys.callback()); }));
    return watch;
  };

  // Cut off from its peers, reachable by the client: the member sees no new revision.
  WatchedKeys first_keys;
  const auto before = from_client(hosts, [&] { return writer.put("/watched/before", "1"); });
  ASSERT_TRUE(before) << before.error().message;
  auto first = watch_from_client(first_keys, *before);
  ASSERT_TRUE(first_keys.wait_for("/watched/before", 10s));
  ASSERT_TRUE(hosts_->partition({cluster_->member_host(cut)}, majority_hosts));
  ASSERT_TRUE(cluster_->wait_for_leader(majority, majority, 15s));
  auto started = Clock::now();
  ASSERT_TRUE(from_client(hosts, [&] { return writer.put("/watched/partitioned", "2"); }));
  EXPECT_TRUE(first_keys.wait_for("/watched/partitioned", 30s))
      << "a watch on the member cut off from its peers never delivered the majority's write";
  std::cout << fmt::format("watch on a member cut off from its peers: the majority's write after {:.1f} s\n",
                           seconds_since(started));
  first->stop();

  // Unreachable for the client too: the stream just goes quiet.
  ASSERT_TRUE(hosts_->heal());
  ASSERT_TRUE(cluster_->wait_for_leader({0, 1, 2}, {0, 1, 2}, 15s));
  WatchedKeys second_keys;
  const auto healed = from_client(hosts, [&] { return writer.put("/watched/healed", "3"); });
  ASSERT_TRUE(healed) << healed.error().message;
  auto second = watch_from_client(second_keys, *healed);
  ASSERT_TRUE(second_keys.wait_for("/watched/healed", 10s));
  ASSERT_TRUE(hosts_->isolate(cluster_->member_host(cut)));
  ASSERT_TRUE(cluster_->wait_for_leader(majority, majority, 15s));
  started = Clock::now();
  ASSERT_TRUE(from_client(hosts, [&] { return writer.put("/watched/isolated", "4"); }));
  EXPECT_TRUE(second_keys.wait_for("/watched/isolated", 30s))
      << "a watch on an unreachable member never delivered the majority's write";
  std::cout << fmt::format("watch on an unreachable member: the majority's write after {:.1f} s\n",
                           seconds_since(started));
  second->stop();
}

// What the first host's controller and agent do: started with their own member only, they learn the others
// (follow_members) and keep etcd, and their watches, when their member stops.
TEST_F(EtcdAcrossHosts, AClientGivenOneMemberLearnsTheOthersAndOutlivesItsMember) {
  const TestHosts& hosts = *hosts_;
  const EtcdClient own_member_only({cluster_->endpoint(0) + "/"}, kRequestTimeout);
  const EtcdClient copy_made_before(own_member_only);  // the daemons' stores and elections hold copies
  const auto learnt = from_client(hosts, [&] { return own_member_only.follow_members(); });
  ASSERT_TRUE(learnt) << learnt.error().message;
  EXPECT_TRUE(*learnt);
  EXPECT_EQ(copy_made_before.endpoints(), cluster_->endpoints());  // the given one first, then the others
  const auto again = from_client(hosts, [&] { return own_member_only.follow_members(); });
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_FALSE(*again);

  WatchedKeys keys;
  const auto before = from_client(hosts, [&] { return copy_made_before.put("/followed/before", "1"); });
  ASSERT_TRUE(before) << before.error().message;
  std::unique_ptr<store::EtcdWatch> watch;
  ASSERT_TRUE(hosts.run_inside(kClientHost,
                               [&] { watch = own_member_only.watch_prefix("/followed/", *before, keys.callback()); }));
  ASSERT_TRUE(keys.wait_for("/followed/before", 10s));

  cluster_->kill(0);
  ASSERT_TRUE(cluster_->wait_for_leader({1, 2}, {1, 2}, 15s));
  const auto started = Clock::now();
  const auto after = from_client(hosts, [&] { return copy_made_before.put("/followed/after", "2"); });
  ASSERT_TRUE(after) << after.error().message;
  const auto read_back = from_client(hosts, [&] { return value_of(own_member_only, "/followed/after"); });
  ASSERT_TRUE(read_back) << read_back.error().message;
  EXPECT_EQ(*read_back, "2");
  EXPECT_TRUE(keys.wait_for("/followed/after", 30s)) << "the watch did not move to a learnt member";
  std::cout << fmt::format("given member killed: write, read and watch through the learnt ones after {:.1f} s\n",
                           seconds_since(started));
  watch->stop();
}

}  // namespace
}  // namespace pgstack::testing
