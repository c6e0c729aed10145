#include "agent/instance_supervisor.h"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <pwd.h>
#include <sstream>
#include <unistd.h>
#include <vector>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include "agent/bootstrap_sql.h"
#include "agent/postgres_log.h"
#include "common/files.h"
#include "common/pki.h"
#include "common/process.h"
#include "common/strings.h"
#include "common/time.h"
#include "config/render_pgbackrest.h"
#include "patroni/rest.h"
#include "patroni/roles.h"

namespace pgstack::agent {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using SteadyClock = std::chrono::steady_clock;

constexpr milliseconds kStatusTimeout{1500};
constexpr milliseconds kReloadTimeout{5000};
// POST /restart answers once Postgres is back (or Patroni gave up).
constexpr milliseconds kRestartTimeout{180000};
constexpr std::chrono::seconds kRestartRetry{10};
// Patroni stops Postgres (fast shutdown, a checkpoint first) before it exits.
constexpr milliseconds kPatroniStopTimeout{90000};
constexpr milliseconds kPgbouncerStopTimeout{15000};

constexpr std::string_view kRestartGenerationFile = "restart-generation";
constexpr std::string_view kDivergedCopyPrefix = "data.diverged-";
constexpr std::size_t kEventsKept = 10;
constexpr std::string_view kPatroniPidFile = "patroni.pid";
constexpr std::string_view kExporterPidFile = "exporter.pid";
constexpr milliseconds kExporterStopTimeout{5000};

Error io_error(const fs::path& path, std::string_view doing) {
  return make_error(ErrorCode::kUnavailable,
                    fmt::format("{}: cannot {}: {}", path.string(), doing, std::strerror(errno)));
}

// Creates `path` if missing; gives it to uid:gid with `mode`. Refuses a symlink: these paths are
// handed to a less privileged user, who must not redirect a root chown elsewhere.
Result<bool> ensure_directory(const fs::path& path, mode_t mode, uid_t uid, gid_t gid) {
  struct stat info {};
  if (::lstat(path.c_str(), &info) != 0) {
    if (errno != ENOENT) return io_error(path, "inspect");
    if (::mkdir(path.c_str(), mode) != 0 && errno != EEXIST) return io_error(path, "create directory");
    if (::lstat(path.c_str(), &info) != 0) return io_error(path, "inspect");
  }
  if (!S_ISDIR(info.st_mode))
    return make_error(ErrorCode::kFailedPrecondition, fmt::format("{}: expected a directory", path.string()));
  if ((info.st_uid != uid || info.st_gid != gid) && ::lchown(path.c_str(), uid, gid) != 0)
    return io_error(path, "chown");
  if ((info.st_mode & 07777) != mode && ::chmod(path.c_str(), mode) != 0) return io_error(path, "chmod");
  return true;
}

Result<bool> give_to(const fs::path& path, uid_t uid, gid_t gid) {
  if (::lchown(path.c_str(), uid, gid) != 0) return io_error(path, "chown");
  return true;
}

std::optional<std::int64_t> read_generation(const fs::path& path) {
  auto content = read_file(path);
  if (!content) return std::nullopt;
  std::istringstream stream(content.value());
  std::int64_t generation = 0;
  if (!(stream >> generation)) return std::nullopt;
  return generation;
}

std::optional<model::Json> get_json(const std::string& url) {
  auto response = http_request("GET", url, {}, {}, kStatusTimeout);
  if (!response || response->body.empty()) return std::nullopt;
  model::Json parsed = model::Json::parse(response->body, nullptr, false);
  if (parsed.is_discarded() || !parsed.is_object()) return std::nullopt;
  return parsed;
}

std::string http_host(const std::string& address) {
  if (address.empty() || address == "0.0.0.0" || address == "*") return "127.0.0.1";
  if (address.find(':') != std::string::npos) return fmt::format("[{}]", address);
  return address;
}

HttpHeaders unsafe_request_headers(const InstancePlan& plan) {
  HttpHeaders headers = {{"Content-Type", "application/json"}};
  if (!plan.patroni_api_authorization.empty()) headers.emplace_back("Authorization", plan.patroni_api_authorization);
  return headers;
}

// Patroni's REST API as this agent reaches it (over TLS): the address it listens on, loopback for a wildcard.
std::string api_base_url(const config::InstanceLayout& layout) {
  return fmt::format("https://{}:{}", http_host(layout.host_address), layout.patroni_port);
}

}  // namespace

InstanceSupervisor::InstanceSupervisor(AgentSettings settings, std::string instance_key)
    : settings_(std::move(settings)),
      instance_key_(std::move(instance_key)),
      instance_dir_(settings_.state_dir / "instances" / instance_key_) {
  uid_ = ::geteuid();
  gid_ = ::getegid();
  passwd entry{};
  passwd* found = nullptr;
  std::vector<char> buffer(16384);
  if (::getpwnam_r(settings_.os_user.c_str(), &entry, buffer.data(), buffer.size(), &found) == 0 && found != nullptr) {
    uid_ = entry.pw_uid;
    gid_ = entry.pw_gid;
  }
}

InstanceSupervisor::~InstanceSupervisor() {
  if (restart_request_.valid()) {
    spdlog::info("{}: waiting for the restart request in flight", instance_key_);
    restart_request_.wait();
  }
}

void InstanceSupervisor::report_condition(std::optional<InstanceCondition> condition) {
  const bool changed =
      condition.has_value() != condition_.has_value() ||
      (condition && (condition->reason != condition_->reason || condition->failed != condition_->failed));
  if (changed && condition && condition->failed) {
    spdlog::warn("{}: {}", instance_key_, condition->reason);
  } else if (changed && condition) {
    spdlog::info("{}: {}", instance_key_, condition->reason);
  } else if (changed) {
    spdlog::info("{}: {}: resolved", instance_key_, condition_->reason);
  }
  condition_ = std::move(condition);
}

void InstanceSupervisor::hold(InstanceCondition condition, std::optional<AssignedPorts> ports) {
  if (ports) ports_ = *ports;
  if (condition.failed) ++reconcile_errors_;
  report_condition(std::move(condition));
  tick();
}

