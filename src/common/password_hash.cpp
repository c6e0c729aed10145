#include "common/password_hash.h"

#include <cerrno>
#include <crypt.h>
#include <cstring>
#include <memory>

#include <fmt/format.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

namespace pgstack {

Result<std::string> random_password(std::size_t length) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  constexpr std::size_t kAlphabetSize = sizeof(kAlphabet) - 1;  // 62
  std::string password;
  while (password.size() < length) {
    unsigned char bytes[64];
    if (RAND_bytes(bytes, sizeof bytes) != 1) return make_error(ErrorCode::kInternal, "RAND_bytes failed");
    // 248 = 4 * 62: bytes above it are dropped so that every character is equally likely.
    for (const unsigned char byte : bytes) {
      if (byte < 248 && password.size() < length) password += kAlphabet[byte % kAlphabetSize];
    }
  }
  return password;
}

Result<std::string> bcrypt_hash(std::string_view password, int cost) {
  unsigned char entropy[16];
  if (RAND_bytes(entropy, sizeof entropy) != 1) return make_error(ErrorCode::kInternal, "RAND_bytes failed");
  char salt[CRYPT_GENSALT_OUTPUT_SIZE];
  if (::crypt_gensalt_rn("$2b$", static_cast<unsigned long>(cost), reinterpret_cast<const char*>(entropy),
                         sizeof entropy, salt, sizeof salt) == nullptr)
    return make_error(ErrorCode::kInternal, fmt::format("crypt_gensalt: bcrypt is not available ({})", errno));
  auto data = std::make_unique<crypt_data>();
  const std::string text(password);
  const char* hash = ::crypt_rn(text.c_str(), salt, data.get(), sizeof(crypt_data));
  if (hash == nullptr || hash[0] != '$') return make_error(ErrorCode::kInternal, "crypt: bcrypt failed");
  return std::string(hash);
}

bool bcrypt_matches(std::string_view password, const std::string& hash) {
  auto data = std::make_unique<crypt_data>();
  const std::string text(password);
  const char* computed = ::crypt_rn(text.c_str(), hash.c_str(), data.get(), sizeof(crypt_data));
  if (computed == nullptr || computed[0] != '$') return false;
  return constant_time_equal(computed, hash);
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace pgstack
