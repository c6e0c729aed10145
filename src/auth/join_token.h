// Join tokens: what lets a new host join an installation (`pgstack join-token`, then `pgstack join` on the
// new host; docs/multihost.md). The text is pgsjoin.<id>.<secret>.<ca-sha256>:
// - id (16 hex) names the record in etcd, which keeps only the secret's digest, expires with a lease and
//   is deleted by the first join that presents it (single use);
// - secret: 256 random bits, base64url;
// - ca-sha256: the SHA-256 of the installation's CA certificate (its PEM text). The new host has no CA yet:
//   it downloads the CA without trusting it, keeps it only when its digest is this one, and then talks to
//   the API over TLS verified with it, so that a server in the middle gets neither the token nor the CA
//   key the join hands out.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace pgstack::auth {

struct JoinToken {
  std::string id;
  std::string secret;
  std::string ca_sha256;  // 64 lower-case hex digits

  std::string text() const { return "pgsjoin." + id + "." + secret + "." + ca_sha256; }
};

// A new token for the CA whose certificate's PEM text has this SHA-256.
JoinToken issue_join_token(std::string_view ca_sha256);

// nullopt unless `text` has the join token's shape.
std::optional<JoinToken> parse_join_token(std::string_view text);

}  // namespace pgstack::auth
