#include "monitoring/metrics_auth.h"

#include <cctype>

#include <gtest/gtest.h>

#include "common/http_client.h"
#include "common/password_hash.h"

namespace pgstack::monitoring {
namespace {

TEST(MetricsAuth, LoopbackIs127Slash8AndIpv6LoopbackAndLocalhost) {
  for (const char* host :
       {"127.0.0.1", "127.1.2.3", "127.255.255.254", "::1", "[::1]", "localhost", "::ffff:127.0.0.1"})
    EXPECT_TRUE(is_loopback_host(host)) << host;
  // Every interface, real addresses and names that may resolve anywhere are not.
  for (const char* host : {"", "0.0.0.0", "::", "[::]", "10.254.0.1", "192.168.1.5", "128.0.0.1", "fe80::1",
                           "::ffff:10.0.0.1", "db1.example", "localhost.evil.example", "127.0.0.1.nip.io"})
    EXPECT_FALSE(is_loopback_host(host)) << host;
}

TEST(MetricsAuth, AutoAsksForTheCredentialOffLoopbackOnly) {
  EXPECT_FALSE(listener_needs_auth("127.0.0.1:19100", MetricsAuthMode::kNonLoopback));
  EXPECT_FALSE(listener_needs_auth("[::1]:19101", MetricsAuthMode::kNonLoopback));
  EXPECT_FALSE(listener_needs_auth("localhost:9187", MetricsAuthMode::kNonLoopback));
  EXPECT_TRUE(listener_needs_auth("10.254.0.1:19100", MetricsAuthMode::kNonLoopback));
  EXPECT_TRUE(listener_needs_auth("0.0.0.0:19101", MetricsAuthMode::kNonLoopback));
  EXPECT_TRUE(listener_needs_auth(":19101", MetricsAuthMode::kNonLoopback));  // every interface
  EXPECT_TRUE(listener_needs_auth("[fd00::5]:19187", MetricsAuthMode::kNonLoopback));
  EXPECT_TRUE(listener_needs_auth("host.example:19187", MetricsAuthMode::kNonLoopback));
}

TEST(MetricsAuth, AlwaysAsksEvenOnLoopback) {
  EXPECT_TRUE(listener_needs_auth("127.0.0.1:19100", MetricsAuthMode::kAlways));
  EXPECT_TRUE(listener_needs_auth("10.0.0.1:19100", MetricsAuthMode::kAlways));
}

TEST(MetricsAuth, ModeFlagIsAutoOrAlwaysAndAnErrorNamesTheFlag) {
  EXPECT_EQ(parse_metrics_auth_mode("auto", "--metrics-auth").value(), MetricsAuthMode::kNonLoopback);
  EXPECT_EQ(parse_metrics_auth_mode("always", "--metrics-auth").value(), MetricsAuthMode::kAlways);
  auto bad = parse_metrics_auth_mode("never", "--metrics-auth");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidInput);
  EXPECT_NE(bad.error().message.find("--metrics-auth: 'never'"), std::string::npos) << bad.error().message;
}

TEST(MetricsAuth, CredentialRoundTripsAndAMissingFieldIsNamed) {
  const ScrapeCredential credential{"secret", "$2b$10$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234"};
  const auto json = scrape_credential_json(credential);
  EXPECT_EQ(json.value("username", ""), "prometheus");
  EXPECT_EQ(parse_scrape_credential(json).value(), credential);
  auto missing = parse_scrape_credential(model::Json{{"password", "x"}});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("'bcryptHash'"), std::string::npos) << missing.error().message;
  EXPECT_FALSE(parse_scrape_credential(model::Json("text")).ok());
}

TEST(MetricsAuth, WebConfigHasTheHashAndNeverThePassword) {
  const auto hash = bcrypt_hash("the-password");
  ASSERT_TRUE(hash.ok()) << hash.error().message;
  const std::string config = render_exporter_web_config({"the-password", *hash});
  EXPECT_NE(config.find("basic_auth_users:\n  \"prometheus\": \"" + *hash + "\"\n"), std::string::npos) << config;
  EXPECT_EQ(config.find("the-password"), std::string::npos) << config;
}

TEST(MetricsAuth, OnlyTheExactBasicAuthorizationIsAccepted) {
  const ScrapeCredential credential{"s3cret", "unused"};
  EXPECT_TRUE(authorized_scrape({{"authorization", basic_authorization("prometheus", "s3cret")}}, credential));
  EXPECT_FALSE(authorized_scrape({}, credential));
  EXPECT_FALSE(authorized_scrape({{"authorization", basic_authorization("prometheus", "s3cret!")}}, credential));
  EXPECT_FALSE(authorized_scrape({{"authorization", basic_authorization("admin", "s3cret")}}, credential));
  EXPECT_FALSE(authorized_scrape({{"authorization", "Bearer s3cret"}}, credential));
}

TEST(PasswordHash, BcryptHashesAreSaltedAndVerify) {
  const auto first = bcrypt_hash("correct horse");
  const auto second = bcrypt_hash("correct horse");
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_EQ(first->rfind("$2b$10$", 0), 0U) << *first;
  EXPECT_EQ(first->size(), 60U);
  EXPECT_NE(*first, *second);  // a fresh salt each time
  EXPECT_TRUE(bcrypt_matches("correct horse", *first));
  EXPECT_FALSE(bcrypt_matches("correct horse!", *first));
  EXPECT_FALSE(bcrypt_matches("correct horse", "not a hash"));
}

TEST(PasswordHash, RandomPasswordsAreAlphanumericAndDiffer) {
  const auto a = random_password();
  const auto b = random_password();
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->size(), 32U);
  EXPECT_NE(*a, *b);
  for (const char c : *a) EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c))) << *a;
}

}  // namespace
}  // namespace pgstack::monitoring
