#include "monitoring/metrics_auth.h"

#include <arpa/inet.h>
#include <fmt/format.h>

#include "common/http_client.h"
#include "common/password_hash.h"

namespace pgstack::monitoring {

Result<MetricsAuthMode> parse_metrics_auth_mode(std::string_view text, std::string_view flag) {
  if (text == "auto") return MetricsAuthMode::kNonLoopback;
  if (text == "always") return MetricsAuthMode::kAlways;
  return make_error(ErrorCode::kInvalidInput,
                    fmt::format("{}: '{}' is not a mode; expected 'auto' (credentials on every address but "
                                "loopback) or 'always'",
                                flag, text));
}

bool is_loopback_host(std::string_view host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (host == "localhost") return true;
  const std::string text(host);
  in_addr v4{};
  if (::inet_pton(AF_INET, text.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  if (::inet_pton(AF_INET6, text.c_str(), &v6) != 1) return false;
  if (IN6_IS_ADDR_LOOPBACK(&v6)) return true;
  return IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127;
}

bool listener_needs_auth(std::string_view listen, MetricsAuthMode mode) {
  if (mode == MetricsAuthMode::kAlways) return true;
  std::string_view host = listen;
  if (!listen.empty() && listen.front() == '[') {
    const auto close = listen.find(']');
    host = close == std::string_view::npos ? listen : listen.substr(0, close + 1);
  } else if (const auto colon = listen.rfind(':');
             colon != std::string_view::npos && listen.find(':') == colon) {  // one colon: host:port
    host = listen.substr(0, colon);
  }
  return !is_loopback_host(host);
}

model::Json scrape_credential_json(const ScrapeCredential& credential) {
  return {{"username", std::string(kScrapeUsername)},
          {"password", credential.password},
          {"bcryptHash", credential.bcrypt_hash}};
}

Result<ScrapeCredential> parse_scrape_credential(const model::Json& json) {
  ScrapeCredential out;
  if (!json.is_object()) return make_error(ErrorCode::kInvalidInput, "scrape credential: not an object");
  for (const auto& [field, value] : {std::pair{"password", &out.password}, std::pair{"bcryptHash", &out.bcrypt_hash}}) {
    const auto found = json.find(field);
    if (found == json.end() || !found->is_string() || found->get<std::string>().empty())
      return make_error(ErrorCode::kInvalidInput, fmt::format("scrape credential: '{}' is missing", field));
    *value = found->get<std::string>();
  }
  return out;
}

std::string render_exporter_web_config(const ScrapeCredential& credential) {
  // JSON strings are YAML scalars; the hash has '$' and '/', which plain YAML would also take.
  return fmt::format(
      "# Written by pgstack-agent: scrapes need the installation's scrape credential (docs/security.md).\n"
      "basic_auth_users:\n  {}: {}\n",
      model::Json(std::string(kScrapeUsername)).dump(), model::Json(credential.bcrypt_hash).dump());
}

bool authorized_scrape(const std::map<std::string, std::string>& headers, const ScrapeCredential& credential) {
  const auto header = headers.find("authorization");
  if (header == headers.end()) return false;
  return constant_time_equal(header->second, basic_authorization(kScrapeUsername, credential.password));
}

}  // namespace pgstack::monitoring
