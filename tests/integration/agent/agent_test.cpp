// The real pgstack-agent against a real etcd, Patroni, Postgres and PgBouncer: a three-member cluster
// on one host, written to etcd as the controller would. Needs root (Postgres runs as `postgres`) or
// a non-root user that can run Postgres itself.
#include <chrono>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <signal.h>
#include <spawn.h>
#include <sstream>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sys/stat.h>
#include <sys/wait.h>

#include "common/files.h"
#include "common/process.h"
#include "store/etcd_client.h"
#include "support/etcd_server.h"

extern char** environ;

namespace pgstack::agent {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using Json = nlohmann::json;
using SteadyClock = std::chrono::steady_clock;

constexpr const char* kNamespace = "default";
constexpr const char* kCluster = "demo";
constexpr const char* kHost = "node-test";
constexpr const char* kAppPassword = "app-Pa55 'word";

bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds timeout,
                std::chrono::milliseconds interval = 250ms) {
  const auto deadline = SteadyClock::now() + timeout;
  while (true) {
    if (condition()) return true;
    if (SteadyClock::now() >= deadline) return false;
    std::this_thread::sleep_for(interval);
  }
}

std::string read_text(const fs::path& path) {
  auto content = read_file(path);
  return content ? content.value() : std::string();
}

// First line of a pid file (postmaster.pid, or ProcessSupervisor's "<pid>\n<starttime>\n").
pid_t pid_from_file(const fs::path& path) {
  std::istringstream stream(read_text(path));
  long pid = 0;
  stream >> pid;
  return static_cast<pid_t>(pid);
}

bool process_exists(pid_t pid) {
  if (pid <= 0 || ::kill(pid, 0) != 0) return false;
  // A zombie waiting for init does not count.
  std::istringstream stat(read_text(fmt::format("/proc/{}/stat", pid)));
  std::string field;
  for (int i = 0; i < 3 && stat >> field; ++i) {
  }
  return field != "Z" && field != "X";
}

struct Member {
  std::string name;
  int postgres_port = 0;
  int pgbouncer_port = 0;
  int patroni_port = 0;
};

// The agent binary, started and killed by the test.
class AgentProcess {
 public:
  AgentProcess(std::vector<std::string> argv, const fs::path& log) {
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
    std::vector<char*> args;
    for (auto& arg : argv) args.push_back(arg.data());
    args.push_back(nullptr);
    if (::posix_spawn(&pid_, args[0], &actions, nullptr, args.data(), environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&actions);
  }
  ~AgentProcess() { kill(SIGKILL); }
  AgentProcess(const AgentProcess&) = delete;
  AgentProcess& operator=(const AgentProcess&) = delete;

  bool started() const { return pid_ > 0; }

  // Sends `signal` and waits up to `timeout` for the agent to exit; its exit code, or nothing.
  std::optional<int> kill(int signal, std::chrono::milliseconds timeout = 10s) {
    if (pid_ <= 0) return std::nullopt;
    ::kill(pid_, signal);
    return wait(timeout);
  }

  std::optional<int> wait(std::chrono::milliseconds timeout) {
    if (pid_ <= 0) return std::nullopt;
    std::optional<int> exit_code;
    wait_until(
        [&] {
          int status = 0;
          if (::waitpid(pid_, &status, WNOHANG) != pid_) return false;
          exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
          return true;
        },
        timeout, 50ms);
    if (exit_code) pid_ = -1;
    return exit_code;
  }

 private:
  pid_t pid_ = -1;
};

class AgentIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto etcd = pgstack::testing::EtcdServer::start();
    ASSERT_TRUE(etcd.ok()) << etcd.error().message;
    etcd_ = std::move(etcd).value();
    client_.emplace(std::vector<std::string>{etcd_->endpoint()});

    std::string pattern = (fs::temp_directory_path() / "pgstack-agent-it.XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    state_dir_ = pattern;
    // mkdtemp makes it 0700: the postgres user must be able to reach its instance directories.
    fs::permissions(state_dir_, fs::perms(0755));

    for (int index = 0; index < 3; ++index) {
      members_.push_back(Member{fmt::format("{}-{}", kCluster, index), pgstack::testing::free_tcp_port(),
                                pgstack::testing::free_tcp_port(), pgstack::testing::free_tcp_port()});
    }
  }