void InstanceSupervisor::tick_without_etcd() {
  if (!hold_demoted_leader()) tick();
}

bool InstanceSupervisor::hold_demoted_leader() {
  if (held_for_etcd_) return true;
  if (!patroni_ || !led_while_etcd_answered_ || patroni_->status().state != ProcessState::kRunning) return false;
  const auto patroni = get_json(patroni_url("/patroni"));
  // No answer is no proof of a demotion; failsafe mode keeps a primary that reaches every member.
  if (!patroni || patroni::is_writable_role(patroni->value("role", ""))) return false;
  spdlog::warn(
      "{}: etcd is out of reach and Patroni demoted this primary; stopping Patroni until etcd answers, so "
      "that it cannot take the leader key back from the member elected meanwhile (Patroni 3.0.2's "
      "unconditional leader-key write, patroni#2689)",
      instance_key_);
  record_event("Warning", "DemotedLeaderStopped",
               "etcd out of reach after this primary was demoted: Patroni stopped until etcd answers");
  if (auto stopped = patroni_->stop(); !stopped)
    spdlog::warn("{}: cannot stop Patroni: {}", instance_key_, stopped.error().message);
  held_for_etcd_ = true;
  led_while_etcd_answered_ = false;
  return true;
}

std::optional<DemotionGuard::Watched> InstanceSupervisor::guard_target() const {
  if (!patroni_ || held_for_etcd_) return std::nullopt;
  const ProcessStatus status = patroni_->status();
  if (status.state != ProcessState::kRunning || status.pid == 0) return std::nullopt;
  const auto identity = read_process_identity(status.pid);
  if (!identity) return std::nullopt;
  return DemotionGuard::Watched{patroni_url("/patroni"), *identity, patroni_->spec().stop_signal,
                                plan_ ? fs::path(plan_->layout.log_dir) / "patroni.log" : fs::path()};
}

void InstanceSupervisor::stopped_by_guard() {
  record_event("Warning", "DemotedLeaderStopped",
               "etcd out of reach after this primary was demoted: Patroni stopped until etcd answers");
  held_for_etcd_ = true;
  led_while_etcd_answered_ = false;
}

void InstanceSupervisor::tick() {
  if (patroni_ && !hold_crashed_primary()) patroni_->tick();
  if (pooler_stopped_for_crash_ && pgbouncer_ && postmaster_alive()) {
    pooler_stopped_for_crash_ = false;
    if (auto started = pgbouncer_->start(); !started.ok())
      spdlog::warn("{}: cannot start PgBouncer again: {}", instance_key_, started.error().message);
  }
  if (pgbouncer_) pgbouncer_->tick();
  if (exporter_) exporter_->tick();
}

void InstanceSupervisor::reconcile(const Assignment& assignment, const ClusterSecrets& secrets) {
  ports_ = assignment.ports;
  led_while_etcd_answered_ = was_primary_;
  if (held_for_etcd_ && patroni_) {
    // etcd answers: a new Patroni loads the cluster from it and follows whoever leads now.
    held_for_etcd_ = false;
    spdlog::info("{}: etcd answers again; starting Patroni, which follows the current leader", instance_key_);
    if (auto started = patroni_->start(); !started)
      spdlog::warn("{}: cannot start Patroni again: {}", instance_key_, started.error().message);
  }
  InstancePlan plan = plan_instance(assignment, secrets, settings_);
  const auto fail = [&](const Error& error) { hold(InstanceCondition{true, error.message}); };
  if (auto prepared = prepare_directories(plan); !prepared) return fail(prepared.error());
  auto tls = ensure_tls(plan);
  if (!tls) return fail(tls.error());
  auto changed = write_files(plan);
  if (!changed) return fail(changed.error());
  plan_ = std::move(plan);
  // Only daemons that ran before take a SIGHUP: one just spawned has no handler yet and would die of it.
  const bool patroni_was_running = patroni_ && patroni_->is_running();
  const bool pgbouncer_was_running = pgbouncer_ && pgbouncer_->is_running();
  if (auto patroni = ensure_patroni(*plan_, changed.value()); !patroni) return fail(patroni.error());
  if (auto pgbouncer = ensure_pgbouncer(*plan_, changed.value()); !pgbouncer) return fail(pgbouncer.error());
  // Metrics are not the data path: an exporter that cannot start is logged, the instance goes on.
  if (auto exporter = ensure_exporter(*plan_, changed.value()); !exporter)
    spdlog::warn("{}: postgres_exporter: {}", instance_key_, exporter.error().message);
  if (tls.value()) reload_tls(patroni_was_running, pgbouncer_was_running);
  report_condition(std::nullopt);
  ensure_restart_generation(assignment.restart_generation);
}

Result<bool> InstanceSupervisor::prepare_directories(const InstancePlan& plan) {
  const auto& layout = plan.layout;
  // The agent's own directories up to the instance; others (the OS user) must be able to traverse them.
  if (auto made = make_traversable_directories(plan.instance_dir.parent_path()); !made) return made;
  if (auto usable = check_traversable_by(plan.instance_dir.parent_path(), uid_, gid_, settings_.os_user); !usable)
    return usable;
  if (auto made = ensure_directory(plan.instance_dir, 0750, uid_, gid_); !made) return made;
  if (auto made = ensure_directory(layout.data_dir, 0700, uid_, gid_); !made) return made;
  if (auto made = ensure_directory(layout.config_dir, 0750, uid_, gid_); !made) return made;
  if (plan.backup) {
    const fs::path work = plan.backup->instance.work_dir;
    for (const fs::path& dir : {work, work / "log", work / "spool", work / "lock"}) {
      if (auto made = ensure_directory(dir, 0750, uid_, gid_); !made) return made;
    }
    if (!plan.backup->filesystem_repository.empty()) {
      // A broken repository fails backups (with the reason in their status), never the instance.
      const fs::path& repository = plan.backup->filesystem_repository;
      auto made = make_traversable_directories(repository.parent_path());
      if (made) made = ensure_directory(repository, 0750, uid_, gid_);
      if (!made && made.error().message != repository_error_)
        spdlog::warn("{}: backup repository: {}", instance_key_, made.error().message);
      repository_error_ = made ? std::string() : made.error().message;
    }
  }
  if (auto made = ensure_directory(layout.log_dir, 0750, uid_, gid_); !made) return made;
  const fs::path socket_dir = layout.socket_dir;
  if (auto made = make_traversable_directories(socket_dir.parent_path()); !made) return made;
  // In /tmp someone else could have made the parent first: it must be ours, and only ours to write.
  struct stat parent {};
  if (::lstat(socket_dir.parent_path().c_str(), &parent) != 0) return io_error(socket_dir.parent_path(), "inspect");
  if (!S_ISDIR(parent.st_mode) || parent.st_uid != ::geteuid() || (parent.st_mode & 022) != 0) {
    return make_error(ErrorCode::kFailedPrecondition,
                      fmt::format("{}: expected a directory owned by uid {} that only it can write",
                                  socket_dir.parent_path().string(), ::geteuid()));
  }
  return ensure_directory(socket_dir, 0700, uid_, gid_);
}

