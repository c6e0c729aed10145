#include "common/daemon_options.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <iostream>
#include <unistd.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/strings.h"

namespace pgstack {

Result<std::vector<std::string>> parse_etcd_endpoints(std::string_view comma_separated) {
  std::vector<std::string> endpoints;
  for (const auto& word : split(comma_separated, ',')) {
    std::string endpoint = trim(word);
    if (endpoint.empty()) continue;
    if (endpoint.rfind("http://", 0) != 0 && endpoint.rfind("https://", 0) != 0) {
      return make_error(ErrorCode::kInvalidInput,
                        fmt::format("--etcd: \"{}\" is not an http:// or https:// URL", endpoint));
    }
    endpoints.push_back(std::move(endpoint));
  }
  if (endpoints.empty())
    return make_error(ErrorCode::kInvalidInput, "--etcd: expected at least one URL like http://127.0.0.1:2379");
  return endpoints;
}

Result<std::string> normalize_etcd_prefix(std::string_view prefix) {
  while (prefix.size() > 1 && prefix.back() == '/') prefix.remove_suffix(1);
  if (prefix.empty() || prefix.front() != '/') {
    return make_error(ErrorCode::kInvalidInput,
                      fmt::format("--etcd-prefix: expected a key prefix like /pgstack, got \"{}\"", prefix));
  }
  return std::string(prefix);
}

DaemonFlags::DaemonFlags(CLI::App& app, std::string program) : app_(app), program_(std::move(program)) {}

void DaemonFlags::add_etcd_flags() {
  etcd_flags_ = true;
  app_.add_option("--etcd", etcd_text_, "etcd client URLs, comma-separated")->capture_default_str();
  app_.add_option("--etcd-prefix", etcd_prefix_text_, "Prefix of every pgstack key in etcd")->capture_default_str();
}

void DaemonFlags::add_listen_flag(std::string default_address, std::string description) {
  listen_flag_ = true;
  listen_text_ = std::move(default_address);
  app_.add_option("--listen", listen_text_, std::move(description))->type_name("ADDRESS:PORT")->capture_default_str();
}

void DaemonFlags::add_log_level_flag() {
  log_level_flag_ = true;
  app_.add_option("--log-level", options_.log_level, "trace, debug, info, warn or error")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}))
      ->capture_default_str();
}

void DaemonFlags::add_log_file_flag() {
  app_.add_option("--log-file", options_.log_file,
                  "Append the log (stdout and stderr) to this file; SIGHUP reopens it, so it can be rotated by "
                  "renaming");
}

void DaemonFlags::add_log_rotation_flags() {
  app_.add_option("--log-rotate-mib", log_rotate_mib_,
                  "With --log-file: when it reaches this many MiB it becomes <file>.1 and a new one starts; 0: never")
      ->check(CLI::Range(0, 1 << 20))
      ->capture_default_str();
  app_.add_option("--log-files-kept", options_.log_files_kept,
                  "With --log-file: how many rotated files (<file>.1 ... <file>.N) are kept; older ones are removed")
      ->check(CLI::Range(1, 100))
      ->capture_default_str();
}

Result<bool> redirect_output_to(const std::string& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (fd < 0)
    return make_error(ErrorCode::kInvalidInput,
                      fmt::format("--log-file: cannot open {}: {}", path, std::strerror(errno)));
  std::fflush(stdout);
  std::fflush(stderr);
  // dup2 swaps each descriptor at once: a line written meanwhile goes to the old file or the new one, whole.
  const bool redirected = ::dup2(fd, STDOUT_FILENO) >= 0 && ::dup2(fd, STDERR_FILENO) >= 0;
  const int saved_errno = errno;
  ::close(fd);
  if (!redirected)
    return make_error(ErrorCode::kUnavailable,
                      fmt::format("--log-file: cannot point the output at {}: {}", path, std::strerror(saved_errno)));
  return true;
}

Result<bool> DaemonFlags::check() {
  if (etcd_flags_) {
    ASSIGN_OR_RETURN(options_.etcd_endpoints, parse_etcd_endpoints(etcd_text_));
    ASSIGN_OR_RETURN(options_.etcd_prefix, normalize_etcd_prefix(etcd_prefix_text_));
  }
  options_.log_rotate_bytes = static_cast<std::uint64_t>(log_rotate_mib_) << 20;
  if (listen_flag_) {
    auto listen = parse_host_port(listen_text_);
    if (!listen) return make_error(ErrorCode::kInvalidInput, "--listen: " + listen.error().message);
    options_.listen = std::move(listen).value();
  }
  return true;
}

std::optional<int> DaemonFlags::parse(int argc, const char* const* argv) {
  try {
    app_.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    // app.exit prints the help, or the mistake with a hint, as CLI11 does for every program.
    return app_.exit(error) == 0 ? 0 : kBadFlagsExitCode;
  }
  if (auto checked = check(); !checked) return bad_flag(checked.error().message);
  if (log_level_flag_) spdlog::set_level(spdlog::level::from_str(options_.log_level));
  return std::nullopt;
}

int DaemonFlags::bad_flag(std::string_view message) const {
  std::cerr << program_ << ": " << message << "\n";
  return kBadFlagsExitCode;
}

}  // namespace pgstack
