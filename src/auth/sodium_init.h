// libsodium's one-time initialisation, shared by password hashing and token generation.
#pragma once

namespace pgstack::auth {

// Initialises libsodium once per process (thread-safe); throws std::runtime_error if it cannot.
void ensure_sodium();

}  // namespace pgstack::auth
