#include "auth/authenticator.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "auth/password.h"
#include "auth/token.h"
#include "common/files.h"
#include "common/strings.h"
#include "common/time.h"

namespace pgstack::auth {
namespace {

std::int64_t unix_seconds(std::chrono::system_clock::time_point when) {
  return std::chrono::duration_cast<std::chrono::seconds>(when.time_since_epoch()).count();
}

// Token "last used" is written at most this often, so that reads do not turn into etcd writes.
constexpr std::int64_t kLastUsedResolutionSeconds = 60;
// A session's "last seen" likewise; the idle timeout is therefore exact to within this.
constexpr std::int64_t kLastSeenResolutionSeconds = 30;

bool is_expired(const std::string& expires, std::chrono::system_clock::time_point now) {
  if (expires.empty()) return false;
  const auto when = parse_utc_timestamp(expires);
  return !when || *when <= now;
}

}  // namespace

std::string cookie_value(std::string_view header, std::string_view name) {
  for (const auto& part : split(header, ';')) {
    const std::string pair = trim(part);
    const auto equals = pair.find('=');
    if (equals != std::string::npos && std::string_view(pair).substr(0, equals) == name) return pair.substr(equals + 1);
  }
  return "";
}

Authenticator::Authenticator(AuthStore store, AuthSettings settings)
    : store_(std::move(store)),
      settings_(settings),
      throttle_(settings.throttle),
      password_checks_(std::clamp<std::ptrdiff_t>(settings.concurrent_password_checks, 1, 64)) {}

Authentication Authenticator::authenticate(const std::map<std::string, std::string>& headers) {
  if (const auto authorization = headers.find("authorization"); authorization != headers.end()) {
    const std::string& value = authorization->second;
    if (!starts_with_ignoring_case(value, "Bearer "))
      return {std::nullopt, "the Authorization header must be \"Bearer <token>\""};
    return from_token(trim(value.substr(7)));
  }
  if (const auto cookie = headers.find("cookie"); cookie != headers.end()) {
    const std::string session = cookie_value(cookie->second, kSessionCookie);
    if (!session.empty()) return from_session(session);
  }
  return {std::nullopt, "no credentials: send \"Authorization: Bearer <token>\" or log in (POST /auth/login)"};
}

Authentication Authenticator::from_token(const std::string& text) {
  static const std::string kInvalid = "the token is invalid, expired or revoked";
  const auto presented = parse_token(text);
  if (!presented) return {std::nullopt, kInvalid};
  auto stored = store_.get_token(presented->id);
  if (!stored.ok()) return {std::nullopt, "cannot check the token: " + stored.error().message, true};
  if (!stored->has_value() || !digests_equal((*stored)->digest, secret_digest(presented->secret)))
    return {std::nullopt, kInvalid};
  TokenRecord token = **stored;
  const auto now = std::chrono::system_clock::now();
  if (is_expired(token.expires, now)) return {std::nullopt, kInvalid};
  auto user = store_.get_user(token.user);
  if (!user.ok()) return {std::nullopt, "cannot check the token: " + user.error().message, true};
  if (!user->has_value()) return {std::nullopt, kInvalid};
  const auto last_used = parse_utc_timestamp(token.last_used);
  if (!last_used || unix_seconds(now) - unix_seconds(*last_used) >= kLastUsedResolutionSeconds) {
    token.last_used = utc_timestamp(now);
    // Losing a "last used" write costs nothing but precision; the request goes on.
    if (auto written = store_.put_token(token); !written.ok())
      spdlog::warn("could not record the use of token {}: {}", token.id, written.error().message);
  }
  return {Principal{token.user, (*user)->roles, token.id, ""}, ""};
}

Authentication Authenticator::from_session(const std::string& session_id) {
  static const std::string kEnded = "the session has ended: log in again";
  const std::string digest = secret_digest(session_id);
  auto stored = store_.get_session(digest);
  if (!stored.ok()) return {std::nullopt, "cannot check the session: " + stored.error().message, true};
  if (!stored->has_value()) return {std::nullopt, kEnded};
  auto [session, lease] = **stored;
  const std::int64_t now = unix_seconds(std::chrono::system_clock::now());
  if (now - session.last_seen >= settings_.session_idle_timeout.count() ||
      now - session.created >= settings_.session_lifetime.count()) {
    (void)store_.delete_session(digest);
    return {std::nullopt, kEnded};
  }
  auto user = store_.get_user(session.user);
  if (!user.ok()) return {std::nullopt, "cannot check the session: " + user.error().message, true};
  if (!user->has_value()) return {std::nullopt, kEnded};
  if (now - session.last_seen >= kLastSeenResolutionSeconds) {
    session.last_seen = now;
    if (auto written = store_.touch_session(digest, session, lease); !written.ok())
      spdlog::warn("could not record a session's activity: {}", written.error().message);
  }
  return {Principal{session.user, (*user)->roles, "", digest}, ""};
}

LoginResult Authenticator::login(const std::string& user, const std::string& password, const std::string& address) {
  using Outcome = LoginResult::Outcome;
  static const std::string kRejected = "wrong user name or password";
  const auto now = LoginThrottle::Clock::now();
  if (const auto wait = throttle_.retry_after(user, address, now); wait.count() > 0)
    return {Outcome::kThrottled, "", wait, fmt::format("too many failed logins: try again in {} s", wait.count())};
  auto stored = store_.get_user(user);
  if (!stored.ok()) return {Outcome::kUnavailable, "", {}, "cannot check the login: " + stored.error().message};
  if (!password_checks_.try_acquire_for(settings_.password_check_wait))
    return {Outcome::kBusy, "", std::chrono::seconds(1), "too many logins at once: try again"};
  bool verified = false;
  if (stored->has_value() && !(*stored)->password_hash.empty()) {
    verified = verify_password(password, (*stored)->password_hash);
  } else {
    verify_against_nothing(password);  // the same time whether or not the user exists
  }
  password_checks_.release();
  if (!verified) {
    throttle_.record_failure(user, address, LoginThrottle::Clock::now());
    return {Outcome::kRejected, "", {}, kRejected};
  }
  throttle_.record_success(user, LoginThrottle::Clock::now());
  const std::string session_id = new_session_id();
  const std::int64_t unix_now = unix_seconds(std::chrono::system_clock::now());
  auto written = store_.put_session(secret_digest(session_id), {user, unix_now, unix_now}, settings_.session_lifetime);
  if (!written.ok()) return {Outcome::kUnavailable, "", {}, "cannot store the session: " + written.error().message};
  return {Outcome::kLoggedIn, session_id, {}, ""};
}

Result<bool> Authenticator::logout(const std::string& session_hash) { return store_.delete_session(session_hash); }

Result<Authenticator::CreatedToken> Authenticator::create_token(const std::string& user, const std::string& description,
                                                                const std::string& expires) {
  if (!expires.empty()) {
    const auto when = parse_utc_timestamp(expires);
    if (!when)
      return make_error(
          ErrorCode::kInvalidInput,
          fmt::format("expires: expected an RFC 3339 time such as 2027-01-31T00:00:00Z, got \"{}\"", expires));
    if (*when <= std::chrono::system_clock::now())
      return make_error(ErrorCode::kInvalidInput, fmt::format("expires: {} is in the past", expires));
  }
  if (description.size() > 200) return make_error(ErrorCode::kInvalidInput, "description: at most 200 characters");
  const IssuedToken issued = issue_token();
  TokenRecord record;
  record.id = issued.id;
  record.user = user;
  record.digest = issued.digest;
  record.description = description;
  record.created = utc_timestamp(std::chrono::system_clock::now());
  if (!expires.empty()) record.expires = utc_timestamp(*parse_utc_timestamp(expires));
  RETURN_IF_ERROR(store_.put_token(record));
  return CreatedToken{record, issued.text};
}

Result<bool> Authenticator::bootstrap_admin(const std::string& user, const std::filesystem::path& token_file) {
  if (auto problem = user_name_problem(user); !problem.empty())
    return make_error(ErrorCode::kInvalidInput, fmt::format("--bootstrap-admin \"{}\": {}", user, problem));
  auto existing = store_.get_user(user);
  RETURN_IF_ERROR(existing);
  if (!existing->has_value()) {
    User admin;
    admin.name = user;
    admin.roles = {RoleBinding{Role::kAdmin, std::string(kAllNamespaces)}};
    admin.created = utc_timestamp(std::chrono::system_clock::now());
    auto created = store_.create_user(admin);
    if (!created.ok() && created.error().code != ErrorCode::kAlreadyExists) return created.error();
    spdlog::info("created the first admin user \"{}\"", user);
  } else if (!allows((*existing)->roles, {"create", "users", ""})) {
    return make_error(ErrorCode::kFailedPrecondition,
                      fmt::format("user \"{}\" exists but is not an admin of every namespace; not changing it", user));
  }
  if (std::filesystem::exists(token_file)) {
    auto text = read_file(token_file);
    if (text.ok()) {
      std::map<std::string, std::string> headers{{"authorization", "Bearer " + trim(text.value())}};
      auto known = authenticate(headers);
      if (known.unavailable) return make_error(ErrorCode::kUnavailable, known.problem);
      if (known.principal && known.principal->user == user) return true;
    }
  }
  auto token = create_token(user, "made by pgstack up for " + user, "");
  RETURN_IF_ERROR(token);
  // A directory made here is private; one that exists (a state dir others must enter) is left alone.
  std::error_code error;
  if (!std::filesystem::exists(token_file.parent_path(), error)) {
    std::filesystem::create_directories(token_file.parent_path(), error);
    if (error)
      return make_error(ErrorCode::kUnavailable,
                        fmt::format("cannot create {}: {}", token_file.parent_path().string(), error.message()));
    std::filesystem::permissions(token_file.parent_path(), std::filesystem::perms::owner_all, error);
  }
  RETURN_IF_ERROR(write_file_atomically(token_file, token->text + "\n",
                                        std::filesystem::perms::owner_read | std::filesystem::perms::owner_write));
  spdlog::info("wrote a token of \"{}\" to {} (0600)", user, token_file.string());
  return true;
}

}  // namespace pgstack::auth
