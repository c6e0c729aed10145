// Users, API tokens, browser sessions and the audit trail, kept in etcd (docs/api.md, key layout):
//   <prefix>/auth/users/<name>       {"name","passwordHash","roles","created"}
//   <prefix>/auth/tokens/<id>        {"id","user","digest","description","created","expires","lastUsed"}
//   <prefix>/auth/sessions/<digest>  {"user","created","lastSeen"} under a lease of the absolute lifetime
//   <prefix>/audit/<time>-<n>        one entry per mutation or reveal, the oldest dropped past a bound
// Only digests of tokens and session ids are stored; passwords only as argon2id hashes.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "auth/access_policy.h"
#include "common/error.h"
#include "store/etcd_client.h"

namespace pgstack::auth {

struct User {
  std::string name;
  std::string password_hash;  // "" : no password, tokens only
  std::vector<RoleBinding> roles;
  std::string created;
  std::int64_t revision = 0;  // etcd mod_revision, for conditional updates
};

// The user as the API shows it: never the hash, only whether a password is set.
nlohmann::json user_summary(const User& user);

struct TokenRecord {
  std::string id;
  std::string user;
  std::string digest;
  std::string description;
  std::string created;
  std::string expires;  // "" : never
  std::string last_used;
};

nlohmann::json token_summary(const TokenRecord& token);

struct SessionRecord {
  std::string user;
  std::int64_t created = 0;    // unix seconds
  std::int64_t last_seen = 0;  // unix seconds
};

// A user name: what a login form and a CLI flag can carry without quoting.
std::string user_name_problem(std::string_view name);

class AuthStore {
 public:
  AuthStore(const store::EtcdClient& client, std::string prefix, std::size_t audit_limit = 2000);

  Result<std::optional<User>> get_user(const std::string& name) const;
  Result<std::vector<User>> list_users() const;
  // kAlreadyExists when the name is taken.
  Result<bool> create_user(const User& user) const;
  // kConflict when the user changed since `user.revision` was read.
  Result<bool> update_user(const User& user) const;
  // Also deletes the user's tokens and sessions. false when there was no such user.
  Result<bool> delete_user(const std::string& name) const;

  Result<bool> put_token(const TokenRecord& token) const;
  Result<std::optional<TokenRecord>> get_token(const std::string& id) const;
  Result<std::vector<TokenRecord>> list_tokens() const;
  Result<bool> delete_token(const std::string& id) const;

  Result<bool> put_session(const std::string& digest, const SessionRecord& session,
                           std::chrono::seconds lifetime) const;
  // Rewrites last_seen, keeping the session's lease.
  Result<bool> touch_session(const std::string& digest, const SessionRecord& session, std::int64_t lease) const;
  struct StoredSession {
    SessionRecord session;
    std::int64_t lease = 0;
  };
  Result<std::optional<StoredSession>> get_session(const std::string& digest) const;
  Result<bool> delete_session(const std::string& digest) const;
  Result<std::int64_t> delete_sessions_of(const std::string& user) const;

  // Appends an entry (its "time" is set here) and, now and then, drops the oldest past the bound.
  Result<bool> append_audit(nlohmann::json entry) const;
  // Entries at or after `since` (unix seconds; 0: all), oldest first.
  Result<std::vector<nlohmann::json>> list_audit(std::int64_t since) const;

 private:
  std::string users_prefix() const { return prefix_ + "/auth/users/"; }
  std::string tokens_prefix() const { return prefix_ + "/auth/tokens/"; }
  std::string sessions_prefix() const { return prefix_ + "/auth/sessions/"; }
  std::string audit_prefix() const { return prefix_ + "/audit/"; }
  Result<bool> prune_audit() const;

  store::EtcdClient client_;
  std::string prefix_;
  std::size_t audit_limit_;
};

}  // namespace pgstack::auth
