#include "config/render_pgbackrest.h"

#include <gtest/gtest.h>

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
           {not_pem, "caCertificate: Secret key ca/ca.crt does not hold a PEM"},
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

}  // namespace
}  // namespace pgstack::config
