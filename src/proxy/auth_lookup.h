// Where a pooled listener gets the SCRAM verifier of a user who logs in: from Postgres itself, by
// pgstack.user_lookup($1) run as the pooling's auth_user (PgBouncer's auth_query). Lookups run on a
// thread of their own (libpq blocks) and answer through a callback; verifiers are cached for a short
// while, and a failed login drops the user's entry so a changed password is seen at once.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "common/error.h"

namespace pgstack::proxy {

struct AuthLookupRequest {
  std::string host;  // the member that answers (any member: pg_authid is the same on all)
  std::uint16_t port = 0;
  std::string user;
};

// A verifier (pg_authid.rolpassword), or nullopt when the user does not exist or may not log in.
using AuthLookupResult = Result<std::optional<std::string>>;

class AuthLookup {
 public:
  // `password` is auth_user's, read from its file by the caller.
  AuthLookup(std::string auth_user, std::string password, std::chrono::milliseconds cache_for,
             std::chrono::milliseconds connect_timeout);
  ~AuthLookup();
  AuthLookup(const AuthLookup&) = delete;
  AuthLookup& operator=(const AuthLookup&) = delete;

  // `done` runs on the lookup thread (or at once, from the cache): post it to where it belongs.
  void lookup(AuthLookupRequest request, std::function<void(AuthLookupResult)> done);
  void forget(const std::string& user);

  std::uint64_t queries() const;  // lookups that went to Postgres (tests, metrics)

 private:
  struct Pending {
    AuthLookupRequest request;
    std::function<void(AuthLookupResult)> done;
  };
  struct Cached {
    std::optional<std::string> verifier;
    std::chrono::steady_clock::time_point fetched;
  };
  void run();
  AuthLookupResult query(const AuthLookupRequest& request);
  // One attempt; `lost_kept_connection` when it failed on a connection kept from an earlier lookup.
  AuthLookupResult query_once(const AuthLookupRequest& request, bool& lost_kept_connection);

  const std::string auth_user_;
  const std::string password_;
  const std::chrono::milliseconds cache_for_;
  const std::chrono::milliseconds connect_timeout_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Pending> pending_;
  std::map<std::string, Cached> cache_;
  std::uint64_t queries_ = 0;
  bool stopping_ = false;
  struct Connections;
  std::unique_ptr<Connections> connections_;  // owned by the lookup thread
  std::thread thread_;
};

// Reads a password file: its first line, which must not be empty; the file must be 0600 or stricter.
Result<std::string> read_password_file(const std::string& path);

}  // namespace pgstack::proxy
