#include "pgwire/scram.h"

#include <charconv>
#include <optional>
#include <stdexcept>
#include <vector>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "common/digest.h"

namespace pgstack::pgwire::scram {
namespace {

constexpr int kMinIterations = 1;
constexpr int kMaxIterations = 100'000'000;
constexpr std::size_t kKeyLength = SHA256_DIGEST_LENGTH;

std::string hmac(std::string_view key, std::string_view data) {
  std::string out(EVP_MAX_MD_SIZE, '\0');
  unsigned int length = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
       data.size(), reinterpret_cast<unsigned char*>(out.data()), &length);
  out.resize(length);
  return out;
}

std::string sha256(std::string_view data) {
  std::string out(kKeyLength, '\0');
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(),
         reinterpret_cast<unsigned char*>(out.data()));
  return out;
}

std::string exclusive_or(std::string_view a, std::string_view b) {
  std::string out(a.size(), '\0');
  for (std::size_t i = 0; i < a.size() && i < b.size(); ++i) out[i] = static_cast<char>(a[i] ^ b[i]);
  return out;
}

std::string random_bytes(std::size_t count) {
  std::string out(count, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(count)) != 1) {
    throw std::runtime_error("OpenSSL RAND_bytes failed");  // the process cannot make secrets: nothing to go on with
  }
  return out;
}

Error invalid(std::string message) { return make_error(ErrorCode::kInvalidInput, "SCRAM: " + std::move(message)); }
Error refused(std::string message) { return make_error(ErrorCode::kUnauthenticated, "SCRAM: " + std::move(message)); }

// "a=value,b=value": the attributes in order; a value may hold '=' but not ','.
using Attributes = std::vector<std::pair<char, std::string_view>>;
Attributes attributes_of(std::string_view message) {
  Attributes out;
  std::size_t start = 0;
  while (start <= message.size()) {
    const std::size_t end = std::min(message.find(',', start), message.size());
    const std::string_view part = message.substr(start, end - start);
    if (part.size() >= 2 && part[1] == '=')
      out.emplace_back(part[0], part.substr(2));
    else
      out.emplace_back('\0', part);
    start = end + 1;
  }
  return out;
}

std::optional<std::string_view> attribute(const Attributes& attributes, char name) {
  for (const auto& [key, value] : attributes) {
    if (key == name) return value;
  }
  return std::nullopt;
}

std::optional<int> parse_int(std::string_view text) {
  int value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

}  // namespace

Result<Verifier> parse_verifier(std::string_view text) {
  // SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>
  const std::string prefix = std::string(kMechanism) + "$";
  if (text.substr(0, prefix.size()) != prefix) return invalid("the stored password is not a SCRAM-SHA-256 verifier");
  text.remove_prefix(prefix.size());
  const std::size_t dollar = text.find('$');
  const std::size_t colon = text.find(':');
  const std::size_t key_colon = dollar == std::string_view::npos ? dollar : text.find(':', dollar);
  if (dollar == std::string_view::npos || colon > dollar || key_colon == std::string_view::npos) {
    return invalid("the verifier is not <iterations>:<salt>$<StoredKey>:<ServerKey>");
  }
  Verifier verifier;
  const auto iterations = parse_int(text.substr(0, colon));
  if (!iterations || *iterations < kMinIterations || *iterations > kMaxIterations) {
    return invalid("the verifier's iteration count is not a positive number");
  }
  verifier.iterations = *iterations;
  ASSIGN_OR_RETURN(verifier.salt, base64_decode(text.substr(colon + 1, dollar - colon - 1)));
  ASSIGN_OR_RETURN(verifier.stored_key, base64_decode(text.substr(dollar + 1, key_colon - dollar - 1)));
  ASSIGN_OR_RETURN(verifier.server_key, base64_decode(text.substr(key_colon + 1)));
  if (verifier.stored_key.size() != kKeyLength || verifier.server_key.size() != kKeyLength) {
    return invalid("the verifier's keys are not 32 bytes");
  }
  return verifier;
}

std::string format_verifier(const Verifier& verifier) {
  return std::string(kMechanism) + "$" + std::to_string(verifier.iterations) + ":" + base64_encode(verifier.salt) +
         "$" + base64_encode(verifier.stored_key) + ":" + base64_encode(verifier.server_key);
}

Verifier make_verifier(std::string_view password, std::string_view salt, int iterations) {
  std::string salted(kKeyLength, '\0');
  PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()),
                    reinterpret_cast<const unsigned char*>(salt.data()), static_cast<int>(salt.size()), iterations,
                    EVP_sha256(), static_cast<int>(kKeyLength), reinterpret_cast<unsigned char*>(salted.data()));
  Verifier verifier;
  verifier.iterations = iterations;
  verifier.salt = std::string(salt);
  verifier.stored_key = sha256(hmac(salted, "Client Key"));
  verifier.server_key = hmac(salted, "Server Key");
  OPENSSL_cleanse(salted.data(), salted.size());
  return verifier;
}

Verifier unknown_user_verifier() {
  Verifier verifier;
  verifier.iterations = 4096;
  verifier.salt = random_bytes(16);
  verifier.stored_key = random_bytes(kKeyLength);
  verifier.server_key = random_bytes(kKeyLength);
  return verifier;
}

