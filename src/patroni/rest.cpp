#include "patroni/rest.h"

#include <fmt/format.h>

namespace pgstack::patroni {

std::string base_url(std::string_view api_url) {
  std::string base(api_url);
  while (!base.empty() && base.back() == '/') base.pop_back();
  constexpr std::string_view kSuffix = "/patroni";
  if (base.size() > kSuffix.size() && base.ends_with(kSuffix)) base.resize(base.size() - kSuffix.size());
  return base;
}

std::string status_url(std::string_view api_url) { return base_url(api_url) + "/patroni"; }
std::string primary_check_url(std::string_view api_url) { return base_url(api_url) + "/primary"; }
std::string replica_check_url(std::string_view api_url, std::uint64_t max_lag_bytes) {
  return fmt::format("{}/replica?lag={}", base_url(api_url), max_lag_bytes);
}
std::string switchover_url(std::string_view api_url) { return base_url(api_url) + "/switchover"; }
std::string restart_url(std::string_view api_url) { return base_url(api_url) + "/restart"; }
std::string config_url(std::string_view api_url) { return base_url(api_url) + "/config"; }

}  // namespace pgstack::patroni
