// pgBackRest, pgstack's backup engine: the repository options an SGObjectStorage maps to, the
// credentials its Secret references resolve to, pgbackrest.conf of one instance, and the commands
// Postgres and the agent run (archive-push, archive-get, backup, restore). Pure, no I/O. Credentials
// go into pgbackrest.conf only (pgBackRest refuses its S3 keys on the command line; the file is 0600),
// or into files of their own next to it (a CA certificate, a GCS service account key).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/error.h"
#include "model/resources.h"

namespace pgstack::config {

// An object store's credentials, resolved from its Secret references. Never logged.
struct StorageCredentials {
  std::string access_key;            // s3: repo1-s3-key
  std::string secret_key;            // s3: repo1-s3-key-secret
  std::string storage_account;       // azureBlob: repo1-azure-account
  std::string account_key;           // azureBlob: repo1-azure-key (a shared key, base64)
  std::string service_account_json;  // gcs: the key file (repo1-gcs-key); empty: the metadata service's
  std::string ca_certificate;        // PEM; empty: the system's CAs
  // spec.encryption: the key (and openpgp passphrase) as given; cipher_passphrase() derives the
  // one-line passphrase pgBackRest takes. Empty: the repository is not encrypted.
  std::string encryption_key;
  std::string encryption_passphrase;
};

// repo1-cipher-pass for an encrypted repository: SHA-256 (hex) of the key, or of the key, a line break
// and the passphrase (openpgp): one line whatever the key holds, and never the key itself.
std::string cipher_passphrase(const StorageCredentials& credentials);

// Users' Secrets of one namespace as the resolver sees them: name -> key -> value.
using SecretValues = std::map<std::string, std::map<std::string, std::string>>;

// The credentials an SGObjectStorage refers to (awsCredentials, azureCredentials or gcpCredentials
// secretKeySelectors, caCertificate), looked up in `secrets`. nullopt for storages that take none
// (filesystem). The error names the storage, the field, the Secret and the key that is missing or
// whose value cannot be used (a line break, an Azure key that is not base64, a GCS key that is not a
// service account's JSON), never a value.
Result<std::optional<StorageCredentials>> resolve_storage_credentials(const model::ObjectStorage& storage,
                                                                      const SecretValues& secrets);

// The Secret names an SGObjectStorage refers to, so that a reader fetches only those.
std::vector<std::string> referenced_secrets(const model::ObjectStorage& storage);

// Where one cluster's backups live: a storage and a path inside it.
struct BackupRepository {
  model::ObjectStorage storage;
  std::string path;             // filesystem: a directory; object stores: a key prefix starting with '/'
  std::string path_in_storage;  // what backup_repository_at() takes: "<ns>/<cluster>" by default
  std::string bucket;           // object stores: the bucket (container) name, without a key prefix
  int retention_full = 5;
  std::string compression = "lz4";                // SGCluster's name (lz4, zstd, gzip, none)
  std::optional<StorageCredentials> credentials;  // object stores: written into pgbackrest.conf
  std::string ca_file;       // where credentials->ca_certificate is written (repo1-storage-ca-file)
  std::string gcs_key_file;  // where credentials->service_account_json is written (repo1-gcs-key)
};

// The repository of a cluster from its backup configuration: path <storage path>/<backups.path or
// <ns>/<cluster>>. An object store's `bucket` may be "name/key/prefix": the prefix comes first in the
// path. Errors name the field (an unknown storage type, a missing path or bucket).
Result<BackupRepository> backup_repository_for(const model::Cluster& cluster, const model::ObjectStorage& storage);
// The same for a cluster that has no backup configuration of its own but restores from one.
Result<BackupRepository> backup_repository_at(const model::ObjectStorage& storage, const std::string& path);

// --repo1-* options (without credentials): the same whether in the file or on a command line.
std::vector<std::pair<std::string, std::string>> repository_options(const BackupRepository& repository);

// Below this much free space a posix repository counts as full: a backup is not attempted and the
// status says so first (pgBackRest's own message names only the file it could not write).
inline constexpr std::uint64_t kRepositoryNearlyFullBytes = 1024 * 1024;
// `disk` is a repositoryDisk object as statuses carry it: {"path", "freeBytes", "totalBytes"}.
bool repository_nearly_full(const model::Json& disk);
// "the backup repository's disk is full (F bytes free of T at P)".
std::string repository_full_message(const model::Json& disk);

// The stanza of a cluster: "<ns>-<cluster>".
std::string stanza_name(const std::string& namespace_name, const std::string& cluster);

struct PgbackrestInstance {
  std::string stanza;
  std::string config_path;  // where the file is written
  std::string data_dir;
  std::string socket_dir;
  int postgres_port = 5432;
  std::string superuser = "postgres";
  std::string work_dir;  // log, spool and lock directories go below it
  int process_max = 1;
};

// With the repository's credentials, if any: the file must be 0600.
std::string render_pgbackrest_conf(const BackupRepository& repository, const PgbackrestInstance& instance);

// archive_command for postgresql.conf: asynchronous push through the spool directory, through
// pgstack-wal-push (`wal_push_program`, src/agent/wal_push.h) so that WAL of an abandoned history is
// set aside instead of pushed; straight to pgBackRest when no such program is installed.
std::string archive_push_command(const PgbackrestInstance& instance, const std::string& wal_push_program = "");

// Where pgstack-wal-push keeps WAL it did not push, with a record of why (below the work directory).
std::string wal_set_aside_dir(const PgbackrestInstance& instance);

// "pgbackrest --config=... --stanza=... <extra...>", ready for run_command.
std::vector<std::string> pgbackrest_argv(const std::string& config_path, const std::string& stanza,
                                         const std::vector<std::string>& arguments);

// pgBackRest's name of a compression (zstd -> zst, gzip -> gz).
std::string pgbackrest_compression(const std::string& name);

// The options that make `pgbackrest restore` stop where the restore source asks (type and target)
// and promote; `default` (to the end of the archived WAL) without a target.
std::vector<std::string> recovery_target_options(const model::RestoreSource& source);

}  // namespace pgstack::config
