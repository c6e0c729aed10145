// The controller's front door: every request is authenticated (bearer token or session cookie),
// authorized against the caller's roles (request_access + auth::allows), served, and, when it
// mutates something or reveals a credential, written to the audit trail. 401 and 403 are RFC 7807
// problems; a 403 names the permission that is missing.
#pragma once

#include "auth/authenticator.h"
#include "common/http_server.h"
#include "controller/api_server.h"
#include "controller/auth_api.h"
#include "controller/join_api.h"

namespace pgstack::controller {

class AccessGate {
 public:
  AccessGate(ApiHandler& api, auth::Authenticator& authenticator)
      : api_(api), authenticator_(authenticator), auth_api_(authenticator) {}

  HttpReply handle(const HttpRequest& request);
  // Serves the join endpoints (JoinApi); without it they answer 404.
  void serve_joins(const JoinApi* joins) { joins_ = joins; }

 private:
  void audit(const HttpRequest& request, const auth::Principal* caller, const std::string& attempted_user,
             const auth::Permission* permission, int status);

  ApiHandler& api_;
  auth::Authenticator& authenticator_;
  AuthApi auth_api_;
  const JoinApi* joins_ = nullptr;
};

}  // namespace pgstack::controller
