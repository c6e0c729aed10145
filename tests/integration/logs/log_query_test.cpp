// The logs API's SQL (logs/log_query.h) against a real Postgres 15 log store the test starts: the store's
// schema and partitions, rows of both logs for two clusters and members with various severities, users,
// databases and texts; every query returns exactly the records a plain C++ filter of the same rows picks,
// in the same order; paging with the cursor visits each record once in both directions; and values meant
// to break out of their quotes or LIKE's wildcards are inert.
#include "logs/log_query.h"

#include <algorithm>
#include <chrono>
#include <fstream>
#include <functional>
#include <unistd.h>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "common/files.h"
#include "common/network.h"
#include "common/pki.h"
#include "common/process.h"
#include "common/strings.h"
#include "integration/proxy/postgres_node.h"
#include "logs/log_store_plan.h"
#include "postgres/postgres_session.h"

namespace pgstack::logs {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using pgstack::testing::PostgresNode;
using Parameters = std::map<std::string, std::string>;

// One stored record as the test wrote it.
struct Record {
  LogTime time;
  LogType type = LogType::kPostgres;
  std::int64_t id = 0;
  std::string namespace_name = "default";
  std::string cluster = "demo";
  std::string instance;
  std::string role;
  std::string severity;
  std::string message;
  std::string user, database, sql_state, session_id, detail, hint, query;
};

struct Store {
  fs::path root;
  std::unique_ptr<PostgresNode> node;
  postgres::PostgresTarget target;
  std::vector<Record> records;
  std::chrono::system_clock::time_point now;
};
Store* store = nullptr;

std::string nullable(const std::string& value) { return value.empty() ? "NULL" : postgres::quote_literal(value); }

std::string time_text(LogTime time) {
  const auto day = std::chrono::floor<std::chrono::days>(time);
  const std::chrono::year_month_day date{day};
  const std::chrono::hh_mm_ss<std::chrono::milliseconds> clock{time - day};
  return fmt::format("{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:03}+00", static_cast<int>(date.year()),
                     static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()), clock.hours().count(),
                     clock.minutes().count(), clock.seconds().count(), clock.subseconds().count());
}

// Rows of both logs: two clusters of "default" (and a "demo" in another namespace), two members each, every
// severity, a few users and databases, texts with quotes, '%' and '_', records of both logs at the same
// millisecond.
std::vector<Record> make_records(LogTime base) {
  std::vector<Record> records;
  std::int64_t postgres_id = 100, patroni_id = 100;
  const std::vector<std::string> postgres_severities = {"LOG",    "LOG",    "WARNING", "ERROR", "FATAL",
                                                        "NOTICE", "DEBUG1", "INFO",    "PANIC", "LOG"};
  const std::vector<std::string> patroni_severities = {"INFO", "WARNING", "ERROR", "CRITICAL", "DEBUG", "INFO"};
  const std::vector<std::string> messages = {"connection authorized: user=app database=app",
                                             "duplicate key value violates unique constraint \"items_pkey\"",
                                             "it's 100% done",
                                             "it's 100x done",
                                             "a_b in a message",
                                             "axb in a message",
                                             "Checkpoint Starting: time",
                                             "statement: SELECT 'quoted''value'",
                                             "back\\slash here",
                                             "plain text"};
  for (int i = 0; i < 60; ++i) {
    Record record;
    // Every third record shares its millisecond with the one before: the type and id break the tie.
    record.time = base + std::chrono::minutes(i / 3) + std::chrono::milliseconds(i % 3 == 2 ? 0 : i % 3 * 10);
    record.namespace_name = i % 13 == 5 ? "other" : "default";
    record.cluster = i % 7 == 3 ? "other" : "demo";
    record.instance = record.cluster + (i % 2 == 0 ? "-0" : "-1");
    record.role = i % 2 == 0 ? "primary" : "replica";
    record.message = messages[static_cast<std::size_t>(i) % messages.size()];
    if (i % 4 == 1) {
      record.type = LogType::kPatroni;
      record.id = patroni_id++;
      record.severity = patroni_severities[static_cast<std::size_t>(i) % patroni_severities.size()];
    } else {
      record.type = LogType::kPostgres;
      record.id = postgres_id++;
      record.severity = postgres_severities[static_cast<std::size_t>(i) % postgres_severities.size()];
      record.user = i % 3 == 0 ? "app" : "postgres";
      record.database = i % 5 == 0 ? "postgres" : "app";
      record.session_id = fmt::format("6571b5a0.{:x}", 0x100 + i % 4);
      if (record.severity == "ERROR") record.sql_state = i % 20 == 3 ? "23505" : "42P01";
      if (i % 6 == 0) record.detail = "Key (id)=(1) already exists; 50% of the _rows_";
      if (i % 8 == 0) record.hint = "Hint with NEEDLE inside";
      if (i % 9 == 0) record.query = "SELECT * FROM t WHERE name = 'O''Brien'";
    }
    records.push_back(record);
  }
  return records;
}