Result<bool> InstanceSupervisor::ensure_tls(const InstancePlan& plan) {
  // Also without postgres.ssl: Patroni's REST API and pgstack-proxy serve this certificate.
  if (auto made = ensure_directory(plan.tls_dir, 0700, uid_, gid_); !made) return made;
  const fs::path certificate = plan.tls_dir / "server.crt";
  const fs::path key = plan.tls_dir / "server.key";
  const fs::path ca_copy = plan.tls_dir / "ca.crt";  // what members verify each other with (replication)
  auto ca = pki::load_ca(pki::ca_files_in(settings_.ca_dir));
  if (!ca) return make_error(ca.error().code, "the CA: " + ca.error().message);
  // postgres.ssl.duration, else the agent's --certificate-lifetime; a change applies from the next renewal.
  const std::chrono::seconds lifetime = plan.cluster.ssl_duration.value_or(settings_.certificate_lifetime);
  const pki::LeafRequest wanted = server_certificate_request(plan.layout, lifetime);

  // Why the certificate must be (re)issued; empty: it is good.
  std::string reason;
  auto current = read_file(certificate);
  auto current_ca = read_file(ca_copy);
  if (!current || !fs::exists(key)) {
    reason = "there is none";
  } else if (!current_ca || current_ca.value() != ca->certificate_pem) {
    reason = "the CA changed";
  } else if (auto signed_by = pki::verify_signed_by(*current, ca->certificate_pem, pki::Clock::now());
             !signed_by || !signed_by.value()) {
    reason = "the CA did not sign it";
  } else if (auto info = pki::inspect_certificate(*current); !info) {
    reason = info.error().message;
  } else {
    reason = pki::renewal_reason(*info, wanted, pki::Clock::now());
  }
  if (reason.empty()) return false;

  auto issued = pki::issue_certificate(*ca, wanted);
  RETURN_IF_ERROR(issued);
  const pki::FileOwner owner{uid_, gid_};
  RETURN_IF_ERROR(pki::write_key_pair(*issued, certificate, key, owner));
  RETURN_IF_ERROR(pki::write_certificate(ca->certificate_pem, ca_copy, owner));
  spdlog::info("{}: issued its TLS certificate from the CA ({}), valid for {} s", instance_key_, reason,
               lifetime.count());
  return true;
}

void InstanceSupervisor::reload_tls(bool patroni_was_running, bool pgbouncer_was_running) {
  // All keep their connections: on SIGHUP Patroni serves its REST API with the new certificate (it
  // compares serial numbers) and reloads Postgres; PgBouncer loads its TLS files again.
  if (patroni_was_running && patroni_ && patroni_->status().state == ProcessState::kRunning) {
    if (patroni_->send_signal(SIGHUP))
      spdlog::info("{}: Patroni and Postgres reload the new certificate", instance_key_);
  }
  if (pgbouncer_was_running && pgbouncer_ && pgbouncer_->status().state == ProcessState::kRunning)
    (void)pgbouncer_->send_signal(SIGHUP);
}

Result<std::set<InstanceFile>> InstanceSupervisor::write_files(const InstancePlan& plan) {
  std::set<InstanceFile> changed;
  for (const auto& [which, file] : plan.files) {
    auto current = read_file(file.path);
    if (current && current.value() == file.content) {
      // Same content, older mode (pgbackrest.conf was 0644 before it could hold S3 keys): tighten it.
      std::error_code error;
      const auto mode = fs::status(file.path, error).permissions() & fs::perms::mask;
      if (!error && mode != file.permissions) fs::permissions(file.path, file.permissions, error);
      continue;
    }
    RETURN_IF_ERROR(write_file_atomically(file.path, file.content, file.permissions));
    RETURN_IF_ERROR(give_to(file.path, uid_, gid_));
    spdlog::info("{}: wrote {}", instance_key_, file.path.string());
    changed.insert(which);
  }
  return changed;
}

std::string InstanceSupervisor::patroni_url(std::string_view path) const { return patroni_api_ + std::string(path); }

