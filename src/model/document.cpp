#include "model/document.h"

#include <fmt/format.h>

namespace pgstack::model {
namespace {

std::string string_at(const Json& body, const char* first, const char* second = nullptr) {
  if (!body.is_object() || !body.contains(first)) return "";
  const Json* value = &body[first];
  if (second != nullptr) {
    if (!value->is_object() || !value->contains(second)) return "";
    value = &(*value)[second];
  }
  return value->is_string() ? value->get<std::string>() : "";
}

}  // namespace

std::string Document::kind() const { return string_at(body, "kind"); }
std::string Document::name() const { return string_at(body, "metadata", "name"); }

std::string Document::namespace_name() const {
  const std::string ns = string_at(body, "metadata", "namespace");
  return ns.empty() ? "default" : ns;
}

std::string Document::label() const {
  const std::string kind_name = kind();
  const std::string resource_name = name();
  if (kind_name.empty() || resource_name.empty()) return fmt::format("document {}", index + 1);
  return fmt::format("{}/{}", kind_name, resource_name);
}

}  // namespace pgstack::model
