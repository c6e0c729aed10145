#include "controller/managed_sql/runner.h"

#include <condition_variable>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "controller/managed_sql/entry_executor.h"
#include "controller/managed_sql/plan.h"
#include "controller/primary_target.h"
#include "model/script.h"
#include "postgres/postgres_session.h"
#include "store/user_secret_store.h"

namespace pgstack::controller::managed_sql {
namespace {

using model::Json;

std::string uid_of(const model::Document& document) {
  const Json::json_pointer uid("/metadata/uid");
  return document.body.contains(uid) && document.body.at(uid).is_string() ? document.body.at(uid).get<std::string>()
                                                                          : "";
}

// The SQL of an entry, or why it cannot be had. Never logs or quotes a Secret's value.
Result<ResolvedEntry> resolve_entry(const store::UserSecretStore& secrets, const std::string& ns,
                                    const model::ScriptEntry& entry) {
  ResolvedEntry resolved{entry, "", false, "", ""};
  if (entry.script) {
    resolved.sql = *entry.script;
  } else if (entry.secret_key_ref) {
    const auto& ref = *entry.secret_key_ref;
    auto secret = secrets.get(ns, ref.name);
    if (!secret.ok() && secret.error().code != ErrorCode::kNotFound) return secret.error();
    if (!secret.ok()) {
      resolved.problem = fmt::format("scriptFrom.secretKeyRef: Secret {}/{} does not exist", ns, ref.name);
    } else if (const auto found = secret->secret.data.find(ref.key); found == secret->secret.data.end()) {
      resolved.problem = fmt::format("scriptFrom.secretKeyRef: Secret {}/{} has no key \"{}\"", ns, ref.name, ref.key);
    } else {
      resolved.sql = found->second;
      resolved.from_secret = true;
    }
  } else if (entry.config_map_key_ref) {
    resolved.problem =
        "scriptFrom.configMapKeyRef: pgstack has no ConfigMaps; put the SQL in a Secret (scriptFrom.secretKeyRef) "
        "or inline (script)";
  } else {
    resolved.problem = "expected script or scriptFrom.secretKeyRef";
  }
  if (resolved.problem.empty()) resolved.hash = entry_hash(entry, resolved.sql);
  return resolved;
}

}  // namespace

std::string progress_key(const std::string& etcd_prefix, const std::string& ns, const std::string& cluster) {
  return fmt::format("{}/managed-sql/{}/{}", etcd_prefix, ns, cluster);
}

struct ManagedSqlRunner::Worker {
  std::mutex mutex;
  std::condition_variable wake;
  bool poked = false;
  bool stopping = false;
  bool finished = false;
  postgres::PostgresSession* running = nullptr;  // the entry's session while it runs, to cancel it
  std::thread thread;
};

ManagedSqlRunner::ManagedSqlRunner(const store::ResourceStore& store, const LeaderElection& leadership,
                                   RunnerSettings settings)
    : store_(store), leadership_(leadership), settings_(std::move(settings)) {}

ManagedSqlRunner::~ManagedSqlRunner() { stop(); }

void ManagedSqlRunner::stop() {
  std::map<std::string, std::unique_ptr<Worker>> workers;
  {
    std::lock_guard lock(mutex_);
    stopped_ = true;
    workers.swap(workers_);
  }
  for (auto& [key, worker] : workers) {
    std::lock_guard lock(worker->mutex);
    worker->stopping = true;
    if (worker->running != nullptr) worker->running->cancel();
    worker->wake.notify_all();
  }
  for (auto& [key, worker] : workers) {
    if (worker->thread.joinable()) worker->thread.join();
  }
}

void ManagedSqlRunner::reconcile(const model::Document& cluster, Json& status) {
  const std::string ns = cluster.namespace_name();
  const std::string name = cluster.name();
  const bool has_scripts = !model::managed_sql_from(cluster).scripts.empty();
  if (!has_scripts && !status.contains("managedSql")) return;

  {
    std::lock_guard lock(mutex_);
    if (stopped_) return;
    auto& worker = workers_[ns + "/" + name];
    bool finished = false;
    if (worker) {
      std::lock_guard worker_lock(worker->mutex);
      finished = worker->finished;
      worker->poked = true;
      worker->wake.notify_all();
    }
    if (finished) {  // it stopped (leadership lost, or the cluster was gone for a moment): a new one
      worker->thread.join();
      worker.reset();
    }
    if (!worker) {
      worker = std::make_unique<Worker>();
      Worker* started = worker.get();
      worker->thread = std::thread([this, started, ns, name] { work(*started, ns, name); });
    }
  }

  auto stored = store_.client().get(progress_key(settings_.etcd_prefix, ns, name));
  if (!stored.ok()) return;  // keep what the status says until etcd answers
  ClusterProgress progress;
  if (stored->has_value()) progress = progress_from_json(Json::parse((*stored)->value, nullptr, false));
  if (progress.cluster_uid == uid_of(cluster) && !progress.scripts.empty()) {
    status["managedSql"] = progress_to_status(progress);
  } else {
    status.erase("managedSql");
  }
}

void ManagedSqlRunner::work(Worker& worker, const std::string& ns, const std::string& cluster) {
  while (true) {
    {
      std::lock_guard lock(worker.mutex);
      if (worker.stopping) break;
    }
    if (!leadership_.is_leader()) break;  // the next leader's own worker carries on
    PassResult result = PassResult::kIdle;
    try {
      result = run_pass(worker, ns, cluster);
    } catch (const std::exception& failure) {
      spdlog::error("cluster {}/{}: managed SQL: {}", ns, cluster, failure.what());
    }
    if (result == PassResult::kClusterGone) break;
    if (result == PassResult::kAgain) continue;
    std::unique_lock lock(worker.mutex);
    worker.wake.wait(lock, [&] { return worker.poked || worker.stopping; });
    worker.poked = false;
  }
  std::lock_guard lock(worker.mutex);
  worker.finished = true;
}

ManagedSqlRunner::PassResult ManagedSqlRunner::run_pass(Worker& worker, const std::string& ns,
                                                        const std::string& cluster) {
  const auto& etcd = store_.client();
  const std::string key = progress_key(settings_.etcd_prefix, ns, cluster);
  auto document = store_.get("SGCluster", ns, cluster);
  if (!document.ok()) {
    if (document.error().code != ErrorCode::kNotFound) return PassResult::kIdle;
    (void)etcd.remove(key);
    return PassResult::kClusterGone;
  }
  auto stored = etcd.get(key);
  if (!stored.ok()) return PassResult::kIdle;
  std::int64_t revision = stored->has_value() ? (*stored)->mod_revision : 0;

  const model::ManagedSql managed = model::managed_sql_from(*document);
  PlanInput input;
  input.cluster_uid = uid_of(*document);
  input.continue_on_sgscript_error = managed.continue_on_sgscript_error;
  input.now = Clock::now();
  if (stored->has_value()) input.progress = progress_from_json(Json::parse((*stored)->value, nullptr, false));
  const store::UserSecretStore secrets(etcd, settings_.etcd_prefix);
  for (const auto& reference : managed.scripts) {
    ResolvedScript resolved{reference, std::nullopt, "", {}};
    auto script = store_.get("SGScript", ns, reference.sg_script);
    if (!script.ok() && script.error().code != ErrorCode::kNotFound) return PassResult::kIdle;
    if (!script.ok()) {
      resolved.problem = fmt::format("SGScript {}/{} does not exist", ns, reference.sg_script);
    } else {
      resolved.script = model::script_from(*script);
      for (const auto& entry : resolved.script->entries) {
        auto entry_resolved = resolve_entry(secrets, ns, entry);
        if (!entry_resolved.ok()) return PassResult::kIdle;
        resolved.entries.push_back(std::move(entry_resolved).value());
      }
    }
    input.scripts.push_back(std::move(resolved));
  }

  Plan plan = plan_managed_sql(input);
  if (plan.progress.scripts.empty()) {
    if (revision != 0) (void)etcd.remove_if(key, revision);
    return PassResult::kIdle;
  }
  const auto store_progress = [&](const ClusterProgress& progress) {
    auto written = etcd.put_if(key, progress_to_json(progress).dump(), revision);
    if (written.ok()) revision = written.value();
    return written.ok();
  };
  if ((revision == 0 || !(plan.progress == input.progress)) && !store_progress(plan.progress))
    return PassResult::kAgain;  // written meanwhile: decide again on what is stored now
  if (!plan.run) return PassResult::kIdle;

  // Only on a primary that accepts writes: not while a restore or a standby cluster replays WAL.
  auto target = primary_target(etcd, settings_.etcd_prefix, ns, cluster);
  if (!target.ok()) return PassResult::kIdle;
  const ResolvedEntry& entry = input.scripts[plan.run->script].entries[plan.run->entry];
  bool database_exists = true;
  {
    auto admin = postgres::PostgresSession::connect(*target);
    if (!admin.ok()) return PassResult::kIdle;
    auto recovery = (*admin)->query("SELECT pg_is_in_recovery()");
    if (!recovery.ok() || recovery->empty() || recovery->front().front() != "f") return PassResult::kIdle;
    auto found =
        (*admin)->query("SELECT 1 FROM pg_database WHERE datname = " + postgres::quote_literal(entry.entry.database));
    if (!found.ok()) return PassResult::kIdle;
    database_exists = !found->empty();
  }
  if (!leadership_.is_leader()) return PassResult::kIdle;

  // The claim: a controller that stops from here on leaves the attempt on record, never a silent rerun.
  record_attempt(plan.progress, input, *plan.run, Clock::now());
  if (!store_progress(plan.progress)) return PassResult::kAgain;

  const ResolvedScript& script = input.scripts[plan.run->script];
  const std::string what =
      fmt::format("cluster {}/{}: SGScript {} entry {}{} version {}", ns, cluster, script.reference.sg_script,
                  entry.entry.id, entry.entry.name.empty() ? "" : " (" + entry.entry.name + ")", plan.run->version);
  EntryOutcome outcome;
  if (!database_exists) {
    outcome = {false, "3D000", fmt::format("database \"{}\" does not exist", entry.entry.database)};
  } else {
    spdlog::info("{}: running", what);
    EntryExecution execution{*target,
                             entry.entry,
                             entry.sql,
                             entry.from_secret,
                             script.reference.id,
                             plan.run->version,
                             entry.hash,
                             settings_.statement_timeout};
    outcome = execute_entry(execution, [&worker](postgres::PostgresSession* session) {
      std::lock_guard lock(worker.mutex);
      worker.running = session;
      if (session != nullptr && worker.stopping) session->cancel();
    });
  }
  if (outcome.succeeded) {
    spdlog::info("{}: applied", what);
    record_success(plan.progress, input, *plan.run);
  } else {
    spdlog::warn("{}: failed: {} (SQLSTATE {})", what, outcome.failure, outcome.failure_code);
    record_failure(plan.progress, input, *plan.run, outcome.failure_code, outcome.failure, Clock::now());
  }
  if (!store_progress(plan.progress)) spdlog::warn("{}: its result was not recorded: another controller leads", what);
  return PassResult::kAgain;
}

}  // namespace pgstack::controller::managed_sql
