// Central logs' benchmark (issue 14; figures in docs/benchmarks.md): a real Postgres 15 log store and a
// real Postgres 15 instance logging every statement to csvlog (tests/integration/logs/log_servers.h),
// and pgstack's LogShipper between them, run in the agent's rhythm (again at once after a batch, after
// 250 ms when there was nothing).
//   1. ingest: a backlog of csvlog records (real ones from pgbench, repeated) shipped into one store;
//      4 MiB batches (the shipper's default) and ~1,000-record batches alternated; records/s.
//   2. shipping delay while pgbench logs at --rate lines/s: p50/p99 of (row inserted - log_time).
//   3. the shipper's CPU (its thread) while pgbench logs at --cpu-rate lines/s, in % of one core.
//   4. pgbench TPS (select-only, every statement logged) with the shipper running and not, rounds
//      alternated, medians and their ratio.
// Run as root (the servers run as postgres); `make bench-logs` builds and runs it.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <sys/resource.h>

#include "common/files.h"
#include "common/process.h"
#include "integration/logs/log_servers.h"
#include "logs/log_shipper.h"
#include "logs/record_framing.h"
#include "postgres/postgres_session.h"

namespace {

namespace fs = std::filesystem;
using namespace pgstack;
using Clock = std::chrono::steady_clock;

struct Options {
  std::uint64_t ingest_records = 600000;
  int rounds = 3;
  int seconds = 20;
  int rate = 6000;
  int cpu_rate = 1000;
  std::vector<std::string> parts = {"ingest", "live", "tps"};
};

double median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const std::size_t middle = values.size() / 2;
  return values.size() % 2 == 1 ? values[middle] : (values[middle - 1] + values[middle]) / 2;
}

[[noreturn]] void fail(const std::string& what) {
  std::cerr << "log_ship_bench: " << what << "\n";
  std::exit(1);
}

template <typename T>
T need(Result<T> result, const std::string& what) {
  if (!result.ok()) fail(what + ": " + result.error().message);
  return std::move(result).value();
}

postgres::Rows store_query(const testing::LogServers& servers, const std::string& sql) {
  auto session = need(postgres::PostgresSession::connect(servers.store_target), "connect to the store");
  return need(session->query(sql), sql);
}

