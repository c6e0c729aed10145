#include "agent/extension_installer.h"

#include <algorithm>
#include <filesystem>
#include <sstream>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/files.h"
#include "common/strings.h"

namespace pgstack::agent {
namespace {

using SteadyClock = std::chrono::steady_clock;

constexpr std::chrono::seconds kAptUpdateTimeout{300};
constexpr int kLockWaitSeconds = 120;  // another apt or dpkg on the host (another agent, unattended upgrades)

std::string replace_major(std::string pattern, int major) {
  constexpr std::string_view kMajor = "{major}";
  if (const auto at = pattern.find(kMajor); at != std::string::npos)
    pattern.replace(at, kMajor.size(), std::to_string(major));
  return pattern;
}

// The last non-empty lines of a program's output: apt says why at the end.
std::string tail_lines(const std::string& text, std::size_t count) {
  std::vector<std::string> lines;
  for (auto& line : split(text, '\n')) {
    std::string trimmed = trim(line);
    if (!trimmed.empty()) lines.push_back(std::move(trimmed));
  }
  if (lines.size() > count) lines.erase(lines.begin(), lines.end() - static_cast<std::ptrdiff_t>(count));
  return fmt::format("{}", fmt::join(lines, " | "));
}

}  // namespace

std::vector<model::ResolvedExtension> resolve_cluster_extensions(const model::Cluster& cluster, int major) {
  std::vector<model::ResolvedExtension> resolved;
  for (const auto& request : cluster.extensions) {
    auto extension = model::resolve_extension(request.name, major);
    if (!extension) continue;
    if (std::none_of(resolved.begin(), resolved.end(),
                     [&](const model::ResolvedExtension& known) { return known.name == extension->name; }))
      resolved.push_back(std::move(extension).value());
  }
  return resolved;
}

std::map<std::string, std::string> parse_dpkg_query(std::string_view output) {
  std::map<std::string, std::string> installed;
  for (const auto& line : split(output, '\n')) {
    const auto fields = split(line, '\t');
    if (fields.size() < 3 || trim(fields[1]) != "installed") continue;
    std::string package = trim(fields[0]);
    // Multi-arch names come as "libfoo:amd64"; the catalogue's are architecture-independent names.
    if (const auto colon = package.find(':'); colon != std::string::npos) package.resize(colon);
    installed[package] = trim(fields[2]);
  }
  return installed;
}

std::map<std::string, std::string> parse_apt_cache_policy(std::string_view output) {
  std::map<std::string, std::string> candidates;
  std::string package;
  for (const auto& line : split(output, '\n')) {
    if (!line.empty() && line[0] != ' ' && line.back() == ':') {
      package = line.substr(0, line.size() - 1);
      continue;
    }
    const std::string trimmed = trim(line);
    constexpr std::string_view kCandidate = "Candidate:";
    if (!package.empty() && trimmed.rfind(kCandidate, 0) == 0) {
      const std::string version = trim(trimmed.substr(kCandidate.size()));
      if (!version.empty() && version != "(none)") candidates[package] = version;
    }
  }
  return candidates;
}

std::string control_file_default_version(std::string_view text) {
  for (const auto& line : split(text, '\n')) {
    const std::string trimmed = trim(line);
    if (trimmed.rfind("default_version", 0) != 0) continue;
    const auto equals = trimmed.find('=');
    if (equals == std::string::npos) continue;
    std::string value = trim(trimmed.substr(equals + 1));
    value.erase(std::remove(value.begin(), value.end(), '\''), value.end());
    return trim(value);
  }
  return {};
}

std::vector<std::string> apt_install_command(const std::vector<std::string>& packages, std::chrono::seconds timeout) {
  std::vector<std::string> argv = {"timeout",
                                   "--kill-after=30",
                                   std::to_string(timeout.count()),
                                   "apt-get",
                                   "install",
                                   "-y",
                                   "-q",
                                   "--no-install-recommends",
                                   "-o",
                                   fmt::format("DPkg::Lock::Timeout={}", kLockWaitSeconds),
                                   "-o",
                                   "Dpkg::Options::=--force-confdef",
                                   "-o",
                                   "Dpkg::Options::=--force-confold"};
  argv.insert(argv.end(), packages.begin(), packages.end());
  return argv;
}

std::chrono::seconds install_retry_delay(int failures) {
  std::chrono::seconds delay{10};
  for (int i = 1; i < failures && delay < std::chrono::seconds(300); ++i) delay *= 2;
  return std::min(delay, std::chrono::seconds(300));
}

ExtensionInstaller::ExtensionInstaller(ExtensionInstallerOptions options) : options_(std::move(options)) {
  if (!options_.run)
    options_.run = [](const std::vector<std::string>& argv, const CommandOptions& command_options) {
      return run_command(argv, command_options);
    };
  worker_ = std::thread([this] { run_worker(); });
}

ExtensionInstaller::~ExtensionInstaller() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  worker_.join();
}