Result<bool> InstanceSupervisor::ensure_patroni(const InstancePlan& plan, const std::set<InstanceFile>& changed) {
  const bool config_changed =
      changed.count(InstanceFile::kPatroniYaml) > 0 || changed.count(InstanceFile::kPostgresqlConf) > 0;
  const fs::path config_dir = plan.layout.config_dir;
  ProcessSpec spec;
  spec.name = fmt::format("patroni {}", instance_key_);
  spec.argv = {settings_.patroni_program, (config_dir / "patroni.yaml").string()};
  spec.environment = plan.patroni_environment;
  if (::geteuid() == 0) spec.run_as_user = settings_.os_user;
  spec.working_directory = config_dir;
  // Patroni logs to patroni.log itself (patroni.yaml log.dir, rotated by renaming); what it writes to
  // stdout and stderr before reading its configuration, or when it crashes, lands here.
  spec.log_file = fs::path(plan.layout.log_dir) / "patroni.stderr.log";
  spec.pid_file = config_dir / kPatroniPidFile;
  spec.stop_timeout = kPatroniStopTimeout;

  if (patroni_ && patroni_->spec().environment != spec.environment && !secrets_warned_) {
    secrets_warned_ = true;
    // Passwords reach Patroni only through its environment, at start; restarting Patroni would
    // restart Postgres, so that is left to an explicit restartGeneration.
    spdlog::warn("{}: the cluster's secrets changed; Patroni keeps the old ones until it is restarted", instance_key_);
  }
  if (!patroni_) {
    auto supervisor = std::make_unique<ProcessSupervisor>(spec);
    auto started = supervisor->start();
    RETURN_IF_ERROR(started);
    patroni_ = std::move(supervisor);
    patroni_api_ = api_base_url(plan.layout);
    // A Patroni that ran before this agent started may have an older configuration.
    if (started.value() == StartOutcome::kReattached && config_changed) reload_pending_ = true;
  } else {
    if (!hold_crashed_primary()) patroni_->tick();
    if (config_changed) reload_pending_ = true;
  }

  if (reload_pending_ && patroni_->status().state == ProcessState::kRunning) {
    auto reloaded = http_request("POST", patroni_url("/reload"), {}, unsafe_request_headers(plan), kReloadTimeout);
    if (!reloaded && patroni_api_.rfind("https://", 0) == 0) {
      // A Patroni started before its REST API had TLS serves plain http until this reload.
      reloaded = http_request("POST", "http://" + patroni_api_.substr(8) + "/reload", {}, unsafe_request_headers(plan),
                              kReloadTimeout);
    }
    if (reloaded && reloaded->status / 100 == 2) {
      spdlog::info("{}: Patroni reloads its configuration", instance_key_);
      reload_pending_ = false;
      patroni_api_ = api_base_url(plan.layout);  // where the REST API listens once reloaded
    } else {
      spdlog::debug("{}: POST /reload not accepted yet: {}", instance_key_,
                    reloaded ? fmt::format("HTTP {} {}", reloaded->status, reloaded->body) : reloaded.error().message);
    }
  }
  return true;
}

Result<bool> InstanceSupervisor::ensure_pgbouncer(const InstancePlan& plan, const std::set<InstanceFile>& changed) {
  const fs::path config_dir = plan.layout.config_dir;
  const fs::path pid_file = config_dir / kPgbouncerPidFile;
  if (!plan.pooling) {
    if (pgbouncer_) {
      RETURN_IF_ERROR(pgbouncer_->stop());
      pgbouncer_.reset();
    }
    stop_from_pid_file(fmt::format("pgbouncer {}", instance_key_), settings_.pgbouncer_program, pid_file,
                       kPgbouncerStopTimeout);
    return true;
  }
  const bool config_changed =
      changed.count(InstanceFile::kPgbouncerIni) > 0 || changed.count(InstanceFile::kPgbouncerAuth) > 0;
  // PgBouncer refuses to start while its own pid file names a live process, and after a reboot that
  // pid may belong to anything. When ours is not running, that file is stale by definition.
  const fs::path own_pid_file = fs::path(plan.layout.socket_dir) / "pgbouncer.pid";
  const bool will_spawn = pgbouncer_ ? pgbouncer_->status().state == ProcessState::kBackoff
                                     : !pid_file_names_live_process(pid_file, settings_.pgbouncer_program);
  if (will_spawn) {
    std::error_code ignored;
    fs::remove(own_pid_file, ignored);
  }
  if (!pgbouncer_) {
    ProcessSpec spec;
    spec.name = fmt::format("pgbouncer {}", instance_key_);
    // Not -d: ProcessSupervisor already detaches it and must know its pid. -q: it logs to its
    // logfile; stderr would only repeat every line.
    spec.argv = {settings_.pgbouncer_program, "-q", (config_dir / "pgbouncer.ini").string()};
    spec.environment = plan.pgbouncer_environment;
    if (::geteuid() == 0) spec.run_as_user = settings_.os_user;
    spec.working_directory = config_dir;
    spec.log_file = fs::path(plan.layout.log_dir) / "pgbouncer.stderr.log";
    spec.pid_file = pid_file;
    spec.stop_timeout = kPgbouncerStopTimeout;
    auto supervisor = std::make_unique<ProcessSupervisor>(spec);
    auto started = supervisor->start();
    RETURN_IF_ERROR(started);
    pgbouncer_ = std::move(supervisor);
    if (started.value() != StartOutcome::kReattached || !config_changed) return true;
  } else {
    pgbouncer_->tick();
    if (!config_changed) return true;
  }
  // PgBouncer re-reads pgbouncer.ini and the auth file on SIGHUP, keeping its clients.
  if (pgbouncer_->status().state == ProcessState::kRunning) {
    RETURN_IF_ERROR(pgbouncer_->send_signal(SIGHUP));
    spdlog::info("{}: PgBouncer reloads its configuration", instance_key_);
  }
  return true;
}

Result<bool> InstanceSupervisor::ensure_exporter(const InstancePlan& plan, const std::set<InstanceFile>& changed) {
  const fs::path config_dir = plan.layout.config_dir;
  const fs::path pid_file = config_dir / kExporterPidFile;
  const std::string name = fmt::format("postgres_exporter {}", instance_key_);
  const bool restart =
      exporter_ &&
      (changed.count(InstanceFile::kExporterQueries) > 0 || changed.count(InstanceFile::kExporterPassfile) > 0 ||
       changed.count(InstanceFile::kExporterWebConfig) > 0 || exporter_->spec().argv != plan.exporter_argv ||
       exporter_->spec().environment != plan.exporter_environment);
  if (!plan.metrics || restart) {
    if (exporter_) {
      RETURN_IF_ERROR(exporter_->stop());
      exporter_.reset();
    }
    if (!plan.metrics) {
      if (!settings_.exporter_program.empty())
        stop_from_pid_file(name, settings_.exporter_program, pid_file, kExporterStopTimeout);
      return true;
    }
  }
  if (exporter_) {
    exporter_->tick();
    return true;
  }
  ProcessSpec spec;
  spec.name = name;
  spec.argv = plan.exporter_argv;
  spec.environment = plan.exporter_environment;
  if (::geteuid() == 0) spec.run_as_user = settings_.os_user;
  spec.working_directory = config_dir;
  spec.log_file = fs::path(plan.layout.log_dir) / "exporter.log";
  spec.pid_file = pid_file;
  spec.stop_timeout = kExporterStopTimeout;
  auto supervisor = std::make_unique<ProcessSupervisor>(spec);
  auto started = supervisor->start();
  RETURN_IF_ERROR(started);
  // One from before an agent restart may run with other settings: it reads them only when it starts.
  if (started.value() == StartOutcome::kReattached && !changed.empty()) {
    RETURN_IF_ERROR(supervisor->stop());
    RETURN_IF_ERROR(supervisor->start());
  }
  exporter_ = std::move(supervisor);
  return true;
}