std::string insert_statement(const std::vector<Record>& records) {
  std::string sql;
  for (const auto& record : records) {
    if (record.type == LogType::kPostgres) {
      sql += fmt::format(
          "INSERT INTO log_postgres (log_time, id, namespace, cluster, instance, role, error_severity, message, "
          "user_name, database_name, sql_state_code, session_id, session_line_num, process_id, detail, hint, query, "
          "backend_type) VALUES ('{}', {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, 1, 4242, {}, {}, {}, 'client "
          "backend');\n",
          time_text(record.time), record.id, nullable(record.namespace_name), nullable(record.cluster),
          nullable(record.instance), nullable(record.role), nullable(record.severity), nullable(record.message),
          nullable(record.user), nullable(record.database), nullable(record.sql_state), nullable(record.session_id),
          nullable(record.detail), nullable(record.hint), nullable(record.query));
    } else {
      sql += fmt::format(
          "INSERT INTO log_patroni (log_time, id, namespace, cluster, instance, role, error_severity, message) "
          "VALUES ('{}', {}, {}, {}, {}, {}, {}, {});\n",
          time_text(record.time), record.id, nullable(record.namespace_name), nullable(record.cluster),
          nullable(record.instance), nullable(record.role), nullable(record.severity), nullable(record.message));
    }
  }
  return sql;
}

class Environment : public ::testing::Environment {
 public:
  void SetUp() override {
    owned_ = std::make_unique<Store>();
    store = owned_.get();
    char pattern[] = "/tmp/pgstack-logquery-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    store->root = pattern;
    ASSERT_EQ(run_command({"chown", "postgres:postgres", store->root.string()})->exit_code, 0);
    const fs::path data = store->root / "store";
    auto node = PostgresNode::init_primary(data, free_tcp_port().value());
    ASSERT_TRUE(node.ok()) << node.error().message;
    store->node = std::move(node).value();
    // TLS, as PostgresSession requires.
    auto ca = pki::create_ca("logquery test CA");
    ASSERT_TRUE(ca.ok());
    auto leaf = pki::issue_certificate(*ca, pki::LeafRequest{"127.0.0.1", {}, {"127.0.0.1"}});
    ASSERT_TRUE(leaf.ok());
    ASSERT_TRUE(write_file_atomically(store->root / "ca.crt", ca->certificate_pem).ok());
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
    ASSERT_TRUE(store->node->stop().ok());
    auto started = store->node->start();
    ASSERT_TRUE(started.ok()) << started.error().message;
    ASSERT_TRUE(store->node->psql("CREATE DATABASE pgstack_logs").ok());
    store->target.host = "127.0.0.1";
    store->target.port = store->node->port();
    store->target.database = "pgstack_logs";
    store->target.user = "postgres";
    store->target.ssl_root_certificate = (store->root / "ca.crt").string();
    auto admin = postgres::PostgresSession::connect(store->target);
    ASSERT_TRUE(admin.ok()) << admin.error().message;

    store->now = std::chrono::system_clock::now();
    const auto now_ms = std::chrono::time_point_cast<std::chrono::milliseconds>(store->now);
    store->records = make_records(now_ms - 30min);
    std::string sql = render_log_store_schema();
    const auto today = std::chrono::floor<std::chrono::days>(store->now);
    for (int day = -1; day <= 1; ++day) {
      for (auto table : log_tables()) sql += render_create_day_partition(table, today + std::chrono::days(day));
    }
    sql += insert_statement(store->records);
    auto created = (*admin)->query(sql);
    ASSERT_TRUE(created.ok()) << created.error().message;
  }

