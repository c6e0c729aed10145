#include "controller/reconcile/log_store_step.h"

#include <gtest/gtest.h>

namespace pgstack::controller {
namespace {

using model::Json;

model::Document distributed_logs(Json spec) {
  return {"test",
          0,
          {{"apiVersion", "stackgres.io/v1"},
           {"kind", "SGDistributedLogs"},
           {"metadata", {{"name", "logs"}, {"namespace", "team"}}},
           {"spec", std::move(spec)}}};
}

TEST(LogStoreStep, TheStoreClusterTakesItsSizeProfileAndConfigurationAndNothingElse) {
  const Json manifest =
      log_store_cluster_manifest(distributed_logs({{"persistentVolume", {{"size", "2Gi"}, {"storageClass", "fast"}}},
                                                   {"sgInstanceProfile", "small"},
                                                   {"configurations", {{"sgPostgresConfig", "logs-config"}}},
                                                   {"profile", "testing"}}));
  EXPECT_EQ(manifest["metadata"]["name"], "logs");
  EXPECT_EQ(manifest["metadata"]["namespace"], "team");
  EXPECT_EQ(manifest["metadata"]["annotations"]["pgstack.io/distributed-logs"], "logs");
  const Json expected_spec = {{"instances", 1},
                              {"postgres", {{"version", "15"}}},
                              {"pods", {{"persistentVolume", {{"size", "2Gi"}, {"storageClass", "fast"}}}}},
                              {"sgInstanceProfile", "small"},
                              {"configurations", {{"sgPostgresConfig", "logs-config"}}}};
  EXPECT_EQ(manifest["spec"], expected_spec);
}

TEST(LogStoreStep, WithoutProfileOrConfigurationTheDefaultsApply) {
  const Json manifest = log_store_cluster_manifest(distributed_logs({{"persistentVolume", {{"size", "1Gi"}}}}));
  EXPECT_FALSE(manifest["spec"].contains("sgInstanceProfile"));
  EXPECT_FALSE(manifest["spec"].contains("configurations"));
  EXPECT_FALSE(manifest["spec"].contains("distributedLogs"));
}

TEST(LogStoreStep, CreatesUpdatesOrLeavesAClusterOfThatNameAlone) {
  const Json desired = log_store_cluster_manifest(distributed_logs({{"persistentVolume", {{"size", "1Gi"}}}}));
  EXPECT_EQ(decide_log_store_cluster(desired, nullptr), LogStoreClusterAction::kCreate);
  EXPECT_EQ(decide_log_store_cluster(desired, &desired), LogStoreClusterAction::kKeep);
  Json resized = desired;
  resized["spec"]["pods"]["persistentVolume"]["size"] = "5Gi";
  EXPECT_EQ(decide_log_store_cluster(desired, &resized), LogStoreClusterAction::kUpdate);
  Json someone_elses = desired;
  someone_elses["metadata"].erase("annotations");
  EXPECT_EQ(decide_log_store_cluster(desired, &someone_elses), LogStoreClusterAction::kNameTaken);
  someone_elses["metadata"]["annotations"] = {{"pgstack.io/distributed-logs", "other"}};
  EXPECT_EQ(decide_log_store_cluster(desired, &someone_elses), LogStoreClusterAction::kNameTaken);
}

TEST(LogStoreStep, TheAnnotationSaysWhichStoreAClusterRuns) {
  EXPECT_EQ(distributed_logs_of({{"metadata", {{"annotations", {{"pgstack.io/distributed-logs", "logs"}}}}}}), "logs");
  EXPECT_EQ(distributed_logs_of({{"metadata", {{"name", "demo"}}}}), "");
  EXPECT_EQ(distributed_logs_of(Json()), "");
}

const Json kReadyCluster = {{"conditions", Json::array({{{"type", "Ready"}, {"status", "True"}}})}};

LogStoreObservation observation() {
  LogStoreObservation observed;
  observed.store_name = "logs";
  observed.namespace_name = "default";
  observed.cluster_status = kReadyCluster;
  observed.users = {{"default", "demo", std::chrono::seconds(7 * 86400)}};
  LogStoreMaintenanceReport report;
  report.last_run = report.last_success = "2026-12-05T06:00:00Z";
  report.retention = "7 days";
  report.partitions = {{"log_postgres", {"log_postgres_20261205"}}};
  observed.maintenance = report;
  observed.now = "2026-12-05T06:00:10Z";
  return observed;
}

std::string ready_reason(const Json& status) { return status["conditions"][0]["reason"]; }

TEST(LogStoreStep, ReadyOnceTheClusterRunsAndMaintenanceSucceeded) {
  const Json status = log_store_status(observation());
  EXPECT_EQ(status["conditions"][0]["type"], "Ready");
  EXPECT_EQ(status["conditions"][0]["status"], "True");
  EXPECT_EQ(ready_reason(status), "StoreReady");
  EXPECT_EQ(status["connectedClusters"],
            Json::parse(R"([{"namespace":"default","name":"demo","retention":"7 days"}])"));
  EXPECT_EQ(status["partitions"]["log_postgres"][0], "log_postgres_20261205");
  EXPECT_EQ(status["maintenance"]["lastSuccess"], "2026-12-05T06:00:00Z");
  EXPECT_EQ(status["sgCluster"], "logs");
}

TEST(LogStoreStep, EachReasonForNotReadyIsSaid) {
  LogStoreObservation taken = observation();
  taken.cluster_reason = "NameTaken";
  taken.cluster_message = "SGCluster default/logs exists and does not run this store";
  EXPECT_EQ(ready_reason(log_store_status(taken)), "NameTaken");

  LogStoreObservation starting = observation();
  starting.cluster_status = nullptr;
  EXPECT_EQ(ready_reason(log_store_status(starting)), "StoreClusterNotReady");

  LogStoreObservation pending = observation();
  pending.maintenance.reset();
  EXPECT_EQ(ready_reason(log_store_status(pending)), "MaintenancePending");

  LogStoreObservation failing = observation();
  failing.maintenance->error = "cannot connect to the primary of SGCluster default/logs";
  const Json status = log_store_status(failing);
  EXPECT_EQ(ready_reason(status), "MaintenanceFailed");
  EXPECT_EQ(status["conditions"][0]["message"], failing.maintenance->error);
  EXPECT_EQ(status["maintenance"]["error"], failing.maintenance->error);
}

TEST(LogStoreStep, TheTransitionTimeStaysWhileTheConditionDoes) {
  LogStoreObservation first = observation();
  const Json before = log_store_status(first);
  LogStoreObservation later = observation();
  later.previous_status = before;
  later.now = "2026-12-05T07:00:00Z";
  EXPECT_EQ(log_store_status(later)["conditions"][0]["lastTransitionTime"], "2026-12-05T06:00:10Z");
  later.maintenance->error = "failed";
  EXPECT_EQ(log_store_status(later)["conditions"][0]["lastTransitionTime"], "2026-12-05T07:00:00Z");
}

}  // namespace
}  // namespace pgstack::controller
