// Whether a change of a cluster's inputs (its SGCluster, SGInstanceProfile, SGPostgresConfig) needs a
// restart of Postgres: the tuned parameters before and after, each change judged by its context in
// the major's parameter catalogue (pg_settings.context "postmaster" only takes effect on a restart, as
// Patroni's pending_restart reports), and a change of the Postgres version. Pure, no I/O.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "config/tuning.h"
#include "model/postgres_parameters.h"
#include "model/resources.h"

namespace pgstack::config {

struct ParameterChange {
  std::string name;
  std::string before;   // empty when added
  std::string after;    // empty when removed
  std::string context;  // pg_settings.context; empty when the catalogue does not know the parameter
  bool needs_restart = false;
};

// Parameters whose value differs (added or removed count). A parameter the catalogue does not know
// (or no catalogue) is taken to need a restart: a restart is never missed.
std::vector<ParameterChange> postgres_parameter_changes(const std::vector<TunedParameter>& before,
                                                        const std::vector<TunedParameter>& after,
                                                        const model::ParameterCatalog* catalog);

// One cluster's inputs as the reconciler tunes them.
struct ClusterTuningInputs {
  model::Cluster cluster;
  model::InstanceProfile profile;
  std::optional<model::PostgresConfig> postgres_config;
  int postgres_major = 0;        // resolved
  std::string postgres_version;  // resolved ("15.18"); empty when unknown
};

struct RestartImpact {
  bool restart_required = false;
  std::vector<std::string> reasons;  // one line each: what changes and why it needs the restart
  std::vector<ParameterChange> parameters;
};

RestartImpact assess_restart(const ClusterTuningInputs& before, const ClusterTuningInputs& after,
                             const model::ParameterCatalog* catalog);

}  // namespace pgstack::config
