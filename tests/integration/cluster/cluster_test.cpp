// End-to-end behaviour of an HA cluster (issue "HA clusters from one command"), against a real etcd,
// controller, agent, Patroni, Postgres, PgBouncer and pgstack-proxy. The tests run in order in one process and share
// one runtime and the `demo` cluster, as a user's session would.
#include <algorithm>
#include <atomic>
#include <fstream>
#include <future>
#include <map>
#include <set>
#include <signal.h>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "common/files.h"
#include "common/http_client.h"
#include "store/etcd_client.h"
#include "support/pgstack_runtime.h"

namespace pgstack::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

PgstackRuntime* runtime = nullptr;

json status_of(const std::string& cluster) {
  auto status = runtime->api_json("GET", "sgclusters/" + cluster + "/status");
  return status.ok() ? status.value() : json::object();
}

bool condition_is(const json& status, const std::string& type, const std::string& value) {
  for (const auto& condition : status.value("conditions", json::array())) {
    if (condition.value("type", "") == type) return condition.value("status", "") == value;
  }
  return false;
}

std::string primary_of(const std::string& cluster) {
  const json status = status_of(cluster);
  return status.value("primary", json()).is_string() ? status["primary"].get<std::string>() : "";
}

json member_of(const json& status, const std::string& name) {
  for (const auto& member : status.value("members", json::array())) {
    if (member.value("name", "") == name) return member;
  }
  return json::object();
}

bool wait_ready(const std::string& cluster, std::size_t members, std::chrono::seconds timeout = 180s) {
  return wait_until(
      [&] {
        const json status = status_of(cluster);
        return condition_is(status, "Ready", "True") && status.value("members", json::array()).size() == members;
      },
      timeout, 500ms);
}

struct Application {
  std::string user;
  std::string password;
  std::string database;
};

Application application_of(const std::string& cluster) {
  auto credentials = runtime->api_json("GET", "sgclusters/" + cluster + "/credentials");
  EXPECT_TRUE(credentials.ok());
  const json app = credentials.ok() ? credentials.value().value("application", json::object()) : json::object();
  return {app.value("username", ""), app.value("password", ""), app.value("database", "")};
}

// libpq multi-host URI: target_session_attrs=read-write finds the primary wherever it is.
std::string uri(const std::string& cluster, const std::string& endpoints_key, const std::string& attrs) {
  const json status = status_of(cluster);
  std::vector<std::string> hosts;
  for (const auto& endpoint : status["endpoints"][endpoints_key]) hosts.push_back(endpoint.get<std::string>());
  const Application app = application_of(cluster);
  return fmt::format("postgresql://{}@{}/{}?target_session_attrs={}", app.user, fmt::join(hosts, ","), app.database,
                     attrs);
}

std::string member_uri(const std::string& cluster, const std::string& member) {
  const json status = status_of(cluster);
  const Application app = application_of(cluster);
  return fmt::format("postgresql://{}@{}/{}", app.user,
                     member_of(status, member)["endpoints"]["postgres"].get<std::string>(), app.database);
}

Result<std::string> sql(const std::string& cluster, const std::string& connection_uri, const std::string& statement) {
  auto out = run_psql(connection_uri, application_of(cluster).password, statement);
  RETURN_IF_ERROR(out);
  if (out->exit_code != 0) return make_error(ErrorCode::kUnavailable, out->standard_error);
  std::string text = out->standard_output;
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

std::string read_write(const std::string& cluster) { return uri(cluster, "readWrite", "read-write"); }

const char* kDemo = R"({"apiVersion":"stackgres.io/v1","kind":"SGCluster","metadata":{"name":"demo"},
  "spec":{"instances":3,"postgres":{"version":"latest"},"pods":{"persistentVolume":{"size":"5Gi"}}}})";

// The postmaster and Patroni of a member, from the pid files under the agent's state directory.
std::vector<pid_t> member_pids(const std::string& cluster, const std::string& member) {
  std::vector<pid_t> pids;
  const auto dir = runtime->agent_state_dir() / "instances" / "default" / cluster / member;
  std::error_code error;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, error);
       it != std::filesystem::recursive_directory_iterator(); it.increment(error)) {
    if (error) break;
    const std::string name = it->path().filename().string();
    if (name != "postmaster.pid" && name.find("patroni") == std::string::npos) continue;
    if (it->path().extension() != ".pid") continue;
    std::ifstream file(it->path());
    long pid = 0;
    if (file >> pid && pid > 1) pids.push_back(static_cast<pid_t>(pid));
  }
  return pids;
}

json operation_of(const std::string& name) {
  auto document = runtime->api_json("GET", "sgdbops/" + name);
  return document.ok() ? document.value() : json::object();
}

// The condition of an SGDbOps that is True (Running, Completed, Failed), or Pending.
std::string operation_state(const std::string& name) {
  for (const auto& condition : operation_of(name).value("status", json::object()).value("conditions", json::array())) {
    if (condition.value("status", "") == "True") return condition.value("type", "");
  }
  return "Pending";
}

std::string operation_reason(const std::string& name) {
  for (const auto& condition : operation_of(name).value("status", json::object()).value("conditions", json::array())) {
    if (condition.value("status", "") == "True") return condition.value("reason", "");
  }
  return "";
}

Result<HttpResponse> create_operation(const std::string& name, const std::string& op, const std::string& details,
                                      const std::string& extra = "") {
  return runtime->api("POST", "sgdbops",
                      fmt::format(R"({{"apiVersion":"stackgres.io/v1","kind":"SGDbOps","metadata":{{"name":"{}"}},
                                      "spec":{{"sgCluster":"demo","op":"{}","{}":{}{}}}}})",
                                  name, op, op, details, extra));
}

std::string cluster_with(int instances, const std::string& extra_spec = "") {
  auto current = runtime->api_json("GET", "sgclusters/demo");
  json document = current.ok() ? current.value() : json::parse(kDemo);
  document.erase("status");
  document["spec"]["instances"] = instances;
  if (!extra_spec.empty()) document["spec"].merge_patch(json::parse(extra_spec));
  return document.dump();
}

TEST(HaCluster, CreateBringsDemoToReadyWithStreamingReplicas) {
  auto created = runtime->api("POST", "sgclusters", kDemo);
  ASSERT_TRUE(created.ok()) << created.error().message;
  ASSERT_EQ(created->status, 201) << created->body;
  ASSERT_TRUE(wait_ready("demo", 3)) << status_of("demo").dump(2);
  // Idle replicas catch up to zero lag.
  EXPECT_TRUE(wait_until(
      [] {
        for (const auto& member : status_of("demo")["members"]) {
          if (member.value("lagBytes", json(-1)) != json(0)) return false;
        }
        return true;
      },
      60s))
      << status_of("demo").dump(2);
  const json status = status_of("demo");
  int primaries = 0, streaming = 0;
  for (const auto& member : status["members"]) {
    if (member["role"] == "primary") ++primaries;
    if (member["role"] != "primary" && member["state"] == "streaming") ++streaming;
  }
  EXPECT_EQ(primaries, 1);
  EXPECT_EQ(streaming, 2);
}

TEST(HaCluster, RowsWrittenThroughTheConnectionStringReachBothReplicas) {
  auto created = sql("demo", read_write("demo"),
                     "CREATE TABLE items (id int PRIMARY KEY, note text); "
                     "INSERT INTO items SELECT g, 'row ' || g FROM generate_series(1, 100) g;");
  ASSERT_TRUE(created.ok()) << created.error().message;
  const json status = status_of("demo");
  for (const auto& member : status["members"]) {
    if (member["role"] == "primary") continue;
    const std::string name = member["name"];
    EXPECT_TRUE(wait_until(
        [&] {
          auto count = sql("demo", member_uri("demo", name), "SELECT count(*) FROM items");
          return count.ok() && count.value() == "100";
        },
        30s))
        << name;
  }
}

