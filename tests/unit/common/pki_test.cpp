#include "common/pki.h"

#include <filesystem>
#include <unistd.h>

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "common/files.h"
#include "common/process.h"

namespace pgstack::pki {
namespace {

namespace fs = std::filesystem;

class PkiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/pgstack-pki-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { fs::remove_all(dir_); }

  // `openssl verify` of `leaf` against `ca`, with extra checks (-purpose, -verify_ip, ...).
  CommandOutput openssl_verify(const KeyPair& ca, const KeyPair& leaf, std::vector<std::string> checks) {
    (void)write_file_atomically(dir_ / "ca.pem", ca.certificate_pem);
    (void)write_file_atomically(dir_ / "leaf.pem", leaf.certificate_pem);
    std::vector<std::string> argv = {"openssl", "verify", "-CAfile", (dir_ / "ca.pem").string()};
    argv.insert(argv.end(), checks.begin(), checks.end());
    argv.push_back((dir_ / "leaf.pem").string());
    auto ran = run_command(argv);
    EXPECT_TRUE(ran.ok());
    return ran.ok() ? *ran : CommandOutput{};
  }

  static mode_t mode_of(const fs::path& path) {
    struct stat info {};
    EXPECT_EQ(::stat(path.c_str(), &info), 0) << path;
    return info.st_mode & 07777;
  }

