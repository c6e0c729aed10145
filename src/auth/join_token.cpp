#include "auth/join_token.h"

#include <vector>

#include "auth/token.h"
#include "common/strings.h"

namespace pgstack::auth {
namespace {

constexpr std::size_t kJoinIdLength = 16;
constexpr std::size_t kJoinSecretLength = 43;  // 32 bytes, base64url without padding
constexpr std::size_t kCaDigestLength = 64;

bool made_of(std::string_view text, std::string_view alphabet) {
  return text.find_first_not_of(alphabet) == std::string_view::npos;
}
constexpr std::string_view kHexDigits = "0123456789abcdef";
constexpr std::string_view kBase64UrlDigits = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

}  // namespace

JoinToken issue_join_token(std::string_view ca_sha256) {
  // An API token's id and secret have the same sizes and randomness; only the text around them differs.
  const IssuedToken random = issue_token();
  const auto presented = parse_token(random.text);
  return JoinToken{presented->id, presented->secret, std::string(ca_sha256)};
}

std::optional<JoinToken> parse_join_token(std::string_view text) {
  const std::vector<std::string> parts = split(text, '.');
  if (parts.size() != 4 || parts[0] != "pgsjoin") return std::nullopt;
  JoinToken token{parts[1], parts[2], parts[3]};
  if (token.id.size() != kJoinIdLength || !made_of(token.id, kHexDigits)) return std::nullopt;
  if (token.secret.size() != kJoinSecretLength || !made_of(token.secret, kBase64UrlDigits)) return std::nullopt;
  if (token.ca_sha256.size() != kCaDigestLength || !made_of(token.ca_sha256, kHexDigits)) return std::nullopt;
  return token;
}

}  // namespace pgstack::auth