  void TearDown() override {
    store = nullptr;
    if (owned_) {
      owned_->node.reset();
      std::error_code ignored;
      fs::remove_all(owned_->root, ignored);
    }
  }

 private:
  std::unique_ptr<Store> owned_;
};

const auto* const kEnvironment = ::testing::AddGlobalTestEnvironment(new Environment);

struct Page {
  std::vector<std::string> keys;  // "<type>:<id>" in the order returned
  std::optional<std::string> next;
  nlohmann::json items;
};

// Runs the query as the API does: a read-only session with a statement timeout.
Result<Page> run(const Parameters& parameters, const std::string& cluster = "demo",
                 const std::string& namespace_name = "default") {
  ASSIGN_OR_RETURN(const LogQuery query, parse_log_query(namespace_name, cluster, parameters, store->now));
  ASSIGN_OR_RETURN(auto session, postgres::PostgresSession::connect(store->target));
  RETURN_IF_ERROR(session->query("SET default_transaction_read_only = on; SET statement_timeout = '10s'"));
  ASSIGN_OR_RETURN(const auto rows, session->query(render_log_query(query)));
  ASSIGN_OR_RETURN(const auto answer, log_rows_to_json(rows, query));
  Page page;
  page.items = answer["items"];
  for (const auto& item : page.items) {
    const auto cursor = decode_log_cursor(item["cursor"].get<std::string>());
    if (!cursor.ok()) return cursor.error();
    page.keys.push_back(fmt::format("{}:{}", item["logType"].get<std::string>(), cursor->id));
  }
  if (!answer["next"].is_null()) page.next = answer["next"].get<std::string>();
  return page;
}

bool contains_ignoring_case(const std::string& text, const std::string& part) {
  return to_lower(text).find(to_lower(part)) != std::string::npos;
}

// The same selection done plainly in C++ over the rows the test wrote.
std::vector<std::string> expected(const std::function<bool(const Record&)>& matches, bool descending = true,
                                  std::size_t limit = 1000, const std::string& cluster = "demo",
                                  const std::string& namespace_name = "default") {
  std::vector<Record> picked;
  for (const auto& record : store->records) {
    if (record.namespace_name == namespace_name && record.cluster == cluster && matches(record))
      picked.push_back(record);
  }
  const auto key = [](const Record& record) {
    return std::make_tuple(record.time, std::string(log_type_name(record.type)), record.id);
  };
  std::sort(picked.begin(), picked.end(),
            [&](const Record& a, const Record& b) { return descending ? key(a) > key(b) : key(a) < key(b); });
  std::vector<std::string> keys;
  for (const auto& record : picked) {
    if (keys.size() == limit) break;
    keys.push_back(fmt::format("{}:{}", log_type_name(record.type), record.id));
  }
  return keys;
}

bool at_least(const Record& record, LogLevel level) {
  const auto rank = rank_of_severity(record.severity);
  return rank && *rank >= level;
}

