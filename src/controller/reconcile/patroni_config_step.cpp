#include "controller/reconcile/patroni_config_step.h"

#include <spdlog/spdlog.h>

#include "config/render_patroni.h"
#include "config/tuning.h"

namespace pgstack::controller {

using model::Json;

bool contains_all(const Json& actual, const Json& desired) {
  if (!desired.is_object()) return actual == desired;
  if (!actual.is_object()) return false;
  for (const auto& [key, value] : desired.items()) {
    if (!actual.contains(key) || !contains_all(actual[key], value)) {
      if (actual.contains(key) && !value.is_structured() && !actual[key].is_structured()) {
        const auto text = [](const Json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); };
        if (text(actual[key]) == text(value)) continue;
      }
      return false;
    }
  }
  return true;
}

PatroniConfigDecision decide_patroni_config(const PatroniConfigObservation& observed) {
  const ClusterTopology* topology = observed.topology;
  if (topology == nullptr || !topology->leader || topology->members.count(*topology->leader) == 0)
    return {std::nullopt, "", "no running primary to ask"};
  if (topology->dynamic_config.empty()) return {std::nullopt, "", "Patroni has not written its configuration yet"};

  const ResolvedInputs& inputs = *observed.inputs;
  const model::InstanceProfile profile = inputs.profile.is_object()
                                             ? model::instance_profile_from({"", 0, inputs.profile})
                                             : model::default_instance_profile();
  std::optional<model::PostgresConfig> postgres_config;
  if (inputs.postgres_config.is_object())
    postgres_config = model::postgres_config_from({"", 0, inputs.postgres_config});
  const auto tuning = config::tuning_input_for(*observed.cluster, profile,
                                               postgres_config ? &*postgres_config : nullptr, inputs.postgres.major);
  Json desired = config::patroni_dynamic_config(*observed.cluster, config::tune_postgres_parameters(tuning));
  if (contains_all(topology->dynamic_config, desired)) return {std::nullopt, "", "Patroni has it already"};
  return {std::move(desired), *topology->leader, "Patroni's configuration differs"};
}

StepOutcome sync_patroni_config(const StepEnvironment&, ClusterState& state) {
  const PatroniConfigDecision decision =
      decide_patroni_config({&state.cluster, &state.inputs, state.topology ? &*state.topology : nullptr});
  if (!decision.patch) return StepOutcome::proceed();
  auto patched = patch_dynamic_config(state.topology->members.at(decision.leader), *decision.patch);
  if (patched.ok()) {
    spdlog::info("cluster {}: updated Patroni's dynamic configuration", state.key);
  } else {
    spdlog::warn("cluster {}: {}", state.key, patched.error().message);
  }
  return StepOutcome::proceed();
}

}  // namespace pgstack::controller
