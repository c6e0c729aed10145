// The REST API (docs/api.md): Kubernetes-style CRUD for every kind, cluster status, switchover,
// rolling restart, credentials, backup verification, users' Secrets (Kubernetes' core v1 path), and
// the clusters' firing alerts (alerts_api.h).
// Validates with the model exactly as `pgstack validate` does.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/http_server.h"
#include "controller/alerts_api.h"
#include "controller/leader_election.h"
#include "controller/metrics_api.h"
#include "model/resources.h"
#include "model/validator.h"
#include "store/resource_store.h"

namespace pgstack::controller {

class ApiHandler {
 public:
  ApiHandler(store::ResourceStore store, std::string etcd_prefix, model::ValidationContext validation,
             const LeaderElection* leadership);
  ~ApiHandler();

  // `caller`: the authenticated user's name (the access gate's), for the records a request leaves (who
  // asked for a switchover); empty for a request without one.
  HttpReply handle(const HttpRequest& request, const std::string& caller = {});

  // Where the alerts endpoints read firing alerts (pgstack-controller --alertmanager); call before
  // serving. Without one they answer 503 (monitoring is not configured).
  void use_alertmanager(std::string url) { alertmanager_url_ = std::move(url); }
  // Where the metrics endpoints (metrics_api.h) query (pgstack-controller --prometheus); call before
  // serving. Without one they answer 503 (monitoring is not configured).
  void use_prometheus(std::string url) { prometheus_url_ = std::move(url); }
  // The alerts endpoints (alerts_api.h) for a caller who may read the namespaces `may_read` accepts;
  // handle() serves them as to a caller who may read everything.
  HttpReply handle_alerts(const HttpRequest& request, const std::vector<std::string>& parts,
                          const NamespaceReadable& may_read) const;

 private:
  HttpReply handle_collection(const HttpRequest& request, const std::string& ns, const std::string& kind);
  // GET /apis/pgstack.io/v1/extensions[?available=true]: what each host has installed (and can install).
  HttpReply handle_extensions(const HttpRequest& request);
  HttpReply handle_object(const HttpRequest& request, const std::string& ns, const std::string& kind,
                          const std::string& name);
  HttpReply handle_cluster_action(const HttpRequest& request, const std::string& ns, const std::string& name,
                                  const std::string& action, const std::string& caller);
  HttpReply handle_backup_action(const HttpRequest& request, const std::string& ns, const std::string& name,
                                 const std::string& action);
  // Checks of a new document that need the stored state: a restore's backup, a backup's cluster.
  std::optional<HttpReply> admit_new(const model::Document& document);
  HttpReply write(const HttpRequest& request, const std::string& ns, const std::string& kind, const std::string* name);
  // ?dryRun=All: what the write would store (defaults applied), checked as the write is and stored
  // nowhere; for a replace also what changes and whether Postgres needs a restart for it.
  HttpReply dry_run_reply(const model::Document& validated, const std::vector<model::Document>& input, bool replace);
  // deleteLogs (SGCluster): its rows are deleted from its log store first; nothing is deleted when that fails.
  HttpReply remove(const std::string& ns, const std::string& kind, const std::string& name, bool delete_logs);
  // SGDistributedLogs: refused while a cluster ships to it; otherwise its SGCluster goes with it.
  HttpReply remove_log_store(const std::string& ns, const std::string& name);
  HttpReply recovery_window_of(const std::string& ns, const std::string& name);
  Result<model::Json> read_recovery_window(const std::string& ns, const std::string& name, bool& has_status);
  HttpReply rolling_restart(const HttpRequest& request, const std::string& ns, const std::string& name);
  // /api/v1/namespaces/{ns}/secrets[/{name}]: users' Secrets; values only with ?reveal=true.
  HttpReply handle_secrets(const HttpRequest& request, const std::string& ns, const std::string* name);
  // Why `storage`'s credentials cannot be resolved from the Secrets of `ns` (empty: they can).
  Result<std::string> storage_credentials_problem(const model::ObjectStorage& storage, const std::string& ns);

  store::ResourceStore store_;
  std::string etcd_prefix_;
  model::ValidationContext validation_;
  const LeaderElection* leadership_;
  std::string alertmanager_url_;
  std::string prometheus_url_;
};

}  // namespace pgstack::controller