// pgstack-proxy's stable endpoints, as `pgstack connstr` gives them.
std::string proxy_uri(const std::string& cluster, const std::string& endpoints_key, const std::string& options = "") {
  const json status = status_of(cluster);
  const json hosts = status["endpoints"].value(endpoints_key, json::array());
  if (hosts.empty()) return "";
  const Application app = application_of(cluster);
  return fmt::format("postgresql://{}@{}/{}{}", app.user, hosts[0].get<std::string>(), app.database, options);
}

// GET <pgstack-proxy admin>/<path> of the cluster's first proxy.
std::string proxy_admin(const std::string& cluster, const std::string& path) {
  const json admin = status_of(cluster)["endpoints"].value("proxyAdmin", json::array());
  if (admin.empty()) return "";
  auto response = http_request("GET", admin[0].get<std::string>() + path, {}, {}, 5s);
  return response.ok() ? response->body : "";
}

Result<CommandOutput> pgbench(const std::string& cluster, const std::string& connection_uri,
                              const std::vector<std::string>& arguments) {
  std::vector<std::string> argv = {"/usr/lib/postgresql/15/bin/pgbench"};
  argv.insert(argv.end(), arguments.begin(), arguments.end());
  argv.push_back(connection_uri);
  return run_command(
      argv, {.extra_environment = {{"PGPASSWORD", application_of(cluster).password}, {"PGCONNECT_TIMEOUT", "5"}}});
}

