// What the API commands print: tables, ages, documents, describe.
#include "cli/output.h"

#include <gtest/gtest.h>

#include "cli/api_client.h"

namespace pgstack::cli {
namespace {

using model::Json;
using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

TimePoint at(std::string_view timestamp) { return *parse_timestamp(timestamp); }

TEST(FormatTable, AlignsColumnsThreeSpacesApartWithoutTrailingBlanks) {
  const Table table{{"NAME", "INSTANCES", "AGE"}, {{"demo", "3", "5m"}, {"orders-long-name", "1", ""}}};
  EXPECT_EQ(format_table(table),
            "NAME               INSTANCES   AGE\n"
            "demo               3           5m\n"
            "orders-long-name   1\n");
  EXPECT_EQ(format_table({{"A", "B"}, {{"x"}}}, "  "), "  A   B\n  x\n");
}

TEST(AlertTable, OneRowPerAlertWithClusterAndNamespaceWhenAsked) {
  const std::vector<model::Json> items = {
      model::Json::parse(R"({"name": "PostgresDown", "severity": "critical", "state": "firing", "namespace": "default",
        "cluster": "demo", "instanceName": "demo-0", "host": "h1", "summary": "Postgres demo-0 is unreachable",
        "startsAt": "2026-11-24T01:25:00Z"})"),
      model::Json::parse(R"({"name": "DiskSpaceLow", "severity": "warning", "state": "suppressed", "host": "h1",
        "summary": "/ on host h1 has 15% free", "startsAt": "2026-11-24T00:00:00Z"})")};
  const TimePoint now = at("2026-11-24T01:30:00Z");
  EXPECT_EQ(format_table(alert_table(items, false, false, now)),
            "ALERT          SEVERITY   STATE        INSTANCE   SINCE   SUMMARY\n"
            "PostgresDown   critical   firing       demo-0     5m      Postgres demo-0 is unreachable\n"
            "DiskSpaceLow   warning    suppressed   h1         90m     / on host h1 has 15% free\n");
  const Table wide = alert_table(items, true, true, now);
  EXPECT_EQ(wide.header.front(), "NAMESPACE");
  EXPECT_EQ(wide.rows[0][0], "default");
  EXPECT_EQ(wide.rows[0][1], "demo");
  EXPECT_EQ(wide.rows[1][0], "-");  // a host's alert belongs to no cluster
}

TEST(HostTable, FactsMembersAndWhenTheHostLastReported) {
  const std::vector<model::Json> items = {
      model::Json::parse(R"({"name": "host-a", "status": "Ready", "address": "10.77.0.11", "cpus": 2,
        "labels": {"zone": "a", "disk": "ssd"},
        "memoryBytes": 25769803776, "freeDiskBytes": 53687091200, "reportedAt": "2026-11-24T01:29:40Z",
        "members": ["default/demo/demo-0", "default/demo/demo-1"]})"),
      model::Json::parse(R"({"name": "host-c", "status": "Lost", "members": ["default/demo/demo-2"]})")};
  const TimePoint now = at("2026-11-24T01:30:00Z");
  EXPECT_EQ(format_table(host_table(items, false, now)),
            "NAME     STATUS   ADDRESS      CPUS   MEMORY    FREE-DISK   MEMBERS   REPORTED\n"
            "host-a   Ready    10.77.0.11   2      24.0GiB   50.0GiB     2         20s ago\n"
            "host-c   Lost     -            -      -         -           1         -\n");
  const Table wide = host_table(items, true, now);
  EXPECT_EQ(wide.header.back(), "MEMBER-NAMES");
  EXPECT_EQ(wide.rows[0].back(), "default/demo/demo-0,default/demo/demo-1");
  EXPECT_EQ(wide.rows[0][wide.rows[0].size() - 2], "disk=ssd,zone=a");
  EXPECT_EQ(wide.rows[1][wide.rows[1].size() - 2], "-");
}

TEST(FormatAge, FollowsKubectl) {
  EXPECT_EQ(format_age(seconds(0)), "0s");
  EXPECT_EQ(format_age(seconds(-1)), "0s");
  EXPECT_EQ(format_age(seconds(-5)), "<invalid>");
  EXPECT_EQ(format_age(seconds(119)), "119s");
  EXPECT_EQ(format_age(seconds(200)), "3m20s");
  EXPECT_EQ(format_age(minutes(5)), "5m");
  EXPECT_EQ(format_age(minutes(15)), "15m");
  EXPECT_EQ(format_age(minutes(179)), "179m");
  EXPECT_EQ(format_age(hours(5) + minutes(10)), "5h10m");
  EXPECT_EQ(format_age(hours(30)), "30h");
  EXPECT_EQ(format_age(hours(76)), "3d4h");
  EXPECT_EQ(format_age(hours(24 * 120)), "120d");
  EXPECT_EQ(format_age(hours(24 * (365 * 2 + 50))), "2y50d");
  EXPECT_EQ(format_age(hours(24 * 365 * 9)), "9y");
}

