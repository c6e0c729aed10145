// Who may read a metrics listener (the exporters, the agent's and the controller's /metrics). A
// listener on loopback answers anyone on the host, as every other loopback port of pgstack does: the
// numbers are no secret from local users (docs/security.md). Any other address needs the
// installation's scrape credential (HTTP basic auth), which Prometheus sends from a password file.
// Pure, no I/O; the credential is kept in etcd by monitoring/scrape_credential.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "common/error.h"
#include "model/document.h"

namespace pgstack::monitoring {

// --metrics-auth: `auto` asks for the credential on every address but loopback; `always` also on
// loopback (for a host whose local users must not read the metrics, and for tests).
enum class MetricsAuthMode { kNonLoopback, kAlways };
// "auto" or "always"; the error names `flag`.
Result<MetricsAuthMode> parse_metrics_auth_mode(std::string_view text, std::string_view flag);

// 127.0.0.0/8, ::1 (also [::1], ::ffff:127.x.y.z) and "localhost". "", 0.0.0.0 and :: listen on every
// interface, and a name may resolve anywhere: none of them is loopback.
bool is_loopback_host(std::string_view host);

// `listen` is "host:port" or "[v6]:port"; a text without a port is taken as a host.
bool listener_needs_auth(std::string_view listen, MetricsAuthMode mode);

// The user name Prometheus sends; one per installation, so it is fixed and only the password is secret.
inline constexpr std::string_view kScrapeUsername = "prometheus";

// The installation's scrape credential: the password (Prometheus' password_file, the in-process
// listeners' check) and its bcrypt hash (the exporters' web config), made once so the files the agents
// write do not change with each start.
struct ScrapeCredential {
  std::string password;
  std::string bcrypt_hash;
  bool operator==(const ScrapeCredential&) const = default;
};
model::Json scrape_credential_json(const ScrapeCredential& credential);
// The stored form; an error names the missing field.
Result<ScrapeCredential> parse_scrape_credential(const model::Json& json);

// exporter-toolkit's web config (postgres_exporter's and node_exporter's --web.config.file): basic auth
// for kScrapeUsername, checked against the hash.
std::string render_exporter_web_config(const ScrapeCredential& credential);

// Whether a request's headers (lower-case names) carry the credential; for the listeners pgstack serves
// itself. The password is compared in constant time.
bool authorized_scrape(const std::map<std::string, std::string>& headers, const ScrapeCredential& credential);

// The 401 reply's challenge header value.
inline constexpr std::string_view kScrapeChallenge = "Basic realm=\"pgstack metrics\"";

}  // namespace pgstack::monitoring