  // Stops what the agent started even when the test failed half-way: Patroni first (so it does not
  // start Postgres again), then PgBouncer, then Postgres itself.
  void TearDown() override {
    agent_.reset();
    for (const auto& member : members_) {
      const fs::path dir = instance_dir(member);
      for (const char* pid_file : {"config/patroni.pid", "config/pgbouncer.pid"}) {
        const pid_t pid = pid_from_file(dir / pid_file);
        if (pid > 0) ::kill(pid, SIGKILL);
      }
      const pid_t postmaster = pid_from_file(dir / "data/postmaster.pid");
      if (postmaster > 0 && process_exists(postmaster)) {
        ::kill(postmaster, SIGQUIT);  // immediate shutdown: the children exit with it
        if (!wait_until([&] { return !process_exists(postmaster); }, 10s)) ::kill(postmaster, SIGKILL);
      }
    }
    if (HasFailure() && !state_dir_.empty()) {
      std::cerr << "---- agent log ----\n" << read_text(state_dir_ / "agent.log") << "\n";
      for (const auto& member : members_) {
        std::string log = read_text(instance_dir(member) / "log/patroni.log");
        if (log.size() > 4000) log = log.substr(log.size() - 4000);
        std::cerr << "---- " << member.name << " patroni.log (end) ----\n" << log << "\n";
      }
    }
    std::error_code ignored;
    if (!state_dir_.empty()) fs::remove_all(state_dir_, ignored);
    etcd_.reset();
  }

  fs::path instance_dir(const Member& member) const {
    return state_dir_ / "instances" / kNamespace / kCluster / member.name;
  }

  std::string assignment_key(const Member& member) const {
    return fmt::format("/pgstack/assignments/{}/{}/{}/{}", kHost, kNamespace, kCluster, member.name);
  }

  std::string report_key(const Member& member) const {
    return fmt::format("/pgstack/instances/{}/{}/{}", kNamespace, kCluster, member.name);
  }

  // What the controller writes: the cluster's credentials and one assignment per member.
  void write_cluster() {
    const Json secrets = {
        {"superuser", {{"username", "postgres"}, {"password", "super-secret"}}},
        {"replication", {{"username", "replicator"}, {"password", "replication-secret"}}},
        {"rewind", {{"username", "rewinder"}, {"password", "rewind-secret"}}},
        {"authenticator", {{"username", "authenticator"}, {"password", "auth\"secret"}}},
        {"application", {{"username", "app"}, {"password", kAppPassword}, {"database", "shop"}}},
    };
    ASSERT_TRUE(client_->put(fmt::format("/pgstack/secrets/{}/{}", kNamespace, kCluster), secrets.dump()).ok());
    for (std::size_t index = 0; index < members_.size(); ++index) write_assignment(index, 0, Json::object());
  }

