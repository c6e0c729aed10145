#include "agent/cluster_log_sink.h"

#include <filesystem>
#include <memory>
#include <string>
#include <unistd.h>

#include <gtest/gtest.h>
#include <spdlog/logger.h>

#include "common/files.h"

namespace pgstack::agent {
namespace {

TEST(ClusterOfAgentLine, TheKeyIsTheFirstWordOrTheOneAfterAProgramsName) {
  EXPECT_EQ(cluster_of_agent_line("default/demo/demo-0: wrote /x/postgresql.conf"), "default/demo");
  EXPECT_EQ(cluster_of_agent_line("default/demo: backup b1 completed"), "default/demo");
  EXPECT_EQ(cluster_of_agent_line("patroni default/demo/demo-0: started pid 12"), "default/demo");
  EXPECT_EQ(cluster_of_agent_line("proxy team-a/orders.v2: started on 127.0.0.1:1 (read-write)"), "team-a/orders.v2");
  EXPECT_EQ(cluster_of_agent_line("default/logstore/logstore-0 postgres log: shipping again"), "default/logstore");
  EXPECT_EQ(cluster_of_agent_line("postgres_exporter default/demo/demo-0: started pid 3"), "default/demo");
  // Host-wide lines and paths are no cluster's.
  EXPECT_EQ(cluster_of_agent_line("registered /pgstack/hosts/h1 under lease 1f"), std::nullopt);
  EXPECT_EQ(cluster_of_agent_line("node_exporter: started pid 4"), std::nullopt);
  EXPECT_EQ(cluster_of_agent_line("extensions: installing a/b"), std::nullopt);
  EXPECT_EQ(cluster_of_agent_line("agent/instances/default/demo/demo-0/config/patroni.yaml"), std::nullopt);
  EXPECT_EQ(cluster_of_agent_line("the agent's /metrics on http://127.0.0.1:1/metrics"), std::nullopt);
  EXPECT_EQ(cluster_of_agent_line("a//b: x"), std::nullopt);
  EXPECT_EQ(cluster_of_agent_line("ignoring ../etc: x"), std::nullopt);
  EXPECT_EQ(cluster_of_agent_line("default/..: x"), std::nullopt);
  EXPECT_EQ(cluster_of_agent_line(".hidden/demo: x"), std::nullopt);
  EXPECT_EQ(cluster_of_agent_line(""), std::nullopt);
}

class ClusterLogSinkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "pgstack-sink-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  std::string read(const std::filesystem::path& path) {
    auto content = read_file(path);
    return content ? *content : std::string();
  }
  std::filesystem::path dir_;
};

TEST_F(ClusterLogSinkTest, EachClustersLinesGoToItsFileAndARenameStartsANewOne) {
  auto sink = std::make_shared<ClusterLogSink>(dir_);
  spdlog::logger logger("test", sink);
  logger.set_pattern("%v ignored pattern");  // the sink keeps the format the shipper parses
  logger.info("default/demo/demo-0: wrote postgresql.conf");
  logger.warn("patroni default/other/other-1: pid 7 exited");
  logger.info("registered /pgstack/hosts/h1");
  const auto demo = cluster_agent_log_directory(dir_, "default/demo") / kClusterAgentLogFile;
  const auto other = cluster_agent_log_directory(dir_, "default/other") / kClusterAgentLogFile;
  EXPECT_EQ(demo, dir_ / "cluster-logs" / "default" / "demo" / "agent.log");
  const std::string demo_text = read(demo);
  EXPECT_NE(demo_text.find("] [info] default/demo/demo-0: wrote postgresql.conf\n"), std::string::npos) << demo_text;
  EXPECT_EQ(demo_text.front(), '[');
  EXPECT_EQ(demo_text.find("ignored pattern"), std::string::npos);
  EXPECT_EQ(demo_text.find("other"), std::string::npos);
  EXPECT_NE(read(other).find("] [warning] patroni default/other/other-1: pid 7 exited\n"), std::string::npos);

  // A rotation renames the file away: the next line starts a new one, the renamed one keeps what it had.
  std::filesystem::rename(demo, demo.string() + ".1");
  logger.info("default/demo/demo-1: started");
  EXPECT_EQ(read(demo.string() + ".1"), demo_text);
  EXPECT_NE(read(demo).find("default/demo/demo-1: started\n"), std::string::npos);
  EXPECT_EQ(read(demo).find("wrote postgresql.conf"), std::string::npos);
  EXPECT_EQ(sink->lines_lost(), 0u);
}