double thread_cpu_seconds() {
  rusage usage{};
  ::getrusage(RUSAGE_THREAD, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

logs::ShipperSettings settings_for(const testing::LogServers& servers, const fs::path& directory,
                                   const std::string& instance) {
  logs::ShipperSettings settings;
  settings.type = logs::LogType::kPostgres;
  settings.directory = directory;
  settings.source = {"bench", "bench", instance, "primary"};
  settings.store = servers.store_target;
  settings.settle = std::chrono::milliseconds(500);
  return settings;
}

// The agent's rhythm on a thread of its own; `cpu_seconds` is that thread's CPU time once stopped.
class ShippingLoop {
 public:
  explicit ShippingLoop(logs::ShipperSettings settings) : shipper_(std::move(settings)) {}
  ~ShippingLoop() { stop(); }

  void start() {
    thread_ = std::thread([this] {
      const double cpu_at_start = thread_cpu_seconds();
      while (!stopping_) {
        auto outcome = shipper_.ship_once();
        if (!outcome.ok()) {
          std::cerr << "log_ship_bench: shipping: " << outcome.error().message << "\n";
          std::this_thread::sleep_for(std::chrono::seconds(1));
        } else if (!outcome->shipped) {
          idle_ = true;
          std::this_thread::sleep_for(std::chrono::milliseconds(250));
        } else {
          idle_ = false;
        }
      }
      cpu_seconds_ = thread_cpu_seconds() - cpu_at_start;
    });
  }
  void stop() {
    stopping_ = true;
    if (thread_.joinable()) thread_.join();
  }
  // Until a pass found nothing to ship after `since` (the log collector writes asynchronously).
  void wait_until_caught_up() {
    idle_ = false;
    const auto deadline = Clock::now() + std::chrono::minutes(5);
    while (!idle_ && Clock::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  double cpu_seconds() const { return cpu_seconds_; }

 private:
  logs::LogShipper shipper_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> idle_{false};
  double cpu_seconds_ = 0;
  std::thread thread_;
};

std::vector<std::string> pgbench_command(const testing::LogServers& servers, int seconds, int rate) {
  std::vector<std::string> command = {"pgbench",
                                      "-h",
                                      "127.0.0.1",
                                      "-p",
                                      std::to_string(servers.source->port()),
                                      "-U",
                                      "postgres",
                                      "-S",
                                      "-c",
                                      "2",
                                      "-j",
                                      "2",
                                      "-T",
                                      std::to_string(seconds),
                                      "-n",
                                      "postgres"};
  if (rate > 0) command.insert(command.end() - 1, {"-R", std::to_string(rate)});
  return command;
}

double run_pgbench(const testing::LogServers& servers, int seconds, int rate) {
  const auto output = need(run_command(pgbench_command(servers, seconds, rate)), "pgbench");
  if (output.exit_code != 0) fail("pgbench failed: " + output.standard_error);
  std::smatch match;
  static const std::regex tps(R"(tps = ([0-9.]+) \(without initial connection time\))");
  if (!std::regex_search(output.standard_output, match, tps)) fail("no TPS in pgbench's output");
  return std::stod(match[1].str());
}

// Complete csvlog records of the instance so far, as one text.
std::string records_of(const fs::path& log_dir) {
  std::string all;
  for (const auto& entry : fs::directory_iterator(log_dir)) {
    if (entry.path().extension() != ".csv") continue;
    const std::string content = need(read_file(entry.path()), entry.path().string());
    const auto framed = logs::frame_csv_records(content);
    all.append(content, 0, framed.consumed);
  }
  return all;
}

void ingest(const testing::LogServers& servers, const Options& options) {
  // Real records: what pgbench makes the instance log in a few seconds, repeated into 64 MiB files.
  run_pgbench(servers, 5, 0);
  std::this_thread::sleep_for(std::chrono::seconds(1));
  const std::string corpus = records_of(servers.source_log_dir());
  const std::size_t corpus_records = logs::frame_csv_records(corpus).records.size();
  if (corpus_records == 0) fail("the instance logged nothing");
  const fs::path backlog = servers.root / "backlog";
  fs::create_directories(backlog);
  std::uint64_t written = 0;
  int file = 0;
  while (written < options.ingest_records) {
    std::ofstream out(backlog / fmt::format("postgresql-{:03}.csv", file++), std::ios::binary);
    for (std::size_t bytes = 0; bytes < (64u << 20) && written < options.ingest_records; bytes += corpus.size()) {
      out << corpus;
      written += corpus_records;
    }
  }
  const double megabytes = static_cast<double>(written) * static_cast<double>(corpus.size()) /
                           static_cast<double>(corpus_records) / (1 << 20);

  std::vector<double> large_batches, small_batches;
  for (int round = 0; round < options.rounds; ++round) {
    for (const bool small : {false, true}) {
      store_query(servers, "TRUNCATE log_postgres; DELETE FROM log_ingest_state; CHECKPOINT");
      auto settings = settings_for(servers, backlog, "bench-ingest");
      // ~1,000 records of ~290 bytes, the batch size the observability reference's target names.
      if (small) settings.batch_bytes = 290 * 1000;
      logs::LogShipper shipper(settings);
      const auto started = Clock::now();
      const auto batches = need(shipper.ship_all(), "shipping the backlog");
      const double seconds = std::chrono::duration<double>(Clock::now() - started).count();
      const auto stored = std::stoull(store_query(servers, "SELECT count(*) FROM log_postgres")[0][0]);
      if (stored != written) fail(fmt::format("{} records shipped, {} stored", written, stored));
      const double rate = static_cast<double>(written) / seconds;
      (small ? small_batches : large_batches).push_back(rate);
      std::cerr << fmt::format("ingest round {} ({} batches, {}): {:.0f} records/s\n", round + 1, batches,
                               small ? "~1,000-record batches" : "4 MiB batches", rate);
    }
  }
  store_query(servers, "TRUNCATE log_postgres; DELETE FROM log_ingest_state");
  std::cout << fmt::format(
      "## 1. Ingest into one store\n\n{} csvlog records ({:.0f} MiB, real records from pgbench "
      "-S repeated), shipped from a backlog; {} rounds, variants alternated.\n\n",
      written, megabytes, options.rounds);
  std::cout << "| batches | median records/s | rounds |\n|---|---|---|\n";
  auto list = [](const std::vector<double>& values) {
    std::string text;
    for (double value : values) text += fmt::format("{}{:.0f}", text.empty() ? "" : ", ", value);
    return text;
  };
  std::cout << fmt::format("| 4 MiB (the shipper's default) | {:.0f} | {} |\n", median(large_batches),
                           list(large_batches));
  std::cout << fmt::format("| ~1,000 records (290 kB) | {:.0f} | {} |\n\n", median(small_batches), list(small_batches));
}

// The live shipper of the instance's own csvlog, caught up before each measurement.
struct LiveFigures {
  double lines_per_second = 0;
  double p50_delay = 0;
  double p99_delay = 0;
  double max_delay = 0;
  double cpu_percent = 0;
};

LiveFigures live(const testing::LogServers& servers, int seconds, int rate) {
  {
    ShippingLoop catch_up(settings_for(servers, servers.source_log_dir(), "bench-live"));
    catch_up.start();
    catch_up.wait_until_caught_up();
  }
  const std::string since = store_query(servers, "SELECT clock_timestamp()")[0][0];
  ShippingLoop loop(settings_for(servers, servers.source_log_dir(), "bench-live"));
  loop.start();
  run_pgbench(servers, seconds, rate);
  loop.wait_until_caught_up();
  loop.stop();
  const auto rows = store_query(
      servers, fmt::format("SELECT count(*), percentile_cont(0.5) WITHIN GROUP (ORDER BY d), percentile_cont(0.99) "
                           "WITHIN GROUP (ORDER BY d), max(d) FROM (SELECT extract(epoch FROM ingested_at - log_time) "
                           "AS d FROM log_postgres WHERE instance = 'bench-live' AND log_time >= '{}') s",
                           since));
  LiveFigures figures;
  figures.lines_per_second = std::stod(rows[0][0]) / seconds;
  figures.p50_delay = std::stod(rows[0][1]);
  figures.p99_delay = std::stod(rows[0][2]);
  figures.max_delay = std::stod(rows[0][3]);
  figures.cpu_percent = 100.0 * loop.cpu_seconds() / seconds;
  return figures;
}

void delays_and_cpu(const testing::LogServers& servers, const Options& options) {
  // When each row arrived: a column only this benchmark's store has (the COPY leaves it to its default).
  store_query(servers,
              "ALTER TABLE log_postgres ADD COLUMN IF NOT EXISTS ingested_at timestamptz DEFAULT "
              "clock_timestamp()");
  std::cout << fmt::format(
      "## 2-3. Shipping delay and shipper CPU while the instance logs\n\npgbench -S -c2 at a "
      "fixed rate with every statement logged, {} s per round, {} rounds; delay = when the row "
      "was inserted minus its log_time (ms precision); CPU = the shipper thread's user+system "
      "time over the round.\n\n",
      options.seconds, options.rounds);
  std::cout << "| target rate (lines/s) | lines/s logged | p50 delay (s) | p99 delay (s) | max delay (s) | shipper CPU "
               "(% of a core) |\n|---|---|---|---|---|---|\n";
  for (const int rate : {options.rate, options.cpu_rate}) {
    std::vector<double> lines, p50, p99, worst, cpu;
    for (int round = 0; round < options.rounds; ++round) {
      const LiveFigures figures = live(servers, options.seconds, rate);
      std::cerr << fmt::format("live at {}/s round {}: {:.0f} lines/s, p99 {:.3f} s, cpu {:.2f}%\n", rate, round + 1,
                               figures.lines_per_second, figures.p99_delay, figures.cpu_percent);
      lines.push_back(figures.lines_per_second);
      p50.push_back(figures.p50_delay);
      p99.push_back(figures.p99_delay);
      worst.push_back(figures.max_delay);
      cpu.push_back(figures.cpu_percent);
    }
    std::cout << fmt::format("| {} | {:.0f} | {:.3f} | {:.3f} | {:.3f} | {:.2f} |\n", rate, median(lines), median(p50),
                             median(p99), median(worst), median(cpu));
  }
  std::cout << "\n(medians over the rounds)\n\n";
}

void tps_on_off(const testing::LogServers& servers, const Options& options) {
  std::vector<double> on, off;
  for (int round = 0; round < options.rounds; ++round) {
    for (const bool shipping : {false, true}) {
      ShippingLoop loop(settings_for(servers, servers.source_log_dir(), "bench-live"));
      loop.start();
      loop.wait_until_caught_up();  // the backlog of the last round is not this round's work
      if (!shipping) loop.stop();
      const double tps = run_pgbench(servers, options.seconds, 0);
      loop.stop();
      (shipping ? on : off).push_back(tps);
      std::cerr << fmt::format("tps round {} shipping {}: {:.0f}\n", round + 1, shipping ? "on" : "off", tps);
    }
  }
  std::cout << fmt::format(
      "## 4. pgbench TPS with shipping on and off\n\npgbench -S -c2 -j2 -T {}, every statement "
      "logged in both; the store on the same machine; rounds alternated (off, on).\n\n",
      options.seconds);
  std::cout << "| shipping | median TPS | rounds |\n|---|---|---|\n";
  for (const auto& [name, values] : {std::pair{"off", &off}, std::pair{"on", &on}}) {
    std::string text;
    for (double value : *values) text += fmt::format("{}{:.0f}", text.empty() ? "" : ", ", value);
    std::cout << fmt::format("| {} | {:.0f} | {} |\n", name, median(*values), text);
  }
  std::cout << fmt::format("\nratio on/off: {:.3f}\n", median(on) / median(off));
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  CLI::App app{"Central logs' benchmark: ingest rate, shipping delay, shipper CPU, pgbench TPS with shipping"};
  app.add_option("--ingest-records", options.ingest_records, "Records in the ingest backlog");
  app.add_option("--rounds", options.rounds, "Rounds of each measurement")->check(CLI::PositiveNumber);
  app.add_option("--seconds", options.seconds, "Seconds of each pgbench round")->check(CLI::PositiveNumber);
  app.add_option("--rate", options.rate, "Lines/s for the delay measurement")->check(CLI::PositiveNumber);
  app.add_option("--cpu-rate", options.cpu_rate, "Lines/s for the CPU measurement")->check(CLI::PositiveNumber);
  app.add_option("--parts", options.parts, "Which measurements: ingest, live (delay and CPU), tps")
      ->delimiter(',')
      ->check(CLI::IsMember({"ingest", "live", "tps"}));
  CLI11_PARSE(app, argc, argv);

  auto servers = need(testing::start_log_servers("shared_buffers = '256MB'\n"), "starting the servers");
  const auto init = need(run_command({"pgbench", "-i", "-q", "-h", "127.0.0.1", "-p",
                                      std::to_string(servers->source->port()), "-U", "postgres", "postgres"}),
                         "pgbench -i");
  if (init.exit_code != 0) fail("pgbench -i: " + init.standard_error);
  std::cout << fmt::format(
      "# Central logs benchmark\n\n{} cores, Postgres 15 store (TLS, pgstack's schema and "
      "indexes) and instance on this machine.\n\n",
      std::thread::hardware_concurrency());
  const auto wanted = [&](const std::string& part) {
    return std::find(options.parts.begin(), options.parts.end(), part) != options.parts.end();
  };
  if (wanted("ingest")) ingest(*servers, options);
  if (wanted("live")) delays_and_cpu(*servers, options);
  if (wanted("tps")) tps_on_off(*servers, options);
  return 0;
}
