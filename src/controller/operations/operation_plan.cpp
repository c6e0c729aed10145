#include "controller/operations/operation_plan.h"

#include <algorithm>
#include <charconv>
#include <tuple>

#include <fmt/format.h>

#include "common/time.h"

namespace pgstack::controller::operations {
namespace {

bool condition_is_true(const Json& status, const std::string& type) {
  if (!status.is_object() || !status.contains("conditions") || !status["conditions"].is_array()) return false;
  for (const Json& condition : status["conditions"]) {
    if (condition.is_object() && condition.value("type", "") == type) return condition.value("status", "") == "True";
  }
  return false;
}

std::vector<std::string> strings_of(const Json& json, const char* key) {
  std::vector<std::string> out;
  if (!json.is_object() || !json.contains(key) || !json[key].is_array()) return out;
  for (const Json& item : json[key]) {
    if (item.is_string()) out.push_back(item.get<std::string>());
  }
  return out;
}

bool contains(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

}  // namespace

Phase phase_of(const Json& status) {
  if (condition_is_true(status, "Completed")) return Phase::kCompleted;
  if (condition_is_true(status, "Failed")) return Phase::kFailed;
  if (status.is_object() && status.contains("opStarted") && status["opStarted"].is_string()) return Phase::kRunning;
  return Phase::kPending;
}

QueueDecision decide_queue(const std::vector<QueuedOperation>& operations, std::chrono::system_clock::time_point now) {
  std::vector<const QueuedOperation*> open;
  for (const auto& operation : operations) {
    const Phase phase = phase_of(operation.status);
    if (phase == Phase::kPending || phase == Phase::kRunning) open.push_back(&operation);
  }
  std::sort(open.begin(), open.end(), [](const QueuedOperation* a, const QueuedOperation* b) {
    return std::tie(a->spec.created, a->spec.revision, a->spec.name) <
           std::tie(b->spec.created, b->spec.revision, b->spec.name);
  });
  QueueDecision decision;
  for (const QueuedOperation* operation : open) {
    if (phase_of(operation->status) == Phase::kRunning) {
      decision.run = operation->spec.name;
      break;
    }
  }
  if (!decision.run) {
    for (const QueuedOperation* operation : open) {
      if (!operation->spec.run_at.empty()) {
        const auto at = parse_utc_timestamp(operation->spec.run_at);
        if (at && *at > now) continue;
      }
      decision.run = operation->spec.name;
      break;
    }
  }
  for (const QueuedOperation* operation : open) {
    if (decision.run && operation->spec.name == *decision.run) continue;
    const auto at = operation->spec.run_at.empty() ? std::nullopt : parse_utc_timestamp(operation->spec.run_at);
    if (at && *at > now) {
      decision.waiting[operation->spec.name] = fmt::format("scheduled for {} (runAt)", operation->spec.run_at);
    } else if (decision.run) {
      decision.waiting[operation->spec.name] =
          fmt::format("waiting for SGDbOps {} to finish (one operation at a time per cluster)", *decision.run);
    }
  }
  return decision;
}

bool timed_out(const model::DbOps& spec, const Json& status, std::chrono::system_clock::time_point now) {
  if (!spec.timeout || !status.is_object() || !status.contains("opStarted") || !status["opStarted"].is_string())
    return false;
  const auto started = parse_utc_timestamp(status["opStarted"].get<std::string>());
  return started && now - *started >= *spec.timeout;
}

Json conditions_for(Phase phase, const std::string& reason, const std::string& message, const std::string& now,
                    const Json& previous_conditions) {
  Json conditions = Json::array();
  for (const auto& [type, wanted] : {std::pair{"Running", Phase::kRunning}, std::pair{"Completed", Phase::kCompleted},
                                     std::pair{"Failed", Phase::kFailed}}) {
    const std::string status = phase == wanted ? "True" : "False";
    std::string since = now;
    if (previous_conditions.is_array()) {
      for (const Json& previous : previous_conditions) {
        if (previous.is_object() && previous.value("type", "") == type && previous.value("status", "") == status)
          since = previous.value("lastTransitionTime", now);
      }
    }
    Json condition = {{"type", type}, {"status", status}, {"lastTransitionTime", since}};
    if (phase == wanted || (phase == Phase::kPending && std::string(type) == "Running")) {
      condition["reason"] = reason;
      condition["message"] = message;
    }
    conditions.push_back(condition);
  }
  return conditions;
}

Json to_json(const RestartProgress& progress) {
  Json json = {{"primaryInstance", progress.primary_instance},
               {"initialInstances", progress.initial_instances},
               {"pendingToRestartInstances", progress.pending},
               {"restartedInstances", progress.restarted}};
  if (!progress.switchover_initiated.empty()) json["switchoverInitiated"] = progress.switchover_initiated;
  if (!progress.switchover_finalized.empty()) json["switchoverFinalized"] = progress.switchover_finalized;
  if (!progress.restarting.empty()) {
    json["restartingInstance"] = progress.restarting;
    json["restartingInstanceStartedBefore"] = progress.restarting_started_before;
  }
  if (progress.additional_requested) {
    json["additionalInstance"] =
        progress.additional_instance.empty() ? Json(nullptr) : Json(progress.additional_instance);
    json["additionalInstanceReleased"] = progress.additional_released;
  }
  return json;
}

RestartProgress restart_progress_from(const Json& json) {
  RestartProgress progress;
  if (!json.is_object()) return progress;
  progress.primary_instance = json.value("primaryInstance", "");
  progress.initial_instances = strings_of(json, "initialInstances");
  progress.pending = strings_of(json, "pendingToRestartInstances");
  progress.restarted = strings_of(json, "restartedInstances");
  progress.switchover_initiated = json.value("switchoverInitiated", "");
  progress.switchover_finalized = json.value("switchoverFinalized", "");
  progress.restarting = json.value("restartingInstance", "");
  progress.restarting_started_before = json.value("restartingInstanceStartedBefore", "");
  if (json.contains("additionalInstance")) {
    progress.additional_requested = true;
    if (json["additionalInstance"].is_string())
      progress.additional_instance = json["additionalInstance"].get<std::string>();
    progress.additional_released = json.value("additionalInstanceReleased", false);
  }
  return progress;
}

std::vector<std::string> members_to_restart(const model::DbOps& spec, const std::map<std::string, MemberState>& members,
                                            std::int64_t installed_version_num) {
  std::vector<std::string> chosen;
  for (const auto& [name, member] : members) {
    if (spec.op == "restart") {
      if (!spec.only_pending_restart || member.pending_restart) chosen.push_back(name);
    } else if (member.server_version == 0 || member.server_version < installed_version_num) {
      // Upgrades: a member whose running binary is older than the installed one (unknown counts as older).
      chosen.push_back(name);
    }
  }
  return chosen;
}

std::string additional_member(const RestartProgress& progress, const std::map<std::string, MemberState>& members) {
  for (const auto& [name, member] : members) {
    if (!contains(progress.initial_instances, name)) return name;
  }
  return {};
}

RestartStep next_restart_step(const RestartProgress& progress, const std::map<std::string, MemberState>& members,
                              const std::optional<std::string>& leader, bool reduced_impact) {
  if (!progress.restarting.empty()) return {RestartAction::kConfirmRestart, progress.restarting, "confirming", ""};
  const bool has_additional = progress.additional_requested && !progress.additional_released;
  if (reduced_impact && !progress.additional_requested)
    return {RestartAction::kAddInstance, "", "adding a member for the restart's duration", ""};
  // A replica of the initial members to lead next: one already restarted first (it runs the new settings).
  const auto candidate_besides = [&](const std::string& current) {
    std::string chosen;
    for (const auto& name : progress.initial_instances) {
      const auto found = members.find(name);
      if (name == current || found == members.end() || found->second.state != "running") continue;
      if (contains(progress.restarted, name)) return name;
      if (chosen.empty()) chosen = name;
    }
    return chosen;
  };
  std::vector<std::string> remaining;
  for (const auto& name : progress.pending) {
    if (!contains(progress.restarted, name)) remaining.push_back(name);
  }
  if (remaining.empty()) {
    if (has_additional && leader && *leader == progress.additional_instance) {
      if (const std::string back = candidate_besides(*leader); !back.empty())
        return {RestartAction::kSwitchBack, *leader, fmt::format("moving the primary back to {}", back), back};
      return {RestartAction::kWait, "", "waiting for a member to hand the primary back to", ""};
    }
    if (has_additional)
      return {RestartAction::kRemoveInstance, progress.additional_instance, "removing the additional member", ""};
    if (progress.additional_released && members.size() > progress.initial_instances.size())
      return {RestartAction::kWait, progress.additional_instance, "waiting for the additional member to go", ""};
    return {RestartAction::kDone, "", "every member was restarted", ""};
  }
  for (const auto& name : remaining) {
    if (members.count(name) == 0) return {RestartAction::kFail, name, fmt::format("member {} is gone", name), ""};
  }
  if (has_additional && additional_member(progress, members).empty())
    return {RestartAction::kWait, "", "waiting for the additional member to start", ""};
  // One member at a time: the next waits until every member runs again (and the primary is known).
  for (const auto& [name, member] : members) {
    if (member.state != "running") return {RestartAction::kWait, name, fmt::format("waiting for {} to run", name), ""};
  }
  if (!leader || members.count(*leader) == 0) return {RestartAction::kWait, "", "waiting for a primary", ""};
  for (const auto& name : remaining) {
    if (name != *leader) return {RestartAction::kRestart, name, fmt::format("restarting replica {}", name), ""};
  }
  // Only the primary is left: with replicas, hand its role over first and restart it as a replica. The
  // additional member leads only when no initial member can (it would then be the one kept).
  if (members.size() > 1)
    return {RestartAction::kSwitchover, *leader, fmt::format("switching over from {}", *leader),
            candidate_besides(*leader)};
  return {RestartAction::kRestart, *leader, fmt::format("restarting the only member {}", *leader), ""};
}

std::int64_t version_num(const std::string& version) {
  std::int64_t major = 0, minor = 0;
  const char* end = version.data() + version.size();
  auto [next, failure] = std::from_chars(version.data(), end, major);
  if (failure != std::errc()) return 0;
  if (next != end && *next == '.') {
    auto [after, minor_failure] = std::from_chars(next + 1, end, minor);
    if (minor_failure != std::errc()) return 0;
  }
  return major * 10000 + minor;
}

}  // namespace pgstack::controller::operations
