// A daemon's own log rotated by size (OutputRotation). The rotation points stdout and stderr at new files, so
// each check runs in a forked child whose output is the log; the parent reads the files.
#include "common/output_rotation.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <unistd.h>

#include <gtest/gtest.h>
#include <sys/wait.h>

#include "common/daemon_options.h"
#include "common/files.h"

namespace pgstack {
namespace {

namespace fs = std::filesystem;

TEST(OutputRotation, RenamesRunFromTheOldestSoNoneIsOverwrittenBeforeItMoved) {
  using Renames = std::vector<std::pair<fs::path, fs::path>>;
  EXPECT_EQ(rotation_renames("/l/agent.log", 3), (Renames{{"/l/agent.log.2", "/l/agent.log.3"},
                                                          {"/l/agent.log.1", "/l/agent.log.2"},
                                                          {"/l/agent.log", "/l/agent.log.1"}}));
  EXPECT_EQ(rotation_renames("/l/agent.log", 1), (Renames{{"/l/agent.log", "/l/agent.log.1"}}));
  EXPECT_TRUE(rotation_renames("/l/agent.log", 0).empty());
}

class OutputRotationFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/pgstack-rotation-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Runs `body` in a child whose stdout and stderr are `log`; its exit code (0: every step worked).
  template <typename Body>
  int in_child(const fs::path& log, Body body) {
    const pid_t pid = ::fork();
    if (pid == 0) {
      if (!redirect_output_to(log.string()).ok()) ::_exit(10);
      ::_exit(body());
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 99;
  }

  std::string text(const fs::path& path) {
    auto content = read_file(path);
    return content.ok() ? *content : "<missing>";
  }

  fs::path dir_;
};

TEST_F(OutputRotationFiles, AFullLogMovesUpAndTheOutputGoesOnInANewFile) {
  const fs::path log = dir_ / "agent.log";
  const int code = in_child(log, [&] {
    OutputRotation rotation(log, 10, 2, std::chrono::hours(1));  // checked by hand below
    std::fputs("first file line\n", stderr);
    if (auto rotated = rotation.rotate_if_due(); !rotated.ok() || !*rotated) return 1;
    std::fputs("second file line\n", stdout);
    std::fflush(stdout);
    if (auto rotated = rotation.rotate_if_due(); !rotated.ok() || !*rotated) return 2;
    std::fputs("third file line\n", stderr);
    if (auto rotated = rotation.rotate_if_due(); !rotated.ok() || !*rotated) return 3;
    std::fputs("short\n", stderr);  // under 10 bytes: stays
    if (auto rotated = rotation.rotate_if_due(); !rotated.ok() || *rotated) return 4;
    return 0;
  });
  ASSERT_EQ(code, 0);
  EXPECT_EQ(text(log), "short\n");
  EXPECT_EQ(text(dir_ / "agent.log.1"), "third file line\n");
  EXPECT_EQ(text(dir_ / "agent.log.2"), "second file line\n");
  EXPECT_FALSE(fs::exists(dir_ / "agent.log.3"));  // two kept: the first file was replaced
}

TEST_F(OutputRotationFiles, ALogMovedAwayByHandIsStartedAgain) {
  const fs::path log = dir_ / "controller.log";
  const int code = in_child(log, [&] {
    OutputRotation rotation(log, 1 << 20, 4, std::chrono::hours(1));
    std::fputs("before\n", stderr);
    std::error_code error;
    fs::rename(log, dir_ / "moved.log", error);
    if (error) return 1;
    if (auto rotated = rotation.rotate_if_due(); !rotated.ok() || *rotated) return 2;  // reopened, not rotated
    std::fputs("after\n", stderr);
    return 0;
  });
  ASSERT_EQ(code, 0);
  EXPECT_EQ(text(dir_ / "moved.log"), "before\n");
  EXPECT_EQ(text(log), "after\n");
  EXPECT_FALSE(fs::exists(dir_ / "controller.log.1"));
}

TEST_F(OutputRotationFiles, ADaemonsLogFileFlagPointsItsOutputThereAndRotatesIt) {
  EXPECT_EQ(log_to_own_file(DaemonOptions{}).value(), nullptr);  // no --log-file: nothing changes
  const fs::path log = dir_ / "agent.log";
  const int code = in_child(dir_ / "before.log", [&] {
    DaemonOptions options;
    options.log_file = log.string();
    options.log_rotate_bytes = 8;
    options.log_files_kept = 1;
    auto rotation = log_to_own_file(options);
    if (!rotation.ok() || *rotation == nullptr) return 1;
    std::fputs("to the daemon's own file\n", stderr);
    if (auto rotated = (*rotation)->rotate_if_due(); !rotated.ok() || !*rotated) return 2;
    return 0;
  });
  ASSERT_EQ(code, 0);
  EXPECT_EQ(text(dir_ / "before.log"), "");
  EXPECT_EQ(text(dir_ / "agent.log.1"), "to the daemon's own file\n");
  DaemonOptions unwritable;
  unwritable.log_file = (dir_ / "missing" / "agent.log").string();
  const int refused = in_child(dir_ / "refused.log", [&] {
    auto rotation = log_to_own_file(unwritable);
    return rotation.ok() ? 1 : 0;
  });
  EXPECT_EQ(refused, 0);
}

TEST_F(OutputRotationFiles, ItsThreadRotatesWhileTheDaemonWrites) {
  const fs::path log = dir_ / "agent.log";
  const int code = in_child(log, [&] {
    OutputRotation rotation(log, 4096, 3, std::chrono::milliseconds(5));
    for (int i = 0; i < 2000; ++i) {
      std::fprintf(stderr, "line %05d of the daemon's log\n", i);
      if (i % 100 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return 0;
  });
  ASSERT_EQ(code, 0);
  ASSERT_TRUE(fs::exists(dir_ / "agent.log.1"));
  // Whole lines only, in order, across the files that are kept, up to the last one written. Each new file
  // begins with the rotation's own line, which says where the earlier lines are. (The thread may rotate just
  // after the last line, so that agent.log then holds only that first line.)
  std::string kept;
  for (const char* name : {"agent.log.3", "agent.log.2", "agent.log.1", "agent.log"})
    if (fs::exists(dir_ / name)) kept += text(dir_ / name);
  int previous = -1;
  std::size_t at = 0;
  while (at < kept.size()) {
    const std::size_t end = kept.find('\n', at);
    ASSERT_NE(end, std::string::npos);
    const std::string line = kept.substr(at, end - at);
    at = end + 1;
    if (line.find("rotated the log: the lines before this one are in ") != std::string::npos) {
      EXPECT_NE(line.find("(a file up to 4096 bytes, 3 kept)"), std::string::npos) << line;
      continue;
    }
    ASSERT_EQ(line.size(), 30u) << line;
    const int number = std::stoi(line.substr(5, 5));
    EXPECT_EQ(number, previous < 0 ? number : previous + 1);
    previous = number;
  }
  EXPECT_EQ(previous, 1999);
  EXPECT_FALSE(fs::exists(dir_ / "agent.log.4"));
}

}  // namespace
}  // namespace pgstack
