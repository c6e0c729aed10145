// Backups end to end (issue "Backups and disaster recovery"), against a real etcd, controller, agent,
// Patroni, Postgres and pgBackRest: the first backup after creation, taken from a standby and
// verified; a point-in-time restore into a new cluster; archiving and restore after a failover;
// retention; deleting a backup; verification catching a corrupted repository; bad input; then an S3
// repository (s3rver over HTTPS) with credentials from a Secret, a missing Secret key and a missing
// bucket; then an Azure Blob Storage repository (Azurite over HTTPS). The tests run in order in one
// process and share the runtime, the `shop` cluster and the `objects` cluster.
#include <fstream>
#include <set>
#include <signal.h>
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "agent/backup_runner.h"
#include "common/files.h"
#include "config/render_pgbackrest.h"
#include "store/etcd_client.h"
#include "support/azurite_server.h"
#include "support/pgstack_runtime.h"
#include "support/s3_server.h"

namespace pgstack::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

PgstackRuntime* runtime = nullptr;
std::unique_ptr<S3Server> s3;            // started by the first S3 test, stopped after the runtime
std::unique_ptr<AzuriteServer> azurite;  // started by the Azure test, stopped after the runtime

class Runtime : public ::testing::Environment {
 public:
  void SetUp() override {
    // The repository's WAL is checked for holes every 10 s instead of 5 minutes.
    auto started = PgstackRuntime::start(
        {PGSTACK_CONTROLLER_BINARY, PGSTACK_AGENT_BINARY, PGSTACK_CLI_BINARY, {}, {"--archive-check-interval", "10"}});
    ASSERT_TRUE(started.ok()) << started.error().message;
    runtime_ = std::move(started).value();
    runtime = runtime_.get();
  }
  void TearDown() override {
    if (::testing::UnitTest::GetInstance()->failed_test_count() > 0 && runtime_) {
      std::cerr << "---- controller log ----\n"
                << runtime_->controller_log() << "\n---- agent log ----\n"
                << runtime_->agent_log() << "\n";
    }
    runtime = nullptr;
    runtime_.reset();
    if (s3 && ::testing::UnitTest::GetInstance()->failed_test_count() > 0)
      std::cerr << "---- s3rver log ----\n" << s3->log_tail() << "\n";
    s3.reset();
    if (azurite && ::testing::UnitTest::GetInstance()->failed_test_count() > 0)
      std::cerr << "---- Azurite log ----\n" << azurite->log_tail() << "\n";
    azurite.reset();
  }

 private:
  std::unique_ptr<PgstackRuntime> runtime_;
};

json get(const std::string& path) { return runtime->get(path); }

json status_of(const std::string& cluster) { return get("sgclusters/" + cluster + "/status"); }

std::string primary_of(const std::string& cluster) {
  const json status = status_of(cluster);
  return status.contains("primary") && status["primary"].is_string() ? status["primary"].get<std::string>() : "";
}

bool ready(const std::string& cluster, std::size_t members) {
  const json status = status_of(cluster);
  for (const auto& condition : status.value("conditions", json::array())) {
    if (condition.value("type", "") == "Ready")
      return condition.value("status", "") == "True" && status.value("members", json::array()).size() == members;
  }
  return false;
}

json backup_status(const std::string& name) { return get("sgbackups/" + name).value("status", json::object()); }

json condition_of(const std::string& cluster, const std::string& type) {
  for (const auto& condition : status_of(cluster).value("conditions", json::array())) {
    if (condition.value("type", "") == type) return condition;
  }
  return json::object();
}

// The superuser, through the primary's own Postgres port (pg_switch_wal needs it).
Result<std::string> superuser_sql(const std::string& cluster, const std::string& statement) {
  return runtime->superuser_sql(cluster, statement);
}

// Creates an SGBackup and waits until it ends; its final status.
json take_backup(const std::string& cluster, const std::string& name, const std::string& type = "") {
  json document = {{"apiVersion", "stackgres.io/v1"},
                   {"kind", "SGBackup"},
                   {"metadata", {{"name", name}}},
                   {"spec", {{"sgCluster", cluster}}}};
  if (!type.empty()) document["spec"]["type"] = type;
  auto created = runtime->api("POST", "sgbackups", document.dump());
  EXPECT_TRUE(created.ok() && created->status == 201) << (created.ok() ? created->body : created.error().message);
  json status;
  EXPECT_TRUE(wait_until(
      [&] {
        status = backup_status(name);
        const std::string phase = status.value("phase", "");
        return phase == "Completed" || phase == "Failed";
      },
      240s))
      << status.dump(2);
  return status;
}

std::vector<std::string> backups_of(const std::string& cluster) {
  std::vector<std::string> names;
  for (const auto& item : get("sgbackups").value("items", json::array())) {
    if (item.value("/spec/sgCluster"_json_pointer, std::string()) == cluster) names.push_back(item["metadata"]["name"]);
  }
  return names;
}

// The primary's pgbackrest.conf under the agent's state directory.
std::filesystem::path pgbackrest_conf(const std::string& cluster) {
  const std::string primary = primary_of(cluster);
  return runtime->agent_state_dir() / "instances" / "default" / cluster / primary / "config" / "pgbackrest.conf";
}

// Full backup labels in the repository, as pgBackRest itself lists them.
std::vector<std::string> repository_labels(const std::string& cluster) {
  auto info =
      run_command({"runuser", "-u", "postgres", "--", "pgbackrest", "--config=" + pgbackrest_conf(cluster).string(),
                   "--stanza=" + config::stanza_name("default", cluster), "--output=json", "info"});
  std::vector<std::string> labels;
  if (!info.ok() || info->exit_code != 0) return labels;
  const json parsed = json::parse(info->standard_output, nullptr, false);
  if (!parsed.is_array() || parsed.empty()) return labels;
  for (const auto& set : parsed[0].value("backup", json::array())) labels.push_back(set.value("label", ""));
  return labels;
}

// The end of every member's Patroni log: why a member did not come up.
std::string patroni_logs(const std::string& cluster) {
  std::string out;
  std::error_code error;
  const auto root = runtime->agent_state_dir() / "instances" / "default" / cluster;
  for (const auto& member : std::filesystem::directory_iterator(root, error)) {
    std::vector<std::string> lines;
    for (const auto& log : std::filesystem::directory_iterator(member.path() / "log", error)) {
      std::ifstream file(log.path());
      for (std::string line; std::getline(file, line);) lines.push_back(log.path().filename().string() + ": " + line);
    }
    out += "---- " + member.path().filename().string() + " logs ----\n";
    int shown = 0;
    for (const auto& line : lines) {
      const bool telling = line.find("ERROR") != std::string::npos || line.find("CRITICAL") != std::string::npos ||
                           line.find("FATAL") != std::string::npos || line.find("bootstrap") != std::string::npos ||
                           line.find("syntax") != std::string::npos || line.find("invalid") != std::string::npos ||
                           line.find("recovery") != std::string::npos || line.find("custom") != std::string::npos;
      if (telling && ++shown <= 60) out += line + "\n";
    }
  }
  return out;
}

