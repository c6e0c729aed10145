#include <fcntl.h>
#include <filesystem>
#include <unistd.h>

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "common/digest.h"
#include "common/error.h"
#include "common/files.h"
#include "common/process.h"
#include "common/strings.h"

namespace pgstack {
namespace {

TEST(Strings, EditDistanceAndClosestMatch) {
  EXPECT_EQ(edit_distance("verson", "version"), 1u);
  EXPECT_EQ(edit_distance("", "abc"), 3u);
  EXPECT_EQ(closest_match("verson", {"version", "flavor", "extensions"}), "version");
  EXPECT_EQ(closest_match("zzzzzz", {"version", "flavor"}), std::nullopt);
  EXPECT_EQ(closest_match("MAX_CONNECTONS", {"max_connections"}), "max_connections");
}

TEST(Strings, SplitTrimLower) {
  EXPECT_EQ(split("a,b,,c", ','), (std::vector<std::string>{"a", "b", "", "c"}));
  EXPECT_EQ(trim("  x y \n"), "x y");
  EXPECT_EQ(to_lower("SGCluster"), "sgcluster");
}

TEST(Strings, LastLinesSkipBlankOnes) {
  EXPECT_EQ(last_lines("a\nb\n\n  \nc\n", 2), (std::vector<std::string>{"b", "c"}));
  EXPECT_EQ(last_lines("only", 5), (std::vector<std::string>{"only"}));
  EXPECT_TRUE(last_lines("\n\n", 3).empty());
}

TEST(Error, CodesMapToExitHttpAndSqlstate) {
  EXPECT_EQ(exit_code_for(ErrorCode::kInvalidInput), 1);
  EXPECT_EQ(http_status_for(ErrorCode::kConflict), 409);
  EXPECT_EQ(http_status_for(ErrorCode::kNotFound), 404);
  EXPECT_EQ(sqlstate_for(ErrorCode::kUnavailable), "08006");
  Result<int> failed = make_error(ErrorCode::kNotFound, "no such cluster");
  EXPECT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().message, "no such cluster");
  Result<int> succeeded = 7;
  EXPECT_EQ(*succeeded, 7);
}

TEST(Files, AtomicWriteSetsModeAndReadsBack) {
  const auto dir = std::filesystem::temp_directory_path() / ("pgstack-files-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto path = dir / "secret";
  ASSERT_TRUE(write_file_atomically(path, "s3cr3t", std::filesystem::perms(0600)).ok());
  struct stat info {};
  ASSERT_EQ(::stat(path.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
  EXPECT_EQ(read_file(path).value(), "s3cr3t");
  EXPECT_FALSE(std::filesystem::exists(path.string() + ".tmp"));
  const auto missing = read_file(dir / "missing");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  std::filesystem::remove_all(dir);
}

TEST(Files, TailReadsOnlyTheEnd) {
  const auto dir = std::filesystem::temp_directory_path() / ("pgstack-tail-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  ASSERT_TRUE(write_file_atomically(dir / "log", "0123456789").ok());
  EXPECT_EQ(read_file_tail(dir / "log", 4).value(), "6789");
  EXPECT_EQ(read_file_tail(dir / "log", 100).value(), "0123456789");
  EXPECT_EQ(read_file_tail(dir / "missing", 4).error().code, ErrorCode::kNotFound);
  std::filesystem::remove_all(dir);
}

TEST(Files, TraversableByAnotherUserOnlyWithExecuteBits) {
  const auto dir = std::filesystem::temp_directory_path() / ("pgstack-traverse-" + std::to_string(::getpid()));
  const auto inner = dir / "state" / "agent";
  std::filesystem::create_directories(inner);
  constexpr uid_t kOtherUid = 65534;  // nobody: neither the owner nor in the group of what the test makes
  constexpr gid_t kOtherGid = 65534;
  ASSERT_EQ(::chmod(dir.c_str(), 0700), 0);
  auto refused = check_traversable_by(inner, kOtherUid, kOtherGid, "postgres");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_NE(refused.error().message.find(dir.string() + " (mode 0700"), std::string::npos) << refused.error().message;
  EXPECT_NE(refused.error().message.find("chmod o+x " + dir.string()), std::string::npos) << refused.error().message;
  ASSERT_EQ(::chmod(dir.c_str(), 0711), 0);
  EXPECT_TRUE(check_traversable_by(inner, kOtherUid, kOtherGid, "postgres").ok());
  // What does not exist yet is made traversable by whoever creates it: not a reason to refuse.
  EXPECT_TRUE(check_traversable_by(inner / "instances" / "x", kOtherUid, kOtherGid, "postgres").ok());
  EXPECT_TRUE(check_traversable_by(inner, 0, 0, "root").ok());
  std::filesystem::remove_all(dir);
}

TEST(Process, CapturesOutputExitCodeAndInput) {
  const auto result = run_command({"sh", "-c", "cat; echo out; echo err >&2; exit 3"}, {.standard_input = "in\n"});
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->exit_code, 3);
  EXPECT_EQ(result->standard_output, "in\nout\n");
  EXPECT_EQ(result->standard_error, "err\n");
}

TEST(Process, LargeOutputDoesNotDeadlock) {
  const auto result = run_command({"sh", "-c", "head -c 1000000 /dev/zero; head -c 1000000 /dev/zero >&2"});
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->standard_output.size(), 1000000u);
  EXPECT_EQ(result->standard_error.size(), 1000000u);
}

TEST(Process, AProgramInheritsNoDescriptorButItsStdio) {
  // Opened without O_CLOEXEC, as Boost.Asio opens its sockets: the child must not get it all the same.
  const int fd = ::open("/dev/null", O_RDONLY);
  ASSERT_GE(fd, 3);
  const auto result = run_command({"sh", "-c", "ls /proc/$$/fd"});
  ::close(fd);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->standard_output, "0\n1\n2\n") << "fd " << fd << " was open in the child";
}

TEST(Process, MissingProgramIsAnError) {
  const auto result = run_command({"pgstack-no-such-program"});
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, ErrorCode::kUnavailable);
}

TEST(Process, EnvironmentAndWorkingDirectory) {
  const auto result = run_command({"sh", "-c", "pwd; echo $PGSTACK_TEST_VALUE"},
                                  {.working_directory = "/tmp", .extra_environment = {{"PGSTACK_TEST_VALUE", "42"}}});
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->standard_output, "/tmp\n42\n");
}

