#include "controller/operations/operations_runner.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include "common/http_client.h"
#include "common/process.h"
#include "common/time.h"
#include "controller/operations/maintenance_commands.h"
#include "controller/operations/operation_plan.h"
#include "controller/patroni_client.h"
#include "patroni/rest.h"
#include "patroni/roles.h"
#include "store/keys.h"

namespace pgstack::controller::operations {
namespace {

using Clock = std::chrono::system_clock;

std::string now_text() { return utc_timestamp(Clock::now()); }

// What a worker's step came to.
enum class Outcome { kCompleted, kFailed, kStopped };
struct StepResult {
  Outcome outcome = Outcome::kCompleted;
  std::string message;
};
StepResult completed(std::string message) { return {Outcome::kCompleted, std::move(message)}; }
StepResult failed(std::string message) { return {Outcome::kFailed, std::move(message)}; }
StepResult stopped() { return {Outcome::kStopped, ""}; }

std::string benchmark_database_name(const model::DbOps& spec) {
  std::string name = "pgstack_benchmark_" + spec.name;
  for (char& c : name) {
    if (c == '-') c = '_';
  }
  return name;
}

}  // namespace

// One operation being carried out by a worker: its spec, its status as last written, and the steps.
class OperationsRunner::Execution {
 public:
  Execution(OperationsRunner& runner, model::DbOps spec) : runner_(runner), spec_(std::move(spec)) {}

  void run() {
    auto stored = runner_.store_.get_status("SGDbOps", spec_.namespace_name, spec_.name);
    if (!stored.ok()) return;  // etcd is away: the next pass starts a worker again
    status_ = stored->value_or(Json::object());
    if (!status_.is_object()) status_ = Json::object();
    if (phase_of(status_) == Phase::kPending) {
      status_["opStarted"] = now_text();
      if (!status_.contains("opRetries")) status_["opRetries"] = 0;
      if (!spec_.ignored.empty()) status_["ignoredFields"] = spec_.ignored;
      set_phase(Phase::kRunning, "OperationRunning", fmt::format("{} started", spec_.op));
      spdlog::info("SGDbOps {}/{}: {} on SGCluster {} started", spec_.namespace_name, spec_.name, spec_.op,
                   spec_.cluster);
    } else {
      spdlog::info("SGDbOps {}/{}: resuming {} on SGCluster {}", spec_.namespace_name, spec_.name, spec_.op,
                   spec_.cluster);
    }
    while (!runner_.should_stop()) {
      if (timed_out(spec_, status_, Clock::now())) return finish_failed("OperationTimedOut", timeout_message());
      const StepResult result = perform();
      if (result.outcome == Outcome::kStopped) return;
      if (result.outcome == Outcome::kCompleted) {
        set_phase(Phase::kCompleted, "OperationCompleted", result.message);
        spdlog::info("SGDbOps {}/{}: completed: {}", spec_.namespace_name, spec_.name, result.message);
        return;
      }
      if (timed_out(spec_, status_, Clock::now())) return finish_failed("OperationTimedOut", timeout_message());
      const int retries = status_.value("opRetries", 0);
      if (retries >= spec_.max_retries) return finish_failed("OperationFailed", result.message);
      spdlog::warn("SGDbOps {}/{}: attempt {} failed ({}); retrying", spec_.namespace_name, spec_.name, retries + 1,
                   result.message);
      status_["opRetries"] = retries + 1;
      status_[spec_.op] = {{"failure", result.message}};  // a retry starts the operation over
      set_phase(Phase::kRunning, "OperationRunning", fmt::format("retry {} after: {}", retries + 1, result.message));
      pause();
    }
  }

 private:
  using Json = model::Json;

  std::string timeout_message() const {
    return fmt::format("the operation did not finish within its timeout ({} s)",
                       std::chrono::duration_cast<std::chrono::seconds>(*spec_.timeout).count());
  }

  void finish_failed(const std::string& reason, const std::string& message) {
    if (status_.contains(spec_.op) && status_[spec_.op].is_object()) status_[spec_.op]["failure"] = message;
    // A failed ReducedImpact restart gives its additional member back; a controller that stops keeps it.
    if (reduced_impact()) {
      if (auto released = release_additional_instance(); !released.ok())
        spdlog::warn("SGDbOps {}/{}: cannot remove the additional member: {}", spec_.namespace_name, spec_.name,
                     released.error().message);
    }
    set_phase(Phase::kFailed, reason, message);
    spdlog::warn("SGDbOps {}/{}: failed ({}): {}", spec_.namespace_name, spec_.name, reason, message);
  }