TEST(HaCluster, ProxyRoutesReadWriteToThePrimaryAndReadOnlyToReplicas) {
  std::string read_write_uri, read_only_uri;
  // The agent starts the proxy with the cluster; the controller publishes its endpoints.
  ASSERT_TRUE(wait_until(
      [&] {
        read_write_uri = proxy_uri("demo", "proxyReadWrite", "?sslmode=disable");
        read_only_uri = proxy_uri("demo", "proxyReadOnly", "?sslmode=disable");
        return !read_write_uri.empty() && sql("demo", read_write_uri, "SELECT 1").ok();
      },
      60s))
      << status_of("demo").dump(2) << runtime->agent_log();
  auto cli = runtime->cli({"connstr", "demo"});
  ASSERT_TRUE(cli.ok());
  EXPECT_NE(cli->standard_output.find(status_of("demo")["endpoints"]["proxyReadWrite"][0].get<std::string>()),
            std::string::npos)
      << cli->standard_output;

  auto recovery = sql("demo", read_write_uri, "SELECT pg_is_in_recovery()");
  ASSERT_TRUE(recovery.ok()) << recovery.error().message;
  EXPECT_EQ(*recovery, "f");
  const json status = status_of("demo");
  std::set<std::string> replica_ports, seen_ports;
  for (const auto& member : status["members"]) {
    if (member["role"] != "primary")
      replica_ports.insert(member["endpoints"]["postgres"].get<std::string>().substr(10));
  }
  // The proxy confirms replicas with Patroni's /replica health check before it sends them reads.
  EXPECT_TRUE(wait_until(
      [] {
        const json health = json::parse(proxy_admin("demo", "/healthz"), nullptr, false);
        return health.is_object() && health["clusters"]["demo"]["replicas"].size() == 2;
      },
      30s))
      << proxy_admin("demo", "/healthz");
  for (int i = 0; i < 6; ++i) {
    auto answer = sql("demo", read_only_uri, "SELECT pg_is_in_recovery() || ' ' || current_setting('port')");
    ASSERT_TRUE(answer.ok()) << answer.error().message;
    EXPECT_EQ(answer->substr(0, 5), "true ") << *answer;
    seen_ports.insert(answer->substr(5));
  }
  // Least connections with ties taken in turn: both replicas serve reads.
  EXPECT_EQ(seen_ports, replica_ports);

  // TLS is terminated by the proxy with the instance's certificate.
  auto tls = sql("demo", proxy_uri("demo", "proxyReadWrite", "?sslmode=require"), "SELECT 'over tls'");
  ASSERT_TRUE(tls.ok()) << tls.error().message;

  // Its statistics: the statements just sent are counted, per cluster and listener.
  const std::string metrics = proxy_admin("demo", "/metrics");
  const std::string labels = R"(cluster="demo",listener="{}",database="app",user="app")";
  EXPECT_NE(metrics.find(fmt::format(fmt::runtime(labels), "rw") + R"(,tls="true"} 1)"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find(fmt::format(fmt::runtime(labels), "ro") + R"(,tls="false"} 6)"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find(fmt::format(fmt::runtime(labels), "ro") + R"(,type="select"} 6)"), std::string::npos)
      << metrics;
}

// pods.connectionPooler: pgstack-proxy: the endpoints pool themselves (SCRAM against the cluster's own
// verifiers, looked up as the authenticator) and reach Postgres directly; back to PgBouncer afterwards.
TEST(HaCluster, TheProxysOwnPoolServesTheEndpointsWhenTheClusterAsksForIt) {
  const auto proxy_dir = runtime->agent_state_dir() / "proxies" / "default" / "demo";
  const auto proxy_config = [&] {
    auto text = read_file(proxy_dir / "proxy.yaml");
    return text.ok() ? *text : std::string("no proxy.yaml");
  };
  auto pooled =
      runtime->api("PUT", "sgclusters/demo", cluster_with(3, R"({"pods":{"connectionPooler":"pgstack-proxy"}})"));
  ASSERT_TRUE(pooled.ok());
  ASSERT_EQ(pooled->status, 200) << pooled->body;
  // Through PgBouncer the server connection comes over the Unix socket; through the pool, over TCP.
  const std::string read_write = proxy_uri("demo", "proxyReadWrite", "?sslmode=disable");
  std::string client_address;
  EXPECT_TRUE(wait_until(
      [&] {
        auto answer = sql("demo", read_write, "SELECT coalesce(host(inet_client_addr()), 'socket')");
        client_address = answer.ok() ? *answer : answer.error().message;
        return answer.ok() && *answer != "socket";
      },
      60s))
      << client_address << "\n"
      << proxy_config() << runtime->agent_log();
  struct stat info {};
  ASSERT_EQ(::stat((proxy_dir / "auth-password").c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600U);
  const std::string config = proxy_config();
  EXPECT_NE(config.find("\"pooling\""), std::string::npos) << config;
  EXPECT_EQ(config.find(application_of("demo").password), std::string::npos);  // no user's password in it

  // Writes and reads go through; a wrong password is refused by the proxy itself.
  EXPECT_TRUE(sql("demo", read_write, "CREATE TABLE IF NOT EXISTS pooled(id int)").ok());
  auto written = sql("demo", read_write, "INSERT INTO pooled VALUES (1) RETURNING pg_is_in_recovery()");
  ASSERT_TRUE(written.ok()) << written.error().message;
  EXPECT_EQ(*written, "f");
  auto replica = sql("demo", proxy_uri("demo", "proxyReadOnly", "?sslmode=disable"), "SELECT pg_is_in_recovery()");
  ASSERT_TRUE(replica.ok()) << replica.error().message;
  EXPECT_EQ(*replica, "t");
  // TLS is still terminated by the proxy in front of its pool.
  auto tls = sql("demo", proxy_uri("demo", "proxyReadWrite", "?sslmode=require"),
                 "SELECT 'pooled over tls from ' || coalesce(host(inet_client_addr()), 'socket')");
  ASSERT_TRUE(tls.ok()) << tls.error().message;
  EXPECT_EQ(tls->rfind("pooled over tls from ", 0), 0U) << *tls;
  EXPECT_EQ(tls->find("socket"), std::string::npos) << *tls;
  auto refused = run_psql(read_write, "wrong-password", "SELECT 1");
  ASSERT_TRUE(refused.ok());
  EXPECT_NE(refused->standard_error.find("password authentication failed"), std::string::npos)
      << refused->standard_error;
  // pgbench's prepared protocol: 8 clients, each with its named statement, over the pool in transaction mode.
  const auto script = proxy_dir.parent_path() / "pooled-bench.sql";
  std::ofstream(script) << "\\set id random(1, 1000)\nSELECT :id::int + 1;\n";
  auto bench =
      pgbench("demo", read_write, {"-n", "-M", "prepared", "-c", "8", "-j", "2", "-T", "3", "-f", script.string()});
  ASSERT_TRUE(bench.ok());
  EXPECT_EQ(bench->exit_code, 0) << bench->standard_output << bench->standard_error;
  EXPECT_NE(bench->standard_output.find("number of failed transactions: 0"), std::string::npos)
      << bench->standard_output;
  std::filesystem::remove(script);

  auto back = runtime->api("PUT", "sgclusters/demo", cluster_with(3, R"({"pods":{"connectionPooler":"pgbouncer"}})"));
  ASSERT_TRUE(back.ok());
  ASSERT_EQ(back->status, 200) << back->body;
  EXPECT_TRUE(wait_until(
      [&] {
        auto answer = sql("demo", read_write, "SELECT coalesce(host(inet_client_addr()), 'socket')");
        return answer.ok() && *answer == "socket";
      },
      60s));
}

// Postgres' certificates come from the installation's CA: libpq's verify-full needs only ca.crt, on the
// primary's own port and through pgstack-proxy; replication runs over TLS; postgres.ssl.required
// refuses TCP clients in clear.
TEST(HaCluster, ClientsVerifyPostgresWithTheCaAndTlsCanBeRequired) {
  ASSERT_TRUE(wait_ready("demo", 3, 120s));
  const std::string verify = "sslmode=verify-full&sslrootcert=" + runtime->ca_certificate().string();
  const std::string primary = primary_of("demo");
  const std::string in_tls = "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()";
  auto direct = sql("demo", member_uri("demo", primary) + "?" + verify, in_tls);
  ASSERT_TRUE(direct.ok()) << direct.error().message;
  EXPECT_EQ(*direct, "t");
  auto proxied = sql("demo", proxy_uri("demo", "proxyReadWrite", "?" + verify), "SELECT 'verified'");
  ASSERT_TRUE(proxied.ok()) << proxied.error().message;
  // The same URI from the CLI.
  auto cli = runtime->cli({"connstr", "demo", "--show-ca"});
  ASSERT_TRUE(cli.ok());
  ASSERT_EQ(cli->exit_code, 0) << cli->standard_error;
  EXPECT_NE(cli->standard_output.find("sslmode=verify-full&sslrootcert=%2F"), std::string::npos)
      << cli->standard_output;
  const std::string from_cli = cli->standard_output.substr(0, cli->standard_output.find('\n'));
  auto through_cli = sql("demo", from_cli, "SELECT 1");
  EXPECT_TRUE(through_cli.ok()) << from_cli << ": " << (through_cli.ok() ? "" : through_cli.error().message);
  // Each replica streams over TLS, having checked the primary's certificate against the CA.
  EXPECT_TRUE(wait_until(
      [] {
        auto streams = runtime->superuser_sql("demo",
                                              "SELECT count(*) FILTER (WHERE s.ssl) || '/' || count(*) FROM "
                                              "pg_stat_replication r JOIN pg_stat_ssl s USING (pid)");
        return streams.ok() && *streams == "2/2";
      },
      30s))
      << runtime->patroni_logs("demo");

  const std::string in_clear = member_uri("demo", primary) + "?sslmode=disable";
  ASSERT_TRUE(sql("demo", in_clear, "SELECT 1").ok());
  auto required = runtime->api("PUT", "sgclusters/demo", cluster_with(3, R"({"postgres":{"ssl":{"required":true}}})"));
  ASSERT_TRUE(required.ok());
  ASSERT_EQ(required->status, 200) << required->body;
  std::string refusal;
  EXPECT_TRUE(wait_until(
      [&] {
        auto attempt = sql("demo", in_clear, "SELECT 1");
        refusal = attempt.ok() ? "" : attempt.error().message;
        return !attempt.ok();
      },
      60s));
  EXPECT_NE(refusal.find("no encryption"), std::string::npos) << refusal;
  direct = sql("demo", member_uri("demo", primary) + "?" + verify, in_tls);
  EXPECT_TRUE(direct.ok()) << direct.error().message;
  EXPECT_TRUE(sql("demo", proxy_uri("demo", "proxyReadWrite", "?" + verify), "SELECT 1").ok());
  for (const auto& member : status_of("demo")["members"]) {
    const std::string name = member["name"];
    EXPECT_TRUE(sql("demo", member_uri("demo", name) + "?sslmode=require", "SELECT 1").ok()) << name;
  }

  auto relaxed = runtime->api("PUT", "sgclusters/demo", cluster_with(3, R"({"postgres":{"ssl":{"required":false}}})"));
  ASSERT_TRUE(relaxed.ok());
  ASSERT_EQ(relaxed->status, 200) << relaxed->body;
  EXPECT_TRUE(wait_until([&] { return sql("demo", in_clear, "SELECT 1").ok(); }, 60s));
}

// The REST API is HTTPS with a certificate from the CA; the CLI trusts the CA it finds in the state dir.
TEST(HaCluster, TheApiIsServedOverHttpsOnly) {
  ASSERT_EQ(runtime->api_url().rfind("https://", 0), 0u) << runtime->api_url();
  auto health = http_request("GET", runtime->api_url() + "/healthz", {}, {}, 5s);
  ASSERT_TRUE(health.ok()) << health.error().message;
  EXPECT_EQ(health->status, 200) << health->body;
  auto in_clear = http_request("GET", "http://" + runtime->api_url().substr(8) + "/healthz", {}, {}, 5s);
  EXPECT_TRUE(!in_clear.ok() || in_clear->status != 200);
  auto cli = runtime->cli({"get", "sgclusters"});
  ASSERT_TRUE(cli.ok());
  EXPECT_EQ(cli->exit_code, 0) << cli->standard_error;
  EXPECT_NE(cli->standard_output.find("demo"), std::string::npos) << cli->standard_output;
}

// The agent's registration and the controller's placement, as `pgstack get hosts` shows them.
TEST(HaCluster, GetHostsListsTheHostWithItsMembers) {
  auto cli = runtime->cli({"get", "hosts", "-o", "wide"});
  ASSERT_TRUE(cli.ok()) << cli.error().message;
  ASSERT_EQ(cli->exit_code, 0) << cli->standard_error;
  const std::string& out = cli->standard_output;
  EXPECT_EQ(out.rfind("NAME ", 0), 0u) << out;
  EXPECT_NE(out.find("e2e-host"), std::string::npos) << out;
  EXPECT_NE(out.find("Ready"), std::string::npos) << out;
  EXPECT_NE(out.find("127.0.0.1"), std::string::npos) << out;
  for (const char* member : {"default/demo/demo-0", "default/demo/demo-1", "default/demo/demo-2"})
    EXPECT_NE(out.find(member), std::string::npos) << member << " in\n" << out;
  auto one = runtime->api("GET", "/apis/pgstack.io/v1/hosts/e2e-host");
  ASSERT_TRUE(one.ok()) << one.error().message;
  EXPECT_EQ(one->status, 200) << one->body;
  const auto host = json::parse(one->body, nullptr, false);
  EXPECT_GE(host.value("cpus", 0), 1) << one->body;
  EXPECT_GT(host.value("freeDiskBytes", 0LL), 0LL) << one->body;
  EXPECT_FALSE(host.value("reportedAt", "").empty()) << one->body;
  auto missing = runtime->api("GET", "/apis/pgstack.io/v1/hosts/no-such-host");
  ASSERT_TRUE(missing.ok());
  EXPECT_EQ(missing->status, 404) << missing->body;
}

// Patroni's REST API is served over TLS (its certificate from the CA) and its unsafe endpoints need the
// cluster's restapi credentials, which only etcd holds.
TEST(HaCluster, PatroniRefusesAnUnauthenticatedRestart) {
  ASSERT_TRUE(wait_ready("demo", 3, 120s));
  std::string api;
  json status;
  ASSERT_TRUE(wait_until(
      [&] {
        status = status_of("demo");
        for (const auto& member : status.value("members", json::array())) {
          if (member.value("role", "") == "replica") api = member["endpoints"].value("patroni", "");
        }
        return !api.empty();
      },
      30s))
      << status.dump(2);
  ASSERT_EQ(api.rfind("https://", 0), 0u) << api;
  auto health = http_request("GET", api + "/patroni", {}, {}, 5s);
  ASSERT_TRUE(health.ok()) << health.error().message;
  EXPECT_EQ(health->status, 200) << health->body;
  auto in_clear = http_request("GET", "http://" + api.substr(8) + "/patroni", {}, {}, 5s);
  EXPECT_TRUE(!in_clear.ok() || in_clear->status != 200);

  const HttpHeaders json_body = {{"Content-Type", "application/json"}};
  auto refused = http_request("POST", api + "/restart", "{}", json_body, 10s);
  ASSERT_TRUE(refused.ok()) << refused.error().message;
  EXPECT_EQ(refused->status, 401) << refused->body;
  HttpHeaders wrong = json_body;
  wrong.emplace_back("Authorization", basic_authorization("patroni", "not-the-password"));
  auto guessed = http_request("POST", api + "/restart", "{}", wrong, 10s);
  ASSERT_TRUE(guessed.ok()) << guessed.error().message;
  EXPECT_EQ(guessed->status, 401) << guessed->body;

  store::EtcdClient etcd({runtime->etcd().endpoint()});
  auto secret = etcd.get("/pgstack/secrets/default/demo");
  ASSERT_TRUE(secret.ok() && secret->has_value());
  const json restapi = json::parse((*secret)->value)["restapi"];
  HttpHeaders authorized = json_body;
  authorized.emplace_back("Authorization", basic_authorization(restapi["username"].get<std::string>(),
                                                               restapi["password"].get<std::string>()));
  auto restarted = http_request("POST", api + "/restart", "{}", authorized, 120s);
  ASSERT_TRUE(restarted.ok()) << restarted.error().message;
  EXPECT_EQ(restarted->status, 200) << restarted->body;
  EXPECT_TRUE(wait_ready("demo", 3, 120s)) << status_of("demo").dump(2);
}

// Certificates are renewed at 2/3 of their lifetime and served without a restart: with a 30 s lifetime,
// once the first certificates have expired, verify-full still connects to the primary and through the
// proxy, a session opened before stays, and the postmaster is the same.
TEST(HaCluster, CertificatesAreRenewedBeforeTheyExpireWithoutARestart) {
  ASSERT_TRUE(wait_ready("demo", 3, 120s));
  ASSERT_TRUE(runtime->kill_agent().ok());
  runtime->set_certificate_lifetime(30s);
  ASSERT_TRUE(runtime->start_agent().ok());
  const auto tls_dir = [](const std::string& member) {
    return runtime->agent_state_dir() / "instances" / "default" / "demo" / member / "config" / "tls";
  };
  // A CA copy that no longer matches makes the agent reissue each certificate, now with the short lifetime.
  std::map<std::string, std::string> first;
  for (const auto& member : status_of("demo")["members"]) {
    const std::string name = member["name"];
    ASSERT_TRUE(write_file_atomically(tls_dir(name) / "ca.crt", "stale\n").ok());
  }
  for (const auto& member : status_of("demo")["members"]) {
    const std::string name = member["name"];
    ASSERT_TRUE(wait_until(
        [&] {
          auto copy = read_file(tls_dir(name) / "ca.crt");
          auto certificate = read_file(tls_dir(name) / "server.crt");
          if (!copy.ok() || *copy == "stale\n" || !certificate.ok()) return false;
          first[name] = *certificate;
          return true;
        },
        30s))
        << name << runtime->agent_log();
  }
  const std::string primary = primary_of("demo");
  const auto postmaster = member_pids("demo", primary);
  const std::string verify = "sslmode=verify-full&sslrootcert=" + runtime->ca_certificate().string();
  const std::string direct = member_uri("demo", primary) + "?" + verify;
  const std::string proxied = proxy_uri("demo", "proxyReadWrite", "?" + verify);
  auto open_session =
      std::async(std::launch::async, [&] { return sql("demo", direct, "SELECT pg_sleep(36), 'stayed'"); });
  const auto issued = std::chrono::steady_clock::now();

  // Renewed at 2/3 of 30 s after their making, then the first certificates expire.
  for (const auto& [name, certificate] : first) {
    EXPECT_TRUE(wait_until(
        [&] {
          auto now = read_file(tls_dir(name) / "server.crt");
          return now.ok() && *now != certificate;
        },
        28s))
        << name << runtime->agent_log();
  }
  std::this_thread::sleep_until(issued + 32s);
  auto after = sql("demo", direct, "SELECT 'renewed'");
  EXPECT_TRUE(after.ok()) << after.error().message << runtime->agent_log();
  auto through_proxy = sql("demo", proxied, "SELECT 'renewed'");
  EXPECT_TRUE(through_proxy.ok()) << through_proxy.error().message;
  auto stayed = open_session.get();
  ASSERT_TRUE(stayed.ok()) << stayed.error().message;
  EXPECT_EQ(*stayed, "|stayed");
  EXPECT_EQ(member_pids("demo", primary), postmaster);

  // Back to long-lived certificates for the rest of the suite. The restarted agent learns each member's
  // role from its first report (it restarts a demoted member's PgBouncer only once it knows): wait
  // for a report of every member written after the restart.
  ASSERT_TRUE(runtime->kill_agent().ok());
  runtime->set_certificate_lifetime(std::chrono::hours(24 * 365));
  store::EtcdClient etcd({runtime->etcd().endpoint()});
  auto before = etcd.get_prefix("/pgstack/instances/default/demo/");
  ASSERT_TRUE(before.ok()) << before.error().message;
  ASSERT_TRUE(runtime->start_agent().ok());
  EXPECT_TRUE(wait_until(
      [&] {
        auto now = etcd.get_prefix("/pgstack/instances/default/demo/");
        if (!now.ok() || now->items.size() != 3) return false;
        for (const auto& report : now->items) {
          for (const auto& old : before->items) {
            if (old.key == report.key && old.mod_revision >= report.mod_revision) return false;
          }
        }
        return true;
      },
      30s));
}

TEST(HaCluster, SwitchoverMovesThePrimaryWithoutLosingWrites) {
  const std::string before = primary_of("demo");
  ASSERT_FALSE(before.empty());
  ASSERT_TRUE(
      sql("demo", read_write("demo"), "INSERT INTO items SELECT g, 'more' FROM generate_series(101, 200) g").ok());
  auto switched = runtime->api_json("POST", "sgclusters/demo/switchover", "");
  ASSERT_TRUE(switched.ok()) << switched.error().message;
  ASSERT_TRUE(switched->contains("to")) << switched->dump();
  const std::string after = (*switched)["to"];
  EXPECT_EQ((*switched)["from"], before);
  EXPECT_NE(after, before);
  EXPECT_TRUE(wait_until([&] { return primary_of("demo") == after; }, 30s));
  // Writes go to the new primary through the same pooled connection string.
  std::string last_error;
  EXPECT_TRUE(wait_until(
      [&] {
        auto inserted = sql("demo", read_write("demo"), "INSERT INTO items VALUES (500, 'switched')");
        last_error = inserted.ok() ? "" : inserted.error().message;
        return inserted.ok();
      },
      30s))
      << last_error;
  // Right after a role change a member's pooler may still refuse logins for a moment (clients retry).
  Result<std::string> count = make_error(ErrorCode::kUnavailable, "not asked");
  EXPECT_TRUE(
      wait_until([&] { return (count = sql("demo", read_write("demo"), "SELECT count(*) FROM items")).ok(); }, 30s));
  ASSERT_TRUE(count.ok()) << count.error().message;
  EXPECT_EQ(count.value(), "201");
  EXPECT_TRUE(wait_ready("demo", 3, 120s)) << status_of("demo").dump(2);
  EXPECT_EQ(member_of(status_of("demo"), before)["role"] != "primary", true);
}

TEST(HaCluster, KillingThePrimaryPromotesAReplicaAndTheOldOneRejoins) {
  const std::string old_primary = primary_of("demo");
  ASSERT_FALSE(old_primary.empty());
  const auto pids = member_pids("demo", old_primary);
  ASSERT_GE(pids.size(), 2u) << "expected the postmaster and Patroni pid files of " << old_primary;
  // The client's view first (the connection string, read before the kill), then the API's status.
  const std::string writes_uri = read_write("demo");
  for (pid_t pid : pids) ::kill(pid, SIGKILL);
  const auto killed_at = std::chrono::steady_clock::now();
  const auto since_kill = [&] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - killed_at).count();
  };
  EXPECT_TRUE(wait_until(
      [&] { return sql("demo", writes_uri, "INSERT INTO items VALUES (1000, 'after failover')").ok(); }, 90s, 100ms))
      << status_of("demo").dump(2);
  std::cerr << "failover: first write through the connection string " << since_kill() << " ms after kill -9\n";
  EXPECT_TRUE(wait_until(
      [&] {
        const std::string now = primary_of("demo");
        return !now.empty() && now != old_primary;
      },
      90s, 100ms))
      << status_of("demo").dump(2);
  std::cerr << "failover: the API's status names the new primary " << since_kill() << " ms after kill -9\n";
  // The agent restarts Patroni; Patroni rewinds the old primary and it follows the new one.
  EXPECT_TRUE(wait_until(
      [&] {
        const json member = member_of(status_of("demo"), old_primary);
        return member.value("role", "") != "primary" && member.value("state", "") == "streaming";
      },
      180s))
      << status_of("demo").dump(2);
  Result<std::string> count = make_error(ErrorCode::kUnavailable, "not asked");
  EXPECT_TRUE(
      wait_until([&] { return (count = sql("demo", read_write("demo"), "SELECT count(*) FROM items")).ok(); }, 30s));
  ASSERT_TRUE(count.ok()) << count.error().message;
  EXPECT_EQ(count.value(), "202");
  // The cluster's history tells this failover (nobody asked) from the switchover of the test before.
  json items = json::array();
  EXPECT_TRUE(wait_until(
      [&] {
        auto history = runtime->api_json("GET", "sgclusters/demo/history", "");
        items = history.ok() ? history->value("items", json::array()) : json::array();
        return items.size() >= 2 && items[0].value("kind", "") == "failover";
      },
      30s))
      << items.dump(2);
  ASSERT_GE(items.size(), 2u);
  EXPECT_EQ(items[0]["from"], old_primary);
  EXPECT_EQ(items[0]["to"], primary_of("demo"));
  EXPECT_TRUE(items[0]["requestedBy"].is_null());
  // The outage the cluster's proxy saw: from its first failed check of the killed primary to the new one.
  EXPECT_EQ(items[0].value("unavailableMeasuredBy", ""), "proxy") << items[0].dump();
  ASSERT_TRUE(items[0]["unavailableSeconds"].is_number()) << items[0].dump();
  EXPECT_GT(items[0]["unavailableSeconds"].get<double>(), 0.0) << items[0].dump();
  EXPECT_LT(items[0]["unavailableSeconds"].get<double>(), 90.0) << items[0].dump();
  std::cerr << "failover: the proxy measured " << items[0]["unavailableSeconds"] << " s without a primary\n";
  // The figure outlives the proxy that measured it: saved in etcd, the history still has it after a kill -9
  // of the proxy (the agent starts it again, with no outage in its memory).
  const json measured = items[0]["unavailableSeconds"];
  const auto proxy_pid_file = runtime->agent_state_dir() / "proxies" / "default" / "demo" / "proxy.pid";
  const auto proxy_pid = [&]() -> pid_t {
    auto text = read_file(proxy_pid_file);
    return text.ok() ? static_cast<pid_t>(std::atol(text->c_str())) : 0;
  };
  const pid_t killed_proxy = proxy_pid();
  ASSERT_GT(killed_proxy, 1);
  ::kill(killed_proxy, SIGKILL);
  EXPECT_TRUE(wait_until(
      [&] {
        const pid_t now = proxy_pid();
        const json seen = json::parse(proxy_admin("demo", "/outages"), nullptr, false);
        return now > 1 && now != killed_proxy && seen.is_object() &&
               seen.value("/clusters/demo"_json_pointer, json()) == json::array();
      },
      60s))
      << proxy_admin("demo", "/outages");
  auto again = runtime->api_json("GET", "sgclusters/demo/history", "");
  ASSERT_TRUE(again.ok());
  const json after_restart = again->value("items", json::array());
  ASSERT_GE(after_restart.size(), 2u) << again->dump(2);
  EXPECT_EQ(after_restart[0].value("unavailableMeasuredBy", ""), "proxy") << after_restart[0].dump();
  EXPECT_EQ(after_restart[0]["unavailableSeconds"], measured) << after_restart[0].dump();
  EXPECT_EQ(items[1]["kind"], "switchover");
  EXPECT_EQ(items[1]["to"], old_primary);
  EXPECT_NE(items[1]["requestedBy"].get<std::string>().find("(REST API)"), std::string::npos) << items[1].dump();
  ASSERT_TRUE(items[1]["unavailableSeconds"].is_number()) << items[1].dump();
  EXPECT_GE(items[1]["unavailableSeconds"].get<double>(), 0.0);
}

TEST(HaCluster, ProxyFollowsAFailoverWhilePgbenchRuns) {
  ASSERT_TRUE(wait_ready("demo", 3, 120s)) << status_of("demo").dump(2);
  const std::string proxy = proxy_uri("demo", "proxyReadWrite");
  ASSERT_FALSE(proxy.empty());
  auto init = pgbench("demo", proxy, {"-i", "-s", "1", "-q"});
  ASSERT_TRUE(init.ok());
  ASSERT_EQ(init->exit_code, 0) << init->standard_error;

  const std::string old_primary = primary_of("demo");
  const auto pids = member_pids("demo", old_primary);
  ASSERT_GE(pids.size(), 2u) << "expected the postmaster and Patroni pid files of " << old_primary;
  auto running = std::async(std::launch::async, [&] { return pgbench("demo", proxy, {"-n", "-c", "4", "-T", "60"}); });
  std::this_thread::sleep_for(5s);
  for (pid_t pid : pids) ::kill(pid, SIGKILL);
  const auto killed_at = std::chrono::steady_clock::now();

  // pgbench's sessions to the dead primary end (its clients abort) instead of hanging until -T.
  ASSERT_EQ(running.wait_for(40s), std::future_status::ready) << "pgbench still runs 40 s after the kill";
  auto first = running.get();
  ASSERT_TRUE(first.ok());
  EXPECT_NE(first->exit_code, 0) << first->standard_output;

  // The same address reaches the new primary: a new pgbench run succeeds there.
  Result<CommandOutput> again = make_error(ErrorCode::kUnavailable, "not run");
  EXPECT_TRUE(wait_until(
      [&] {
        const std::string now = primary_of("demo");
        if (now.empty() || now == old_primary) return false;
        again = pgbench("demo", proxy, {"-n", "-c", "2", "-t", "50"});
        return again.ok() && again->exit_code == 0;
      },
      90s, 500ms))
      << (again.ok() ? again->standard_error : again.error().message);
  std::cerr
      << "proxy failover: pgbench through the same address succeeded "
      << std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - killed_at).count()
      << " ms after kill -9\n";
  EXPECT_NE(primary_of("demo"), old_primary);
  auto recovery = sql("demo", proxy, "SELECT pg_is_in_recovery()");
  ASSERT_TRUE(recovery.ok()) << recovery.error().message;
  EXPECT_EQ(*recovery, "f");
  EXPECT_TRUE(wait_ready("demo", 3, 180s)) << status_of("demo").dump(2);
}