TEST_F(ClusterLogSinkTest, HostWideLinesGoToEveryClusterOnTheHostEachOnce) {
  auto sink = std::make_shared<ClusterLogSink>(dir_);
  spdlog::logger logger("test", sink);
  const auto file_of = [&](const std::string& key) {
    return read(cluster_agent_log_directory(dir_, key) / kClusterAgentLogFile);
  };
  const auto count = [](const std::string& text, const std::string& what) {
    std::size_t n = 0;
    for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
  };
  // The agent's start, before its first pass: kept, at most kHostLinesKept of them (the newest).
  for (std::size_t i = 0; i < kHostLinesKept + 5; ++i) logger.info("startup line {}", i);
  sink->set_host_clusters({});  // a pass with no cluster here
  logger.info("registered /pgstack/hosts/h1");
  EXPECT_FALSE(std::filesystem::exists(dir_ / "cluster-logs"));

  sink->set_host_clusters({"default/demo", "team/billing"});
  for (const std::string key : {"default/demo", "team/billing"}) {
    const std::string text = file_of(key);
    // The oldest six are gone: five over the bound, and one more for the registration's line.
    EXPECT_EQ(text.find("startup line 5\n"), std::string::npos) << key;
    EXPECT_EQ(count(text, "startup line 6\n"), 1u) << key;
    EXPECT_EQ(count(text, "startup line "), kHostLinesKept - 1) << key;
    EXPECT_EQ(count(text, "] [info] registered /pgstack/hosts/h1\n"), 1u) << key;
  }
  // Later passes with the same clusters add nothing; new host-wide lines go to each, a cluster's own to it only.
  sink->set_host_clusters({"default/demo", "team/billing"});
  logger.warn("node_exporter: pid 9 exited");
  logger.info("default/demo/demo-0: started");
  EXPECT_EQ(count(file_of("default/demo"), "registered /pgstack/hosts/h1"), 1u);
  EXPECT_EQ(count(file_of("default/demo"), "] [warning] node_exporter: pid 9 exited\n"), 1u);
  EXPECT_EQ(count(file_of("team/billing"), "] [warning] node_exporter: pid 9 exited\n"), 1u);
  EXPECT_EQ(file_of("team/billing").find("demo-0"), std::string::npos);

  // A cluster that left gets nothing while away, and on its return what it missed, once.
  sink->set_host_clusters({"team/billing"});
  logger.info("huge pages: pool of 64 pages");
  EXPECT_EQ(file_of("default/demo").find("huge pages"), std::string::npos);
  EXPECT_EQ(count(file_of("team/billing"), "huge pages: pool of 64 pages"), 1u);
  sink->set_host_clusters({"team/billing", "default/demo"});
  EXPECT_EQ(count(file_of("default/demo"), "huge pages: pool of 64 pages"), 1u);
  EXPECT_EQ(count(file_of("default/demo"), "node_exporter: pid 9 exited"), 1u);
  EXPECT_EQ(count(file_of("default/demo"), "startup line 6\n"), 1u);
  EXPECT_EQ(count(file_of("team/billing"), "huge pages: pool of 64 pages"), 1u);
  EXPECT_EQ(sink->lines_lost(), 0u);
}

}  // namespace
}  // namespace pgstack::agent
