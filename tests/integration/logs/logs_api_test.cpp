// The logs endpoint and `pgstack logs` against a real etcd and a real Postgres 15 log store: the API
// (ApiHandler on a real HttpServer) finds the store as the controller does (the SGCluster's
// spec.distributedLogs, Patroni's leader key and member record, the logReader credentials in the store
// cluster's secrets), reads it over TLS as a role that may only SELECT, and the CLI prints what it answers.
// The store is a plain Postgres the test starts, standing in for the managed SGCluster that runs an
// SGDistributedLogs.
#include <chrono>
#include <fstream>
#include <unistd.h>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "auth/authenticator.h"
#include "common/files.h"
#include "common/http_client.h"
#include "common/http_server.h"
#include "common/network.h"
#include "common/pki.h"
#include "common/process.h"
#include "common/strings.h"
#include "common/time.h"
#include "controller/access_gate.h"
#include "controller/api_server.h"
#include "integration/proxy/postgres_node.h"
#include "logs/log_store_plan.h"
#include "logs/log_store_target.h"
#include "model/document.h"
#include "patroni/dcs.h"
#include "postgres/postgres_session.h"
#include "store/keys.h"
#include "support/etcd_server.h"

namespace pgstack::controller {
namespace {

namespace fs = std::filesystem;
using model::Json;
using pgstack::testing::PostgresNode;

constexpr const char* kPrefix = "/pgstack";

std::string store_time(std::chrono::system_clock::time_point time) {
  const auto ms = std::chrono::floor<std::chrono::milliseconds>(time);
  return utc_timestamp(ms).substr(0, 19) +
         fmt::format(".{:03}+00", (ms.time_since_epoch() % std::chrono::seconds(1)).count());
}

class LogsApiTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto started = testing::EtcdServer::start();
    ASSERT_TRUE(started.ok()) << started.error().message;
    etcd_ = std::move(started).value().release();
    client_ = new store::EtcdClient({etcd_->endpoint()});

    // The store, with a certificate from the installation's CA (etcd's here), as the controller verifies it.
    char pattern[] = "/tmp/pgstack-logsapi-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    root_ = new fs::path(pattern);
    ASSERT_EQ(run_command({"chown", "postgres:postgres", root_->string()})->exit_code, 0);
    const fs::path data = *root_ / "store";
    auto node = PostgresNode::init_primary(data, free_tcp_port().value());
    ASSERT_TRUE(node.ok()) << node.error().message;
    node_ = std::move(node).value().release();
    auto ca = pki::load_ca(pki::ca_files_in(etcd_->ca_dir()));
    ASSERT_TRUE(ca.ok()) << ca.error().message;
    auto leaf = pki::issue_certificate(*ca, pki::LeafRequest{"127.0.0.1", {}, {"127.0.0.1"}});
    ASSERT_TRUE(leaf.ok());
    ASSERT_TRUE(write_file_atomically(data / "server.crt", leaf->certificate_pem).ok());
    ASSERT_TRUE(write_file_atomically(data / "server.key", leaf->private_key_pem).ok());
    ::chmod((data / "server.key").c_str(), 0600);
    ASSERT_EQ(
        run_command({"chown", "postgres:postgres", (data / "server.crt").string(), (data / "server.key").string()})
            ->exit_code,
        0);
    {
      std::ofstream conf(data / "postgresql.auto.conf", std::ios::app);
      conf << "ssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n";
    }
    ASSERT_TRUE(node_->stop().ok());
    ASSERT_TRUE(node_->start().ok());
    ASSERT_TRUE(node_->psql("CREATE DATABASE pgstack_logs").ok());
    postgres::PostgresTarget admin_target;
    admin_target.host = "127.0.0.1";
    admin_target.port = node_->port();
    admin_target.database = "pgstack_logs";
    admin_target.user = "postgres";
    admin_target.ssl_root_certificate = tls_client_files().ca_file;
    auto admin = postgres::PostgresSession::connect(admin_target);
    ASSERT_TRUE(admin.ok()) << admin.error().message;
    std::string sql = logs::render_log_store_schema();
    const auto now = std::chrono::system_clock::now();
    const auto today = std::chrono::floor<std::chrono::days>(now);
    for (int day = -1; day <= 1; ++day) {
      for (auto table : logs::log_tables())
        sql += logs::render_create_day_partition(table, today + std::chrono::days(day));
    }
    sql +=
        "CREATE ROLE pgstack_log_reader LOGIN PASSWORD 'reader-secret';\n"
        "GRANT SELECT ON log_postgres, log_patroni, log_pgstack TO pgstack_log_reader;\n";
    // Five records of demo (three Postgres, two Patroni) and one of another cluster, a second apart.
    const auto at = [&](int seconds_ago) {
      return postgres::quote_literal(store_time(now - std::chrono::seconds(seconds_ago)));
    };
    sql += fmt::format(
        "INSERT INTO log_postgres (log_time, namespace, cluster, instance, role, error_severity, message, "
        "sql_state_code, user_name, database_name, detail, query) VALUES\n"
        "({}, 'default', 'demo', 'demo-0', 'primary', 'LOG', 'checkpoint starting: time', '00000', NULL, NULL, NULL, "
        "NULL),\n"
        "({}, 'default', 'demo', 'demo-0', 'primary', 'ERROR', 'duplicate key value violates unique constraint', "
        "'23505', 'app', 'app', 'Key (id)=(1) already exists.', 'INSERT INTO items VALUES (1)'),\n"
        "({}, 'default', 'demo', 'demo-1', 'replica', 'WARNING', 'it''s a warning', '01000', 'app', 'app', NULL, "
        "NULL),\n"
        "({}, 'default', 'elsewhere', 'elsewhere-0', 'primary', 'ERROR', 'not demo', 'XX000', 'app', 'app', NULL, "
        "NULL);\n"
        "INSERT INTO log_patroni (log_time, namespace, cluster, instance, role, error_severity, message) VALUES\n"
        "({}, 'default', 'demo', 'demo-0', 'primary', 'INFO', 'no action. I am (demo-0), the leader with the lock'),\n"
        "({}, 'default', 'demo', 'demo-1', 'replica', 'INFO', 'no action. I am (demo-1), a secondary');\n",
        at(50), at(40), at(30), at(35), at(45), at(20));
    auto created = (*admin)->query(sql);
    ASSERT_TRUE(created.ok()) << created.error().message;

