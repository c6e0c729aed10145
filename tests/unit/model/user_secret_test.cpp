#include "model/user_secret.h"

#include <gtest/gtest.h>

#include "common/digest.h"

namespace pgstack::model {
namespace {

Json manifest(const std::string& text) { return Json::parse(text); }

TEST(UserSecret, StringDataAndBase64DataAreMergedStringDataWinning) {
  auto secret = secret_from_manifest(manifest(R"({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s3"},
    "data": {"accessKeyId": "QUtJQQ==", "region": "ZXUtMQ=="}, "stringData": {"region": "us-east-1"}})"),
                                     "shop");
  ASSERT_TRUE(secret.ok()) << secret.error().message;
  EXPECT_EQ(secret->name, "s3");
  EXPECT_EQ(secret->namespace_name, "shop");
  EXPECT_EQ(secret->data, (std::map<std::string, std::string>{{"accessKeyId", "AKIA"}, {"region", "us-east-1"}}));
}

TEST(UserSecret, BadInputSaysWhereWithoutQuotingAValue) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"({"apiVersion": "v2", "kind": "Secret", "metadata": {"name": "s"}, "stringData": {"k": "hunter2"}})",
       "apiVersion"},
      {R"({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "Bad_Name"}, "stringData": {"k": "hunter2"}})",
       "metadata.name"},
      {R"({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "other"}, "stringData": {"k": "hunter2"}})",
       "metadata.namespace"},
      {R"({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "stringData": {"bad/key": "hunter2"}})",
       "stringData.bad/key"},
      {R"({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "stringData": {"k": 5}})", "stringData.k"},
      {R"({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "data": {"k": "hunter2!"}})", "data.k"},
      {R"({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "data": {"k": "/w=="}})", "data.k"},
      {R"({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}})", "stringData"},
      {R"({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "stringData": {"k": "hunter2"}, "spec": {}})",
       "spec"},
  };
  for (const auto& [text, field] : cases) {
    auto secret = secret_from_manifest(manifest(text), "default");
    ASSERT_FALSE(secret.ok()) << text;
    EXPECT_EQ(secret.error().code, ErrorCode::kInvalidInput);
    EXPECT_NE(secret.error().message.find("Secret " + field + ":"), std::string::npos) << secret.error().message;
    EXPECT_EQ(secret.error().message.find("hunter2"), std::string::npos) << secret.error().message;
  }
}

TEST(UserSecret, HostileValuesAreRefusedClearly) {
  const auto with = [](Json data) {
    return Json{
        {"apiVersion", "v1"}, {"kind", "Secret"}, {"metadata", {{"name", "s"}}}, {"stringData", std::move(data)}};
  };
  // Kubernetes' bound: 1 MiB of keys and values.
  EXPECT_TRUE(secret_from_manifest(with({{"k", std::string(kMaxSecretBytes - 1, 'x')}}), "default").ok());
  auto big = secret_from_manifest(with({{"k", std::string(kMaxSecretBytes, 'x')}, {"k2", "y"}}), "default");
  ASSERT_FALSE(big.ok());
  EXPECT_NE(big.error().message.find("Secret data: the keys and values total 1048580 bytes; a Secret holds at most"),
            std::string::npos)
      << big.error().message;
  for (const Json& value : {Json(5), Json(true), Json(nullptr), Json::array({"a"}), Json::object()}) {
    auto refused = secret_from_manifest(with({{"k", value}}), "default");
    ASSERT_FALSE(refused.ok()) << value.dump();
    EXPECT_NE(refused.error().message.find("Secret stringData.k: expected a string value"), std::string::npos);
  }
  Json encoded = with(nullptr);
  encoded.erase("stringData");
  for (const char* text : {"a", "abc", "ab=c", "====", "YQ==YQ==", "Y Q==", "\u00e9\u00e9\u00e9\u00e9"}) {
    encoded["data"] = {{"k", text}};
    auto refused = secret_from_manifest(encoded, "default");
    ASSERT_FALSE(refused.ok()) << text;
    EXPECT_NE(refused.error().message.find("Secret data.k: expected base64"), std::string::npos);
  }
}

TEST(UserSecret, SummaryNamesKeysOnlyAndRevealedAddsBase64Values) {
  const UserSecret secret{"s3", "shop", {{"accessKeyId", "AKIA"}, {"secretAccessKey", "hunter2"}}};
  const Json summary = secret_summary(secret, 42);
  EXPECT_EQ(summary["keys"], Json::array({"accessKeyId", "secretAccessKey"}));
  EXPECT_EQ(summary["metadata"]["resourceVersion"], "42");
  EXPECT_EQ(summary.dump().find("hunter2"), std::string::npos);
  EXPECT_FALSE(summary.contains("data"));
  const Json revealed = secret_revealed(secret, 42);
  EXPECT_EQ(revealed["data"]["secretAccessKey"], base64_encode("hunter2"));
}

TEST(UserSecret, KeysFollowKubernetesRules) {
  for (const char* good : {"accessKeyId", "ca.crt", "tls-key_1", "A"}) EXPECT_TRUE(is_valid_secret_key(good)) << good;
  for (const std::string& bad : std::vector<std::string>{"", "a/b", "..", "a b", std::string(254, 'k')})
    EXPECT_FALSE(is_valid_secret_key(bad)) << bad;
}

}  // namespace
}  // namespace pgstack::model
