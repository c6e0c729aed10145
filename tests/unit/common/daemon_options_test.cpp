// The daemons' shared flags, parsed as each daemon's main does it.
#include "common/daemon_options.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace pgstack {
namespace {

TEST(EtcdEndpoints, CommaSeparatedUrls) {
  EXPECT_EQ(parse_etcd_endpoints("https://a:2379, http://b:2379,").value(),
            (std::vector<std::string>{"https://a:2379", "http://b:2379"}));
  EXPECT_EQ(parse_etcd_endpoints(" , ").error().message,
            "--etcd: expected at least one URL like http://127.0.0.1:2379");
  EXPECT_EQ(parse_etcd_endpoints("127.0.0.1:2379").error().message,
            "--etcd: \"127.0.0.1:2379\" is not an http:// or https:// URL");
}

TEST(EtcdPrefix, OneSpellingForEveryDaemon) {
  EXPECT_EQ(normalize_etcd_prefix("/pgstack").value(), "/pgstack");
  EXPECT_EQ(normalize_etcd_prefix("/pgstack/").value(), "/pgstack");
  EXPECT_EQ(normalize_etcd_prefix("/a/b//").value(), "/a/b");
  EXPECT_EQ(normalize_etcd_prefix("/").value(), "/");
  EXPECT_EQ(normalize_etcd_prefix("pgstack").error().message,
            "--etcd-prefix: expected a key prefix like /pgstack, got \"pgstack\"");
  EXPECT_FALSE(normalize_etcd_prefix("").ok());
}

// Runs DaemonFlags over a command line, as a main does.
struct Parsed {
  std::optional<int> exit_code;
  DaemonOptions options;
};
Parsed parse(std::vector<std::string> arguments, bool with_listen = true) {
  CLI::App app{"test daemon"};
  DaemonFlags flags(app, "test-daemon");
  flags.add_etcd_flags();
  if (with_listen) flags.add_listen_flag("127.0.0.1:8080", "where to listen");
  flags.add_log_level_flag();
  flags.add_log_file_flag();
  flags.add_log_rotation_flags();
  arguments.insert(arguments.begin(), "test-daemon");
  std::vector<const char*> argv;
  for (const auto& argument : arguments) argv.push_back(argument.c_str());
  Parsed out;
  out.exit_code = flags.parse(static_cast<int>(argv.size()), argv.data());
  out.options = flags.options();
  return out;
}

TEST(DaemonFlags, DefaultsAreUsable) {
  const Parsed parsed = parse({});
  EXPECT_FALSE(parsed.exit_code);
  EXPECT_EQ(parsed.options.etcd_endpoints, std::vector<std::string>{"http://127.0.0.1:2379"});
  EXPECT_EQ(parsed.options.etcd_prefix, "/pgstack");
  EXPECT_EQ(parsed.options.listen.host, "127.0.0.1");
  EXPECT_EQ(parsed.options.listen.port, 8080);
  EXPECT_EQ(parsed.options.log_level, "info");
  EXPECT_EQ(parsed.options.log_file, "");
  EXPECT_EQ(parsed.options.log_rotate_bytes, 16u << 20);
  EXPECT_EQ(parsed.options.log_files_kept, 4);
}

TEST(DaemonFlags, LogRotationTakesMibAndACountOfFiles) {
  const Parsed parsed = parse({"--log-file", "/tmp/agent.log", "--log-rotate-mib", "64", "--log-files-kept", "9"});
  EXPECT_FALSE(parsed.exit_code);
  EXPECT_EQ(parsed.options.log_file, "/tmp/agent.log");
  EXPECT_EQ(parsed.options.log_rotate_bytes, 64u << 20);
  EXPECT_EQ(parsed.options.log_files_kept, 9);
  EXPECT_EQ(parse({"--log-rotate-mib", "0"}).options.log_rotate_bytes, 0u);
  EXPECT_EQ(parse({"--log-rotate-mib", "-1"}).exit_code, kBadFlagsExitCode);
  EXPECT_EQ(parse({"--log-files-kept", "0"}).exit_code, kBadFlagsExitCode);
  EXPECT_EQ(parse({"--log-files-kept", "many"}).exit_code, kBadFlagsExitCode);
}

TEST(DaemonFlags, ReadsAndNormalizesTheSharedFlags) {
  const Parsed parsed = parse({"--etcd", "https://e1:2379,https://e2:2379", "--etcd-prefix", "/prod/", "--listen",
                               "[::1]:0", "--log-level", "debug"});
  EXPECT_FALSE(parsed.exit_code);
  EXPECT_EQ(parsed.options.etcd_endpoints, (std::vector<std::string>{"https://e1:2379", "https://e2:2379"}));
  EXPECT_EQ(parsed.options.etcd_prefix, "/prod");
  EXPECT_EQ(parsed.options.listen.host, "::1");
  EXPECT_EQ(parsed.options.listen.port, 0);
  EXPECT_EQ(parsed.options.log_level, "debug");
}

TEST(DaemonFlags, EveryBadFlagExitsWithTwo) {
  EXPECT_EQ(parse({"--listen", ":abc"}).exit_code, kBadFlagsExitCode);
  EXPECT_EQ(parse({"--listen", "127.0.0.1:abc"}).exit_code, kBadFlagsExitCode);
  EXPECT_EQ(parse({"--listen", "127.0.0.1:65536"}).exit_code, kBadFlagsExitCode);
  EXPECT_EQ(parse({"--listen", "127.0.0.1"}).exit_code, kBadFlagsExitCode);
  EXPECT_EQ(parse({"--etcd-prefix", "pgstack"}).exit_code, kBadFlagsExitCode);
  EXPECT_EQ(parse({"--etcd", ""}).exit_code, kBadFlagsExitCode);
  EXPECT_EQ(parse({"--log-level", "loud"}).exit_code, kBadFlagsExitCode);
  EXPECT_EQ(parse({"--no-such-flag"}).exit_code, kBadFlagsExitCode);
  EXPECT_EQ(parse({"--listen"}).exit_code, kBadFlagsExitCode);
  EXPECT_EQ(kBadFlagsExitCode, 2);
}

TEST(DaemonFlags, HelpExitsWithZero) { EXPECT_EQ(parse({"--help"}).exit_code, 0); }

TEST(DaemonFlags, ListenIsOnlyCheckedWhenTheDaemonHasIt) {
  EXPECT_FALSE(parse({}, /*with_listen=*/false).exit_code);
  EXPECT_EQ(parse({"--listen", "127.0.0.1:1"}, /*with_listen=*/false).exit_code, kBadFlagsExitCode);
}

}  // namespace
}  // namespace pgstack
