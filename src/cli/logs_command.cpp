// pgstack logs CLUSTER: a cluster's Postgres and Patroni records from its log store, through the
// controller (GET .../sgclusters/{name}/logs, docs/logs.md), oldest first; -f follows until interrupted.
#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <thread>
#include <unistd.h>

#include <fmt/format.h>

#include "cli/api_client.h"
#include "cli/api_context.h"
#include "cli/commands.h"
#include "cli/log_lines.h"
#include "cli/output.h"

namespace pgstack::cli {
namespace {

using model::Json;

std::atomic<bool> logs_interrupted{false};

constexpr std::chrono::milliseconds kFollowInterval{500};
// How far back each follow poll reads again (LogFollower): more than a shipper's usual lag.
constexpr std::chrono::seconds kFollowLookback{10};

struct LogsOptions {
  std::string cluster;
  std::string namespace_name{kDefaultNamespace};
  std::string member, since, from, to, level, grep, type, user, database, sql_state, session;
  int records = 50;
  bool follow = false;
  std::string output;
};

std::map<std::string, std::string> filter_parameters(const LogsOptions& options) {
  return {{"podName", options.member},     {"errorLevel", options.level}, {"text", options.grep},
          {"logType", options.type},       {"userName", options.user},    {"databaseName", options.database},
          {"sqlState", options.sql_state}, {"sessionId", options.session}};
}

std::vector<Json> items_of(const Json& answer) {
  std::vector<Json> items;
  if (answer.contains("items") && answer["items"].is_array())
    items.assign(answer["items"].begin(), answer["items"].end());
  return items;
}

void print_records(const std::vector<Json>& items, bool json_lines, bool color) {
  for (const auto& item : items) {
    if (json_lines)
      std::cout << item.dump(-1, ' ', false, Json::error_handler_t::replace) << "\n";
    else
      std::cout << format_log_record(item, color);
  }
  std::cout << std::flush;
}

// One follow poll: every record from `from` on, oldest first, page after page.
Result<std::vector<Json>> poll_since(const ApiClient& client, const LogsOptions& options, const std::string& from) {
  auto parameters = filter_parameters(options);
  parameters["from"] = from;
  parameters["sort"] = "asc";
  parameters["records"] = "1000";
  std::vector<Json> items;
  for (int page = 0; page < 20; ++page) {
    ASSIGN_OR_RETURN(const Json answer,
                     client.send("GET", logs_request_path(options.namespace_name, options.cluster, parameters)));
    const auto more = items_of(answer);
    items.insert(items.end(), more.begin(), more.end());
    if (!answer.contains("next") || !answer["next"].is_string()) break;
    parameters["after"] = answer["next"].get<std::string>();
  }
  return items;
}

int run_logs(const ApiClient& client, const LogsOptions& options) {
  if (!options.since.empty() && !options.from.empty())
    return report_error("logs", make_error(ErrorCode::kInvalidInput, "--since goes without --from"));
  if (options.follow && !options.to.empty())
    return report_error("logs", make_error(ErrorCode::kInvalidInput, "-f follows new records: it goes without --to"));
  const bool json = options.output == "json";
  const bool color = !json && use_log_colors(::isatty(STDOUT_FILENO) != 0, std::getenv("NO_COLOR"));

  // The newest N (the API's default order), shown oldest first.
  auto parameters = filter_parameters(options);
  parameters["records"] = std::to_string(options.records);
  parameters["since"] = options.since;
  parameters["from"] = options.from;
  parameters["to"] = options.to;
  auto answer = client.send("GET", logs_request_path(options.namespace_name, options.cluster, parameters));
  if (!answer) return report_error("logs", answer.error());
  std::vector<Json> items = items_of(*answer);
  std::reverse(items.begin(), items.end());
  if (!options.follow) {
    if (json)
      std::cout << Json(items).dump(2, ' ', false, Json::error_handler_t::replace) << "\n";
    else
      print_records(items, false, color);
    return 0;
  }

  logs_interrupted = false;
  struct sigaction action {};
  action.sa_handler = [](int) { logs_interrupted = true; };
  ::sigaction(SIGINT, &action, nullptr);
  ::sigaction(SIGTERM, &action, nullptr);
  print_records(items, json, color);
  // From the newest record shown (or the window's start): older ones were left out by --records.
  auto floor = items.empty() ? std::nullopt : log_record_time(items.back());
  if (!floor)
    floor = options.from.empty() ? std::chrono::system_clock::now() - std::chrono::seconds(1)
                                 : parse_timestamp(options.from).value_or(std::chrono::system_clock::now());
  LogFollower follower(kFollowLookback, *floor);
  follower.unseen(items);
  while (!logs_interrupted) {
    const auto until = std::chrono::steady_clock::now() + kFollowInterval;
    while (!logs_interrupted && std::chrono::steady_clock::now() < until)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (logs_interrupted) break;
    auto polled = poll_since(client, options, follower.poll_from());
    if (!polled) {
      // A request the API refuses will be refused again; a store or controller away may come back.
      if (polled.error().code != ErrorCode::kUnavailable) return report_error("logs", polled.error());
      std::cerr << "pgstack logs: " << polled.error().message << " (retrying)\n";
      std::this_thread::sleep_for(std::chrono::seconds(2));
      continue;
    }
    print_records(follower.unseen(*polled), json, color);
  }
  return 0;
}

}  // namespace

void add_logs_command(CLI::App& app, ExitStatus& status) {
  auto options = std::make_shared<LogsOptions>();
  CLI::App* command = app.add_subcommand(
      "logs",
      "A cluster's Postgres and Patroni log records from its log store (spec.distributedLogs), oldest first: "
      "the newest --records of the last day unless --since or --from say otherwise; -f keeps following");
  command->add_option("cluster", options->cluster, "The cluster")->required();
  command->add_option("-n,--namespace", options->namespace_name, "The cluster's namespace")
      ->capture_default_str()
      ->type_name("NS");
  command->add_option("--member", options->member, "Only this member (instance), e.g. demo-0")->type_name("MEMBER");
  command->add_option("--since", options->since, "Records of the last DURATION (90s, 10m, 2h, 7d)")
      ->type_name("DURATION");
  command->add_option("--from", options->from, "Records from this time on (RFC 3339)")->type_name("TIME");
  command->add_option("--to", options->to, "Records before this time (RFC 3339)")->type_name("TIME");
  command
      ->add_option("--level", options->level,
                   "This severity and the more severe: debug, info (LOG ranks with it), notice, warning, error, "
                   "fatal (Patroni's CRITICAL), panic")
      ->type_name("LEVEL");
  command
      ->add_option("--grep", options->grep,
                   "Records whose message (and for Postgres detail, hint or query) contains TEXT, ignoring case")
      ->type_name("TEXT");
  command
      ->add_option("--type", options->type,
                   "Only these records: postgres, patroni, pgbouncer, pgbackrest, proxy, agent "
                   "(several with commas)")
      ->type_name("TYPE");
  command->add_option("--user", options->user, "Only Postgres records of this user")->type_name("USER");
  command->add_option("--database", options->database, "Only Postgres records of this database")->type_name("DB");
  command->add_option("--sql-state", options->sql_state, "Only Postgres records with this SQLSTATE (23505)")
      ->type_name("CODE");
  command->add_option("--session", options->session, "Only Postgres records of this session id")->type_name("ID");
  command->add_option("--records", options->records, "How many records (at most 1000)")->capture_default_str();
  command->add_flag("-f,--follow", options->follow, "Keep printing new records (about every 500 ms) until Ctrl-C");
  command
      ->add_option("-o,--output", options->output,
                   "json: the API's items (a JSON array; with -f one JSON object a line)")
      ->check(CLI::IsMember({"json"}));
  command->callback([options, command, &status] { status.code = run_logs(api_client_for(*command), *options); });
}

}  // namespace pgstack::cli