  void set_phase(Phase phase, const std::string& reason, const std::string& message) {
    status_["conditions"] = conditions_for(phase, reason, message, now_text(), status_.value("conditions", Json()));
    save();
  }

  // Progress is durable before the next step starts; a failed write is retried on the next save and
  // logged, never dropped silently.
  void save() {
    auto written = runner_.store_.put_status("SGDbOps", spec_.namespace_name, spec_.name, status_);
    if (!written.ok())
      spdlog::warn("SGDbOps {}/{}: cannot store its progress: {}", spec_.namespace_name, spec_.name,
                   written.error().message);
  }

  void pause() const { std::this_thread::sleep_for(runner_.settings_.poll_interval); }

  // The time left before spec.timeout, or a day (bounds a statement or program that would hang).
  std::chrono::seconds remaining() const {
    if (!spec_.timeout || !status_.contains("opStarted")) return std::chrono::hours(24);
    const auto started = parse_utc_timestamp(status_["opStarted"].get<std::string>());
    if (!started) return std::chrono::hours(24);
    // Rounded up: opStarted is stored to the second, so a bound rounded down could stop a program just
    // before timed_out() agrees that the deadline has passed, and the failure would not read as a timeout.
    const auto left = std::chrono::ceil<std::chrono::seconds>(*started + *spec_.timeout - Clock::now());
    return std::max(left, std::chrono::seconds(1));
  }

  StepResult perform() {
    auto cluster = runner_.store_.get("SGCluster", spec_.namespace_name, spec_.cluster);
    if (!cluster.ok())
      return failed(fmt::format("SGCluster {} does not exist in namespace {}", spec_.cluster, spec_.namespace_name));
    if (spec_.op == "vacuum") return vacuum();
    if (spec_.op == "repack") return repack();
    if (spec_.op == "benchmark") return benchmark();
    if (spec_.op == "restart" || spec_.op == "securityUpgrade" || spec_.op == "minorVersionUpgrade")
      return rolling_restart();
    if (spec_.op == "majorVersionUpgrade") return major_version_upgrade();
    return failed(fmt::format("op {} is not known", spec_.op));
  }

  Result<postgres::PostgresTarget> primary(const std::string& database) const {
    auto target =
        primary_target(runner_.store_.client(), runner_.settings_.etcd_prefix, spec_.namespace_name, spec_.cluster);
    if (!target.ok()) return target.error();
    postgres::PostgresTarget in_database = target.value();
    in_database.database = database;
    return in_database;
  }

  // Runs `sql` in `database` on the primary, cancellable by stop() and bounded by the timeout.
  Result<postgres::Rows> run_sql(const std::string& database, const std::string& sql) {
    auto target = primary(database);
    if (!target.ok()) return target.error();
    auto session = postgres::PostgresSession::connect(*target);
    if (!session.ok()) return session.error();
    runner_.track(session->get());
    auto limited = (*session)->query(fmt::format("SET statement_timeout = '{}s'", remaining().count()));
    auto result = limited.ok() ? (*session)->query(sql) : limited;
    runner_.untrack(session->get());
    return result;
  }

  // Every database that accepts connections, or the ones the operation names.
  Result<std::vector<std::string>> databases(const std::vector<std::string>& named) {
    if (!named.empty() && std::find(named.begin(), named.end(), "") == named.end()) return named;
    auto rows = run_sql("postgres", "SELECT datname FROM pg_database WHERE datallowconn ORDER BY datname");
    if (!rows.ok()) return rows.error();
    std::vector<std::string> names;
    for (const auto& row : *rows) names.push_back(row[0]);
    return names;
  }

  // Per-database progress under status.<op>.databases: done ones are skipped after a resume.
  bool database_done(const std::string& database) const {
    const Json& done = status_.value(spec_.op, Json::object()).value("databases", Json::array());
    for (const Json& entry : done) {
      if (entry.value("name", "") == database && entry.contains("completedAt")) return true;
    }
    return false;
  }
  void record_database(const std::string& database, Json details) {
    Json& op = status_[spec_.op];
    if (!op.is_object()) op = Json::object();
    if (!op.contains("databases")) op["databases"] = Json::array();
    details["name"] = database;
    details["completedAt"] = now_text();
    op["databases"].push_back(details);
    save();
  }

