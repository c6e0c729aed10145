#include "controller/reconcile/credentials_step.h"

#include <spdlog/spdlog.h>

#include "controller/credentials.h"
#include "store/keys.h"

namespace pgstack::controller {

CredentialsDecision decide_credentials(const CredentialsObservation& observed) {
  if (!observed.read) return {false, "etcd did not answer; the next pass looks again"};
  if (observed.exists) return {false, "the cluster has its credentials"};
  return {true, "the cluster has no credentials yet"};
}

StepOutcome ensure_credentials(const StepEnvironment& environment, ClusterState& state) {
  const auto& etcd = environment.store.client();
  const std::string key =
      store::keys::cluster_secrets(environment.settings.etcd_prefix, state.cluster.namespace_name, state.cluster.name);
  auto stored = etcd.get(key);
  const CredentialsDecision decision = decide_credentials({stored.ok(), stored.ok() && stored->has_value()});
  if (!decision.create) return StepOutcome::proceed();

  auto credentials = generate_cluster_credentials(state.cluster);
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