    // Where the controller finds the store: the store cluster's Patroni keys and its generated credentials.
    ASSERT_TRUE(client_->put(patroni::leader_key(kPrefix, "default", "logs"), "logs-0").ok());
    ASSERT_TRUE(client_
                    ->put(patroni::cluster_prefix(kPrefix, "default", "logs") + "members/logs-0",
                          Json{{"conn_url", fmt::format("postgres://127.0.0.1:{}/postgres", node_->port())},
                               {"api_url", "https://127.0.0.1:1/patroni"},
                               {"state", "running"},
                               {"role", "primary"}}
                              .dump())
                    .ok());
    ASSERT_TRUE(
        client_
            ->put(store::keys::cluster_secrets(kPrefix, "default", "logs"),
                  Json{{"logReader", {{"username", "pgstack_log_reader"}, {"password", "reader-secret"}}}}.dump())
            .ok());
    const store::ResourceStore resources(*client_, kPrefix);
    const auto cluster = [](const std::string& name, const Json& distributed_logs) {
      Json body = {{"apiVersion", "stackgres.io/v1"},
                   {"kind", "SGCluster"},
                   {"metadata", {{"name", name}, {"namespace", "default"}}},
                   {"spec", {{"instances", 2}, {"postgres", {{"version", "15"}}}}}};
      if (!distributed_logs.is_null()) body["spec"]["distributedLogs"] = distributed_logs;
      return model::Document{"test", 0, body};
    };
    ASSERT_TRUE(resources.create(cluster("demo", {{"sgDistributedLogs", "logs"}})).ok());
    ASSERT_TRUE(resources.create(cluster("plain", nullptr)).ok());
    ASSERT_TRUE(resources.create(cluster("lost", {{"sgDistributedLogs", "other.missing"}})).ok());

    api_ = new ApiHandler(store::ResourceStore(*client_, kPrefix), kPrefix, {}, nullptr);
    server_ = new HttpServer("127.0.0.1", 0, [](const HttpRequest& request) { return api_->handle(request); });
    ASSERT_TRUE(server_->start().ok());
    // The front door as pgstack-controller serves it: authentication and authorization first.
    authenticator_ = new auth::Authenticator(auth::AuthStore(*client_, kPrefix), auth::AuthSettings{});
    ASSERT_TRUE(authenticator_->bootstrap_admin("admin", *root_ / "admin.token").ok());
    gate_ = new AccessGate(*api_, *authenticator_);
    gated_ = new HttpServer("127.0.0.1", 0, [](const HttpRequest& request) { return gate_->handle(request); });
    ASSERT_TRUE(gated_->start().ok());
  }

  static void TearDownTestSuite() {
    delete gated_;
    delete gate_;
    delete authenticator_;
    delete server_;
    delete api_;
    delete node_;
    if (root_ != nullptr) {
      std::error_code ignored;
      fs::remove_all(*root_, ignored);
    }
    delete root_;
    delete client_;
    delete etcd_;
  }

