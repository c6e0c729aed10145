// What a REST request needs before it is served (pure): nothing (health, login), only a known caller
// (their own session, tokens, whoami), or a permission of the access policy. A request is classified
// from the segments the API routes on (split_path in api_input.h, applied once by AccessGate), so the
// check and the handler cannot disagree about what a request is.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "auth/access_policy.h"

namespace pgstack::controller {

struct RequiredAccess {
  enum class Level { kPublic, kAuthenticated, kPermission };
  Level level = Level::kAuthenticated;
  auth::Permission permission;  // for kPermission
  // Recorded in the audit trail: mutations, and reads that reveal credentials or Secret values.
  bool audited = false;
  // Said in a 403 when the permission asked for is wider than the request looks (the raw PromQL query).
  std::string why;
};

// `parts`: the request's path split and decoded by split_path.
RequiredAccess required_access(const std::string& method, const std::vector<std::string>& parts,
                               const std::map<std::string, std::string>& query);

}  // namespace pgstack::controller
