#include "controller/join_api.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "auth/join_token.h"
#include "auth/token.h"
#include "common/digest.h"
#include "common/files.h"
#include "common/http_client.h"
#include "common/time.h"
#include "controller/api_reply.h"
#include "model/assignment.h"
#include "model/document.h"
#include "store/keys.h"

namespace pgstack::controller {
namespace {

using model::Json;

bool is_v1(const std::vector<std::string>& parts) {
  return parts.size() >= 4 && parts[0] == "apis" && parts[1] == "pgstack.io" && parts[2] == "v1";
}

std::string token_key(const std::string& prefix, const std::string& id) { return prefix + "/join-tokens/" + id; }

// One message for every token that cannot be used: which of unknown, used, expired or wrong it was is
// nothing a guesser should learn.
HttpReply refused_token() {
  return problem(403, "Forbidden",
                 "the join token is unknown, used or expired (a token joins one host; `pgstack join-token` on a "
                 "host of the installation makes another)");
}

}  // namespace

bool is_join_path(const std::vector<std::string>& parts) {
  return is_v1(parts) && parts[3] == "join" && (parts.size() == 4 || (parts.size() == 5 && parts[4] == "ca"));
}

bool is_join_tokens_path(const std::vector<std::string>& parts) {
  return is_v1(parts) && parts.size() == 4 && parts[3] == "jointokens";
}

std::vector<std::string> loopback_endpoints(const std::vector<std::string>& endpoints) {
  std::vector<std::string> loopback;
  for (const auto& endpoint : endpoints) {
    auto url = parse_http_url(endpoint);
    if (!url) continue;
    if (url->host == "localhost" || url->host.starts_with("127.") || url->host == "::1") loopback.push_back(endpoint);
  }
  return loopback;
}

LifetimeOrError requested_token_lifetime(const std::string& body) {
  if (body.find_first_not_of(" \t\r\n") == std::string::npos) return {kDefaultJoinTokenLifetime, ""};
  const Json request = Json::parse(body, nullptr, false);
  if (!request.is_object()) return {{}, "the body must be a JSON object: {\"ttlSeconds\": N} or nothing"};
  for (const auto& [name, value] : request.items()) {
    if (name != "ttlSeconds") return {{}, fmt::format("unknown field \"{}\": only ttlSeconds is accepted", name)};
  }
  if (!request.contains("ttlSeconds")) return {kDefaultJoinTokenLifetime, ""};
  const Json& ttl = request["ttlSeconds"];
  if (!ttl.is_number_integer() || ttl.get<std::int64_t>() < 60 ||
      ttl.get<std::int64_t>() > kMaxJoinTokenLifetime.count())
    return {{},
            fmt::format("ttlSeconds: expected a whole number of seconds from 60 to {} (7 days), got {}",
                        kMaxJoinTokenLifetime.count(), ttl.dump())};
  return {std::chrono::seconds(ttl.get<std::int64_t>()), ""};
}

std::optional<std::string> JoinApi::unable_to_join() const {
  if (settings_.ca_key_file.empty())
    return "this controller was started without --ca-key, so it cannot hand the installation's CA to a new host";
  if (!settings_.api_over_tls)
    return "the API is served over plain HTTP; a join hands out the CA key, so only over HTTPS";
  if (const auto loopback = loopback_endpoints(settings_.etcd_endpoints); !loopback.empty())
    return fmt::format(
        "etcd is reached at {} here, which another host cannot reach: run `pgstack up --address ADDRESS` on this "
        "host so that etcd and the API serve on an address the other hosts reach",
        fmt::join(loopback, ", "));
  return std::nullopt;
}

HttpReply JoinApi::handle_public(const HttpRequest& request, const std::vector<std::string>& parts,
                                 std::string& token_id) const {
  if (parts.size() == 5) {
    if (request.method != "GET") return problem(405, "MethodNotAllowed", "only GET is allowed on join/ca");
    return ca_certificate();
  }
  if (request.method != "POST") return problem(405, "MethodNotAllowed", "only POST is allowed on join");
  return join(request, token_id);
}

HttpReply JoinApi::ca_certificate() const {
  auto certificate = read_file(settings_.ca_certificate_file);
  if (!certificate) return problem_from(certificate.error());
  return {200, "application/x-pem-file", *certificate, {}};
}

HttpReply JoinApi::create_token(const HttpRequest& request, const std::string& caller) const {
  if (request.method != "POST") return problem(405, "MethodNotAllowed", "only POST is allowed on jointokens");
  if (auto unable = unable_to_join()) return problem(409, "Conflict", *unable);
  const LifetimeOrError lifetime = requested_token_lifetime(request.body);
  if (!lifetime.error.empty()) return problem(400, "BadRequest", lifetime.error);
  auto certificate = read_file(settings_.ca_certificate_file);
  if (!certificate) return problem_from(certificate.error());
  const auth::JoinToken token = auth::issue_join_token(sha256_hex(*certificate));
  const auto now = std::chrono::system_clock::now();
  const std::string expires_at = utc_timestamp(now + lifetime.lifetime);
  const Json record = {{"digest", auth::secret_digest(token.secret)},
                       {"createdBy", caller},
                       {"createdAt", utc_timestamp(now)},
                       {"expiresAt", expires_at}};
  auto lease = etcd_.grant_lease(lifetime.lifetime);
  if (!lease) return problem_from(lease.error());
  if (auto written = etcd_.put(token_key(settings_.etcd_prefix, token.id), record.dump(), *lease); !written)
    return problem_from(written.error());
  spdlog::info("join token {} made by {}, valid until {}", token.id, caller, expires_at);
  return json_reply(201, {{"kind", "JoinToken"},
                          {"id", token.id},
                          {"token", token.text()},
                          {"expiresAt", expires_at},
                          {"caSha256", token.ca_sha256}});
}

HttpReply JoinApi::join(const HttpRequest& request, std::string& token_id) const {
  const Json body = Json::parse(request.body, nullptr, false);
  if (!body.is_object() || !body.contains("token") || !body["token"].is_string() || !body.contains("hostName") ||
      !body["hostName"].is_string())
    return problem(400, "BadRequest", "expected a JSON object {\"token\": \"pgsjoin....\", \"hostName\": \"...\"}");
  const auto token = auth::parse_join_token(body["token"].get<std::string>());
  if (!token) return problem(400, "BadRequest", "token: not a join token (pgsjoin.<id>.<secret>.<ca digest>)");
  token_id = token->id;
  const std::string host_name = body["hostName"].get<std::string>();
  if (!model::is_safe_name(host_name))
    return problem(400, "BadRequest",
                   fmt::format("hostName: \"{}\" is not a valid host name (letters, digits, '.', '_', '-')",
                               host_name.substr(0, 64)));
  if (auto unable = unable_to_join()) return problem(409, "Conflict", *unable);

  const std::string key = token_key(settings_.etcd_prefix, token->id);
  auto stored = etcd_.get(key);
  if (!stored) return problem_from(stored.error());
  if (!stored->has_value()) return refused_token();
  const Json record = Json::parse((*stored)->value, nullptr, false);
  if (!record.is_object() || !auth::digests_equal(record.value("digest", ""), auth::secret_digest(token->secret)))
    return refused_token();
  auto certificate = read_file(settings_.ca_certificate_file);
  if (!certificate) return problem_from(certificate.error());
  // A token made before the CA changed would hand a host a CA its digest does not name.
  if (sha256_hex(*certificate) != token->ca_sha256)
    return problem(403, "Forbidden", "the join token names another CA than this installation's");
  // Before the token is spent: a name taken by a live host would make two agents fight over one record.
  auto registered = etcd_.get(store::keys::host(settings_.etcd_prefix, host_name));
  if (!registered) return problem_from(registered.error());
  if (registered->has_value()) {
    const Json host = Json::parse((*registered)->value, nullptr, false);
    return problem(
        409, "Conflict",
        fmt::format(
            "a host named \"{}\" is registered{}; join with another --host-name, or stop "
            "that host's agent first",
            host_name,
            host.is_object() && host.contains("address") ? " (address " + host.value("address", "") + ")" : ""));
  }
  auto key_pem = read_file(settings_.ca_key_file);
  if (!key_pem) return problem_from(key_pem.error());
  // Spent here: of two joins with one token, the second finds the revision changed (or the key gone).
  auto spent = etcd_.remove_if(key, (*stored)->mod_revision);
  if (!spent) return spent.error().code == ErrorCode::kConflict ? refused_token() : problem_from(spent.error());
  spdlog::info("host {} joined with join token {} (made by {}) from {}", host_name, token->id,
               record.value("createdBy", "?"), request.remote_address);
  return json_reply(200, {{"kind", "JoinGrant"},
                          {"hostName", host_name},
                          {"caCertificate", *certificate},
                          {"caKey", *key_pem},
                          {"etcdEndpoints", settings_.etcd_endpoints},
                          {"etcdPrefix", settings_.etcd_prefix}});
}

}  // namespace pgstack::controller
