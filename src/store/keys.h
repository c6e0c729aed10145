// pgstack's own etcd key families (docs/api.md), one function each, so that every writer and reader
// spells a key the same way. `prefix` is the installation's etcd prefix ("/pgstack"). Patroni's DCS
// keys are Patroni's layout, not pgstack's: they are spelled in src/patroni. Pure.
#pragma once

#include <string>
#include <string_view>

namespace pgstack::store::keys {

// <prefix>/monitoring/scrape-credential: the installation's one scrape credential (monitoring/metrics_auth.h),
// made by the first agent or controller that needs it.
std::string scrape_credential(std::string_view prefix);

// <prefix>/hosts/<host>: a registered agent {"name", "address"} under its lease.
std::string hosts_prefix(std::string_view prefix);
std::string host(std::string_view prefix, std::string_view host);

// <prefix>/host-drains/<host>: a host being drained (pgstack host drain): {"host", "since"}. Its members
// move to other hosts; nothing new is placed on it.
std::string host_drains_prefix(std::string_view prefix);
std::string host_drain(std::string_view prefix, std::string_view host);

// <prefix>/host-extensions/<host>: the extensions a host has and can install, under its lease.
std::string host_extensions_prefix(std::string_view prefix);
std::string host_extensions(std::string_view prefix, std::string_view host);

// <prefix>/assignments/<host>/<ns>/<cluster>/<member>: what the controller asks a host to run.
std::string assignments_prefix(std::string_view prefix);
std::string host_assignments_prefix(std::string_view prefix, std::string_view host);
// `cluster_key` is "<ns>/<cluster>".
std::string assignment(std::string_view prefix, std::string_view host, std::string_view cluster_key,
                       std::string_view member);

// <prefix>/instances/<ns>/<cluster>/<member>: the agent's report of one instance, under its lease.
// `instance_key` is "<ns>/<cluster>/<member>".
std::string instance_report(std::string_view prefix, std::string_view instance_key);
std::string instance_report(std::string_view prefix, std::string_view namespace_name, std::string_view cluster,
                            std::string_view member);

// <prefix>/secrets/<ns>/<cluster>: the cluster's generated credentials.
std::string cluster_secrets(std::string_view prefix, std::string_view namespace_name, std::string_view cluster);

// <prefix>/backup-schedule/<ns>/<cluster>: the last minute a scheduled backup was created for.
std::string backup_schedules_prefix(std::string_view prefix);
std::string backup_schedule(std::string_view prefix, std::string_view namespace_name, std::string_view cluster);

// <prefix>/backup-records/<ns>/<cluster>/: what the agent recorded of the cluster's backups.
std::string backup_records_prefix(std::string_view prefix, std::string_view namespace_name, std::string_view cluster);

// <prefix>/archive-continuity/<ns>/<cluster>: the primary's agent's last check of the WAL in the cluster's
// backup repository (agent/archive_continuity.h), read by the recovery window.
std::string archive_continuity(std::string_view prefix, std::string_view namespace_name, std::string_view cluster);

// <prefix>/switchovers/<ns>/<cluster>/<requested at, ms>: the switchovers pgstack asked Patroni for, who
// asked, and how long until the new primary was reported (controller/cluster_history.h).
std::string switchovers_prefix(std::string_view prefix, std::string_view namespace_name, std::string_view cluster);

// <prefix>/outages/<ns>/<cluster>/<ended at, ms>-<proxy>: the read-write outages each of the cluster's
// proxies saw (proxy/primary_outages.h), saved by the proxy for the cluster's history.
std::string outages_prefix(std::string_view prefix, std::string_view namespace_name, std::string_view cluster);

// <prefix>/additional-instances/<ns>/<cluster>: members a running operation (a ReducedImpact restart)
// adds to the cluster's instances for its duration: {"count", "sgdbops"}.
std::string additional_instances_prefix(std::string_view prefix);
std::string additional_instances(std::string_view prefix, std::string_view namespace_name, std::string_view cluster);

// <prefix>/controller/leader: the leading controller's identity under its lease.
std::string controller_leader(std::string_view prefix);

// <prefix>/user-secrets/<ns>/<name>: users' Secrets (user_secret_store.h reads and writes them).
std::string user_secrets_prefix(std::string_view prefix);
std::string user_secret(std::string_view prefix, std::string_view namespace_name, std::string_view name);

// Not here: <prefix>/resources/ and <prefix>/status/ belong to ResourceStore (resource_store.h), and
// <prefix>/auth/... to AuthStore (auth/auth_store.h), which each spell their own families.

}  // namespace pgstack::store::keys
