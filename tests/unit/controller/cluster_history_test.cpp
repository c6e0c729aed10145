// A cluster's history: Patroni's timeline switches joined with the switchovers pgstack asked for.
#include "controller/cluster_history.h"

#include <gtest/gtest.h>

#include "common/time.h"

namespace pgstack::controller {
namespace {

using model::Json;

SwitchoverRecord asked(const std::string& at, const std::string& done, const std::string& to, double seconds,
                       const std::string& error = "") {
  return {at, done, "demo-0", to, "user alice (REST API)", seconds, error};
}

TEST(ClusterHistory, TheEndOfAPointInTimeRestoreIsARestoreNotAFailover) {
  // As Patroni keeps it for a cluster restored to a time: the backup's timelines (no time, no leader),
  // then the restore's promotion, at the recovery target Postgres reached.
  const Json patroni = Json::parse(R"([
    [1, 117440672, "no recovery target specified"],
    [5, 184549536, "no recovery target specified"],
    [6, 268436632, "before 2026-12-08 03:49:19.258849+00", "2026-12-08T03:49:49.998222+00:00", "pitr-0"],
    [7, 285213856, "no recovery target specified", "2026-12-08T05:00:00.000+00:00", "pitr-1"]])");
  const Json history = cluster_history(patroni, {}, Json::array(), "demo-20261208034854");
  ASSERT_EQ(history["items"].size(), 2U) << history.dump();
  const Json& restore = history["items"][1];
  EXPECT_EQ(restore["kind"], "restore");
  EXPECT_EQ(restore["timeline"], 7);
  EXPECT_EQ(restore["from"], "backup demo-20261208034854");
  EXPECT_EQ(restore["to"], "pitr-0");
  EXPECT_EQ(restore["requestedBy"], "the SGCluster's initialData.restore");
  EXPECT_TRUE(restore["unavailableSeconds"].is_null());
  EXPECT_NE(restore["reason"].get<std::string>().find("before 2026-12-08 03:49:19.258849+00"), std::string::npos)
      << restore.dump();
  // A later promotion nobody asked for is a failover, as in any cluster.
  EXPECT_EQ(history["items"][0]["kind"], "failover");
  EXPECT_EQ(history["items"][0]["from"], "pitr-0");
}

TEST(ClusterHistory, ARestoreOfEverythingArchivedEndsAtTheRestoredClustersFirstPromotion) {
  const Json patroni = Json::parse(R"([
    [1, 117440672, "no recovery target specified"],
    [2, 134217888, "no recovery target specified", "2026-12-08T04:00:00.000+00:00", "copy-0"]])");
  const Json restored = cluster_history(patroni, {}, Json::array(), "demo-full");
  ASSERT_EQ(restored["items"].size(), 1U);
  EXPECT_EQ(restored["items"][0]["kind"], "restore");
  EXPECT_NE(restored["items"][0]["reason"].get<std::string>().find("the restore from demo-full ended here"),
            std::string::npos);
  // The same history in a cluster that was not restored: a failover.
  EXPECT_EQ(cluster_history(patroni, {})["items"][0]["kind"], "failover");
}

TEST(ClusterHistory, APromotionAskedForIsASwitchoverWithWhoAskedAndHowLongItTook) {
  const Json patroni = Json::parse(R"([
    [1, 50331808, "no recovery target specified", "2026-12-07T09:10:02.100+00:00", "demo-1"],
    [2, 83886240, "no recovery target specified", "2026-12-07T09:20:00.000+00:00", "demo-0"]])");
  const Json history =
      cluster_history(patroni, {asked("2026-12-07T09:10:00.500Z", "2026-12-07T09:10:03.200Z", "demo-1", 2.7)});
  ASSERT_EQ(history["items"].size(), 2U) << history.dump();
  const Json& newest = history["items"][0];
  EXPECT_EQ(newest["kind"], "failover");  // nobody asked for demo-0's promotion
  EXPECT_EQ(newest["timeline"], 3);
  EXPECT_EQ(newest["from"], "demo-1");
  EXPECT_EQ(newest["to"], "demo-0");
  EXPECT_EQ(newest["lsn"], "0/50000A0");
  EXPECT_TRUE(newest["unavailableSeconds"].is_null());
  EXPECT_NE(newest["reason"].get<std::string>().find("the primary was lost"), std::string::npos);
  const Json& oldest = history["items"][1];
  EXPECT_EQ(oldest["kind"], "switchover");
  EXPECT_EQ(oldest["timeline"], 2);
  EXPECT_EQ(oldest["from"], "demo-0");
  EXPECT_EQ(oldest["to"], "demo-1");
  EXPECT_EQ(oldest["requestedBy"], "user alice (REST API)");
  EXPECT_EQ(oldest["unavailableSeconds"], 2.7);
  EXPECT_EQ(oldest["unavailableMeasuredBy"], "switchover request");
}

// After the whole cluster stopped and started, Patroni promotes the old primary again on a new timeline.
TEST(ClusterHistory, ThePrimaryPromotedAgainIsSaidToHaveComeBack) {
  const Json patroni = Json::parse(R"([
    [1, 50331808, "r", "2026-12-07T09:10:02.100+00:00", "demo-0"],
    [2, 83886240, "r", "2026-12-07T11:47:00.000+00:00", "demo-0"]])");
  const Json history = cluster_history(patroni, {});
  ASSERT_EQ(history["items"].size(), 2U) << history.dump();
  const Json& again = history["items"][0];
  EXPECT_EQ(again["kind"], "failover");
  EXPECT_EQ(again["from"], "demo-0");
  EXPECT_EQ(again["to"], "demo-0");
  EXPECT_NE(again["reason"].get<std::string>().find("promoted demo-0 again"), std::string::npos) << again.dump();
  EXPECT_NE(history["items"][1]["reason"].get<std::string>().find("the primary was lost"), std::string::npos);
}

