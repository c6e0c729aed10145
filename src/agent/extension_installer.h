// Extensions on this host: which Debian packages a cluster's postgres.extensions need, installing the
// missing ones with apt on a worker thread (an install takes many seconds; the lifecycle loop must not
// wait for it), and the host's inventory (installed and installable extensions) for the API.
//
// An instance whose packages are missing does not start (or keeps its current configuration, so a
// running Postgres never has a library preloaded that is not there); once they are installed the next
// reconcile writes the configuration, and a new preload library makes Patroni report pending restart.
// Failures are retried with backoff and reported, never swallowed; `--no-extension-installs` forbids
// installing, and then the report names the missing packages.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "common/process.h"
#include "model/document.h"
#include "model/extension_catalogue.h"
#include "model/resources.h"

namespace pgstack::agent {

// The packages `cluster`'s extensions need on `major` (contrib ones need only the server package),
// sorted, no duplicates. Unknown names are skipped: validation refuses them before they get here.
std::vector<model::ResolvedExtension> resolve_cluster_extensions(const model::Cluster& cluster, int major);

// `dpkg-query -W -f '${Package}\t${db:Status-Status}\t${Version}\n'` output -> installed package -> version.
std::map<std::string, std::string> parse_dpkg_query(std::string_view output);
// `apt-cache policy <packages>` output -> package -> candidate version (absent: none to install).
std::map<std::string, std::string> parse_apt_cache_policy(std::string_view output);
// A control file's default_version ("1.6" from "default_version = '1.6'"), empty when it has none.
std::string control_file_default_version(std::string_view text);

// The argv that installs `packages` without questions, bounded by `timeout` (timeout(1): exit 124).
std::vector<std::string> apt_install_command(const std::vector<std::string>& packages, std::chrono::seconds timeout);
// How long to wait before the attempt after `failures` failed ones: 10 s, doubling, at most 5 min.
std::chrono::seconds install_retry_delay(int failures);

// What an instance's extensions need that the host lacks.
struct ExtensionReadiness {
  std::vector<std::string> missing_packages;  // empty: everything is installed
  bool installing = false;                    // an install of (some of) them is running
  std::string problem;                        // why they are not installed: forbidden, or the last failure
  bool ready() const { return missing_packages.empty(); }
};

struct ExtensionInstallerOptions {
  bool installs_allowed = true;
  std::chrono::seconds install_timeout{600};
  // /usr/share/postgresql/<major>/extension holds the control files.
  std::string share_dir_pattern = "/usr/share/postgresql/{major}/extension";
  // Runs a program to completion (tests replace it); the default is run_command.
  std::function<Result<CommandOutput>(const std::vector<std::string>&, const CommandOptions&)> run;
};

class ExtensionInstaller {
 public:
  explicit ExtensionInstaller(ExtensionInstallerOptions options);
  ~ExtensionInstaller();  // waits for an install in flight (bounded by its timeout)
  ExtensionInstaller(const ExtensionInstaller&) = delete;
  ExtensionInstaller& operator=(const ExtensionInstaller&) = delete;

  // Which of `packages` are missing; the missing ones are queued for installation when allowed.
  ExtensionReadiness ensure(const std::vector<std::string>& packages);

  // {"name","package","preload","contrib","installed","version","packageVersion","installable"} of
  // every catalogue extension for each of `majors`; "version" from the control file (what
  // pg_available_extensions shows as default_version). Asks apt-cache once, then after installs.
  model::Json inventory(const std::vector<int>& majors);
  // The control file's default_version of an installed extension, empty when it is not installed.
  std::string installed_version(std::string_view extension, int major) const;
  bool installs_allowed() const { return options_.installs_allowed; }
  // Counts finished installs: the inventory is published again when it changes.
  std::uint64_t installs_finished() const { return installs_finished_.load(); }

 private:
  void run_worker();
  std::map<std::string, std::string> installed_packages(const std::vector<std::string>& packages);
  void install(const std::vector<std::string>& packages);

  ExtensionInstallerOptions options_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::set<std::string> queued_;      // to install on the next attempt
  std::set<std::string> installing_;  // in the attempt running now
  struct Failure {
    std::string message;
    int attempts = 0;
    std::chrono::steady_clock::time_point retry_at;
  };
  std::map<std::string, Failure> failures_;                       // by package
  std::map<std::string, std::string> installed_cache_;            // package -> version, known installed
  std::optional<std::map<std::string, std::string>> candidates_;  // apt-cache policy, until the next install
  std::atomic<std::uint64_t> installs_finished_{0};
  std::thread worker_;
};

}  // namespace pgstack::agent
