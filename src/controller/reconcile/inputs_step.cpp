#include "controller/reconcile/inputs_step.h"

#include <fmt/format.h>

namespace pgstack::controller {

std::vector<DocumentReference> referenced_documents(const model::Cluster& cluster) {
  std::vector<DocumentReference> references;
  const auto add = [&](const char* kind, const std::string& name) {
    if (!name.empty()) references.push_back({kind, name});
  };
  add("SGInstanceProfile", cluster.instance_profile_name);
  add("SGPostgresConfig", cluster.postgres_config_name);
  add("SGPoolingConfig", cluster.pooling_config_name);
  if (cluster.backup) add("SGObjectStorage", cluster.backup->object_storage);
  return references;
}

InputsDecision resolve_inputs(const InputsObservation& observed) {
  const model::Cluster& cluster = *observed.cluster;
  InputsDecision decision;
  const auto postgres = model::resolve_postgres_version(cluster.postgres_version, observed.installed_postgres);
  if (postgres.ok()) {
    decision.inputs.postgres = postgres.value();
  } else {
    decision.outcome = StepOutcome::stopped("PostgresVersionNotInstalled", postgres.error().message);
  }
  const std::map<std::string, model::Json*> targets = {{"SGInstanceProfile", &decision.inputs.profile},
                                                       {"SGPostgresConfig", &decision.inputs.postgres_config},
                                                       {"SGPoolingConfig", &decision.inputs.pooling_config},
                                                       {"SGObjectStorage", &decision.inputs.object_storage}};
  for (const auto& reference : referenced_documents(cluster)) {
    const auto found = observed.found.find(reference.kind + "/" + reference.name);
    if (found != observed.found.end()) {
      *targets.at(reference.kind) = found->second;
    } else if (!decision.outcome.stop) {
      decision.outcome = StepOutcome::stopped(
          "ReferencedResourceMissing",
          fmt::format("{}/{} does not exist in namespace {}", reference.kind, reference.name, cluster.namespace_name));
    }
  }
  return decision;
}

StepOutcome resolve_cluster_inputs(const StepEnvironment& environment, ClusterState& state) {
  InputsObservation observed;
  observed.cluster = &state.cluster;
  observed.installed_postgres = environment.settings.installed_postgres;
  for (const auto& reference : referenced_documents(state.cluster)) {
    auto found = environment.store.get(reference.kind, state.cluster.namespace_name, reference.name);
    if (found.ok()) observed.found[reference.kind + "/" + reference.name] = found->body;
  }
  InputsDecision decision = resolve_inputs(observed);
  state.inputs = std::move(decision.inputs);
  return decision.outcome;
}

}  // namespace pgstack::controller