TEST(ClusterHistory, TheOutageAProxySawAroundAPromotionIsItsUnavailability) {
  const Json patroni = Json::parse(R"([
    [1, 50331808, "r", "2026-12-07T09:10:02.100+00:00", "demo-1"],
    [2, 83886240, "r", "2026-12-07T09:20:00.000+00:00", "demo-0"]])");
  // Two proxies saw the failover to demo-0 (the longer counts); one saw the switchover to demo-1. An
  // outage ending on another member, or an hour away, explains nothing.
  const Json outages = Json::parse(R"([
    {"from": "demo-1", "to": "demo-0", "startedAt": "2026-12-07T09:19:58.600Z", "endedAt": "2026-12-07T09:20:00.400Z", "seconds": 1.8},
    {"from": "demo-1", "to": "demo-0", "startedAt": "2026-12-07T09:19:58.300Z", "endedAt": "2026-12-07T09:20:00.450Z", "seconds": 2.15},
    {"from": "demo-1", "to": "demo-2", "startedAt": "2026-12-07T09:19:58.300Z", "endedAt": "2026-12-07T09:20:00.450Z", "seconds": 9},
    {"from": "demo-1", "to": "demo-0", "startedAt": "2026-12-07T08:19:58.300Z", "endedAt": "2026-12-07T08:20:00.450Z", "seconds": 9},
    {"from": "demo-0", "to": "demo-1", "startedAt": "2026-12-07T09:10:01.700Z", "endedAt": "2026-12-07T09:10:02.300Z", "seconds": 0.6},
    {"to": 7, "startedAt": null, "seconds": "x"}, "junk"])");
  const Json history =
      cluster_history(patroni, {asked("2026-12-07T09:10:00.500Z", "2026-12-07T09:10:03.200Z", "demo-1", 2.7)}, outages);
  ASSERT_EQ(history["items"].size(), 2U) << history.dump();
  EXPECT_EQ(history["items"][0]["kind"], "failover");
  EXPECT_EQ(history["items"][0]["unavailableSeconds"], 2.2);  // 2.15, to a tenth
  EXPECT_EQ(history["items"][0]["unavailableMeasuredBy"], "proxy");
  EXPECT_EQ(history["items"][1]["kind"], "switchover");
  EXPECT_EQ(history["items"][1]["unavailableSeconds"], 0.6);  // measured, not the request's 2.7 s
  EXPECT_EQ(history["items"][1]["unavailableMeasuredBy"], "proxy");
}

TEST(ClusterHistory, ARecordFarFromAPromotionOrForAnotherMemberIsNotItsCause) {
  const Json patroni = Json::parse(R"([[1, 1, "r", "2026-12-07T09:10:02+00:00", "demo-1"]])");
  // Asked for an hour before, and asked for another member: neither explains this promotion.
  const Json history =
      cluster_history(patroni, {asked("2026-12-07T08:10:00.000Z", "2026-12-07T08:10:03.000Z", "demo-1", 3),
                                asked("2026-12-07T09:10:00.000Z", "2026-12-07T09:10:03.000Z", "demo-2", 3)});
  ASSERT_EQ(history["items"].size(), 1U);
  EXPECT_EQ(history["items"][0]["kind"], "failover");
}

TEST(ClusterHistory, AFailedSwitchoverIsListedWithItsError) {
  const Json history = cluster_history(
      Json::array(), {asked("2026-12-07T09:10:00.000Z", "2026-12-07T09:11:00.000Z", "demo-1", 60,
                            "Patroni accepted the switchover to demo-1, but it was not the primary within 60 s")});
  ASSERT_EQ(history["items"].size(), 1U);
  EXPECT_EQ(history["items"][0]["kind"], "failed switchover");
  EXPECT_NE(history["items"][0]["reason"].get<std::string>().find("not the primary within 60 s"), std::string::npos);
}

TEST(ClusterHistory, WhatIsNotPatronisHistoryIsReadAsNone) {
  for (const char* text : {"null", "{}", "\"x\"", "[[\"a\"]]", "[[1, 2]]"}) {
    const Json history = cluster_history(Json::parse(text), {});
    EXPECT_TRUE(history["items"].empty()) << text;
  }
}

TEST(ClusterHistory, RecordsRoundTripAndTimesHaveMilliseconds) {
  const SwitchoverRecord record = asked("2026-12-07T09:10:00.500Z", "2026-12-07T09:10:03.200Z", "demo-1", 2.7004);
  const auto back = switchover_record_from(to_json(record));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->requested_by, record.requested_by);
  EXPECT_NEAR(back->seconds, 2.7, 0.001);
  EXPECT_FALSE(switchover_record_from(Json::parse("{}")));
  const auto when = std::chrono::sys_seconds{std::chrono::seconds{1796634000}} + std::chrono::milliseconds{42};
  EXPECT_EQ(utc_millis(when), "2026-12-07T09:00:00.042Z");
}

}  // namespace
}  // namespace pgstack::controller
