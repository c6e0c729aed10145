// The flags pgstack's daemons (agent, controller, proxy) share, declared and checked in one place so
// that they mean the same in each: where etcd is, the prefix of pgstack's keys (the agent and the
// controller must spell the same keys), the address to listen on, how much to log, and one exit code
// for flags that make no sense.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <CLI/CLI.hpp>

#include "common/error.h"
#include "common/network.h"

namespace pgstack {

// What a daemon exits with when a flag is wrong (CLI11's own codes differ per mistake).
constexpr int kBadFlagsExitCode = 2;

// "http://a:2379, https://b:2379" -> the URLs; at least one, each http:// or https://.
Result<std::vector<std::string>> parse_etcd_endpoints(std::string_view comma_separated);
// "/pgstack/" -> "/pgstack": starts with '/', no trailing '/'.
Result<std::string> normalize_etcd_prefix(std::string_view prefix);

// The shared flags after checking.
struct DaemonOptions {
  std::vector<std::string> etcd_endpoints;  // with add_etcd_flags
  std::string etcd_prefix;                  // with add_etcd_flags
  HostPort listen;                          // with add_listen_flag
  std::string log_level = "info";           // trace, debug, info, warn or error
  std::string log_file;                     // with add_log_file_flag; empty: stdout and stderr as they are
  std::uint64_t log_rotate_bytes = 0;       // with add_log_rotation_flags; 0: the file is not rotated
  int log_files_kept = 4;                   // with add_log_rotation_flags: log_file.1 ... log_file.N
};

// Points stdout and stderr at `path`, appended to (created 0640). A daemon calls it at start and again on
// SIGHUP: whoever rotates its log renames the file and signals, and the daemon writes on to a new one.
Result<bool> redirect_output_to(const std::string& path);

class DaemonFlags {
 public:
  DaemonFlags(CLI::App& app, std::string program);

  void add_etcd_flags();                                                       // --etcd, --etcd-prefix
  void add_listen_flag(std::string default_address, std::string description);  // --listen
  void add_log_level_flag();  // --log-level; parse() applies it to spdlog
  void add_log_file_flag();   // --log-file; the daemon redirects its output (redirect_output_to)
  // --log-rotate-mib, --log-files-kept: a daemon that rotates its own --log-file (OutputRotation).
  void add_log_rotation_flags();

  // Parses the command line. Nothing when the daemon should go on; otherwise what main returns:
  // 0 after --help, kBadFlagsExitCode (with the reason on stderr) for a bad flag.
  std::optional<int> parse(int argc, const char* const* argv);
  const DaemonOptions& options() const { return options_; }

  // For the daemon's own checks: "<program>: <message>" on stderr, and kBadFlagsExitCode.
  int bad_flag(std::string_view message) const;

 private:
  Result<bool> check();

  CLI::App& app_;
  std::string program_;
  DaemonOptions options_;
  bool etcd_flags_ = false;
  bool listen_flag_ = false;
  bool log_level_flag_ = false;
  std::string etcd_text_ = "http://127.0.0.1:2379";
  std::string etcd_prefix_text_ = "/pgstack";
  std::string listen_text_;
  int log_rotate_mib_ = 16;
};

}  // namespace pgstack
