#include "cli/api_context.h"

#include <cstdlib>
#include <unistd.h>

#include <fmt/format.h>

#include "cli/commands.h"
#include "common/files.h"
#include "common/http_client.h"
#include "common/strings.h"

namespace pgstack::cli {
namespace {

using nlohmann::json;

std::string environment(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr ? std::string(value) : std::string();
}

std::string without_trailing_slashes(std::string url) {
  while (url.size() > 1 && url.back() == '/') url.pop_back();
  return url;
}

// The API URL of the local `pgstack up` (from its up.json), "" without one.
std::string local_api_url(const std::filesystem::path& state_dir) {
  auto text = read_file(LocalStack{state_dir}.settings_file());
  if (!text.ok()) return "";
  const json settings = json::parse(text.value(), nullptr, false);
  if (!settings.is_object() || !settings.contains("apiAddress") || !settings["apiAddress"].is_string()) return "";
  return "https://" + settings["apiAddress"].get<std::string>();
}

}  // namespace

std::filesystem::path cli_config_path() {
  if (auto explicit_path = environment("PGSTACK_CONFIG"); !explicit_path.empty()) return explicit_path;
  if (auto xdg = environment("XDG_CONFIG_HOME"); !xdg.empty()) return std::filesystem::path(xdg) / "pgstack" / "config";
  const std::string home = environment("HOME");
  return std::filesystem::path(home.empty() ? "." : home) / ".config" / "pgstack" / "config";
}

Result<CliConfig> load_cli_config(const std::filesystem::path& path) {
  std::error_code missing;
  if (!std::filesystem::exists(path, missing)) return CliConfig{};
  auto text = read_file(path);
  RETURN_IF_ERROR(text);
  const json parsed = json::parse(text.value(), nullptr, false);
  if (parsed.is_discarded() || !parsed.is_object())
    return make_error(ErrorCode::kInvalidInput,
                      fmt::format("{}: not a pgstack CLI config (a JSON object)", path.string()));
  CliConfig config;
  config.current_context = parsed.value("currentContext", "");
  for (const auto& item : parsed.value("contexts", json::array())) {
    if (!item.is_object()) continue;
    config.contexts.push_back({item.value("name", ""), without_trailing_slashes(item.value("api", "")),
                               item.value("user", ""), item.value("token", ""), item.value("caFile", "")});
  }
  return config;
}

Result<bool> save_cli_config(const std::filesystem::path& path, const CliConfig& config) {
  json contexts = json::array();
  for (const auto& context : config.contexts)
    contexts.push_back({{"name", context.name},
                        {"api", context.api},
                        {"user", context.user},
                        {"token", context.token},
                        {"caFile", context.ca_file}});
  const json out = {{"currentContext", config.current_context}, {"contexts", contexts}};
  std::error_code error;
  std::filesystem::create_directories(path.parent_path(), error);
  if (error)
    return make_error(ErrorCode::kUnavailable,
                      fmt::format("cannot create {}: {}", path.parent_path().string(), error.message()));
  std::filesystem::permissions(path.parent_path(), std::filesystem::perms::owner_all, error);
  return write_file_atomically(path, out.dump(2) + "\n",
                               std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
}

std::filesystem::path local_token_file(const std::filesystem::path& state_dir) {
  return state_dir / "auth" / "admin-token";
}

std::string token_for(const std::string& api_url) {
  if (auto token = environment("PGSTACK_TOKEN"); !token.empty()) return trim(token);
  if (auto config = load_cli_config(cli_config_path()); config.ok()) {
    const ApiContext* found = nullptr;
    for (const auto& context : config->contexts) {
      if (context.api != api_url) continue;
      if (found == nullptr || context.name == config->current_context) found = &context;
    }
    if (found != nullptr) return found->token;
  }
  const auto state_dir = default_state_dir();
  if (local_api_url(state_dir) == api_url) {
    if (auto token = read_file(local_token_file(state_dir)); token.ok()) return trim(token.value());
  }
  return "";
}

std::string ca_file_for(const std::string& api_url) {
  auto config = load_cli_config(cli_config_path());
  if (!config.ok()) return "";
  std::string found;
  for (const auto& context : config->contexts) {
    if (context.api == api_url && (found.empty() || context.name == config->current_context)) found = context.ca_file;
  }
  return found;
}

ApiClient api_client_for(const CLI::App& command) {
  const std::string url = api_url_for(command);
  if (const std::string ca = ca_file_for(url); !ca.empty() && environment("PGSTACK_CA_FILE").empty())
    set_tls_client_files({ca, "", ""});
  return ApiClient(url, token_for(url));
}

}  // namespace pgstack::cli
