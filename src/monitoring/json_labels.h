// Prometheus' and Alertmanager's label and annotation sets as they come in their APIs' JSON.
#pragma once

#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "common/error.h"

namespace pgstack::monitoring {

// A JSON object of strings as a map; null is empty. Errors name `where` and the key that is not a string.
Result<std::map<std::string, std::string>> string_map_from(const nlohmann::ordered_json& object,
                                                           const std::string& where);

}  // namespace pgstack::monitoring
