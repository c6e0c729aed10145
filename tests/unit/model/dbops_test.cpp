#include "model/dbops.h"

#include <gtest/gtest.h>

namespace pgstack::model {
namespace {

Document document_of(const std::string& spec) {
  return Document{"test", 0,
                  Json{{"apiVersion", "stackgres.io/v1"},
                       {"kind", "SGDbOps"},
                       {"metadata", {{"name", "op"}, {"namespace", "default"}, {"creationTimestamp", "t"}}},
                       {"spec", Json::parse(spec)}}};
}

TEST(IsoDuration, StackGresForms) {
  EXPECT_EQ(parse_iso_duration("PT10M").value(), std::chrono::minutes(10));
  EXPECT_EQ(parse_iso_duration("P0DT0H1M30.5S").value(), std::chrono::milliseconds(90500));
  EXPECT_EQ(parse_iso_duration("P1DT2H").value(), std::chrono::hours(26));
  EXPECT_EQ(parse_iso_duration("P1W").value(), std::chrono::hours(24 * 7));
  for (const char* bad : {"", "P", "PT", "10m", "P1M", "P1Y", "PT1X", "PT1H1", "PTT1H"}) {
    auto parsed = parse_iso_duration(bad);
    EXPECT_FALSE(parsed.ok()) << bad;
  }
  EXPECT_NE(parse_iso_duration("P1M").error().message.find("no fixed length"), std::string::npos);
}

TEST(DbOps, VacuumPerDatabaseInheritsTheTopLevelOptions) {
  auto ops = dbops_from(document_of(
      R"({"sgCluster":"c","op":"vacuum","timeout":"PT5M","maxRetries":2,
          "vacuum":{"full":true,"databases":[{"name":"a"},{"name":"b","full":false,"analyze":false}]}})"));
  ASSERT_TRUE(ops.ok()) << ops.error().message;
  EXPECT_EQ(ops->cluster, "c");
  EXPECT_EQ(ops->timeout, std::chrono::minutes(5));
  EXPECT_EQ(ops->max_retries, 2);
  ASSERT_EQ(ops->vacuum.size(), 2u);
  EXPECT_TRUE(ops->vacuum[0].full);
  EXPECT_TRUE(ops->vacuum[0].analyze);
  EXPECT_FALSE(ops->vacuum[1].full);
  EXPECT_FALSE(ops->vacuum[1].analyze);
  auto all = dbops_from(document_of(R"({"sgCluster":"c","op":"vacuum"})"));
  ASSERT_EQ(all->vacuum.size(), 1u);
  EXPECT_EQ(all->vacuum[0].database, "");
}

TEST(DbOps, StackGresBenchmarkExample) {
  auto ops = dbops_from(document_of(R"({"sgCluster":"c","op":"benchmark","benchmark":{"type":"pgbench",
      "pgbench":{"databaseSize":"1Gi","duration":"P0DT0H10M","concurrentClients":20,"threads":8},
      "connectionType":"primary-service"}})"));
  ASSERT_TRUE(ops.ok()) << ops.error().message;
  EXPECT_EQ(ops->benchmark.database_size_bytes, 1LL << 30);
  EXPECT_EQ(ops->benchmark.duration, std::chrono::minutes(10));
  EXPECT_EQ(ops->benchmark.clients, 20);
  EXPECT_EQ(ops->benchmark.threads, 8);
  EXPECT_EQ(ops->benchmark.mode, "tpcb-like");
  auto replicas = dbops_from(document_of(R"({"sgCluster":"c","op":"benchmark","benchmark":{"type":"pgbench",
      "pgbench":{"databaseSize":"16Mi","duration":"PT10S"},"connectionType":"replicas-service"}})"));
  EXPECT_EQ(replicas->benchmark.mode, "select-only");
  EXPECT_TRUE(replicas->ignored.empty());
  auto sampling = dbops_from(document_of(R"({"sgCluster":"c","op":"benchmark","benchmark":{"type":"sampling"}})"));
  ASSERT_FALSE(sampling.ok());
  EXPECT_NE(sampling.error().message.find("spec.benchmark.type"), std::string::npos);
  auto ignored = dbops_from(document_of(R"({"sgCluster":"c","op":"vacuum","scheduling":{"nodeSelector":{}}})"));
  ASSERT_EQ(ignored->ignored.size(), 1u);
  EXPECT_EQ(ignored->ignored[0].rfind("spec.scheduling:", 0), 0u);
}

TEST(DbOps, BadValuesNameTheField) {
  auto ops = dbops_from(document_of(R"({"sgCluster":"c","op":"vacuum","timeout":"P1M"})"));
  ASSERT_FALSE(ops.ok());
  EXPECT_NE(ops.error().message.find("SGDbOps default/op: spec.timeout"), std::string::npos) << ops.error().message;
  auto custom = dbops_from(document_of(R"({"sgCluster":"c","op":"benchmark","benchmark":{
      "pgbench":{"databaseSize":"16Mi","duration":"PT10S","mode":"custom"}}})"));
  ASSERT_FALSE(custom.ok());
  EXPECT_NE(custom.error().message.find("custom.scripts"), std::string::npos);
  auto repack = dbops_from(
      document_of(R"({"sgCluster":"c","op":"repack","repack":{"databases":[{"name":"a","waitTimeout":"P1Y"}]}})"));
  ASSERT_FALSE(repack.ok());
  EXPECT_NE(repack.error().message.find("spec.repack.databases[0].waitTimeout"), std::string::npos);
}

TEST(DbOps, RestartOptions) {
  auto ops = dbops_from(document_of(
      R"({"sgCluster":"c","op":"restart","restart":{"method":"ReducedImpact","onlyPendingRestart":true}})"));
  EXPECT_EQ(ops->method, "ReducedImpact");
  EXPECT_TRUE(ops->only_pending_restart);
  auto upgrade = dbops_from(
      document_of(R"({"sgCluster":"c","op":"minorVersionUpgrade","minorVersionUpgrade":{"postgresVersion":"15.10"}})"));
  EXPECT_EQ(upgrade->target_postgres_version, "15.10");
}

}  // namespace
}  // namespace pgstack::model