void InstanceSupervisor::ensure_restart_generation(std::int64_t generation) {
  const fs::path state_file = fs::path(plan_->layout.config_dir) / kRestartGenerationFile;
  if (restart_request_.valid()) {
    if (restart_request_.wait_for(milliseconds(0)) != std::future_status::ready) return;
    auto response = restart_request_.get();
    if (response && response->status / 100 == 2) {
      spdlog::info("{}: restarted for restartGeneration {}", instance_key_, requested_generation_);
      if (auto written = write_file_atomically(state_file, fmt::format("{}\n", requested_generation_)); !written)
        spdlog::warn("{}: {}", instance_key_, written.error().message);
    } else {
      spdlog::warn("{}: restart for restartGeneration {} failed: {}; retrying in {} s", instance_key_,
                   requested_generation_,
                   response ? fmt::format("HTTP {} {}", response->status, response->body) : response.error().message,
                   kRestartRetry.count());
      next_restart_attempt_ = SteadyClock::now() + kRestartRetry;
    }
    return;
  }
  const auto applied = read_generation(state_file);
  if (!applied) {
    // A new instance starts with what is asked; nothing to restart.
    if (auto written = write_file_atomically(state_file, fmt::format("{}\n", generation)); !written)
      spdlog::warn("{}: {}", instance_key_, written.error().message);
    return;
  }
  if (*applied == generation || SteadyClock::now() < next_restart_attempt_) return;
  if (!patroni_ || patroni_->status().state != ProcessState::kRunning) return;
  requested_generation_ = generation;
  spdlog::info("{}: restartGeneration {} -> {}: asking Patroni to restart Postgres", instance_key_, *applied,
               generation);
  restart_request_ =
      std::async(std::launch::async, [url = patroni_url("/restart"), headers = unsafe_request_headers(*plan_)] {
        return http_request("POST", url, "{}", headers, kRestartTimeout);
      });
}

void InstanceSupervisor::stop() {
  const fs::path config_dir = instance_dir_ / "config";
  bool stopped_any = false;
  for (auto* supervisor : {&exporter_, &pgbouncer_, &patroni_}) {
    if (!*supervisor) continue;
    stopped_any = stopped_any || (*supervisor)->status().state != ProcessState::kStopped;
    if (auto stopped = (*supervisor)->stop(); !stopped) spdlog::warn("{}: {}", instance_key_, stopped.error().message);
    supervisor->reset();
  }
  // Daemons from before this agent started (or that it could not re-attach to yet).
  if (!settings_.exporter_program.empty())
    stop_from_pid_file(fmt::format("postgres_exporter {}", instance_key_), settings_.exporter_program,
                       config_dir / kExporterPidFile, kExporterStopTimeout);
  stopped_any |= stop_from_pid_file(fmt::format("pgbouncer {}", instance_key_), settings_.pgbouncer_program,
                                    config_dir / kPgbouncerPidFile, kPgbouncerStopTimeout);
  stopped_any |= stop_from_pid_file(fmt::format("patroni {}", instance_key_), settings_.patroni_program,
                                    config_dir / kPatroniPidFile, kPatroniStopTimeout);
  reload_pending_ = false;
  if (stopped_any) {
    spdlog::info("{}: stopped; its data stays in {}", instance_key_, (instance_dir_ / "data").string());
  }
}

void InstanceSupervisor::stop_unassigned() {
  stop();
  // Patroni stops its Postgres when it exits, but not always: after a drain the old primary's postmaster
  // outlived it, kept its port, and the member placed next on that port slot could not start.
  if (!postmaster_alive()) return;
  CommandOptions options;
  if (::geteuid() == 0) options.run_as_user = settings_.os_user;
  auto stopped = run_command(
      {plan_->layout.bin_dir + "/pg_ctl", "stop", "-D", plan_->layout.data_dir, "-m", "fast", "-t", "60"}, options);
  if (!stopped || stopped->exit_code != 0 || postmaster_alive()) {
    spdlog::warn("{}: its Postgres still runs after Patroni stopped, and pg_ctl stop -m fast did not stop it",
                 instance_key_);
  } else {
    spdlog::info("{}: its Postgres outlived Patroni; stopped it (fast shutdown)", instance_key_);
  }
}

bool InstanceSupervisor::postmaster_alive() const {
  if (!plan_) return false;
  std::ifstream file(fs::path(plan_->layout.data_dir) / "postmaster.pid");
  long pid = 0;
  if (!(file >> pid) || pid <= 1) return false;
  // A killed postmaster stays a zombie until init reaps it: that is dead too.
  return read_process_identity(static_cast<pid_t>(pid)).has_value();
}

bool InstanceSupervisor::hold_crashed_primary() {
  // 10 s for a replica to take the leader key, 30 s for it to finish promoting: if none could, the
  // old primary must come back.
  constexpr auto kLongestHold = std::chrono::seconds(10);
  constexpr auto kLongestPromotion = std::chrono::seconds(30);
  if (!patroni_ || patroni_->is_running()) {
    crash_hold_until_.reset();
    return false;
  }
  if (!crash_hold_until_) {
    if (!was_primary_ || postmaster_alive() || !leader_key_.release_if_mine) return false;
    was_primary_ = false;
    crash_hold_until_ = std::chrono::steady_clock::now() + kLongestHold;
    promotion_wait_extended_ = false;
    if (leader_key_.release_if_mine()) {
      spdlog::warn("{}: the primary's Patroni and Postgres died; released the leader key so a replica takes over",
                   instance_key_);
    }
    stop_pooler_while_postgres_is_down();
  }
  // Patroni checks whether it must rewind against a leader that runs as primary; restarted while the
  // new leader is still promoting, it skips the check and starts Postgres on its diverged history.
  if (std::chrono::steady_clock::now() >= *crash_hold_until_ ||
      (leader_key_.promoted_elsewhere && leader_key_.promoted_elsewhere())) {
    crash_hold_until_ = std::chrono::steady_clock::time_point::min();  // done waiting; keep until Patroni runs
    return false;
  }
  if (!promotion_wait_extended_ && leader_key_.held_by_another && leader_key_.held_by_another()) {
    promotion_wait_extended_ = true;  // a replica took over: wait for its promotion, not only its key
    crash_hold_until_ = std::chrono::steady_clock::now() + kLongestPromotion;
  }
  return *crash_hold_until_ != std::chrono::steady_clock::time_point::min();
}

