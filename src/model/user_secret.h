// Users' Secrets (Kubernetes' v1 Secret, which StackGres manifests refer to, e.g. an SGObjectStorage's
// awsCredentials): reading the manifest and what may be shown of one. Pure, no I/O. Values are never
// part of an error message, a summary or a log line.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "model/document.h"

namespace pgstack::model {

struct UserSecret {
  std::string name;
  std::string namespace_name = "default";
  std::map<std::string, std::string> data;  // key -> value (UTF-8 text)
};

// Keys and values of one Secret together, as Kubernetes bounds them.
inline constexpr std::size_t kMaxSecretBytes = 1024 * 1024;

// Kubernetes' rule for a key in a Secret: [-._a-zA-Z0-9]+, at most 253 characters.
bool is_valid_secret_key(std::string_view key);

// A Secret document: {"apiVersion":"v1","kind":"Secret","metadata":{"name"},"stringData":{...}} and/or
// "data" (base64, as Kubernetes stores it; stringData wins for a key in both). metadata.namespace,
// when set, must be `namespace_name`. Errors name the field and never quote a value.
Result<UserSecret> secret_from_manifest(const Json& body, std::string_view namespace_name);

// What GET shows by default: the key names, never the values.
Json secret_summary(const UserSecret& secret, std::int64_t resource_version);
// The summary plus "data" (base64): only for an explicit request.
Json secret_revealed(const UserSecret& secret, std::int64_t resource_version);

}  // namespace pgstack::model
