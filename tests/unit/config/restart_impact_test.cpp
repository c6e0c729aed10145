#include "config/restart_impact.h"

#include <gtest/gtest.h>

namespace pgstack::config {
namespace {

model::ParameterCatalog catalog15() {
  auto spec = [](const char* name, const char* context) {
    model::ParameterSpec parameter;
    parameter.name = name;
    parameter.context = context;
    return parameter;
  };
  std::vector<model::ParameterSpec> parameters;
  // The contexts pg_settings of Postgres 15 reports for the parameters tuning sets.
  for (const char* name :
       {"shared_buffers", "max_connections", "max_wal_senders", "max_worker_processes", "max_parallel_workers",
        "shared_preload_libraries", "max_locks_per_transaction", "max_replication_slots", "max_prepared_transactions",
        "huge_pages", "wal_level", "max_wal_size", "track_activity_query_size"})
    parameters.push_back(spec(name, "postmaster"));
  for (const char* name : {"work_mem", "maintenance_work_mem", "effective_cache_size", "random_page_cost"})
    parameters.push_back(spec(name, "user"));
  return model::ParameterCatalog(15, "15.18", parameters);
}

ClusterTuningInputs inputs(int instances, std::int64_t memory_bytes) {
  ClusterTuningInputs out;
  out.cluster.name = "demo";
  out.cluster.instances = instances;
  out.cluster.volume_size = "10Gi";
  out.profile = model::default_instance_profile();
  out.profile.memory_bytes = memory_bytes;
  out.postgres_major = 15;
  out.postgres_version = "15.18";
  return out;
}

TEST(RestartImpact, ScalingWithinTheSendersFloorChangesNothing) {
  const auto catalog = catalog15();
  const RestartImpact impact = assess_restart(inputs(1, 2LL << 30), inputs(2, 2LL << 30), &catalog);
  EXPECT_FALSE(impact.restart_required);
  EXPECT_TRUE(impact.parameters.empty());
  EXPECT_TRUE(impact.reasons.empty());
}

TEST(RestartImpact, MoreMemoryResizesSharedBuffersWhichNeedsARestart) {
  const auto catalog = catalog15();
  const RestartImpact impact = assess_restart(inputs(1, 2LL << 30), inputs(1, 4LL << 30), &catalog);
  EXPECT_TRUE(impact.restart_required);
  bool shared_buffers = false;
  for (const auto& change : impact.parameters) {
    if (change.name != "shared_buffers") continue;
    shared_buffers = true;
    EXPECT_EQ(change.before, "512MB");
    EXPECT_EQ(change.after, "1GB");
    EXPECT_EQ(change.context, "postmaster");
    EXPECT_TRUE(change.needs_restart);
  }
  EXPECT_TRUE(shared_buffers);
  ASSERT_FALSE(impact.reasons.empty());
  bool named = false;
  for (const auto& reason : impact.reasons)
    named = named || reason == "shared_buffers changes from 512MB to 1GB (context postmaster: needs a restart)";
  EXPECT_TRUE(named);
}

TEST(RestartImpact, AUserParameterReloadsAndAnUnknownOneIsTakenToNeedARestart) {
  const auto catalog = catalog15();
  auto before = inputs(1, 2LL << 30);
  auto after = before;
  after.cluster.inline_postgres_parameters = {{"work_mem", "64MB"}};
  RestartImpact impact = assess_restart(before, after, &catalog);
  ASSERT_EQ(impact.parameters.size(), 1u);
  EXPECT_EQ(impact.parameters[0].name, "work_mem");
  EXPECT_EQ(impact.parameters[0].context, "user");
  EXPECT_FALSE(impact.restart_required);

  after.cluster.inline_postgres_parameters = {{"pg_stat_statements.max", "10000"}};
  impact = assess_restart(before, after, &catalog);
  EXPECT_TRUE(impact.restart_required);
  // Without a catalogue every change is taken to need one: a restart is never missed.
  after.cluster.inline_postgres_parameters = {{"work_mem", "64MB"}};
  EXPECT_TRUE(assess_restart(before, after, nullptr).restart_required);
}

TEST(RestartImpact, AVersionChangeNeedsARestart) {
  const auto catalog = catalog15();
  auto before = inputs(1, 2LL << 30);
  auto after = before;
  after.postgres_version = "15.19";
  RestartImpact impact = assess_restart(before, after, &catalog);
  EXPECT_TRUE(impact.restart_required);
  ASSERT_EQ(impact.reasons.size(), 1u);
  EXPECT_EQ(impact.reasons[0], "the Postgres version changes from 15.18 to 15.19: its new binaries start");
}

TEST(RestartImpact, ParameterChangesListAddedAndRemovedOnes) {
  const auto changes =
      postgres_parameter_changes({{"a", "1", ""}, {"b", "2", ""}}, {{"b", "3", ""}, {"c", "4", ""}}, nullptr);
  ASSERT_EQ(changes.size(), 3u);
  EXPECT_EQ(changes[0].name, "a");
  EXPECT_EQ(changes[0].after, "");
  EXPECT_EQ(changes[1].before, "2");
  EXPECT_EQ(changes[1].after, "3");
  EXPECT_EQ(changes[2].before, "");
  EXPECT_TRUE(changes[2].needs_restart);
}

}  // namespace
}  // namespace pgstack::config