std::string repository_dir() { return (runtime->directory() / "backups").string(); }

// The repository is encrypted (StackGres' sodium key): every backup, restore and verification below
// reads it through pgBackRest's cipher.
constexpr const char* kEncryptionKey = "c2VjcmV0LWtleS1vZi0zMi1ieXRlcy1mb3ItdGVzdHM=";

std::string encryption_secret() {
  return json{{"apiVersion", "v1"},
              {"kind", "Secret"},
              {"metadata", {{"name", "backup-keys"}}},
              {"stringData", {{"sodium", kEncryptionKey}}}}
      .dump();
}

std::string object_storage() {
  return json{
      {"apiVersion", "stackgres.io/v1beta1"},
      {"kind", "SGObjectStorage"},
      {"metadata", {{"name", "disk"}}},
      {"spec",
       {{"type", "filesystem"},
        {"filesystem", {{"path", repository_dir()}}},
        {"encryption", {{"method", "sodium"}, {"sodium", {{"key", {{"name", "backup-keys"}, {"key", "sodium"}}}}}}}}}}
      .dump();
}

std::string shop_cluster() {
  return json{{"apiVersion", "stackgres.io/v1"},
              {"kind", "SGCluster"},
              {"metadata", {{"name", "shop"}}},
              {"spec",
               {{"instances", 2},
                {"postgres", {{"version", "latest"}}},
                {"pods", {{"persistentVolume", {{"size", "5Gi"}}}}},
                {"configurations",
                 {{"backups", json::array({{{"sgObjectStorage", "disk"},
                                            {"cronSchedule", "0 3 * * *"},
                                            {"retention", 2},
                                            {"compression", "lz4"}}})}}}}}}
      .dump();
}

std::string restored_cluster(const std::string& name, const std::string& backup, const std::string& timestamp) {
  json from = {{"name", backup}};
  if (!timestamp.empty()) from["pointInTimeRecovery"] = {{"restoreToTimestamp", timestamp}};
  return json{{"apiVersion", "stackgres.io/v1"},
              {"kind", "SGCluster"},
              {"metadata", {{"name", name}}},
              {"spec",
               {{"instances", 1},
                {"postgres", {{"version", "latest"}}},
                {"pods", {{"persistentVolume", {{"size", "5Gi"}}}}},
                {"initialData", {{"restore", {{"fromBackup", from}}}}}}}}
      .dump();
}

// The cluster's recovery window once the primary's agent has listed its repository's WAL (after the
// first backup; every 10 s in this suite): pgbackrest repo-ls against that storage works.
json window_after_archive_check(const std::string& cluster) {
  json window;
  (void)wait_until(
      [&] {
        window = get("sgclusters/" + cluster + "/recoverywindow");
        return window.contains("archiveCheckedAt");
      },
      60s);
  return window;
}

std::string first_backup;   // the automatic one, taken right after creation
std::string point_in_time;  // between the two batches of rows

TEST(Backups, FirstBackupIsTakenFromAStandbyAndVerified) {
  auto key = runtime->api("POST", "/api/v1/namespaces/default/secrets", encryption_secret());
  ASSERT_TRUE(key.ok() && key->status == 201) << (key.ok() ? key->body : key.error().message);
  auto storage = runtime->api("POST", "sgobjectstorages", object_storage());
  ASSERT_TRUE(storage.ok() && storage->status == 201) << (storage.ok() ? storage->body : storage.error().message);
  auto created = runtime->api("POST", "sgclusters", shop_cluster());
  ASSERT_TRUE(created.ok() && created->status == 201) << (created.ok() ? created->body : created.error().message);
  ASSERT_TRUE(wait_until([] { return ready("shop", 2); }, 180s)) << patroni_logs("shop");

  // The controller asks for a first backup once the cluster is ready.
  ASSERT_TRUE(wait_until(
      [] {
        const auto names = backups_of("shop");
        if (names.empty()) return false;
        first_backup = names.front();
        return backup_status(first_backup).value("phase", "") == "Completed";
      },
      240s))
      << (first_backup.empty() ? std::string("no SGBackup was created") : backup_status(first_backup).dump(2));
  const json status = backup_status(first_backup);
  EXPECT_EQ(status.value("type", ""), "full");
  EXPECT_EQ(status.value("source", ""), "standby");

  // Encrypted with a passphrase derived from the key; neither the key nor plain info files on disk.
  auto conf = read_file(pgbackrest_conf("shop"));
  ASSERT_TRUE(conf.ok());
  EXPECT_NE(conf->find("repo1-cipher-type=aes-256-cbc"), std::string::npos) << *conf;
  EXPECT_EQ(conf->find(kEncryptionKey), std::string::npos);
  auto info = read_file(std::filesystem::path(repository_dir()) / "default" / "shop" / "backup" / "default-shop" /
                        "backup.info");
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->find("[backup:current]"), std::string::npos) << "backup.info is not encrypted";
  EXPECT_FALSE(status.value("label", "").empty());
  EXPECT_GT(status.value("sizeBytes", 0LL), 1000000LL);
  EXPECT_GT(status.value("storedBytes", 0LL), 0LL);
  EXPECT_FALSE(status.value("/wal/start"_json_pointer, std::string()).empty());
  EXPECT_EQ(status.value("/repository/stanza"_json_pointer, std::string()), "default-shop");
  EXPECT_EQ(repository_labels("shop"), std::vector<std::string>{status.value("label", "")});

  json verification;
  EXPECT_TRUE(wait_until(
      [&] {
        verification = backup_status(first_backup).value("verification", json::object());
        const std::string phase = verification.value("phase", "");
        return phase == "Passed" || phase == "Failed";
      },
      240s))
      << verification.dump(2);
  EXPECT_EQ(verification.value("phase", ""), "Passed") << verification.dump(2);
  EXPECT_GT(verification.value("timeToUsableSeconds", 0.0), 0.0);
  EXPECT_GT(status.value("/repositoryDisk/freeBytes"_json_pointer, 0ULL), 0ULL) << status.dump(2);

  // The primary's pg_stat_archiver reaches the cluster status: the backup's WAL was archived.
  json archiving;
  EXPECT_TRUE(wait_until(
      [&] {
        archiving = status_of("shop").value("archiving", json::object());
        return !archiving.value("lastArchivedWal", "").empty() &&
               condition_of("shop", "WalArchiving").value("status", "") == "True";
      },
      60s))
      << status_of("shop").dump(2);
  EXPECT_GT(archiving.value("archivedCount", 0), 0);
  EXPECT_EQ(archiving.value("failing", true), false);
  EXPECT_EQ(condition_of("shop", "BackupStorageUsable").value("status", ""), "True") << status_of("shop").dump(2);
}

