#include "config/restart_impact.h"

#include <map>

#include <fmt/format.h>

namespace pgstack::config {

std::vector<ParameterChange> postgres_parameter_changes(const std::vector<TunedParameter>& before,
                                                        const std::vector<TunedParameter>& after,
                                                        const model::ParameterCatalog* catalog) {
  std::map<std::string, std::pair<std::string, std::string>> values;  // name -> (before, after), sorted
  for (const auto& parameter : before) values[parameter.name].first = parameter.value;
  for (const auto& parameter : after) values[parameter.name].second = parameter.value;
  std::vector<ParameterChange> changes;
  for (const auto& [name, pair] : values) {
    if (pair.first == pair.second) continue;
    ParameterChange change{name, pair.first, pair.second, "", true};
    if (const model::ParameterSpec* spec = catalog != nullptr ? catalog->find(name) : nullptr) {
      change.context = spec->context;
      change.needs_restart = spec->context == "postmaster";
    }
    changes.push_back(std::move(change));
  }
  return changes;
}

RestartImpact assess_restart(const ClusterTuningInputs& before, const ClusterTuningInputs& after,
                             const model::ParameterCatalog* catalog) {
  RestartImpact impact;
  if (before.postgres_major != after.postgres_major) {
    impact.reasons.push_back(fmt::format("the Postgres major changes from {} to {}: a major version upgrade",
                                         before.postgres_major, after.postgres_major));
  } else if (before.postgres_version != after.postgres_version) {
    impact.reasons.push_back(fmt::format("the Postgres version changes from {} to {}: its new binaries start",
                                         before.postgres_version.empty() ? "?" : before.postgres_version,
                                         after.postgres_version.empty() ? "?" : after.postgres_version));
  }
  const auto tuned = [](const ClusterTuningInputs& inputs) {
    return tune_postgres_parameters(tuning_input_for(inputs.cluster, inputs.profile,
                                                     inputs.postgres_config ? &*inputs.postgres_config : nullptr,
                                                     inputs.postgres_major));
  };
  impact.parameters = postgres_parameter_changes(tuned(before), tuned(after), catalog);
  for (const auto& change : impact.parameters) {
    if (!change.needs_restart) continue;
    impact.reasons.push_back(
        fmt::format("{} changes from {} to {} ({})", change.name, change.before.empty() ? "unset" : change.before,
                    change.after.empty() ? "unset" : change.after,
                    change.context.empty() ? "not in the parameter catalogue: assumed to need a restart"
                                           : "context " + change.context + ": needs a restart"));
  }
  impact.restart_required = !impact.reasons.empty();
  return impact;
}

}  // namespace pgstack::config
