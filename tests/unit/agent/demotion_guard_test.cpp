#include "agent/demotion_guard.h"

#include <atomic>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <thread>
#include <unistd.h>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/wait.h>

#include "common/http_server.h"

namespace pgstack::agent {
namespace {

using std::chrono::seconds;

TEST(JudgeDemotion, APrimaryDemotedWithoutEtcdIsStoppedAndOneThatLooksFreshOnlyIfEtcdDoesNotAnswer) {
  EXPECT_EQ(judge_demotion(true, "replica", seconds(12), seconds(5)), DemotionVerdict::kStop);
  EXPECT_EQ(judge_demotion(true, "demoted", seconds(5), seconds(5)), DemotionVerdict::kStop);
  // Patroni says it reached etcd just now: a switchover, or its watch cache answering for an etcd it
  // cannot reach (Patroni 3.0.2's etcd3 cache refreshes dcs_last_seen): etcd itself is asked.
  EXPECT_EQ(judge_demotion(true, "replica", seconds(1), seconds(5)), DemotionVerdict::kStopUnlessEtcdAnswers);
  EXPECT_EQ(judge_demotion(true, "replica", std::nullopt, seconds(5)), DemotionVerdict::kStopUnlessEtcdAnswers);
  // Still primary (failsafe mode keeps it when every member answers).
  EXPECT_EQ(judge_demotion(true, "master", seconds(30), seconds(5)), DemotionVerdict::kNothing);
  EXPECT_EQ(judge_demotion(true, "primary", seconds(30), seconds(5)), DemotionVerdict::kNothing);
  // Never seen as primary.
  EXPECT_EQ(judge_demotion(false, "replica", seconds(30), seconds(5)), DemotionVerdict::kNothing);
}

TEST(SaysDemotedForLostEtcd, PatronisOwnWordsAndNotFailsafeOrASwitchover) {
  EXPECT_TRUE(says_demoted_for_lost_etcd(
      "2026-12-08 00:51:06,623 INFO: demoting self because DCS is not accessible and I was a leader\n"
      "2026-12-08 00:51:06,623 INFO: Demoting self (offline)\n"));
  EXPECT_TRUE(says_demoted_for_lost_etcd(
      "2026-12-08 00:30:41,912 INFO: updated leader lock during demoting self because DCS is not accessible and I "
      "was a leader\n"));
  EXPECT_FALSE(says_demoted_for_lost_etcd(
      "2026-12-08 00:30:08,901 INFO: continue to run as a leader because failsafe mode is enabled and all members "
      "are accessible\n"));
  EXPECT_FALSE(
      says_demoted_for_lost_etcd("2026-12-08 00:30:44,281 INFO: demoting self because I do not have the lock "
                                 "and I was a leader\n"));
  EXPECT_FALSE(says_demoted_for_lost_etcd(""));
}

// A stand-in for Patroni's REST API and a real process that plays its daemon: the guard reads the first,
// signals the second.
class DemotionGuardThread : public ::testing::Test {
 protected:
  void SetUp() override {
    // Forked before the server's threads exist.
    daemon_ = ::fork();
    ASSERT_GE(daemon_, 0);
    if (daemon_ == 0) {
      ::pause();
      ::_exit(0);
    }
    server_ = std::make_unique<HttpServer>("127.0.0.1", 0, [this](const HttpRequest&) {
      const auto now = std::chrono::duration_cast<seconds>(std::chrono::system_clock::now().time_since_epoch());
      const std::string body =
          fmt::format(R"({{"role": "{}", "dcs_last_seen": {}}})", primary_.load() ? "master" : "replica",
                      (now - seconds(etcd_unseen_for_.load())).count());
      return HttpReply{200, "application/json", body, {}};
    });
    ASSERT_TRUE(server_->start().ok());
  }
  void TearDown() override {
    if (daemon_ > 0) {
      ::kill(daemon_, SIGKILL);
      ::waitpid(daemon_, nullptr, 0);
    }
  }
  DemotionGuard::Watched watched() const {
    const auto identity = read_process_identity(daemon_);
    return {fmt::format("http://127.0.0.1:{}/patroni", server_->port()), identity.value_or(ProcessIdentity{}), SIGTERM,
            log_};
  }
  bool daemon_ended_within(std::chrono::milliseconds limit) const {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (::waitpid(daemon_, &status, WNOHANG) == daemon_) return WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  }