  StepResult vacuum() {
    std::vector<std::string> named;
    for (const auto& target : spec_.vacuum) named.push_back(target.database);
    auto names = databases(named);
    if (!names.ok()) return failed(names.error().message);
    for (const auto& database : *names) {
      if (runner_.should_stop()) return stopped();
      if (database_done(database)) continue;
      model::VacuumTarget target = spec_.vacuum.front();
      for (const auto& named_target : spec_.vacuum) {
        if (named_target.database == database) target = named_target;
      }
      const std::string statement = vacuum_statement(target);
      auto done = run_sql(database, statement);
      if (!done.ok()) return failed(fmt::format("{} in database {}: {}", statement, database, done.error().message));
      record_database(database, {{"statement", statement}});
    }
    return completed(fmt::format("vacuumed {} database(s)", names->size()));
  }

  Result<std::string> client_program(const std::string& name) const {
    int major = 0;
    for (const auto& installed : runner_.settings_.installed_postgres) major = std::max(major, installed.major);
    const std::string path = fmt::format("/usr/lib/postgresql/{}/bin/{}", major, name);
    if (major == 0 || !std::filesystem::exists(path))
      return make_error(ErrorCode::kUnavailable,
                        fmt::format("{} is not installed at {} (scripts/install-deps installs it)", name, path));
    return path;
  }

  // Runs a client program against `target` for at most the operation's remaining time.
  Result<CommandOutput> run_client(const std::vector<std::string>& arguments, const postgres::PostgresTarget& target,
                                   std::chrono::seconds limit, const std::string& directory = "") {
    std::vector<std::string> argv = {"timeout", "--signal=TERM", "--kill-after=10",
                                     std::to_string(std::max<std::int64_t>(1, limit.count()))};
    argv.insert(argv.end(), arguments.begin(), arguments.end());
    CommandOptions options;
    for (const auto& [name, value] : postgres::libpq_environment(target)) options.extra_environment[name] = value;
    if (!directory.empty()) options.working_directory = directory;
    return run_command(argv, options);
  }

  StepResult repack() {
    auto program = client_program("pg_repack");
    if (!program.ok()) return failed(program.error().message);
    std::vector<std::string> named;
    for (const auto& target : spec_.repack) named.push_back(target.database);
    auto names = databases(named);
    if (!names.ok()) return failed(names.error().message);
    std::size_t repacked = 0;
    for (const auto& database : *names) {
      if (runner_.should_stop()) return stopped();
      // template1 is what new databases copy: pg_repack's extension is not put there.
      if (database == "template1") continue;
      ++repacked;
      if (database_done(database)) continue;
      model::RepackTarget options = spec_.repack.front();
      for (const auto& named_target : spec_.repack) {
        if (named_target.database == database) options = named_target;
      }
      auto extension = run_sql(database, "CREATE EXTENSION IF NOT EXISTS pg_repack");
      if (!extension.ok())
        return failed(
            fmt::format("CREATE EXTENSION pg_repack in database {}: {}", database, extension.error().message));
      auto target = primary(database);
      if (!target.ok()) return failed(target.error().message);
      std::vector<std::string> arguments = {*program};
      for (const auto& argument : repack_arguments(options, database)) arguments.push_back(argument);
      auto ran = run_client(arguments, *target, remaining());
      if (!ran.ok()) return failed(ran.error().message);
      if (ran->exit_code == 124) return failed(fmt::format("pg_repack in database {} timed out", database));
      if (ran->exit_code != 0)
        return failed(fmt::format("pg_repack in database {} exited with {}: {}", database, ran->exit_code,
                                  ran->standard_error.substr(0, 2000)));
      record_database(database, {{"command", "pg_repack " + join_arguments(repack_arguments(options, database))}});
    }
    return completed(fmt::format("repacked {} database(s)", repacked));
  }

  static std::string join_arguments(const std::vector<std::string>& arguments) {
    std::string joined;
    for (const auto& argument : arguments) joined += (joined.empty() ? "" : " ") + argument;
    return joined;
  }

