// pgstack get KIND [NAME] [-n NS | -A] [-o wide|json|yaml]: kubectl-like listing through the API
// (KIND secrets: users' Secrets, their key names only; KIND alerts: firing alerts, NAME a cluster;
// KIND hosts: the installation's hosts and their members).
#include <iostream>
#include <memory>

#include <fmt/format.h>

#include "cli/api_client.h"
#include "cli/api_context.h"
#include "cli/commands.h"
#include "cli/output.h"
#include "cli/secret_input.h"
#include "common/strings.h"

namespace pgstack::cli {
namespace {

// Secrets come from the core API and show their key names only.
int get_secrets(const ApiClient& client, const std::string& name, const std::string& namespace_name,
                const std::string& output) {
  const auto format = parse_output_format(output);
  if (!format) return report_error("get", format.error());
  if (namespace_name.empty() && !name.empty())
    return report_error("get", make_error(ErrorCode::kInvalidInput,
                                          "a Secret cannot be fetched by name across all "
                                          "namespaces (-A): name its namespace with -n"));
  std::vector<model::Json> items;
  if (name.empty()) {
    auto listed = client.list_secrets(namespace_name);
    if (!listed) return report_error("get", listed.error());
    items = std::move(listed).value();
  } else {
    auto one = client.get_secret(namespace_name, name);
    if (!one) return report_error("get", one.error());
    items.push_back(std::move(one).value());
  }
  if (*format == OutputFormat::kJson || *format == OutputFormat::kYaml) {
    std::cout << format_documents(items, name.empty(), *format);
    return 0;
  }
  if (items.empty()) {
    std::cerr << (namespace_name.empty() ? std::string("No resources found\n")
                                         : fmt::format("No resources found in {} namespace.\n", namespace_name));
    return 0;
  }
  std::cout << format_table(secret_table(items, namespace_name.empty()));
  return 0;
}

bool is_extensions_kind(const std::string& kind) {
  return kind == "extensions" || kind == "extension" || kind == "ext";
}

// What the agents' hosts have installed (with --available, also what they can install), from
// GET /apis/pgstack.io/v1/extensions.
int get_extensions(const ApiClient& client, const std::string& name, bool available, const std::string& output) {
  const auto format = parse_output_format(output);
  if (!format) return report_error("get", format.error());
  auto listed =
      client.send("GET", std::string("/apis/pgstack.io/v1/extensions") + (available ? "?available=true" : ""));
  if (!listed) return report_error("get", listed.error());
  std::vector<model::Json> items;
  if (const auto found = listed->find("items"); found != listed->end() && found->is_array()) {
    for (const auto& item : *found) {
      if (name.empty() || item.value("name", "") == name) items.push_back(item);
    }
  }
  if (*format == OutputFormat::kJson || *format == OutputFormat::kYaml) {
    model::Json list = *listed;
    list["items"] = items;
    std::cout << format_documents({list}, false, *format);
    return 0;
  }
  if (items.empty()) {
    std::cerr << (available ? "No extensions found (no agent has published its host's yet)\n"
                            : "No installed extensions found (--available lists what can be installed)\n");
    return 0;
  }
  Table table{{"HOST", "NAME", "VERSION", "STATUS", "PACKAGE", "PRELOAD"}, {}};
  for (const auto& item : items) {
    const bool installed = item.value("installed", false);
    std::string status = installed ? (item.value("contrib", false) ? "installed (contrib)" : "installed")
                                   : fmt::format("installable {}", item.value("candidateVersion", ""));
    table.rows.push_back({item.value("host", ""), item.value("name", ""), item.value("version", ""), trim(status),
                          item.value("package", ""), item.value("preload", "")});
  }
  std::cout << format_table(table);
  return 0;
}

bool is_hosts_kind(const std::string& kind) { return kind == "hosts" || kind == "host"; }

// The installation's hosts and the members on each, from GET /apis/pgstack.io/v1/hosts.
int get_hosts(const ApiClient& client, const std::string& name, const std::string& output) {
  const auto format = parse_output_format(output);
  if (!format) return report_error("get", format.error());
  auto listed = client.send("GET", "/apis/pgstack.io/v1/hosts" + (name.empty() ? std::string() : "/" + name));
  if (!listed) return report_error("get", listed.error());
  std::vector<model::Json> items;
  if (!name.empty()) {
    items.push_back(*listed);
  } else if (const auto found = listed->find("items"); found != listed->end() && found->is_array()) {
    items.assign(found->begin(), found->end());
  }
  if (*format == OutputFormat::kJson || *format == OutputFormat::kYaml) {
    std::cout << format_documents({*listed}, false, *format);
    return 0;
  }
  if (items.empty()) {
    std::cerr << "No hosts found (no agent has registered)\n";
    return 0;
  }
  std::cout << format_table(host_table(items, *format == OutputFormat::kWide, std::chrono::system_clock::now()));
  return 0;
}

bool is_alerts_kind(const std::string& kind) { return kind == "alerts" || kind == "alert"; }

// Firing alerts from the controller's Alertmanager: of one cluster, of a namespace's clusters, or (-A)
// of every cluster the caller may read.
int get_alerts(const ApiClient& client, const std::string& cluster, const std::string& namespace_name,
               bool all_namespaces, const std::string& output) {
  const auto format = parse_output_format(output);
  if (!format) return report_error("get", format.error());
  if (all_namespaces && !cluster.empty())
    return report_error("get", make_error(ErrorCode::kInvalidInput,
                                          "the alerts of a cluster cannot be fetched across all namespaces (-A): "
                                          "name its namespace with -n"));
  const std::string path = all_namespaces    ? std::string("/apis/pgstack.io/v1/alerts")
                           : cluster.empty() ? fmt::format("/apis/pgstack.io/v1/namespaces/{}/alerts", namespace_name)
                                             : fmt::format("/apis/pgstack.io/v1/namespaces/{}/sgclusters/{}/alerts",
                                                           namespace_name, cluster);
  auto listed = client.send("GET", path);
  if (!listed) return report_error("get", listed.error());
  std::vector<model::Json> items;
  if (const auto found = listed->find("items"); found != listed->end() && found->is_array())
    items.assign(found->begin(), found->end());
  if (*format == OutputFormat::kJson || *format == OutputFormat::kYaml) {
    std::cout << format_documents({*listed}, false, *format);
    return 0;
  }
  if (items.empty()) {
    std::cerr << (!cluster.empty() ? fmt::format("No alerts firing for {}/{}.\n", namespace_name, cluster)
                  : all_namespaces ? std::string("No alerts firing.\n")
                                   : fmt::format("No alerts firing in {} namespace.\n", namespace_name));
    return 0;
  }
  std::cout << format_table(alert_table(items, cluster.empty(), all_namespaces, std::chrono::system_clock::now()));
  return 0;
}

}  // namespace

void add_get_command(CLI::App& app, ExitStatus& status) {
  struct Options {
    std::string kind;
    std::string name;
    std::string namespace_name{kDefaultNamespace};
    bool all_namespaces = false;
    bool available = false;
    std::string output;
  };
  auto options = std::make_shared<Options>();
  CLI::App* command = app.add_subcommand("get", "List resources, or show one");
  command->add_option("kind", options->kind, "Kind, plural, singular or short name (sgcluster, sgclusters, sgclu)")
      ->required();
  command->add_option("name", options->name, "Only this resource (with KIND alerts: this cluster's)");
  command->add_option("-n,--namespace", options->namespace_name, "Namespace")->capture_default_str()->type_name("NS");
  command->add_flag("-A,--all-namespaces", options->all_namespaces, "List across every namespace");
  command->add_flag("--available", options->available,
                    "With KIND extensions: also list what the hosts can install, not only what is installed");
  command
      ->add_option("-o,--output", options->output, "wide: more columns; json|yaml: the documents (a List for listings)")
      ->check(CLI::IsMember({"wide", "json", "yaml"}));
  command->callback([options, command, &status] {
    if (is_alerts_kind(options->kind)) {
      status.code = get_alerts(api_client_for(*command), options->name, options->namespace_name,
                               options->all_namespaces, options->output);
      return;
    }
    if (is_hosts_kind(options->kind)) {
      status.code = get_hosts(api_client_for(*command), options->name, options->output);
      return;
    }
    if (is_extensions_kind(options->kind)) {
      status.code = get_extensions(api_client_for(*command), options->name, options->available, options->output);
      return;
    }
    if (is_secret_kind(options->kind)) {
      status.code = get_secrets(api_client_for(*command), options->name,
                                options->all_namespaces ? "" : options->namespace_name, options->output);
      return;
    }
    const auto kind = resolve_kind(options->kind);
    if (!kind) {
      status.code = report_error("get", kind.error());
      return;
    }
    const auto format = parse_output_format(options->output);
    if (!format) {
      status.code = report_error("get", format.error());
      return;
    }
    if (options->all_namespaces && !options->name.empty()) {
      status.code = report_error("get", make_error(ErrorCode::kInvalidInput,
                                                   "a resource cannot be fetched by name across all namespaces (-A): "
                                                   "name its namespace with -n"));
      return;
    }
    const ApiClient client = api_client_for(*command);
    std::vector<model::Json> items;
    if (options->name.empty()) {
      auto listed = client.list(**kind, options->all_namespaces ? "" : options->namespace_name);
      if (!listed) {
        status.code = report_error("get", listed.error());
        return;
      }
      items = std::move(listed).value();
    } else {
      auto one = client.get(**kind, options->namespace_name, options->name);
      if (!one) {
        status.code = report_error("get", one.error());
        return;
      }
      items.push_back(std::move(one).value());
    }
    // READY and PRIMARY come from the status; a listing may leave it out.
    if ((*kind)->kind == "SGCluster" && (*format == OutputFormat::kTable || *format == OutputFormat::kWide)) {
      for (auto& item : items) {
        if (item.contains("status")) continue;
        const auto metadata = item.find("metadata");
        if (metadata == item.end() || !metadata->is_object()) continue;
        const std::string name = metadata->value("name", "");
        const std::string namespace_name = metadata->value("namespace", std::string(kDefaultNamespace));
        if (name.empty()) continue;
        if (auto observed = client.cluster_status(namespace_name, name)) item["status"] = std::move(observed).value();
      }
    }
    status.code = 0;
    if (*format == OutputFormat::kJson || *format == OutputFormat::kYaml) {
      std::cout << format_documents(items, options->name.empty(), *format);
      return;
    }
    if (items.empty()) {
      if (options->all_namespaces)
        std::cerr << "No resources found\n";
      else
        std::cerr << fmt::format("No resources found in {} namespace.\n", options->namespace_name);
      return;
    }
    std::cout << format_table(resource_table(**kind, items, *format == OutputFormat::kWide, options->all_namespaces,
                                             std::chrono::system_clock::now()));
  });
}

}  // namespace pgstack::cli
