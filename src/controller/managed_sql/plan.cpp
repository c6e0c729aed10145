#include "controller/managed_sql/plan.h"

#include <algorithm>

#include "common/digest.h"
#include "common/time.h"

namespace pgstack::controller::managed_sql {
namespace {

using model::Json;

const EntryProgress* find_entry(const ScriptProgress* script, int id) {
  if (script == nullptr) return nullptr;
  for (const auto& entry : script->entries) {
    if (entry.id == id) return &entry;
  }
  return nullptr;
}

// The entry's progress; one that never ran gets its first here.
EntryProgress& entry_at(ClusterProgress& progress, const PlanInput& input, const EntryToRun& run) {
  const int id = input.scripts.at(run.script).entries.at(run.entry).entry.id;
  auto& entries = progress.scripts.at(run.script).entries;
  for (auto& entry : entries) {
    if (entry.id == id) return entry;
  }
  return entries.emplace_back(EntryProgress{id});
}

bool applied(const EntryProgress* stored, std::int64_t version) {
  return stored != nullptr && !stored->intents && !stored->failure_code && stored->version == version;
}

void set_if_present(Json& object, const char* key, const std::string& value) {
  if (!value.empty()) object[key] = value;
}

std::string string_or_empty(const Json& object, const char* key) {
  return object.contains(key) && object[key].is_string() ? object[key].get<std::string>() : "";
}

}  // namespace

bool ClusterProgress::operator==(const ClusterProgress& other) const {
  return progress_to_json(*this) == progress_to_json(other);
}

Json progress_to_status(const ClusterProgress& progress) {
  Json scripts = Json::array();
  for (const auto& script : progress.scripts) {
    Json item = {{"id", script.id}, {"sgScript", script.sg_script}};
    set_if_present(item, "startedAt", script.started_at);
    set_if_present(item, "updatedAt", script.updated_at);
    set_if_present(item, "completedAt", script.completed_at);
    set_if_present(item, "failedAt", script.failed_at);
    set_if_present(item, "failure", script.failure);
    Json entries = Json::array();
    for (const auto& entry : script.entries) {
      Json status = {{"id", entry.id}, {"version", entry.version}};
      if (entry.intents) status["intents"] = *entry.intents;
      if (entry.failure_code) status["failureCode"] = *entry.failure_code;
      if (entry.failure) status["failure"] = *entry.failure;
      entries.push_back(std::move(status));
    }
    item["scripts"] = std::move(entries);
    scripts.push_back(std::move(item));
  }
  return {{"scripts", std::move(scripts)}};
}

Json progress_to_json(const ClusterProgress& progress) {
  Json json = progress_to_status(progress);
  json["clusterUid"] = progress.cluster_uid;
  for (std::size_t s = 0; s < progress.scripts.size(); ++s) {
    for (std::size_t e = 0; e < progress.scripts[s].entries.size(); ++e) {
      const EntryProgress& entry = progress.scripts[s].entries[e];
      Json& out = json["scripts"][s]["scripts"][e];
      if (!entry.hash.empty()) out["hash"] = entry.hash;
      if (entry.attempted_at) out["attemptedAt"] = utc_timestamp(*entry.attempted_at);
    }
  }
  return json;
}

ClusterProgress progress_from_json(const Json& json) {
  ClusterProgress progress;
  if (!json.is_object()) return progress;
  progress.cluster_uid = string_or_empty(json, "clusterUid");
  for (const auto& item : json.value("scripts", Json::array())) {
    if (!item.is_object()) continue;
    ScriptProgress script;
    script.id = item.value("id", 0);
    script.sg_script = string_or_empty(item, "sgScript");
    script.started_at = string_or_empty(item, "startedAt");
    script.updated_at = string_or_empty(item, "updatedAt");
    script.completed_at = string_or_empty(item, "completedAt");
    script.failed_at = string_or_empty(item, "failedAt");
    script.failure = string_or_empty(item, "failure");
    for (const auto& stored : item.value("scripts", Json::array())) {
      if (!stored.is_object()) continue;
      EntryProgress entry;
      entry.id = stored.value("id", 0);
      entry.version = stored.value("version", std::int64_t{0});
      if (stored.contains("intents") && stored["intents"].is_number_integer())
        entry.intents = stored["intents"].get<int>();
      if (stored.contains("failureCode")) entry.failure_code = string_or_empty(stored, "failureCode");
      if (stored.contains("failure")) entry.failure = string_or_empty(stored, "failure");
      entry.hash = string_or_empty(stored, "hash");
      if (auto at = parse_utc_timestamp(string_or_empty(stored, "attemptedAt"))) entry.attempted_at = *at;
      script.entries.push_back(std::move(entry));
    }
    progress.scripts.push_back(std::move(script));
  }
  return progress;
}

std::string entry_hash(const model::ScriptEntry& entry, const std::string& sql) {
  // Each part with its length, so that no two different inputs hash the same text.
  std::string text;
  for (const std::string& part : {entry.database, entry.user, model::isolation_sql(entry.isolation),
                                  std::string(entry.store_status_in_database ? "true" : "false"),
                                  std::string(entry.retry_on_error ? "true" : "false"), sql})
    text += std::to_string(part.size()) + ":" + part + ";";
  return sha256_hex(text);
}

std::int64_t desired_version(const ResolvedEntry& entry, bool managed_versions, const EntryProgress* stored) {
  const std::int64_t users = entry.entry.version.value_or(0);
  if (!managed_versions || stored == nullptr) return users;
  // An entry that cannot be read, or has not run yet, keeps its version until its text is known.
  if (entry.hash.empty() || stored->hash.empty() || stored->hash == entry.hash) return std::max(stored->version, users);
  return std::max(stored->version + 1, users);
}

std::chrono::seconds retry_backoff(int intents) {
  std::chrono::seconds delay{10};
  for (int i = 1; i < intents && delay < std::chrono::minutes(10); ++i) delay *= 2;
  return std::min<std::chrono::seconds>(delay, std::chrono::minutes(10));
}

Plan plan_managed_sql(const PlanInput& input) {
  Plan plan;
  plan.progress.cluster_uid = input.cluster_uid;
  const bool same_cluster = input.progress.cluster_uid == input.cluster_uid;
  const std::string now = utc_timestamp(input.now);
  bool earlier_script_failed = false;  // stops later SGScripts unless continueOnSGScriptError

  for (std::size_t s = 0; s < input.scripts.size(); ++s) {
    const ResolvedScript& resolved = input.scripts[s];
    const ScriptProgress* stored_script = nullptr;
    for (const auto& candidate : input.progress.scripts) {
      // An id that now names another SGScript is a new script: it starts afresh.
      if (same_cluster && candidate.id == resolved.reference.id && candidate.sg_script == resolved.reference.sg_script)
        stored_script = &candidate;
    }
    ScriptProgress script = stored_script ? *stored_script : ScriptProgress{};
    script.id = resolved.reference.id;
    script.sg_script = resolved.reference.sg_script;
    script.entries.clear();
    const bool waiting = earlier_script_failed || plan.run.has_value();

    if (!resolved.script) {
      if (stored_script) script.entries = stored_script->entries;
      if (!waiting) {
        script.failure = resolved.problem;
        if (script.failed_at.empty()) script.failed_at = now;
        script.completed_at.clear();
        earlier_script_failed = earlier_script_failed || !input.continue_on_sgscript_error;
      }
      plan.progress.scripts.push_back(std::move(script));
      continue;
    }
    script.failure.clear();

    bool all_applied = true;
    bool entry_failed = false;  // stops later entries unless the SGScript's continueOnError
    for (std::size_t e = 0; e < resolved.entries.size(); ++e) {
      const ResolvedEntry& entry = resolved.entries[e];
      const EntryProgress* stored = find_entry(stored_script, entry.entry.id);
      EntryProgress progress = stored ? *stored : EntryProgress{entry.entry.id};
      const std::int64_t version = desired_version(entry, resolved.script->managed_versions, stored);
      if (applied(stored, version)) {
        script.entries.push_back(std::move(progress));
        continue;
      }
      all_applied = false;
      const bool blocked = waiting || plan.run.has_value() || (entry_failed && !resolved.script->continue_on_error);
      if (blocked) {
        if (stored) script.entries.push_back(std::move(progress));  // one that never ran is not shown
        continue;
      }
      if (!entry.problem.empty()) {
        // Nothing ran: reported as a failure of the version it waits for, and checked again each pass.
        if (progress.version != version) progress.intents = 0;
        progress.version = version;
        if (!progress.intents) progress.intents = 0;
        progress.failure_code = "XX500";
        progress.failure = entry.problem;
        if (script.failed_at.empty() || !script.completed_at.empty()) script.failed_at = now;
        script.completed_at.clear();
        entry_failed = true;
        script.entries.push_back(std::move(progress));
        continue;
      }
      const bool tried = stored && stored->version == version && stored->intents.value_or(0) > 0;
      if (tried && progress.failure_code == "XX500" && progress.failure) {
        // The last try could not read the entry; now it can.
      } else if (tried) {
        if (!entry.entry.retry_on_error) {
          entry_failed = true;  // failed (or cut short) and not to be retried: a new version runs again
          script.entries.push_back(std::move(progress));
          continue;
        }
        const Clock::time_point ready_at =
            stored->attempted_at.value_or(Clock::time_point{}) + retry_backoff(*stored->intents);
        if (input.now < ready_at) {
          plan.retry_at = plan.retry_at ? std::min(*plan.retry_at, ready_at) : ready_at;
          entry_failed = true;
          script.entries.push_back(std::move(progress));
          continue;
        }
      }
      plan.run = EntryToRun{s, e, version};
      if (stored) script.entries.push_back(std::move(progress));
    }
    if (all_applied && (script.completed_at.empty() || !script.failed_at.empty())) {
      script.completed_at = now;
      script.failed_at.clear();
    }
    if (entry_failed && !plan.run) earlier_script_failed = earlier_script_failed || !input.continue_on_sgscript_error;
    plan.progress.scripts.push_back(std::move(script));
  }
  if (plan.run) plan.retry_at.reset();
  return plan;
}

void record_attempt(ClusterProgress& progress, const PlanInput& input, const EntryToRun& run, Clock::time_point now) {
  ScriptProgress& script = progress.scripts.at(run.script);
  EntryProgress& entry = entry_at(progress, input, run);
  entry.intents = entry.version == run.version ? entry.intents.value_or(0) + 1 : 1;
  entry.version = run.version;
  entry.failure_code.reset();
  entry.failure.reset();
  entry.hash = input.scripts.at(run.script).entries.at(run.entry).hash;
  entry.attempted_at = now;
  if (script.started_at.empty()) script.started_at = utc_timestamp(now);
  script.updated_at = utc_timestamp(now);
  script.completed_at.clear();
}

void record_success(ClusterProgress& progress, const PlanInput& input, const EntryToRun& run) {
  EntryProgress& entry = entry_at(progress, input, run);
  entry.intents.reset();
  entry.failure_code.reset();
  entry.failure.reset();
}

void record_failure(ClusterProgress& progress, const PlanInput& input, const EntryToRun& run, const std::string& code,
                    const std::string& message, Clock::time_point now) {
  ScriptProgress& script = progress.scripts.at(run.script);
  EntryProgress& entry = entry_at(progress, input, run);
  entry.failure_code = code;
  entry.failure = message;
  script.failed_at = utc_timestamp(now);
  script.completed_at.clear();
}

}  // namespace pgstack::controller::managed_sql