TEST(LogQueryAgainstPostgres, FiltersReturnExactlyTheMatchingRecordsInOrder) {
  const auto all = [](const Record&) { return true; };
  struct Case {
    Parameters parameters;
    std::function<bool(const Record&)> matches;
    bool descending = true;
  };
  const std::vector<Case> cases = {
      {{{"records", "1000"}}, all},
      {{{"records", "1000"}, {"sort", "asc"}}, all, false},
      {{{"records", "1000"}, {"logType", "patroni"}}, [](const Record& r) { return r.type == LogType::kPatroni; }},
      {{{"records", "1000"}, {"logType", "postgres"}}, [](const Record& r) { return r.type == LogType::kPostgres; }},
      {{{"records", "1000"}, {"podName", "demo-1"}}, [](const Record& r) { return r.instance == "demo-1"; }},
      {{{"records", "1000"}, {"member", "demo-0"}, {"role", "primary"}},
       [](const Record& r) { return r.instance == "demo-0" && r.role == "primary"; }},
      {{{"records", "1000"}, {"errorLevel", "warning"}},
       [](const Record& r) { return at_least(r, LogLevel::kWarning); }},
      {{{"records", "1000"}, {"errorLevel", "error"}}, [](const Record& r) { return at_least(r, LogLevel::kError); }},
      {{{"records", "1000"}, {"errorLevel", "fatal"}}, [](const Record& r) { return at_least(r, LogLevel::kFatal); }},
      {{{"records", "1000"}, {"errorLevel", "log"}}, [](const Record& r) { return at_least(r, LogLevel::kInfo); }},
      {{{"records", "1000"}, {"userName", "app"}, {"databaseName", "app"}},
       [](const Record& r) { return r.type == LogType::kPostgres && r.user == "app" && r.database == "app"; }},
      {{{"records", "1000"}, {"sqlState", "23505"}}, [](const Record& r) { return r.sql_state == "23505"; }},
      {{{"records", "1000"}, {"sessionId", "6571b5a0.102"}},
       [](const Record& r) { return r.session_id == "6571b5a0.102"; }},
      // Case-insensitive; message, detail, hint and query for Postgres, the message for Patroni.
      {{{"records", "1000"}, {"text", "checkpoint starting"}},
       [](const Record& r) { return contains_ignoring_case(r.message, "checkpoint starting"); }},
      {{{"records", "1000"}, {"text", "needle"}},
       [](const Record& r) { return contains_ignoring_case(r.hint, "needle"); }},
      {{{"records", "1000"}, {"text", "o''brien"}},
       [](const Record& r) { return contains_ignoring_case(r.query, "o''brien"); }},
      // '%' and '_' are themselves, not LIKE's wildcards: "100x" and "axb" do not match.
      {{{"records", "1000"}, {"text", "100%"}},
       [](const Record& r) {
         return contains_ignoring_case(r.message, "100%") || contains_ignoring_case(r.detail, "100%");
       }},
      {{{"records", "1000"}, {"text", "a_b"}},
       [](const Record& r) { return contains_ignoring_case(r.message, "a_b"); }},
      {{{"records", "1000"}, {"text", "50% of the _rows_"}},
       [](const Record& r) { return contains_ignoring_case(r.detail, "50% of the _rows_"); }},
      {{{"records", "1000"}, {"text", "back\\slash"}},
       [](const Record& r) { return contains_ignoring_case(r.message, "back\\slash"); }},
      {{{"records", "1000"}, {"text", "'quoted''value'"}},
       [](const Record& r) { return contains_ignoring_case(r.message, "'quoted''value'"); }},
      {{{"records", "7"}}, all},
      {{{"records", "7"}, {"sort", "asc"}}, all, false},
  };
  for (const auto& test : cases) {
    const std::string label = nlohmann::json(test.parameters).dump();
    const auto page = run(test.parameters);
    ASSERT_TRUE(page.ok()) << label << ": " << page.error().message;
    const auto limit = static_cast<std::size_t>(std::stoi(test.parameters.at("records")));
    const auto want = expected(test.matches, test.descending, limit);
    EXPECT_EQ(page->keys, want) << label;
    EXPECT_FALSE(want.empty()) << label << ": the case selects nothing, so it proves little";
  }
  // Another cluster and another namespace see only their own.
  auto other = run({{"records", "1000"}}, "other");
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(other->keys, expected(all, true, 1000, "other"));
  other = run({{"records", "1000"}}, "demo", "other");
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(other->keys, expected(all, true, 1000, "demo", "other"));
  // The window: nothing before `from`.
  const auto recent = run({{"records", "1000"}, {"since", "25m"}});
  ASSERT_TRUE(recent.ok());
  const auto cut = std::chrono::time_point_cast<std::chrono::milliseconds>(store->now) - 25min;
  EXPECT_EQ(recent->keys, expected([&](const Record& r) { return r.time >= cut; }));
  EXPECT_LT(recent->keys.size(), expected(all).size());
}

