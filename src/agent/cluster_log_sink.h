// The agent's own lines about a cluster, in a file of that cluster's, so they reach the cluster's log store
// (log_pgstack, log_type 'agent') beside its Postgres and Patroni lines, and a cluster never sees another's.
//
// Every message of the agent goes to its main log (stderr, a file under `pgstack up`) as before; one that
// names a cluster ("default/demo/demo-0: wrote ...", "patroni default/demo/demo-0: started pid 12",
// "proxy default/demo: ...") is also appended to <agent state>/cluster-logs/<ns>/<cluster>/agent.log in
// pgstack-proxy's line format (`[2026-12-04 05:30:08.123] [info] message`). InstanceLogs rotates that file
// by renaming it (agent.log.1, .2, ...) like proxy.log; the sink notices the rename (the path names another
// file, or none) and opens the path again, so no signal is needed.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include <spdlog/formatter.h>
#include <spdlog/sinks/base_sink.h>

namespace pgstack::agent {

inline constexpr const char* kClusterAgentLogFile = "agent.log";

// "<ns>/<cluster>" when the message is about a cluster: its first word, or its second after a program's name,
// is <ns>/<cluster> or <ns>/<cluster>/<member> (names of letters, digits, '-', '.', '_'), ended by ':' or the
// end of the word. Nothing otherwise (paths, "cannot read /pgstack/...", host-wide lines). Pure.
std::optional<std::string> cluster_of_agent_line(std::string_view message);

// Where a cluster's agent.log is: <state_dir>/cluster-logs/<ns>/<cluster>.
std::filesystem::path cluster_agent_log_directory(const std::filesystem::path& state_dir,
                                                  const std::string& cluster_key);

class ClusterLogSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  explicit ClusterLogSink(std::filesystem::path state_dir);
  ~ClusterLogSink() override;
  ClusterLogSink(const ClusterLogSink&) = delete;
  ClusterLogSink& operator=(const ClusterLogSink&) = delete;

  // Lines that could not be written (a directory that cannot be made, a full disk): the sink cannot log them.
  std::uint64_t lines_lost() const;

 protected:
  void sink_it_(const spdlog::details::log_msg& message) override;
  void flush_() override {}
  // Its own format, whatever the logger's pattern (the shipper parses this one).
  void set_pattern_(const std::string& /*pattern*/) override {}
  void set_formatter_(std::unique_ptr<spdlog::formatter> /*formatter*/) override {}

 private:
  struct OpenFile {
    int fd = -1;
    std::uint64_t device = 0;
    std::uint64_t inode = 0;
  };
  // The cluster's file, opened again when the path was renamed away or removed.
  int file_for(const std::string& cluster_key);

  const std::filesystem::path state_dir_;
  std::unique_ptr<spdlog::formatter> line_format_;
  std::map<std::string, OpenFile> files_;  // by "<ns>/<cluster>"
  std::atomic<std::uint64_t> lines_lost_ = 0;
};

}  // namespace pgstack::agent
