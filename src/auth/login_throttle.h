// Login rate limiting, per user name and per source address: after `max_failures` failed logins
// within `window`, further attempts (right or wrong) are refused for `lockout`, then counting starts
// again. Pure apart from a mutex: the caller passes the time. Bounded memory: entries whose window
// and lockout are over are dropped when the table grows.
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <string>

namespace pgstack::auth {

struct ThrottlePolicy {
  int max_failures_per_user = 5;
  int max_failures_per_address = 20;
  std::chrono::seconds window{300};
  std::chrono::seconds lockout{60};
};

class LoginThrottle {
 public:
  using Clock = std::chrono::steady_clock;
  explicit LoginThrottle(ThrottlePolicy policy = {}) : policy_(policy) {}

  // How long the caller must wait before trying again; zero when it may try now.
  std::chrono::seconds retry_after(const std::string& user, const std::string& address, Clock::time_point now);
  void record_failure(const std::string& user, const std::string& address, Clock::time_point now);
  // A success clears the user's count (not the address's: one good password must not reset a spray).
  void record_success(const std::string& user, Clock::time_point now);

 private:
  struct Counter {
    int failures = 0;
    Clock::time_point first_failure{};
    Clock::time_point locked_until{};
  };
  void count(std::map<std::string, Counter>& table, const std::string& key, int limit, Clock::time_point now);
  static std::chrono::seconds wait_of(const std::map<std::string, Counter>& table, const std::string& key,
                                      Clock::time_point now);
  void prune(std::map<std::string, Counter>& table, Clock::time_point now) const;

  ThrottlePolicy policy_;
  std::mutex mutex_;
  std::map<std::string, Counter> users_;
  std::map<std::string, Counter> addresses_;
};

}  // namespace pgstack::auth
