#include "auth/auth_store.h"

#include <atomic>

#include <fmt/format.h>

#include "common/time.h"

namespace pgstack::auth {
namespace {

using nlohmann::json;

Result<json> parse_record(const store::KeyValue& kv) {
  json parsed = json::parse(kv.value, nullptr, false);
  if (parsed.is_discarded() || !parsed.is_object())
    return make_error(ErrorCode::kInternal, fmt::format("etcd key {} does not hold a JSON object", kv.key));
  return parsed;
}

Result<User> user_from(const store::KeyValue& kv) {
  auto parsed = parse_record(kv);
  RETURN_IF_ERROR(parsed);
  const json& record = parsed.value();
  User user;
  user.name = record.value("name", "");
  user.password_hash = record.value("passwordHash", "");
  user.created = record.value("created", "");
  user.revision = kv.mod_revision;
  auto roles = bindings_from_json(record.value("roles", json::array()));
  if (!roles.ok())
    return make_error(ErrorCode::kInternal, fmt::format("etcd key {}: {}", kv.key, roles.error().message));
  user.roles = std::move(roles.value());
  return user;
}

std::string user_record(const User& user) {
  return json{{"name", user.name},
              {"passwordHash", user.password_hash},
              {"roles", bindings_to_json(user.roles)},
              {"created", user.created}}
      .dump();
}

TokenRecord token_from(const json& record) {
  TokenRecord token;
  token.id = record.value("id", "");
  token.user = record.value("user", "");
  token.digest = record.value("digest", "");
  token.description = record.value("description", "");
  token.created = record.value("created", "");
  token.expires = record.value("expires", "");
  token.last_used = record.value("lastUsed", "");
  return token;
}

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// Keys sort by time: microseconds, zero-padded, then a per-process counter against collisions.
std::string audit_key_suffix() {
  static std::atomic<std::uint64_t> sequence{0};
  const auto micros =
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  return fmt::format("{:020d}-{:06d}", micros, sequence++ % 1000000);
}

}  // namespace

json user_summary(const User& user) {
  return {{"name", user.name},
          {"roles", bindings_to_json(user.roles)},
          {"hasPassword", !user.password_hash.empty()},
          {"created", user.created}};
}

json token_summary(const TokenRecord& token) {
  return {{"id", token.id},
          {"user", token.user},
          {"description", token.description},
          {"created", token.created},
          {"expires", token.expires.empty() ? json(nullptr) : json(token.expires)},
          {"lastUsed", token.last_used.empty() ? json(nullptr) : json(token.last_used)}};
}

std::string user_name_problem(std::string_view name) {
  if (name.empty() || name.size() > 64) return "a user name has 1 to 64 characters";
  for (const char c : name) {
    const bool allowed = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                         c == '_' || c == '.' || c == '@';
    if (!allowed) return "a user name has only letters, digits and - _ . @";
  }
  if (name == "." || name == "..") return "a user name cannot be . or ..";
  return "";
}

AuthStore::AuthStore(const store::EtcdClient& client, std::string prefix, std::size_t audit_limit)
    : client_(client), prefix_(std::move(prefix)), audit_limit_(audit_limit) {}

Result<std::optional<User>> AuthStore::get_user(const std::string& name) const {
  auto kv = client_.get(users_prefix() + name);
  RETURN_IF_ERROR(kv);
  if (!kv->has_value()) return std::optional<User>();
  auto user = user_from(**kv);
  RETURN_IF_ERROR(user);
  return std::optional<User>(std::move(user.value()));
}

Result<std::vector<User>> AuthStore::list_users() const {
  auto range = client_.get_prefix(users_prefix());
  RETURN_IF_ERROR(range);
  std::vector<User> out;
  for (const auto& kv : range->items) {
    auto user = user_from(kv);
    RETURN_IF_ERROR(user);
    out.push_back(std::move(user.value()));
  }
  return out;
}

Result<bool> AuthStore::create_user(const User& user) const {
  auto written = client_.put_if(users_prefix() + user.name, user_record(user), 0);
  if (!written.ok()) {
    if (written.error().code == ErrorCode::kConflict)
      return make_error(ErrorCode::kAlreadyExists, fmt::format("user \"{}\" already exists", user.name));
    return written.error();
  }
  return true;
}

Result<bool> AuthStore::update_user(const User& user) const {
  auto written = client_.put_if(users_prefix() + user.name, user_record(user), user.revision);
  RETURN_IF_ERROR(written);
  return true;
}

Result<bool> AuthStore::delete_user(const std::string& name) const {
  auto removed = client_.remove(users_prefix() + name);
  RETURN_IF_ERROR(removed);
  auto tokens = list_tokens();
  RETURN_IF_ERROR(tokens);
  for (const auto& token : tokens.value()) {
    if (token.user != name) continue;
    RETURN_IF_ERROR(delete_token(token.id));
  }
  RETURN_IF_ERROR(delete_sessions_of(name));
  return removed.value();
}

Result<bool> AuthStore::put_token(const TokenRecord& token) const {
  const json record = {{"id", token.id},
                       {"user", token.user},
                       {"digest", token.digest},
                       {"description", token.description},
                       {"created", token.created},
                       {"expires", token.expires},
                       {"lastUsed", token.last_used}};
  auto written = client_.put(tokens_prefix() + token.id, record.dump());
  RETURN_IF_ERROR(written);
  return true;
}

Result<std::optional<TokenRecord>> AuthStore::get_token(const std::string& id) const {
  auto kv = client_.get(tokens_prefix() + id);
  RETURN_IF_ERROR(kv);
  if (!kv->has_value()) return std::optional<TokenRecord>();
  auto record = parse_record(**kv);
  RETURN_IF_ERROR(record);
  return std::optional<TokenRecord>(token_from(record.value()));
}

Result<std::vector<TokenRecord>> AuthStore::list_tokens() const {
  auto range = client_.get_prefix(tokens_prefix());
  RETURN_IF_ERROR(range);
  std::vector<TokenRecord> out;
  for (const auto& kv : range->items) {
    auto record = parse_record(kv);
    RETURN_IF_ERROR(record);
    out.push_back(token_from(record.value()));
  }
  return out;
}

Result<bool> AuthStore::delete_token(const std::string& id) const { return client_.remove(tokens_prefix() + id); }

Result<bool> AuthStore::put_session(const std::string& digest, const SessionRecord& session,
                                    std::chrono::seconds lifetime) const {
  auto lease = client_.grant_lease(lifetime);
  RETURN_IF_ERROR(lease);
  return touch_session(digest, session, lease.value());
}

Result<bool> AuthStore::touch_session(const std::string& digest, const SessionRecord& session,
                                      std::int64_t lease) const {
  const json record = {{"user", session.user}, {"created", session.created}, {"lastSeen", session.last_seen}};
  auto written = client_.put(sessions_prefix() + digest, record.dump(), lease);
  RETURN_IF_ERROR(written);
  return true;
}

Result<std::optional<AuthStore::StoredSession>> AuthStore::get_session(const std::string& digest) const {
  auto kv = client_.get(sessions_prefix() + digest);
  RETURN_IF_ERROR(kv);
  if (!kv->has_value()) return std::optional<StoredSession>();
  auto record = parse_record(**kv);
  RETURN_IF_ERROR(record);
  StoredSession stored;
  stored.session.user = record->value("user", "");
  stored.session.created = record->value("created", std::int64_t{0});
  stored.session.last_seen = record->value("lastSeen", std::int64_t{0});
  stored.lease = (*kv)->lease;
  return std::optional<StoredSession>(stored);
}

Result<bool> AuthStore::delete_session(const std::string& digest) const {
  return client_.remove(sessions_prefix() + digest);
}

Result<std::int64_t> AuthStore::delete_sessions_of(const std::string& user) const {
  auto range = client_.get_prefix(sessions_prefix());
  RETURN_IF_ERROR(range);
  std::int64_t removed = 0;
  for (const auto& kv : range->items) {
    auto record = parse_record(kv);
    if (record.ok() && record->value("user", "") != user) continue;
    auto deleted = client_.remove(kv.key);
    RETURN_IF_ERROR(deleted);
    removed += deleted.value() ? 1 : 0;
  }
  return removed;
}

Result<bool> AuthStore::append_audit(json entry) const {
  static std::atomic<std::uint64_t> appended{0};
  const auto now = std::chrono::system_clock::now();
  entry["time"] = utc_timestamp(now);
  entry["unixTime"] = unix_now();
  auto written = client_.put(audit_prefix() + audit_key_suffix(), entry.dump());
  RETURN_IF_ERROR(written);
  // Pruning reads the whole trail: do it once per 50 entries, so the bound is exceeded by at most 50.
  if (++appended % 50 == 1) return prune_audit();
  return true;
}

Result<bool> AuthStore::prune_audit() const {
  auto range = client_.get_prefix(audit_prefix());
  RETURN_IF_ERROR(range);
  const auto& items = range->items;
  if (items.size() <= audit_limit_) return true;
  for (std::size_t i = 0; i < items.size() - audit_limit_; ++i) {
    RETURN_IF_ERROR(client_.remove(items[i].key));
  }
  return true;
}

Result<std::vector<json>> AuthStore::list_audit(std::int64_t since) const {
  auto range = client_.get_prefix(audit_prefix());
  RETURN_IF_ERROR(range);
  std::vector<json> out;
  for (const auto& kv : range->items) {
    auto record = parse_record(kv);
    if (!record.ok()) continue;
    if (record->value("unixTime", std::int64_t{0}) < since) continue;
    out.push_back(std::move(record.value()));
  }
  return out;
}

}  // namespace pgstack::auth
