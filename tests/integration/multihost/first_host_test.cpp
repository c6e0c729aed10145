// `pgstack up --address` on a test host (issue 16, the first host of an installation): etcd, the API,
// the agent's members and proxies serve on the host's own address, and a client on another host
// reaches all of it with the CLI and libpq, as a user on another machine would. Moving an existing
// installation to another address is refused with the reason.
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <string>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/files.h"
#include "common/strings.h"
#include "support/test_hosts.h"

namespace pgstack::testing {
namespace {

using json = nlohmann::json;
constexpr int kFirstHost = 0;

// A file's text, "" when it cannot be read.
std::string text_of(const std::filesystem::path& path) {
  auto text = read_file(path);
  return text ? *text : std::string();
}
constexpr int kOtherHost = 1;

class FirstHost : public ::testing::Test {
 protected:
  void SetUp() override {
    auto hosts = TestHosts::create(2);
    ASSERT_TRUE(hosts) << hosts.error().message;
    hosts_ = std::move(hosts).value();
    std::string pattern = (std::filesystem::temp_directory_path() / "pgsth-up-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    state_ = pattern;
    std::filesystem::permissions(state_, std::filesystem::perms(0755));  // Postgres runs as postgres
  }
  void TearDown() override {
    if (HasFailure()) {
      for (const char* log : {"controller.log", "agent.log", "etcd.log"})
        std::cout << "---- " << log << " ----\n" << text_of(state_ / "logs" / log) << "\n";
    }
    if (hosts_)
      (void)hosts_->run(kFirstHost, {PGSTACK_CLI_BINARY, "down", "--state-dir", state_.string(), "--purge", "--yes"});
    hosts_.reset();
    std::error_code ignored;
    std::filesystem::remove_all(state_, ignored);
  }

  // The CLI on the other host, against the first host's API with its CA and the admin's token.
  Result<CommandOutput> from_other_host(std::vector<std::string> arguments) const {
    std::vector<std::string> argv = {"env", "PGSTACK_API=https://" + hosts_->address(kFirstHost) + ":8080",
                                     "PGSTACK_CA_FILE=" + (state_ / "pki" / "ca.crt").string(),
                                     "PGSTACK_TOKEN=" + trim(text_of(state_ / "auth" / "admin-token")),
                                     PGSTACK_CLI_BINARY};
    argv.insert(argv.end(), arguments.begin(), arguments.end());
    return hosts_->run(kOtherHost, argv);
  }

  std::unique_ptr<TestHosts> hosts_;
  std::filesystem::path state_;
};

TEST_F(FirstHost, UpServesOnItsAddressAndAClientOnAnotherHostConnects) {
  const std::string address = hosts_->address(kFirstHost);
  auto up = hosts_->run(kFirstHost, {PGSTACK_CLI_BINARY, "up", "--address", address, "--state-dir", state_.string(),
                                     "--instances", "1", "--timeout", "300s"});
  ASSERT_TRUE(up) << up.error().message;
  ASSERT_EQ(up->exit_code, 0) << up->standard_output << up->standard_error;
  EXPECT_NE(up->standard_output.find("https://" + address + ":8080"), std::string::npos) << up->standard_output;
  const json settings = json::parse(text_of(state_ / "up.json"), nullptr, false);
  EXPECT_EQ(settings.value("address", ""), address);
  EXPECT_EQ(settings.value("etcdUrl", "").rfind("https://" + address + ":", 0), 0U) << settings.dump();

  // The API, from the other host: the host is registered with its address.
  auto hosts = from_other_host({"get", "hosts", "-o", "json"});
  ASSERT_TRUE(hosts && hosts->exit_code == 0) << (hosts ? hosts->standard_error : hosts.error().message);
  const json list = json::parse(hosts->standard_output, nullptr, false);
  ASSERT_TRUE(list.is_object()) << hosts->standard_output;
  ASSERT_EQ(list.value("items", json::array()).size(), 1U) << list.dump(2);
  EXPECT_EQ(list["items"][0].value("address", ""), address);

  // Postgres through the first host's proxy, from the other host, verified against the CA.
  auto uri = from_other_host({"connstr", "demo", "--show-password", "--show-ca"});
  ASSERT_TRUE(uri && uri->exit_code == 0) << (uri ? uri->standard_error : uri.error().message);
  EXPECT_NE(uri->standard_output.find(address + ":"), std::string::npos) << "the URI names another address";
  auto query = hosts_->run(kOtherHost, {"psql", "-X", "-A", "-t", "-d", trim(uri->standard_output), "-c",
                                        "SELECT 'reached ' || current_setting('listen_addresses')"});
  ASSERT_TRUE(query) << query.error().message;
  EXPECT_EQ(query->exit_code, 0) << query->standard_error;
  EXPECT_NE(query->standard_output.find("reached "), std::string::npos) << query->standard_output;
  EXPECT_NE(query->standard_output.find(address), std::string::npos) << query->standard_output;

  // The installation's etcd member was made on this address: moving it is refused and changes nothing.
  auto moved = hosts_->run(
      kFirstHost, {PGSTACK_CLI_BINARY, "up", "--address", "127.0.0.1", "--state-dir", state_.string(), "--no-cluster"});
  ASSERT_TRUE(moved) << moved.error().message;
  EXPECT_NE(moved->exit_code, 0);
  EXPECT_NE(moved->standard_error.find("would move its etcd member"), std::string::npos) << moved->standard_error;
  auto foreign = hosts_->run(kFirstHost, {PGSTACK_CLI_BINARY, "up", "--address", hosts_->address(kOtherHost),
                                          "--state-dir", state_.string(), "--no-cluster"});
  ASSERT_TRUE(foreign) << foreign.error().message;
  EXPECT_NE(foreign->exit_code, 0);
  EXPECT_NE(foreign->standard_error.find("not an address of this machine"), std::string::npos)
      << foreign->standard_error;
  const json after = json::parse(text_of(state_ / "up.json"), nullptr, false);
  EXPECT_EQ(after.value("address", ""), address);
}

}  // namespace
}  // namespace pgstack::testing