TEST(LogQueryAgainstPostgres, ItemsCarryTheFieldsOfTheirLog) {
  const auto page = run({{"records", "1000"}, {"sqlState", "23505"}});
  ASSERT_TRUE(page.ok()) << page.error().message;
  ASSERT_FALSE(page->items.empty());
  const auto& item = page->items[0];
  EXPECT_EQ(item["logType"], "postgres");
  EXPECT_EQ(item["errorLevel"], "ERROR");
  EXPECT_EQ(item["sqlState"], "23505");
  EXPECT_EQ(item["processId"], 4242);
  EXPECT_EQ(item["backendType"], "client backend");
  EXPECT_EQ(item["logTime"].get<std::string>().size(), std::string("2026-12-05T06:00:00.000Z").size());
  EXPECT_EQ(item["logTime"].get<std::string>().back(), 'Z');
}

TEST(LogQueryAgainstPostgres, PagingVisitsEveryRecordOnceInBothDirections) {
  for (const std::string sort : {"desc", "asc"}) {
    for (const Parameters& filter :
         {Parameters{}, Parameters{{"errorLevel", "warning"}}, Parameters{{"podName", "demo-0"}}}) {
      std::vector<std::string> visited;
      Parameters parameters = filter;
      parameters["records"] = "4";
      parameters["sort"] = sort;
      int pages = 0;
      for (;;) {
        const auto page = run(parameters);
        ASSERT_TRUE(page.ok()) << page.error().message;
        ASSERT_LE(page->keys.size(), 4u);
        visited.insert(visited.end(), page->keys.begin(), page->keys.end());
        ASSERT_LT(++pages, 100);
        if (!page->next) break;
        parameters["after"] = *page->next;
      }
      Parameters everything = filter;
      everything["records"] = "1000";
      everything["sort"] = sort;
      const auto whole = run(everything);
      ASSERT_TRUE(whole.ok());
      EXPECT_EQ(visited, whole->keys) << sort << " " << nlohmann::json(filter).dump();
      EXPECT_GT(pages, 2);
    }
  }
  // Following: newest first, then ascending from the newest item's cursor finds nothing newer.
  const auto newest = run({{"records", "1"}});
  ASSERT_TRUE(newest.ok());
  const auto after = run({{"sort", "asc"}, {"after", newest->items[0]["cursor"].get<std::string>()}});
  ASSERT_TRUE(after.ok());
  EXPECT_TRUE(after->keys.empty());
}

TEST(LogQueryAgainstPostgres, InjectionAttemptsAreInert) {
  const std::vector<std::string> attempts = {
      "' OR '1'='1",
      "x'); DROP TABLE log_postgres; --",
      "\\'; SELECT pg_sleep(5); --",
      "$$; DROP TABLE log_patroni; $$",
      "%' OR true OR message ILIKE '%",
      "E'\\x27'",
      "\"; DROP TABLE log_postgres; --",
      "*/ OR 1=1 /*",
  };
  for (const std::string parameter : {"text", "podName", "role", "userName", "databaseName", "sessionId"}) {
    for (const auto& attempt : attempts) {
      const auto page = run({{parameter, attempt}, {"records", "1000"}});
      ASSERT_TRUE(page.ok()) << parameter << "=" << attempt << ": " << page.error().message;
      EXPECT_TRUE(page->keys.empty()) << parameter << "=" << attempt;
    }
  }
  // Parameters that are not free text are checked instead of quoted.
  for (const std::string parameter :
       {"records", "from", "to", "since", "sort", "logType", "errorLevel", "sqlState", "after"}) {
    for (const auto& attempt : attempts) EXPECT_FALSE(run({{parameter, attempt}}).ok()) << parameter << "=" << attempt;
  }
  auto admin = postgres::PostgresSession::connect(store->target);
  ASSERT_TRUE(admin.ok());
  const auto counts =
      (*admin)->query("SELECT (SELECT count(*) FROM log_postgres) + (SELECT count(*) FROM log_patroni)");
  ASSERT_TRUE(counts.ok()) << counts.error().message;
  EXPECT_EQ(counts->at(0).at(0), std::to_string(store->records.size()));
}

}  // namespace
}  // namespace pgstack::logs
