// Everything needed to render one cluster's instances, resolved from validated documents.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/error.h"
#include "model/resources.h"
#include "model/validator.h"

namespace pgstack::cli {

struct ClusterInputs {
  model::Cluster cluster;
  model::InstanceProfile profile;
  std::optional<model::PostgresConfig> postgres_config;
  std::optional<model::PoolingConfig> pooling_config;
  model::InstalledPostgres postgres;  // the major that runs
};

// Picks the SGCluster `name` (or the only one) and resolves what it references from the same input.
Result<ClusterInputs> resolve_cluster_inputs(const std::vector<model::Document>& documents, const std::string& name,
                                             const std::vector<model::InstalledPostgres>& installed);

// Findings that need the cluster's tuning, which validation (model) cannot compute: PgBouncer pool
// limits above what the cluster's Postgres takes. Each names the file of the document that set it.
model::Diagnostics tuning_warnings(const ClusterInputs& inputs, const std::vector<model::Document>& documents);

}  // namespace pgstack::cli
