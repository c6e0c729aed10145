// Secrets for HTTP basic auth that other programs check: random passwords, and bcrypt hashes in the
// form Prometheus' exporter-toolkit reads (web.config.file `basic_auth_users`). bcrypt comes from
// libxcrypt (Debian's libcrypt), the same code that checks /etc/shadow; see docs/dependencies.md.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "common/error.h"

namespace pgstack {

// `length` characters from [A-Za-z0-9] drawn from OpenSSL's CSPRNG (32: about 190 bits).
Result<std::string> random_password(std::size_t length = 32);

// "$2b$<cost>$<salt><hash>", with a fresh random salt. Cost 10: ~50 ms to check, the exporters'
// default and what `htpasswd -B` writes.
Result<std::string> bcrypt_hash(std::string_view password, int cost = 10);

// True when `password` matches `hash` (any crypt(3) hash libxcrypt knows); false for a malformed hash.
bool bcrypt_matches(std::string_view password, const std::string& hash);

// Equal texts, in a time that depends only on their lengths (credentials compared in process).
bool constant_time_equal(std::string_view a, std::string_view b);

}  // namespace pgstack
