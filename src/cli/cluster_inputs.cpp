#include "cli/cluster_inputs.h"

#include <fmt/format.h>

#include "config/render_pgbouncer.h"
#include "config/tuning.h"

namespace pgstack::cli {
namespace {

const model::Document* find_document(const std::vector<model::Document>& documents, const std::string& kind,
                                     const std::string& ns, const std::string& name) {
  for (const auto& document : documents) {
    if (document.kind() == kind && document.namespace_name() == ns && document.name() == name) return &document;
  }
  return nullptr;
}

Error missing_reference(const model::Cluster& cluster, const std::string& kind, const std::string& name) {
  return make_error(ErrorCode::kNotFound,
                    fmt::format("SGCluster/{} references {}/{}, which is not in the input; add its file with -f",
                                cluster.name, kind, name));
}

}  // namespace

Result<ClusterInputs> resolve_cluster_inputs(const std::vector<model::Document>& documents, const std::string& name,
                                             const std::vector<model::InstalledPostgres>& installed) {
  std::vector<const model::Document*> clusters;
  for (const auto& document : documents) {
    if (document.kind() == "SGCluster" && (name.empty() || document.name() == name)) clusters.push_back(&document);
  }
  if (clusters.empty()) {
    return make_error(ErrorCode::kNotFound, name.empty()
                                                ? std::string("the input has no SGCluster")
                                                : fmt::format("the input has no SGCluster named \"{}\"", name));
  }
  if (clusters.size() > 1) {
    std::vector<std::string> names;
    names.reserve(clusters.size());
    for (const auto* document : clusters) names.push_back(document->name());
    return make_error(ErrorCode::kInvalidInput,
                      fmt::format("the input has {} SGClusters ({}); choose one with --cluster", clusters.size(),
                                  fmt::join(names, ", ")));
  }
  ClusterInputs inputs;
  inputs.cluster = model::cluster_from(*clusters[0]);
  const auto& cluster = inputs.cluster;

  inputs.profile = model::default_instance_profile();
  if (!cluster.instance_profile_name.empty()) {
    const auto* document =
        find_document(documents, "SGInstanceProfile", cluster.namespace_name, cluster.instance_profile_name);
    if (document == nullptr) return missing_reference(cluster, "SGInstanceProfile", cluster.instance_profile_name);
    inputs.profile = model::instance_profile_from(*document);
  }
  if (!cluster.postgres_config_name.empty()) {
    const auto* document =
        find_document(documents, "SGPostgresConfig", cluster.namespace_name, cluster.postgres_config_name);
    if (document == nullptr) return missing_reference(cluster, "SGPostgresConfig", cluster.postgres_config_name);
    inputs.postgres_config = model::postgres_config_from(*document);
  }
  if (!cluster.pooling_config_name.empty()) {
    const auto* document =
        find_document(documents, "SGPoolingConfig", cluster.namespace_name, cluster.pooling_config_name);
    if (document == nullptr) return missing_reference(cluster, "SGPoolingConfig", cluster.pooling_config_name);
    inputs.pooling_config = model::pooling_config_from(*document);
  }
  auto postgres = model::resolve_postgres_version(cluster.postgres_version, installed);
  RETURN_IF_ERROR(postgres);
  inputs.postgres = postgres.value();
  return inputs;
}

model::Diagnostics tuning_warnings(const ClusterInputs& inputs, const std::vector<model::Document>& documents) {
  model::Diagnostics warnings;
  if (inputs.cluster.disable_connection_pooling) return warnings;
  const auto tuning =
      config::tuning_input_for(inputs.cluster, inputs.profile,
                               inputs.postgres_config ? &*inputs.postgres_config : nullptr, inputs.postgres.major);
  const auto* pooling = inputs.pooling_config ? &*inputs.pooling_config : nullptr;
  for (auto warning : config::pgbouncer_pool_warnings(inputs.cluster, pooling, config::pgbouncer_pool_budget(tuning))) {
    for (const auto& document : documents) {
      if (document.label() == warning.document && document.namespace_name() == inputs.cluster.namespace_name)
        warning.source = document.source;
    }
    warnings.add(std::move(warning));
  }
  return warnings;
}

}  // namespace pgstack::cli
