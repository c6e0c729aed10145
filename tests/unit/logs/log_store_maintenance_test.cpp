#include "logs/log_store_maintenance.h"

#include <gtest/gtest.h>

namespace pgstack::logs {
namespace {

using namespace std::chrono_literals;

TEST(LogStoreRoles, CreatesBothRolesIdempotentlyWithTheirPasswordsQuoted) {
  const std::string sql = render_log_store_roles("writer'secret", "readersecret");
  EXPECT_NE(sql.find("IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'pgstack_log_writer')"), std::string::npos);
  EXPECT_NE(sql.find("IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'pgstack_log_reader')"), std::string::npos);
  EXPECT_NE(sql.find("ALTER ROLE pgstack_log_writer WITH LOGIN NOSUPERUSER"), std::string::npos);
  EXPECT_NE(sql.find("PASSWORD 'writer''secret'"), std::string::npos);
  EXPECT_NE(sql.find("PASSWORD 'readersecret'"), std::string::npos);
}

TEST(LogStoreRoles, GrantsTheWriterInsertsAndItsOffsetsAndTheReaderSelectsOnly) {
  const std::string sql = render_log_store_roles("w", "r");
  // Everything revoked first, then exactly these.
  EXPECT_LT(sql.find("REVOKE ALL ON ALL TABLES IN SCHEMA public FROM PUBLIC, pgstack_log_writer, pgstack_log_reader"),
            sql.find("GRANT INSERT ON log_postgres, log_patroni, log_pgstack TO pgstack_log_writer"));
  EXPECT_NE(sql.find("GRANT SELECT, INSERT, UPDATE, DELETE ON log_ingest_state TO pgstack_log_writer"),
            std::string::npos);
  EXPECT_NE(
      sql.find(
          "GRANT USAGE ON SEQUENCE log_postgres_id_seq, log_patroni_id_seq, log_pgstack_id_seq TO pgstack_log_writer"),
      std::string::npos);
  EXPECT_NE(sql.find("GRANT INSERT ON log_quarantine TO pgstack_log_writer"), std::string::npos);
  EXPECT_NE(sql.find("GRANT SELECT ON log_postgres, log_patroni, log_pgstack, log_quarantine TO pgstack_log_reader"),
            std::string::npos);
  EXPECT_EQ(sql.find("TO pgstack_log_reader;\nGRANT INSERT"), std::string::npos);
  EXPECT_EQ(sql.find("log_ingest_state TO pgstack_log_reader"), std::string::npos);
}

TEST(LogRetentionPlan, WithoutClustersKeepsTheDefault) {
  const RetentionPlan plan = plan_log_retention({});
  EXPECT_EQ(plan.partitions, std::chrono::seconds(7 * 24h));
  EXPECT_TRUE(plan.trims.empty());
}

TEST(LogRetentionPlan, PartitionsFollowTheLongestAndShorterOnesAreTrimmed) {
  const RetentionPlan plan = plan_log_retention({{"default", "a", std::chrono::seconds(30 * 24h)},
                                                 {"default", "b", std::chrono::seconds(24h)},
                                                 {"other", "c", std::nullopt}});
  EXPECT_EQ(plan.partitions, std::chrono::seconds(30 * 24h));
  const std::vector<RetentionPlan::Trim> expected = {{"default", "b", std::chrono::seconds(24h)},
                                                     {"other", "c", std::chrono::seconds(7 * 24h)}};
  EXPECT_EQ(plan.trims, expected);
}

TEST(LogRetentionPlan, AShortRetentionOfEveryClusterShortensThePartitions) {
  const RetentionPlan plan =
      plan_log_retention({{"default", "a", std::chrono::seconds(12h)}, {"default", "b", std::chrono::seconds(24h)}});
  EXPECT_EQ(plan.partitions, std::chrono::seconds(24h));
  ASSERT_EQ(plan.trims.size(), 1u);
  EXPECT_EQ(plan.trims[0].cluster, "a");
}

TEST(LogStoreStatements, TrimIsBoundedAndNamesTheCluster) {
  EXPECT_EQ(render_trim_cluster_logs("log_postgres", "default", "o'brien", std::chrono::seconds(86400), 5000),
            "WITH deleted AS (DELETE FROM log_postgres WHERE id IN (SELECT id FROM log_postgres WHERE namespace = "
            "'default' AND cluster = 'o''brien' AND log_time < now() - interval '86400 seconds' LIMIT 5000) "
            "RETURNING 1) SELECT count(*) FROM deleted");
}

TEST(LogStoreStatements, DeletingAClusterTakesItsLinesAndOffsetsAndMarksItInOneTransaction) {
  EXPECT_EQ(render_delete_cluster_logs("default", "demo", "u-1"),
            "BEGIN; SET LOCAL lock_timeout = '20s'; LOCK TABLE log_deleted_clusters IN ACCESS EXCLUSIVE MODE; "
            "INSERT INTO log_deleted_clusters (namespace, cluster, uid) VALUES ('default', 'demo', 'u-1') ON CONFLICT "
            "DO NOTHING; DELETE FROM log_postgres WHERE namespace = 'default' AND cluster = 'demo'; DELETE FROM "
            "log_patroni WHERE namespace = 'default' AND cluster = 'demo'; DELETE FROM log_pgstack WHERE namespace = "
            "'default' AND cluster = 'demo'; DELETE FROM log_quarantine WHERE namespace = 'default' AND cluster = "
            "'demo'; DELETE FROM log_ingest_state WHERE namespace = 'default' AND cluster = 'demo'; COMMIT");
}

TEST(LogStoreStatements, QuarantineKeepsRowsAsLongAsTheStoreAndAShorterClusterAsLongAsItAsks) {
  RetentionPlan plan;
  plan.partitions = std::chrono::seconds(7 * 24h);
  EXPECT_EQ(render_trim_quarantine(plan),
            "DELETE FROM log_quarantine WHERE quarantined_at < now() - interval '604800 seconds'");
  plan.trims.push_back({"team-a", "o'brien", std::chrono::seconds(1h)});
  EXPECT_EQ(render_trim_quarantine(plan),
            "DELETE FROM log_quarantine WHERE quarantined_at < now() - interval '604800 seconds' OR (namespace = "
            "'team-a' AND cluster = 'o''brien' AND quarantined_at < now() - interval '3600 seconds')");
}

model::Document cluster_document(const std::string& ns, const std::string& name, model::Json distributed_logs) {
  model::Document document{"test", 0, {{"kind", "SGCluster"}, {"metadata", {{"name", name}, {"namespace", ns}}}}};
  document.body["spec"] = {{"instances", 1}};
  if (!distributed_logs.is_null()) document.body["spec"]["distributedLogs"] = distributed_logs;
  return document;
}

TEST(LogStoreUsers, ReferencesInTheSameOrAnotherNamespaceCountWithTheirRetention) {
  const std::vector<model::Document> clusters = {
      cluster_document("default", "a", {{"sgDistributedLogs", "logs"}, {"retention", "2 days"}}),
      cluster_document("team", "b", {{"sgDistributedLogs", "default.logs"}}),
      cluster_document("team", "c", {{"sgDistributedLogs", "logs"}}),  // team/logs, another store
      cluster_document("default", "d", nullptr),
  };
  const std::vector<ClusterLogRetention> expected = {{"default", "a", std::chrono::seconds(2 * 24h)},
                                                     {"team", "b", std::nullopt}};
  EXPECT_EQ(clusters_using_store(clusters, {"default", "logs"}), expected);
}

TEST(LogStoreUsers, RetentionIsSaidInTheLargestWholeUnit) {
  EXPECT_EQ(format_log_retention(std::chrono::seconds(7 * 24h)), "7 days");
  EXPECT_EQ(format_log_retention(std::chrono::seconds(1h)), "1 hour");
  EXPECT_EQ(format_log_retention(std::chrono::seconds(90min)), "90 minutes");
  EXPECT_EQ(format_log_retention(std::chrono::seconds(30)), "30 seconds");
}

TEST(LogStoreStatements, ADayPartitionTakesTheLinesDefaultHoldsForItsDay) {
  const std::string sql =
      render_create_day_partition_from_default("log_patroni", std::chrono::sys_days(std::chrono::year{2026} / 12 / 31));
  EXPECT_EQ(sql,
            "BEGIN;\n"
            "LOCK TABLE log_patroni_default IN SHARE ROW EXCLUSIVE MODE;\n"
            "CREATE TABLE IF NOT EXISTS log_patroni_20261231 (LIKE log_patroni INCLUDING DEFAULTS);\n"
            "WITH moved AS (DELETE FROM log_patroni_default WHERE log_time >= '2026-12-31 00:00:00+00' AND log_time < "
            "'2027-01-01 00:00:00+00' RETURNING *)\n"
            "  INSERT INTO log_patroni_20261231 SELECT * FROM moved;\n"
            "ALTER TABLE log_patroni ATTACH PARTITION log_patroni_20261231 FOR VALUES FROM ('2026-12-31 00:00:00+00') "
            "TO ('2027-01-01 00:00:00+00');\n"
            "COMMIT;\n");
}

TEST(LogStoreStatements, PartitionsAreListedAndDroppedByName) {
  EXPECT_NE(render_list_partitions("log_patroni").find("to_regclass('log_patroni')"), std::string::npos);
  EXPECT_EQ(render_drop_partition("log_patroni_20261101"), "DROP TABLE IF EXISTS \"log_patroni_20261101\"");
}

}  // namespace
}  // namespace pgstack::logs