  fs::path dir_;
};

TEST_F(PkiTest, CaIsP256WithPathlenZeroForTenYears) {
  auto ca = create_ca("pgstack test CA");
  ASSERT_TRUE(ca.ok()) << ca.error().message;
  auto info = inspect_certificate(ca->certificate_pem);
  ASSERT_TRUE(info.ok()) << info.error().message;
  EXPECT_TRUE(info->is_ca);
  EXPECT_EQ(info->subject_common_name, "pgstack test CA");
  EXPECT_EQ(info->issuer_common_name, "pgstack test CA");
  EXPECT_GT(info->not_after - info->not_before, std::chrono::hours(24 * 3650));

  (void)write_file_atomically(dir_ / "ca.pem", ca->certificate_pem);
  auto text = run_command({"openssl", "x509", "-noout", "-text", "-in", (dir_ / "ca.pem").string()});
  ASSERT_TRUE(text.ok());
  EXPECT_NE(text->standard_output.find("prime256v1"), std::string::npos) << text->standard_output;
  EXPECT_NE(text->standard_output.find("CA:TRUE, pathlen:0"), std::string::npos) << text->standard_output;
  EXPECT_NE(text->standard_output.find("Certificate Sign, CRL Sign"), std::string::npos);
}

TEST_F(PkiTest, ServerCertificateVerifiesWithItsNamesOnly) {
  auto ca = create_ca("pgstack test CA");
  ASSERT_TRUE(ca.ok());
  LeafRequest request{"demo-0", {"localhost", "demo-0"}, {"127.0.0.1", "::1"}, Usage::kServer, std::chrono::hours(1)};
  auto leaf = issue_certificate(*ca, request);
  ASSERT_TRUE(leaf.ok()) << leaf.error().message;

  for (const std::vector<std::string>& check : {std::vector<std::string>{"-purpose", "sslserver"},
                                                {"-verify_hostname", "localhost"},
                                                {"-verify_hostname", "demo-0"},
                                                {"-verify_ip", "127.0.0.1"},
                                                {"-verify_ip", "::1"}}) {
    auto verified = openssl_verify(*ca, *leaf, check);
    EXPECT_EQ(verified.exit_code, 0) << check.back() << ": " << verified.standard_output << verified.standard_error;
  }
  for (const std::vector<std::string>& check : {std::vector<std::string>{"-purpose", "sslclient"},
                                                {"-verify_hostname", "demo-1"},
                                                {"-verify_ip", "10.0.0.1"}}) {
    EXPECT_NE(openssl_verify(*ca, *leaf, check).exit_code, 0) << check.back();
  }
  auto info = inspect_certificate(leaf->certificate_pem);
  ASSERT_TRUE(info.ok());
  EXPECT_FALSE(info->is_ca);
  EXPECT_EQ(info->dns_names, (std::vector<std::string>{"localhost", "demo-0"}));
  EXPECT_EQ(info->ip_addresses, (std::vector<std::string>{"127.0.0.1", "::1"}));
  EXPECT_EQ(info->issuer_common_name, "pgstack test CA");
  EXPECT_NEAR(std::chrono::duration<double>(info->not_after - info->not_before).count(), 3660, 5);
  EXPECT_TRUE(*verify_signed_by(leaf->certificate_pem, ca->certificate_pem, Clock::now()));
}

TEST_F(PkiTest, ClientCertificateIsForClientsAndAnotherCaDoesNotVerifyIt) {
  auto ca = create_ca("pgstack test CA");
  auto other = create_ca("another CA");
  ASSERT_TRUE(ca.ok() && other.ok());
  auto client = issue_certificate(*ca, {"pgstack-controller", {}, {}, Usage::kClient, std::chrono::hours(1)});
  ASSERT_TRUE(client.ok()) << client.error().message;
  EXPECT_EQ(openssl_verify(*ca, *client, {"-purpose", "sslclient"}).exit_code, 0);
  EXPECT_NE(openssl_verify(*ca, *client, {"-purpose", "sslserver"}).exit_code, 0);
  EXPECT_NE(openssl_verify(*other, *client, {}).exit_code, 0);
  EXPECT_FALSE(*verify_signed_by(client->certificate_pem, other->certificate_pem, Clock::now()));
  EXPECT_FALSE(*verify_signed_by(client->certificate_pem, ca->certificate_pem, Clock::now() + std::chrono::hours(2)));
}

TEST_F(PkiTest, BadNamesAreRefused) {
  auto ca = create_ca("pgstack test CA");
  ASSERT_TRUE(ca.ok());
  EXPECT_FALSE(issue_certificate(*ca, {"x", {}, {"300.1.1.1"}}).ok());
  EXPECT_FALSE(issue_certificate(*ca, {"x", {"a,IP:1.2.3.4"}, {}}).ok());
  EXPECT_FALSE(issue_certificate(*ca, {"", {"a"}, {}}).ok());
  EXPECT_TRUE(is_ip_address("::1"));
  EXPECT_TRUE(is_ip_address("10.1.2.3"));
  EXPECT_FALSE(is_ip_address("db-1.example"));
}

TEST(PkiRenewal, AtTwoThirdsOfTheLifetimeOrWhenANameIsMissing) {
  CertificateInfo info;
  info.not_before = Clock::time_point{} + std::chrono::hours(1000);
  info.not_after = info.not_before + std::chrono::hours(300);
  info.dns_names = {"localhost"};
  info.ip_addresses = {"127.0.0.1"};
  const LeafRequest wanted{"demo-0", {"localhost"}, {"127.0.0.1"}};
  // The lifetime counts from the making, a minute after notBefore (kNotBeforeBackdate).
  const auto made = info.not_before + kNotBeforeBackdate;
  EXPECT_EQ(renewal_reason(info, wanted, made + std::chrono::hours(200) - std::chrono::seconds(41)), "");
  EXPECT_NE(renewal_reason(info, wanted, made + std::chrono::hours(200) - std::chrono::seconds(40)), "");
  EXPECT_NE(renewal_reason(info, wanted, info.not_after + std::chrono::hours(1)), "");
  EXPECT_NE(renewal_reason(info, wanted, info.not_before - std::chrono::hours(1)), "");
  // A 30-s certificate is renewed 20 s after it was made, not at once.
  CertificateInfo short_lived = info;
  short_lived.not_after = made + std::chrono::seconds(30);
  EXPECT_EQ(renewal_reason(short_lived, wanted, made + std::chrono::seconds(19)), "");
  EXPECT_NE(renewal_reason(short_lived, wanted, made + std::chrono::seconds(20)), "");
  const LeafRequest moved{"demo-0", {"localhost"}, {"127.0.0.1", "10.0.0.7"}};
  EXPECT_EQ(renewal_reason(info, moved, info.not_before), "it does not name 10.0.0.7");
}

TEST_F(PkiTest, CaFilesAreMadeOnceWithTheKeyPrivate) {
  const fs::path pki = dir_ / "pki";
  auto made = load_or_create_ca(pki, "pgstack CA");
  ASSERT_TRUE(made.ok()) << made.error().message;
  EXPECT_EQ(mode_of(pki / "ca.key"), 0600u);
  EXPECT_EQ(mode_of(pki / "ca.crt"), 0644u);
  auto again = load_or_create_ca(pki, "pgstack CA");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->certificate_pem, made->certificate_pem);
  EXPECT_EQ(again->private_key_pem, made->private_key_pem);

  auto leaf = issue_certificate(*again, {"x", {"localhost"}, {}});
  ASSERT_TRUE(leaf.ok());
  ASSERT_TRUE(write_key_pair(*leaf, dir_ / "server.crt", dir_ / "server.key").ok());
  EXPECT_EQ(mode_of(dir_ / "server.key"), 0600u);
  EXPECT_EQ(mode_of(dir_ / "server.crt"), 0644u);
  EXPECT_FALSE(fs::exists(dir_ / "server.key.new"));

  fs::remove(pki / "ca.key");
  auto half = load_or_create_ca(pki, "pgstack CA");
  ASSERT_FALSE(half.ok());
  EXPECT_NE(half.error().message.find("half a CA"), std::string::npos);
  ASSERT_TRUE(write_file_atomically(pki / "ca.key", leaf->private_key_pem, fs::perms(0600)).ok());
  EXPECT_FALSE(load_or_create_ca(pki, "pgstack CA").ok());  // not the CA's key
}

}  // namespace
}  // namespace pgstack::pki
