// Which SGScript entry runs next: order, versions (managed and the user's), continueOnError,
// continueOnSGScriptError, retryOnError with backoff, entries that cannot be read, and the progress
// as StackGres reports it.
#include <gtest/gtest.h>

#include "common/time.h"
#include "controller/managed_sql/plan.h"

namespace pgstack::controller::managed_sql {
namespace {

using std::chrono::seconds;

Clock::time_point at(const char* text) { return parse_utc_timestamp(text).value(); }

ResolvedEntry inline_entry(int id, const std::string& sql, bool retry = false) {
  model::ScriptEntry entry;
  entry.id = id;
  entry.script = sql;
  entry.retry_on_error = retry;
  return {entry, sql, false, "", entry_hash(entry, sql)};
}

ResolvedScript script(int id, const std::string& name, std::vector<ResolvedEntry> entries,
                      bool continue_on_error = false, bool managed_versions = true) {
  model::Script spec;
  spec.name = name;
  spec.continue_on_error = continue_on_error;
  spec.managed_versions = managed_versions;
  for (const auto& entry : entries) spec.entries.push_back(entry.entry);
  return {{id, name}, spec, "", std::move(entries)};
}

PlanInput input_of(std::vector<ResolvedScript> scripts, const char* now = "2026-12-04T10:00:00Z") {
  PlanInput input;
  input.cluster_uid = "uid-1";
  input.scripts = std::move(scripts);
  input.now = at(now);
  return input;
}

// Runs the plan's entries one by one as the runner does, with `fails` deciding each outcome; returns
// the order "script/entry@version".
std::vector<std::string> run_all(PlanInput& input, const std::function<bool(const ResolvedEntry&)>& fails = nullptr) {
  std::vector<std::string> order;
  for (int guard = 0; guard < 50; ++guard) {
    Plan plan = plan_managed_sql(input);
    input.progress = plan.progress;
    if (!plan.run) break;
    const ResolvedEntry& entry = input.scripts[plan.run->script].entries[plan.run->entry];
    order.push_back(input.scripts[plan.run->script].reference.sg_script + "/" + std::to_string(entry.entry.id) + "@" +
                    std::to_string(plan.run->version));
    record_attempt(input.progress, input, *plan.run, input.now);
    if (fails && fails(entry)) {
      record_failure(input.progress, input, *plan.run, "42P01", "relation \"missing\" does not exist", input.now);
    } else {
      record_success(input.progress, input, *plan.run);
    }
  }
  return order;
}

TEST(ManagedSqlPlan, RunsEveryEntryOnceInOrder) {
  PlanInput input = input_of(
      {script(0, "a", {inline_entry(0, "A0"), inline_entry(1, "A1")}), script(1, "b", {inline_entry(0, "B0")})});
  EXPECT_EQ(run_all(input), (std::vector<std::string>{"a/0@0", "a/1@0", "b/0@0"}));
  EXPECT_TRUE(run_all(input).empty());  // applied: never again
  const model::Json status = progress_to_status(input.progress);
  EXPECT_EQ(status["scripts"][0]["completedAt"], "2026-12-04T10:00:00Z");
  EXPECT_EQ(status["scripts"][0]["startedAt"], "2026-12-04T10:00:00Z");
  EXPECT_FALSE(status["scripts"][0].contains("failedAt"));
  EXPECT_EQ(status["scripts"][1]["scripts"], model::Json::parse(R"([{"id":0,"version":0}])"));
  EXPECT_FALSE(status.dump().find("hash") != std::string::npos);  // kept in etcd only
}

TEST(ManagedSqlPlan, AChangedScriptGetsTheNextManagedVersionAndRunsAgain) {
  PlanInput input = input_of({script(0, "a", {inline_entry(0, "A0"), inline_entry(1, "A1")})});
  run_all(input);
  input.scripts[0].entries[1] = inline_entry(1, "A1 changed");
  EXPECT_EQ(run_all(input), (std::vector<std::string>{"a/1@1"}));
  // Back to the first text: a change again, so a new version.
  input.scripts[0].entries[1] = inline_entry(1, "A1");
  EXPECT_EQ(run_all(input), (std::vector<std::string>{"a/1@2"}));
  // A version the user writes counts when it is higher.
  input.scripts[0].entries[0].entry.version = 5;
  EXPECT_EQ(run_all(input), (std::vector<std::string>{"a/0@5"}));
}

TEST(ManagedSqlPlan, WithoutManagedVersionsOnlyTheUsersVersionCounts) {
  PlanInput input = input_of({script(0, "a", {inline_entry(0, "A0")}, false, false)});
  EXPECT_EQ(run_all(input), (std::vector<std::string>{"a/0@0"}));
  input.scripts[0].entries[0] = inline_entry(0, "A0 changed");
  EXPECT_TRUE(run_all(input).empty());
  input.scripts[0].entries[0].entry.version = 1;
  EXPECT_EQ(run_all(input), (std::vector<std::string>{"a/0@1"}));
}

TEST(ManagedSqlPlan, AFailureStopsTheScriptAndLaterScripts) {
  PlanInput input = input_of({script(0, "a", {inline_entry(0, "A0"), inline_entry(1, "bad"), inline_entry(2, "A2")}),
                              script(1, "b", {inline_entry(0, "B0")})});
  const auto bad = [](const ResolvedEntry& entry) { return entry.sql == "bad"; };
  EXPECT_EQ(run_all(input, bad), (std::vector<std::string>{"a/0@0", "a/1@0"}));
  EXPECT_TRUE(run_all(input, bad).empty());  // not retried: it stays failed
  const model::Json status = progress_to_status(input.progress);
  EXPECT_EQ(status["scripts"][0]["failedAt"], "2026-12-04T10:00:00Z");
  EXPECT_FALSE(status["scripts"][0].contains("completedAt"));
  EXPECT_EQ(
      status["scripts"][0]["scripts"][1],
      model::Json::parse(
          R"({"id":1,"version":0,"intents":1,"failureCode":"42P01","failure":"relation \"missing\" does not exist"})"));
  EXPECT_EQ(status["scripts"][0]["scripts"].size(), 2u);  // entry 2 never ran: not shown
  EXPECT_FALSE(status["scripts"][1].contains("startedAt"));

  // Fixed: the new text is a new version, and the rest follows.
  input.scripts[0].entries[1] = inline_entry(1, "fixed");
  EXPECT_EQ(run_all(input, bad), (std::vector<std::string>{"a/1@1", "a/2@0", "b/0@0"}));
  EXPECT_FALSE(progress_to_status(input.progress)["scripts"][0].contains("failedAt"));
}

TEST(ManagedSqlPlan, ContinueOnErrorRunsTheLaterEntries) {
  PlanInput input =
      input_of({script(0, "a", {inline_entry(0, "bad"), inline_entry(1, "A1")}, /*continue_on_error=*/true),
                script(1, "b", {inline_entry(0, "B0")})});
  const auto bad = [](const ResolvedEntry& entry) { return entry.sql == "bad"; };
  // The SGScript failed, so the next one waits (continueOnSGScriptError is false)...
  EXPECT_EQ(run_all(input, bad), (std::vector<std::string>{"a/0@0", "a/1@0"}));
  // ...unless the cluster says to go on.
  input.continue_on_sgscript_error = true;
  EXPECT_EQ(run_all(input, bad), (std::vector<std::string>{"b/0@0"}));
}

TEST(ManagedSqlPlan, RetryOnErrorBacksOffThenRunsAgain) {
  PlanInput input = input_of({script(0, "a", {inline_entry(0, "bad", /*retry=*/true), inline_entry(1, "A1")})});
  const auto bad = [](const ResolvedEntry& entry) { return entry.sql == "bad"; };
  EXPECT_EQ(run_all(input, bad), (std::vector<std::string>{"a/0@0"}));
  Plan plan = plan_managed_sql(input);
  EXPECT_FALSE(plan.run);
  EXPECT_EQ(plan.retry_at, at("2026-12-04T10:00:10Z"));
  input.now = at("2026-12-04T10:00:10Z");
  EXPECT_EQ(run_all(input, bad), (std::vector<std::string>{"a/0@0"}));
  EXPECT_EQ(input.progress.scripts[0].entries[0].intents, 2);
  EXPECT_EQ(plan_managed_sql(input).retry_at, at("2026-12-04T10:00:30Z"));  // 20 s after the second try
  input.now = at("2026-12-04T10:00:30Z");
  EXPECT_EQ(run_all(input), (std::vector<std::string>{"a/0@0", "a/1@0"}));
  EXPECT_FALSE(input.progress.scripts[0].entries[0].intents);
  EXPECT_EQ(retry_backoff(1), seconds(10));
  EXPECT_EQ(retry_backoff(4), seconds(80));
  EXPECT_EQ(retry_backoff(30), seconds(600));
}

TEST(ManagedSqlPlan, AnInterruptedRunIsNotRepeatedWithoutRetryOnError) {
  // The controller stopped after recording the attempt, before the result.
  PlanInput input = input_of({script(0, "a", {inline_entry(0, "A0")})});
  Plan plan = plan_managed_sql(input);
  ASSERT_TRUE(plan.run);
  input.progress = plan.progress;
  record_attempt(input.progress, input, *plan.run, input.now);
  EXPECT_FALSE(plan_managed_sql(input).run);
  input.scripts[0].entries[0].entry.retry_on_error = true;
  input.scripts[0].entries[0].hash = input.progress.scripts[0].entries[0].hash;  // same text
  input.now += seconds(10);
  EXPECT_TRUE(plan_managed_sql(input).run);
}

TEST(ManagedSqlPlan, AnEntryThatCannotBeReadIsReportedAndWaits) {
  ResolvedEntry from_secret = inline_entry(1, "");
  from_secret.problem = "scriptFrom.secretKeyRef: Secret default/sql does not exist";
  from_secret.hash.clear();
  PlanInput input = input_of({script(0, "a", {inline_entry(0, "A0"), from_secret, inline_entry(2, "A2")})});
  EXPECT_EQ(run_all(input), (std::vector<std::string>{"a/0@0"}));
  const model::Json entry = progress_to_status(input.progress)["scripts"][0]["scripts"][1];
  const model::Json expected = {{"id", 1},
                                {"version", 0},
                                {"intents", 0},
                                {"failureCode", "XX500"},
                                {"failure", "scriptFrom.secretKeyRef: Secret default/sql does not exist"}};
  EXPECT_EQ(entry, expected);
  // The Secret appears: it runs, without a version change.
  input.scripts[0].entries[1] = inline_entry(1, "GRANT ...");
  EXPECT_EQ(run_all(input), (std::vector<std::string>{"a/1@0", "a/2@0"}));
}

TEST(ManagedSqlPlan, AMissingSGScriptFailsItsReference) {
  ResolvedScript gone;
  gone.reference = {0, "gone"};
  gone.problem = "SGScript default/gone does not exist";
  PlanInput input = input_of({gone, script(1, "b", {inline_entry(0, "B0")})});
  EXPECT_TRUE(run_all(input).empty());
  const model::Json status = progress_to_status(input.progress);
  EXPECT_EQ(status["scripts"][0]["failure"], "SGScript default/gone does not exist");
  EXPECT_EQ(status["scripts"][0]["failedAt"], "2026-12-04T10:00:00Z");
  input.continue_on_sgscript_error = true;
  EXPECT_EQ(run_all(input), (std::vector<std::string>{"b/0@0"}));
}

TEST(ManagedSqlPlan, ProgressOfAnotherClusterOrRemovedReferencesIsDropped) {
  PlanInput input = input_of({script(0, "a", {inline_entry(0, "A0")}), script(1, "b", {inline_entry(0, "B0")})});
  run_all(input);
  input.scripts.erase(input.scripts.begin());
  EXPECT_TRUE(run_all(input).empty());
  ASSERT_EQ(input.progress.scripts.size(), 1u);
  EXPECT_EQ(input.progress.scripts[0].sg_script, "b");
  input.cluster_uid = "uid-2";  // deleted and created again under the same name
  EXPECT_EQ(run_all(input), (std::vector<std::string>{"b/0@0"}));
}

TEST(ManagedSqlPlan, ProgressSurvivesItsEtcdForm) {
  PlanInput input = input_of({script(0, "a", {inline_entry(0, "bad", true), inline_entry(1, "A1")})});
  run_all(input, [](const ResolvedEntry& entry) { return entry.sql == "bad"; });
  const ClusterProgress read = progress_from_json(model::Json::parse(progress_to_json(input.progress).dump()));
  EXPECT_TRUE(read == input.progress);
  EXPECT_EQ(read.scripts[0].entries[0].attempted_at, at("2026-12-04T10:00:00Z"));
  EXPECT_EQ(read.scripts[0].entries[0].hash, entry_hash(input.scripts[0].entries[0].entry, "bad"));
}

TEST(ManagedSqlPlan, TheHashCoversTheOptionsThatChangeWhatRuns) {
  model::ScriptEntry entry;
  const std::string base = entry_hash(entry, "SELECT 1");
  EXPECT_EQ(base.size(), 64u);
  EXPECT_NE(entry_hash(entry, "SELECT 2"), base);
  model::ScriptEntry other = entry;
  other.database = "app";
  EXPECT_NE(entry_hash(other, "SELECT 1"), base);
  other = entry;
  other.isolation = model::ScriptIsolation::kSerializable;
  EXPECT_NE(entry_hash(other, "SELECT 1"), base);
  other = entry;
  other.name = "renamed";  // a name does not change what runs
  EXPECT_EQ(entry_hash(other, "SELECT 1"), base);
}

}  // namespace
}  // namespace pgstack::controller::managed_sql