TEST(Backups, PointInTimeRestoreHasExactlyTheRowsCommittedBeforeTheTarget) {
  ASSERT_FALSE(first_backup.empty());
  ASSERT_TRUE(superuser_sql("shop",
                            "CREATE TABLE orders (id int PRIMARY KEY); "
                            "INSERT INTO orders SELECT generate_series(1, 100)")
                  .ok());
  std::this_thread::sleep_for(1200ms);
  auto now = superuser_sql("shop", "SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')");
  ASSERT_TRUE(now.ok()) << now.error().message;
  point_in_time = *now;
  std::this_thread::sleep_for(1200ms);
  ASSERT_TRUE(superuser_sql("shop", "INSERT INTO orders SELECT generate_series(101, 200)").ok());
  // Restored right away, as a user would: both batches are still only in the primary's current WAL
  // segment. The source's agent seals it (a commit after the target, a segment switch) for the
  // restore; without that, recovery would end before the target and the restore fail.
  // Its managed SQL runs once the restore is over: it sees the restored rows.
  const json script = {
      {"apiVersion", "stackgres.io/v1"},
      {"kind", "SGScript"},
      {"metadata", {{"name", "after-restore"}}},
      {"spec",
       {{"scripts",
         json::array({{{"database", "app"}, {"script", "CREATE TABLE restored AS SELECT count(*) FROM orders"}}})}}}};
  auto script_created = runtime->api("POST", "sgscripts", script.dump());
  ASSERT_TRUE(script_created.ok() && script_created->status == 201);
  json restored = json::parse(restored_cluster("shop-pitr", first_backup, point_in_time));
  restored["spec"]["managedSql"] = {{"scripts", json::array({{{"sgScript", "after-restore"}}})}};
  auto created = runtime->api("POST", "sgclusters", restored.dump());
  ASSERT_TRUE(created.ok() && created->status == 201) << (created.ok() ? created->body : created.error().message);
  ASSERT_TRUE(wait_until([] { return ready("shop-pitr", 1); }, 240s)) << patroni_logs("shop-pitr");
  Result<std::string> count = make_error(ErrorCode::kUnavailable, "not asked");
  EXPECT_TRUE(wait_until([&] { return (count = superuser_sql("shop-pitr", "SELECT count(*) FROM orders")).ok(); }, 60s))
      << count.error().message;
  EXPECT_EQ(count.value(), "100") << "restored to " << point_in_time;
  Result<std::string> seen = make_error(ErrorCode::kUnavailable, "not asked");
  EXPECT_TRUE(wait_until([&] { return (seen = superuser_sql("shop-pitr", "SELECT count FROM restored")).ok(); }, 60s))
      << status_of("shop-pitr").value("managedSql", json::object()).dump();
  EXPECT_EQ(seen.ok() ? seen.value() : "", "100");
  // The application user logs in with the new cluster's own password.
  const json app = get("sgclusters/shop-pitr/credentials")["application"];
  const std::string endpoint = status_of("shop-pitr")["members"][0]["endpoints"]["postgres"];
  auto login = run_psql(fmt::format("postgresql://app@{}/app", endpoint), app.value("password", ""), "SELECT 1");
  ASSERT_TRUE(login.ok());
  EXPECT_EQ(login->exit_code, 0) << login->standard_error;
  // The restored cluster archives into a repository path of its own, never into the source's.
  EXPECT_NE(pgbackrest_conf("shop-pitr").string(), pgbackrest_conf("shop").string());
  ASSERT_EQ(runtime->api("DELETE", "sgclusters/shop-pitr")->status, 200);
}

TEST(Backups, ARestoreThatCannotReachItsTargetSaysWhyInTheClusterStatus) {
  ASSERT_FALSE(first_backup.empty());
  // A restore point that was never created: recovery replays all archived WAL without reaching it.
  json cluster = json::parse(restored_cluster("shop-lost", first_backup, ""));
  cluster["spec"]["initialData"]["restore"]["fromBackup"]["targetName"] = "no-such-restore-point";
  auto created = runtime->api("POST", "sgclusters", cluster.dump());
  ASSERT_TRUE(created.ok() && created->status == 201) << (created.ok() ? created->body : created.error().message);
  std::string message;
  EXPECT_TRUE(wait_until(
      [&] {
        message = condition_of("shop-lost", "Ready").value("message", "");
        return message.find("recovery ended before configured recovery target was reached") != std::string::npos;
      },
      120s))
      << message << "\n"
      << patroni_logs("shop-lost");
  EXPECT_NE(message.find("the restore of SGBackup " + first_backup + " failed"), std::string::npos) << message;
  ASSERT_EQ(runtime->api("DELETE", "sgclusters/shop-lost")->status, 200);
}

TEST(Backups, ARestoreTargetOutsideTheBackupIsRefusedBeforeAnythingIsCreated) {
  ASSERT_FALSE(first_backup.empty());
  auto refused =
      runtime->api("POST", "sgclusters", restored_cluster("too-early", first_backup, "2020-01-01T00:00:00Z"));
  ASSERT_TRUE(refused.ok());
  EXPECT_EQ(refused->status, 422) << refused->body;
  EXPECT_NE(refused->body.find("restoreToTimestamp"), std::string::npos) << refused->body;
  EXPECT_EQ(runtime->api("GET", "sgclusters/too-early")->status, 404);
  auto missing = runtime->api("POST", "sgclusters", restored_cluster("no-backup", "nonexistent", ""));
  ASSERT_TRUE(missing.ok());
  EXPECT_EQ(missing->status, 422) << missing->body;
}