  struct Reply {
    int status = 0;
    Json body;
  };
  static Reply get(const std::string& target) {
    auto response = http_request("GET", fmt::format("http://127.0.0.1:{}{}", server_->port(), target), "", {});
    EXPECT_TRUE(response.ok()) << response.error().message;
    if (!response.ok()) return {};
    return {response->status, Json::parse(response->body, nullptr, false)};
  }
  static std::string logs_path(const std::string& cluster, const std::string& query = "") {
    return "/apis/pgstack.io/v1/namespaces/default/sgclusters/" + cluster + "/logs" + query;
  }

  // `pgstack ARGS --api <this API>` with a state dir and config of its own (no token, no colours).
  // `interrupt_after`: sends SIGINT after that many seconds (Ctrl-C), for -f.
  static CommandOutput pgstack(std::vector<std::string> arguments, int interrupt_after = 0) {
    std::vector<std::string> argv;
    if (interrupt_after > 0) argv = {"timeout", "--preserve-status", "-s", "INT", std::to_string(interrupt_after)};
    argv.insert(argv.end(), {"env", "PGSTACK_STATE_DIR=" + (*root_ / "cli-state").string(),
                             "PGSTACK_CONFIG=" + (*root_ / "cli-config").string(), PGSTACK_BINARY, "--api",
                             fmt::format("http://127.0.0.1:{}", server_->port())});
    argv.insert(argv.end(), arguments.begin(), arguments.end());
    auto ran = run_command(argv);
    EXPECT_TRUE(ran.ok());
    return ran.ok() ? *ran : CommandOutput{};
  }

  static inline testing::EtcdServer* etcd_ = nullptr;
  static inline store::EtcdClient* client_ = nullptr;
  static inline fs::path* root_ = nullptr;
  static inline PostgresNode* node_ = nullptr;
  static inline ApiHandler* api_ = nullptr;
  static inline HttpServer* server_ = nullptr;
  static inline auth::Authenticator* authenticator_ = nullptr;
  static inline AccessGate* gate_ = nullptr;
  static inline HttpServer* gated_ = nullptr;
};

TEST_F(LogsApiTest, TheGateAsksWhoIsReadingAndLetsTheAdminThrough) {
  const std::string url = fmt::format("http://127.0.0.1:{}{}", gated_->port(), logs_path("demo", "?records=1"));
  auto anonymous = http_request("GET", url, "", {});
  ASSERT_TRUE(anonymous.ok());
  EXPECT_EQ(anonymous->status, 401) << anonymous->body;
  const auto token = read_file(*root_ / "admin.token");
  ASSERT_TRUE(token.ok());
  auto admin = http_request("GET", url, "", {{"Authorization", "Bearer " + trim(*token)}});
  ASSERT_TRUE(admin.ok());
  EXPECT_EQ(admin->status, 200) << admin->body;
  EXPECT_EQ(Json::parse(admin->body)["items"].size(), 1u);
}

TEST_F(LogsApiTest, AClustersRecordsNewestFirstFromItsStore) {
  const Reply reply = get(logs_path("demo"));
  ASSERT_EQ(reply.status, 200) << reply.body.dump();
  EXPECT_EQ(reply.body["kind"], "LogList");
  EXPECT_EQ(reply.body["sgDistributedLogs"], "default/logs");
  const Json& items = reply.body["items"];
  ASSERT_EQ(items.size(), 5u) << reply.body.dump();
  std::vector<std::string> messages;
  for (const auto& item : items) messages.push_back(item["message"]);
  EXPECT_EQ(messages, (std::vector<std::string>{"no action. I am (demo-1), a secondary", "it's a warning",
                                                "duplicate key value violates unique constraint",
                                                "no action. I am (demo-0), the leader with the lock",
                                                "checkpoint starting: time"}));
  EXPECT_EQ(items[2]["sqlState"], "23505");
  EXPECT_EQ(items[2]["detail"], "Key (id)=(1) already exists.");
  EXPECT_TRUE(reply.body["next"].is_null());

  // Filters, and paging two at a time visits all five once.
  const Reply errors = get(logs_path("demo", "?errorLevel=warning&podName=demo-0"));
  ASSERT_EQ(errors.status, 200);
  ASSERT_EQ(errors.body["items"].size(), 1u);
  EXPECT_EQ(errors.body["items"][0]["errorLevel"], "ERROR");
  std::vector<std::string> paged;
  std::string query = "?records=2&sort=asc";
  for (int page = 0; page < 5; ++page) {
    const Reply next = get(logs_path("demo", query));
    ASSERT_EQ(next.status, 200) << next.body.dump();
    for (const auto& item : next.body["items"]) paged.push_back(item["message"]);
    if (next.body["next"].is_null()) break;
    query = "?records=2&sort=asc&after=" + next.body["next"].get<std::string>();
  }
  std::reverse(paged.begin(), paged.end());
  EXPECT_EQ(paged, messages);
}