  // The cluster endpoint a benchmark connects through: pgstack-proxy's, else PgBouncer's, else Postgres's.
  Result<std::pair<std::string, int>> benchmark_endpoint() const {
    auto status = runner_.store_.get_status("SGCluster", spec_.namespace_name, spec_.cluster);
    if (!status.ok() || !status->has_value())
      return make_error(ErrorCode::kUnavailable, "the cluster has no status yet");
    const Json endpoints = (**status).value("endpoints", Json::object());
    const bool replicas = spec_.benchmark.connection_type == "replicas-service";
    for (const char* key : replicas ? std::vector<const char*>{"proxyReadOnly", "readOnly"}
                                    : std::vector<const char*>{"proxyReadWrite", "readWrite"}) {
      const Json list = endpoints.value(key, Json::array());
      if (!list.is_array() || list.empty() || !list[0].is_string()) continue;
      const std::string address = list[0].get<std::string>();
      const auto colon = address.rfind(':');
      if (colon == std::string::npos) continue;
      return std::make_pair(address.substr(0, colon), std::atoi(address.c_str() + colon + 1));
    }
    return make_error(ErrorCode::kUnavailable, "the cluster's status lists no endpoint to benchmark through");
  }

  StepResult benchmark() {
    auto program = client_program("pgbench");
    if (!program.ok()) return failed(program.error().message);
    const std::string database = benchmark_database_name(spec_);
    auto credentials = runner_.store_.client().get(
        fmt::format("{}/secrets/{}/{}", runner_.settings_.etcd_prefix, spec_.namespace_name, spec_.cluster));
    if (!credentials.ok() || !credentials->has_value()) return failed("the cluster's credentials cannot be read");
    const Json secrets = Json::parse((*credentials)->value, nullptr, false);
    const Json application = secrets.is_object() ? secrets.value("application", Json::object()) : Json::object();
    const std::string user = application.value("username", "");
    if (user.empty()) return failed("the cluster has no application user to benchmark as");

    // A run cut short left its database behind: start from scratch.
    status_["benchmark"] = {{"database", database}};
    save();
    auto reset = run_sql("postgres",
                         fmt::format("DROP DATABASE IF EXISTS {} WITH (FORCE)", postgres::quote_identifier(database)));
    if (!reset.ok()) return failed(reset.error().message);
    auto created = run_sql("postgres", fmt::format("CREATE DATABASE {} OWNER {}", postgres::quote_identifier(database),
                                                   postgres::quote_identifier(user)));
    if (!created.ok()) return failed(created.error().message);
    const auto drop = [&] {
      auto dropped = run_sql(
          "postgres", fmt::format("DROP DATABASE IF EXISTS {} WITH (FORCE)", postgres::quote_identifier(database)));
      if (!dropped.ok())
        spdlog::warn("SGDbOps {}/{}: cannot drop {}: {}", spec_.namespace_name, spec_.name, database,
                     dropped.error().message);
    };

    auto primary_target_for_init = primary(database);
    if (!primary_target_for_init.ok()) return failed(primary_target_for_init.error().message);
    postgres::PostgresTarget as_application = *primary_target_for_init;
    as_application.user = user;
    as_application.password = application.value("password", "");
    const int scale = pgbench_scale(spec_.benchmark.database_size_bytes);
    std::vector<std::string> init = {*program};
    for (auto& argument : pgbench_init_arguments(spec_.benchmark, scale)) init.push_back(std::move(argument));
    auto initialised = run_client(init, as_application, remaining());
    if (!initialised.ok() || initialised->exit_code != 0) {
      drop();
      return failed(fmt::format("pgbench --initialize failed: {}", initialised.ok()
                                                                       ? initialised->standard_error.substr(0, 2000)
                                                                       : initialised.error().message));
    }
    auto endpoint = benchmark_endpoint();
    if (!endpoint.ok()) {
      drop();
      return failed(endpoint.error().message);
    }
    postgres::PostgresTarget through_endpoint = as_application;
    through_endpoint.host = endpoint->first;
    through_endpoint.port = endpoint->second;

    char directory_template[] = "/tmp/pgstack-benchmark-XXXXXX";
    if (::mkdtemp(directory_template) == nullptr) {
      drop();
      return failed("cannot make a temporary directory for pgbench's logs");
    }
    const std::filesystem::path directory = directory_template;
    std::vector<std::string> script_files;
    for (std::size_t i = 0; i < spec_.benchmark.custom_scripts.size(); ++i) {
      if (spec_.benchmark.custom_scripts[i].script.empty()) continue;
      const auto file = directory / fmt::format("script-{}.sql", i);
      std::ofstream(file) << spec_.benchmark.custom_scripts[i].script << "\n";
      script_files.push_back(file.string());
    }
    std::vector<std::string> arguments = {*program};
    for (const auto& argument :
         pgbench_run_arguments(spec_.benchmark, database, (directory / "pgbench_log").string(), script_files))
      arguments.push_back(argument);
    // The proxy and PgBouncer may take clear text: prefer TLS, do not require it through them.
    through_endpoint.ssl_root_certificate.clear();
    const auto duration = std::chrono::duration_cast<std::chrono::seconds>(spec_.benchmark.duration);
    auto ran = run_client(arguments, through_endpoint, std::min(remaining(), duration + std::chrono::seconds(120)),
                          directory.string());
    std::vector<double> latencies;
    std::error_code error;
    for (const auto& entry : std::filesystem::directory_iterator(directory, error)) {
      if (entry.path().filename().string().rfind("pgbench_log", 0) != 0) continue;
      std::ifstream in(entry.path());
      const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      read_pgbench_log(text, latencies);
    }
    std::filesystem::remove_all(directory, error);
    drop();
    if (!ran.ok()) return failed(ran.error().message);
    if (ran->exit_code != 0)
      return failed(fmt::format("pgbench exited with {}: {}", ran->exit_code, ran->standard_error.substr(0, 2000)));
    status_["benchmark"] = {{"pgbench", pgbench_results(ran->standard_output, latencies, scale)},
                            {"connectionType", spec_.benchmark.connection_type},
                            {"endpoint", fmt::format("{}:{}", endpoint->first, endpoint->second)}};
    save();
    const Json& tps =
        status_["benchmark"]["pgbench"]["transactionsPerSecond"]["excludingConnectionsEstablishing"]["value"];
    return completed(fmt::format("pgbench ran {} s: {} tps", duration.count(), tps.is_number() ? tps.dump() : "?"));
  }

