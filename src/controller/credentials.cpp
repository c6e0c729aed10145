#include "controller/credentials.h"

#include <utility>
#include <vector>

#include <openssl/rand.h>

#include "config/render_exporter.h"
#include "config/render_patroni.h"
#include "logs/log_store_maintenance.h"
#include "logs/log_store_target.h"

namespace pgstack::controller {

Result<std::string> generate_password() {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  constexpr std::size_t kAlphabetSize = sizeof(kAlphabet) - 1;  // 62
  std::string password;
  while (password.size() < 32) {
    unsigned char bytes[64];
    if (RAND_bytes(bytes, sizeof bytes) != 1)
      return make_error(ErrorCode::kUnavailable, "OpenSSL could not produce random bytes for a password");
    for (unsigned char byte : bytes) {
      // Rejection sampling keeps every character equally likely.
      if (byte < 248 && password.size() < 32) password += kAlphabet[byte % kAlphabetSize];
    }
  }
  return password;
}

namespace {

// Role -> username: the entries of a cluster's credentials.
std::vector<std::pair<std::string, std::string>> credential_users(const model::Cluster& cluster, bool log_store) {
  std::vector<std::pair<std::string, std::string>> users = {
      {"superuser", cluster.credentials.superuser_name},
      {"replication", cluster.credentials.replication_name},
      {"rewind", std::string(config::kRewindUserName)},
      {"authenticator", cluster.credentials.authenticator_name},
      {"application", "app"},
      {"restapi", "patroni"},
      {"monitor", std::string(config::kMonitorUserName)},
  };
  if (log_store) {
    users.emplace_back(logs::kLogWriterCredential, logs::kLogWriterUser);
    users.emplace_back(logs::kLogReaderCredential, logs::kLogReaderUser);
  }
  return users;
}

}  // namespace

bool lacks_credentials(const model::Json& stored, const model::Cluster& cluster, bool log_store) {
  if (!stored.is_object()) return false;
  for (const auto& [role, username] : credential_users(cluster, log_store)) {
    if (!stored.contains(role)) return true;
  }
  return false;
}

Result<model::Json> generate_cluster_credentials(const model::Cluster& cluster, bool log_store) {
  model::Json credentials = model::Json::object();
  for (const auto& [role, username] : credential_users(cluster, log_store)) {
    auto password = generate_password();
    RETURN_IF_ERROR(password);
    credentials[role] = {{"username", username}, {"password", password.value()}};
  }
  credentials["application"]["database"] = "app";
  return credentials;
}

}  // namespace pgstack::controller