TEST(Backups, ArchivingContinuesAfterAFailoverAndItsBackupRestores) {
  const std::string old_primary = primary_of("shop");
  ASSERT_FALSE(old_primary.empty());
  // kill -9 the primary's Patroni and postmaster.
  const auto dir = runtime->agent_state_dir() / "instances" / "default" / "shop" / old_primary;
  for (const auto& pid_file : {dir / "data" / "postmaster.pid", dir / "config" / "patroni.pid"}) {
    std::ifstream file(pid_file);
    long pid = 0;
    if (file >> pid && pid > 1) ::kill(static_cast<pid_t>(pid), SIGKILL);
  }
  ASSERT_TRUE(wait_until(
      [&] {
        const std::string now = primary_of("shop");
        return !now.empty() && now != old_primary &&
               superuser_sql("shop", "INSERT INTO orders SELECT generate_series(201, 300)").ok();
      },
      120s))
      << status_of("shop").dump(2);
  ASSERT_TRUE(superuser_sql("shop", "SELECT pg_switch_wal()").ok());
  // The new primary pushes into the same repository.
  EXPECT_TRUE(wait_until(
      [] {
        auto archived = superuser_sql("shop",
                                      "SELECT coalesce(last_archived_wal, '') <> '' AND failed_count = 0 "
                                      "FROM pg_stat_archiver");
        return archived.ok() && *archived == "t";
      },
      60s));
  const json after = take_backup("shop", "shop-after-failover", "full");
  ASSERT_EQ(after.value("phase", ""), "Completed") << after.dump(2);

  auto created = runtime->api("POST", "sgclusters", restored_cluster("shop-copy", "shop-after-failover", ""));
  ASSERT_TRUE(created.ok() && created->status == 201) << (created.ok() ? created->body : created.error().message);
  ASSERT_TRUE(wait_until([] { return ready("shop-copy", 1); }, 240s)) << patroni_logs("shop-copy");
  Result<std::string> count = make_error(ErrorCode::kUnavailable, "not asked");
  EXPECT_TRUE(
      wait_until([&] { return (count = superuser_sql("shop-copy", "SELECT count(*) FROM orders")).ok(); }, 60s));
  EXPECT_EQ(count.value(), "300");
  ASSERT_EQ(runtime->api("DELETE", "sgclusters/shop-copy")->status, 200);
  EXPECT_TRUE(wait_until([] { return ready("shop", 2); }, 180s)) << status_of("shop").dump(2);
}

TEST(Backups, RetentionKeepsExactlyTheNewestFullBackups) {
  // retention 2: after two more full backups only they remain, in the repository and as SGBackups.
  const json second = take_backup("shop", "shop-full-2", "full");
  ASSERT_EQ(second.value("phase", ""), "Completed") << second.dump(2);
  const json third = take_backup("shop", "shop-full-3", "full");
  ASSERT_EQ(third.value("phase", ""), "Completed") << third.dump(2);
  const std::vector<std::string> expected = {second.value("label", ""), third.value("label", "")};
  EXPECT_EQ(repository_labels("shop"), expected);
  auto names = backups_of("shop");
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"shop-full-2", "shop-full-3"}));
}