  // Patroni's member records plus each member's GET /patroni (start time, running binary).
  Result<std::pair<ClusterTopology, std::map<std::string, MemberState>>> observe() const {
    auto topology =
        read_topology(runner_.store_.client(), runner_.settings_.etcd_prefix, spec_.namespace_name, spec_.cluster);
    if (!topology.ok()) return topology.error();
    std::map<std::string, MemberState> members;
    for (const auto& [name, member] : topology->members) {
      MemberState state;
      state.role = patroni::is_leader_role(member.role) ? "primary" : "replica";
      state.state = member.state;
      state.pending_restart = member.pending_restart;
      auto details = http_request("GET", patroni::status_url(member.api_url), "", {}, std::chrono::seconds(3));
      if (details.ok() && details->status == 200) {
        const Json body = Json::parse(details->body, nullptr, false);
        if (body.is_object()) {
          state.postmaster_start_time = body.value("postmaster_start_time", "");
          state.server_version = body.value("server_version", std::int64_t{0});
          state.pending_restart = body.value("pending_restart", state.pending_restart);
        }
      } else if (state.state == "running") {
        state.state = "unreachable";  // its Patroni does not answer: do not count it as ready
      }
      members[name] = state;
    }
    return std::make_pair(std::move(topology).value(), std::move(members));
  }

  std::int64_t installed_version_num() const {
    std::int64_t newest = 0;
    for (const auto& installed : runner_.settings_.installed_postgres)
      newest = std::max(newest, version_num(installed.version));
    return newest;
  }

