// pgstack login / user / token / auth can-i / audit: who may use the API (docs/security.md).
#include <chrono>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <termios.h>
#include <unistd.h>

#include <fmt/format.h>

#include "cli/api_client.h"
#include "cli/api_context.h"
#include "cli/commands.h"
#include "cli/output.h"
#include "common/http_client.h"
#include "common/strings.h"
#include "common/time.h"

namespace pgstack::cli {
namespace {

using model::Json;

const std::map<std::string, std::int64_t> kDurationUnits = {{"s", 1}, {"m", 60}, {"h", 3600}, {"d", 86400}};

// "90s", "30m", "24h", "7d": seconds; nothing for anything else.
std::optional<std::int64_t> duration_seconds(const std::string& text) {
  std::size_t digits = 0;
  while (digits < text.size() && digits < 9 && std::isdigit(static_cast<unsigned char>(text[digits]))) ++digits;
  if (digits == 0) return std::nullopt;
  const auto unit = kDurationUnits.find(text.substr(digits));
  if (unit == kDurationUnits.end()) return std::nullopt;
  return std::stoll(text.substr(0, digits)) * unit->second;
}

// A password from the terminal without echo, or one line of standard input with --password-stdin.
Result<std::string> read_password(const std::string& prompt, bool from_stdin) {
  std::string password;
  if (from_stdin || !::isatty(STDIN_FILENO)) {
    if (!std::getline(std::cin, password)) return make_error(ErrorCode::kInvalidInput, "no password on standard input");
    if (!password.empty() && password.back() == '\r') password.pop_back();
    return password;
  }
  termios saved{};
  ::tcgetattr(STDIN_FILENO, &saved);
  termios quiet = saved;
  quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
  std::cerr << prompt << std::flush;
  ::tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
  std::getline(std::cin, password);
  ::tcsetattr(STDIN_FILENO, TCSANOW, &saved);
  std::cerr << "\n";
  return password;
}

// A new password: twice on a terminal, once from standard input.
Result<std::string> read_new_password(bool from_stdin) {
  auto first = read_password("New password: ", from_stdin);
  if (!first.ok() || from_stdin || !::isatty(STDIN_FILENO)) return first;
  auto second = read_password("Again: ", false);
  if (!second.ok()) return second;
  if (first.value() != second.value()) return make_error(ErrorCode::kInvalidInput, "the passwords differ");
  return first;
}

std::string current_user_name() {
  const char* user = std::getenv("USER");
  return user != nullptr ? user : "";
}

std::string text_of(const Json& object, const char* key) {
  const auto found = object.find(key);
  return found != object.end() && found->is_string() ? found->get<std::string>() : std::string();
}

std::string roles_text(const Json& roles) {
  std::vector<std::string> out;
  for (const auto& binding : roles) out.push_back(text_of(binding, "role") + "@" + text_of(binding, "namespace"));
  return out.empty() ? "-" : fmt::format("{}", fmt::join(out, ","));
}

int print_items(const Json& list, const std::string& output, const Table& table) {
  const auto format = parse_output_format(output);
  if (!format) return report_error("output", format.error());
  if (*format == OutputFormat::kJson || *format == OutputFormat::kYaml) {
    std::vector<Json> items(list["items"].begin(), list["items"].end());
    std::cout << format_documents(items, true, *format);
    return 0;
  }
  std::cout << format_table(table);
  return 0;
}

// Logs in with a password (a session), turns it into an API token for this CLI and ends the session.
Result<std::string> token_by_login(const std::string& url, const std::string& user, const std::string& password) {
  const Json credentials = {{"username", user}, {"password", password}};
  auto login = http_request("POST", url + "/auth/login", credentials.dump(), {{"Content-Type", "application/json"}},
                            std::chrono::seconds(30));
  if (!login.ok()) return unreachable_error(url, login.error());
  if (login->status != 200) return error_from_response(login->status, login->body);
  const auto cookie_header = login->headers.find("set-cookie");
  if (cookie_header == login->headers.end())
    return make_error(ErrorCode::kInternal, "the login answer carries no session cookie");
  const std::string cookie = trim(split(cookie_header->second, ';').front());
  const HttpHeaders session = {{"Cookie", cookie}, {"X-Pgstack-Csrf", "1"}, {"Content-Type", "application/json"}};
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  const Json request = {{"description", fmt::format("pgstack login on {}", host)}};
  auto created =
      http_request("POST", url + "/apis/pgstack.io/v1/tokens", request.dump(), session, std::chrono::seconds(30));
  (void)http_request("POST", url + "/auth/logout", "{}", session, std::chrono::seconds(10));
  if (!created.ok()) return unreachable_error(url, created.error());
  if (created->status != 201) return error_from_response(created->status, created->body);
  const Json token = Json::parse(created->body, nullptr, false);
  if (!token.is_object() || text_of(token, "token").empty())
    return make_error(ErrorCode::kInternal, "the API did not return a token");
  return text_of(token, "token");
}

}  // namespace

void add_login_command(CLI::App& app, ExitStatus& status) {
  struct Options {
    std::string api;
    std::string user = current_user_name();
    std::string context;
    std::string ca_file;
    bool password_stdin = false;
  };
  auto options = std::make_shared<Options>();
  CLI::App* command = app.add_subcommand(
      "login", "Log in to a pgstack API with a password; keeps a token in ~/.config/pgstack/config (0600)");
  command->add_option("api_url", options->api, "The API, e.g. http://10.0.0.5:8080 (default: --api)")->type_name("URL");
  command->add_option("-u,--user", options->user, "User name")->capture_default_str();
  command->add_option("--context", options->context, "Name of the context to save (default: the URL)");
  command->add_flag("--password-stdin", options->password_stdin, "Read the password from standard input");
  command
      ->add_option("--ca", options->ca_file,
                   "The CA that signed the API's certificate (the installation's ca.crt), kept with the context")
      ->check(CLI::ExistingFile)
      ->type_name("FILE");
  command->callback([options, command, &status] {
    std::string url = options->api.empty() ? api_url_for(*command) : options->api;
    while (url.size() > 1 && url.back() == '/') url.pop_back();
    std::string ca_file;
    if (!options->ca_file.empty()) {
      ca_file = std::filesystem::absolute(options->ca_file).string();
      set_tls_client_files({ca_file, "", ""});
    }
    if (options->user.empty())
      return void(status.code = report_error("login", make_error(ErrorCode::kInvalidInput, "--user: required")));
    auto password = read_password(fmt::format("Password for {} at {}: ", options->user, url), options->password_stdin);
    if (!password.ok()) return void(status.code = report_error("login", password.error()));
    auto token = token_by_login(url, options->user, password.value());
    if (!token.ok()) return void(status.code = report_error("login", token.error()));
    const auto path = cli_config_path();
    auto loaded = load_cli_config(path);
    if (!loaded.ok()) return void(status.code = report_error("login", loaded.error()));
    CliConfig config = loaded.value();
    const std::string name = options->context.empty() ? url : options->context;
    std::erase_if(config.contexts, [&](const ApiContext& context) { return context.name == name; });
    config.contexts.push_back({name, url, options->user, token.value(), ca_file});
    config.current_context = name;
    if (auto saved = save_cli_config(path, config); !saved.ok())
      return void(status.code = report_error("login", saved.error()));
    std::cout << fmt::format("logged in to {} as {} (context \"{}\" in {})\n", url, options->user, name, path.string());
    status.code = 0;
  });
}

void add_user_command(CLI::App& app, ExitStatus& status) {
  CLI::App* user = app.add_subcommand("user", "Manage the API's users (admin)");
  user->require_subcommand(1);

  struct Options {
    std::string name;
    std::string role;
    std::string namespace_name = "*";
    bool password_stdin = false;
    bool no_password = false;
    std::string output;
  };
  auto options = std::make_shared<Options>();
  const auto add_role_options = [&](CLI::App* command) {
    command->add_option("--role", options->role, "admin, operator or viewer")->required();
    command->add_option("-n,--namespace", options->namespace_name, "Namespace of the role (* : every namespace)")
        ->capture_default_str();
  };

  CLI::App* create = user->add_subcommand("create", "Create a user with a role");
  create->add_option("name", options->name, "User name")->required();
  add_role_options(create);
  create->add_flag("--password-stdin", options->password_stdin, "Read the password from standard input");
  create->add_flag("--no-password", options->no_password, "No password: the user works with tokens only");
  create->callback([options, create, &status] {
    Json body = {{"name", options->name},
                 {"roles", Json::array({{{"role", options->role}, {"namespace", options->namespace_name}}})}};
    if (!options->no_password) {
      auto password = read_new_password(options->password_stdin);
      if (!password.ok()) return void(status.code = report_error("user create", password.error()));
      body["password"] = password.value();
    }
    auto created = api_client_for(*create).send("POST", "/apis/pgstack.io/v1/users", &body);
    if (!created.ok()) return void(status.code = report_error("user create", created.error()));
    std::cout << fmt::format("user/{} created ({})\n", options->name, roles_text((*created)["roles"]));
    status.code = 0;
  });

  CLI::App* list = user->add_subcommand("list", "List users and their roles");
  list->add_option("-o,--output", options->output, "json or yaml");
  list->callback([options, list, &status] {
    auto users = api_client_for(*list).send("GET", "/apis/pgstack.io/v1/users");
    if (!users.ok()) return void(status.code = report_error("user list", users.error()));
    Table table{{"NAME", "ROLES", "PASSWORD", "CREATED"}, {}};
    for (const auto& item : (*users)["items"])
      table.rows.push_back({text_of(item, "name"), roles_text(item["roles"]),
                            item.value("hasPassword", false) ? "set" : "none", text_of(item, "created")});
    status.code = print_items(*users, options->output, table);
  });

  CLI::App* remove = user->add_subcommand("delete", "Delete a user, their tokens and sessions");
  remove->add_option("name", options->name, "User name")->required();
  remove->callback([options, remove, &status] {
    auto removed = api_client_for(*remove).send("DELETE", "/apis/pgstack.io/v1/users/" + options->name);
    if (!removed.ok()) return void(status.code = report_error("user delete", removed.error()));
    std::cout << fmt::format("user/{} deleted\n", options->name);
    status.code = 0;
  });

  CLI::App* set_role = user->add_subcommand("set-role", "Replace a user's roles with one role");
  set_role->add_option("name", options->name, "User name")->required();
  add_role_options(set_role);
  set_role->callback([options, set_role, &status] {
    const Json body = {{"roles", Json::array({{{"role", options->role}, {"namespace", options->namespace_name}}})}};
    auto changed =
        api_client_for(*set_role).send("PUT", "/apis/pgstack.io/v1/users/" + options->name + "/roles", &body);
    if (!changed.ok()) return void(status.code = report_error("user set-role", changed.error()));
    std::cout << fmt::format("user/{} roles: {}\n", options->name, roles_text((*changed)["roles"]));
    status.code = 0;
  });

  CLI::App* set_password = user->add_subcommand("set-password", "Set a user's password (ends their sessions)");
  set_password->add_option("name", options->name, "User name")->required();
  set_password->add_flag("--password-stdin", options->password_stdin, "Read the password from standard input");
  set_password->callback([options, set_password, &status] {
    auto password = read_new_password(options->password_stdin);
    if (!password.ok()) return void(status.code = report_error("user set-password", password.error()));
    const Json body = {{"password", password.value()}};
    auto changed =
        api_client_for(*set_password).send("PUT", "/apis/pgstack.io/v1/users/" + options->name + "/password", &body);
    if (!changed.ok()) return void(status.code = report_error("user set-password", changed.error()));
    std::cout << fmt::format("user/{} password changed\n", options->name);
    status.code = 0;
  });
}

void add_token_command(CLI::App& app, ExitStatus& status) {
  CLI::App* token = app.add_subcommand("token", "Manage API tokens");
  token->require_subcommand(1);
  struct Options {
    std::string user;
    std::string description;
    std::int64_t expires_in = 0;
    bool all = false;
    std::string id;
    std::string output;
  };
  auto options = std::make_shared<Options>();

  CLI::App* create = token->add_subcommand("create", "Create a token; it is printed once, on standard output");
  create->add_option("--user", options->user, "For another user (admin)");
  create->add_option("--description", options->description, "What the token is for");
  create->add_option("--expires-in", options->expires_in, "Lifetime, e.g. 12h, 30d (default: no expiry)")
      ->transform(CLI::AsNumberWithUnit(kDurationUnits))
      ->type_name("DURATION");
  create->callback([options, create, &status] {
    Json body = {{"description", options->description}};
    if (!options->user.empty()) body["user"] = options->user;
    if (options->expires_in > 0)
      body["expires"] = utc_timestamp(std::chrono::system_clock::now() + std::chrono::seconds(options->expires_in));
    auto created = api_client_for(*create).send("POST", "/apis/pgstack.io/v1/tokens", &body);
    if (!created.ok()) return void(status.code = report_error("token create", created.error()));
    std::cerr << fmt::format("token {} of {} created{}; it is shown only now:\n", text_of(*created, "id"),
                             text_of(*created, "user"),
                             text_of(*created, "expires").empty() ? "" : ", expires " + text_of(*created, "expires"));
    std::cout << text_of(*created, "token") << "\n";
    status.code = 0;
  });

  CLI::App* list = token->add_subcommand("list", "List tokens (yours; --all or --user for an admin)");
  list->add_option("--user", options->user, "Another user's tokens");
  list->add_flag("--all", options->all, "Every user's tokens");
  list->add_option("-o,--output", options->output, "json or yaml");
  list->callback([options, list, &status] {
    std::string path = "/apis/pgstack.io/v1/tokens";
    if (options->all)
      path += "?all=true";
    else if (!options->user.empty())
      path += "?user=" + options->user;
    auto tokens = api_client_for(*list).send("GET", path);
    if (!tokens.ok()) return void(status.code = report_error("token list", tokens.error()));
    Table table{{"ID", "USER", "DESCRIPTION", "CREATED", "EXPIRES", "LAST USED"}, {}};
    for (const auto& item : (*tokens)["items"]) {
      const auto or_dash = [&](const char* key) {
        auto text = text_of(item, key);
        return text.empty() ? "-" : text;
      };
      table.rows.push_back({text_of(item, "id"), text_of(item, "user"), or_dash("description"),
                            text_of(item, "created"), or_dash("expires"), or_dash("lastUsed")});
    }
    status.code = print_items(*tokens, options->output, table);
  });

  CLI::App* revoke = token->add_subcommand("revoke", "Revoke a token at once");
  revoke->add_option("id", options->id, "Token id (from token list)")->required();
  revoke->callback([options, revoke, &status] {
    auto revoked = api_client_for(*revoke).send("DELETE", "/apis/pgstack.io/v1/tokens/" + options->id);
    if (!revoked.ok()) return void(status.code = report_error("token revoke", revoked.error()));
    std::cout << fmt::format("token {} revoked\n", options->id);
    status.code = 0;
  });
}

void add_auth_command(CLI::App& app, ExitStatus& status) {
  CLI::App* auth = app.add_subcommand("auth", "What the API lets you do");
  auth->require_subcommand(1);
  struct Options {
    std::string verb;
    std::string resource;
    std::string namespace_name{kDefaultNamespace};
  };
  auto options = std::make_shared<Options>();
  CLI::App* can_i = auth->add_subcommand("can-i", "Whether you may VERB RESOURCE: prints yes (exit 0) or no (exit 1)");
  can_i->add_option("verb", options->verb, "get, list, create, update, delete")->required();
  can_i->add_option("resource", options->resource, "A kind or resource: sgclusters, sgclusters/credentials, users...")
      ->required();
  can_i->add_option("-n,--namespace", options->namespace_name, "Namespace")->capture_default_str();
  can_i->callback([options, can_i, &status] {
    std::string resource = options->resource;
    const auto slash = resource.find('/');
    // Kinds as kubectl names them (sgcluster, sgcl, SGCluster) become their plural.
    if (auto kind = resolve_kind(resource.substr(0, slash)); kind.ok())
      resource = kind.value()->plural + (slash == std::string::npos ? "" : resource.substr(slash));
    auto answer = api_client_for(*can_i).send(
        "GET", fmt::format("/auth/rbac/can-i/{}/{}?namespace={}", options->verb, resource, options->namespace_name));
    if (!answer.ok() && answer.error().code != ErrorCode::kPermissionDenied)
      return void(status.code = report_error("auth can-i", answer.error()));
    std::cout << (answer.ok() ? "yes" : "no") << "\n";
    status.code = answer.ok() ? 0 : 1;
  });
  CLI::App* whoami = auth->add_subcommand("whoami", "Who the API takes you for, and your roles");
  whoami->callback([whoami, &status] {
    auto answer = api_client_for(*whoami).send("GET", "/auth/whoami");
    if (!answer.ok()) return void(status.code = report_error("auth whoami", answer.error()));
    std::cout << fmt::format("{} ({}; by {})\n", text_of(*answer, "user"), roles_text((*answer)["roles"]),
                             text_of(*answer, "authenticatedBy"));
    status.code = 0;
  });
}

void add_audit_command(CLI::App& app, ExitStatus& status) {
  struct Options {
    std::string since;
    std::string output;
  };
  auto options = std::make_shared<Options>();
  CLI::App* command = app.add_subcommand("audit", "Who changed what, and who saw credentials (admin)");
  command->add_option("--since", options->since, "A duration (30m, 24h, 7d) or an RFC 3339 time")->type_name("WHEN");
  command->add_option("-o,--output", options->output, "json or yaml");
  command->callback([options, command, &status] {
    std::string since;
    if (!options->since.empty()) {
      if (parse_utc_timestamp(options->since)) {
        since = options->since;
      } else {
        const auto seconds = duration_seconds(options->since);
        if (!seconds) {
          return void(
              status.code = report_error(
                  "audit", make_error(ErrorCode::kInvalidInput,
                                      fmt::format("--since: expected 30m, 24h, 7d or an RFC 3339 time, got \"{}\"",
                                                  options->since))));
        }
        since = utc_timestamp(std::chrono::system_clock::now() - std::chrono::seconds(*seconds));
      }
    }
    auto entries =
        api_client_for(*command).send("GET", "/apis/pgstack.io/v1/audit" + (since.empty() ? "" : "?since=" + since));
    if (!entries.ok()) return void(status.code = report_error("audit", entries.error()));
    Table table{{"TIME", "USER", "SOURCE", "REQUEST", "STATUS"}, {}};
    for (const auto& item : (*entries)["items"])
      table.rows.push_back({text_of(item, "time"), text_of(item, "user"), text_of(item, "sourceAddress"),
                            text_of(item, "method") + " " + text_of(item, "path"),
                            std::to_string(item.value("status", 0))});
    status.code = print_items(*entries, options->output, table);
  });
}

}  // namespace pgstack::cli
