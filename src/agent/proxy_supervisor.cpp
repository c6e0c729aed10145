#include "agent/proxy_supervisor.h"

#include <pwd.h>
#include <unistd.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/files.h"

namespace pgstack::agent {

namespace fs = std::filesystem;

namespace {
constexpr std::chrono::milliseconds kProxyStopTimeout{10000};
constexpr const char* kConfigFile = "proxy.yaml";
}  // namespace

fs::path ProxySupervisor::directory_for(const fs::path& state_dir, const std::string& cluster_key) {
  return state_dir / "proxies" / cluster_key;
}

ProxySupervisor::ProxySupervisor(AgentSettings settings, std::string cluster_key)
    : settings_(std::move(settings)),
      cluster_key_(std::move(cluster_key)),
      directory_(directory_for(settings_.state_dir, cluster_key_)) {}

void ProxySupervisor::reconcile(const config::ProxyLayout& layout) {
  auto applied = apply(layout);
  const std::string error = applied ? std::string() : applied.error().message;
  if (!error.empty() && error != last_error_) spdlog::warn("proxy {}: {}", cluster_key_, error);
  last_error_ = error;
}

Result<bool> ProxySupervisor::apply(const config::ProxyLayout& layout) {
  RETURN_IF_ERROR(make_traversable_directories(directory_));
  const fs::path config_path = directory_ / kConfigFile;
  const std::string content = config::render_proxy_config(layout);
  const auto current = read_file(config_path);
  bool changed = !current || *current != content;
  if (changed) {
    RETURN_IF_ERROR(write_file_atomically(config_path, content, fs::perms(0644)));
    // Once per configuration written: what the cluster's SGPoolingConfig asks that the proxy's pool does not do.
    for (const auto& what : layout.ignored_pool_settings)
      spdlog::warn("proxy {}: the SGPoolingConfig's {} is not applied by the proxy's pool", cluster_key_, what);
  }
  if (layout.pool) {
    // The authenticator's password, for the pool's user lookups: the proxy reads it once, at start.
    const fs::path password_path = layout.pool->auth_password_file;
    const auto written = read_file(password_path);
    if (!written || *written != layout.pool->auth_password + "\n") {
      if (layout.pool->auth_password.empty()) {
        return make_error(ErrorCode::kUnavailable, "waiting for the cluster's secrets (the authenticator's password)");
      }
      RETURN_IF_ERROR(write_file_atomically(password_path, layout.pool->auth_password + "\n", fs::perms(0600)));
      if (::geteuid() == 0) {
        const passwd* user = ::getpwnam(settings_.os_user.c_str());
        if (user == nullptr || ::chown(password_path.c_str(), user->pw_uid, user->pw_gid) != 0) {
          return make_error(ErrorCode::kUnavailable,
                            fmt::format("cannot give {} to {}", password_path.string(), settings_.os_user));
        }
      }
      changed = true;
    }
  }

  if (!process_) {
    ProcessSpec spec;
    spec.name = fmt::format("pgstack-proxy {}", cluster_key_);
    // --log-file: the proxy reopens it on SIGHUP, so the agent can rotate it by renaming (InstanceLogs).
    spec.argv = {settings_.proxy_program, "--config", config_path.string(), "--log-file",
                 (directory_ / kProxyLogFile).string()};
    // Unprivileged like the instances: it reads their TLS key, which the OS user owns.
    if (::geteuid() == 0) spec.run_as_user = settings_.os_user;
    spec.working_directory = directory_;
    spec.log_file = directory_ / kProxyLogFile;  // what it writes before it opens --log-file
    spec.pid_file = directory_ / kProxyPidFile;
    spec.stop_timeout = kProxyStopTimeout;
    process_ = std::make_unique<ProcessSupervisor>(std::move(spec));
    auto started = process_->start();
    RETURN_IF_ERROR(started);
    if (*started == StartOutcome::kStarted) {
      spdlog::info("proxy {}: started on {}:{} (read-write) and {}:{} (read-only)", cluster_key_, layout.listen_address,
                   layout.read_write_port, layout.listen_address, layout.read_only_port);
      return true;
    }
    if (!changed) return true;  // re-attached to a proxy that already runs this configuration
  } else if (!changed) {
    process_->tick();
    return true;
  }
  spdlog::info("proxy {}: configuration changed; restarting it", cluster_key_);
  RETURN_IF_ERROR(process_->stop());
  auto started = process_->start();
  RETURN_IF_ERROR(started);
  return true;
}

void ProxySupervisor::tick() {
  if (process_) process_->tick();
}

void ProxySupervisor::stop() {
  if (process_) {
    if (auto stopped = process_->stop(); !stopped) spdlog::warn("proxy {}: {}", cluster_key_, stopped.error().message);
    process_.reset();
    return;
  }
  stop_from_pid_file(fmt::format("pgstack-proxy {}", cluster_key_),
                     settings_.proxy_program.empty() ? "pgstack-proxy" : settings_.proxy_program,
                     directory_ / kProxyPidFile, kProxyStopTimeout);
}

}  // namespace pgstack::agent