  StepResult rolling_restart() {
    const std::string& key = spec_.op;
    if (spec_.op == "minorVersionUpgrade" && !spec_.target_postgres_version.empty() &&
        version_num(spec_.target_postgres_version) != installed_version_num()) {
      std::string installed;
      for (const auto& version : runner_.settings_.installed_postgres)
        installed += (installed.empty() ? "" : ", ") + version.version;
      return failed(fmt::format(
          "postgresVersion {} is not installed on this host (installed: {}); Debian upgrades a minor version in "
          "place (apt-get install postgresql-15): install it, then run the operation again",
          spec_.target_postgres_version, installed.empty() ? "none" : installed));
    }
    RestartProgress progress = restart_progress_from(status_.value(key, Json::object()));
    if (progress.initial_instances.empty()) {
      auto observed = observe();
      if (!observed.ok()) return failed(observed.error().message);
      const auto& [topology, members] = *observed;
      for (const auto& [name, member] : members) progress.initial_instances.push_back(name);
      progress.primary_instance = topology.leader.value_or("");
      progress.pending = members_to_restart(spec_, members, installed_version_num());
      Json details = to_json(progress);
      if (spec_.op != "restart") {
        std::int64_t oldest = 0;
        for (const auto& [name, member] : members) {
          if (member.server_version != 0 && (oldest == 0 || member.server_version < oldest))
            oldest = member.server_version;
        }
        details["sourcePostgresVersion"] = fmt::format("{}.{}", oldest / 10000, oldest % 10000);
        details["targetPostgresVersion"] =
            fmt::format("{}.{}", installed_version_num() / 10000, installed_version_num() % 10000);
      }
      status_[key] = details;
      save();
      if (progress.pending.empty())
        return completed(spec_.op == "restart" ? "no member needed a restart"
                                               : "every member already runs the installed binary");
    }
    while (!runner_.should_stop()) {
      if (timed_out(spec_, status_, Clock::now())) return failed(timeout_message());
      auto observed = observe();
      if (!observed.ok()) {
        pause();
        continue;
      }
      const auto& [topology, members] = *observed;
      if (progress.additional_requested && progress.additional_instance.empty()) {
        progress.additional_instance = additional_member(progress, members);
        if (!progress.additional_instance.empty()) save_progress(progress);
      }
      const RestartStep step = next_restart_step(progress, members, topology.leader, reduced_impact());
      switch (step.action) {
        case RestartAction::kAddInstance: {
          const Json record = {{"count", 1}, {"sgdbops", spec_.name}};
          if (auto written = runner_.store_.client().put(additional_instances_key(), record.dump()); !written.ok())
            return failed("cannot ask for the additional member: " + written.error().message);
          spdlog::info("SGDbOps {}/{}: {}", spec_.namespace_name, spec_.name, step.reason);
          progress.additional_requested = true;
          save_progress(progress);
          break;
        }
        case RestartAction::kRemoveInstance: {
          if (auto removed = release_additional_instance(); !removed.ok())
            return failed("cannot remove the additional member: " + removed.error().message);
          spdlog::info("SGDbOps {}/{}: {}", spec_.namespace_name, spec_.name, step.reason);
          progress.additional_released = true;
          save_progress(progress);
          break;
        }
        case RestartAction::kSwitchBack: {
          spdlog::info("SGDbOps {}/{}: {}", spec_.namespace_name, spec_.name, step.reason);
          auto moved = switchover(runner_.store_.client(), runner_.settings_.etcd_prefix, spec_.namespace_name,
                                  spec_.cluster, step.candidate, fmt::format("SGDbOps {} (restart)", spec_.name));
          if (!moved.ok()) return failed("switchover back from the additional member: " + moved.error().message);
          break;
        }
        case RestartAction::kDone:
          return completed(
              fmt::format("restarted {} member(s): {}", progress.restarted.size(), join_arguments(progress.restarted)));
        case RestartAction::kFail: return failed(step.reason);
        case RestartAction::kWait: pause(); break;
        case RestartAction::kSwitchover: {
          // Patroni demotes the old primary by restarting it as a replica: that restart is the one this
          // member needs (same binary path, the new settings), confirmed by its start time like any other.
          progress.switchover_initiated = now_text();
          progress.restarting = step.member;
          progress.restarting_started_before = members.at(step.member).postmaster_start_time;
          save_progress(progress);
          auto moved = switchover(runner_.store_.client(), runner_.settings_.etcd_prefix, spec_.namespace_name,
                                  spec_.cluster, step.candidate, fmt::format("SGDbOps {} ({})", spec_.name, spec_.op));
          if (!moved.ok()) return failed("switchover: " + moved.error().message);
          progress.switchover_finalized = now_text();
          save_progress(progress);
          break;
        }
        case RestartAction::kRestart: {
          progress.restarting = step.member;
          progress.restarting_started_before = members.at(step.member).postmaster_start_time;
          save_progress(progress);
          spdlog::info("SGDbOps {}/{}: {}", spec_.namespace_name, spec_.name, step.reason);
          auto restarted = restart_member(topology.members.at(step.member));
          if (!restarted.ok())
            spdlog::warn("SGDbOps {}/{}: {}: {}", spec_.namespace_name, spec_.name, step.reason,
                         restarted.error().message);
          break;  // confirmed on the next round by its start time
        }
        case RestartAction::kConfirmRestart: {
          const auto found = members.find(step.member);
          if (found == members.end()) return failed(fmt::format("member {} is gone", step.member));
          const MemberState& member = found->second;
          if (member.state == "running" && !member.postmaster_start_time.empty() &&
              member.postmaster_start_time != progress.restarting_started_before) {
            progress.restarted.push_back(step.member);
            progress.restarting.clear();
            progress.restarting_started_before.clear();
            save_progress(progress);
          } else if (member.state == "running" && (member.role != "primary" || members.size() == 1) &&
                     member.postmaster_start_time == progress.restarting_started_before) {
            // Asked for before a controller restart, or refused while Patroni was busy: ask again (a
            // primary being switched away from is left to its demotion).
            auto restarted = restart_member(topology.members.at(step.member));
            if (!restarted.ok()) {
              spdlog::warn("SGDbOps {}/{}: restarting {}: {}", spec_.namespace_name, spec_.name, step.member,
                           restarted.error().message);
              pause();
            }
          } else {
            pause();
          }
          break;
        }
      }
    }
    return stopped();
  }