TEST(ParseTimestamp, Rfc3339WithFractionsAndOffsets) {
  const auto base = parse_timestamp("2026-11-24T01:30:00Z");
  ASSERT_TRUE(base.has_value());
  EXPECT_EQ(parse_timestamp("2026-11-24T01:30:00.123456Z"), base);
  EXPECT_EQ(parse_timestamp("2026-11-24T02:30:00+01:00"), base);
  EXPECT_EQ(parse_timestamp("2026-11-23T23:30:00-02:00"), base);
  EXPECT_EQ(std::chrono::duration_cast<seconds>(base->time_since_epoch()).count(), 1795483800);
  EXPECT_FALSE(parse_timestamp("").has_value());
  EXPECT_FALSE(parse_timestamp("yesterday").has_value());
  EXPECT_FALSE(parse_timestamp("2026-13-01T00:00:00Z").has_value());
  EXPECT_FALSE(parse_timestamp("2026-11-24T01:30:00 junk").has_value());
}

TEST(AgeOf, UsesCreationTimestamp) {
  const Json document = {{"metadata", {{"name", "demo"}, {"creationTimestamp", "2026-11-24T01:30:00Z"}}}};
  EXPECT_EQ(age_of(document, at("2026-11-24T01:35:00Z")), "5m");
  EXPECT_EQ(age_of(Json{{"metadata", {{"name", "demo"}}}}, at("2026-11-24T01:35:00Z")), "<unknown>");
}

TEST(ParseOutputFormat, KnowsWideJsonYaml) {
  EXPECT_EQ(*parse_output_format(""), OutputFormat::kTable);
  EXPECT_EQ(*parse_output_format("wide"), OutputFormat::kWide);
  EXPECT_EQ(*parse_output_format("json"), OutputFormat::kJson);
  EXPECT_EQ(*parse_output_format("yaml"), OutputFormat::kYaml);
  EXPECT_FALSE(parse_output_format("table").ok());
}

Json demo_cluster() {
  return Json::parse(R"({
    "apiVersion": "stackgres.io/v1", "kind": "SGCluster",
    "metadata": {"name": "demo", "namespace": "default", "creationTimestamp": "2026-11-24T01:30:00Z",
                 "resourceVersion": "42"},
    "spec": {"instances": 3, "postgres": {"version": "latest"}, "pods": {"persistentVolume": {"size": "5Gi"}}},
    "status": {
      "postgresVersion": "15.18", "instances": 3, "primary": "demo-0",
      "members": [
        {"name": "demo-0", "host": "node-a", "role": "primary", "state": "running", "timeline": 2, "lagBytes": 0,
         "pendingRestart": false},
        {"name": "demo-1", "host": "node-a", "role": "replica", "state": "streaming", "timeline": 2,
         "lagBytes": 3145728, "pendingRestart": true},
        {"name": "demo-2", "host": "node-b", "role": "replica", "state": "starting", "timeline": 1}
      ],
      "endpoints": {"readWrite": ["127.0.0.1:16432", "127.0.0.1:16433"], "readOnly": ["127.0.0.1:16433"]},
      "conditions": [
        {"type": "Ready", "status": "False", "reason": "MemberStarting", "message": "demo-2 is starting",
         "lastTransitionTime": "2026-11-24T01:33:00Z"},
        {"type": "PendingRestart", "status": "True", "reason": "ParameterChanged", "message": "demo-1",
         "lastTransitionTime": "2026-11-24T01:34:00Z"}
      ]
    }})");
}

TEST(ResourceTable, ClusterColumnsLikeKubectl) {
  const auto& kind = **resolve_kind("sgcluster");
  const auto now = at("2026-11-24T01:35:00Z");
  const Json pending =
      Json::parse(R"({"metadata":{"name":"orders"},"spec":{"instances":1,"postgres":{"version":"15"}}})");
  EXPECT_EQ(format_table(resource_table(kind, {demo_cluster(), pending}, false, false, now)),
            "NAME     INSTANCES   VERSION   READY   PRIMARY   AGE\n"
            "demo     3           15.18     2/3     demo-0    5m\n"
            "orders   1           15        0/1     <none>    <unknown>\n");
}

