// Users' passwords: argon2id (libsodium's crypto_pwhash_str, INTERACTIVE limits: about 0.35 s and
// 64 MiB a check on this machine), stored as the PHC string that carries its own parameters.
#pragma once

#include <string>
#include <string_view>

#include "common/error.h"

namespace pgstack::auth {

// Passwords shorter than this are refused; longer than kMaxPasswordBytes too (argon2 input is bounded
// so a request cannot make the server hash megabytes).
inline constexpr std::size_t kMinPasswordBytes = 12;
inline constexpr std::size_t kMaxPasswordBytes = 1024;

// Why `password` cannot be used ("" when it can). Never echoes the password.
std::string password_problem(std::string_view password);

Result<std::string> hash_password(std::string_view password);
bool verify_password(std::string_view password, const std::string& stored_hash);

// Spends the time of one verification without a stored hash, so that a login for a user that does not
// exist takes as long as one with a wrong password.
void verify_against_nothing(std::string_view password);

}  // namespace pgstack::auth