  bool reduced_impact() const { return spec_.op == "restart" && spec_.method == "ReducedImpact"; }

  std::string additional_instances_key() const {
    return store::keys::additional_instances(runner_.settings_.etcd_prefix, spec_.namespace_name, spec_.cluster);
  }

  // Removes the additional member this operation asked for, if its record is still there (true: removed).
  Result<bool> release_additional_instance() const {
    const auto& etcd = runner_.store_.client();
    ASSIGN_OR_RETURN(const auto record, etcd.get(additional_instances_key()));
    if (!record) return false;
    const Json added = Json::parse(record->value, nullptr, false);
    if (added.is_object() && added.value("sgdbops", "") != spec_.name) return false;  // another operation's
    return etcd.remove(additional_instances_key());
  }

  void save_progress(const RestartProgress& progress) {
    Json details = status_.value(spec_.op, Json::object());
    const Json updated = to_json(progress);
    for (const auto& [field, value] : updated.items()) details[field] = value;
    if (progress.restarting.empty()) {
      details.erase("restartingInstance");
      details.erase("restartingInstanceStartedBefore");
    }
    status_[spec_.op] = details;
    save();
  }

  StepResult major_version_upgrade() {
    const std::int64_t target = version_num(spec_.target_postgres_version) / 10000;
    std::string installed;
    bool target_installed = false;
    for (const auto& version : runner_.settings_.installed_postgres) {
      installed += (installed.empty() ? "" : ", ") + version.version;
      if (version.major == target) target_installed = true;
    }
    status_["majorVersionUpgrade"] = {{"targetPostgresVersion", spec_.target_postgres_version}};
    if (!target_installed)
      return failed(fmt::format(
          "PostgreSQL {} is not installed on this host (installed: {}), and pg_upgrade needs the old and the new "
          "major side by side; Debian's archive here packages only PostgreSQL 15, so no major version upgrade "
          "can run on it",
          target, installed.empty() ? "none" : installed));
    return failed(fmt::format("a major version upgrade to {} (pg_upgrade) is not supported by this pgstack yet",
                              spec_.target_postgres_version));
  }