std::string random_nonce() { return base64_encode(random_bytes(18)); }

// ---- Server side --------------------------------------------------------------------------------------

ServerExchange::ServerExchange(Verifier verifier, std::string server_nonce)
    : verifier_(std::move(verifier)), server_nonce_(std::move(server_nonce)) {}

Result<std::string> ServerExchange::on_client_first(std::string_view message) {
  // gs2-header: "n,," (no channel binding) or "y,," (the client could bind, and sees the server cannot).
  if (message.substr(0, 3) != "n,," && message.substr(0, 3) != "y,,") {
    if (message.substr(0, 2) == "p=") return refused("channel binding was asked for but is not offered");
    return invalid("the client-first-message does not start with a gs2 header (\"n,,\")");
  }
  client_first_bare_ = std::string(message.substr(3));
  const Attributes attributes = attributes_of(client_first_bare_);
  if (attributes.size() < 2 || attributes[0].first != 'n' || attributes[1].first != 'r') {
    return invalid("the client-first-message is not \"n=<user>,r=<nonce>\"");
  }
  const std::string_view client_nonce = attributes[1].second;
  if (client_nonce.empty()) return invalid("the client's nonce is empty");
  for (const char c : client_nonce) {
    if (c < 0x21 || c > 0x7e || c == ',') return invalid("the client's nonce holds a character it may not");
  }
  nonce_ = std::string(client_nonce) + server_nonce_;
  server_first_ = "r=" + nonce_ + ",s=" + base64_encode(verifier_.salt) + ",i=" + std::to_string(verifier_.iterations);
  return server_first_;
}

Result<std::string> ServerExchange::on_client_final(std::string_view message) {
  if (server_first_.empty()) return invalid("a client-final-message came before the client-first-message");
  const std::size_t proof_at = message.rfind(",p=");
  if (proof_at == std::string_view::npos) return invalid("the client-final-message has no proof");
  const std::string_view without_proof = message.substr(0, proof_at);
  const Attributes attributes = attributes_of(without_proof);
  const auto binding = attribute(attributes, 'c');
  if (!binding || (*binding != "biws" && *binding != "eSws")) {
    return invalid("the client-final-message's channel binding is not the gs2 header \"n,,\" or \"y,,\"");
  }
  const auto nonce = attribute(attributes, 'r');
  if (!nonce || *nonce != nonce_) return refused("the client-final-message's nonce is not the exchange's");
  ASSIGN_OR_RETURN(const std::string proof, base64_decode(message.substr(proof_at + 3)));
  if (proof.size() != kKeyLength) return refused("the proof is not 32 bytes");

  const std::string auth_message = client_first_bare_ + "," + server_first_ + "," + std::string(without_proof);
  const std::string client_signature = hmac(verifier_.stored_key, auth_message);
  std::string client_key = exclusive_or(proof, client_signature);
  const std::string stored = sha256(client_key);
  if (CRYPTO_memcmp(stored.data(), verifier_.stored_key.data(), kKeyLength) != 0) {
    OPENSSL_cleanse(client_key.data(), client_key.size());
    return refused("the proof does not match the stored verifier");
  }
  client_key_ = std::move(client_key);
  return "v=" + base64_encode(hmac(verifier_.server_key, auth_message));
}

// ---- Client side --------------------------------------------------------------------------------------

ClientExchange::ClientExchange(std::string client_key, std::string server_key, std::string client_nonce)
    : client_key_(std::move(client_key)), server_key_(std::move(server_key)), client_nonce_(std::move(client_nonce)) {}

std::string ClientExchange::client_first() const { return "n,,n=,r=" + client_nonce_; }

Result<std::string> ClientExchange::on_server_first(std::string_view message) {
  const Attributes attributes = attributes_of(message);
  const auto nonce = attribute(attributes, 'r');
  const auto salt = attribute(attributes, 's');
  const auto iterations = attribute(attributes, 'i');
  if (!nonce || !salt || !iterations) return invalid("the server-first-message lacks r=, s= or i=");
  if (nonce->size() <= client_nonce_.size() || nonce->substr(0, client_nonce_.size()) != client_nonce_) {
    return refused("the server's nonce does not extend the client's");
  }
  const std::string without_proof = "c=biws,r=" + std::string(*nonce);
  auth_message_ = "n=,r=" + client_nonce_ + "," + std::string(message) + "," + without_proof;
  const std::string client_signature = hmac(sha256(client_key_), auth_message_);
  return without_proof + ",p=" + base64_encode(exclusive_or(client_key_, client_signature));
}

Result<bool> ClientExchange::on_server_final(std::string_view message) {
  if (auth_message_.empty()) return invalid("a server-final-message came before the server-first-message");
  if (message.substr(0, 2) == "e=") return refused("the server refused: " + std::string(message.substr(2)));
  if (message.substr(0, 2) != "v=") return invalid("the server-final-message is not \"v=<signature>\"");
  ASSIGN_OR_RETURN(const std::string signature, base64_decode(message.substr(2)));
  const std::string expected = hmac(server_key_, auth_message_);
  if (signature.size() != expected.size() || CRYPTO_memcmp(signature.data(), expected.data(), expected.size()) != 0) {
    return refused("the server's signature does not match: it does not hold the verifier");
  }
  return true;
}

}  // namespace pgstack::pgwire::scram