void InstanceSupervisor::stop_pooler_while_postgres_is_down() {
  // A client of the read-write connection string would wait in this PgBouncer (its auth_query cannot
  // reach Postgres, and it retries) instead of libpq trying the next host at once: refused, it does.
  if (!pgbouncer_ || pgbouncer_->status().state != ProcessState::kRunning) return;
  if (auto stopped = pgbouncer_->stop(); !stopped.ok()) {
    spdlog::warn("{}: cannot stop PgBouncer while Postgres is down: {}", instance_key_, stopped.error().message);
    return;
  }
  pooler_stopped_for_crash_ = true;
  spdlog::info("{}: PgBouncer stopped until Postgres runs again, so that clients try the other members", instance_key_);
}

void InstanceSupervisor::restart_pooler() {
  pooler_stopped_for_crash_ = false;
  if (!pgbouncer_) return;
  if (auto stopped = pgbouncer_->stop(); !stopped.ok())
    spdlog::warn("{}: cannot stop PgBouncer: {}", instance_key_, stopped.error().message);
  if (auto started = pgbouncer_->start(); !started.ok())
    spdlog::warn("{}: cannot start PgBouncer again: {}", instance_key_, started.error().message);
}

void InstanceSupervisor::record_event(std::string type, std::string reason, std::string message) {
  events_.push_back({{"at", utc_timestamp_now()},
                     {"type", std::move(type)},
                     {"reason", std::move(reason)},
                     {"message", std::move(message)}});
  if (events_.size() > kEventsKept) events_.erase(events_.begin());
}

std::vector<model::Json> InstanceSupervisor::wal_set_aside_events() const {
  constexpr auto kInterval = std::chrono::seconds(5);
  if (!plan_ || !plan_->backup) return {};
  const auto now = SteadyClock::now();
  if (now - wal_set_aside_checked_ < kInterval) return wal_set_aside_;
  wal_set_aside_checked_ = now;
  wal_set_aside_.clear();
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(config::wal_set_aside_dir(plan_->backup->instance), error)) {
    if (entry.path().extension() != ".json") continue;
    auto text = read_file(entry.path());
    if (!text) continue;
    const model::Json record = model::Json::parse(text.value(), nullptr, false);
    if (!record.is_object()) continue;
    const bool conflict = record.value("outcome", "") == "conflict";
    wal_set_aside_.push_back(
        {{"at", record.value("at", "")},
         {"type", conflict ? "Warning" : "Normal"},
         {"reason", conflict ? "WalArchiveConflict" : "WalSetAside"},
         {"message", fmt::format("{}: {} ({}); this member's copy is kept at {}", record.value("segment", ""),
                                 record.value("outcome", ""), record.value("reason", ""), record.value("copy", ""))}});
  }
  // The newest few: the set-aside directory keeps every record.
  std::sort(wal_set_aside_.begin(), wal_set_aside_.end(),
            [](const model::Json& a, const model::Json& b) { return a.value("at", "") < b.value("at", ""); });
  if (wal_set_aside_.size() > kEventsKept)
    wal_set_aside_.erase(wal_set_aside_.begin(), wal_set_aside_.end() - static_cast<std::ptrdiff_t>(kEventsKept));
  return wal_set_aside_;
}

bool InstanceSupervisor::copy_in_progress() const {
  if (!plan_) return false;
  const std::string data_dir = plan_->layout.data_dir;
  std::error_code error;
  for (const auto& entry : fs::directory_iterator("/proc", error)) {
    const std::string pid = entry.path().filename().string();
    if (pid.find_first_not_of("0123456789") != std::string::npos) continue;
    auto cmdline = read_file(entry.path() / "cmdline");
    if (!cmdline) continue;
    std::string text = cmdline.value();
    std::replace(text.begin(), text.end(), '\0', ' ');
    const bool copier = text.find("pg_rewind") != std::string::npos || text.find("pg_basebackup") != std::string::npos;
    if (copier && text.find(data_dir) != std::string::npos) return true;
  }
  return false;
}

int InstanceSupervisor::copies_kept_aside() const {
  int count = 0;
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(instance_dir_, error)) {
    if (entry.path().filename().string().starts_with(kDivergedCopyPrefix)) ++count;
  }
  return count;
}

Result<fs::path> InstanceSupervisor::rebuild_from_primary() {
  if (!plan_ || !patroni_) return make_error(ErrorCode::kFailedPrecondition, "the instance is not running here");
  RETURN_IF_ERROR(patroni_->stop());
  const fs::path data_dir = plan_->layout.data_dir;
  if (postmaster_alive()) {
    // Patroni left Postgres running (it could not stop it): nothing is served from this history.
    CommandOptions options;
    if (::geteuid() == 0) options.run_as_user = settings_.os_user;
    auto stopped =
        run_command({plan_->layout.bin_dir + "/pg_ctl", "stop", "-D", data_dir.string(), "-m", "immediate"}, options);
    if (!stopped || stopped->exit_code != 0 || postmaster_alive()) {
      (void)patroni_->start();
      return make_error(ErrorCode::kUnavailable, "Postgres does not stop; the data directory stays where it is");
    }
  }
  const std::string stamp = [] {
    std::string text = utc_timestamp_now();
    text.erase(std::remove_if(text.begin(), text.end(), [](char c) { return c == '-' || c == ':'; }), text.end());
    return text;
  }();
  const fs::path kept = instance_dir_ / (std::string(kDivergedCopyPrefix) + stamp);
  std::error_code error;
  fs::rename(data_dir, kept, error);
  if (error) {
    (void)patroni_->start();
    return make_error(ErrorCode::kUnavailable,
                      fmt::format("cannot move {} to {}: {}", data_dir.string(), kept.string(), error.message()));
  }
  RETURN_IF_ERROR(ensure_directory(data_dir, 0700, uid_, gid_));
  RETURN_IF_ERROR(patroni_->start());
  return kept;
}

