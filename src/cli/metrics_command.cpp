// pgstack metrics [CLUSTER] --query PROMQL [--range 10m | --start/--end/--step] [-o table|json]: raw
// PromQL through the controller (GET /apis/pgstack.io/v1/query), for scripts; and pgstack top CLUSTER:
// a cluster's figures (GET .../metrics/summary) redrawn every --interval, or once with --once.
#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <iostream>
#include <memory>
#include <thread>

#include <fmt/format.h>

#include "cli/api_client.h"
#include "cli/api_context.h"
#include "cli/commands.h"
#include "cli/output.h"
#include "cli/top_frame.h"
#include "monitoring/cluster_metrics.h"
#include "monitoring/prometheus_query.h"

namespace pgstack::cli {
namespace {

std::atomic<bool> top_interrupted{false};

double metrics_now_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

struct MetricsOptions {
  std::string cluster;
  std::string namespace_name{kDefaultNamespace};
  std::string query;
  std::string range, start, end, step;
  std::string output;
};

// The request's target: instant, or a range from --range (ending now) or --start/--end/--step.
Result<std::string> metrics_target(const MetricsOptions& options) {
  std::string target = "/apis/pgstack.io/v1/query?query=" + monitoring::form_encode(options.query);
  if (!options.cluster.empty())
    target += fmt::format("&namespace={}&cluster={}", monitoring::form_encode(options.namespace_name),
                          monitoring::form_encode(options.cluster));
  if (!options.range.empty()) {
    if (!options.start.empty() || !options.end.empty())
      return make_error(ErrorCode::kInvalidInput, "--range goes without --start and --end (it ends now)");
    ASSIGN_OR_RETURN(const double span, monitoring::parse_prom_duration(options.range, "--range"));
    double step = std::max(1.0, std::round(span / 60));  // about 60 points
    if (!options.step.empty()) {
      ASSIGN_OR_RETURN(step, monitoring::parse_prom_duration(options.step, "--step"));
    }
    const double now = metrics_now_seconds();
    return target + fmt::format("&start={:.3f}&end={:.3f}&step={}", now - span, now, step);
  }
  if (!options.start.empty() || !options.end.empty() || !options.step.empty()) {
    if (options.start.empty() || options.step.empty())
      return make_error(ErrorCode::kInvalidInput, "a range needs --start and --step (--end defaults to now)");
    const std::string end = options.end.empty() ? fmt::format("{:.3f}", metrics_now_seconds()) : options.end;
    return target + fmt::format("&start={}&end={}&step={}", monitoring::form_encode(options.start),
                                monitoring::form_encode(end), monitoring::form_encode(options.step));
  }
  return target;
}

int run_metrics(const ApiClient& client, const MetricsOptions& options) {
  const auto format = parse_output_format(options.output == "table" ? "" : options.output);
  if (!format) return report_error("metrics", format.error());
  auto target = metrics_target(options);
  if (!target) return report_error("metrics", target.error());
  auto answer = client.send("GET", *target);
  if (!answer) return report_error("metrics", answer.error());
  if (*format == OutputFormat::kJson || *format == OutputFormat::kYaml) {
    std::cout << format_documents({*answer}, false, *format);
    return 0;
  }
  auto result = monitoring::prom_result_from_json(*answer);
  if (!result) return report_error("metrics", result.error());
  for (const auto& warning : result->warnings) std::cerr << "warning: " << warning << "\n";
  if (result->series.empty() && result->type != monitoring::PromResultType::kString) {
    std::cerr << "No series.\n";
    return 0;
  }
  std::cout << format_table(query_result_table(*result));
  return 0;
}

struct TopOptions {
  std::string cluster;
  std::string namespace_name{kDefaultNamespace};
  std::string interval = "2s";
  int minutes = 10;
  bool once = false;
};

int run_top(const ApiClient& client, const TopOptions& options) {
  auto interval = monitoring::parse_prom_duration(options.interval, "--interval");
  if (!interval) return report_error("top", interval.error());
  const std::string path = fmt::format("/apis/pgstack.io/v1/namespaces/{}/sgclusters/{}/metrics/summary?minutes={}",
                                       options.namespace_name, options.cluster, options.minutes);
  if (!options.once) {
    top_interrupted = false;
    struct sigaction action {};
    action.sa_handler = [](int) { top_interrupted = true; };
    ::sigaction(SIGINT, &action, nullptr);
    ::sigaction(SIGTERM, &action, nullptr);
    std::cout << "\033[?25l";  // no cursor blinking over the frame
  }
  int code = 0;
  while (!top_interrupted) {
    auto answer = client.send("GET", path);
    Result<monitoring::ClusterMetrics> metrics =
        answer ? monitoring::cluster_metrics_from_json(*answer) : Result<monitoring::ClusterMetrics>(answer.error());
    if (options.once) {
      if (!metrics) return report_error("top", metrics.error());
      std::cout << render_top_frame(*metrics);
      return 0;
    }
    // Clear and redraw; an error is shown in place of the frame and retried, as the next frame may work.
    std::cout << "\033[H\033[2J";
    if (metrics)
      std::cout << render_top_frame(*metrics);
    else
      std::cout << fmt::format("pgstack top {}/{}: {}\n", options.namespace_name, options.cluster,
                               metrics.error().message);
    std::cout << fmt::format("\n(every {}; Ctrl-C to quit)", options.interval) << std::flush;
    const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(*interval);
    while (!top_interrupted && std::chrono::steady_clock::now() < until)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  std::cout << "\033[?25h\n" << std::flush;
  return code;
}

}  // namespace

void add_metrics_command(CLI::App& app, ExitStatus& status) {
  auto options = std::make_shared<MetricsOptions>();
  CLI::App* command = app.add_subcommand(
      "metrics",
      "Run PromQL on the installation's Prometheus through the controller (instant, or a range). Raw PromQL can "
      "read every cluster's series, so the controller answers it only to a caller who may read every namespace, "
      "even when CLUSTER is named (it is checked to exist and echoed, not used to narrow the query); a caller bound "
      "to some namespaces sees a cluster's figures with `pgstack top CLUSTER`");
  command->add_option("cluster", options->cluster, "The cluster the query is about (checked to exist)");
  command->add_option("-n,--namespace", options->namespace_name, "The cluster's namespace")
      ->capture_default_str()
      ->type_name("NS");
  command->add_option("-q,--query", options->query, "PromQL, e.g. 'pg_up{cluster=\"demo\"}'")->required();
  command->add_option("--range", options->range, "A range ending now (10m, 1h), about 60 points")
      ->type_name("DURATION");
  command->add_option("--start", options->start, "Range start: seconds since the epoch or RFC 3339")->type_name("TIME");
  command->add_option("--end", options->end, "Range end (default now)")->type_name("TIME");
  command->add_option("--step", options->step, "Seconds between a range's points (15s, 1m)")->type_name("DURATION");
  command->add_option("-o,--output", options->output, "table (one row per series) or json (Prometheus's result)")
      ->check(CLI::IsMember({"table", "json", "yaml"}));
  command->callback([options, command, &status] { status.code = run_metrics(api_client_for(*command), *options); });
}

void add_top_command(CLI::App& app, ExitStatus& status) {
  auto options = std::make_shared<TopOptions>();
  CLI::App* command = app.add_subcommand(
      "top",
      "A cluster's TPS, connections, replication lag, WAL rate, cache hit ratio and top queries, from "
      "Prometheus, redrawn every --interval (Ctrl-C quits)");
  command->add_option("cluster", options->cluster, "The cluster")->required();
  command->add_option("-n,--namespace", options->namespace_name, "Namespace")->capture_default_str()->type_name("NS");
  command->add_option("--interval", options->interval, "How often to redraw (2s, 500ms)")
      ->capture_default_str()
      ->type_name("DURATION");
  command->add_option("--minutes", options->minutes, "Minutes of history in the sparklines")
      ->capture_default_str()
      ->check(CLI::Range(1, 1440));
  command->add_flag("--once", options->once, "Print one frame without escape codes and exit (scripts, tests)");
  command->callback([options, command, &status] { status.code = run_top(api_client_for(*command), *options); });
}

}  // namespace pgstack::cli
