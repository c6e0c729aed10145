#include "agent/instance_plan.h"

#include <algorithm>
#include <cstdint>

#include <fmt/format.h>
#include <sys/statvfs.h>

#include "agent/bootstrap_sql.h"
#include "common/http_client.h"
#include "common/shell_quote.h"
#include "config/render_exporter.h"
#include "config/render_patroni.h"
#include "config/render_pgbouncer.h"
#include "config/tuning.h"

namespace pgstack::agent {
namespace {

// sun_path holds 108 bytes including the terminating NUL.
constexpr std::size_t kMaxSocketPath = 107;
// "/.s.PGSQL.65535" (Postgres) is longer than PgBouncer's socket name with the same port.
constexpr std::size_t kSocketNameLength = 15;

std::uint64_t fnv1a(std::string_view text) {
  std::uint64_t hash = 14695981039346656037ULL;
  for (const char c : text) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 1099511628211ULL;
  }
  return hash;
}

std::filesystem::path instance_dir_for(const std::filesystem::path& state_dir, const Assignment& assignment) {
  return state_dir / "instances" / assignment.namespace_name / assignment.cluster_name / assignment.member;
}

}  // namespace

std::string etcd_host_port(std::string_view url) {
  if (const auto scheme = url.find("://"); scheme != std::string_view::npos) url.remove_prefix(scheme + 3);
  if (const auto slash = url.find('/'); slash != std::string_view::npos) url = url.substr(0, slash);
  return std::string(url);
}

std::vector<std::string> own_etcd_member_first(std::vector<std::string> host_ports, std::string_view host_address) {
  const auto on_this_host = [&](const std::string& host_port) {
    const auto colon = host_port.rfind(':');
    std::string_view host = std::string_view(host_port).substr(0, colon);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    return host == host_address;
  };
  std::stable_partition(host_ports.begin(), host_ports.end(), on_this_host);
  return host_ports;
}

std::filesystem::path socket_dir_for(const std::filesystem::path& state_dir, const Assignment& assignment,
                                     uid_t socket_owner_uid) {
  // Namespaces have no '.', so "<ns>.<member>" cannot collide between namespaces.
  std::filesystem::path preferred =
      state_dir / "run" / fmt::format("{}.{}", assignment.namespace_name, assignment.member);
  if (preferred.string().size() + kSocketNameLength <= kMaxSocketPath) return preferred;
  const std::string identity = instance_dir_for(state_dir, assignment).string();
  return std::filesystem::path(fmt::format("/tmp/pgstack-{}", socket_owner_uid)) /
         fmt::format("{:016x}", fnv1a(identity));
}

config::InstanceLayout instance_layout_for(const Assignment& assignment, const AgentSettings& settings) {
  config::InstanceLayout layout =
      config::default_instance_layout(assignment.cluster, assignment.index, assignment.postgres_major);
  layout.member_index = assignment.index;
  layout.member_name = assignment.member;
  layout.host_address = settings.address;
  layout.postgres_port = assignment.ports.postgres;
  layout.pgbouncer_port = assignment.ports.pgbouncer;
  layout.patroni_port = assignment.ports.patroni;
  layout.exporter_port = assignment.ports.exporter;
  const std::filesystem::path instance_dir = instance_dir_for(settings.state_dir, assignment);
  layout.data_dir = (instance_dir / "data").string();
  layout.config_dir = (instance_dir / "config").string();
  layout.log_dir = (instance_dir / "log").string();
  layout.socket_dir = socket_dir_for(settings.state_dir, assignment, settings.socket_owner_uid).string();
  layout.etcd_endpoints.clear();
  for (const auto& endpoint : settings.etcd_endpoints) {
    layout.etcd_endpoints.push_back(etcd_host_port(endpoint));
    if (endpoint.rfind("https://", 0) == 0) layout.etcd_tls = true;
  }
  layout.etcd_endpoints = own_etcd_member_first(std::move(layout.etcd_endpoints), settings.address);
  layout.etcd_prefix = settings.etcd_prefix;
  layout.os_user = settings.os_user;
  layout.post_bootstrap_script = (instance_dir / "config" / "post_bootstrap.sh").string();
  return layout;
}