  std::atomic<bool> primary_{true};
  std::atomic<int> etcd_unseen_for_{0};
  std::atomic<bool> etcd_answers_{true};
  std::atomic<int> etcd_asked_{0};
  std::function<bool()> etcd_probe() {
    return [this] {
      ++etcd_asked_;
      return etcd_answers_.load();
    };
  }
  std::unique_ptr<HttpServer> server_;
  pid_t daemon_ = 0;
  std::filesystem::path log_;
};

TEST_F(DemotionGuardThread, StopsAPatroniThatDemotedItsPrimaryWithoutEtcd) {
  DemotionGuard guard(seconds(5), etcd_probe(), std::chrono::milliseconds(20));
  guard.watch({{"default/demo/demo-0", watched()}});
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // seen as primary
  etcd_unseen_for_ = 12;
  primary_ = false;
  ASSERT_TRUE(daemon_ended_within(std::chrono::seconds(5)));
  daemon_ = 0;
  EXPECT_EQ(guard.take_stopped(), std::vector<std::string>{"default/demo/demo-0"});
  EXPECT_TRUE(guard.take_stopped().empty());
}

TEST_F(DemotionGuardThread, LeavesASwitchedOverPrimaryAndAReplicaAlone) {
  DemotionGuard guard(seconds(5), etcd_probe(), std::chrono::milliseconds(20));
  guard.watch({{"default/demo/demo-0", watched()}});
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  primary_ = false;  // a switchover: etcd seen just now, and etcd answers
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ(etcd_asked_.load(), 1);
  etcd_answers_ = false;
  etcd_unseen_for_ = 12;  // later cut off, as a replica
  EXPECT_FALSE(daemon_ended_within(std::chrono::milliseconds(500)));
  EXPECT_TRUE(guard.take_stopped().empty());
}

// What CI's run did: Patroni's etcd3 watch cache kept dcs_last_seen fresh while the host was cut off.
TEST_F(DemotionGuardThread, StopsADemotedPatroniThatLooksInTouchWhenEtcdDoesNotAnswer) {
  DemotionGuard guard(seconds(5), etcd_probe(), std::chrono::milliseconds(20));
  guard.watch({{"default/demo/demo-0", watched()}});
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ(etcd_asked_.load(), 0) << "etcd is asked only about a demotion";
  etcd_answers_ = false;
  primary_ = false;  // dcs_last_seen stays fresh
  ASSERT_TRUE(daemon_ended_within(std::chrono::seconds(5)));
  daemon_ = 0;
  EXPECT_EQ(etcd_asked_.load(), 1);
  EXPECT_EQ(guard.take_stopped(), std::vector<std::string>{"default/demo/demo-0"});
}

// What bench/multihost/soak saw: the partition healed within seconds of the election, so etcd answered by the
// time the role check would ask. Patroni's log said why it demoted before any of that; an older line of the
// same words (before the guard watched) is not news.
TEST_F(DemotionGuardThread, StopsAPatroniWhoseLogSaysItDemotedForLackOfEtcdEvenWhenEtcdAnswersAgain) {
  const std::filesystem::path directory =
      std::filesystem::temp_directory_path() /
      fmt::format("pgstack-guard-{}-{}", ::getpid(), ::testing::UnitTest::GetInstance()->random_seed());
  std::filesystem::create_directories(directory);
  log_ = directory / "patroni.log";
  const auto append = [&](const std::string& line) {
    std::ofstream out(log_, std::ios::app);
    out << line << "\n";
  };
  append("2026-12-08 00:10:00,000 INFO: demoting self because DCS is not accessible and I was a leader");
  DemotionGuard guard(seconds(5), etcd_probe(), std::chrono::milliseconds(20));
  guard.watch({{"default/demo/demo-0", watched()}});
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_FALSE(daemon_ended_within(std::chrono::milliseconds(100))) << "a line from before the guard watched";
  // Written in two pieces, the guard reading in between: the line counts once it is whole.
  {
    std::ofstream out(log_, std::ios::app);
    out << "2026-12-08 00:51:06,623 INFO: demoting self because DCS is not acc" << std::flush;
  }
  EXPECT_FALSE(daemon_ended_within(std::chrono::milliseconds(200)));
  append("essible and I was a leader");
  ASSERT_TRUE(daemon_ended_within(std::chrono::seconds(5)));
  daemon_ = 0;
  EXPECT_EQ(etcd_asked_.load(), 0) << "Patroni's word needs no answer from etcd";
  EXPECT_EQ(guard.take_stopped(), std::vector<std::string>{"default/demo/demo-0"});
  std::filesystem::remove_all(directory);
}

}  // namespace
}  // namespace pgstack::agent