TEST(ResourceTable, WideAddsColumnsAfterAgeAndAllNamespacesAddsNamespaceFirst) {
  const auto& kind = **resolve_kind("sgclusters");
  const Table table = resource_table(kind, {demo_cluster()}, true, true, at("2026-11-24T01:35:00Z"));
  const std::vector<std::string> header = {"NAMESPACE", "NAME", "INSTANCES", "VERSION", "READY",
                                           "PRIMARY",   "AGE",  "STATUS",    "PROFILE", "READ-WRITE"};
  EXPECT_EQ(table.header, header);
  ASSERT_EQ(table.rows.size(), 1u);
  const std::vector<std::string> row = {"default", "demo",
                                        "3",       "15.18",
                                        "2/3",     "demo-0",
                                        "5m",      "MemberStarting",
                                        "default", "127.0.0.1:16432,127.0.0.1:16433"};
  EXPECT_EQ(table.rows[0], row);
}

TEST(ResourceTable, OtherKindsHaveTheirOwnColumns) {
  const auto& profile = **resolve_kind("sginstanceprofile");
  const Json small = Json::parse(R"({"metadata":{"name":"small"},"spec":{"cpu":"2","memory":"4Gi"}})");
  EXPECT_EQ(resource_table(profile, {small}, false, false, TimePoint{}).header,
            (std::vector<std::string>{"NAME", "CPU", "MEMORY", "AGE"}));
  const auto& scripts = **resolve_kind("sgscripts");
  EXPECT_EQ(resource_table(scripts, {}, true, false, TimePoint{}).header, (std::vector<std::string>{"NAME", "AGE"}));
}

TEST(ResourceTable, LogStoresShowTheirReadinessClustersAndRetention) {
  const auto& kind = **resolve_kind("sgdistributedlogs");
  const Json ready = Json::parse(R"({"metadata":{"name":"logs","namespace":"default",
    "creationTimestamp":"2026-11-24T01:30:00Z"},"spec":{"persistentVolume":{"size":"1Gi"}},
    "status":{"conditions":[{"type":"Ready","status":"True","reason":"StoreReady"}],"sgCluster":"logs",
      "connectedClusters":[{"namespace":"default","name":"demo","retention":"7 days"},
                           {"namespace":"shop","name":"orders"}],
      "retention":"7 days","maintenance":{"lastRun":"2026-11-24T01:34:00Z","lastSuccess":"2026-11-24T01:34:00Z"}}})");
  const Json new_store = Json::parse(R"({"metadata":{"name":"fresh"},"spec":{}})");
  const auto now = at("2026-11-24T01:35:00Z");
  EXPECT_EQ(format_table(resource_table(kind, {ready, new_store}, false, false, now)),
            "NAME    READY    STATUS       CLUSTER   CLUSTERS   RETENTION   AGE\n"
            "logs    True     StoreReady   logs      2          7 days      5m\n"
            "fresh   <none>   <none>       <none>    0          <none>      <unknown>\n");
  const Table wide = resource_table(kind, {ready}, true, false, now);
  const std::vector<std::string> header = {"NAME", "READY",     "STATUS", "CLUSTER",    "CLUSTERS", "RETENTION",
                                           "AGE",  "CONNECTED", "VOLUME", "MAINTAINED", "ERROR"};
  EXPECT_EQ(wide.header, header);
  ASSERT_EQ(wide.rows.size(), 1u);
  EXPECT_EQ(wide.rows[0][7], "demo,shop.orders");
  EXPECT_EQ(wide.rows[0][8], "1Gi");
  EXPECT_EQ(wide.rows[0][9], "2026-11-24T01:34:00Z");
  EXPECT_EQ(wide.rows[0][10], "<none>");
}

