#include "patroni/dcs.h"

#include <fmt/format.h>

namespace pgstack::patroni {

std::string dcs_namespace(std::string_view etcd_prefix, std::string_view namespace_name) {
  return fmt::format("{}/patroni/{}/", etcd_prefix, namespace_name);
}

std::string cluster_prefix(std::string_view etcd_prefix, std::string_view namespace_name, std::string_view cluster) {
  return fmt::format("{}/patroni/{}/{}/", etcd_prefix, namespace_name, cluster);
}

std::string leader_key(std::string_view etcd_prefix, std::string_view namespace_name, std::string_view cluster) {
  return cluster_prefix(etcd_prefix, namespace_name, cluster) + "leader";
}

std::string history_key(std::string_view etcd_prefix, std::string_view namespace_name, std::string_view cluster) {
  return cluster_prefix(etcd_prefix, namespace_name, cluster) + "history";
}

DcsEntry classify_key(std::string_view relative) {
  constexpr std::string_view kMembers = "members/";
  if (relative == "leader") return {DcsKey::kLeader, {}};
  if (relative.starts_with(kMembers) && relative.size() > kMembers.size())
    return {DcsKey::kMember, std::string(relative.substr(kMembers.size()))};
  if (relative == "config") return {DcsKey::kConfig, {}};
  if (relative == "sync") return {DcsKey::kSync, {}};
  if (relative == "status" || relative == "optime/leader") return {DcsKey::kLeaderOptime, {}};
  return {};
}

}  // namespace pgstack::patroni