std::map<std::string, std::string> ExtensionInstaller::installed_packages(const std::vector<std::string>& packages) {
  std::map<std::string, std::string> installed;
  std::vector<std::string> unknown;
  {
    std::lock_guard lock(mutex_);
    for (const auto& package : packages) {
      if (auto found = installed_cache_.find(package); found != installed_cache_.end()) {
        installed.insert(*found);
      } else {
        unknown.push_back(package);
      }
    }
  }
  if (unknown.empty()) return installed;
  std::vector<std::string> argv = {"dpkg-query", "-W", "-f", "${Package}\t${db:Status-Status}\t${Version}\n"};
  argv.insert(argv.end(), unknown.begin(), unknown.end());
  auto queried = options_.run(argv, {});  // exit 1 when one is unknown to dpkg; the others are still listed
  if (!queried) {
    spdlog::warn("extensions: cannot run dpkg-query: {}", queried.error().message);
    return installed;
  }
  const auto found = parse_dpkg_query(queried->standard_output);
  std::lock_guard lock(mutex_);
  for (const auto& [package, version] : found) {
    installed[package] = version;
    installed_cache_[package] = version;
  }
  return installed;
}

ExtensionReadiness ExtensionInstaller::ensure(const std::vector<std::string>& packages) {
  ExtensionReadiness readiness;
  const auto installed = installed_packages(packages);
  std::vector<std::string> problems;
  {
    std::lock_guard lock(mutex_);
    for (const auto& package : packages) {
      if (installed.count(package) > 0) continue;
      readiness.missing_packages.push_back(package);
      if (!options_.installs_allowed) continue;
      if (installing_.count(package) > 0) readiness.installing = true;
      if (auto failed = failures_.find(package); failed != failures_.end())
        problems.push_back(fmt::format(
            "installing {} failed ({} attempt{}, next in {} s): {}", package, failed->second.attempts,
            failed->second.attempts == 1 ? "" : "s",
            std::max<std::int64_t>(
                0,
                std::chrono::duration_cast<std::chrono::seconds>(failed->second.retry_at - SteadyClock::now()).count()),
            failed->second.message));
      if (installing_.count(package) == 0) queued_.insert(package);
    }
  }
  if (readiness.missing_packages.empty()) return readiness;
  if (!options_.installs_allowed) {
    readiness.problem = fmt::format(
        "missing package{} {}: this agent does not install packages (--no-extension-installs); "
        "install {} on this host",
        readiness.missing_packages.size() == 1 ? "" : "s", fmt::join(readiness.missing_packages, ", "),
        readiness.missing_packages.size() == 1 ? "it" : "them");
  } else if (!problems.empty()) {
    readiness.problem = fmt::format("{}", fmt::join(problems, "; "));
  }
  wake_.notify_all();
  return readiness;
}

void ExtensionInstaller::run_worker() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    // What may be tried now: queued and not waiting for its retry time.
    std::vector<std::string> due;
    auto next_retry = SteadyClock::time_point::max();
    for (const auto& package : queued_) {
      auto failed = failures_.find(package);
      if (failed == failures_.end() || failed->second.retry_at <= SteadyClock::now()) {
        due.push_back(package);
      } else {
        next_retry = std::min(next_retry, failed->second.retry_at);
      }
    }
    if (due.empty()) {
      if (next_retry == SteadyClock::time_point::max()) {
        wake_.wait(lock);
      } else {
        wake_.wait_until(lock, next_retry);
      }
      continue;
    }
    for (const auto& package : due) {
      queued_.erase(package);
      installing_.insert(package);
    }
    lock.unlock();
    install(due);
    lock.lock();
    installing_.clear();
  }
}