TEST(FormatDocuments, OneDocumentOrAList) {
  const Json one = Json::parse(R"({"kind":"SGCluster","metadata":{"name":"demo"}})");
  EXPECT_EQ(format_documents({one}, false, OutputFormat::kJson), one.dump(2) + "\n");
  const std::string list = format_documents({one}, true, OutputFormat::kJson);
  const Json parsed = Json::parse(list);
  EXPECT_EQ(parsed["apiVersion"], "v1");
  EXPECT_EQ(parsed["kind"], "List");
  ASSERT_EQ(parsed["items"].size(), 1u);
  EXPECT_EQ(parsed["items"][0], one);
  const Json empty = Json::parse(format_documents({}, true, OutputFormat::kJson));
  EXPECT_TRUE(empty["items"].is_array() && empty["items"].empty());
  const std::string yaml = format_documents({one}, false, OutputFormat::kYaml);
  EXPECT_NE(yaml.find("kind: SGCluster"), std::string::npos) << yaml;
  EXPECT_NE(yaml.find("name: demo"), std::string::npos) << yaml;
  EXPECT_EQ(yaml.back(), '\n');
}

TEST(ReadyMembers, CountsRunningAndStreamingMembers) {
  EXPECT_EQ(ready_members(demo_cluster()), "2/3");
  EXPECT_EQ(ready_members(demo_cluster()["status"]), "2/3");  // a bare status
  EXPECT_EQ(ready_members(Json::parse(R"({"spec":{"instances":2}})")), "0/2");
}

TEST(MemberSummary, OneLineOfProgress) {
  EXPECT_EQ(member_summary(demo_cluster()["status"]),
            "demo-0 primary running, demo-1 replica streaming, demo-2 replica starting; "
            "Ready=False (MemberStarting: demo-2 is starting)");
  EXPECT_EQ(member_summary(Json::object()), "no members yet");
  EXPECT_EQ(member_summary(Json::parse(
                R"({"conditions":[{"type":"Scheduling","status":"True","message":"needs 3 hosts, 1 registered"}]})")),
            "no members yet; Scheduling: needs 3 hosts, 1 registered");
}

TEST(DescribeCluster, SpecMembersLikePatronictlAndConditions) {
  const std::string text = describe_cluster(demo_cluster(), at("2026-11-24T01:35:00Z"));
  EXPECT_NE(text.find("Name:             demo\n"), std::string::npos) << text;
  EXPECT_NE(text.find("Created:          2026-11-24T01:30:00Z (5m ago)\n"), std::string::npos) << text;
  EXPECT_NE(text.find("  Postgres:           latest (running 15.18)\n"), std::string::npos) << text;
  EXPECT_NE(text.find("  Volume:             5Gi\n"), std::string::npos) << text;
  EXPECT_NE(text.find("Members: 2/3 ready, primary demo-0\n"), std::string::npos) << text;
  EXPECT_NE(text.find("  Member   Host     Role      State       TL   Lag in MB   Pending restart\n"
                      "  demo-0   node-a   Primary   running     2\n"
                      "  demo-1   node-a   Replica   streaming   2    3           *\n"
                      "  demo-2   node-b   Replica   starting    1    unknown\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("  Read-write:         127.0.0.1:16432,127.0.0.1:16433\n"), std::string::npos) << text;
  EXPECT_NE(text.find("  Ready            False    MemberStarting     2m    demo-2 is starting\n"), std::string::npos)
      << text;
}

TEST(DescribeCluster, WithoutStatusSaysNothingIsReportedYet) {
  const Json cluster = Json::parse(R"({"metadata":{"name":"new"},"spec":{"instances":2}})");
  const std::string text = describe_cluster(cluster, TimePoint{});
  EXPECT_NE(text.find("Members: 0/2 ready, primary <none>\n  (none reported yet)\n"), std::string::npos) << text;
  EXPECT_NE(text.find("Conditions:\n  (none reported yet)\n"), std::string::npos) << text;
}

TEST(DescribeCluster, MetricsFromPrometheusOrWhyNot) {
  Json cluster = demo_cluster();
  cluster["status"]["metrics"] = Json::parse(
      R"({"tps":42.5,"connections":9,"maxConnections":100,"lagSeconds":{"demo-1":0.5,"demo-2":null},
          "observedAt":"2026-12-05T02:00:00Z"})");
  std::string text = describe_cluster(cluster, TimePoint{});
  EXPECT_NE(text.find("Metrics:\n  TPS:                42.5\n  Connections:        9.0 / 100.0\n"
                      "  Replication Lag:    demo-1 0.5s, demo-2 -\n"),
            std::string::npos)
      << text;
  cluster["status"]["metrics"] = Json::parse(R"({"reason":"monitoring is not configured"})");
  text = describe_cluster(cluster, TimePoint{});
  EXPECT_NE(text.find("Metrics:\n  Not Available:      monitoring is not configured\n"), std::string::npos) << text;
}

TEST(DescribeResource, PrintsTheSpecAsYaml) {
  const auto& profile = **resolve_kind("sginstanceprofile");
  const Json small =
      Json::parse(R"({"metadata":{"name":"small","namespace":"prod"},"spec":{"cpu":"2","memory":"4Gi"}})");
  const std::string text = describe_resource(profile, small, TimePoint{});
  EXPECT_NE(text.find("Namespace:        prod\n"), std::string::npos) << text;
  EXPECT_NE(text.find("Kind:             SGInstanceProfile\n"), std::string::npos) << text;
  EXPECT_NE(text.find("Spec:\n  cpu: "), std::string::npos) << text;
  EXPECT_NE(text.find("  memory: 4Gi\n"), std::string::npos) << text;
}

TEST(Confirm, AssumeYesNeedsNoTerminal) {
  const auto yes = confirm("delete sgcluster demo?", true);
  ASSERT_TRUE(yes.ok());
  EXPECT_TRUE(*yes);
}

Json completed_backup() {
  return Json::parse(R"({
    "kind": "SGBackup",
    "metadata": {"name": "demo-20261124010000", "namespace": "default", "creationTimestamp": "2026-11-24T01:00:00Z"},
    "spec": {"sgCluster": "demo", "managedLifecycle": true},
    "status": {"phase": "Completed", "type": "full", "label": "20261124-010002F",
               "startedAt": "2026-11-24T01:00:02Z", "finishedAt": "2026-11-24T01:01:44Z", "durationSeconds": 102,
               "sizeBytes": 1288490189, "storedBytes": 325058560,
               "lsn": {"start": "0/2000028", "stop": "0/2000138"},
               "wal": {"start": "000000010000000000000002", "stop": "000000010000000000000002"}, "timeline": 1,
               "repository": {"objectStorage": "backups", "path": "/srv/backups/default/demo", "stanza": "default-demo"},
               "repositoryDisk": {"path": "/srv/backups", "freeBytes": 536870912, "totalBytes": 2147483648},
               "verification": {"phase": "Passed", "requestedAt": "2026-11-24T02:00:00Z",
                                "startedAt": "2026-11-24T02:00:01Z", "finishedAt": "2026-11-24T02:01:11Z",
                                "durationSeconds": 70, "timeToUsableSeconds": 42, "message": "3 databases checked"}}
  })");
}

