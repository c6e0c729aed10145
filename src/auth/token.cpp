#include "auth/token.h"

#include <sodium.h>

#include "auth/sodium_init.h"

namespace pgstack::auth {
namespace {

std::string random_hex(std::size_t bytes) {
  ensure_sodium();
  std::string raw(bytes, '\0');
  randombytes_buf(raw.data(), raw.size());
  std::string hex(bytes * 2 + 1, '\0');
  sodium_bin2hex(hex.data(), hex.size(), reinterpret_cast<const unsigned char*>(raw.data()), raw.size());
  hex.pop_back();
  return hex;
}

std::string random_base64url(std::size_t bytes) {
  ensure_sodium();
  std::string raw(bytes, '\0');
  randombytes_buf(raw.data(), raw.size());
  std::string out(sodium_base64_ENCODED_LEN(bytes, sodium_base64_VARIANT_URLSAFE_NO_PADDING), '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(raw.data()), raw.size(),
                    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  out.resize(out.find('\0'));
  return out;
}

bool is_hex(std::string_view text) { return text.find_first_not_of("0123456789abcdef") == std::string_view::npos; }

bool is_base64url(std::string_view text) {
  return text.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") ==
         std::string_view::npos;
}

constexpr std::size_t kIdHexLength = 16;
constexpr std::size_t kSecretLength = 43;  // 32 bytes, base64url without padding

}  // namespace

IssuedToken issue_token() {
  IssuedToken token;
  token.id = random_hex(kIdHexLength / 2);
  const std::string secret = random_base64url(32);
  token.text = "pgs_" + token.id + "_" + secret;
  token.digest = secret_digest(secret);
  return token;
}

std::optional<PresentedToken> parse_token(std::string_view text) {
  if (text.size() != 4 + kIdHexLength + 1 + kSecretLength || !text.starts_with("pgs_") || text[4 + kIdHexLength] != '_')
    return std::nullopt;
  PresentedToken out{std::string(text.substr(4, kIdHexLength)), std::string(text.substr(5 + kIdHexLength))};
  if (!is_hex(out.id) || !is_base64url(out.secret)) return std::nullopt;
  return out;
}

std::string new_session_id() { return random_base64url(32); }

std::string secret_digest(std::string_view secret) {
  ensure_sodium();
  unsigned char digest[32];
  crypto_generichash(digest, sizeof digest, reinterpret_cast<const unsigned char*>(secret.data()), secret.size(),
                     nullptr, 0);
  char hex[sizeof digest * 2 + 1];
  sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
  return hex;
}

bool digests_equal(std::string_view a, std::string_view b) {
  return a.size() == b.size() && sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace pgstack::auth
