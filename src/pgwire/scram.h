// SCRAM-SHA-256 (RFC 5802, RFC 7677) as Postgres speaks it, on both sides of a pooler: the server side
// checks a client against the verifier Postgres stores in pg_authid, and hands back the client's
// ClientKey (its proof XOR the signature); the client side logs in to Postgres with that ClientKey, so
// a pooler never learns or stores a password (PgBouncer's auth_query does the same). No channel binding:
// the mechanism is SCRAM-SHA-256, not -PLUS. Pure apart from the random nonces.
#pragma once

#include <string>
#include <string_view>

#include "common/error.h"

namespace pgstack::pgwire::scram {

inline constexpr std::string_view kMechanism = "SCRAM-SHA-256";

// A verifier's parts, raw bytes (not base64).
struct Verifier {
  int iterations = 0;
  std::string salt;
  std::string stored_key;
  std::string server_key;
};

// "SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>", as in pg_authid.rolpassword.
Result<Verifier> parse_verifier(std::string_view text);
std::string format_verifier(const Verifier& verifier);
// What Postgres stores for `password` (for tests and tools; pgstack never keeps clear passwords).
Verifier make_verifier(std::string_view password, std::string_view salt, int iterations);
// A verifier no proof matches, for a user that does not exist: the exchange then fails at the proof,
// as for a wrong password, so a client cannot tell the two apart.
Verifier unknown_user_verifier();

// 18 random bytes in base64, as Postgres makes them.
std::string random_nonce();

// The server's side of one exchange.
class ServerExchange {
 public:
  ServerExchange(Verifier verifier, std::string server_nonce);

  // client-first-message -> server-first-message.
  Result<std::string> on_client_first(std::string_view message);
  // client-final-message -> server-final-message ("v=..."), once the proof matches the verifier.
  Result<std::string> on_client_final(std::string_view message);
  // After a successful on_client_final: the key the client proved it has.
  const std::string& client_key() const { return client_key_; }
  const Verifier& verifier() const { return verifier_; }

 private:
  Verifier verifier_;
  std::string server_nonce_;
  std::string client_first_bare_;
  std::string server_first_;
  std::string nonce_;  // client's and server's together
  std::string client_key_;
};

// The client's side, from a ClientKey and the ServerKey (which proves the server knows the verifier).
class ClientExchange {
 public:
  ClientExchange(std::string client_key, std::string server_key, std::string client_nonce);

  // client-first-message; the user name is left empty, as libpq does: Postgres takes it from the startup.
  std::string client_first() const;
  // server-first-message -> client-final-message.
  Result<std::string> on_server_first(std::string_view message);
  // server-final-message: true when the server's signature proves it holds the verifier.
  Result<bool> on_server_final(std::string_view message);

 private:
  std::string client_key_;
  std::string server_key_;
  std::string client_nonce_;
  std::string auth_message_;
};

}  // namespace pgstack::pgwire::scram