std::string pgbouncer_auth_file(const Credential& authenticator) {
  auto quoted = [](const std::string& text) {
    std::string result = "\"";
    for (const char c : text) result += c == '"' ? std::string("\"\"") : std::string(1, c);
    return result + "\"";
  };
  return fmt::format("{} {}\n", quoted(authenticator.username), quoted(authenticator.password));
}

namespace {

// Which of the instance's files a repository's pgbackrest.conf and its credential files are.
struct PgbackrestFiles {
  InstanceFile conf, ca, gcs_key;
};
constexpr PgbackrestFiles kOwnRepositoryFiles{InstanceFile::kPgbackrestConf, InstanceFile::kPgbackrestCa,
                                              InstanceFile::kPgbackrestGcsKey};
constexpr PgbackrestFiles kRestoreSourceFiles{InstanceFile::kPgbackrestRestoreConf, InstanceFile::kPgbackrestRestoreCa,
                                              InstanceFile::kPgbackrestRestoreGcsKey};

// pgbackrest.conf (and the CA and GCS key files next to it) for `repository`. An object store's
// credentials come from the Secrets its storage refers to; unresolved, the file goes without them
// (pgBackRest then fails and says so; archiving keeps the WAL in pg_wal until they exist, where
// /bin/true would drop it) and the returned problem names the Secret and the key.
std::string plan_pgbackrest_files(config::BackupRepository& repository, const config::PgbackrestInstance& instance,
                                  const ClusterSecrets& secrets, const PgbackrestFiles& files, InstancePlan& plan) {
  std::string problem;
  auto resolved = config::resolve_storage_credentials(repository.storage, secrets.storage_secrets);
  if (resolved) {
    repository.credentials = std::move(resolved).value();
  } else {
    problem = resolved.error().message;
  }
  // Owner-only like pgbackrest.conf, whose name they share: pgbackrest-ca.crt, pgbackrest-restore-gcs-key.json.
  const std::filesystem::path conf_path = instance.config_path;
  const auto credential_file = [&](InstanceFile which, const std::string& suffix, const std::string& content) {
    std::string path = (conf_path.parent_path() / conf_path.stem()).string() + suffix;
    plan.files[which] = {path, content, std::filesystem::perms(0600)};
    return path;
  };
  if (repository.credentials && !repository.credentials->ca_certificate.empty())
    repository.ca_file = credential_file(files.ca, "-ca.crt", repository.credentials->ca_certificate);
  if (repository.credentials && !repository.credentials->service_account_json.empty())
    repository.gcs_key_file =
        credential_file(files.gcs_key, "-gcs-key.json", repository.credentials->service_account_json);
  // Owner-only: the keys are in it (the agent gives it to the OS user that runs pgBackRest).
  plan.files[files.conf] = {instance.config_path, config::render_pgbackrest_conf(repository, instance),
                            std::filesystem::perms(0600)};
  return problem;
}

// pgBackRest's files and commands for the instance: its own repository when the cluster has backups
// (WAL archiving on), the source's when it is restored from a backup (the first member's bootstrap).
void plan_backup(const Assignment& assignment, const ClusterSecrets& secrets, const AgentSettings& settings,
                 InstancePlan& plan) {
  const int cpus = std::max<int>(1, static_cast<int>(assignment.profile.cpu_millicores / 1000));
  const std::filesystem::path config_dir = plan.layout.config_dir;
  config::PgbackrestInstance instance;
  instance.stanza = config::stanza_name(assignment.namespace_name, assignment.cluster_name);
  instance.config_path = (config_dir / "pgbackrest.conf").string();
  instance.data_dir = plan.layout.data_dir;
  instance.socket_dir = plan.layout.socket_dir;
  instance.postgres_port = plan.layout.postgres_port;
  instance.superuser = plan.cluster.credentials.superuser_name;
  instance.work_dir = (plan.instance_dir / "pgbackrest").string();
  instance.process_max =
      plan.cluster.backup && plan.cluster.backup->process_max > 0 ? plan.cluster.backup->process_max : cpus;

  std::optional<config::BackupRepository> repository;
  bool archiving = false;
  if (plan.cluster.backup) {
    if (!assignment.object_storage) {
      plan.backup_problem =
          fmt::format("SGObjectStorage {} is not known yet: WAL is not archived", plan.cluster.backup->object_storage);
    } else if (auto own = config::backup_repository_for(plan.cluster, *assignment.object_storage)) {
      repository = std::move(own).value();
      archiving = true;
    } else {
      plan.backup_problem = own.error().message;
    }
  }
  std::optional<config::BackupRepository> source;
  if (assignment.restore) {
    if (auto found = config::backup_repository_at(assignment.restore->storage, assignment.restore->path)) {
      source = std::move(found).value();
    } else {
      plan.backup_problem = "restore: " + found.error().message;
    }
  }
  if (!repository) repository = source;
  if (!repository) return;

  const std::string problem = plan_pgbackrest_files(*repository, instance, secrets, kOwnRepositoryFiles, plan);
  if (!problem.empty()) plan.backup_problem = problem;
  BackupPlan backup{*repository, instance, archiving, {}};
  if (repository->storage.type == "filesystem") backup.filesystem_repository = repository->path;
  if (archiving) plan.layout.archive_command = config::archive_push_command(instance, settings.wal_push_program);

  if (source) {
    // Only the data directory of the first primary is restored; replicas copy the new primary. The
    // source has a file of its own: pgBackRest takes S3 keys only from a file, and the source's may
    // not be this cluster's.
    const RestoreAssignment& restore = *assignment.restore;
    config::PgbackrestInstance from = instance;
    from.stanza = restore.stanza;
    from.config_path = (config_dir / "pgbackrest-restore.conf").string();
    const std::string source_problem = plan_pgbackrest_files(*source, from, secrets, kRestoreSourceFiles, plan);
    if (!source_problem.empty()) plan.backup_problem = "restore: " + source_problem;
    const std::string restore_command =
        shell_command(config::pgbackrest_argv(from.config_path, from.stanza, {"archive-get"})) + " %f \"%p\"";
    std::vector<std::string> arguments = {"--set=" + restore.label};
    for (auto& option : config::recovery_target_options(restore.target)) arguments.push_back(std::move(option));
    const int restore_processes = plan.cluster.backup && plan.cluster.backup->restore_process_max > 0
                                      ? plan.cluster.backup->restore_process_max
                                      : cpus;
    arguments.push_back(fmt::format("--process-max={}", restore_processes));
    arguments.push_back("--recovery-option=restore_command=" + restore_command);
    arguments.emplace_back("restore");
    plan.layout.restore_bootstrap_command =
        shell_command(config::pgbackrest_argv(from.config_path, from.stanza, arguments));
  }
  plan.backup = std::move(backup);
}

}  // namespace

