// Who is calling: a bearer token (`Authorization: Bearer pgs_...`) or a browser session cookie
// (`pgstack_session`), checked against etcd on every request so that a revoked token, a deleted user
// or a changed role takes effect on the next request. Logins check argon2id hashes with a bound on
// concurrent checks (each holds 64 MiB) and are throttled per user and per source address.
#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <semaphore>
#include <string>
#include <vector>

#include "auth/access_policy.h"
#include "auth/auth_store.h"
#include "auth/login_throttle.h"

namespace pgstack::auth {

inline constexpr std::string_view kSessionCookie = "pgstack_session";

struct AuthSettings {
  std::chrono::seconds session_idle_timeout{30 * 60};
  std::chrono::seconds session_lifetime{12 * 60 * 60};
  ThrottlePolicy throttle;
  // Password checks running at once; more wait up to `password_check_wait`, then get "busy".
  std::ptrdiff_t concurrent_password_checks = 2;
  std::chrono::seconds password_check_wait{10};
};

struct Principal {
  std::string user;
  std::vector<RoleBinding> roles;
  std::string token_id;      // set when authenticated by a token
  std::string session_hash;  // set when authenticated by a session (the stored digest)
};

struct Authentication {
  std::optional<Principal> principal;
  std::string problem;       // why not, for the 401 (never says whether a user exists)
  bool unavailable = false;  // etcd could not be read: 503, not 401
};

struct LoginResult {
  enum class Outcome { kLoggedIn, kRejected, kThrottled, kBusy, kUnavailable };
  Outcome outcome = Outcome::kRejected;
  std::string session_id;  // the cookie's value, only when logged in
  std::chrono::seconds retry_after{0};
  std::string message;
};

class Authenticator {
 public:
  Authenticator(AuthStore store, AuthSettings settings);

  const AuthStore& store() const { return store_; }
  const AuthSettings& settings() const { return settings_; }

  // Headers with lower-case names, as HttpServer gives them.
  Authentication authenticate(const std::map<std::string, std::string>& headers);

  LoginResult login(const std::string& user, const std::string& password, const std::string& address);
  Result<bool> logout(const std::string& session_hash);

  struct CreatedToken {
    TokenRecord record;
    std::string text;  // shown once
  };
  // `expires`: RFC 3339 or "" for a token that does not expire.
  Result<CreatedToken> create_token(const std::string& user, const std::string& description,
                                    const std::string& expires);

  // For `pgstack up`: makes sure `user` exists with the admin role in every namespace, and that
  // `token_file` (0600) holds a working token of that user, issuing a new one when it does not.
  Result<bool> bootstrap_admin(const std::string& user, const std::filesystem::path& token_file);

 private:
  Authentication from_token(const std::string& text);
  Authentication from_session(const std::string& session_id);

  AuthStore store_;
  AuthSettings settings_;
  LoginThrottle throttle_;
  std::counting_semaphore<64> password_checks_;
};

// The value of cookie `name` in a Cookie header ("" when absent).
std::string cookie_value(std::string_view header, std::string_view name);

}  // namespace pgstack::auth
