#include "auth/login_throttle.h"

#include <algorithm>

namespace pgstack::auth {
namespace {

constexpr std::size_t kPruneAbove = 10000;

}  // namespace

std::chrono::seconds LoginThrottle::wait_of(const std::map<std::string, Counter>& table, const std::string& key,
                                            Clock::time_point now) {
  const auto found = table.find(key);
  if (found == table.end() || found->second.locked_until <= now) return std::chrono::seconds(0);
  // Rounded up: "retry after 0 s" while still locked would invite a busy loop.
  return std::chrono::ceil<std::chrono::seconds>(found->second.locked_until - now);
}

std::chrono::seconds LoginThrottle::retry_after(const std::string& user, const std::string& address,
                                                Clock::time_point now) {
  std::lock_guard lock(mutex_);
  return std::max(wait_of(users_, user, now), wait_of(addresses_, address, now));
}

void LoginThrottle::count(std::map<std::string, Counter>& table, const std::string& key, int limit,
                          Clock::time_point now) {
  if (table.size() > kPruneAbove) prune(table, now);
  Counter& counter = table[key];
  if (counter.failures == 0 || now - counter.first_failure > policy_.window) {
    counter.failures = 0;
    counter.first_failure = now;
  }
  if (++counter.failures >= limit) {
    counter.locked_until = now + policy_.lockout;
    counter.failures = 0;
  }
}

void LoginThrottle::record_failure(const std::string& user, const std::string& address, Clock::time_point now) {
  std::lock_guard lock(mutex_);
  count(users_, user, policy_.max_failures_per_user, now);
  count(addresses_, address, policy_.max_failures_per_address, now);
}

void LoginThrottle::record_success(const std::string& user, Clock::time_point now) {
  std::lock_guard lock(mutex_);
  const auto found = users_.find(user);
  if (found != users_.end() && found->second.locked_until <= now) users_.erase(found);
}

void LoginThrottle::prune(std::map<std::string, Counter>& table, Clock::time_point now) const {
  for (auto it = table.begin(); it != table.end();) {
    const bool stale = it->second.locked_until <= now && now - it->second.first_failure > policy_.window;
    it = stale ? table.erase(it) : std::next(it);
  }
}

}  // namespace pgstack::auth