void ExtensionInstaller::install(const std::vector<std::string>& packages) {
  CommandOptions command_options;
  command_options.extra_environment = {{"DEBIAN_FRONTEND", "noninteractive"}, {"APT_LISTCHANGES_FRONTEND", "none"}};
  spdlog::info("extensions: installing {}", fmt::join(packages, ", "));
  const auto started = SteadyClock::now();
  auto attempt = [&] { return options_.run(apt_install_command(packages, options_.install_timeout), command_options); };
  auto result = attempt();
  if (result && result->exit_code == 100 &&
      result->standard_error.find("Unable to locate package") != std::string::npos) {
    // An empty or old package list: refresh it once and try again.
    spdlog::info("extensions: apt does not know {}; running apt-get update", fmt::join(packages, ", "));
    auto updated = options_.run(
        {"timeout", "--kill-after=30", std::to_string(kAptUpdateTimeout.count()), "apt-get", "update", "-q"},
        command_options);
    if (updated && updated->exit_code == 0) result = attempt();
  }
  std::string failure;
  if (!result) {
    failure = result.error().message;
  } else if (result->exit_code == 124 || result->exit_code == 137) {
    failure = fmt::format("apt-get did not finish within {} s", options_.install_timeout.count());
  } else if (result->exit_code != 0) {
    failure = fmt::format("apt-get exited with {}: {}", result->exit_code,
                          tail_lines(result->standard_error + "\n" + result->standard_output, 3));
  }
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(SteadyClock::now() - started).count();
  std::lock_guard lock(mutex_);
  installs_finished_ += 1;
  candidates_.reset();  // what is installable may have changed too
  if (failure.empty()) {
    spdlog::info("extensions: installed {} in {} s", fmt::join(packages, ", "), seconds);
    for (const auto& package : packages) failures_.erase(package);
    return;  // the next ensure() asks dpkg for their versions
  }
  for (const auto& package : packages) {
    Failure& failed = failures_[package];
    failed.attempts += 1;
    failed.message = failure;
    failed.retry_at = SteadyClock::now() + install_retry_delay(failed.attempts);
    queued_.insert(package);
  }
  spdlog::warn("extensions: installing {} failed after {} s (retrying in {} s): {}", fmt::join(packages, ", "), seconds,
               install_retry_delay(failures_[packages.front()].attempts).count(), failure);
}

std::string ExtensionInstaller::installed_version(std::string_view extension, int major) const {
  const std::filesystem::path control =
      std::filesystem::path(replace_major(options_.share_dir_pattern, major)) / (std::string(extension) + ".control");
  auto text = read_file(control);
  if (!text) return {};
  std::string version = control_file_default_version(text.value());
  return version.empty() ? std::string("unknown") : version;
}

model::Json ExtensionInstaller::inventory(const std::vector<int>& majors) {
  std::vector<std::string> packages;
  for (const int major : majors) {
    for (const auto& entry : model::extension_catalogue()) {
      auto resolved = model::resolve_extension(entry.name, major);
      if (resolved && std::find(packages.begin(), packages.end(), resolved->package) == packages.end())
        packages.push_back(resolved->package);
    }
  }
  const auto installed = installed_packages(packages);
  std::map<std::string, std::string> candidates;
  {
    std::lock_guard lock(mutex_);
    if (candidates_) candidates = *candidates_;
  }
  if (candidates.empty() && !packages.empty()) {
    std::vector<std::string> argv = {"apt-cache", "policy"};
    argv.insert(argv.end(), packages.begin(), packages.end());
    if (auto policy = options_.run(argv, {}); policy) {
      candidates = parse_apt_cache_policy(policy->standard_output);
      std::lock_guard lock(mutex_);
      candidates_ = candidates;
    }
  }
  model::Json items = model::Json::array();
  for (const int major : majors) {
    for (const auto& entry : model::extension_catalogue()) {
      auto resolved = model::resolve_extension(entry.name, major);
      if (!resolved) continue;
      const std::string version = installed_version(entry.name, major);
      model::Json item = {{"name", resolved->name},
                          {"postgresMajor", major},
                          {"package", resolved->package},
                          {"preload", resolved->preload},
                          {"contrib", resolved->contrib},
                          {"installed", !version.empty()},
                          {"installable", candidates.count(resolved->package) > 0}};
      if (!version.empty()) item["version"] = version;
      if (auto found = installed.find(resolved->package); found != installed.end()) {
        item["packageVersion"] = found->second;
      } else if (auto candidate = candidates.find(resolved->package); candidate != candidates.end()) {
        item["candidateVersion"] = candidate->second;
      }
      items.push_back(std::move(item));
    }
  }
  return items;
}

}  // namespace pgstack::agent