void InstanceSupervisor::watch_rejoin(const ReportInput& observed, const model::InstanceReport& report) {
  if (!plan_ || !patroni_) return;
  RejoinObservation facts;
  facts.is_primary = report.patroni && report.patroni->role == "primary";
  facts.streaming = report.patroni && report.patroni->state == "streaming";
  if (observed.leader && observed.leader->is_object()) {
    const std::string leader_role = observed.leader->value("role", "");
    facts.leader_elsewhere =
        (leader_role == "master" || leader_role == "primary") && observed.leader->value("state", "") == "running";
  }
  if (rebuilt_at_ && facts.streaming) {
    const auto took = std::chrono::duration_cast<std::chrono::seconds>(SteadyClock::now() - *rebuilt_at_);
    record_event("Normal", "RebuiltMemberStreams",
                 fmt::format("streams from the primary again, {} s after its rebuild began", took.count()));
    rebuilt_at_.reset();
  }
  if (!facts.is_primary && !facts.streaming) {
    facts.evidence = divergence_in(plan_->layout.log_dir);
    if (facts.evidence) {
      facts.copy_in_progress = copy_in_progress();
      facts.copies_kept = copies_kept_aside();
    }
  }
  const RejoinDecision decision = decide_rejoin(facts, rejoin_, SteadyClock::now());
  switch (decision.step) {
    case RejoinStep::kNone:
      if (rejoin_status_ && !rebuilt_at_) rejoin_status_.reset();
      if (rebuilt_at_ && facts.is_primary) rebuilt_at_.reset();
      return;
    case RejoinStep::kWatch:
      if (!rebuilt_at_) rejoin_status_ = model::Json{{"state", "diverged"}, {"reason", decision.reason}};
      return;
    case RejoinStep::kNeedsPerson:
      if (!rejoin_status_ || rejoin_status_->value("state", "") != "needsAttention") {
        spdlog::error("{}: cannot follow the primary and is not rebuilt: {}", instance_key_, decision.reason);
        record_event("Warning", "DivergedMemberNeedsAttention", decision.reason);
      }
      rejoin_status_ = model::Json{{"state", "needsAttention"}, {"reason", decision.reason}};
      return;
    case RejoinStep::kRebuild: break;
  }
  spdlog::warn("{}: cannot follow the primary ({}); rebuilding it from the primary", instance_key_, decision.reason);
  rejoin_.last_rebuild = SteadyClock::now();
  rejoin_.stuck_since.reset();
  auto kept = rebuild_from_primary();
  if (!kept) {
    spdlog::error("{}: rebuild failed: {}", instance_key_, kept.error().message);
    record_event("Warning", "RebuildFailed", fmt::format("{}; {}", decision.reason, kept.error().message));
    rejoin_status_ = model::Json{{"state", "rebuildFailed"}, {"reason", kept.error().message}};
    return;
  }
  const std::string message = fmt::format(
      "{}; its data directory was moved to {} and it is copied anew from the primary", decision.reason, kept->string());
  spdlog::warn("{}: {}", instance_key_, message);
  record_event("Warning", "RebuildingDivergedMember", message);
  rebuilt_at_ = SteadyClock::now();
  rejoin_status_ = model::Json{{"state", "rebuilding"}, {"reason", message}, {"keptAt", kept->string()}};
}

ReportInput InstanceSupervisor::observe(const std::string& host_name, LeaderStatusCache& leaders) const {
  ReportInput input;
  const auto slash = instance_key_.rfind('/');
  input.member = instance_key_.substr(slash + 1);
  input.host = host_name;
  input.now = std::chrono::system_clock::now();
  input.condition = condition_;
  input.ports = ports_;
  if (plan_) input.pooling = plan_->pooling;
  if (plan_) input.backup_problem = plan_->backup_problem;
  input.rejoin = rejoin_status_;
  input.extensions = extensions_;
  input.events = events_;
  for (auto& event : wal_set_aside_events()) input.events.push_back(std::move(event));
  if (patroni_) input.patroni_process = patroni_->status();
  if (pgbouncer_) input.pgbouncer_process = pgbouncer_->status();
  if (plan_ && patroni_ && patroni_->status().state == ProcessState::kBackoff && plan_->cluster.restore &&
      !fs::exists(fs::path(plan_->layout.data_dir) / "PG_VERSION")) {
    // Patroni gives up on a failed custom bootstrap (and moves the data aside): the reason is in Postgres' log.
    input.restoring_backup = plan_->cluster.restore->backup;
    input.startup_failure = last_startup_failure_in(plan_->layout.log_dir);
  }
  if (!plan_ || !patroni_ || patroni_->status().state != ProcessState::kRunning) return input;

  input.patroni = get_json(patroni_url("/patroni"));
  if (!input.patroni) return input;
  const std::string role = input.patroni->value("role", "");
  if (role == "master" || role == "primary") {
    input.archiver = observe_archiver();
    ensure_monitor_role();
    return input;
  }
  archiver_.reset();               // a replica does not archive; a promotion starts afresh
  monitor_role_password_.clear();  // a later promotion makes sure again
  input.cluster = get_json(patroni_url("/cluster"));
  if (!input.cluster) return input;
  if (auto leader = leader_api_url(*input.cluster)) {
    const std::string url = patroni::status_url(*leader);
    auto cached = leaders.find(url);
    if (cached == leaders.end()) cached = leaders.emplace(url, get_json(url)).first;
    input.leader = cached->second;
  }
  return input;
}

