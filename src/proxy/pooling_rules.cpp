#include "proxy/pooling_rules.h"

#include <array>

#include <fmt/format.h>

#include "common/strings.h"

namespace pgstack::proxy {
namespace {

// GUC_REPORT parameters a client may set (Postgres 15): the rest of the reported ones are read-only.
constexpr std::array<std::string_view, 6> kTracked = {
    "application_name", "client_encoding", "datestyle", "intervalstyle", "timezone", "standard_conforming_strings"};

std::string quote_literal(std::string_view value) {
  std::string out = "'";
  for (const char c : value) {
    if (c == '\'') out += '\'';
    out += c;
  }
  return out + "'";
}

}  // namespace

bool tracked_setting(std::string_view lower_name) {
  for (const auto name : kTracked) {
    if (name == lower_name) return true;
  }
  return false;
}

Result<ClientSettings> pooled_startup_settings(const std::vector<pgwire::StartupParameter>& parameters) {
  ClientSettings settings;
  for (const auto& parameter : parameters) {
    const std::string name = to_lower(parameter.name);
    if (name == "user" || name == "database") continue;
    // JDBC sends it; PgBouncer's usual ignore_startup_parameters (StackGres's default too).
    if (name == "extra_float_digits") continue;
    if (tracked_setting(name)) {
      settings[name] = std::string(parameter.value);
      continue;
    }
    return make_error(ErrorCode::kInvalidInput,
                      fmt::format("pgstack-proxy: unsupported startup parameter in a pooled connection: {} (a "
                                  "pooled server connection serves many clients; set it with SET in the session, "
                                  "or connect to a listener without pooling)",
                                  parameter.name));
  }
  return settings;
}

std::string settings_sync_sql(const ClientSettings& wanted, const std::map<std::string, std::string>& server) {
  std::string sql;
  for (const auto& [name, value] : wanted) {
    const auto current = server.find(name);
    if (current != server.end() && current->second == value) continue;
    if (!sql.empty()) sql += "; ";
    sql += fmt::format("SET {} TO {}", name, quote_literal(value));
  }
  return sql;
}

bool may_release(const ReleaseState& state) {
  return state.idle && state.unanswered <= 0 && !state.unsynced && state.client_at_boundary &&
         state.server_at_boundary && !state.pinned;
}

}  // namespace pgstack::proxy
