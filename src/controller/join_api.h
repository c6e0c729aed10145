// Joining hosts (docs/multihost.md): an admin asks for a join token (POST
// /apis/pgstack.io/v1/jointokens, `pgstack join-token`), and `pgstack join` on the new host presents it.
// - GET /apis/pgstack.io/v1/join/ca (public): the installation's CA certificate, which the new host keeps
//   only when its SHA-256 is the one in its token.
// - POST /apis/pgstack.io/v1/join (public; the token is the credential): {"token", "hostName"}. The token's
//   record is deleted by the first join (a compare on its revision: two joins racing with one token get
//   one success). The reply carries what an agent needs: the CA certificate and key (the agent issues its
//   own and its members' certificates, as on the first host), etcd's endpoints and prefix.
// Tokens live in etcd under <prefix>/join-tokens/<id> as {digest, createdBy, createdAt, expiresAt}, on a
// lease of their lifetime, so that an unused one disappears by itself.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "common/http_server.h"
#include "store/etcd_client.h"

namespace pgstack::controller {

struct JoinSettings {
  std::string ca_certificate_file;
  std::string ca_key_file;  // empty: this controller hands out no CA key, so no host can join through it
  std::vector<std::string> etcd_endpoints;
  std::string etcd_prefix;
  bool api_over_tls = false;  // a join's reply carries the CA key: never over plain HTTP
};

inline constexpr std::chrono::seconds kDefaultJoinTokenLifetime{3600};
inline constexpr std::chrono::seconds kMaxJoinTokenLifetime{7 * 24 * 3600};

// Pure. The endpoints a host elsewhere cannot reach (loopback ones): a join through a controller that
// names them would give an agent that never finds etcd.
std::vector<std::string> loopback_endpoints(const std::vector<std::string>& endpoints);

// Pure. The lifetime a token request asks for: {"ttlSeconds": N} or an empty body (the default). An
// error message naming the field otherwise.
struct LifetimeOrError {
  std::chrono::seconds lifetime{0};
  std::string error;
};
LifetimeOrError requested_token_lifetime(const std::string& body);

class JoinApi {
 public:
  JoinApi(const store::EtcdClient& etcd, JoinSettings settings) : etcd_(etcd), settings_(std::move(settings)) {}

  // The public endpoints (join/ca, join); `token_id` is set to the id a join presented, for the audit.
  HttpReply handle_public(const HttpRequest& request, const std::vector<std::string>& parts,
                          std::string& token_id) const;
  // POST jointokens by an authenticated, authorized caller.
  HttpReply create_token(const HttpRequest& request, const std::string& caller) const;

 private:
  HttpReply ca_certificate() const;
  HttpReply join(const HttpRequest& request, std::string& token_id) const;
  // Why this controller cannot hand out a join now, if it cannot.
  std::optional<std::string> unable_to_join() const;

  const store::EtcdClient& etcd_;
  JoinSettings settings_;
};

bool is_join_path(const std::vector<std::string>& parts);         // apis/pgstack.io/v1/join[/ca]
bool is_join_tokens_path(const std::vector<std::string>& parts);  // apis/pgstack.io/v1/jointokens

}  // namespace pgstack::controller
