// Patroni's REST API, as its member record names it: api_url is "http(s)://host:port/patroni".
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace pgstack::patroni {

// The REST base ("https://host:port") of an api_url ("https://host:port/patroni", trailing '/' or not).
std::string base_url(std::string_view api_url);

// Endpoints under the base; the unsafe ones need the cluster's restapi credentials.
std::string status_url(std::string_view api_url);         // GET /patroni
std::string primary_check_url(std::string_view api_url);  // GET /primary: 200 only on a writable primary
std::string replica_check_url(std::string_view api_url, std::uint64_t max_lag_bytes);  // GET /replica?lag=
std::string switchover_url(std::string_view api_url);                                  // POST /switchover (unsafe)
std::string restart_url(std::string_view api_url);                                     // POST /restart (unsafe)
std::string config_url(std::string_view api_url);                                      // PATCH /config (unsafe)

}  // namespace pgstack::patroni
