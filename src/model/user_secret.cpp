#include "model/user_secret.h"

#include <algorithm>
#include <array>
#include <cstdint>

#include <fmt/format.h>

#include "model/kinds.h"

namespace pgstack::model {
namespace {

constexpr std::string_view kBase64Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
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

std::string base64_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (std::size_t i = 0; i < bytes.size(); i += 3) {
    const std::size_t left = std::min<std::size_t>(3, bytes.size() - i);
    std::uint32_t chunk = 0;
    for (std::size_t k = 0; k < 3; ++k)
      chunk = (chunk << 8) | (k < left ? static_cast<unsigned char>(bytes[i + k]) : 0U);
    for (std::size_t k = 0; k < 4; ++k) out += k <= left ? kBase64Alphabet[(chunk >> (18 - 6 * k)) & 0x3F] : '=';
  }
  return out;
}

Result<std::string> base64_decode(std::string_view text) {
  const auto bad = [] { return make_error(ErrorCode::kInvalidInput, "invalid base64"); };
  if (text.size() % 4 != 0) return bad();
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (std::size_t i = 0; i < text.size(); i += 4) {
    std::uint32_t chunk = 0;
    int padding = 0;
    for (std::size_t k = 0; k < 4; ++k) {
      const char c = text[i + k];
      if (c == '=') {
        // Padding only in the last group, only at its end.
        if (i + 4 != text.size() || k < 2) return bad();
        ++padding;
        chunk <<= 6;
        continue;
      }
      if (padding > 0) return bad();
      const auto at = kBase64Alphabet.find(c);
      if (at == std::string_view::npos) return bad();
      chunk = (chunk << 6) | static_cast<std::uint32_t>(at);
    }
    out += static_cast<char>((chunk >> 16) & 0xFF);
    if (padding < 2) out += static_cast<char>((chunk >> 8) & 0xFF);
    if (padding < 1) out += static_cast<char>(chunk & 0xFF);
  }
  return out;
}

}  // namespace pgstack::model
