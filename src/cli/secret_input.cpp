#include "cli/secret_input.h"

#include <filesystem>

#include <fmt/format.h>

#include "common/strings.h"
#include "model/user_secret.h"

namespace pgstack::cli {
namespace {

std::string text_of(const model::Json& object, const char* pointer) {
  const model::Json::json_pointer path(pointer);
  return object.contains(path) && object.at(path).is_string() ? object.at(path).get<std::string>() : std::string();
}

std::vector<std::string> keys_of(const model::Json& secret) {
  std::vector<std::string> keys;
  if (secret.contains("keys") && secret["keys"].is_array()) {
    for (const auto& key : secret["keys"]) {
      if (key.is_string()) keys.push_back(key.get<std::string>());
    }
  }
  return keys;
}

Result<bool> add_key(std::map<std::string, std::string>& data, const std::string& option, const std::string& key,
                     std::string value) {
  if (!model::is_valid_secret_key(key))
    return make_error(ErrorCode::kInvalidInput,
                      fmt::format("{}: key \"{}\" is invalid: expected letters, digits, '-', '_' or '.'", option, key));
  if (data.count(key) > 0)
    return make_error(ErrorCode::kInvalidInput, fmt::format("{}: key \"{}\" is given more than once", option, key));
  data[key] = std::move(value);
  return true;
}

}  // namespace

bool is_secret_kind(std::string_view kind) {
  const std::string lowered = to_lower(kind);
  return lowered == "secret" || lowered == "secrets";
}

Result<std::map<std::string, std::string>> secret_data_from_arguments(
    const std::vector<std::string>& literals, const std::vector<std::string>& files,
    const std::function<Result<std::string>(const std::string&)>& read_file) {
  std::map<std::string, std::string> data;
  for (const auto& literal : literals) {
    const auto equals = literal.find('=');
    // The argument is not quoted back: past the '=' it is a secret value.
    if (equals == std::string::npos || equals == 0)
      return make_error(ErrorCode::kInvalidInput, "--from-literal: expected KEY=VALUE");
    RETURN_IF_ERROR(add_key(data, "--from-literal", literal.substr(0, equals), literal.substr(equals + 1)));
  }
  for (const auto& argument : files) {
    const auto equals = argument.find('=');
    const std::string path = equals == std::string::npos ? argument : argument.substr(equals + 1);
    const std::string key =
        equals == std::string::npos ? std::filesystem::path(path).filename().string() : argument.substr(0, equals);
    if (path.empty()) return make_error(ErrorCode::kInvalidInput, "--from-file: expected KEY=PATH or PATH");
    auto content = read_file(path);
    if (!content)
      return make_error(ErrorCode::kInvalidInput, fmt::format("--from-file {}: {}", path, content.error().message));
    RETURN_IF_ERROR(add_key(data, "--from-file", key, std::move(content).value()));
  }
  if (data.empty())
    return make_error(ErrorCode::kInvalidInput, "a Secret needs at least one key: give --from-literal or --from-file");
  return data;
}

model::Json secret_document(std::string_view name, std::string_view namespace_name,
                            const std::map<std::string, std::string>& data) {
  model::Json values = model::Json::object();
  for (const auto& [key, value] : data) values[key] = value;
  return model::Json{{"apiVersion", "v1"},
                     {"kind", "Secret"},
                     {"metadata", {{"name", name}, {"namespace", namespace_name}}},
                     {"type", "Opaque"},
                     {"stringData", std::move(values)}};
}

Table secret_table(const std::vector<model::Json>& items, bool with_namespace) {
  Table table;
  table.header = {"NAME", "TYPE", "DATA", "KEYS"};
  if (with_namespace) table.header.insert(table.header.begin(), "NAMESPACE");
  for (const auto& item : items) {
    const auto keys = keys_of(item);
    std::vector<std::string> row = {text_of(item, "/metadata/name"), item.value("type", "Opaque"),
                                    std::to_string(keys.size()), fmt::format("{}", fmt::join(keys, ","))};
    if (with_namespace) row.insert(row.begin(), text_of(item, "/metadata/namespace"));
    table.rows.push_back(std::move(row));
  }
  return table;
}

std::string describe_secret(const model::Json& secret) {
  std::string out = fmt::format("Name:       {}\nNamespace:  {}\nType:       {}\n\nKeys (values are not shown)\n",
                                text_of(secret, "/metadata/name"), text_of(secret, "/metadata/namespace"),
                                secret.value("type", "Opaque"));
  for (const auto& key : keys_of(secret)) out += fmt::format("  {}\n", key);
  return out;
}

}  // namespace pgstack::cli
