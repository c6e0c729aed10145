#include "cli/secret_input.h"

#include <gtest/gtest.h>

namespace pgstack::cli {
namespace {

Result<std::string> fake_file(const std::string& path) {
  if (path == "/keys/ca.crt") return std::string("-----BEGIN CERTIFICATE-----\n");
  return make_error(ErrorCode::kNotFound, "No such file or directory");
}

TEST(SecretInput, LiteralsAndFilesBecomeStringData) {
  auto data = secret_data_from_arguments({"accessKeyId=AKIA", "secretAccessKey=a=b=c"},
                                         {"ca=/keys/ca.crt", "/keys/ca.crt"}, fake_file);
  ASSERT_TRUE(data.ok()) << data.error().message;
  EXPECT_EQ(data->at("secretAccessKey"), "a=b=c");  // only the first '=' separates
  EXPECT_EQ(data->at("ca"), "-----BEGIN CERTIFICATE-----\n");
  EXPECT_EQ(data->at("ca.crt"), "-----BEGIN CERTIFICATE-----\n");  // PATH alone: the file's name
  const auto document = secret_document("s3", "shop", *data);
  EXPECT_EQ(document["kind"], "Secret");
  EXPECT_EQ(document["metadata"]["namespace"], "shop");
  EXPECT_EQ(document["stringData"]["accessKeyId"], "AKIA");
}

TEST(SecretInput, BadArgumentsAreRefusedWithoutQuotingValues) {
  const std::vector<std::pair<std::vector<std::string>, std::vector<std::string>>> cases = {
      {{"hunter2"}, {}},                 // no '='
      {{"=hunter2"}, {}},                // no key
      {{"bad/key=hunter2"}, {}},         // invalid key
      {{"k=hunter2", "k=hunter2"}, {}},  // twice
      {{}, {"k=/keys/missing"}},         // unreadable file
      {{}, {}},                          // nothing at all
  };
  for (const auto& [literals, files] : cases) {
    auto data = secret_data_from_arguments(literals, files, fake_file);
    ASSERT_FALSE(data.ok());
    EXPECT_EQ(data.error().code, ErrorCode::kInvalidInput);
    EXPECT_EQ(data.error().message.find("hunter2"), std::string::npos) << data.error().message;
  }
}

TEST(SecretInput, TablesAndDescriptionsShowKeyNames) {
  const model::Json summary = model::Json::parse(R"({"apiVersion": "v1", "kind": "Secret",
    "metadata": {"name": "s3", "namespace": "shop"}, "type": "Opaque", "keys": ["accessKeyId", "secretAccessKey"]})");
  EXPECT_EQ(format_table(secret_table({summary}, false)),
            "NAME   TYPE     DATA   KEYS\ns3     Opaque   2      accessKeyId,secretAccessKey\n");
  const std::string described = describe_secret(summary);
  EXPECT_NE(described.find("Name:       s3\n"), std::string::npos) << described;
  EXPECT_NE(described.find("  secretAccessKey\n"), std::string::npos) << described;
  EXPECT_TRUE(is_secret_kind("Secrets"));
  EXPECT_FALSE(is_secret_kind("sgclusters"));
}

}  // namespace
}  // namespace pgstack::cli
