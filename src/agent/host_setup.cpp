#include "agent/host_setup.h"

#include <filesystem>
#include <pwd.h>
#include <unistd.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include "common/pki.h"
#include "common/process.h"

namespace pgstack::agent {
namespace {

// Postgres refuses to run as root: as root the children run as postgres, otherwise as us.
Result<const passwd*> instance_user() {
  if (auto service_user = unprivileged_service_user()) {
    const passwd* user = ::getpwnam(service_user->c_str());
    if (user == nullptr)
      return make_error(ErrorCode::kFailedPrecondition,
                        fmt::format("running as root needs the system user '{}' to run Postgres", *service_user));
    return user;
  }
  const passwd* user = ::getpwuid(::geteuid());
  if (user == nullptr)
    return make_error(ErrorCode::kFailedPrecondition, fmt::format("cannot find the name of uid {}", ::geteuid()));
  return user;
}

}  // namespace

Result<bool> prepare_host(AgentSettings& settings, const std::string& state_dir, const std::string& ca_dir) {
  std::error_code error;
  settings.state_dir = std::filesystem::absolute(state_dir, error).lexically_normal();
  if (!settings.state_dir.has_filename()) settings.state_dir = settings.state_dir.parent_path();  // "dir/"
  std::filesystem::create_directories(settings.state_dir, error);
  if (error) {
    return make_error(ErrorCode::kUnavailable,
                      fmt::format("--state-dir {}: cannot create: {}", settings.state_dir.string(), error.message()));
  }

  settings.ca_dir = ca_dir.empty() ? settings.state_dir / "pki" : std::filesystem::absolute(ca_dir, error);
  if (auto ca = pki::load_or_create_ca(settings.ca_dir, "pgstack CA " + settings.host_name); !ca) {
    return make_error(ca.error().code, fmt::format("--ca-dir {}: {}", settings.ca_dir.string(), ca.error().message));
  }
  // etcd and Patroni's REST API are verified with the installation's CA; etcd wants this agent's own
  // client certificate, issued here (and again when due, see Agent::run) since the CA key is on this host.
  if (auto identity = ensure_agent_certificate(settings); !identity) {
    return make_error(identity.error().code,
                      fmt::format("the agent's client certificate: {}", identity.error().message));
  }

  ASSIGN_OR_RETURN(const passwd* user, instance_user());
  // The instances' user must traverse the state directory to reach its own directories below it.
  struct stat info {};
  if (user->pw_uid != ::geteuid() && ::stat(settings.state_dir.c_str(), &info) == 0 && (info.st_mode & S_IXOTH) == 0) {
    spdlog::warn("--state-dir {} is not searchable by others; adding o+x so that '{}' can reach its instances",
                 settings.state_dir.string(), user->pw_name);
    ::chmod(settings.state_dir.c_str(), (info.st_mode & 07777) | S_IXOTH);
  }
  settings.os_user = user->pw_name;
  settings.os_user_home = user->pw_dir;
  settings.socket_owner_uid = ::geteuid();

  // pgstack-proxy is installed next to the agent; without it clusters get no proxy here.
  if (auto proxy = sibling_program("pgstack-proxy")) {
    settings.proxy_program = *proxy;
  } else {
    spdlog::warn("{}; clusters on this host get no proxy endpoints", proxy.error().message);
  }
  // pgstack-wal-push is Postgres' archive_command; without it WAL goes to pgBackRest unchecked.
  if (auto wal_push = sibling_program("pgstack-wal-push")) {
    settings.wal_push_program = *wal_push;
  } else {
    spdlog::warn("{}; WAL is archived without checking which history it belongs to", wal_push.error().message);
  }
  // postgres_exporter (Debian's prometheus-postgres-exporter); without it instances run without one.
  if (::access(settings.exporter_program.c_str(), X_OK) != 0) {
    spdlog::warn("{} is not installed (scripts/install-deps); instances on this host get no postgres_exporter",
                 settings.exporter_program);
    settings.exporter_program.clear();
  }
  if (!settings.node_exporter_listen.empty() && ::access(settings.node_exporter_program.c_str(), X_OK) != 0) {
    spdlog::warn("{} is not installed (scripts/install-deps); this host runs no node_exporter",
                 settings.node_exporter_program);
    settings.node_exporter_listen.clear();
  }
  return true;
}

}  // namespace pgstack::agent