TEST(HaCluster, ScalingDownAndUpLeavesThePrimaryAlone) {
  ASSERT_TRUE(wait_ready("demo", 3, 120s));
  const std::string primary = primary_of("demo");
  auto down = runtime->api("PUT", "sgclusters/demo", cluster_with(2));
  ASSERT_TRUE(down.ok());
  ASSERT_EQ(down->status, 200) << down->body;
  EXPECT_TRUE(wait_ready("demo", 2, 120s)) << status_of("demo").dump(2);
  EXPECT_EQ(primary_of("demo"), primary);
  auto up = runtime->api("PUT", "sgclusters/demo", cluster_with(3));
  ASSERT_TRUE(up.ok());
  ASSERT_EQ(up->status, 200) << up->body;
  EXPECT_TRUE(wait_ready("demo", 3, 180s)) << status_of("demo").dump(2);
  EXPECT_EQ(primary_of("demo"), primary);
}

TEST(HaCluster, ParameterChangesReloadAndRestartOnlyWhenNeeded) {
  auto changed =
      runtime->api("PUT", "sgclusters/demo",
                   cluster_with(3, R"({"configurations":{"postgres":{"postgresql.conf":{"work_mem":"64MB"}}}})"));
  ASSERT_TRUE(changed.ok());
  ASSERT_EQ(changed->status, 200) << changed->body;
  EXPECT_TRUE(wait_until(
      [] {
        auto value = sql("demo", read_write("demo"), "SHOW work_mem");
        return value.ok() && value.value() == "64MB";
      },
      60s));
  EXPECT_FALSE(condition_is(status_of("demo"), "PendingRestart", "True"));

  changed = runtime->api(
      "PUT", "sgclusters/demo",
      cluster_with(
          3, R"({"configurations":{"postgres":{"postgresql.conf":{"work_mem":"64MB","shared_buffers":"256MB"}}}})"));
  ASSERT_TRUE(changed.ok());
  ASSERT_EQ(changed->status, 200) << changed->body;
  EXPECT_TRUE(wait_until([] { return condition_is(status_of("demo"), "PendingRestart", "True"); }, 60s))
      << status_of("demo").dump(2);

  // The rolling restart is an SGDbOps; the controller is killed in the middle of it and, once back,
  // finishes it: every member restarted exactly once, writes through the proxy going on throughout.
  ASSERT_TRUE(sql("demo", read_write("demo"), "CREATE TABLE IF NOT EXISTS during_restart (id int)").ok());
  std::atomic<bool> writing{true};
  std::atomic<int> written{0};
  // The connection string and password are read before: the API is down while the controller is.
  const std::string writes_uri = read_write("demo");
  const std::string password = application_of("demo").password;
  std::thread writer([&] {
    for (int i = 0; writing; ++i) {
      auto inserted = run_psql(writes_uri, password, fmt::format("INSERT INTO during_restart VALUES ({})", i));
      if (inserted.ok() && inserted->exit_code == 0) ++written;
      std::this_thread::sleep_for(200ms);
    }
  });
  auto restart = runtime->api("POST", "sgclusters/demo/restart");
  ASSERT_TRUE(restart.ok());
  ASSERT_EQ(restart->status, 202) << restart->body;
  const std::string operation = json::parse(restart->body).value("sgdbops", "");
  ASSERT_FALSE(operation.empty()) << restart->body;
  const auto restart_status = [&] { return operation_of(operation).value("status", json::object()); };
  EXPECT_TRUE(wait_until(
      [&] {
        return !restart_status().value("restart", json::object()).value("restartedInstances", json::array()).empty();
      },
      120s))
      << restart_status().dump(2);
  ASSERT_TRUE(runtime->kill_controller().ok());
  std::this_thread::sleep_for(2s);
  ASSERT_TRUE(runtime->start_controller().ok());
  EXPECT_TRUE(wait_until([&] { return operation_state(operation) == "Completed"; }, 240s))
      << restart_status().dump(2) << runtime->controller_log();
  writing = false;
  writer.join();
  const json progress = restart_status().value("restart", json::object());
  std::vector<std::string> restarted = progress.value("restartedInstances", std::vector<std::string>{});
  std::sort(restarted.begin(), restarted.end());
  EXPECT_EQ(restarted, (std::vector<std::string>{"demo-0", "demo-1", "demo-2"})) << progress.dump(2);
  EXPECT_TRUE(progress.contains("switchoverFinalized")) << progress.dump(2);
  EXPECT_GT(written.load(), 0);
  EXPECT_TRUE(sql("demo", read_write("demo"), "INSERT INTO during_restart VALUES (-1)").ok());
  EXPECT_TRUE(wait_until([] { return condition_is(status_of("demo"), "PendingRestart", "False"); }, 60s));
  auto value = sql("demo", read_write("demo"), "SHOW shared_buffers");
  ASSERT_TRUE(value.ok());
  EXPECT_EQ(value.value(), "256MB");
}

