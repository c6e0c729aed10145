#include "config/render_pgbackrest.h"

#include <algorithm>

#include <fmt/format.h>

#include "common/strings.h"

namespace pgstack::config {

namespace {

std::string trimmed_path(std::string path) {
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  return path;
}

// https://host:port -> (host, port)
std::pair<std::string, std::string> endpoint_host_port(std::string endpoint) {
  for (const char* scheme : {"https://", "http://"}) {
    if (endpoint.rfind(scheme, 0) == 0) endpoint = endpoint.substr(std::string(scheme).size());
  }
  while (!endpoint.empty() && endpoint.back() == '/') endpoint.pop_back();
  const auto colon = endpoint.rfind(':');
  if (colon == std::string::npos || endpoint.find(']') > colon && endpoint.find(']') != std::string::npos)
    return {endpoint, ""};
  return {endpoint.substr(0, colon), endpoint.substr(colon + 1)};
}

bool has_line_break(std::string_view value) { return value.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos; }

// One "<secret>/<key>" reference of `storage` at `field` (its path in the spec), looked up.
Result<std::string> resolve_reference(const model::ObjectStorage& storage, const std::string& field,
                                      const std::string& reference, const SecretValues& secrets) {
  const std::string where = fmt::format("SGObjectStorage {}: spec.{}.{}", storage.name, storage.type, field);
  const auto slash = reference.find('/');
  if (reference.empty() || slash == std::string::npos || slash == 0 || slash + 1 == reference.size())
    return make_error(ErrorCode::kInvalidInput, where + ": expected a Secret name and key");
  const std::string secret = reference.substr(0, slash);
  const std::string key = reference.substr(slash + 1);
  const auto found = secrets.find(secret);
  if (found == secrets.end())
    return make_error(ErrorCode::kNotFound,
                      fmt::format("{} refers to Secret \"{}\", which does not exist in the storage's namespace", where, secret));
  const auto value = found->second.find(key);
  if (value == found->second.end()) {
    std::vector<std::string> keys;
    for (const auto& [name, ignored] : found->second) keys.push_back(name);
    return make_error(ErrorCode::kNotFound,
                      fmt::format("{} refers to key \"{}\" of Secret \"{}\", which has no such key (its keys: {})", where,
                                  key, secret, keys.empty() ? std::string("none") : fmt::format("{}", fmt::join(keys, ", "))));
  }
  return value->second;
}

}  // namespace

std::vector<std::string> referenced_secrets(const model::ObjectStorage& storage) {
  std::vector<std::string> names;
  for (const std::string* reference : {&storage.access_key_ref, &storage.secret_key_ref, &storage.ca_certificate_ref}) {
    const std::string name = reference->substr(0, reference->find('/'));
    if (!name.empty() && std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
  }
  return names;
}

Result<std::optional<StorageCredentials>> resolve_storage_credentials(const model::ObjectStorage& storage,
                                                                      const SecretValues& secrets) {
  if (storage.type != "s3" && storage.type != "s3Compatible") return std::optional<StorageCredentials>();
  StorageCredentials credentials;
  const std::pair<const std::string*, std::string*> keys[] = {{&storage.access_key_ref, &credentials.access_key},
                                                              {&storage.secret_key_ref, &credentials.secret_key}};
  const char* fields[] = {"awsCredentials.secretKeySelectors.accessKeyId",
                          "awsCredentials.secretKeySelectors.secretAccessKey"};
  for (std::size_t i = 0; i < 2; ++i) {
    auto value = resolve_reference(storage, fields[i], *keys[i].first, secrets);
    if (!value) return value.error();
    // Each is one line of pgbackrest.conf: a line break would end it (and could add options).
    if (value->empty() || has_line_break(*value))
      return make_error(ErrorCode::kInvalidInput,
                        fmt::format("SGObjectStorage {}: spec.{}.{}: the value of Secret key {} is empty or has a "
                                    "line break; expected the key on one line",
                                    storage.name, storage.type, fields[i], *keys[i].first));
    *keys[i].second = std::move(value).value();
  }
  if (!storage.ca_certificate_ref.empty()) {
    auto value = resolve_reference(storage, "caCertificate", storage.ca_certificate_ref, secrets);
    if (!value) return value.error();
    if (value->find("-----BEGIN CERTIFICATE-----") == std::string::npos)
      return make_error(ErrorCode::kInvalidInput,
                        fmt::format("SGObjectStorage {}: spec.{}.caCertificate: Secret key {} does not hold a PEM "
                                    "certificate (-----BEGIN CERTIFICATE-----)",
                                    storage.name, storage.type, storage.ca_certificate_ref));
    credentials.ca_certificate = std::move(value).value();
  }
  return std::optional<StorageCredentials>(std::move(credentials));
}

std::string stanza_name(const std::string& namespace_name, const std::string& cluster) {
  return namespace_name + "-" + cluster;
}

std::string pgbackrest_compression(const std::string& name) {
  if (name == "zstd") return "zst";
  if (name == "gzip") return "gz";
  return name;  // lz4, none
}

Result<BackupRepository> backup_repository_at(const model::ObjectStorage& storage, const std::string& path) {
  BackupRepository repository;
  repository.storage = storage;
  repository.path_in_storage = path;
  const std::string where = fmt::format("SGObjectStorage {}", storage.name);
  if (storage.type == "filesystem") {
    if (storage.filesystem_path.empty() || storage.filesystem_path.front() != '/')
      return make_error(ErrorCode::kInvalidInput, where + ": spec.filesystem.path: expected an absolute directory");
    repository.path = trimmed_path(storage.filesystem_path) + "/" + path;
  } else if (storage.type == "s3" || storage.type == "s3Compatible") {
    if (storage.bucket.empty()) return make_error(ErrorCode::kInvalidInput, where + ": bucket: required");
    repository.path = "/" + path;
  } else {
    return make_error(ErrorCode::kInvalidInput,
                      fmt::format("{}: spec.type: {} storage is not supported by this pgstack yet; expected "
                                  "filesystem, s3 or s3Compatible",
                                  where, storage.type));
  }
  return repository;
}

Result<BackupRepository> backup_repository_for(const model::Cluster& cluster, const model::ObjectStorage& storage) {
  if (!cluster.backup) return make_error(ErrorCode::kInvalidInput, "the cluster has no spec.configurations.backups");
  std::string path = cluster.backup->path;
  while (!path.empty() && path.front() == '/') path.erase(0, 1);
  if (path.empty()) path = cluster.namespace_name + "/" + cluster.name;
  auto found = backup_repository_at(storage, trimmed_path(path));
  if (!found) return found.error();
  BackupRepository repository = std::move(found).value();
  repository.retention_full = cluster.backup->retention;
  repository.compression = cluster.backup->compression;
  return repository;
}

std::vector<std::pair<std::string, std::string>> repository_options(const BackupRepository& repository) {
  const model::ObjectStorage& storage = repository.storage;
  std::vector<std::pair<std::string, std::string>> out;
  if (storage.type == "filesystem") {
    out.emplace_back("repo1-type", "posix");
  } else {
    out.emplace_back("repo1-type", "s3");
    out.emplace_back("repo1-s3-bucket", storage.bucket);
    out.emplace_back("repo1-s3-region", storage.region.empty() ? "us-east-1" : storage.region);
    if (storage.type == "s3Compatible" && !storage.endpoint.empty()) {
      const auto [host, port] = endpoint_host_port(storage.endpoint);
      out.emplace_back("repo1-s3-endpoint", host);
      if (!port.empty()) out.emplace_back("repo1-storage-port", port);
    } else {
      out.emplace_back("repo1-s3-endpoint", "s3.amazonaws.com");
    }
    if (storage.path_style) out.emplace_back("repo1-s3-uri-style", "path");
  }
  out.emplace_back("repo1-path", repository.path);
  return out;
}

std::string render_pgbackrest_conf(const BackupRepository& repository, const PgbackrestInstance& instance) {
  std::string out = "# pgBackRest for this instance, written by pgstack-agent: edits are overwritten.\n[global]\n";
  for (const auto& [key, value] : repository_options(repository)) out += fmt::format("{}={}\n", key, value);
  if (repository.credentials) {
    out += fmt::format("repo1-s3-key={}\n", repository.credentials->access_key);
    out += fmt::format("repo1-s3-key-secret={}\n", repository.credentials->secret_key);
    if (!repository.credentials->ca_certificate.empty() && !repository.ca_file.empty())
      out += fmt::format("repo1-storage-ca-file={}\n", repository.ca_file);
  }
  out += fmt::format("repo1-retention-full={}\n", repository.retention_full);
  out += fmt::format("compress-type={}\n", pgbackrest_compression(repository.compression));
  out += fmt::format("process-max={}\n", std::max(1, instance.process_max));
  // Asynchronous archiving: Postgres hands WAL over and pgBackRest pushes it in parallel.
  out += "archive-async=y\n";
  out += fmt::format("spool-path={}/spool\n", instance.work_dir);
  out += fmt::format("lock-path={}/lock\n", instance.work_dir);
  out += fmt::format("log-path={}/log\n", instance.work_dir);
  out += "log-level-file=info\nlog-level-console=warn\nlog-level-stderr=warn\n";
  out += "start-fast=y\n";  // a backup starts with an immediate checkpoint, not a spread one
  out += fmt::format("\n[{}]\n", instance.stanza);
  out += fmt::format("pg1-path={}\n", instance.data_dir);
  out += fmt::format("pg1-port={}\n", instance.postgres_port);
  out += fmt::format("pg1-socket-path={}\n", instance.socket_dir);
  out += fmt::format("pg1-user={}\n", instance.superuser);
  return out;
}

std::vector<std::string> pgbackrest_argv(const std::string& config_path, const std::string& stanza,
                                         const std::vector<std::string>& arguments) {
  std::vector<std::string> argv = {"pgbackrest", "--config=" + config_path, "--stanza=" + stanza};
  argv.insert(argv.end(), arguments.begin(), arguments.end());
  return argv;
}

std::string shell_command(const std::vector<std::string>& argv) {
  std::string out;
  for (const auto& word : argv) {
    if (!out.empty()) out += ' ';
    const bool plain = !word.empty() && word.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                                               "0123456789-_./=:,%@+") == std::string::npos;
    if (plain) {
      out += word;
    } else {
      std::string quoted = "'";
      for (char c : word) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
      out += quoted + "'";
    }
  }
  return out;
}

std::string archive_push_command(const PgbackrestInstance& instance) {
  return shell_command(pgbackrest_argv(instance.config_path, instance.stanza, {"archive-push"})) + " \"%p\"";
}

std::vector<std::string> recovery_target_options(const model::RestoreSource& source) {
  std::vector<std::string> out;
  if (source.target_time) {
    // Postgres' recovery_target_time refuses ISO 8601's 'T' and 'Z': "2026-11-24 05:39:09.604+00".
    std::string time = *source.target_time;
    if (const auto t = time.find('T'); t != std::string::npos) time[t] = ' ';
    if (!time.empty() && (time.back() == 'Z' || time.back() == 'z')) time = time.substr(0, time.size() - 1) + "+00";
    out = {"--type=time", "--target=" + time};
  } else if (source.target_lsn) {
    out = {"--type=lsn", "--target=" + *source.target_lsn};
  } else if (source.target_xid) {
    out = {"--type=xid", "--target=" + *source.target_xid};
  } else if (source.target_name) {
    out = {"--type=name", "--target=" + *source.target_name};
  } else {
    return {"--type=default"};
  }
  if (!source.target_inclusive) out.push_back("--target-exclusive");
  out.push_back("--target-action=promote");
  return out;
}

bool repository_nearly_full(const model::Json& disk) {
  return disk.is_object() && disk.contains("freeBytes") &&
         disk.value("freeBytes", std::uint64_t{0}) < kRepositoryNearlyFullBytes;
}

std::string repository_full_message(const model::Json& disk) {
  return fmt::format("the backup repository's disk is full ({} bytes free of {} at {})",
                     disk.value("freeBytes", std::uint64_t{0}), disk.value("totalBytes", std::uint64_t{0}),
                     disk.value("path", std::string()));
}

}  // namespace pgstack::config