TEST(FormatBytes, BinaryUnitsOneDecimal) {
  EXPECT_EQ(format_bytes(0), "0B");
  EXPECT_EQ(format_bytes(1023), "1023B");
  EXPECT_EQ(format_bytes(1536), "1.5KiB");
  EXPECT_EQ(format_bytes(20.0 * 1024 * 1024), "20.0MiB");
  EXPECT_EQ(format_bytes(1288490189), "1.2GiB");
}

TEST(ResourceTable, BackupColumnsFromTheStatus) {
  const auto& kind = **resolve_kind("sgbackups");
  const Json pending =
      Json::parse(R"({"metadata":{"name":"demo-20261124013000","creationTimestamp":"2026-11-24T01:30:00Z"},
                                       "spec":{"sgCluster":"demo","type":"diff"}})");
  EXPECT_EQ(format_table(resource_table(kind, {completed_backup(), pending}, false, false, at("2026-11-24T01:35:00Z"))),
            "NAME                  CLUSTER   TYPE   PHASE       STARTED                DURATION   SIZE     STORED     "
            "VERIFIED   AGE\n"
            "demo-20261124010000   demo      full   Completed   2026-11-24T01:00:02Z   102s       1.2GiB   310.0MiB   "
            "Passed     35m\n"
            "demo-20261124013000   demo      diff   Pending     <none>                 <none>     <none>   <none>     "
            "<none>     5m\n");
  const Table wide = resource_table(kind, {completed_backup()}, true, false, at("2026-11-24T01:35:00Z"));
  EXPECT_EQ(wide.header.back(), "MESSAGE");
  EXPECT_EQ(wide.rows[0][wide.rows[0].size() - 2], "20261124-010002F");
}

TEST(BackupResult, TypeDurationAndSizes) {
  EXPECT_EQ(backup_result(completed_backup()), "full, 102s, 1.2GiB (stored 310.0MiB)");
  EXPECT_EQ(backup_phase(Json::parse(R"({"metadata":{"name":"x"}})")), "Pending");
}