// StackGres's vacuum, repack and benchmark operations run on the primary, one at a time, and report
// in their status; a timeout, a retry and a refused major version upgrade end as Failed with the reason.
TEST(HaCluster, DayTwoOperationsRunOneAtATimeAndReport) {
  ASSERT_TRUE(wait_ready("demo", 3));
  // A bloated table: most rows deleted, the space still held.
  ASSERT_TRUE(runtime
                  ->superuser_sql("demo",
                                  "CREATE TABLE bloated (id int primary key, filler text); "
                                  "INSERT INTO bloated SELECT g, repeat('x', 200) FROM generate_series(1, 100000) g; "
                                  "DELETE FROM bloated WHERE id % 10 <> 0")
                  .ok());
  const auto size_of_bloated = [] {
    auto size = runtime->superuser_sql("demo", "SELECT pg_total_relation_size('bloated')");
    return size.ok() ? std::stoll(size.value()) : 0;
  };
  const long long bloated_size = size_of_bloated();

  // Queued together: the repack runs first, the vacuum waits for it.
  auto repack = create_operation("repack-bloat", "repack", R"({"databases":[{"name":"app"}]})");
  ASSERT_TRUE(repack.ok());
  ASSERT_EQ(repack->status, 201) << repack->body;
  auto vacuum = create_operation("vacuum-all", "vacuum", R"({"full":false,"analyze":true})");
  ASSERT_TRUE(vacuum.ok());
  ASSERT_EQ(vacuum->status, 201) << vacuum->body;
  EXPECT_TRUE(wait_until([] { return operation_state("repack-bloat") == "Completed"; }, 180s))
      << operation_of("repack-bloat").dump(2) << runtime->controller_log();
  EXPECT_TRUE(wait_until([] { return operation_state("vacuum-all") == "Completed"; }, 180s))
      << operation_of("vacuum-all").dump(2);
  const json repacked = operation_of("repack-bloat")["status"];
  const json vacuumed = operation_of("vacuum-all")["status"];
  EXPECT_GE(vacuumed.value("opStarted", ""), repacked["conditions"][1].value("lastTransitionTime", "~"))
      << "the vacuum started before the repack ended";
  EXPECT_LT(size_of_bloated(), bloated_size / 2) << "repack returned no space";
  EXPECT_GE(vacuumed["vacuum"]["databases"].size(), 2u) << vacuumed.dump(2);  // every database

  // The CLI shortcut with --wait: a short pgbench through the proxy, its results in the status.
  auto benchmark = runtime->cli({"benchmark", "demo", "--name", "bench", "--duration", "3s", "--clients", "2", "--jobs",
                                 "1", "--size", "16Mi", "--wait", "--timeout", "5m"});
  ASSERT_TRUE(benchmark.ok());
  EXPECT_EQ(benchmark->exit_code, 0) << benchmark->standard_output << benchmark->standard_error;
  const json results = operation_of("bench")["status"]["benchmark"]["pgbench"];
  EXPECT_GT(results.value("transactionsProcessed", 0), 0) << results.dump(2);
  EXPECT_TRUE(results["transactionsPerSecond"]["excludingConnectionsEstablishing"]["value"].is_number());
  EXPECT_TRUE(results["latency"]["p99"]["value"].is_number()) << results.dump(2);
  EXPECT_FALSE(results["statements"].empty());
  EXPECT_NE(benchmark->standard_output.find("TPS (without connecting)"), std::string::npos);
  auto benchmark_databases =
      runtime->superuser_sql("demo", "SELECT count(*) FROM pg_database WHERE datname LIKE 'pgstack_benchmark%'");
  ASSERT_TRUE(benchmark_databases.ok());
  EXPECT_EQ(benchmark_databases.value(), "0");

  // The restart and vacuum shortcuts. ReducedImpact adds a member first (demo-3), so two replicas serve
  // reads while one restarts, and removes it at the end.
  auto restart =
      runtime->cli({"restart", "demo", "--method", "ReducedImpact", "--name", "reduced", "--wait", "--timeout", "5m"});
  ASSERT_TRUE(restart.ok());
  EXPECT_EQ(restart->exit_code, 0) << restart->standard_output << restart->standard_error
                                   << operation_of("reduced").dump(2);
  const json restarted = operation_of("reduced")["status"]["restart"];
  EXPECT_EQ(restarted.value("additionalInstance", ""), "demo-3") << restarted.dump(2);
  EXPECT_TRUE(restarted.value("additionalInstanceReleased", false)) << restarted.dump(2);
  EXPECT_EQ(restarted["restartedInstances"].size(), 3u) << restarted.dump(2);
  EXPECT_TRUE(wait_ready("demo", 3));
  const json after_restart = status_of("demo");
  EXPECT_EQ(after_restart["members"].size(), 3u) << after_restart.dump(2);
  EXPECT_FALSE(after_restart.contains("additionalInstances")) << after_restart.dump(2);
  auto vacuum_app = runtime->cli({"vacuum", "demo", "--database", "app", "--name", "vacuum-app", "--wait"});
  ASSERT_TRUE(vacuum_app.ok());
  EXPECT_EQ(vacuum_app->exit_code, 0) << vacuum_app->standard_output << vacuum_app->standard_error;
  EXPECT_EQ(operation_state("vacuum-app"), "Completed");
  auto repack_app = runtime->cli({"repack", "demo", "--database", "app", "--name", "repack-app", "--wait"});
  ASSERT_TRUE(repack_app.ok());
  EXPECT_EQ(repack_app->exit_code, 0) << repack_app->standard_output << repack_app->standard_error;
  EXPECT_EQ(operation_state("repack-app"), "Completed") << operation_of("repack-app").dump(2);

  // A retry, then Failed with the Postgres error; a timeout; a major version that is not installed.
  ASSERT_EQ(
      create_operation("vacuum-missing", "vacuum", R"({"databases":[{"name":"nope"}]})", R"(,"maxRetries":1)")->status,
      201);
  ASSERT_EQ(create_operation("too-slow", "benchmark",
                             R"({"type":"pgbench","pgbench":{"databaseSize":"16Mi","duration":"PT60S"}})",
                             R"(,"timeout":"PT3S")")
                ->status,
            201);
  ASSERT_EQ(create_operation("to-16", "majorVersionUpgrade", R"({"postgresVersion":"16"})")->status, 201);
  EXPECT_TRUE(wait_until([] { return operation_state("to-16") == "Failed"; }, 240s)) << operation_of("to-16").dump(2);
  const json missing = operation_of("vacuum-missing")["status"];
  EXPECT_EQ(operation_reason("vacuum-missing"), "OperationFailed") << missing.dump(2);
  EXPECT_EQ(missing.value("opRetries", 0), 1);
  EXPECT_NE(missing.dump().find("nope"), std::string::npos) << missing.dump(2);
  EXPECT_EQ(operation_reason("too-slow"), "OperationTimedOut") << operation_of("too-slow").dump(2);
  EXPECT_NE(operation_of("to-16").dump().find("not installed"), std::string::npos) << operation_of("to-16").dump(2);

  auto listed = runtime->cli({"get", "sgdbops"});
  ASSERT_TRUE(listed.ok());
  EXPECT_NE(listed->standard_output.find("repack-bloat"), std::string::npos) << listed->standard_output;
  EXPECT_NE(listed->standard_output.find("Completed"), std::string::npos) << listed->standard_output;
  auto described = runtime->cli({"describe", "sgdbops", "vacuum-all"});
  ASSERT_TRUE(described.ok());
  EXPECT_NE(described->standard_output.find("Database app"), std::string::npos) << described->standard_output;
}

