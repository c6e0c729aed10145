// What a REST request needs before it is served (pure): nothing (health, login), only a known caller
// (their own session, tokens, whoami), or a permission of the access policy. Every path is classified
// from the same segments the API routes on (api_path_segments), so the check and the handler cannot
// disagree about what a request is.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "auth/access_policy.h"

namespace pgstack::controller {

// The non-empty '/'-separated segments of a request path.
std::vector<std::string> api_path_segments(const std::string& path);

struct RequiredAccess {
  enum class Level { kPublic, kAuthenticated, kPermission };
  Level level = Level::kAuthenticated;
  auth::Permission permission;  // for kPermission
  // Recorded in the audit trail: mutations, and reads that reveal credentials or Secret values.
  bool audited = false;
};

RequiredAccess required_access(const std::string& method, const std::string& path,
                               const std::map<std::string, std::string>& query);

}  // namespace pgstack::controller
