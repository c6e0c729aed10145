#include "auth/login_throttle.h"

#include <gtest/gtest.h>

namespace pgstack::auth {
namespace {

using namespace std::chrono_literals;
using Clock = LoginThrottle::Clock;

TEST(LoginThrottle, LocksAUserAfterTooManyFailuresThenRecovers) {
  LoginThrottle throttle({.max_failures_per_user = 3, .max_failures_per_address = 100, .window = 300s, .lockout = 60s});
  const auto start = Clock::now();
  for (int i = 0; i < 2; ++i) throttle.record_failure("alice", "10.0.0.1", start + std::chrono::seconds(i));
  EXPECT_EQ(throttle.retry_after("alice", "10.0.0.1", start + 2s), 0s);
  throttle.record_failure("alice", "10.0.0.1", start + 2s);
  EXPECT_EQ(throttle.retry_after("alice", "10.0.0.1", start + 3s), 59s);
  // Locked for the user from any address; other users are not.
  EXPECT_GT(throttle.retry_after("alice", "10.0.0.9", start + 3s), 0s);
  EXPECT_EQ(throttle.retry_after("bob", "10.0.0.9", start + 3s), 0s);
  EXPECT_EQ(throttle.retry_after("alice", "10.0.0.1", start + 62s), 0s);
  // Counting starts again after the lockout.
  throttle.record_failure("alice", "10.0.0.1", start + 63s);
  EXPECT_EQ(throttle.retry_after("alice", "10.0.0.1", start + 63s), 0s);
}

TEST(LoginThrottle, FailuresOutsideTheWindowDoNotAddUp) {
  LoginThrottle throttle({.max_failures_per_user = 2, .max_failures_per_address = 100, .window = 10s, .lockout = 60s});
  const auto start = Clock::now();
  throttle.record_failure("alice", "a", start);
  throttle.record_failure("alice", "a", start + 11s);
  EXPECT_EQ(throttle.retry_after("alice", "a", start + 11s), 0s);
}

TEST(LoginThrottle, ASprayFromOneAddressIsLockedAcrossUsers) {
  LoginThrottle throttle({.max_failures_per_user = 100, .max_failures_per_address = 3, .window = 300s, .lockout = 30s});
  const auto start = Clock::now();
  throttle.record_failure("u1", "10.0.0.7", start);
  throttle.record_failure("u2", "10.0.0.7", start);
  throttle.record_failure("u3", "10.0.0.7", start);
  EXPECT_EQ(throttle.retry_after("u4", "10.0.0.7", start), 30s);
  EXPECT_EQ(throttle.retry_after("u4", "10.0.0.8", start), 0s);
}

TEST(LoginThrottle, ASuccessClearsTheUserButNotTheAddress) {
  LoginThrottle throttle({.max_failures_per_user = 2, .max_failures_per_address = 2, .window = 300s, .lockout = 30s});
  const auto start = Clock::now();
  throttle.record_failure("alice", "a", start);
  throttle.record_success("alice", start + 1s);
  throttle.record_failure("alice", "b", start + 2s);
  EXPECT_EQ(throttle.retry_after("alice", "b", start + 2s), 0s);
  throttle.record_failure("carol", "a", start + 3s);
  EXPECT_GT(throttle.retry_after("dave", "a", start + 3s), 0s);
}

}  // namespace
}  // namespace pgstack::auth
