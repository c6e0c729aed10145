// Opaque bearer secrets: API tokens `pgs_<id>_<secret>` (the id is public and names the record, the
// secret has 256 bits and is stored only as its BLAKE2b-256 digest) and session ids. A fast digest is
// right here: the secret is random, so there is nothing to guess a dictionary against.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace pgstack::auth {

struct IssuedToken {
  std::string id;      // 16 lower-case hex characters, public (listed, revoked by it)
  std::string text;    // what the client sends: pgs_<id>_<secret>; shown once
  std::string digest;  // hex BLAKE2b-256 of the secret: what is stored
};

IssuedToken issue_token();

struct PresentedToken {
  std::string id;
  std::string secret;
};
// nullopt unless `text` has the token's shape.
std::optional<PresentedToken> parse_token(std::string_view text);

// A session id for a cookie: 256 random bits, base64url without padding.
std::string new_session_id();

// Hex BLAKE2b-256 of a secret (a token's secret, a session id).
std::string secret_digest(std::string_view secret);

// Compares two digests in constant time.
bool digests_equal(std::string_view a, std::string_view b);

}  // namespace pgstack::auth
