#include "store/keys.h"

#include <fmt/format.h>

namespace pgstack::store::keys {

std::string hosts_prefix(std::string_view prefix) { return fmt::format("{}/hosts/", prefix); }

std::string scrape_credential(std::string_view prefix) {
  return fmt::format("{}/monitoring/scrape-credential", prefix);
}

std::string host(std::string_view prefix, std::string_view host) { return fmt::format("{}/hosts/{}", prefix, host); }

std::string host_drains_prefix(std::string_view prefix) { return fmt::format("{}/host-drains/", prefix); }
std::string host_drain(std::string_view prefix, std::string_view host) {
  return fmt::format("{}/host-drains/{}", prefix, host);
}

std::string host_extensions_prefix(std::string_view prefix) { return fmt::format("{}/host-extensions/", prefix); }
std::string host_extensions(std::string_view prefix, std::string_view host) {
  return fmt::format("{}/host-extensions/{}", prefix, host);
}

std::string assignments_prefix(std::string_view prefix) { return fmt::format("{}/assignments/", prefix); }

std::string host_assignments_prefix(std::string_view prefix, std::string_view host) {
  return fmt::format("{}/assignments/{}/", prefix, host);
}

std::string assignment(std::string_view prefix, std::string_view host, std::string_view cluster_key,
                       std::string_view member) {
  return fmt::format("{}/assignments/{}/{}/{}", prefix, host, cluster_key, member);
}

std::string instance_report(std::string_view prefix, std::string_view instance_key) {
  return fmt::format("{}/instances/{}", prefix, instance_key);
}

std::string instance_report(std::string_view prefix, std::string_view namespace_name, std::string_view cluster,
                            std::string_view member) {
  return fmt::format("{}/instances/{}/{}/{}", prefix, namespace_name, cluster, member);
}

std::string cluster_secrets(std::string_view prefix, std::string_view namespace_name, std::string_view cluster) {
  return fmt::format("{}/secrets/{}/{}", prefix, namespace_name, cluster);
}

std::string additional_instances_prefix(std::string_view prefix) {
  return fmt::format("{}/additional-instances/", prefix);
}

std::string additional_instances(std::string_view prefix, std::string_view namespace_name, std::string_view cluster) {
  return fmt::format("{}/additional-instances/{}/{}", prefix, namespace_name, cluster);
}

std::string backup_schedules_prefix(std::string_view prefix) { return fmt::format("{}/backup-schedule/", prefix); }

std::string backup_schedule(std::string_view prefix, std::string_view namespace_name, std::string_view cluster) {
  return fmt::format("{}/backup-schedule/{}/{}", prefix, namespace_name, cluster);
}

std::string backup_records_prefix(std::string_view prefix, std::string_view namespace_name, std::string_view cluster) {
  return fmt::format("{}/backup-records/{}/{}/", prefix, namespace_name, cluster);
}

std::string archive_continuity(std::string_view prefix, std::string_view namespace_name, std::string_view cluster) {
  return fmt::format("{}/archive-continuity/{}/{}", prefix, namespace_name, cluster);
}

std::string switchovers_prefix(std::string_view prefix, std::string_view namespace_name, std::string_view cluster) {
  return fmt::format("{}/switchovers/{}/{}/", prefix, namespace_name, cluster);
}

std::string outages_prefix(std::string_view prefix, std::string_view namespace_name, std::string_view cluster) {
  return fmt::format("{}/outages/{}/{}/", prefix, namespace_name, cluster);
}

std::string controller_leader(std::string_view prefix) { return fmt::format("{}/controller/leader", prefix); }

std::string user_secrets_prefix(std::string_view prefix) { return fmt::format("{}/user-secrets/", prefix); }

std::string user_secret(std::string_view prefix, std::string_view namespace_name, std::string_view name) {
  return fmt::format("{}/user-secrets/{}/{}", prefix, namespace_name, name);
}

}  // namespace pgstack::store::keys
