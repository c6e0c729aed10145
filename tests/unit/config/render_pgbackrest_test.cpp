#include "config/render_pgbackrest.h"

#include <gtest/gtest.h>

#include "common/digest.h"

namespace pgstack::config {
namespace {

model::ObjectStorage s3_storage() {
  model::ObjectStorage storage;
  storage.name = "objects";
  storage.type = "s3Compatible";
  storage.bucket = "backups";
  storage.endpoint = "https://127.0.0.1:9000";
  storage.path_style = true;
  storage.access_key_ref = "s3/accessKeyId";
  storage.secret_key_ref = "s3/secretAccessKey";
  storage.ca_certificate_ref = "ca/ca.crt";
  return storage;
}

const SecretValues kSecrets = {{"s3", {{"accessKeyId", "AKIA"}, {"secretAccessKey", "hunter2"}}},
                               {"ca", {{"ca.crt", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"}}}};

TEST(StorageCredentials, ResolvedFromTheReferencedSecretsOnly) {
  EXPECT_EQ(referenced_secrets(s3_storage()), (std::vector<std::string>{"s3", "ca"}));
  auto resolved = resolve_storage_credentials(s3_storage(), kSecrets);
  ASSERT_TRUE(resolved.ok()) << resolved.error().message;
  ASSERT_TRUE(resolved->has_value());
  EXPECT_EQ((*resolved)->access_key, "AKIA");
  EXPECT_EQ((*resolved)->secret_key, "hunter2");
  model::ObjectStorage filesystem;
  filesystem.type = "filesystem";
  EXPECT_FALSE(resolve_storage_credentials(filesystem, {})->has_value());
  EXPECT_TRUE(referenced_secrets(filesystem).empty());
}

TEST(StorageCredentials, UnusableValuesAreNamedButNeverQuoted) {
  SecretValues line_break = kSecrets;
  line_break["s3"]["secretAccessKey"] = "hunter2\nrepo1-path=/elsewhere";  // would add an option to the file
  SecretValues not_pem = kSecrets;
  not_pem["ca"]["ca.crt"] = "hunter2";
  SecretValues no_secret = kSecrets;
  no_secret.erase("ca");
  for (const auto& [secrets, expected] : std::vector<std::pair<SecretValues, std::string>>{
           {line_break, "secretAccessKey: the value of Secret key s3/secretAccessKey"},
           {not_pem, "caCertificate: the value of Secret key ca/ca.crt does not hold a PEM"},
           {no_secret, "caCertificate refers to Secret \"ca\", which does not exist"}}) {
    auto resolved = resolve_storage_credentials(s3_storage(), secrets);
    ASSERT_FALSE(resolved.ok()) << expected;
    EXPECT_NE(resolved.error().message.find(expected), std::string::npos) << resolved.error().message;
    EXPECT_EQ(resolved.error().message.find("hunter2"), std::string::npos) << resolved.error().message;
  }
}

TEST(StorageCredentials, WrittenIntoTheConfFileButNeverIntoCommandLineOptions) {
  auto found = backup_repository_at(s3_storage(), "shop/demo");
  ASSERT_TRUE(found.ok());
  BackupRepository repository = std::move(found).value();
  repository.credentials = resolve_storage_credentials(s3_storage(), kSecrets).value();
  repository.ca_file = "/conf/pgbackrest-ca.crt";
  PgbackrestInstance instance;
  instance.stanza = "shop-demo";
  const std::string conf = render_pgbackrest_conf(repository, instance);
  for (const char* line : {"\nrepo1-s3-endpoint=127.0.0.1\n", "\nrepo1-storage-port=9000\n",
                           "\nrepo1-s3-uri-style=path\n", "\nrepo1-s3-key=AKIA\n", "\nrepo1-s3-key-secret=hunter2\n",
                           "\nrepo1-storage-ca-file=/conf/pgbackrest-ca.crt\n", "\nrepo1-path=/shop/demo\n"})
    EXPECT_NE(conf.find(line), std::string::npos) << line << " in\n" << conf;
  for (const auto& [key, value] : repository_options(repository))
    EXPECT_EQ(value.find("hunter2"), std::string::npos) << key;
}

// A made-up service account key: the fields pgBackRest reads, none of them real.
const std::string kServiceAccountJson = R"({"type": "service_account", "project_id": "shop",
  "private_key": "-----BEGIN PRIVATE KEY-----\nhunter2\n-----END PRIVATE KEY-----\n",
  "client_email": "backups@shop.iam.gserviceaccount.com", "token_uri": "https://oauth2.googleapis.com/token"})";

model::ObjectStorage gcs_storage() {
  model::ObjectStorage storage;
  storage.name = "google";
  storage.type = "gcs";
  storage.bucket = "backups";
  storage.service_account_json_ref = "gcp/key.json";
  return storage;
}

model::ObjectStorage azure_storage() {
  model::ObjectStorage storage;
  storage.name = "azure";
  storage.type = "azureBlob";
  storage.bucket = "backups";
  storage.storage_account_ref = "az/account";
  storage.account_key_ref = "az/key";
  return storage;
}

const SecretValues kCloudSecrets = {
    {"gcp", {{"key.json", kServiceAccountJson}}},
    {"az", {{"account", "shopbackups"}, {"key", "aHVudGVyMmh1bnRlcjI="}}},  // base64 of hunter2hunter2
    {"ca", {{"ca.crt", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"}}}};

// pgbackrest.conf of `storage` for repository path shop/demo, credentials resolved as the agent does.
std::string conf_of(const model::ObjectStorage& storage, const SecretValues& secrets = kCloudSecrets) {
  auto found = backup_repository_at(storage, "shop/demo");
  EXPECT_TRUE(found.ok()) << found.error().message;
  if (!found) return {};
  BackupRepository repository = std::move(found).value();
  auto resolved = resolve_storage_credentials(storage, secrets);
  EXPECT_TRUE(resolved.ok()) << resolved.error().message;
  if (resolved) repository.credentials = std::move(resolved).value();
  repository.ca_file = "/conf/pgbackrest-ca.crt";
  repository.gcs_key_file = "/conf/pgbackrest-gcs-key.json";
  PgbackrestInstance instance;
  instance.stanza = "shop-demo";
  return render_pgbackrest_conf(repository, instance);
}

void expect_lines(const std::string& conf, const std::vector<std::string>& present,
                  const std::vector<std::string>& absent) {
  for (const auto& line : present)
    EXPECT_NE(conf.find("\n" + line + "\n"), std::string::npos) << line << " in\n" << conf;
  for (const auto& text : absent) EXPECT_EQ(conf.find(text), std::string::npos) << text << " in\n" << conf;
}

TEST(EncryptedRepository, PgbackrestEncryptsWithAPassphraseDerivedFromTheKey) {
  model::ObjectStorage storage;
  storage.name = "vault";
  storage.type = "filesystem";
  storage.filesystem_path = "/srv/backups";
  storage.encryption_method = "sodium";
  storage.encryption_key_ref = "keys/sodium";
  EXPECT_EQ(referenced_secrets(storage), std::vector<std::string>{"keys"});
  const SecretValues secrets = {{"keys", {{"sodium", "hunter2-32-bytes-of-key-material!"}}}};
  const std::string conf = conf_of(storage, secrets);
  expect_lines(
      conf, {"repo1-cipher-type=aes-256-cbc", "repo1-cipher-pass=" + sha256_hex("hunter2-32-bytes-of-key-material!")},
      {"hunter2"});
  // openpgp: an armoured key on many lines and its passphrase still give one line.
  storage.encryption_method = "openpgp";
  storage.encryption_key_ref = "keys/private.asc";
  storage.encryption_passphrase_ref = "keys/passphrase";
  const SecretValues pgp = {{"keys",
                             {{"private.asc",
                               "-----BEGIN PGP PRIVATE KEY BLOCK-----\nhunter2\n-----END PGP PRIVATE KEY "
                               "BLOCK-----\n"},
                              {"passphrase", "hunter3"}}}};
  expect_lines(conf_of(storage, pgp), {"repo1-cipher-type=aes-256-cbc"}, {"hunter2", "hunter3", "PGP"});
  // A missing key is named at its place in the spec, never quoted.
  auto missing = resolve_storage_credentials(storage, {{"keys", {{"private.asc", "x"}}}});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("spec.encryption.openpgp.keyPassphrase"), std::string::npos)
      << missing.error().message;
  // Unencrypted filesystem storage takes no Secret at all.
  storage.encryption_method.clear();
  storage.encryption_key_ref.clear();
  storage.encryption_passphrase_ref.clear();
  EXPECT_FALSE(resolve_storage_credentials(storage, {})->has_value());
}

TEST(GcsRepository, AServiceAccountKeyGoesIntoAFileOfItsOwn) {
  model::ObjectStorage storage = gcs_storage();
  EXPECT_EQ(referenced_secrets(storage), (std::vector<std::string>{"gcp"}));
  auto resolved = resolve_storage_credentials(storage, kCloudSecrets);
  ASSERT_TRUE(resolved.ok()) << resolved.error().message;
  EXPECT_EQ((*resolved)->service_account_json, kServiceAccountJson);
  expect_lines(conf_of(storage),
               {"repo1-type=gcs", "repo1-gcs-bucket=backups", "repo1-gcs-key-type=service",
                "repo1-gcs-key=/conf/pgbackrest-gcs-key.json", "repo1-path=/shop/demo"},
               {"hunter2", "repo1-gcs-endpoint", "repo1-storage-ca-file", "repo1-s3"});
}

TEST(GcsRepository, MetadataServiceCredentialsNeedNoSecret) {
  model::ObjectStorage storage = gcs_storage();
  storage.metadata_service_credentials = true;
  storage.service_account_json_ref.clear();
  EXPECT_TRUE(referenced_secrets(storage).empty());
  auto resolved = resolve_storage_credentials(storage, {});
  ASSERT_TRUE(resolved.ok()) << resolved.error().message;
  expect_lines(conf_of(storage, {}), {"repo1-type=gcs", "repo1-gcs-key-type=auto"}, {"repo1-gcs-key="});
}

TEST(GcsRepository, AnEndpointAndCaPointItElsewhere) {
  model::ObjectStorage storage = gcs_storage();
  storage.endpoint = "https://gcs.internal:4443";
  storage.ca_certificate_ref = "ca/ca.crt";
  EXPECT_EQ(referenced_secrets(storage), (std::vector<std::string>{"gcp", "ca"}));
  // pgBackRest 2.45 reads a GCS port from the endpoint, never from repo1-storage-port.
  expect_lines(conf_of(storage),
               {"repo1-gcs-endpoint=gcs.internal:4443", "repo1-storage-ca-file=/conf/pgbackrest-ca.crt"},
               {"repo1-storage-port"});
}

TEST(GcsRepository, AKeyThatIsNotAServiceAccountsIsNamedButNeverQuoted) {
  for (const auto& [value, expected] : std::vector<std::pair<std::string, std::string>>{
           {"hunter2", "is not a Google Cloud service account key"},
           {R"(["hunter2"])", "is not a Google Cloud service account key"},
           {R"({"type": "authorized_user", "refresh_token": "hunter2"})", "with \"type\": \"service_account\""},
           {R"({"type": "service_account", "private_key": "hunter2"})", "without client_email, token_uri"}}) {
    SecretValues secrets = kCloudSecrets;
    secrets["gcp"]["key.json"] = value;
    auto resolved = resolve_storage_credentials(gcs_storage(), secrets);
    ASSERT_FALSE(resolved.ok()) << value;
    const std::string& message = resolved.error().message;
    EXPECT_NE(message.find("SGObjectStorage google: spec.gcs.gcpCredentials.secretKeySelectors.serviceAccountJSON: "
                           "the value of Secret key gcp/key.json"),
              std::string::npos)
        << message;
    EXPECT_NE(message.find(expected), std::string::npos) << message;
    EXPECT_EQ(message.find("hunter2"), std::string::npos) << message;
  }
  SecretValues missing = kCloudSecrets;
  missing["gcp"].erase("key.json");
  auto resolved = resolve_storage_credentials(gcs_storage(), missing);
  ASSERT_FALSE(resolved.ok());
  EXPECT_NE(resolved.error().message.find("refers to key \"key.json\" of Secret \"gcp\", which has no such key"),
            std::string::npos)
      << resolved.error().message;
}

TEST(AzureRepository, AccountAndKeyGoIntoTheConfFile) {
  model::ObjectStorage storage = azure_storage();
  EXPECT_EQ(referenced_secrets(storage), (std::vector<std::string>{"az"}));
  auto found = backup_repository_at(storage, "shop/demo");
  ASSERT_TRUE(found.ok());
  for (const auto& [key, value] : repository_options(found.value()))
    EXPECT_EQ(value.find("shopbackups"), std::string::npos) << key;  // never on a command line
  expect_lines(conf_of(storage),
               {"repo1-type=azure", "repo1-azure-container=backups", "repo1-azure-key-type=shared",
                "repo1-azure-account=shopbackups", "repo1-azure-key=aHVudGVyMmh1bnRlcjI=", "repo1-path=/shop/demo"},
               {"repo1-azure-endpoint", "repo1-azure-uri-style", "repo1-storage-port", "repo1-s3"});
}

TEST(AzureRepository, AnEmulatorIsAddressedByPathAndASovereignCloudByHost) {
  model::ObjectStorage storage = azure_storage();
  storage.endpoint = "https://127.0.0.1:10000";
  storage.ca_certificate_ref = "ca/ca.crt";
  EXPECT_EQ(referenced_secrets(storage), (std::vector<std::string>{"az", "ca"}));
  expect_lines(conf_of(storage),
               {"repo1-azure-endpoint=127.0.0.1", "repo1-storage-port=10000", "repo1-azure-uri-style=path",
                "repo1-storage-ca-file=/conf/pgbackrest-ca.crt"},
               {});
  storage.endpoint = "https://blob.core.usgovcloudapi.net";
  storage.ca_certificate_ref.clear();
  expect_lines(conf_of(storage), {"repo1-azure-endpoint=blob.core.usgovcloudapi.net"},
               {"repo1-azure-uri-style", "repo1-storage-port", "repo1-storage-ca-file"});
}

TEST(AzureRepository, UnusableKeysAreNamedButNeverQuoted) {
  for (const auto& [key, value, expected] : std::vector<std::tuple<std::string, std::string, std::string>>{
           {"key", "hunter2!", "accessKey: the value of Secret key az/key is not base64"},
           {"key", "aHVudGVy\nMg==", "accessKey: the value of Secret key az/key is empty or has a line break"},
           {"account", "", "storageAccount: the value of Secret key az/account is empty or has a line break"}}) {
    SecretValues secrets = kCloudSecrets;
    secrets["az"][key] = value;
    auto resolved = resolve_storage_credentials(azure_storage(), secrets);
    ASSERT_FALSE(resolved.ok()) << expected;
    EXPECT_NE(
        resolved.error().message.find("SGObjectStorage azure: spec.azureBlob.azureCredentials.secretKeySelectors."),
        std::string::npos)
        << resolved.error().message;
    EXPECT_NE(resolved.error().message.find(expected), std::string::npos) << resolved.error().message;
    EXPECT_EQ(resolved.error().message.find("hunter2"), std::string::npos) << resolved.error().message;
    EXPECT_EQ(resolved.error().message.find("aHVudGVy"), std::string::npos) << resolved.error().message;
  }
}

TEST(ObjectStoreRepository, ABucketsPrefixStartsTheRepositoryPath) {
  for (model::ObjectStorage storage : {s3_storage(), gcs_storage(), azure_storage()}) {
    storage.bucket = "backups/pg/prod/";
    auto found = backup_repository_at(storage, "shop/demo");
    ASSERT_TRUE(found.ok()) << found.error().message;
    EXPECT_EQ(found->bucket, "backups") << storage.type;
    EXPECT_EQ(found->path, "/pg/prod/shop/demo") << storage.type;
    storage.bucket = "/pg";
    auto refused = backup_repository_at(storage, "shop/demo");
    ASSERT_FALSE(refused.ok()) << storage.type;
    EXPECT_NE(refused.error().message.find("spec." + storage.type + ".bucket: expected a bucket name"),
              std::string::npos)
        << refused.error().message;
  }
  model::ObjectStorage s3 = s3_storage();
  s3.bucket = "backups/pg";
  expect_lines(conf_of(s3, kSecrets), {"repo1-s3-bucket=backups", "repo1-path=/pg/shop/demo"}, {});
}

// awsCredentials.useIAMRole: no keys to resolve; pgBackRest asks the instance's metadata service.
TEST(S3Repository, AnIamRoleNeedsNoSecret) {
  model::ObjectStorage storage = s3_storage();
  storage.type = "s3";
  storage.endpoint.clear();
  storage.ca_certificate_ref.clear();
  storage.access_key_ref.clear();
  storage.secret_key_ref.clear();
  storage.use_iam_role = true;
  const auto credentials = resolve_storage_credentials(storage, {});
  ASSERT_TRUE(credentials.ok()) << credentials.error().message;
  auto found = backup_repository_at(storage, "shop/demo");
  ASSERT_TRUE(found.ok());
  bool auto_key = false;
  for (const auto& [key, value] : repository_options(found.value()))
    auto_key |= key == "repo1-s3-key-type" && value == "auto";
  EXPECT_TRUE(auto_key);
}

// fromBackup.target: immediate ends recovery as soon as the backup is consistent.
TEST(RecoveryTarget, ImmediateEndsAtTheBackupsConsistentPoint) {
  model::RestoreSource source;
  source.backup = "b";
  source.target_immediate = true;
  EXPECT_EQ(recovery_target_options(source), (std::vector<std::string>{"--type=immediate", "--target-action=promote"}));
  source.target_immediate = false;
  EXPECT_EQ(recovery_target_options(source), (std::vector<std::string>{"--type=default"}));
  // fromBackup.targetTimeline goes with any target.
  source.target_timeline = "3";
  EXPECT_EQ(recovery_target_options(source), (std::vector<std::string>{"--type=default", "--target-timeline=3"}));
  source.target_name = "before-migration";
  EXPECT_EQ(recovery_target_options(source),
            (std::vector<std::string>{"--type=name", "--target=before-migration", "--target-timeline=3",
                                      "--target-action=promote"}));
}

}  // namespace
}  // namespace pgstack::config
