// The API's own identity endpoints (docs/api.md, Authentication): login/logout/whoami, StackGres'
// can-i, users, tokens and the audit trail. Every caller but login's is already authenticated by
// AccessGate, which also checked the permissions request_access() names; checks that depend on who
// the caller is (their own tokens, their own password) are made here.
#pragma once

#include <optional>

#include "auth/authenticator.h"
#include "common/http_server.h"
#include "model/document.h"

namespace pgstack::controller {

class AuthApi {
 public:
  explicit AuthApi(auth::Authenticator& authenticator) : authenticator_(authenticator) {}

  HttpReply login(const HttpRequest& request);
  // `caller` is authenticated; `parts` (the path's segments, as AccessGate split them) start with
  // "auth" or "apis", "pgstack.io".
  HttpReply handle(const HttpRequest& request, const std::vector<std::string>& parts, const auth::Principal& caller);

 private:
  HttpReply logout(const auth::Principal& caller);
  HttpReply can_i(const HttpRequest& request, const auth::Principal& caller, const std::vector<std::string>& parts);
  HttpReply users(const HttpRequest& request, const auth::Principal& caller, const std::vector<std::string>& parts);
  HttpReply tokens(const HttpRequest& request, const auth::Principal& caller, const std::vector<std::string>& parts);
  HttpReply audit(const HttpRequest& request);
  // 409 when `change` would leave no admin of every namespace (nobody could manage users again).
  std::optional<HttpReply> keeps_an_admin(const std::string& user, const std::vector<auth::RoleBinding>& new_roles);

  auth::Authenticator& authenticator_;
};

// The body of an auth request: one JSON object, read with the manifest reader's limits.
Result<model::Json> decode_json_object(std::string_view body);

// The session cookie that logs a browser in, and the one that logs it out.
std::string session_cookie(const std::string& session_id, std::chrono::seconds lifetime);
std::string expired_session_cookie();

}  // namespace pgstack::controller