TEST(HaCluster, BadInputIsRejectedAndChangesNothing) {
  auto bad = runtime->api("POST", "sgclusters",
                          R"({"apiVersion":"stackgres.io/v1","kind":"SGCluster","metadata":{"name":"bad"},
                              "spec":{"instances":"three","postgres":{"version":"15"},"pods":{"persistentVolume":{"size":"5Gi"}}}})");
  ASSERT_TRUE(bad.ok());
  EXPECT_EQ(bad->status, 422);
  EXPECT_NE(bad->body.find(R"(spec.instances: expected an integer >= 1, got \"three\")"), std::string::npos)
      << bad->body;
  auto missing = runtime->api("GET", "sgclusters/bad");
  ASSERT_TRUE(missing.ok());
  EXPECT_EQ(missing->status, 404);

  auto no_profile = runtime->api("POST", "sgclusters",
                                 R"({"apiVersion":"stackgres.io/v1","kind":"SGCluster","metadata":{"name":"other"},
                                     "spec":{"instances":1,"sgInstanceProfile":"huge","postgres":{"version":"15"},
                                     "pods":{"persistentVolume":{"size":"5Gi"}}}})");
  ASSERT_TRUE(no_profile.ok());
  EXPECT_EQ(no_profile->status, 422);
  EXPECT_NE(no_profile->body.find("SGInstanceProfile/huge does not exist in namespace default"), std::string::npos)
      << no_profile->body;

  auto gone = runtime->api("DELETE", "sgclusters/nothing-here");
  ASSERT_TRUE(gone.ok());
  EXPECT_EQ(gone->status, 404);
  EXPECT_NE(gone->body.find(R"(SGCluster \"nothing-here\" not found in namespace \"default\")"), std::string::npos)
      << gone->body;

  auto stale = runtime->api("PUT", "sgclusters/demo", [] {
    json document = json::parse(cluster_with(3));
    document["metadata"]["resourceVersion"] = "1";
    return document.dump();
  }());
  ASSERT_TRUE(stale.ok());
  EXPECT_EQ(stale->status, 409) << stale->body;
}

