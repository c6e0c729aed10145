#include "auth/password.h"

#include <sodium.h>

#include <fmt/format.h>

#include "auth/sodium_init.h"

namespace pgstack::auth {
namespace {

// A real argon2id hash of a random string, made once: the target of verify_against_nothing.
const std::string& decoy_hash() {
  static const std::string hash = [] {
    ensure_sodium();
    unsigned char random[32];
    randombytes_buf(random, sizeof random);
    char out[crypto_pwhash_STRBYTES];
    if (crypto_pwhash_str(out, reinterpret_cast<const char*>(random), sizeof random, crypto_pwhash_OPSLIMIT_INTERACTIVE,
                          crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
      return std::string();
    return std::string(out);
  }();
  return hash;
}

}  // namespace

std::string password_problem(std::string_view password) {
  if (password.size() < kMinPasswordBytes)
    return fmt::format("the password is too short: at least {} characters", kMinPasswordBytes);
  if (password.size() > kMaxPasswordBytes)
    return fmt::format("the password is too long: at most {} bytes", kMaxPasswordBytes);
  if (password.find('\0') != std::string_view::npos) return "the password contains a NUL character";
  return "";
}

Result<std::string> hash_password(std::string_view password) {
  if (auto problem = password_problem(password); !problem.empty()) return make_error(ErrorCode::kInvalidInput, problem);
  ensure_sodium();
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str(out, password.data(), password.size(), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                        crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
    return make_error(ErrorCode::kUnavailable, "argon2id ran out of memory hashing a password");
  return std::string(out);
}

bool verify_password(std::string_view password, const std::string& stored_hash) {
  ensure_sodium();
  if (stored_hash.empty() || password.size() > kMaxPasswordBytes) return false;
  return crypto_pwhash_str_verify(stored_hash.c_str(), password.data(), password.size()) == 0;
}

void verify_against_nothing(std::string_view password) {
  const std::string& hash = decoy_hash();
  if (hash.empty() || password.size() > kMaxPasswordBytes) return;
  [[maybe_unused]] const int ignored = crypto_pwhash_str_verify(hash.c_str(), password.data(), password.size());
}

}  // namespace pgstack::auth
