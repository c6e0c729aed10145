// Where the CLI sends its requests and with which credentials, like kubectl's kubeconfig:
//   URL:   --api, else $PGSTACK_API, else the current context of ~/.config/pgstack/config, else the
//          default (what `pgstack up` listens on).
//   token: $PGSTACK_TOKEN, else the context of that URL in the config (written by `pgstack login`),
//          else, for the API of the local `pgstack up`, the token it keeps in its state dir (0600).
// A token is only ever sent to the URL it was stored for.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "cli/api_client.h"
#include "common/error.h"

namespace pgstack::cli {

struct ApiContext {
  std::string name;
  std::string api;
  std::string user;
  std::string token;
  std::string ca_file;  // the CA that signed the API's certificate ("": the local installation's)
};

struct CliConfig {
  std::string current_context;
  std::vector<ApiContext> contexts;
};

// $PGSTACK_CONFIG, else $XDG_CONFIG_HOME/pgstack/config, else ~/.config/pgstack/config.
std::filesystem::path cli_config_path();
// An absent file is an empty config; a broken one is an error naming the file.
Result<CliConfig> load_cli_config(const std::filesystem::path& path);
// Written 0600 (it holds tokens), in a 0700 directory.
Result<bool> save_cli_config(const std::filesystem::path& path, const CliConfig& config);

// The token `pgstack up` keeps for the user who ran it, under its state dir.
std::filesystem::path local_token_file(const std::filesystem::path& state_dir);

// The token for `api_url` by the order above; "" when there is none.
std::string token_for(const std::string& api_url);

// The CA file stored with `api_url`'s context by `pgstack login --ca`, "" without one.
std::string ca_file_for(const std::string& api_url);

// An API client for `command`'s --api URL (api_url_for) with the token for it; a CA stored with the
// URL's context is trusted unless $PGSTACK_CA_FILE names one.
ApiClient api_client_for(const CLI::App& command);

}  // namespace pgstack::cli
