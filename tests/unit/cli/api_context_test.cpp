#include "cli/api_context.h"

#include <cstdlib>

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "common/files.h"

namespace pgstack::cli {
namespace {

class ApiContextTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/pgstack-cli-context-XXXXXX";
    directory_ = ::mkdtemp(pattern);
    ::setenv("PGSTACK_CONFIG", (directory_ / "config" / "pgstack.json").c_str(), 1);
    ::setenv("PGSTACK_STATE_DIR", (directory_ / "state").c_str(), 1);
    ::unsetenv("PGSTACK_TOKEN");
  }
  void TearDown() override {
    ::unsetenv("PGSTACK_CONFIG");
    ::unsetenv("PGSTACK_STATE_DIR");
    ::unsetenv("PGSTACK_TOKEN");
    std::filesystem::remove_all(directory_);
  }
  std::filesystem::path directory_;
};

TEST_F(ApiContextTest, ConfigRoundTripsAndIsPrivate) {
  CliConfig config{"prod",
                   {{"prod", "https://10.0.0.5:8080", "alice", "pgs_a", "/etc/prod-ca.crt"},
                    {"dev", "http://127.0.0.1:8080", "bob", "pgs_b", ""}}};
  ASSERT_TRUE(save_cli_config(cli_config_path(), config).ok());
  struct stat info {};
  ASSERT_EQ(::stat(cli_config_path().c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat(cli_config_path().parent_path().c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0700u);
  auto loaded = load_cli_config(cli_config_path());
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(loaded->current_context, "prod");
  ASSERT_EQ(loaded->contexts.size(), 2u);
  EXPECT_EQ(loaded->contexts[1].token, "pgs_b");
  EXPECT_EQ(ca_file_for("https://10.0.0.5:8080"), "/etc/prod-ca.crt");
  EXPECT_EQ(ca_file_for("http://127.0.0.1:8080"), "");
}

TEST_F(ApiContextTest, ABrokenConfigNamesItsFile) {
  std::filesystem::create_directories(cli_config_path().parent_path());
  ASSERT_TRUE(write_file_atomically(cli_config_path(), "not json").ok());
  auto loaded = load_cli_config(cli_config_path());
  ASSERT_FALSE(loaded.ok());
  EXPECT_NE(loaded.error().message.find(cli_config_path().string()), std::string::npos);
}

TEST_F(ApiContextTest, TokensGoOnlyToTheUrlTheyWereStoredFor) {
  CliConfig config{"dev",
                   {{"dev", "http://127.0.0.1:8080", "bob", "pgs_dev"}, {"prod", "https://db:8080", "al", "pgs_prod"}}};
  ASSERT_TRUE(save_cli_config(cli_config_path(), config).ok());
  EXPECT_EQ(token_for("http://127.0.0.1:8080"), "pgs_dev");
  EXPECT_EQ(token_for("https://db:8080"), "pgs_prod");
  EXPECT_EQ(token_for("http://elsewhere:8080"), "");
  ::setenv("PGSTACK_TOKEN", " pgs_env \n", 1);
  EXPECT_EQ(token_for("http://elsewhere:8080"), "pgs_env");
}

TEST_F(ApiContextTest, TheLocalUpTokenIsUsedForTheLocalApiOnly) {
  const auto state = directory_ / "state";
  std::filesystem::create_directories(state / "auth");
  ASSERT_TRUE(write_file_atomically(state / "up.json", R"({"apiAddress":"127.0.0.1:18080"})").ok());
  ASSERT_TRUE(write_file_atomically(local_token_file(state), "pgs_local\n").ok());
  EXPECT_EQ(token_for("https://127.0.0.1:18080"), "pgs_local");
  EXPECT_EQ(token_for("http://127.0.0.1:8080"), "");
  EXPECT_EQ(token_for("http://127.0.0.1:18080"), "");  // never in clear to the local API
}

}  // namespace
}  // namespace pgstack::cli
