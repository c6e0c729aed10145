// Lenient readers of a JSON object's fields for documents already validated against their schema: a
// missing field or one of another type gives the fallback, never an exception (the reconciler reads
// them on every pass).
#pragma once

#include <string>
#include <string_view>

#include "model/document.h"

namespace pgstack::model {

// The field `key` of `object`, or null when `object` is not an object or has no such field.
inline const Json& field_or_null(const Json& object, const char* key) {
  static const Json kNull;
  return object.is_object() && object.contains(key) ? object[key] : kNull;
}

inline std::string string_or(const Json& object, const char* key, std::string_view fallback = "") {
  const Json& found = field_or_null(object, key);
  return found.is_string() ? found.get<std::string>() : std::string(fallback);
}

inline bool bool_or(const Json& object, const char* key, bool fallback) {
  const Json& found = field_or_null(object, key);
  return found.is_boolean() ? found.get<bool>() : fallback;
}

inline int int_or(const Json& object, const char* key, int fallback) {
  const Json& found = field_or_null(object, key);
  return found.is_number_integer() ? found.get<int>() : fallback;
}

}  // namespace pgstack::model
