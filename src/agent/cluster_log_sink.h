// The agent's own lines about a cluster, in a file of that cluster's, so they reach the cluster's log store
// (log_pgstack, log_type 'agent') beside its Postgres and Patroni lines, and a cluster never sees another's.
//
// Every message of the agent goes to its main log (stderr, a file under `pgstack up`) as before; one that
// names a cluster ("default/demo/demo-0: wrote ...", "patroni default/demo/demo-0: started pid 12",
// "proxy default/demo: ...") is also appended to <agent state>/cluster-logs/<ns>/<cluster>/agent.log in
// pgstack-proxy's line format (`[2026-12-04 05:30:08.123] [info] message`). InstanceLogs rotates that file
// by renaming it (agent.log.1, .2, ...) like proxy.log; the sink notices the rename (the path names another
// file, or none) and opens the path again, so no signal is needed.
//
// A host-wide line (no cluster named: the agent's start, registration, node_exporter, huge pages, extension
// installs) goes to the agent.log of every cluster with an instance on this host (set_host_clusters), so each
// cluster's store holds what happened to the hosts its members run on. The last kHostLinesKept such lines are
// kept: a cluster that comes to the host gets those it has not had yet (the agent's start, before its first
// pass; what happened while it was away), each line once.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>

#include <spdlog/formatter.h>
#include <spdlog/sinks/base_sink.h>

namespace pgstack::agent {

inline constexpr const char* kClusterAgentLogFile = "agent.log";
inline constexpr std::size_t kHostLinesKept = 200;

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

  // The clusters ("<ns>/<cluster>") with an instance on this host, which receive the host-wide lines; the
  // agent says so on each pass. A cluster new to the set gets the kept lines it has not had.
  void set_host_clusters(std::set<std::string> cluster_keys);

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
  void write_line(const std::string& cluster_key, std::string_view line);

  const std::filesystem::path state_dir_;
  std::unique_ptr<spdlog::formatter> line_format_;
  std::map<std::string, OpenFile> files_;  // by "<ns>/<cluster>"
  std::set<std::string> host_clusters_;
  // The newest host-wide lines, formatted, numbered from 1; and per cluster the number of the last it got.
  std::deque<std::pair<std::uint64_t, std::string>> recent_host_lines_;
  std::uint64_t host_lines_logged_ = 0;
  std::map<std::string, std::uint64_t> host_lines_delivered_;
  std::atomic<std::uint64_t> lines_lost_ = 0;
};

}  // namespace pgstack::agent
