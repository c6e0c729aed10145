#include "proxy/pooling_rules.h"

#include <array>
#include <utility>
#include <vector>

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

// A GUC's name ("work_mem", "myext.option"): what may be spliced into SET unquoted.
bool is_setting_name(std::string_view name) {
  if (name.empty() || name.size() > 63 * 2 + 1) return false;
  bool part_start = true;
  for (const char c : name) {
    const bool letter = (c >= 'a' && c <= 'z') || c == '_';
    const bool digit = c >= '0' && c <= '9';
    if (c == '.') {
      if (part_start) return false;
      part_start = true;
      continue;
    }
    if (part_start ? !letter : !(letter || digit)) return false;
    part_start = false;
  }
  return !part_start;
}

// The settings in a startup packet's `options`, as Postgres reads them: words split on spaces (a
// backslash escapes the next character), each "-c name=value", "-cname=value" or "--name=value".
Result<std::vector<std::pair<std::string, std::string>>> settings_in_options(std::string_view options) {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;
  for (std::size_t i = 0; i < options.size(); ++i) {
    const char c = options[i];
    if (c == ' ' || c == '\t' || c == '\n') {
      if (in_word) words.push_back(std::move(word));
      word.clear();
      in_word = false;
      continue;
    }
    in_word = true;
    if (c == '\\' && i + 1 < options.size()) {
      word += options[++i];
      continue;
    }
    word += c;
  }
  if (in_word) words.push_back(std::move(word));

  std::vector<std::pair<std::string, std::string>> settings;
  for (std::size_t i = 0; i < words.size(); ++i) {
    std::string assignment;
    if (words[i] == "-c") {
      if (i + 1 == words.size()) return make_error(ErrorCode::kInvalidInput, "-c without a setting");
      assignment = words[++i];
    } else if (words[i].rfind("-c", 0) == 0 || words[i].rfind("--", 0) == 0) {
      assignment = words[i].substr(2);
    } else {
      return make_error(ErrorCode::kInvalidInput, fmt::format("the switch {} (only -c name=value)", words[i]));
    }
    const std::size_t equals = assignment.find('=');
    std::string name = to_lower(assignment.substr(0, equals));
    // Postgres takes '-' for '_' in these names.
    for (char& c : name) c = c == '-' ? '_' : c;
    if (equals == std::string::npos || !is_setting_name(name)) {
      return make_error(ErrorCode::kInvalidInput, fmt::format("{} is not name=value", assignment));
    }
    settings.emplace_back(std::move(name), assignment.substr(equals + 1));
  }
  return settings;
}

}  // namespace

bool tracked_setting(std::string_view lower_name) {
  for (const auto name : kTracked) {
    if (name == lower_name) return true;
  }
  return false;
}

Result<PooledStartup> pooled_startup_settings(const std::vector<pgwire::StartupParameter>& parameters) {
  PooledStartup startup;
  const auto refuse = [](std::string_view what) {
    return make_error(ErrorCode::kInvalidInput,
                      fmt::format("pgstack-proxy: unsupported startup parameter in a pooled connection: {} (a "
                                  "pooled server connection serves many clients; connect to a listener without "
                                  "pooling for it)",
                                  what));
  };
  const auto keep = [&](std::string name, std::string value) {
    (tracked_setting(name) ? startup.reported : startup.other)[std::move(name)] = std::move(value);
  };
  for (const auto& parameter : parameters) {
    const std::string name = to_lower(parameter.name);
    if (name == "user" || name == "database") continue;
    // JDBC sends it; PgBouncer's usual ignore_startup_parameters (StackGres's default too).
    if (name == "extra_float_digits") continue;
    if (name == "options") {
      auto settings = settings_in_options(parameter.value);
      if (!settings.ok()) return refuse(fmt::format("options ({})", settings.error().message));
      for (auto& [setting, value] : *settings) keep(setting, value);
      continue;
    }
    // Protocol extensions (_pq_.*) ask something of the server connection itself.
    if (name == "replication" || name.rfind("_pq_.", 0) == 0 || !is_setting_name(name)) return refuse(parameter.name);
    keep(name, std::string(parameter.value));
  }
  return startup;
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

std::string other_settings_sync_sql(const ClientSettings& wanted, const ClientSettings& applied) {
  std::string sql;
  const auto add = [&](const std::string& statement) {
    if (!sql.empty()) sql += "; ";
    sql += statement;
  };
  for (const auto& [name, value] : wanted) {
    const auto current = applied.find(name);
    if (current == applied.end() || current->second != value)
      add(fmt::format("SET {} TO {}", name, quote_literal(value)));
  }
  for (const auto& [name, value] : applied) {
    if (!wanted.contains(name)) add("RESET " + name);
  }
  return sql;
}

ClientPool client_pool(const PoolingConfig& pooling, const std::string& database, const std::string& user) {
  ClientPool pool{pooling.mode, pooling.pool_size, database};
  auto entry = pooling.databases.find(database);
  if (entry == pooling.databases.end()) entry = pooling.databases.find("*");
  if (entry != pooling.databases.end()) {
    pool.mode = entry->second.mode.value_or(pool.mode);
    pool.pool_size = entry->second.pool_size.value_or(pool.pool_size);
    if (!entry->second.dbname.empty()) pool.server_database = entry->second.dbname;
  }
  if (const auto found = pooling.users.find(user); found != pooling.users.end() && found->second.mode) {
    pool.mode = *found->second.mode;
  }
  return pool;
}

bool may_release(const ReleaseState& state) {
  return state.idle && state.unanswered <= 0 && !state.unsynced && state.client_at_boundary &&
         state.server_at_boundary && !state.pinned;
}

}  // namespace pgstack::proxy
