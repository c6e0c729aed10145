#include "controller/reconcile/status_step.h"

#include <set>

#include <spdlog/spdlog.h>

#include "common/time.h"
#include "monitoring/alertmanager.h"
#include "store/keys.h"

namespace pgstack::controller {

using model::Json;

Json decide_status(const StatusObservation& observed) {
  const ClusterState& state = *observed.state;
  const model::Cluster& cluster = state.cluster;
  StatusInputs inputs;
  inputs.instances = state.wanted_instances();
  inputs.additional_instances = state.additional_instances;
  inputs.postgres_version = state.inputs.postgres.version;
  inputs.placements = state.members;
  inputs.host_addresses = observed.pass->hosts;
  inputs.pooling_enabled = !cluster.disable_connection_pooling;
  inputs.log_store = !cluster.distributed_logs.empty();
  if (const auto found = observed.pass->proxy_ports.find(state.key); found != observed.pass->proxy_ports.end())
    inputs.proxy_ports = found->second;
  if (state.stopped) {
    inputs.scheduling_reason = state.stopped->reason;
    inputs.scheduling_problem = state.stopped->message;
  }
  inputs.now = observed.now;
  inputs.standbys = observed.standbys;
  if (state.topology) {
    inputs.leader = state.topology->leader;
    inputs.members = state.topology->members;
    // The primary's agent reports pg_stat_archiver and whether backups can run (docs/api.md).
    if (state.topology->leader && state.topology->members.count(*state.topology->leader)) {
      if (const auto report = observed.reports.find(*state.topology->leader); report != observed.reports.end()) {
        inputs.archiving = report->second.archiving;
        inputs.backup_problem = report->second.backup_problem;
      }
    }
  }
  for (const auto& placement : state.members) {
    const auto report = observed.reports.find(placement.member);
    if (report == observed.reports.end()) continue;
    if (!report->second.events.empty()) inputs.member_events[placement.member] = report->second.events;
    if (report->second.rejoin.is_object()) inputs.rejoins[placement.member] = report->second.rejoin;
    if (report->second.extensions.is_object()) inputs.member_extensions[placement.member] = report->second.extensions;
    if (!report->second.log_shipping.empty())
      inputs.member_log_shipping[placement.member] = report->second.log_shipping;
    // Why a member is not running, in the agent's words (a running one needs none).
    const bool running = state.topology && state.topology->members.count(placement.member) > 0 &&
                         state.topology->members.at(placement.member).state == "running";
    if (!running) inputs.member_reports[placement.member] = report->second;
  }
  if (observed.pass->alerts) {
    // Host alerts (a disk filling up) concern the clusters with a member on that host.
    std::set<std::string> hosts;
    for (const auto& placement : state.members) hosts.insert(placement.host);
    AlertsObservation about_cluster{{}, observed.pass->alerts->problem};
    for (const auto& alert : observed.pass->alerts->alerts) {
      if (monitoring::alert_concerns_cluster(alert, cluster.namespace_name, cluster.name, hosts))
        about_cluster.alerts.push_back(alert);
    }
    inputs.alerts = std::move(about_cluster);
  }
  if (const auto found = observed.pass->figures.find(state.key); found != observed.pass->figures.end())
    inputs.metrics = found->second;
  else if (!observed.pass->figures_problem.empty())
    inputs.metrics = Json{{"reason", observed.pass->figures_problem}};
  inputs.backups = state.backups;
  inputs.backups_configured = cluster.backup.has_value();
  const Json& previous = state.previous_status;
  inputs.previous_conditions =
      previous.is_object() && previous.contains("conditions") ? previous["conditions"] : Json::array();
  if (previous.is_object() && previous.contains("events")) inputs.previous_events = previous["events"];

  model::ClusterStatus status = build_cluster_status(inputs);
  // Sections other writers put into the previous status are kept as they were.
  if (previous.is_object()) {
    if (auto read = model::cluster_status_from_json(previous); read.ok()) {
      status.other_sections = std::move(read).value().other_sections;
    } else {
      spdlog::warn("cluster {}: its previous status is not read back ({}); other sections start afresh", state.key,
                   read.error().message);
    }
  }
  return model::cluster_status_to_json(status);
}

StepOutcome publish_status(const StepEnvironment& environment, const PassSnapshot& pass, ClusterState& state) {
  const auto& etcd = environment.store.client();
  const std::string& prefix = environment.settings.etcd_prefix;
  const std::string& ns = state.cluster.namespace_name;
  StatusObservation observed{&state, &pass, {}, {}, utc_timestamp_now()};

  std::vector<std::string> reporting;  // members whose reports the status reads
  for (const auto& placement : state.members) reporting.push_back(placement.member);
  if (state.topology && state.topology->leader && state.topology->members.count(*state.topology->leader)) {
    reporting.push_back(*state.topology->leader);
    auto standbys = read_standbys(state.topology->members.at(*state.topology->leader));
    if (standbys.ok()) observed.standbys = standbys.value();
  }
  for (const auto& member : reporting) {
    if (observed.reports.count(member)) continue;
    auto stored = etcd.get(store::keys::instance_report(prefix, ns, state.cluster.name, member));
    if (!stored.ok() || !stored->has_value()) continue;
    auto report = model::instance_report_from_json(Json::parse((*stored)->value, nullptr, false));
    if (report.ok()) {
      observed.reports.emplace(member, std::move(report).value());
    } else {
      spdlog::warn("cluster {}: the report of {} is not used: {}", state.key, member, report.error().message);
    }
  }

  Json status = decide_status(observed);
  if (state.amend_status) state.amend_status(status);
  if (state.previous_status != status) {
    if (auto written = environment.store.put_status("SGCluster", ns, state.cluster.name, status); !written.ok())
      spdlog::warn("cluster {}: cannot publish its status: {}", state.key, written.error().message);
  }
  return StepOutcome::proceed();
}

}  // namespace pgstack::controller