TEST_F(LogsApiTest, RefusalsSayWhy) {
  Reply reply = get(logs_path("plain"));
  EXPECT_EQ(reply.status, 409);
  EXPECT_NE(reply.body.value("detail", "").find("SGCluster default/plain has no distributedLogs"), std::string::npos)
      << reply.body.dump();
  reply = get(logs_path("lost"));
  EXPECT_EQ(reply.status, 503);
  EXPECT_NE(reply.body.value("detail", "").find("SGDistributedLogs other/missing"), std::string::npos)
      << reply.body.dump();
  EXPECT_EQ(get(logs_path("nosuch")).status, 404);
  reply = get(logs_path("demo", "?records=5000"));
  EXPECT_EQ(reply.status, 400);
  EXPECT_NE(reply.body.value("detail", "").find("query parameter records"), std::string::npos);
  reply = get(logs_path("demo", "?level=error"));
  EXPECT_EQ(reply.status, 400);
  EXPECT_NE(reply.body.value("detail", "").find("query parameter level: unknown"), std::string::npos)
      << reply.body.dump();
}

TEST_F(LogsApiTest, TheCliPrintsRecordsOldestFirst) {
  auto out = pgstack({"logs", "demo", "--since", "10m"});
  ASSERT_EQ(out.exit_code, 0) << out.standard_error;
  const std::string& text = out.standard_output;
  EXPECT_EQ(text.find('\033'), std::string::npos) << "no colours when stdout is not a terminal";
  const auto checkpoint = text.find("demo-0(primary) postgres LOG checkpoint starting: time");
  const auto error = text.find("demo-0(primary) postgres ERROR [23505] duplicate key value");
  const auto secondary = text.find("demo-1(replica) patroni INFO no action. I am (demo-1), a secondary");
  ASSERT_NE(checkpoint, std::string::npos) << text;
  ASSERT_NE(error, std::string::npos) << text;
  ASSERT_NE(secondary, std::string::npos) << text;
  EXPECT_LT(checkpoint, error);
  EXPECT_LT(error, secondary);
  EXPECT_NE(text.find("    DETAIL:  Key (id)=(1) already exists.\n    QUERY:  INSERT INTO items VALUES (1)\n"),
            std::string::npos)
      << text;

  out = pgstack({"logs", "demo", "--level", "warning", "-o", "json"});
  ASSERT_EQ(out.exit_code, 0) << out.standard_error;
  const Json items = Json::parse(out.standard_output, nullptr, false);
  ASSERT_TRUE(items.is_array()) << out.standard_output;
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[0]["errorLevel"], "ERROR");
  EXPECT_EQ(items[1]["errorLevel"], "WARNING");

  // -f prints the newest records, then those that appear (one stamped a second from now), and ends on Ctrl-C.
  postgres::PostgresTarget admin;
  admin.host = "127.0.0.1";
  admin.port = node_->port();
  admin.database = "pgstack_logs";
  admin.user = "postgres";
  admin.ssl_root_certificate = tls_client_files().ca_file;
  auto session = postgres::PostgresSession::connect(admin);
  ASSERT_TRUE(session.ok()) << session.error().message;
  ASSERT_TRUE((*session)
                  ->query(fmt::format("INSERT INTO log_postgres (log_time, namespace, cluster, instance, role, "
                                      "error_severity, message) VALUES ({}, 'default', 'demo', 'demo-1', 'replica', "
                                      "'FATAL', 'arrives while following')",
                                      postgres::quote_literal(store_time(std::chrono::system_clock::now() +
                                                                         std::chrono::milliseconds(1500)))))
                  .ok());
  out = pgstack({"logs", "demo", "--records", "2", "-f"}, 4);
  EXPECT_EQ(out.exit_code, 0) << out.standard_error;
  const std::string& followed = out.standard_output;
  const auto warning = followed.find("it's a warning");
  const auto arrived = followed.find("demo-1(replica) postgres FATAL arrives while following");
  ASSERT_NE(warning, std::string::npos) << followed;
  ASSERT_NE(arrived, std::string::npos) << followed;
  EXPECT_LT(warning, arrived);
  EXPECT_EQ(followed.find("arrives while following"), followed.rfind("arrives while following")) << "shown once";
  EXPECT_EQ(followed.find("duplicate key"), std::string::npos) << "older than the first page";
}

TEST_F(LogsApiTest, TheCliSaysWhyItCannotRead) {
  const auto out = pgstack({"logs", "plain"});
  EXPECT_NE(out.exit_code, 0);
  EXPECT_NE(out.standard_error.find("has no distributedLogs"), std::string::npos) << out.standard_error;
}

}  // namespace
}  // namespace pgstack::controller