// The child's environment is made before fork (no setenv in the child): inherited variables stay,
// HOME and USER follow the user it runs as, and extra_environment has the last word.
TEST(Process, EnvironmentOfAnotherUserWithOverrides) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to run as postgres";
  ::setenv("PGSTACK_TEST_INHERITED", "kept", 1);
  const auto result =
      run_command({"sh", "-c", "echo $USER $HOME $PGSTACK_TEST_INHERITED $PGSTACK_TEST_VALUE; id -un"},
                  {.run_as_user = "postgres", .extra_environment = {{"PGSTACK_TEST_VALUE", "42"}, {"HOME", "/tmp"}}});
  ::unsetenv("PGSTACK_TEST_INHERITED");
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(result->standard_output, "postgres /tmp kept 42\npostgres\n");
}

TEST(Base64, RoundTripsAndRefusesMalformedText) {
  for (const std::string& text :
       std::vector<std::string>{"", "a", "ab", "abc", "abcd", std::string("\xff\x00\x10", 3)}) {
    auto decoded = base64_decode(base64_encode(text));
    ASSERT_TRUE(decoded.ok());
    EXPECT_EQ(*decoded, text);
  }
  EXPECT_EQ(base64_encode("hunter2"), "aHVudGVyMg==");
  EXPECT_EQ(base64_encode(std::string("\0\xff\x10\x80", 4)), "AP8QgA==");
  for (const char* bad : {"abc", "ab=c", "a===", "ab==ab==", "ab\ncd==", "ab-_"})
    EXPECT_FALSE(base64_decode(bad).ok()) << bad;
}

}  // namespace
}  // namespace pgstack