TEST(HaCluster, TheDataPathDoesNotNeedTheController) {
  // The URI comes from the API, so it is built before the controller goes away.
  const std::string connection = read_write("demo");
  const Application app = application_of("demo");
  ASSERT_TRUE(runtime->stop_controller().ok());
  auto insert = run_psql(connection, app.password, "INSERT INTO items VALUES (2001, 'controller down')");
  ASSERT_TRUE(insert.ok());
  EXPECT_EQ(insert->exit_code, 0) << insert->standard_error;
  ASSERT_TRUE(runtime->start_controller().ok());
}

TEST(HaCluster, AgentRestartReattachesWithoutRestartingPostgres) {
  const std::string primary = primary_of("demo");
  auto before = sql("demo", read_write("demo"), "SELECT pg_postmaster_start_time()");
  ASSERT_TRUE(before.ok());
  ASSERT_TRUE(runtime->kill_agent().ok());
  ASSERT_TRUE(runtime->start_agent().ok());
  EXPECT_TRUE(wait_ready("demo", 3, 60s));
  auto after = sql("demo", read_write("demo"), "SELECT pg_postmaster_start_time()");
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after.value(), before.value());
  EXPECT_EQ(primary_of("demo"), primary);
}

TEST(HaCluster, ShortEtcdOutageDoesNotDemoteThePrimary) {
  ASSERT_TRUE(wait_ready("demo", 3, 120s));
  const std::string primary = primary_of("demo");
  const std::string connection = read_write("demo");
  const std::string password = application_of("demo").password;
  auto& etcd = const_cast<EtcdServer&>(runtime->etcd());
  ASSERT_TRUE(etcd.stop().ok());
  // Less than Patroni's ttl (10 s): the leader key cannot expire, and failsafe mode keeps the primary.
  std::this_thread::sleep_for(7s);
  auto during = run_psql(connection, password, "INSERT INTO items VALUES (3000, 'etcd down')");
  ASSERT_TRUE(etcd.restart().ok());
  ASSERT_TRUE(during.ok());
  // Why Patroni kept or demoted the primary: its failsafe round (POST /failsafe to every member).
  std::string failsafe_lines;
  {
    auto text =
        read_file(runtime->agent_state_dir() / "instances" / "default" / "demo" / primary / "log" / "patroni.log");
    std::istringstream log(text.ok() ? text.value() : std::string());
    for (std::string line; std::getline(log, line);) {
      if (line.find("failsafe") != std::string::npos || line.find("DCS") != std::string::npos ||
          line.find("Request failed") != std::string::npos || line.find("demot") != std::string::npos)
        failsafe_lines += line + "\n";
    }
  }
  EXPECT_EQ(during->exit_code, 0) << during->standard_error << "Patroni on " << primary << ":\n"
                                  << failsafe_lines.substr(failsafe_lines.size() > 6000 ? failsafe_lines.size() - 6000
                                                                                        : 0);
  EXPECT_TRUE(wait_ready("demo", 3, 60s));
  EXPECT_EQ(primary_of("demo"), primary);
}

