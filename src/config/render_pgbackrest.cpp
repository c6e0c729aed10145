#include "config/render_pgbackrest.h"

#include <algorithm>

#include <fmt/format.h>

#include "common/digest.h"
#include "common/shell_quote.h"
#include "common/strings.h"
#include "model/user_secret.h"

namespace pgstack::config {

namespace {

// Where a credential's reference is in the spec: under spec.<type>, or spec.encryption.
std::string field_path(const model::ObjectStorage& storage, std::string_view field) {
  if (field.rfind("encryption.", 0) == 0) return fmt::format("spec.{}", field);
  return fmt::format("spec.{}.{}", storage.type, field);
}

std::string trimmed_path(std::string path) {
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  return path;
}

bool has_line_break(std::string_view value) {
  return value.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos;
}

bool is_s3(const model::ObjectStorage& storage) { return storage.type == "s3" || storage.type == "s3Compatible"; }

// One "<secret>/<key>" reference of `storage` at `field` (its path in the spec), looked up.
Result<std::string> resolve_reference(const model::ObjectStorage& storage, const std::string& field,
                                      const std::string& reference, const SecretValues& secrets) {
  const std::string where = fmt::format("SGObjectStorage {}: {}", storage.name, field_path(storage, field));
  const auto slash = reference.find('/');
  if (reference.empty() || slash == std::string::npos || slash == 0 || slash + 1 == reference.size())
    return make_error(ErrorCode::kInvalidInput, where + ": expected a Secret name and key");
  const std::string secret = reference.substr(0, slash);
  const std::string key = reference.substr(slash + 1);
  const auto found = secrets.find(secret);
  if (found == secrets.end())
    return make_error(
        ErrorCode::kNotFound,
        fmt::format("{} refers to Secret \"{}\", which does not exist in the storage's namespace", where, secret));
  const auto value = found->second.find(key);
  if (value == found->second.end()) {
    std::vector<std::string> keys;
    for (const auto& [name, ignored] : found->second) keys.push_back(name);
    return make_error(
        ErrorCode::kNotFound,
        fmt::format("{} refers to key \"{}\" of Secret \"{}\", which has no such key (its keys: {})", where, key,
                    secret, keys.empty() ? std::string("none") : fmt::format("{}", fmt::join(keys, ", "))));
  }
  return value->second;
}

// What a Secret value must be to be usable where pgBackRest takes it.
enum class SecretForm {
  kOneLine,             // a line of pgbackrest.conf: a line break would end it (and could add options)
  kBase64Line,          // Azure's shared key: pgBackRest decodes it
  kServiceAccountJson,  // a GCS service account key file
  kPemCertificate,
  kEncryptionKey,  // anything but empty: only its digest reaches pgbackrest.conf
};

// Why `value` is not of `form`, or nothing. Never quotes the value.
std::optional<std::string> unusable_because(SecretForm form, const std::string& value) {
  if (form == SecretForm::kEncryptionKey) {
    if (value.empty()) return "is empty; expected the encryption key";
    return std::nullopt;
  }
  if (form == SecretForm::kPemCertificate) {
    if (value.find("-----BEGIN CERTIFICATE-----") == std::string::npos)
      return "does not hold a PEM certificate (-----BEGIN CERTIFICATE-----)";
    return std::nullopt;
  }
  if (form == SecretForm::kServiceAccountJson) {
    // The parser's own message would quote the text it stopped at.
    const model::Json key = model::Json::parse(value, nullptr, false);
    if (!key.is_object() || key.value("type", model::Json()) != "service_account")
      return "is not a Google Cloud service account key; expected its JSON key file, an object with "
             "\"type\": \"service_account\"";
    std::vector<std::string> missing;
    for (const char* field : {"client_email", "private_key", "token_uri"}) {
      if (!key.contains(field) || !key[field].is_string() || key[field].get<std::string>().empty())
        missing.emplace_back(field);
    }
    if (!missing.empty())
      return fmt::format("is a service account key without {}; expected the whole JSON key file",
                         fmt::join(missing, ", "));
    return std::nullopt;
  }
  if (value.empty() || has_line_break(value)) return "is empty or has a line break; expected the key on one line";
  if (form == SecretForm::kBase64Line && !base64_decode(value))
    return "is not base64; expected the storage account's access key as Azure shows it";
  return std::nullopt;
}

// One credential a storage takes from a Secret: its field under spec.<type>, the reference, the form
// of its value and where the value goes.
struct CredentialSource {
  const char* field;
  const std::string* reference;
  SecretForm form;
  std::string StorageCredentials::*value;
};

std::vector<CredentialSource> credential_sources(const model::ObjectStorage& storage) {
  std::vector<CredentialSource> sources;
  if (is_s3(storage) && !storage.use_iam_role) {
    sources.push_back({"awsCredentials.secretKeySelectors.accessKeyId", &storage.access_key_ref, SecretForm::kOneLine,
                       &StorageCredentials::access_key});
    sources.push_back({"awsCredentials.secretKeySelectors.secretAccessKey", &storage.secret_key_ref,
                       SecretForm::kOneLine, &StorageCredentials::secret_key});
  } else if (storage.type == "azureBlob") {
    sources.push_back({"azureCredentials.secretKeySelectors.storageAccount", &storage.storage_account_ref,
                       SecretForm::kOneLine, &StorageCredentials::storage_account});
    sources.push_back({"azureCredentials.secretKeySelectors.accessKey", &storage.account_key_ref,
                       SecretForm::kBase64Line, &StorageCredentials::account_key});
  } else if (storage.type == "gcs" && !storage.metadata_service_credentials) {
    sources.push_back({"gcpCredentials.secretKeySelectors.serviceAccountJSON", &storage.service_account_json_ref,
                       SecretForm::kServiceAccountJson, &StorageCredentials::service_account_json});
  }
  if (storage.type != "filesystem" && !storage.ca_certificate_ref.empty())
    sources.push_back({"caCertificate", &storage.ca_certificate_ref, SecretForm::kPemCertificate,
                       &StorageCredentials::ca_certificate});
  if (!storage.encryption_key_ref.empty())
    sources.push_back({storage.encryption_method == "openpgp" ? "encryption.openpgp.key" : "encryption.sodium.key",
                       &storage.encryption_key_ref, SecretForm::kEncryptionKey, &StorageCredentials::encryption_key});
  if (!storage.encryption_passphrase_ref.empty())
    sources.push_back({"encryption.openpgp.keyPassphrase", &storage.encryption_passphrase_ref,
                       SecretForm::kEncryptionKey, &StorageCredentials::encryption_passphrase});
  return sources;
}

// https://host:port/ -> {host, port}; "" when the endpoint names no port.
struct Endpoint {
  std::string host;
  std::string port;
};

Endpoint endpoint_parts(std::string endpoint) {
  for (const char* scheme : {"https://", "http://"}) {
    if (endpoint.rfind(scheme, 0) == 0) endpoint = endpoint.substr(std::string(scheme).size());
  }
  while (!endpoint.empty() && endpoint.back() == '/') endpoint.pop_back();
  const auto colon = endpoint.rfind(':');
  const auto bracket = endpoint.find(']');  // [::1]: an IPv6 address's colons are not a port's
  if (colon == std::string::npos || (bracket != std::string::npos && bracket > colon)) return {endpoint, ""};
  return {endpoint.substr(0, colon), endpoint.substr(colon + 1)};
}

bool is_ip_address(const std::string& host) {
  return !host.empty() && (host.front() == '[' || host.find_first_not_of("0123456789.") == std::string::npos);
}

}  // namespace

std::vector<std::string> referenced_secrets(const model::ObjectStorage& storage) {
  std::vector<std::string> names;
  for (const auto& source : credential_sources(storage)) {
    const std::string name = source.reference->substr(0, source.reference->find('/'));
    if (!name.empty() && std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
  }
  return names;
}

Result<std::optional<StorageCredentials>> resolve_storage_credentials(const model::ObjectStorage& storage,
                                                                      const SecretValues& secrets) {
  if (storage.type == "filesystem" && storage.encryption_key_ref.empty()) return std::optional<StorageCredentials>();
  StorageCredentials credentials;
  for (const auto& source : credential_sources(storage)) {
    auto value = resolve_reference(storage, source.field, *source.reference, secrets);
    RETURN_IF_ERROR(value);
    if (const auto problem = unusable_because(source.form, *value))
      return make_error(ErrorCode::kInvalidInput,
                        fmt::format("SGObjectStorage {}: {}: the value of Secret key {} {}", storage.name,
                                    field_path(storage, source.field), *source.reference, *problem));
    credentials.*source.value = std::move(value).value();
  }
  return std::optional<StorageCredentials>(std::move(credentials));
}

std::string cipher_passphrase(const StorageCredentials& credentials) {
  if (credentials.encryption_passphrase.empty()) return sha256_hex(credentials.encryption_key);
  return sha256_hex(credentials.encryption_key + "\n" + credentials.encryption_passphrase);
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
  } else if (is_s3(storage) || storage.type == "gcs" || storage.type == "azureBlob") {
    // "name/key/prefix": a bucket shared with other data; the prefix starts every path in it.
    const auto slash = storage.bucket.find('/');
    repository.bucket = storage.bucket.substr(0, slash);
    std::string prefix = slash == std::string::npos ? "" : storage.bucket.substr(slash + 1);
    prefix.erase(0, prefix.find_first_not_of('/'));
    prefix.erase(prefix.find_last_not_of('/') + 1);
    if (repository.bucket.empty())
      return make_error(ErrorCode::kInvalidInput, fmt::format("{}: spec.{}.bucket: expected a bucket name, optionally "
                                                              "followed by /<key prefix>",
                                                              where, storage.type));
    repository.path = "/" + (prefix.empty() ? path : prefix + "/" + path);
  } else {
    return make_error(ErrorCode::kInvalidInput,
                      fmt::format("{}: spec.type: expected filesystem, s3, s3Compatible, gcs or azureBlob, got \"{}\"",
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
  RETURN_IF_ERROR(found);
  BackupRepository repository = std::move(found).value();
  repository.retention_full = cluster.backup->retention;
  repository.compression = cluster.backup->compression;
  return repository;
}

std::vector<std::pair<std::string, std::string>> repository_options(const BackupRepository& repository) {
  const model::ObjectStorage& storage = repository.storage;
  const Endpoint endpoint = endpoint_parts(storage.endpoint);
  std::vector<std::pair<std::string, std::string>> out;
  if (storage.type == "filesystem") {
    out.emplace_back("repo1-type", "posix");
  } else if (storage.type == "gcs") {
    out.emplace_back("repo1-type", "gcs");
    out.emplace_back("repo1-gcs-bucket", repository.bucket);
    // pgBackRest 2.45 takes a GCS port from the endpoint only (it ignores repo1-storage-port there).
    if (!storage.endpoint.empty())
      out.emplace_back("repo1-gcs-endpoint",
                       endpoint.port.empty() ? endpoint.host : endpoint.host + ":" + endpoint.port);
    out.emplace_back("repo1-gcs-key-type", storage.metadata_service_credentials ? "auto" : "service");
  } else if (storage.type == "azureBlob") {
    out.emplace_back("repo1-type", "azure");
    out.emplace_back("repo1-azure-container", repository.bucket);
    out.emplace_back("repo1-azure-key-type", "shared");
    if (!storage.endpoint.empty()) {
      out.emplace_back("repo1-azure-endpoint", endpoint.host);
      if (!endpoint.port.empty()) out.emplace_back("repo1-storage-port", endpoint.port);
      // Azure and its sovereign clouds name the account in the host (<account>.<endpoint>); an
      // emulator on an address or a port of its own (Azurite) takes it first in the path.
      if (!endpoint.port.empty() || is_ip_address(endpoint.host)) out.emplace_back("repo1-azure-uri-style", "path");
    }
  } else {
    out.emplace_back("repo1-type", "s3");
    out.emplace_back("repo1-s3-bucket", repository.bucket);
    out.emplace_back("repo1-s3-region", storage.region.empty() ? "us-east-1" : storage.region);
    if (storage.type == "s3Compatible" && !storage.endpoint.empty()) {
      out.emplace_back("repo1-s3-endpoint", endpoint.host);
      if (!endpoint.port.empty()) out.emplace_back("repo1-storage-port", endpoint.port);
    } else {
      out.emplace_back("repo1-s3-endpoint", "s3.amazonaws.com");
    }
    if (storage.path_style) out.emplace_back("repo1-s3-uri-style", "path");
    // pgBackRest then takes temporary credentials from the instance's metadata service (IAM role).
    if (storage.use_iam_role) out.emplace_back("repo1-s3-key-type", "auto");
  }
  out.emplace_back("repo1-path", repository.path);
  return out;
}

std::string render_pgbackrest_conf(const BackupRepository& repository, const PgbackrestInstance& instance) {
  std::string out = "# pgBackRest for this instance, written by pgstack-agent: edits are overwritten.\n[global]\n";
  for (const auto& [key, value] : repository_options(repository)) out += fmt::format("{}={}\n", key, value);
  if (repository.credentials) {
    const StorageCredentials& credentials = *repository.credentials;
    const std::pair<const char*, const std::string*> lines[] = {
        {"repo1-s3-key", &credentials.access_key},
        {"repo1-s3-key-secret", &credentials.secret_key},
        {"repo1-azure-account", &credentials.storage_account},
        {"repo1-azure-key", &credentials.account_key},
    };
    for (const auto& [option, value] : lines) {
      if (!value->empty()) out += fmt::format("{}={}\n", option, *value);
    }
    if (!credentials.service_account_json.empty() && !repository.gcs_key_file.empty())
      out += fmt::format("repo1-gcs-key={}\n", repository.gcs_key_file);
    if (!credentials.ca_certificate.empty() && !repository.ca_file.empty())
      out += fmt::format("repo1-storage-ca-file={}\n", repository.ca_file);
    if (!credentials.encryption_key.empty())
      out += fmt::format("repo1-cipher-type=aes-256-cbc\nrepo1-cipher-pass={}\n", cipher_passphrase(credentials));
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

std::string archive_push_command(const PgbackrestInstance& instance, const std::string& wal_push_program) {
  if (wal_push_program.empty())
    return shell_command(pgbackrest_argv(instance.config_path, instance.stanza, {"archive-push"})) + " \"%p\"";
  return shell_command({wal_push_program, "--pgbackrest-config", instance.config_path, "--stanza", instance.stanza,
                        "--set-aside-dir", wal_set_aside_dir(instance)}) +
         " \"%p\"";
}

std::string wal_set_aside_dir(const PgbackrestInstance& instance) { return instance.work_dir + "/wal-set-aside"; }

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
  } else if (source.target_immediate) {
    out = {"--type=immediate"};
  } else {
    out = {"--type=default"};
    if (source.target_timeline) out.push_back("--target-timeline=" + *source.target_timeline);
    return out;
  }
  if (source.target_timeline) out.push_back("--target-timeline=" + *source.target_timeline);
  // immediate has no target to include or exclude.
  if (!source.target_inclusive && !source.target_immediate) out.emplace_back("--target-exclusive");
  out.emplace_back("--target-action=promote");
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