TEST(Backups, VerificationFailsOnACorruptedCopyOfTheRepository) {
  const json newest = backup_status("shop-full-3");
  const std::string label = newest.value("label", "");
  ASSERT_FALSE(label.empty());
  const auto source = std::filesystem::path(repository_dir()) / "default" / "shop";
  const auto copy = runtime->directory() / "corrupted-copy";
  std::filesystem::copy(source, copy, std::filesystem::copy_options::recursive);
  ASSERT_EQ(run_command({"chown", "-R", "postgres", copy.string()})->exit_code, 0);
  // The biggest file of the backup set: a table's data, lz4-compressed.
  std::filesystem::path biggest;
  std::uintmax_t biggest_size = 0;
  for (const auto& entry :
       std::filesystem::recursive_directory_iterator(copy / "backup" / "default-shop" / label / "pg_data")) {
    if (entry.is_regular_file() && entry.file_size() > biggest_size) {
      biggest = entry.path();
      biggest_size = entry.file_size();
    }
  }
  ASSERT_GT(biggest_size, 100u);
  {
    std::fstream file(biggest, std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(static_cast<std::streamoff>(biggest_size / 2));
    const std::string garbage(64, '\x5a');
    file.write(garbage.data(), static_cast<std::streamsize>(garbage.size()));
  }
  agent::VerificationRequest request;
  request.config_path = pgbackrest_conf("shop").string();
  request.stanza = "default-shop";
  request.label = label;
  request.repository_overrides = {"--repo1-path=" + copy.string()};
  request.scratch_dir = runtime->directory() / "verify-corrupted";
  request.bin_dir = "/usr/lib/postgresql/15/bin";
  request.superuser = "postgres";
  request.os_user = "postgres";
  const agent::VerificationResult result = agent::verify_backup(request);
  EXPECT_FALSE(result.passed) << result.message;
  std::cerr << "corrupted copy: " << result.message << "\n";
  EXPECT_FALSE(std::filesystem::exists(request.scratch_dir));
  // The same backup in the real repository still verifies.
  request.repository_overrides.clear();
  const agent::VerificationResult intact = agent::verify_backup(request);
  EXPECT_TRUE(intact.passed) << intact.message;
}

// A WAL segment lost from the repository after the newest backup (moved away by hand here) is found by
// the primary's agent: the recovery window ends before it and says why, a restore to a time past it is
// refused at its field, and once the segment is back the window reaches now again.
TEST(Backups, AWalSegmentMissingFromTheRepositoryEndsTheRecoveryWindowBeforeIt) {
  std::vector<std::string> switched;  // the segments three switches closed, oldest first
  for (int batch = 0; batch < 3; ++batch) {
    ASSERT_TRUE(superuser_sql("shop", fmt::format("INSERT INTO orders SELECT generate_series({0} + 1, {0} + 10)",
                                                  10000 + batch * 10))
                    .ok());
    auto segment = superuser_sql("shop", "SELECT pg_walfile_name(pg_switch_wal())");
    ASSERT_TRUE(segment.ok()) << segment.error().message;
    switched.push_back(*segment);
  }
  const auto archive = std::filesystem::path(repository_dir()) / "default" / "shop" / "archive" / "default-shop";
  std::filesystem::path lost;
  ASSERT_TRUE(wait_until(
      [&] {
        for (const auto& entry : std::filesystem::recursive_directory_iterator(archive)) {
          if (entry.path().filename().string().rfind(switched[1] + "-", 0) == 0) lost = entry.path();
        }
        auto archived = superuser_sql("shop", "SELECT last_archived_wal FROM pg_stat_archiver");
        return !lost.empty() && archived.ok() && *archived >= switched[2];
      },
      60s))
      << "segments " << switched[0] << ", " << switched[1] << ", " << switched[2];
  const auto aside = runtime->directory() / "lost-segment";
  std::filesystem::rename(lost, aside);
  const std::string digits = switched[1].substr(8);

  json window;
  // What the agent stored, for the message when the window does not show it.
  const auto stored_check = [] {
    store::EtcdClient etcd({runtime->etcd().endpoint()});
    auto checks = etcd.get_prefix("/");
    std::string out;
    if (!checks.ok()) return checks.error().message;
    for (const auto& item : checks->items) {
      if (item.key.find("archive-continuity") != std::string::npos) out += item.key + " = " + item.value + "\n";
    }
    return out.empty() ? std::string("no archive-continuity key in etcd") : out;
  };
  EXPECT_TRUE(wait_until(
      [&] {
        window = get("sgclusters/shop/recoverywindow");
        return window.value("latestReason", "").find("before a hole") != std::string::npos;
      },
      60s))
      << window.dump(2) << "\n"
      << stored_check();
  EXPECT_NE(window.value("latestReason", "").find("WAL segment ********" + digits + " (on no timeline) is missing"),
            std::string::npos)
      << window.dump(2);
  ASSERT_FALSE(window.value("gaps", json::array()).empty()) << window.dump(2);
  EXPECT_EQ(window["gaps"].back().value("from", ""), window.value("latest", "")) << window.dump(2);
  std::cerr << "with " << switched[1] << " missing: latest " << window.value("latest", "") << ", "
            << window.value("latestReason", "") << "\n";
  // A time past the hole, from the newest backup: refused before anything is created.
  auto refused = runtime->api("POST", "sgclusters",
                              restored_cluster("past-the-hole", "shop-full-3", window["gaps"].back().value("to", "")));
  ASSERT_TRUE(refused.ok());
  EXPECT_EQ(refused->status, 422) << refused->body;
  EXPECT_NE(refused->body.find("cannot be reached from SGBackup/shop-full-3"), std::string::npos) << refused->body;
  EXPECT_EQ(runtime->api("GET", "sgclusters/past-the-hole")->status, 404);

  std::filesystem::rename(aside, lost);
  EXPECT_TRUE(wait_until(
      [&] {
        window = get("sgclusters/shop/recoverywindow");
        return window.value("gaps", json::array()).empty() && window.value("latestReason", "").find("now") == 0;
      },
      60s))
      << window.dump(2);
}

TEST(Backups, DeletingAnSGBackupExpiresItInTheRepository) {
  const std::string label = backup_status("shop-full-2").value("label", "");
  ASSERT_FALSE(label.empty());
  ASSERT_EQ(runtime->api("DELETE", "sgbackups/shop-full-2")->status, 200);
  EXPECT_TRUE(wait_until(
      [&] {
        const auto labels = repository_labels("shop");
        return std::find(labels.begin(), labels.end(), label) == labels.end() && !labels.empty();
      },
      60s));
}

TEST(Backups, UnreachableStorageFailsTheBackupAndLeavesTheClusterAlone) {
  // A compression pgBackRest cannot do is refused with the field path (a bandwidth limit, which it
  // cannot enforce either, is accepted with a note: StackGres' production example sets one).
  json limited = json::parse(shop_cluster());
  limited["metadata"]["name"] = "limited";
  limited["spec"]["configurations"]["backups"][0]["compression"] = "brotli";
  auto refused = runtime->api("POST", "sgclusters", limited.dump());
  ASSERT_TRUE(refused.ok());
  EXPECT_EQ(refused->status, 422);
  EXPECT_NE(refused->body.find("spec.configurations.backups[0].compression"), std::string::npos) << refused->body;

  // The repository directory disappears and becomes a file: pgBackRest cannot write there.
  const auto repository = std::filesystem::path(repository_dir()) / "default" / "shop";
  const auto moved = runtime->directory() / "repository-moved";
  std::filesystem::rename(repository, moved);
  { std::ofstream(repository.string()) << "not a directory"; }
  const json failed = take_backup("shop", "shop-broken-storage", "full");
  EXPECT_EQ(failed.value("phase", ""), "Failed") << failed.dump(2);
  EXPECT_FALSE(failed.value("message", "").empty());
  std::cerr << "unreachable storage: " << failed.value("message", "") << "\n";
  EXPECT_TRUE(ready("shop", 2)) << status_of("shop").dump(2);
  EXPECT_TRUE(superuser_sql("shop", "INSERT INTO orders VALUES (100000)").ok());
  std::filesystem::remove(repository);
  std::filesystem::rename(moved, repository);
}

// A repository on a 3 MiB tmpfs: the first backup (about 6 MiB stored) cannot fit.
TEST(Backups, AFullRepositoryDiskFailsTheBackupAndArchivingSaysSo) {
  char pattern[] = "/tmp/pgstack-full-disk-XXXXXX";
  ASSERT_NE(::mkdtemp(pattern), nullptr);
  const std::string mount_point = pattern;
  auto mounted = run_command({"mount", "-t", "tmpfs", "-o", "size=3m,mode=0755", "tmpfs", mount_point});
  ASSERT_TRUE(mounted.ok() && mounted->exit_code == 0)
      << "this test needs root to mount a small tmpfs: " << (mounted.ok() ? mounted->standard_error : "");
  struct Unmount {
    std::string path;
    ~Unmount() {
      (void)run_command({"umount", "-l", path});
      std::error_code error;
      std::filesystem::remove(path, error);
    }
  } unmount{mount_point};

  json storage = json::parse(object_storage());
  storage["metadata"]["name"] = "small-disk";
  storage["spec"]["filesystem"]["path"] = mount_point;
  storage["spec"].erase("encryption");  // the 3 MiB disk fills as it did before encryption
  auto created_storage = runtime->api("POST", "sgobjectstorages", storage.dump());
  ASSERT_TRUE(created_storage.ok() && created_storage->status == 201)
      << (created_storage.ok() ? created_storage->body : created_storage.error().message);
  json cluster = json::parse(shop_cluster());
  cluster["metadata"]["name"] = "crammed";
  cluster["spec"]["instances"] = 1;
  cluster["spec"]["configurations"]["backups"][0]["sgObjectStorage"] = "small-disk";
  auto created = runtime->api("POST", "sgclusters", cluster.dump());
  ASSERT_TRUE(created.ok() && created->status == 201) << (created.ok() ? created->body : created.error().message);
  ASSERT_TRUE(wait_until([] { return ready("crammed", 1); }, 180s)) << patroni_logs("crammed");

  // The first backup is asked for by the controller, as for any cluster; it runs out of space.
  std::string name;
  json failed;
  ASSERT_TRUE(wait_until(
      [&] {
        const auto names = backups_of("crammed");
        if (names.empty()) return false;
        name = names.front();
        failed = backup_status(name);
        return failed.value("phase", "") == "Failed" || failed.value("phase", "") == "Completed";
      },
      240s))
      << failed.dump(2);
  EXPECT_EQ(failed.value("phase", ""), "Failed") << failed.dump(2);
  const std::string message = failed.value("message", "");
  // pgBackRest fails on whatever it could not write first (a backup file, or the WAL segment the
  // backup waits for); either way the status starts with the cause.
  EXPECT_EQ(message.rfind("the backup repository's disk is full (", 0), 0u) << message;
  EXPECT_EQ(failed.value("/repositoryDisk/totalBytes"_json_pointer, 0ULL), 3ULL * 1024 * 1024) << failed.dump(2);
  std::cerr << "full repository: " << message << "\n";

  // WAL cannot be archived either: the cluster says so, and keeps serving writes meanwhile.
  EXPECT_TRUE(superuser_sql("crammed",
                            "CREATE TABLE filler AS SELECT g, repeat('x', 500) AS pad FROM "
                            "generate_series(1, 100000) g; SELECT pg_switch_wal()")
                  .ok());
  EXPECT_TRUE(wait_until(
      [] {
        (void)superuser_sql("crammed",
                            "INSERT INTO filler SELECT g, md5(g::text) FROM generate_series(1, 20000) g; "
                            "SELECT pg_switch_wal()");
        return condition_of("crammed", "WalArchiving").value("status", "") == "False";
      },
      120s, 3s))
      << status_of("crammed").dump(2);
  const json archiving = condition_of("crammed", "WalArchiving");
  EXPECT_EQ(archiving.value("reason", ""), "ArchiveCommandFailing") << archiving.dump(2);
  EXPECT_NE(archiving.value("message", "").find(": the backup repository's disk is full ("), std::string::npos)
      << archiving.dump(2);
  std::cerr << "archiving to a full disk: " << archiving.value("message", "") << "\n";
  EXPECT_TRUE(ready("crammed", 1)) << status_of("crammed").dump(2);
  EXPECT_TRUE(superuser_sql("crammed", "INSERT INTO filler VALUES (0, 'still writable')").ok());

  auto deleted = runtime->api("DELETE", "sgclusters/crammed");
  EXPECT_TRUE(deleted.ok() && deleted->status == 200);
  EXPECT_TRUE(wait_until(
      [] {
        auto found = runtime->api("GET", "sgclusters/crammed");
        return found.ok() && found->status == 404;
      },
      60s));
}

// ---- S3 (s3rver over HTTPS, credentials from a Secret) ----

constexpr const char* kSecretsPath = "/api/v1/namespaces/default/secrets";

std::string s3_secret() {
  return json{
      {"apiVersion", "v1"},
      {"kind", "Secret"},
      {"metadata", {{"name", "s3-credentials"}}},
      {"stringData",
       {{"accessKeyId", s3->access_key()}, {"secretAccessKey", s3->secret_key()}, {"ca.crt", s3->ca_certificate()}}}}
      .dump();
}

json s3_object_storage(const std::string& bucket, const std::string& secret_key_name = "secretAccessKey") {
  const auto selector = [](const std::string& key) { return json{{"name", "s3-credentials"}, {"key", key}}; };
  return json{{"apiVersion", "stackgres.io/v1beta1"},
              {"kind", "SGObjectStorage"},
              {"metadata", {{"name", "s3"}}},
              {"spec",
               {{"type", "s3Compatible"},
                {"s3Compatible",
                 {{"bucket", bucket},
                  {"region", s3->region()},
                  {"endpoint", s3->endpoint()},
                  {"enablePathStyleAddressing", true},
                  {"caCertificate", selector("ca.crt")},
                  {"awsCredentials",
                   {{"secretKeySelectors",
                     {{"accessKeyId", selector("accessKeyId")}, {"secretAccessKey", selector(secret_key_name)}}}}}}}}}};
}

// Replaces SGObjectStorage s3 and waits until the agent has rewritten the primary's pgbackrest.conf.
void replace_s3_storage(const json& storage, const std::string& expected_line) {
  auto replaced = runtime->api("PUT", "sgobjectstorages/s3", storage.dump());
  ASSERT_TRUE(replaced.ok() && replaced->status == 200) << (replaced.ok() ? replaced->body : replaced.error().message);
  std::string conf;
  ASSERT_TRUE(wait_until(
      [&] {
        auto content = read_file(pgbackrest_conf("objects"));
        conf = content ? content.value() : "";
        return conf.find(expected_line) != std::string::npos;
      },
      30s))
      << "waiting for \"" << expected_line << "\" in pgbackrest.conf";
}

std::string objects_cluster() {
  json cluster = json::parse(shop_cluster());
  cluster["metadata"]["name"] = "objects";
  cluster["spec"]["instances"] = 1;
  cluster["spec"]["configurations"]["backups"][0]["sgObjectStorage"] = "s3";
  return cluster.dump();
}

std::string s3_backup;  // the first backup of `objects`

TEST(BackupsS3, SecretsAreStoredAndShownWithoutTheirValues) {
  auto started = S3Server::start();
  ASSERT_TRUE(started.ok()) << started.error().message;
  s3 = std::move(started).value();

  // Bad input changes nothing: no Secret is stored.
  auto refused = runtime->api(
      "POST", kSecretsPath,
      R"({"apiVersion":"v1","kind":"Secret","metadata":{"name":"s3-credentials"},"data":{"k":"not base64!"}})");
  ASSERT_TRUE(refused.ok());
  EXPECT_EQ(refused->status, 422) << refused->body;
  EXPECT_NE(refused->body.find("data.k"), std::string::npos) << refused->body;
  EXPECT_EQ(runtime->api("GET", std::string(kSecretsPath) + "/s3-credentials")->status, 404);

  auto created = runtime->api("POST", kSecretsPath, s3_secret());
  ASSERT_TRUE(created.ok() && created->status == 201) << (created.ok() ? created->body : created.error().message);
  const std::string ca_line = "MII";  // in every PEM certificate's body
  for (const std::string& path : {std::string(kSecretsPath), std::string(kSecretsPath) + "/s3-credentials"}) {
    auto shown = runtime->api("GET", path);
    ASSERT_TRUE(shown.ok() && shown->status == 200) << path;
    EXPECT_NE(shown->body.find("secretAccessKey"), std::string::npos) << shown->body;
    EXPECT_EQ(shown->body.find(ca_line), std::string::npos) << shown->body;
    EXPECT_EQ(shown->body.find("\"data\""), std::string::npos) << shown->body;
  }
  auto revealed = runtime->api_json("GET", std::string(kSecretsPath) + "/s3-credentials?reveal=true");
  ASSERT_TRUE(revealed.ok());
  EXPECT_FALSE(revealed->value("/data/ca.crt"_json_pointer, std::string()).empty()) << revealed->dump();

  auto listed = runtime->cli({"get", "secrets"});
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(listed->exit_code, 0) << listed->standard_error;
  EXPECT_NE(listed->standard_output.find("accessKeyId,ca.crt,secretAccessKey"), std::string::npos)
      << listed->standard_output;
  auto described = runtime->cli({"describe", "secret", "s3-credentials"});
  ASSERT_TRUE(described.ok());
  EXPECT_EQ(described->exit_code, 0) << described->standard_error;
  EXPECT_EQ(described->standard_output.find(ca_line), std::string::npos) << described->standard_output;
  auto made = runtime->cli({"create", "secret", "scratch", "--from-literal", "token=hunter2"});
  ASSERT_TRUE(made.ok());
  EXPECT_EQ(made->exit_code, 0) << made->standard_error;
  EXPECT_EQ(made->standard_output.find("hunter2"), std::string::npos);
  auto deleted = runtime->cli({"delete", "secret", "scratch", "--yes"});
  ASSERT_TRUE(deleted.ok());
  EXPECT_EQ(deleted->exit_code, 0) << deleted->standard_error;
  EXPECT_EQ(runtime->api("GET", std::string(kSecretsPath) + "/scratch")->status, 404);
}

TEST(BackupsS3, BackupsGoToTheBucketCompleteAndVerify) {
  ASSERT_TRUE(s3);
  auto storage = runtime->api("POST", "sgobjectstorages", s3_object_storage(s3->bucket()).dump());
  ASSERT_TRUE(storage.ok() && storage->status == 201) << (storage.ok() ? storage->body : storage.error().message);
  auto created = runtime->api("POST", "sgclusters", objects_cluster());
  ASSERT_TRUE(created.ok() && created->status == 201) << (created.ok() ? created->body : created.error().message);
  ASSERT_TRUE(wait_until([] { return ready("objects", 1); }, 180s)) << patroni_logs("objects");

  ASSERT_TRUE(wait_until(
      [] {
        const auto names = backups_of("objects");
        if (names.empty()) return false;
        s3_backup = names.front();
        const std::string phase = backup_status(s3_backup).value("phase", "");
        return phase == "Completed" || phase == "Failed";
      },
      240s))
      << (s3_backup.empty() ? std::string("no SGBackup was created") : backup_status(s3_backup).dump(2));
  const json status = backup_status(s3_backup);
  ASSERT_EQ(status.value("phase", ""), "Completed") << status.dump(2);
  json verification;
  EXPECT_TRUE(wait_until(
      [&] {
        verification = backup_status(s3_backup).value("verification", json::object());
        const std::string phase = verification.value("phase", "");
        return phase == "Passed" || phase == "Failed";
      },
      240s))
      << verification.dump(2);
  EXPECT_EQ(verification.value("phase", ""), "Passed") << verification.dump(2);

  // The backup set and the WAL are objects in the bucket, under the cluster's path.
  const auto bucket = s3->data_directory() / s3->bucket();
  std::size_t backup_files = 0, wal_files = 0;
  std::error_code error;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(bucket, error)) {
    const std::string path = entry.path().string();
    if (path.find("/default/objects/backup/default-objects/" + status.value("label", "")) != std::string::npos)
      ++backup_files;
    if (path.find("/default/objects/archive/default-objects/") != std::string::npos) ++wal_files;
  }
  EXPECT_GT(backup_files, 10u) << "in " << bucket;
  EXPECT_GT(wal_files, 0u) << "in " << bucket;
  const json window = window_after_archive_check("objects");
  EXPECT_TRUE(window.contains("archiveCheckedAt")) << window.dump(2) << runtime->agent_log();
  EXPECT_EQ(window.value("gaps", json::array()), json::array()) << window.dump(2);

  // The keys are in pgbackrest.conf only: owner-only, the postgres user's; the CA is next to it.
  struct stat info {};
  ASSERT_EQ(::stat(pgbackrest_conf("objects").c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
  EXPECT_EQ(
      run_command({"runuser", "-u", "postgres", "--", "test", "-r", pgbackrest_conf("objects").string()})->exit_code,
      0);
  EXPECT_TRUE(std::filesystem::exists(pgbackrest_conf("objects").parent_path() / "pgbackrest-ca.crt"));
  EXPECT_EQ(runtime->agent_log().find("repo1-s3-key-secret="), std::string::npos);

  // A Secret a storage uses cannot be deleted from under it.
  auto in_use = runtime->api("DELETE", std::string(kSecretsPath) + "/s3-credentials");
  ASSERT_TRUE(in_use.ok());
  EXPECT_EQ(in_use->status, 409) << in_use->body;
  EXPECT_NE(in_use->body.find("SGObjectStorage/s3"), std::string::npos) << in_use->body;
}

TEST(BackupsS3, AMissingSecretKeyIsNamedAndTheClusterRunsOn) {
  ASSERT_FALSE(s3_backup.empty());
  replace_s3_storage(s3_object_storage(s3->bucket(), "secretKey"), "repo1-s3-bucket=" + s3->bucket());
  // The agent drops the keys from the file (archiving waits, WAL stays in pg_wal) and says why.
  EXPECT_TRUE(wait_until(
      [] {
        return runtime->agent_log().find("refers to key \"secretKey\" of Secret \"s3-credentials\"") !=
               std::string::npos;
      },
      30s));
  EXPECT_TRUE(wait_until(
      [] {
        auto conf = read_file(pgbackrest_conf("objects"));
        return conf && conf->find("repo1-s3-key") == std::string::npos;
      },
      30s));
  json backup = {{"apiVersion", "stackgres.io/v1"},
                 {"kind", "SGBackup"},
                 {"metadata", {{"name", "objects-missing-key"}}},
                 {"spec", {{"sgCluster", "objects"}}}};
  auto refused = runtime->api("POST", "sgbackups", backup.dump());
  ASSERT_TRUE(refused.ok());
  EXPECT_EQ(refused->status, 422) << refused->body;
  EXPECT_NE(refused->body.find("refers to key \\\"secretKey\\\" of Secret \\\"s3-credentials\\\""), std::string::npos)
      << refused->body;
  std::cerr << "missing secret key: " << refused->body << "\n";
  // The cluster's status names the problem too (from the primary's report).
  EXPECT_TRUE(wait_until(
      [] {
        const json usable = condition_of("objects", "BackupStorageUsable");
        return usable.value("status", "") == "False" &&
               usable.value("message", "").find("secretKey") != std::string::npos;
      },
      30s))
      << status_of("objects").dump(2);
  EXPECT_TRUE(ready("objects", 1)) << status_of("objects").dump(2);
  EXPECT_TRUE(superuser_sql("objects", "CREATE TABLE IF NOT EXISTS t (id int); INSERT INTO t VALUES (1)").ok());
  replace_s3_storage(s3_object_storage(s3->bucket()), "repo1-s3-key=");
}

TEST(BackupsS3, AMissingBucketFailsTheBackupWithPgBackRestsMessageAndLeavesTheClusterAlone) {
  ASSERT_FALSE(s3_backup.empty());
  replace_s3_storage(s3_object_storage("no-such-bucket"), "repo1-s3-bucket=no-such-bucket");
  const json failed = take_backup("objects", "objects-missing-bucket", "full");
  EXPECT_EQ(failed.value("phase", ""), "Failed") << failed.dump(2);
  const std::string message = failed.value("message", "");
  // s3rver answers 404 for the bucket, which pgBackRest reads as a repository without the stanza's files.
  EXPECT_NE(message.find(
                "FileMissingError: unable to open missing file '/default/objects/backup/default-objects/backup.info'"),
            std::string::npos)
      << message;
  std::cerr << "missing bucket: " << message << "\n";
  EXPECT_TRUE(ready("objects", 1)) << status_of("objects").dump(2);
  EXPECT_TRUE(superuser_sql("objects", "INSERT INTO t VALUES (2)").ok());
  replace_s3_storage(s3_object_storage(s3->bucket()), "repo1-s3-bucket=" + s3->bucket());
}

// ---- Azure Blob Storage (Azurite over HTTPS, path-style, credentials from a Secret) ----

// Waits until `cluster`'s first SGBackup has ended and its verification too; that backup's status.
json first_backup_verified(const std::string& cluster) {
  std::string name;
  EXPECT_TRUE(wait_until(
      [&] {
        const auto names = backups_of(cluster);
        if (names.empty()) return false;
        name = names.front();
        const json status = backup_status(name);
        const std::string phase = status.value("phase", "");
        const std::string verified = status.value("/verification/phase"_json_pointer, std::string());
        return phase == "Failed" || (phase == "Completed" && (verified == "Passed" || verified == "Failed"));
      },
      240s))
      << (name.empty() ? std::string("no SGBackup was created") : backup_status(name).dump(2));
  return name.empty() ? json::object() : backup_status(name);
}

TEST(BackupsAzure, BackupsGoToTheContainerCompleteAndVerify) {
  auto started = AzuriteServer::start();
  ASSERT_TRUE(started.ok()) << started.error().message;
  azurite = std::move(started).value();
  const json secret = {{"apiVersion", "v1"},
                       {"kind", "Secret"},
                       {"metadata", {{"name", "azure-credentials"}}},
                       {"stringData",
                        {{"storageAccount", azurite->account()},
                         {"accessKey", azurite->account_key()},
                         {"ca.crt", azurite->ca_certificate()}}}};
  auto created = runtime->api("POST", kSecretsPath, secret.dump());
  ASSERT_TRUE(created.ok() && created->status == 201) << (created.ok() ? created->body : created.error().message);
  const auto selector = [](const std::string& key) { return json{{"name", "azure-credentials"}, {"key", key}}; };
  // A key prefix after the container: the repository is /pg/default/blobs in it.
  const json storage = {
      {"apiVersion", "stackgres.io/v1beta1"},
      {"kind", "SGObjectStorage"},
      {"metadata", {{"name", "azure"}}},
      {"spec",
       {{"type", "azureBlob"},
        {"azureBlob",
         {{"bucket", azurite->container() + "/pg"},
          {"endpoint", azurite->endpoint()},
          {"caCertificate", selector("ca.crt")},
          {"azureCredentials",
           {{"secretKeySelectors",
             {{"storageAccount", selector("storageAccount")}, {"accessKey", selector("accessKey")}}}}}}}}}};
  auto stored = runtime->api("POST", "sgobjectstorages", storage.dump());
  ASSERT_TRUE(stored.ok() && stored->status == 201) << (stored.ok() ? stored->body : stored.error().message);
  json cluster = json::parse(objects_cluster());
  cluster["metadata"]["name"] = "blobs";
  cluster["spec"]["configurations"]["backups"][0]["sgObjectStorage"] = "azure";
  auto made = runtime->api("POST", "sgclusters", cluster.dump());
  ASSERT_TRUE(made.ok() && made->status == 201) << (made.ok() ? made->body : made.error().message);
  ASSERT_TRUE(wait_until([] { return ready("blobs", 1); }, 180s)) << patroni_logs("blobs");

  const json status = first_backup_verified("blobs");
  ASSERT_EQ(status.value("phase", ""), "Completed") << status.dump(2);
  EXPECT_EQ(status.value("/verification/phase"_json_pointer, std::string()), "Passed") << status.dump(2);

  // The backup set and the WAL are blobs in the container, below the prefix.
  auto names = azurite->blob_names();
  ASSERT_TRUE(names.ok()) << names.error().message;
  std::size_t backup_files = 0, wal_files = 0;
  for (const auto& name : names.value()) {
    if (name.rfind("pg/default/blobs/backup/default-blobs/" + status.value("label", ""), 0) == 0) ++backup_files;
    if (name.rfind("pg/default/blobs/archive/default-blobs/", 0) == 0) ++wal_files;
  }
  EXPECT_GT(backup_files, 10u) << names->size() << " blobs, the first: " << (names->empty() ? "" : names->front());
  EXPECT_GT(wal_files, 0u);
  const json window = window_after_archive_check("blobs");
  EXPECT_TRUE(window.contains("archiveCheckedAt")) << window.dump(2) << runtime->agent_log();
  EXPECT_EQ(window.value("gaps", json::array()), json::array()) << window.dump(2);
  EXPECT_EQ(runtime->agent_log().find(azurite->account_key()), std::string::npos);
}

}  // namespace
}  // namespace pgstack::testing

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::AddGlobalTestEnvironment(new pgstack::testing::Runtime());
  return RUN_ALL_TESTS();
}
