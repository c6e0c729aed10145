#include "monitoring/json_labels.h"

#include <fmt/format.h>

namespace pgstack::monitoring {

Result<std::map<std::string, std::string>> string_map_from(const nlohmann::ordered_json& object,
                                                           const std::string& where) {
  std::map<std::string, std::string> out;
  if (object.is_null()) return out;
  if (!object.is_object()) return make_error(ErrorCode::kInvalidInput, where + ": expected an object of strings");
  for (const auto& [key, value] : object.items()) {
    if (!value.is_string())
      return make_error(ErrorCode::kInvalidInput, fmt::format("{}.{}: expected a string", where, key));
    out[key] = value.get<std::string>();
  }
  return out;
}

}  // namespace pgstack::monitoring