  void write_assignment(std::size_t index, int restart_generation, const Json& postgres_parameters) {
    Json cluster = Json::parse(fmt::format(R"({{"apiVersion": "stackgres.io/v1", "kind": "SGCluster",
      "metadata": {{"name": "{}", "namespace": "{}"}},
      "spec": {{"instances": 3, "postgres": {{"version": "15"}}, "pods": {{"persistentVolume": {{"size": "5Gi"}}}}}}}})",
                                           kCluster, kNamespace));
    if (!postgres_parameters.empty())
      cluster["spec"]["configurations"]["postgres"]["postgresql.conf"] = postgres_parameters;
    // Small, so three instances fit any test machine.
    const Json profile = Json::parse(R"({"apiVersion": "stackgres.io/v1", "kind": "SGInstanceProfile",
      "metadata": {"name": "tiny", "namespace": "default"}, "spec": {"cpu": "1", "memory": "512Mi"}})");
    const Member& member = members_[index];
    const Json assignment = {
        {"namespace", kNamespace},
        {"clusterName", kCluster},
        {"member", member.name},
        {"index", index},
        {"host", kHost},
        {"postgresMajor", 15},
        {"ports",
         {{"postgres", member.postgres_port}, {"pgbouncer", member.pgbouncer_port}, {"patroni", member.patroni_port}}},
        {"cluster", cluster},
        {"profile", profile},
        {"postgresConfig", nullptr},
        {"poolingConfig", nullptr},
        {"restartGeneration", restart_generation}};
    ASSERT_TRUE(client_->put(assignment_key(member), assignment.dump()).ok());
  }

  void start_agent(bool stop_instances_on_exit) {
    std::vector<std::string> argv = {PGSTACK_AGENT_BINARY, "--etcd", etcd_->endpoint(), "--host-name", kHost,
                                     "--state-dir", state_dir_.string(), "--ca-dir", etcd_->ca_dir().string(),
                                     // Their default ports may be taken by an installation on this machine.
                                     "--metrics-listen", "off", "--node-exporter-listen", "off"};
    if (stop_instances_on_exit) argv.push_back("--stop-instances-on-exit");
    agent_ = std::make_unique<AgentProcess>(argv, state_dir_ / "agent.log");
    ASSERT_TRUE(agent_->started());
  }

  std::map<std::string, Json> reports() const {
    std::map<std::string, Json> result;
    auto listed = client_->get_prefix(fmt::format("/pgstack/instances/{}/{}/", kNamespace, kCluster));
    if (!listed) return result;
    for (const auto& item : listed->items) {
      Json report = Json::parse(item.value, nullptr, false);
      if (report.is_object() && report.contains("member")) result[report["member"].get<std::string>()] = report;
    }
    return result;
  }

  // One running primary and every other member a streaming replica.
  bool cluster_is_healthy(std::size_t members) const {
    const auto current = reports();
    if (current.size() != members) return false;
    int primaries = 0;
    int streaming = 0;
    for (const auto& [name, report] : current) {
      if (report.value("state", "") != "running" || !report.contains("patroni")) return false;
      const Json& patroni = report["patroni"];
      if (patroni.value("role", "") == "primary" && patroni.value("state", "") == "running") ++primaries;
      if (patroni.value("role", "") == "replica" && patroni.value("state", "") == "streaming") ++streaming;
    }
    return primaries == 1 && static_cast<std::size_t>(streaming) == members - 1;
  }

  const Member* primary() const {
    for (const auto& [name, report] : reports()) {
      if (report["patroni"].value("role", "") != "primary") continue;
      for (const auto& member : members_) {
        if (member.name == name) return &member;
      }
    }
    return nullptr;
  }

  // psql as the application user, the password in the environment; stdout, or nothing on failure.
  std::optional<std::string> psql(int port, const std::string& sql, std::string* error = nullptr) const {
    CommandOptions options;
    options.extra_environment["PGPASSWORD"] = kAppPassword;
    options.extra_environment["PGCONNECT_TIMEOUT"] = "5";
    auto result = run_command({"psql", "-X", "-At", "-v", "ON_ERROR_STOP=1", "-d",
                               fmt::format("host=127.0.0.1 port={} dbname=shop user=app", port), "-c", sql},
                              options);
    if (!result || result->exit_code != 0) {
      if (error != nullptr) *error = result ? result->standard_error : result.error().message;
      return std::nullopt;
    }
    std::string output = result->standard_output;
    while (!output.empty() && output.back() == '\n') output.pop_back();
    return output;
  }

  std::unique_ptr<pgstack::testing::EtcdServer> etcd_;
  std::optional<store::EtcdClient> client_;
  fs::path state_dir_;
  std::vector<Member> members_;
  std::unique_ptr<AgentProcess> agent_;
};

