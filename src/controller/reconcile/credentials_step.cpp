#include "controller/reconcile/credentials_step.h"

#include <string>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "controller/credentials.h"
#include "controller/reconcile/log_store_step.h"
#include "store/keys.h"

namespace pgstack::controller {

CredentialsDecision decide_credentials(const CredentialsObservation& observed) {
  if (!observed.read) return {false, "etcd did not answer; the next pass looks again"};
  if (observed.exists) return {false, "the cluster has its credentials"};
  return {true, "the cluster has no credentials yet"};
}

std::optional<model::Json> with_missing_credentials(const model::Json& stored, const model::Json& generated) {
  if (!stored.is_object() || !generated.is_object()) return std::nullopt;
  model::Json merged = stored;
  bool added = false;
  for (const auto& [role, credential] : generated.items()) {
    if (merged.contains(role)) continue;
    merged[role] = credential;
    added = true;
  }
  if (!added) return std::nullopt;
  return merged;
}

namespace {

// A cluster made before a role existed: add that role's credential, with the revision read, so a
// concurrent writer wins and the next pass looks again.
void add_missing_credentials(const store::EtcdClient& etcd, const std::string& key, const store::KeyValue& stored,
                             const ClusterState& state) {
  const model::Json current = model::Json::parse(stored.value, nullptr, false);
  // Every pass of every cluster comes here: generate passwords only when a role lacks one.
  const bool log_store = runs_distributed_logs(state.document);
  if (!lacks_credentials(current, state.cluster, log_store)) return;
  auto fresh = generate_cluster_credentials(state.cluster, log_store);
  if (!fresh.ok()) {
    spdlog::error("cluster {}: cannot generate credentials: {}", state.key, fresh.error().message);
    return;
  }
  const auto merged = with_missing_credentials(current, fresh.value());
  if (!merged) return;
  std::vector<std::string> added;
  for (const auto& [role, credential] : merged->items()) {
    if (!current.contains(role)) added.push_back(role);
  }
  if (auto written = etcd.put_if(key, merged->dump(), stored.mod_revision); !written.ok()) {
    if (written.error().code != ErrorCode::kConflict)
      spdlog::warn("cluster {}: cannot add credentials: {}", state.key, written.error().message);
    return;
  }
  spdlog::info("cluster {}: added credentials for {}", state.key, fmt::format("{}", fmt::join(added, ", ")));
}

}  // namespace

StepOutcome ensure_credentials(const StepEnvironment& environment, ClusterState& state) {
  const auto& etcd = environment.store.client();
  const std::string key =
      store::keys::cluster_secrets(environment.settings.etcd_prefix, state.cluster.namespace_name, state.cluster.name);
  auto stored = etcd.get(key);
  const CredentialsDecision decision = decide_credentials({stored.ok(), stored.ok() && stored->has_value()});
  if (!decision.create) {
    if (stored.ok() && stored->has_value()) add_missing_credentials(etcd, key, **stored, state);
    return StepOutcome::proceed();
  }

  auto credentials = generate_cluster_credentials(state.cluster, runs_distributed_logs(state.document));
  if (!credentials.ok()) {
    spdlog::error("cluster {}: cannot generate credentials: {}", state.key, credentials.error().message);
    return StepOutcome::proceed();
  }
  // put_if with revision 0: a controller that led a moment ago may have written them first.
  if (auto written = etcd.put_if(key, credentials->dump(), 0); !written.ok()) {
    if (written.error().code == ErrorCode::kConflict) {
      spdlog::info("cluster {}: credentials were written by another controller", state.key);
    } else {
      spdlog::warn("cluster {}: cannot store credentials: {}", state.key, written.error().message);
    }
  } else {
    spdlog::info("cluster {}: generated credentials", state.key);
  }
  return StepOutcome::proceed();
}

}  // namespace pgstack::controller