config::ProxyLayout proxy_layout_for(const Assignment& assignment, const AgentSettings& settings) {
  config::ProxyLayout layout;
  layout.cluster = assignment.cluster_name;
  layout.namespace_name = assignment.namespace_name;
  layout.etcd_endpoints = settings.etcd_endpoints;
  layout.etcd_prefix = settings.etcd_prefix;
  layout.listen_address = settings.address;
  if (assignment.proxy) {
    layout.read_write_port = assignment.proxy->read_write;
    layout.read_only_port = assignment.proxy->read_only;
    layout.admin_port = assignment.proxy->admin;
  }
  layout.pooling = !assignment.cluster.disable_connection_pooling;
  layout.pgbouncer_offset = assignment.ports.pgbouncer - assignment.ports.postgres;
  if (assignment.cluster.proxy_pooling) {
    config::ProxyPool pool;
    // What PgBouncer would get, shared by the proxies of every host with a member (each pools to the primary).
    const config::TuningInput tuning = config::tuning_input_for(
        assignment.cluster, assignment.profile, assignment.postgres_config ? &*assignment.postgres_config : nullptr,
        assignment.postgres_major);
    pool.pool_size =
        std::max(1, config::pgbouncer_pool_budget(tuning).connections / std::max(1, assignment.cluster.instances));
    if (assignment.pooling_config) {
      config::apply_pooling_settings(assignment.pooling_config->pgbouncer, pool, layout.ignored_pool_settings);
      config::apply_pooling_entries(assignment.pooling_config->databases, assignment.pooling_config->users, pool,
                                    layout.ignored_pool_settings);
    }
    pool.auth_user = assignment.cluster.credentials.authenticator_name;  // the secrets' name, set by the agent
    pool.auth_password_file =
        (settings.state_dir / "proxies" / assignment.namespace_name / assignment.cluster_name / "auth-password")
            .string();
    layout.pool = pool;
  }
  const auto tls_dir = instance_dir_for(settings.state_dir, assignment) / "config" / "tls";
  layout.tls_certificate = (tls_dir / "server.crt").string();
  layout.tls_private_key = (tls_dir / "server.key").string();
  if (!settings.ca_dir.empty()) layout.ca_file = pki::ca_files_in(settings.ca_dir).certificate.string();
  // The proxy shows etcd the instance's certificate (its usage includes clientAuth).
  layout.client_certificate = *layout.tls_certificate;
  layout.client_private_key = *layout.tls_private_key;
  return layout;
}