TEST(BackupName, ClusterAndUtcTimeToTheSecond) {
  EXPECT_EQ(backup_name_at("demo", at("2026-01-02T03:04:05Z")), "demo-20260102030405");
  EXPECT_EQ(backup_name_at("demo", at("2026-01-02T03:04:05.900+01:00")), "demo-20260102020405");
}

TEST(DescribeCluster, BackupsWhenConfigured) {
  Json cluster = demo_cluster();
  EXPECT_EQ(describe_cluster(cluster, TimePoint{}).find("Backups:"), std::string::npos);
  cluster["spec"]["configurations"]["backups"] =
      Json::parse(R"([{"sgObjectStorage":"backups","cronSchedule":"0 2 * * *"}])");
  cluster["status"]["backups"] =
      Json::parse(R"({"last":"demo-20261124020000","lastCompletedAt":"2026-11-24T02:01:42Z","count":3})");
  const std::string text = describe_cluster(cluster, TimePoint{});
  EXPECT_NE(text.find("Backups:\n  Storage:            SGObjectStorage/backups, cron 0 2 * * * (UTC)\n"
                      "  Last Completed:     demo-20261124020000 at 2026-11-24T02:01:42Z\n  Count:              3\n"),
            std::string::npos)
      << text;
}

TEST(DescribeCluster, WalArchivingAndRepositoryDisk) {
  Json cluster = demo_cluster();
  cluster["spec"]["configurations"]["backups"] = Json::parse(R"([{"sgObjectStorage":"backups"}])");
  cluster["status"]["archiving"] = Json::parse(R"({"archivedCount":12,"lastArchivedWal":"000000010000000000000009",
      "lastArchivedTime":"2026-11-24T02:00:00Z","failedCount":0,"failing":false,
      "repositoryDisk":{"path":"/srv/backups","freeBytes":1073741824,"totalBytes":10737418240}})");
  std::string text = describe_cluster(cluster, TimePoint{});
  EXPECT_NE(text.find("  WAL Archiving:      last archived 000000010000000000000009 at 2026-11-24T02:00:00Z (12 "
                      "archived, 0 failed)\n  Repository Disk:    1.0GiB free of 10.0GiB at /srv/backups\n"),
            std::string::npos)
      << text;

  cluster["status"]["archiving"]["failing"] = true;
  cluster["status"]["archiving"]["failedCount"] = 3;
  cluster["status"]["archiving"]["lastFailedTime"] = "2026-11-24T02:05:00Z";
  cluster["status"]["archiving"]["lastFailureMessage"] = "FileWriteError: No space left on device";
  text = describe_cluster(cluster, TimePoint{});
  EXPECT_NE(text.find("(12 archived, 3 failed); FAILING since 2026-11-24T02:05:00Z: FileWriteError: No space left on "
                      "device\n"),
            std::string::npos)
      << text;
}

TEST(DescribeBackup, StatusAndVerificationFieldByField) {
  const std::string text = describe_backup(completed_backup(), at("2026-11-24T03:00:00Z"));
  for (const char* expected : {
           "Kind:             SGBackup\n",
           "Spec:\n  Cluster:            demo\n  Type:               pgBackRest's choice (incr after a full, else "
           "full)\n"
           "  Managed Lifecycle:  true\n",
           "Status: Completed\n  Type:               full\n  Label:              20261124-010002F\n",
           "  Duration:           102s\n  Size:               1.2GiB (stored 310.0MiB)\n",
           "  LSN:                0/2000028 - 0/2000138\n",
           "  Timeline:           1\n",
           "  Repository:         SGObjectStorage/backups, path /srv/backups/default/demo, stanza default-demo\n"
           "  Repository Disk:    512.0MiB free of 2.0GiB at /srv/backups\n",
           "Verification: Passed\n  Requested:          2026-11-24T02:00:00Z\n",
           "  Time to Usable:     42s\n  Message:            3 databases checked\n",
       }) {
    EXPECT_NE(text.find(expected), std::string::npos) << "missing:\n" << expected << "\nin:\n" << text;
  }
  const Json pending = Json::parse(R"({"metadata":{"name":"demo-1"},"spec":{"sgCluster":"demo","type":"full"}})");
  const std::string waiting = describe_backup(pending, TimePoint{});
  EXPECT_NE(waiting.find("Status: Pending\n  (waiting for the agent on the primary's host to start it)\n"),
            std::string::npos)
      << waiting;
  EXPECT_NE(waiting.find("Verification: never (pgstack backup verify demo-1)\n"), std::string::npos) << waiting;
}

}  // namespace
}  // namespace pgstack::cli