TEST(HaCluster, SyncModeLosesNoAcknowledgedWriteOnFailover) {
  auto created = runtime->api("POST", "sgclusters",
                              R"({"apiVersion":"stackgres.io/v1","kind":"SGCluster","metadata":{"name":"syncdemo"},
                                  "spec":{"instances":2,"postgres":{"version":"latest"},
                                  "replication":{"mode":"sync"},"pods":{"persistentVolume":{"size":"5Gi"}}}})");
  ASSERT_TRUE(created.ok());
  ASSERT_EQ(created->status, 201) << created->body;
  ASSERT_TRUE(wait_ready("syncdemo", 2)) << status_of("syncdemo").dump(2);
  const std::string connection = read_write("syncdemo");
  const std::string password = application_of("syncdemo").password;
  ASSERT_TRUE(run_psql(connection, password, "CREATE TABLE acked (id int PRIMARY KEY)").ok());
  // Every INSERT is its own transaction: a zero exit means the commit was acknowledged.
  int acknowledged = 0;
  for (int i = 1; i <= 200; ++i) {
    auto out = run_psql(connection, password, fmt::format("INSERT INTO acked VALUES ({})", i));
    if (out.ok() && out->exit_code == 0) acknowledged = i;
  }
  ASSERT_EQ(acknowledged, 200);
  const std::string old_primary = primary_of("syncdemo");
  for (pid_t pid : member_pids("syncdemo", old_primary)) ::kill(pid, SIGKILL);
  EXPECT_TRUE(wait_until(
      [&] {
        const std::string now = primary_of("syncdemo");
        return !now.empty() && now != old_primary;
      },
      90s));
  std::string count;
  EXPECT_TRUE(wait_until(
      [&] {
        auto out = run_psql(connection, password, "SELECT count(*) FROM acked");
        if (!out.ok() || out->exit_code != 0) return false;
        count = out->standard_output;
        return true;
      },
      60s));
  EXPECT_EQ(std::stoi(count.empty() ? "0" : count), acknowledged);
  auto deleted = runtime->api("DELETE", "sgclusters/syncdemo");
  ASSERT_TRUE(deleted.ok());
  EXPECT_EQ(deleted->status, 200);
}

}  // namespace
}  // namespace pgstack::testing

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::AddGlobalTestEnvironment(new pgstack::testing::RuntimeEnvironment(
      &pgstack::testing::runtime, {PGSTACK_CONTROLLER_BINARY, PGSTACK_AGENT_BINARY, PGSTACK_CLI_BINARY}, "demo"));
  return RUN_ALL_TESTS();
}
