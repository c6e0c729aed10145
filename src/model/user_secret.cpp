#include "model/user_secret.h"

#include <algorithm>
#include <array>
#include <cstdint>

#include <fmt/format.h>

#include "common/digest.h"
#include "model/kinds.h"

namespace pgstack::model {
namespace {

constexpr std::size_t kMaxKeyLength = 253;

bool is_utf8(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto byte = static_cast<unsigned char>(text[i]);
    std::size_t length = byte < 0x80           ? 1
                         : (byte >> 5) == 0x6  ? 2
                         : (byte >> 4) == 0xE  ? 3
                         : (byte >> 3) == 0x1E ? 4
                                               : 0;
    if (length == 0 || i + length > text.size()) return false;
    for (std::size_t k = 1; k < length; ++k) {
      if ((static_cast<unsigned char>(text[i + k]) >> 6) != 0x2) return false;
    }
    i += length;
  }
  return true;
}

Error invalid(std::string_view field, std::string_view message) {
  return make_error(ErrorCode::kInvalidInput, fmt::format("Secret {}: {}", field, message));
}

// One of stringData / data into `out`; `encoded` for data (base64).
Result<bool> read_values(const Json& body, const char* field, bool encoded, std::map<std::string, std::string>& out) {
  if (!body.contains(field) || body[field].is_null()) return true;
  const Json& values = body[field];
  if (!values.is_object()) return invalid(field, "expected a map of key to value");
  for (const auto& [key, value] : values.items()) {
    const std::string where = fmt::format("{}.{}", field, key);
    if (!is_valid_secret_key(key))
      return invalid(where, "invalid key: expected letters, digits, '-', '_' or '.' (at most 253 characters)");
    if (!value.is_string()) return invalid(where, "expected a string value (quote numbers and booleans in YAML)");
    std::string text = value.get<std::string>();
    if (encoded) {
      auto decoded = base64_decode(text);
      if (!decoded) return invalid(where, "expected base64 (use stringData for plain text)");
      text = std::move(decoded).value();
    }
    if (!is_utf8(text) || text.find('\0') != std::string::npos)
      return invalid(where, "the value must be UTF-8 text without NUL bytes");
    out[key] = std::move(text);
  }
  return true;
}

}  // namespace

bool is_valid_secret_key(std::string_view key) {
  if (key.empty() || key.size() > kMaxKeyLength || key == "." || key == "..") return false;
  for (const char c : key) {
    const bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
}

Result<UserSecret> secret_from_manifest(const Json& body, std::string_view namespace_name) {
  if (!body.is_object()) return make_error(ErrorCode::kInvalidInput, "Secret: expected a JSON or YAML object");
  if (body.value("apiVersion", Json()) != Json("v1")) return invalid("apiVersion", "expected \"v1\"");
  if (body.value("kind", Json()) != Json("Secret")) return invalid("kind", "expected \"Secret\"");
  if (body.contains("type") && body["type"] != Json("Opaque"))
    return invalid("type", "only \"Opaque\" Secrets are supported");
  const Json metadata = body.value("metadata", Json());
  if (!metadata.is_object()) return invalid("metadata", "expected an object with a name");
  UserSecret secret;
  const Json name = metadata.value("name", Json());
  if (!name.is_string() || !is_valid_resource_name(name.get<std::string>()))
    return invalid("metadata.name",
                   "expected a DNS-1123 label (lower-case letters, digits, '-', at most 63 characters)");
  secret.name = name.get<std::string>();
  secret.namespace_name = std::string(namespace_name);
  if (metadata.contains("namespace") && metadata["namespace"] != Json(namespace_name))
    return invalid("metadata.namespace", fmt::format("is {} but the request is for namespace {}",
                                                     metadata["namespace"].dump(), namespace_name));
  for (const auto& [key, value] : body.items()) {
    static const std::array<std::string_view, 6> known = {"apiVersion", "kind", "metadata",
                                                          "type",       "data", "stringData"};
    if (std::find(known.begin(), known.end(), key) == known.end())
      return invalid(key, "unknown field; expected apiVersion, kind, metadata, type, data or stringData");
  }
  RETURN_IF_ERROR(read_values(body, "data", true, secret.data));
  RETURN_IF_ERROR(read_values(body, "stringData", false, secret.data));
  if (secret.data.empty()) return invalid("stringData", "the Secret has no keys: give stringData or data");
  std::size_t size = 0;
  for (const auto& [key, value] : secret.data) size += key.size() + value.size();
  if (size > kMaxSecretBytes)
    return invalid("data", fmt::format("the keys and values total {} bytes; a Secret holds at most {} (1 MiB, as "
                                       "in Kubernetes)",
                                       size, kMaxSecretBytes));
  return secret;
}

Json secret_summary(const UserSecret& secret, std::int64_t resource_version) {
  Json keys = Json::array();
  for (const auto& [key, value] : secret.data) keys.push_back(key);
  return Json{{"apiVersion", "v1"},
              {"kind", "Secret"},
              {"metadata",
               {{"name", secret.name},
                {"namespace", secret.namespace_name},
                {"resourceVersion", std::to_string(resource_version)}}},
              {"type", "Opaque"},
              {"keys", std::move(keys)}};
}

Json secret_revealed(const UserSecret& secret, std::int64_t resource_version) {
  Json out = secret_summary(secret, resource_version);
  Json data = Json::object();
  for (const auto& [key, value] : secret.data) data[key] = base64_encode(value);
  out["data"] = std::move(data);
  return out;
}

}  // namespace pgstack::model