pki::LeafRequest server_certificate_request(const config::InstanceLayout& layout, std::chrono::seconds lifetime) {
  pki::LeafRequest request{
      layout.member_name, {layout.member_name, "localhost"}, {"127.0.0.1"}, pki::Usage::kServerAndClient, lifetime};
  const std::string& address = layout.host_address;
  if (!address.empty() && address != "127.0.0.1" && address != "0.0.0.0" && address != "*" && address != "::") {
    auto& names = pki::is_ip_address(address) ? request.ip_addresses : request.dns_names;
    if (std::find(names.begin(), names.end(), address) == names.end()) names.push_back(address);
  }
  return request;
}

InstancePlan plan_instance(const Assignment& assignment, const ClusterSecrets& secrets, const AgentSettings& settings) {
  InstancePlan plan;
  plan.cluster = assignment.cluster;
  // The secrets name the users whose passwords they hold; the renderers must use the same names.
  plan.cluster.credentials.superuser_name = secrets.superuser.username;
  plan.cluster.credentials.replication_name = secrets.replication.username;
  plan.cluster.credentials.authenticator_name = secrets.authenticator.username;
  plan.pooling = !plan.cluster.disable_connection_pooling;
  plan.layout = instance_layout_for(assignment, settings);
  plan.instance_dir = instance_dir_for(settings.state_dir, assignment);
  plan.tls_dir = std::filesystem::path(plan.layout.config_dir) / "tls";

  plan_backup(assignment, secrets, settings, plan);

  const config::TuningInput tuning = config::tuning_input_for(
      plan.cluster, assignment.profile, assignment.postgres_config ? &*assignment.postgres_config : nullptr,
      assignment.postgres_major);
  const auto parameters = config::tune_postgres_parameters(tuning);
  const std::filesystem::path config_dir = plan.layout.config_dir;

  plan.files[InstanceFile::kPostgresqlConf] = {
      config_dir / "postgresql.conf",
      config::render_postgresql_conf(plan.cluster, assignment.profile, plan.layout, parameters),
      std::filesystem::perms(0644)};
  plan.files[InstanceFile::kPatroniYaml] = {config_dir / "patroni.yaml",
                                            config::render_patroni_yaml(plan.cluster, plan.layout, parameters),
                                            std::filesystem::perms(0644)};
  plan.files[InstanceFile::kPostBootstrap] = {plan.layout.post_bootstrap_script,
                                              post_bootstrap_script(plan.layout.bin_dir + "/psql"),
                                              std::filesystem::perms(0700)};
  if (plan.pooling) {
    const model::PoolingConfig* pooling = assignment.pooling_config ? &*assignment.pooling_config : nullptr;
    plan.files[InstanceFile::kPgbouncerIni] = {
        config_dir / "pgbouncer.ini",
        config::render_pgbouncer_ini(plan.cluster, pooling, plan.layout, config::pgbouncer_pool_budget(tuning)),
        std::filesystem::perms(0644)};
    plan.files[InstanceFile::kPgbouncerAuth] = {config::pgbouncer_auth_file_path(plan.layout),
                                                pgbouncer_auth_file(secrets.authenticator),
                                                std::filesystem::perms(0600)};
  }

  const std::map<std::string, std::string> base = {
      {"PATH", "/usr/local/bin:/usr/bin:/bin"},
      {"HOME", settings.os_user_home},
      {"USER", settings.os_user},
      {"LOGNAME", settings.os_user},
      {"LC_ALL", "C.UTF-8"},
      {"LANG", "C.UTF-8"},
  };
  plan.patroni_environment = base;
  plan.patroni_environment["PATRONI_SUPERUSER_PASSWORD"] = secrets.superuser.password;
  plan.patroni_environment["PATRONI_REPLICATION_PASSWORD"] = secrets.replication.password;
  plan.patroni_environment["PATRONI_REWIND_PASSWORD"] = secrets.rewind.password;
  plan.patroni_environment[std::string(kAuthenticatorUserVariable)] = secrets.authenticator.username;
  plan.patroni_environment[std::string(kAuthenticatorPasswordVariable)] = secrets.authenticator.password;
  plan.patroni_environment[std::string(kAppUserVariable)] = secrets.application.username;
  plan.patroni_environment[std::string(kAppPasswordVariable)] = secrets.application.password;
  plan.patroni_environment[std::string(kAppDatabaseVariable)] = secrets.application_database;
  plan.patroni_environment[std::string(kMonitorUserVariable)] = secrets.monitor.username;
  plan.patroni_environment[std::string(kMonitorPasswordVariable)] = secrets.monitor.password;
  if (!secrets.restapi.username.empty()) {
    plan.patroni_environment["PATRONI_RESTAPI_USERNAME"] = secrets.restapi.username;
    plan.patroni_environment["PATRONI_RESTAPI_PASSWORD"] = secrets.restapi.password;
    plan.patroni_api_authorization = basic_authorization(secrets.restapi.username, secrets.restapi.password);
  }
  plan.pgbouncer_environment = base;

  plan.metrics = !plan.cluster.disable_metrics && plan.layout.exporter_port != 0 && !secrets.monitor.username.empty() &&
                 !settings.exporter_program.empty();
  if (plan.metrics) {
    const std::filesystem::path queries = config_dir / "exporter-queries.yaml";
    const std::filesystem::path passfile = config_dir / "exporter.pgpass";
    plan.files[InstanceFile::kExporterQueries] = {queries, config::render_exporter_queries(),
                                                  std::filesystem::perms(0644)};
    plan.files[InstanceFile::kExporterPassfile] = {
        passfile, config::exporter_passfile(secrets.monitor.username, secrets.monitor.password),
        std::filesystem::perms(0600)};
    // The application's database, where the user tables whose vacuum state it reports are.
    const std::string database =
        secrets.application_database.empty() ? std::string("postgres") : secrets.application_database;
    plan.exporter_argv = {settings.exporter_program};
    for (auto& argument : config::exporter_arguments(plan.layout, queries.string()))
      plan.exporter_argv.push_back(std::move(argument));
    if (monitoring::listener_needs_auth(config::exporter_listen_address(plan.layout), settings.metrics_auth)) {
      if (settings.scrape_credential) {
        const std::filesystem::path web_config = config_dir / "exporter-web.yml";
        plan.files[InstanceFile::kExporterWebConfig] = {
            web_config, monitoring::render_exporter_web_config(*settings.scrape_credential),
            std::filesystem::perms(0600)};
        plan.exporter_argv.push_back("--web.config.file=" + web_config.string());
      } else {
        // Off loopback without the credential it would answer anyone: no exporter rather than an open one.
        plan.metrics = false;
        plan.exporter_argv.clear();
        return plan;
      }
    }
    plan.exporter_environment = base;
    plan.exporter_environment["DATA_SOURCE_NAME"] =
        config::exporter_data_source(plan.layout, secrets.monitor.username, database);
    plan.exporter_environment["PGPASSFILE"] = passfile.string();
  }
  return plan;
}

std::optional<model::Json> repository_disk(const BackupPlan& plan) {
  if (plan.filesystem_repository.empty()) return std::nullopt;
  std::error_code error;
  std::filesystem::path path = plan.filesystem_repository;
  while (!path.empty() && !std::filesystem::exists(path, error) && path != path.root_path()) path = path.parent_path();
  struct statvfs disk {};
  if (path.empty() || ::statvfs(path.c_str(), &disk) != 0) return std::nullopt;
  const auto unit = static_cast<std::uint64_t>(disk.f_frsize);
  return model::Json{{"path", plan.filesystem_repository.string()},
                     {"freeBytes", static_cast<std::uint64_t>(disk.f_bavail) * unit},
                     {"totalBytes", static_cast<std::uint64_t>(disk.f_blocks) * unit}};
}

}  // namespace pgstack::agent