  OperationsRunner& runner_;
  model::DbOps spec_;
  Json status_;
};

OperationsRunner::OperationsRunner(store::ResourceStore store, const LeaderElection& leadership,
                                   OperationsSettings settings)
    : store_(std::move(store)), leadership_(leadership), settings_(std::move(settings)) {}

OperationsRunner::~OperationsRunner() { stop(); }

void OperationsRunner::stop() {
  stopping_ = true;
  {
    std::lock_guard lock(sessions_mutex_);
    for (postgres::PostgresSession* session : sessions_) session->cancel();
  }
  std::map<std::string, std::unique_ptr<Worker>> workers;
  {
    std::lock_guard lock(mutex_);
    workers.swap(workers_);
  }
  for (auto& [key, worker] : workers) {
    if (worker->thread.joinable()) worker->thread.join();
  }
}

void OperationsRunner::track(postgres::PostgresSession* session) {
  std::lock_guard lock(sessions_mutex_);
  sessions_.insert(session);
  if (stopping_) session->cancel();
}

void OperationsRunner::untrack(postgres::PostgresSession* session) {
  std::lock_guard lock(sessions_mutex_);
  sessions_.erase(session);
}

void OperationsRunner::run_worker(model::DbOps spec) {
  try {
    Execution(*this, std::move(spec)).run();
  } catch (const std::exception& failure) {
    spdlog::error("operation worker failed: {}", failure.what());
  }
}

void OperationsRunner::reconcile() {
  if (should_stop()) return;
  {
    std::lock_guard lock(mutex_);
    for (auto it = workers_.begin(); it != workers_.end();) {
      if (it->second->done) {
        it->second->thread.join();
        it = workers_.erase(it);
      } else {
        ++it;
      }
    }
  }
  auto documents = store_.list("SGDbOps");
  if (!documents.ok()) {
    spdlog::warn("operations: cannot list SGDbOps: {}", documents.error().message);
    return;
  }
  std::map<std::string, std::vector<QueuedOperation>> by_cluster;
  for (const auto& document : documents.value()) {
    auto status = store_.get_status("SGDbOps", document.namespace_name(), document.name());
    if (!status.ok()) return;
    Json current = status->value_or(Json(nullptr));
    auto spec = model::dbops_from(document);
    if (!spec.ok()) {
      // Values the schema cannot check: the operation fails at once, with the reason.
      if (phase_of(current) != Phase::kFailed) {
        Json failed_status = current.is_object() ? current : Json::object();
        failed_status["conditions"] =
            conditions_for(Phase::kFailed, "OperationFailed", spec.error().message, now_text(), Json());
        auto written = store_.put_status("SGDbOps", document.namespace_name(), document.name(), failed_status);
        if (!written.ok())
          spdlog::warn("SGDbOps {}/{}: cannot store its status: {}", document.namespace_name(), document.name(),
                       written.error().message);
      }
      continue;
    }
    const std::string cluster_key = spec->namespace_name + "/" + spec->cluster;
    by_cluster[cluster_key].push_back({std::move(spec).value(), std::move(current)});
  }
  const auto now = Clock::now();
  for (auto& [cluster_key, operations] : by_cluster) {
    const QueueDecision decision = decide_queue(operations, now);
    for (const auto& operation : operations) {
      const auto waiting = decision.waiting.find(operation.spec.name);
      if (waiting == decision.waiting.end()) continue;
      Json status = operation.status.is_object() ? operation.status : Json::object();
      const Json conditions = conditions_for(Phase::kPending, "OperationNotStarted", waiting->second, now_text(),
                                             status.value("conditions", Json()));
      // Rewrite only when the reason changed (timestamps aside): no write on every pass.
      if (status.value("conditions", Json()).dump().find(waiting->second) != std::string::npos) continue;
      status["conditions"] = conditions;
      auto written = store_.put_status("SGDbOps", operation.spec.namespace_name, operation.spec.name, status);
      if (!written.ok())
        spdlog::warn("SGDbOps {}/{}: cannot store its status: {}", operation.spec.namespace_name, operation.spec.name,
                     written.error().message);
    }
    if (!decision.run) continue;
    std::lock_guard lock(mutex_);
    if (workers_.count(cluster_key) > 0) continue;
    for (const auto& operation : operations) {
      if (operation.spec.name != *decision.run) continue;
      auto worker = std::make_unique<Worker>();
      Worker* raw = worker.get();
      raw->thread = std::thread([this, raw, spec = operation.spec] {
        run_worker(spec);
        raw->done = true;
      });
      workers_[cluster_key] = std::move(worker);
    }
  }
}

}  // namespace pgstack::controller::operations
