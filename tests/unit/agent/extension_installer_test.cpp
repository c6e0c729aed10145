#include "agent/extension_installer.h"

#include <atomic>
#include <thread>

#include <gtest/gtest.h>

namespace pgstack::agent {
namespace {

using namespace std::chrono_literals;

TEST(ExtensionInstaller, ClusterExtensionsResolveToPackagesOnce) {
  model::Cluster cluster;
  cluster.extensions = {{"pg_cron", ""}, {"hypopg", "1.3"}, {"pg_cron", ""}, {"pgcrypto", ""}, {"nosuch", ""}};
  const auto resolved = resolve_cluster_extensions(cluster, 15);
  ASSERT_EQ(resolved.size(), 3u);
  EXPECT_EQ(resolved[0].package, "postgresql-15-cron");
  EXPECT_EQ(resolved[1].package, "postgresql-15-hypopg");
  EXPECT_EQ(resolved[2].package, "postgresql-15");
}

TEST(ExtensionInstaller, ParsesDpkgAptCacheAndControlFiles) {
  EXPECT_EQ(parse_dpkg_query("postgresql-15-cron\tinstalled\t1.5.2-1\n"
                             "postgresql-15-hypopg\tconfig-files\t1.3.1-2\n"
                             "libfoo:amd64\tinstalled\t2\n"
                             "garbage\n"),
            (std::map<std::string, std::string>{{"postgresql-15-cron", "1.5.2-1"}, {"libfoo", "2"}}));
  EXPECT_EQ(parse_apt_cache_policy("postgresql-15-cron:\n  Installed: (none)\n  Candidate: 1.5.2-1\n"
                                   "  Version table:\n     1.5.2-1 500\n"
                                   "postgresql-15-gone:\n  Installed: (none)\n  Candidate: (none)\n"),
            (std::map<std::string, std::string>{{"postgresql-15-cron", "1.5.2-1"}}));
  EXPECT_EQ(control_file_default_version("comment = 'x'\ndefault_version = '1.6'\nrelocatable = false\n"), "1.6");
  EXPECT_EQ(control_file_default_version("default_version='2.0.1'"), "2.0.1");
  EXPECT_EQ(control_file_default_version("comment = 'none'"), "");
}

TEST(ExtensionInstaller, InstallCommandIsNonInteractiveAndBounded) {
  const auto argv = apt_install_command({"postgresql-15-cron"}, 600s);
  ASSERT_GE(argv.size(), 6u);
  EXPECT_EQ(argv[0], "timeout");
  EXPECT_EQ(argv[2], "600");
  EXPECT_NE(std::find(argv.begin(), argv.end(), "-y"), argv.end());
  EXPECT_NE(std::find(argv.begin(), argv.end(), "--no-install-recommends"), argv.end());
  EXPECT_EQ(argv.back(), "postgresql-15-cron");
  EXPECT_EQ(install_retry_delay(1), 10s);
  EXPECT_EQ(install_retry_delay(2), 20s);
  EXPECT_EQ(install_retry_delay(20), 300s);
}

// A fake host: dpkg knows `installed`; apt-get install adds its packages or fails with `apt_error`.
struct FakeHost {
  std::mutex mutex;
  std::set<std::string> installed = {"postgresql-15"};
  std::string apt_error;
  std::atomic<int> installs{0};

  Result<CommandOutput> run(const std::vector<std::string>& argv, const CommandOptions& options) {
    std::lock_guard lock(mutex);
    CommandOutput out;
    out.exit_code = 0;
    if (argv[0] == "dpkg-query") {
      for (std::size_t i = 4; i < argv.size(); ++i) {
        if (installed.count(argv[i])) out.standard_output += argv[i] + "\tinstalled\t1.0-1\n";
      }
      return out;
    }
    if (argv[0] == "timeout" && argv[4] == "install") {
      ++installs;
      EXPECT_EQ(options.extra_environment.at("DEBIAN_FRONTEND"), "noninteractive");
      if (!apt_error.empty()) {
        out.exit_code = 100;
        out.standard_error = apt_error;
        return out;
      }
      for (std::size_t i = 14; i < argv.size(); ++i) installed.insert(argv[i]);
      return out;
    }
    out.exit_code = 1;
    return out;
  }
};

ExtensionInstallerOptions options_for(FakeHost& host, bool allowed = true) {
  ExtensionInstallerOptions options;
  options.installs_allowed = allowed;
  options.run = [&host](const std::vector<std::string>& argv, const CommandOptions& command_options) {
    return host.run(argv, command_options);
  };
  return options;
}

TEST(ExtensionInstaller, InstallsWhatIsMissingInTheBackground) {
  FakeHost host;
  ExtensionInstaller installer(options_for(host));
  EXPECT_TRUE(installer.ensure({"postgresql-15"}).ready());
  ExtensionReadiness readiness = installer.ensure({"postgresql-15", "postgresql-15-cron"});
  EXPECT_EQ(readiness.missing_packages, std::vector<std::string>{"postgresql-15-cron"});
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (!readiness.ready() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(10ms);
    readiness = installer.ensure({"postgresql-15", "postgresql-15-cron"});
  }
  EXPECT_TRUE(readiness.ready());
  EXPECT_EQ(host.installs.load(), 1);
}

TEST(ExtensionInstaller, AFailedInstallIsReportedAndRetriedLater) {
  FakeHost host;
  host.apt_error = "E: Could not get lock /var/lib/dpkg/lock-frontend";
  ExtensionInstaller installer(options_for(host));
  ExtensionReadiness readiness = installer.ensure({"postgresql-15-hypopg"});
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (readiness.problem.empty() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(10ms);
    readiness = installer.ensure({"postgresql-15-hypopg"});
  }
  EXPECT_FALSE(readiness.ready());
  EXPECT_NE(readiness.problem.find("installing postgresql-15-hypopg failed (1 attempt"), std::string::npos)
      << readiness.problem;
  EXPECT_NE(readiness.problem.find("Could not get lock"), std::string::npos) << readiness.problem;
  // Not retried before its delay (10 s), however often it is asked for.
  for (int i = 0; i < 20; ++i) (void)installer.ensure({"postgresql-15-hypopg"});
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(host.installs.load(), 1);
}

TEST(ExtensionInstaller, ForbiddenInstallsNameTheMissingPackage) {
  FakeHost host;
  ExtensionInstaller installer(options_for(host, false));
  const ExtensionReadiness readiness = installer.ensure({"postgresql-15-cron"});
  EXPECT_FALSE(readiness.ready());
  EXPECT_NE(readiness.problem.find("missing package postgresql-15-cron"), std::string::npos) << readiness.problem;
  EXPECT_NE(readiness.problem.find("--no-extension-installs"), std::string::npos) << readiness.problem;
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(host.installs.load(), 0);
}

}  // namespace
}  // namespace pgstack::agent