InstanceMetricsInput InstanceSupervisor::metrics_input() const {
  InstanceMetricsInput input;
  const auto first = instance_key_.find('/');
  const auto second = instance_key_.find('/', first + 1);
  input.namespace_name = instance_key_.substr(0, first);
  input.cluster = instance_key_.substr(first + 1, second - first - 1);
  input.member = instance_key_.substr(second + 1);
  if (patroni_) input.processes["patroni"] = patroni_->status();
  if (pgbouncer_) input.processes["pgbouncer"] = pgbouncer_->status();
  if (exporter_) input.processes["postgres_exporter"] = exporter_->status();
  input.reconcile_failing = condition_ && condition_->failed;
  input.reconcile_errors = reconcile_errors_;
  input.archiver = archiver_;
  if (plan_ && plan_->pooling) input.pgbouncer_show = observe_pgbouncer();
  return input;
}

std::string InstanceSupervisor::observe_pgbouncer() const {
  constexpr auto kPgbouncerInterval = std::chrono::seconds(5);
  const auto now = SteadyClock::now();
  if (now - pgbouncer_checked_ < kPgbouncerInterval) return pgbouncer_show_;
  pgbouncer_checked_ = now;
  pgbouncer_show_.clear();
  if (!pgbouncer_ || pgbouncer_->status().state != ProcessState::kRunning) return pgbouncer_show_;
  CommandOptions options;
  if (::geteuid() == 0) options.run_as_user = settings_.os_user;
  options.extra_environment = {{"PGCONNECT_TIMEOUT", "3"}};
  auto answer = run_command({plan_->layout.bin_dir + "/psql",
                             "-X",
                             "-A",
                             "-q",
                             "-F",
                             "|",
                             "-P",
                             "footer=off",
                             "-h",
                             plan_->layout.socket_dir,
                             "-p",
                             std::to_string(plan_->layout.pgbouncer_port),
                             "-U",
                             "pgbouncer",
                             "-d",
                             "pgbouncer",
                             "-c",
                             "SHOW POOLS",
                             "-c",
                             "SHOW STATS",
                             "-c",
                             "SHOW LISTS"},
                            options);
  if (answer.ok() && answer->exit_code == 0) pgbouncer_show_ = answer->standard_output;
  return pgbouncer_show_;
}

void InstanceSupervisor::ensure_monitor_role() const {
  if (!plan_ || !plan_->metrics) return;
  const auto user = plan_->patroni_environment.find(std::string(kMonitorUserVariable));
  const auto password = plan_->patroni_environment.find(std::string(kMonitorPasswordVariable));
  if (user == plan_->patroni_environment.end() || password == plan_->patroni_environment.end() ||
      user->second.empty() || password->second == monitor_role_password_)
    return;
  CommandOptions options;
  if (::geteuid() == 0) options.run_as_user = settings_.os_user;
  // Names and password reach psql through its environment, never its command line.
  options.extra_environment = {{"PGCONNECT_TIMEOUT", "3"},
                               {"PGOPTIONS", "-c statement_timeout=3000"},
                               {std::string(kMonitorUserVariable), user->second},
                               {std::string(kMonitorPasswordVariable), password->second}};
  options.standard_input = monitor_role_sql();
  auto answer = run_command({plan_->layout.bin_dir + "/psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h",
                             plan_->layout.socket_dir, "-p", std::to_string(plan_->layout.postgres_port), "-U",
                             plan_->cluster.credentials.superuser_name, "-d", "postgres", "-f", "-"},
                            options);
  if (!answer.ok() || answer->exit_code != 0) {
    spdlog::warn("{}: cannot make sure of the monitoring role {} (tried again on the next report): {}", instance_key_,
                 user->second, answer.ok() ? trim(answer->standard_error) : answer.error().message);
    return;
  }
  monitor_role_password_ = password->second;
}

std::optional<model::Json> InstanceSupervisor::observe_archiver() const {
  constexpr auto kArchiverInterval = std::chrono::seconds(10);
  if (!plan_ || !plan_->backup || !plan_->backup->archiving) return std::nullopt;
  const auto now = SteadyClock::now();
  if (archiver_ && now - archiver_checked_ < kArchiverInterval) return archiver_;
  archiver_checked_ = now;
  // Times as UTC with microseconds, so that "failed after the last success" is a string comparison.
  static constexpr const char* kQuery =
      "SELECT json_build_object('archived_count', archived_count, 'last_archived_wal', last_archived_wal, "
      "'last_archived_time', to_char(last_archived_time AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), "
      "'failed_count', failed_count, 'last_failed_wal', last_failed_wal, "
      "'last_failed_time', to_char(last_failed_time AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')) "
      "FROM pg_stat_archiver";
  const auto& server = plan_->backup->instance;
  CommandOptions options;
  if (::geteuid() == 0) options.run_as_user = settings_.os_user;
  // The agent loop waits for this: never longer than a few seconds, whatever Postgres does.
  options.extra_environment = {{"PGCONNECT_TIMEOUT", "3"}, {"PGOPTIONS", "-c statement_timeout=3000"}};
  auto answer =
      run_command({plan_->layout.bin_dir + "/psql", "-X", "-A", "-t", "-q", "-h", server.socket_dir, "-p",
                   std::to_string(server.postgres_port), "-U", server.superuser, "-d", "postgres", "-c", kQuery},
                  options);
  if (!answer.ok() || answer->exit_code != 0) return archiver_;  // keep the last answer; the next round asks again
  try {
    archiver_ = model::Json::parse(answer->standard_output);
  } catch (const std::exception&) {
    return archiver_;
  }
  if (auto disk = repository_disk(*plan_->backup)) (*archiver_)["repository_disk"] = *disk;
  // Asynchronous archive-push leaves why a segment failed in its spool (<wal>.error: code, message).
  const auto failed_wal = archiver_->find("last_failed_wal");
  if (failed_wal != archiver_->end() && failed_wal->is_string()) {
    const fs::path error_file = fs::path(server.work_dir) / "spool" / "archive" / server.stanza / "out" /
                                (failed_wal->get<std::string>() + ".error");
    if (auto text = read_file(error_file); text.ok()) {
      std::string message = text.value();
      for (char& c : message) c = c == '\n' ? ' ' : c;
      while (!message.empty() && message.back() == ' ') message.pop_back();
      (*archiver_)["last_failed_message"] = message.substr(0, 1000);
    }
  }
  return archiver_;
}

}  // namespace pgstack::agent
