#include "monitoring/scrape_target_files.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "common/files.h"

namespace pgstack::monitoring {
namespace {

class ScrapeTargetFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/pgstack-targets-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    dir_ = std::filesystem::path(pattern) / "targets";  // missing: the writer creates it
  }
  void TearDown() override { std::filesystem::remove_all(dir_.parent_path()); }

  static std::int64_t inode_of(const std::filesystem::path& path) {
    struct stat info {};
    return ::stat(path.c_str(), &info) == 0 ? static_cast<std::int64_t>(info.st_ino) : -1;
  }

  std::filesystem::path dir_;
};

TEST_F(ScrapeTargetFiles, WritesEveryJobThenOnlyWhatChanged) {
  std::map<std::string, std::vector<TargetGroup>> groups = {{"patroni", {{{"127.0.0.1:8008"}, {{"job", "patroni"}}}}},
                                                            {"pgstack-proxy", {}}};
  auto written = write_scrape_target_files(dir_, groups);
  ASSERT_TRUE(written.ok()) << written.error().message;
  EXPECT_EQ(*written, 2);
  EXPECT_EQ(read_file(dir_ / "pgstack-proxy.json").value(), "[]\n");
  const auto patroni = model::Json::parse(read_file(dir_ / "patroni.json").value());
  EXPECT_EQ(patroni.at(0).at("targets").at(0), "127.0.0.1:8008");

  const auto inode = inode_of(dir_ / "patroni.json");
  written = write_scrape_target_files(dir_, groups);
  ASSERT_TRUE(written.ok());
  EXPECT_EQ(*written, 0);
  EXPECT_EQ(inode_of(dir_ / "patroni.json"), inode);  // untouched

  groups["patroni"].clear();
  written = write_scrape_target_files(dir_, groups);
  ASSERT_TRUE(written.ok());
  EXPECT_EQ(*written, 1);
  EXPECT_NE(inode_of(dir_ / "patroni.json"), inode);  // replaced by a rename, never rewritten in place
  EXPECT_EQ(read_file(dir_ / "patroni.json").value(), "[]\n");
}

}  // namespace
}  // namespace pgstack::monitoring
