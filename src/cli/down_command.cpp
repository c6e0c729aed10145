// pgstack down [--purge] [--yes]: stops what `pgstack up` started on this machine: the controller,
// the agent, the instances the agent runs (PgBouncer, Patroni and with it Postgres), Prometheus and
// Alertmanager, and the managed etcd. Data stays unless --purge, which deletes the whole state dir after confirmation.
//
// Processes are found by their pid files ("<pid>\n<starttime>\n", as ProcessSupervisor writes them),
// so a recycled pid is never signalled. The agent goes first: it would restart the daemons it supervises.
#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <optional>
#include <signal.h>
#include <thread>
#include <unistd.h>

#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/local_stack.h"
#include "cli/output.h"
#include "common/files.h"
#include "common/http_client.h"
#include "common/pki.h"
#include "common/strings.h"
#include "host/huge_page_pool.h"
#include "model/document.h"
#include "process/process_supervisor.h"
#include "store/etcd_client.h"

namespace pgstack::cli {

namespace {

using Clock = std::chrono::steady_clock;

struct StopTarget {
  std::string name;
  std::filesystem::path pid_file;
  ProcessIdentity identity;
};

// The process a pid file names, if it still runs. Pid files without a start time (Postgres'
// postmaster.pid) are trusted only when /proc says the process runs `expected_program`.
std::optional<ProcessIdentity> running_process(const std::filesystem::path& pid_file,
                                               std::string_view expected_program = {}) {
  const auto content = read_file(pid_file);
  if (!content) return std::nullopt;
  const auto lines = split(*content, '\n');
  if (lines.empty()) return std::nullopt;
  char* end = nullptr;
  const long pid = std::strtol(lines[0].c_str(), &end, 10);
  if (end == lines[0].c_str() || pid <= 0) return std::nullopt;
  const auto live = read_process_identity(static_cast<pid_t>(pid));
  if (!live) return std::nullopt;
  if (lines.size() > 1) {
    const std::string recorded = trim(lines[1]);
    if (!recorded.empty() && std::all_of(recorded.begin(), recorded.end(), ::isdigit))
      return std::to_string(live->start_time) == recorded ? live : std::nullopt;
  }
  if (expected_program.empty()) return std::nullopt;
  const auto comm = read_file(fmt::format("/proc/{}/comm", pid));
  if (!comm || trim(*comm).find(expected_program) == std::string::npos) return std::nullopt;
  return live;
}

// Signals every target, waits up to `timeout` for all of them, then SIGKILLs the rest.
void stop_all(const std::vector<StopTarget>& targets, int signal, std::chrono::seconds timeout, bool remove_pid_files) {
  for (const auto& target : targets) {
    std::cerr << fmt::format("stopping {} (pid {})\n", target.name, target.identity.pid);
    if (is_alive(target.identity)) ::kill(target.identity.pid, signal);
  }
  const auto all_gone = [&targets] {
    return std::none_of(targets.begin(), targets.end(), [](const StopTarget& t) { return is_alive(t.identity); });
  };
  const auto deadline = Clock::now() + timeout;
  while (!all_gone() && Clock::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  for (const auto& target : targets) {
    if (is_alive(target.identity)) {
      std::cerr << fmt::format("{} (pid {}) still runs {} s after the signal: killing it\n", target.name,
                               target.identity.pid, timeout.count());
      ::kill(target.identity.pid, SIGKILL);
    }
  }
  const auto kill_deadline = Clock::now() + std::chrono::seconds(5);
  while (!all_gone() && Clock::now() < kill_deadline) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  if (!remove_pid_files) return;
  std::error_code ignored;
  for (const auto& target : targets)
    if (!is_alive(target.identity)) std::filesystem::remove(target.pid_file, ignored);
}

std::vector<StopTarget> from_pid_file(const std::string& name, const std::filesystem::path& pid_file) {
  if (auto identity = running_process(pid_file)) return {{name, pid_file, *identity}};
  return {};
}

// The daemons the agent started (PgBouncer, Patroni) and, separately, any Postgres still running.
void find_instance_processes(const std::filesystem::path& agent_dir, std::vector<StopTarget>& daemons,
                             std::vector<StopTarget>& postmasters) {
  std::error_code error;
  if (!std::filesystem::is_directory(agent_dir, error)) return;
  auto it = std::filesystem::recursive_directory_iterator(
      agent_dir, std::filesystem::directory_options::skip_permission_denied, error);
  for (; !error && it != std::filesystem::recursive_directory_iterator(); it.increment(error)) {
    const auto& path = it->path();
    if (path.extension() != ".pid" || !it->is_regular_file(error)) continue;
    const std::string label = fmt::format("{} ({})", path.stem().string(),
                                          std::filesystem::relative(path.parent_path(), agent_dir, error).string());
    if (path.filename() == "postmaster.pid") {
      if (auto identity = running_process(path, "postgres")) postmasters.push_back({label, {}, *identity});
      continue;
    }
    // Daemons that write their own pid file (pid only) are recognised by name.
    for (const std::string_view program :
         {std::string_view(), std::string_view("pgbouncer"), std::string_view("patroni")}) {
      const auto identity = running_process(path, program);
      if (!identity) continue;
      // PgBouncer's own pid file and the supervisor's name the same process.
      const bool known = std::any_of(daemons.begin(), daemons.end(),
                                     [&identity](const StopTarget& target) { return target.identity == *identity; });
      if (!known) daemons.push_back({label, path, *identity});
      break;
    }
  }
}

// Postmasters, daemons and servers still running from under the state dir (their command line
// names it), e.g. a Postgres that Patroni was starting while it was told to stop. Backends do not
// name the data dir, so only each postmaster is found.
std::vector<StopTarget> processes_running_from(const std::filesystem::path& state_dir) {
  std::vector<StopTarget> out;
  const std::string needle = state_dir.lexically_normal().string() + "/";
  std::error_code error;
  for (auto it = std::filesystem::directory_iterator("/proc", error);
       !error && it != std::filesystem::directory_iterator(); it.increment(error)) {
    const std::string name = it->path().filename().string();
    if (name.empty() || !std::all_of(name.begin(), name.end(), ::isdigit)) continue;
    const auto pid = static_cast<pid_t>(std::stol(name));
    if (pid == ::getpid()) continue;
    auto cmdline = read_file(it->path() / "cmdline");
    if (!cmdline) continue;
    std::replace(cmdline.value().begin(), cmdline.value().end(), '\0', ' ');
    if (cmdline->find(needle) == std::string::npos) continue;
    const auto comm = read_file(it->path() / "comm");
    const std::string program = comm ? trim(*comm) : std::string();
    const bool ours = program == "postgres" || program == "patroni" || program == "pgbouncer" || program == "etcd" ||
                      program.starts_with("pgstack-");
    if (!ours) continue;
    if (auto identity = read_process_identity(pid)) out.push_back({program, {}, *identity});
  }
  return out;
}

// Removes this host's member from the etcd cluster, through the other members; says so when it cannot.
void leave_etcd_cluster(const LocalStack& stack, const UpSettings& settings) {
  set_tls_client_files({pki::ca_files_in(stack.pki_dir()).certificate.string(), (stack.pki_dir() / "etcd.crt").string(),
                        (stack.pki_dir() / "etcd.key").string()});
  std::vector<std::string> others = split(settings.etcd_url, ',');
  if (!others.empty()) others.erase(others.begin());  // the first is this member's own
  const store::EtcdClient etcd(others);
  auto members = etcd.member_list();
  std::string failure = members ? std::string() : members.error().message;
  std::string removed_id;
  if (members) {
    for (const auto& member : *members) {
      if (member.name != settings.etcd_member_name) continue;
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
      if (auto removed = retry_while_etcd_settles([&] { return etcd.member_remove(member.id); }, deadline); removed) {
        removed_id = member.id;
      } else {
        failure = removed.error().message;
      }
    }
    if (removed_id.empty() && failure.empty()) failure = "no member is named " + settings.etcd_member_name;
  }
  if (failure.empty()) {
    std::cerr << fmt::format("etcd member {} ({}) left the etcd cluster\n", settings.etcd_member_name, removed_id);
  } else {
    std::cerr << fmt::format(
        "warning: etcd member {} could not leave the etcd cluster: {}; remove it from another host (etcdctl member "
        "remove ID) so that it no longer counts for quorum\n",
        settings.etcd_member_name, failure);
  }
}

}  // namespace

void add_down_command(CLI::App& app, ExitStatus& status) {
  struct Options {
    std::string state_dir;
    bool purge = false;
    bool yes = false;
  };
  auto options = std::make_shared<Options>();
  CLI::App* command = app.add_subcommand("down", "Stop what pgstack up started; keeps the data unless --purge");
  command->add_option("--state-dir", options->state_dir, "The state dir pgstack up used (same default)")
      ->type_name("DIR");
  command->add_flag("--purge", options->purge, "Also delete the state dir: every database, WAL and log in it");
  command->add_flag("-y,--yes", options->yes, "Do not ask before --purge (required without a terminal)");
  command->callback([options, &status] {
    // Absolute: the daemons run with the state dir as their working directory.
    const auto chosen = options->state_dir.empty() ? default_state_dir() : std::filesystem::path(options->state_dir);
    const LocalStack stack{std::filesystem::absolute(chosen).lexically_normal()};
    std::error_code error;
    if (!std::filesystem::exists(stack.state_dir, error)) {
      std::cerr << fmt::format("nothing to stop: {} does not exist\n", stack.state_dir.string());
      status.code = 0;
      return;
    }
    UpSettings settings;
    if (auto content = read_file(stack.settings_file())) {
      const auto json = model::Json::parse(*content, nullptr, /*allow_exceptions=*/false);
      if (json.is_object()) settings = UpSettings::from_json(json);
    }
    const bool manage_etcd = settings.manage_etcd;
    // Asked before stopping anything: a "no" leaves everything as it was.
    if (options->purge) {
      const auto confirmed =
          confirm(fmt::format("delete {} with every database in it?", stack.state_dir.string()), options->yes);
      if (!confirmed) {
        status.code = report_error("down", confirmed.error());
        return;
      }
      if (!*confirmed) {
        std::cerr << "nothing was stopped or deleted\n";
        status.code = 1;
        return;
      }
    }

    // Monitoring first: Prometheus would only record the rest going down as failed scrapes.
    stop_all(from_pid_file("prometheus", stack.pid_file("prometheus")), SIGTERM, std::chrono::seconds(30), true);
    stop_all(from_pid_file("alertmanager", stack.pid_file("alertmanager")), SIGTERM, std::chrono::seconds(15), true);
    stop_all(from_pid_file("pgstack-agent", stack.pid_file("agent")), SIGTERM, std::chrono::seconds(30), true);
    stop_all(from_pid_file("pgstack-controller", stack.pid_file("controller")), SIGTERM, std::chrono::seconds(15),
             true);
    std::vector<StopTarget> daemons;
    std::vector<StopTarget> postmasters;
    find_instance_processes(stack.agent_dir(), daemons, postmasters);
    // Patroni stops its Postgres on SIGTERM (and needs etcd meanwhile to hand over its leader key).
    stop_all(daemons, SIGTERM, std::chrono::seconds(90), true);
    // Looked for after Patroni is gone: one may have been starting its Postgres while told to stop.
    daemons.clear();
    postmasters.clear();
    find_instance_processes(stack.agent_dir(), daemons, postmasters);
    stop_all(daemons, SIGTERM, std::chrono::seconds(30), true);
    stop_all(postmasters, SIGINT, std::chrono::seconds(60), false);  // SIGINT: Postgres' fast shutdown
    // Anything else still running from the state dir: Postgres gets a fast shutdown, the rest SIGTERM.
    std::vector<StopTarget> stray_servers;
    std::vector<StopTarget> stray_postgres;
    for (auto& process : processes_running_from(stack.state_dir)) {
      if (process.name == "etcd" && manage_etcd) continue;  // stopped last, below
      std::cerr << fmt::format("{} (pid {}) still runs from {}\n", process.name, process.identity.pid,
                               stack.state_dir.string());
      (process.name == "postgres" ? stray_postgres : stray_servers).push_back(std::move(process));
    }
    stop_all(stray_servers, SIGTERM, std::chrono::seconds(30), false);
    stop_all(stray_postgres, SIGINT, std::chrono::seconds(60), false);
    // The huge pages the agent reserved for its instances (agent/huge_pages.h) go back to the host.
    const auto pool =
        host::restore_huge_pages(host::kHugePagesSysfsDir, (stack.agent_dir() / host::kHugePagesBaselineFile).string());
    if (!pool) {
      std::cerr << fmt::format("cannot give the host's huge pages back: {}\n", pool.error().message);
    } else if (*pool) {
      std::cout << fmt::format("gave the host's huge pages back: its 2MiB pool went from {} to {} pages\n",
                               (*pool)->first, (*pool)->second);
    }
    // A joined host's etcd member leaves the etcd cluster before its data goes: a member that is gone for
    // good but still counted would make every later quorum need one more of the others.
    if (options->purge && manage_etcd && !settings.etcd_initial_cluster.empty()) leave_etcd_cluster(stack, settings);
    if (manage_etcd) stop_all(from_pid_file("etcd", stack.pid_file("etcd")), SIGTERM, std::chrono::seconds(15), true);

    if (options->purge) {
      std::filesystem::remove_all(stack.state_dir, error);
      if (error) {
        status.code = report_error(
            "down", make_error(ErrorCode::kUnavailable,
                               fmt::format("cannot delete {}: {}", stack.state_dir.string(), error.message())));
        return;
      }
      std::cout << fmt::format("pgstack is down; deleted {}\n", stack.state_dir.string());
      if (!manage_etcd)
        std::cerr << "note: the resources stay in the external etcd (--etcd); delete them with pgstack delete first\n";
    } else {
      std::cout << fmt::format("pgstack is down; the data stays in {} (pgstack up starts it again)\n",
                               stack.state_dir.string());
    }
    status.code = 0;
  });
}

}  // namespace pgstack::cli
