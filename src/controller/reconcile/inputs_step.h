// What a cluster runs with: the installed Postgres its version resolves to and the documents it
// refers to (SGInstanceProfile, SGPostgresConfig, SGPoolingConfig, the backups' SGObjectStorage).
// A version that is not installed or a document that does not exist stops the reconcile.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "controller/reconcile/step.h"

namespace pgstack::controller {

struct DocumentReference {
  std::string kind;
  std::string name;
  bool operator==(const DocumentReference&) const = default;
};

// The documents the cluster refers to, in the order they are checked; unnamed ones are left out.
std::vector<DocumentReference> referenced_documents(const model::Cluster& cluster);

struct InputsObservation {
  const model::Cluster* cluster = nullptr;
  std::vector<model::InstalledPostgres> installed_postgres;
  // Each referenced document by "<kind>/<name>"; absent: it does not exist (or could not be read).
  std::map<std::string, model::Json> found;
};

struct InputsDecision {
  ResolvedInputs inputs;
  StepOutcome outcome;  // stopped with the first problem
};

InputsDecision resolve_inputs(const InputsObservation& observed);

StepOutcome resolve_cluster_inputs(const StepEnvironment& environment, ClusterState& state);

}  // namespace pgstack::controller