TEST_F(AgentIntegrationTest, RunsReattachesAndStopsAThreeMemberCluster) {
  write_cluster();
  start_agent(/*stop_instances_on_exit=*/false);

  // 1. One primary, two streaming replicas, as the reports say.
  ASSERT_TRUE(wait_until([&] { return cluster_is_healthy(3); }, 90s)) << Json(reports()).dump(2);
  // Secrets only for the user that runs the instances.
  const fs::path auth_file = instance_dir(members_[0]) / "config/pgbouncer_auth.txt";
  struct stat info {};
  ASSERT_EQ(::stat(auth_file.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600U);
  ASSERT_EQ(::stat((instance_dir(members_[0]) / "config/tls/server.key").c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600U);
  ASSERT_EQ(::stat((instance_dir(members_[0]) / "data").c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0700U);
  const Json host = Json::parse(client_->get(fmt::format("/pgstack/hosts/{}", kHost)).value()->value);
  EXPECT_EQ(host["name"], kHost);
  EXPECT_EQ(host["stateDir"], state_dir_.string());
  EXPECT_GT(host["freeDiskBytes"].get<std::int64_t>(), 0);

  // 2. Written through the primary's PgBouncer as the application user, read on both replicas.
  const Member* leader = primary();
  ASSERT_NE(leader, nullptr);
  std::string error;
  ASSERT_TRUE(wait_until(
      [&] {
        return psql(leader->pgbouncer_port,
                    "CREATE TABLE IF NOT EXISTS agent_test (v text); INSERT INTO agent_test VALUES ('through "
                    "pgbouncer')",
                    &error)
            .has_value();
      },
      30s, 500ms))
      << error;
  for (const auto& member : members_) {
    if (&member == leader) continue;
    EXPECT_TRUE(
        wait_until([&] { return psql(member.postgres_port, "SELECT v FROM agent_test") == "through pgbouncer"; }, 30s))
        << member.name;
  }

  // 3. kill -9 the agent: Postgres keeps running, and a new agent re-attaches without restarting it.
  std::map<std::string, pid_t> postmasters;
  for (const auto& member : members_) {
    postmasters[member.name] = pid_from_file(instance_dir(member) / "data/postmaster.pid");
    ASSERT_TRUE(process_exists(postmasters[member.name])) << member.name;
  }
  ASSERT_TRUE(agent_->kill(SIGKILL).has_value());
  // The dead agent's reports would stay until its lease expires: remove them to see new ones arrive.
  ASSERT_TRUE(client_->remove_prefix(fmt::format("/pgstack/instances/{}/{}/", kNamespace, kCluster)).ok());
  for (const auto& member : members_) EXPECT_TRUE(process_exists(postmasters[member.name])) << member.name;
  {
    // Under another name it would find no assignments and stop everything: it refuses to start.
    AgentProcess renamed({PGSTACK_AGENT_BINARY, "--etcd", etcd_->endpoint(), "--host-name", "other-name", "--state-dir",
                          state_dir_.string(), "--ca-dir", etcd_->ca_dir().string()},
                         state_dir_ / "agent-renamed.log");
    const auto exit_code = renamed.wait(10s);
    ASSERT_TRUE(exit_code.has_value());
    EXPECT_NE(*exit_code, 0);
    EXPECT_NE(read_text(state_dir_ / "agent-renamed.log").find("belongs to host 'node-test'"), std::string::npos);
  }
  start_agent(/*stop_instances_on_exit=*/true);
  ASSERT_TRUE(wait_until([&] { return cluster_is_healthy(3); }, 30s)) << Json(reports()).dump(2);
  for (const auto& member : members_) {
    EXPECT_EQ(pid_from_file(instance_dir(member) / "data/postmaster.pid"), postmasters[member.name]) << member.name;
    EXPECT_TRUE(process_exists(postmasters[member.name])) << member.name;
  }
  EXPECT_NE(read_text(state_dir_ / "agent.log").find("re-attached"), std::string::npos);

  // 4. A changed parameter reaches Postgres by a reload; a new restartGeneration restarts it.
  const std::size_t leader_index = static_cast<std::size_t>(leader - members_.data());
  write_assignment(leader_index, 0, Json{{"work_mem", "7MB"}});
  EXPECT_TRUE(wait_until([&] { return psql(leader->pgbouncer_port, "SHOW work_mem") == "7MB"; }, 30s));
  EXPECT_EQ(pid_from_file(instance_dir(*leader) / "data/postmaster.pid"), postmasters[leader->name]);
  write_assignment(leader_index, 1, Json{{"work_mem", "7MB"}});
  EXPECT_TRUE(wait_until(
      [&] {
        const pid_t now = pid_from_file(instance_dir(*leader) / "data/postmaster.pid");
        return now > 0 && now != postmasters[leader->name] && process_exists(now);
      },
      60s));
  postmasters[leader->name] = pid_from_file(instance_dir(*leader) / "data/postmaster.pid");
  EXPECT_TRUE(wait_until([&] { return cluster_is_healthy(3); }, 60s)) << Json(reports()).dump(2);
  // Recorded once Patroni answers POST /restart, which may be after Postgres is back.
  EXPECT_TRUE(wait_until([&] { return read_text(instance_dir(*leader) / "config/restart-generation") == "1\n"; }, 60s));

  // 5. An assignment removed: that member stops, its data stays.
  const Member* removed = nullptr;
  for (const auto& member : members_) {
    if (&member != leader) removed = &member;
  }
  ASSERT_TRUE(client_->remove(assignment_key(*removed)).ok());
  EXPECT_TRUE(wait_until([&] { return !process_exists(postmasters[removed->name]); }, 60s)) << removed->name;
  EXPECT_TRUE(wait_until([&] { return reports().count(removed->name) == 0; }, 10s));
  EXPECT_TRUE(fs::exists(instance_dir(*removed) / "data/PG_VERSION"));
  EXPECT_FALSE(process_exists(pid_from_file(instance_dir(*removed) / "config/patroni.pid")));

  // 6. --stop-instances-on-exit: SIGTERM stops the remaining members too.
  const auto exit_code = agent_->kill(SIGTERM, 120s);
  ASSERT_TRUE(exit_code.has_value());
  EXPECT_EQ(*exit_code, 0);
  for (const auto& member : members_) {
    EXPECT_FALSE(process_exists(postmasters[member.name])) << member.name;
    EXPECT_TRUE(fs::exists(instance_dir(member) / "data/PG_VERSION")) << member.name;
  }
  EXPECT_TRUE(reports().empty());
}

}  // namespace
}  // namespace pgstack::agent
