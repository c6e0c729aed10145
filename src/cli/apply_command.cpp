// pgstack apply -f FILE...: validates locally (as `pgstack validate` does), then creates or replaces
// each document through the API and says so as kubectl does:
//   sgcluster.stackgres.io/demo created|configured|unchanged
// With --dry-run the server checks each write as a real one and stores nothing (?dryRun=All); what a
// replace would change is printed under its line, with whether Postgres would need a restart.
#include <iostream>
#include <memory>

#include <fmt/format.h>

#include "cli/api_client.h"
#include "cli/api_context.h"
#include "cli/commands.h"
#include "cli/manifest_input.h"
#include "cli/output.h"

namespace pgstack::cli {

namespace {

// What a user changes: spec, labels and annotations. Compared unordered: the server may reorder keys.
nlohmann::json user_owned_part(const model::Json& document) {
  nlohmann::json out = nlohmann::json::object();
  for (const char* key : {"spec", "data"})
    if (document.contains(key)) out[key] = nlohmann::json::parse(document[key].dump());
  if (document.contains("metadata")) {
    for (const char* key : {"labels", "annotations"}) {
      const auto& metadata = document["metadata"];
      if (metadata.is_object() && metadata.contains(key) && !metadata[key].empty())
        out[key] = nlohmann::json::parse(metadata[key].dump());
    }
  }
  return out;
}

enum class ApplyOutcome { kCreated, kConfigured, kUnchanged };

struct AppliedDocument {
  ApplyOutcome outcome = ApplyOutcome::kUnchanged;
  model::Json dry_run;  // the server's "dryRun" answer (null when applied for real)
};

Result<AppliedDocument> apply_document(const ApiClient& client, const model::KindInfo& kind,
                                       const model::Document& document, bool dry_run) {
  const std::string namespace_name = document.namespace_name();
  const std::string name = document.name();
  auto existing = client.get(kind, namespace_name, name);
  if (!existing && existing.error().code != ErrorCode::kNotFound) return existing.error();
  if (existing) {
    if (user_owned_part(*existing) == user_owned_part(document.body))
      return AppliedDocument{ApplyOutcome::kUnchanged, nullptr};
    auto replaced = client.replace(kind, namespace_name, name, document.body, dry_run);
    if (replaced) return AppliedDocument{ApplyOutcome::kConfigured, replaced->value("dryRun", model::Json())};
    if (replaced.error().code != ErrorCode::kNotFound) return replaced.error();
    // Deleted between our GET and PUT: create it.
  }
  auto created = client.create(kind, namespace_name, document.body, dry_run);
  RETURN_IF_ERROR(created);
  return AppliedDocument{ApplyOutcome::kCreated, created->value("dryRun", model::Json())};
}

std::string change_value_text(const model::Json& change, const char* side) {
  return change.contains(side) ? change[side].dump() : "(none)";
}

// Under a dry run's line: "  spec.instances: 1 -> 2", then whether Postgres needs a restart and why.
void print_dry_run_changes(const model::Json& dry_run) {
  if (!dry_run.is_object() || dry_run.value("operation", "") != "update") return;
  for (const auto& change : dry_run.value("changes", model::Json::array()))
    std::cout << fmt::format("  {}: {} -> {}\n", change.value("path", ""), change_value_text(change, "from"),
                             change_value_text(change, "to"));
  if (!dry_run.value("restartRequired", false)) {
    std::cout << "  restart of Postgres: not needed\n";
    return;
  }
  std::cout << "  restart of Postgres: needed (once applied: pgstack restart CLUSTER)\n";
  for (const auto& reason : dry_run.value("restartReasons", model::Json::array()))
    std::cout << fmt::format("    {}\n", reason.get<std::string>());
}

}  // namespace

void add_apply_command(CLI::App& app, ExitStatus& status) {
  struct Options {
    std::vector<std::string> files;
    bool dry_run = false;
  };
  auto options = std::make_shared<Options>();
  CLI::App* command = app.add_subcommand(
      "apply", "Create or update resources from manifests (validated locally first, then sent to the API)");
  command->add_option("-f,--filename", options->files, "Manifest file (YAML or JSON; - for stdin); repeatable")
      ->required()
      ->type_name("FILE");
  command->add_flag("--dry-run", options->dry_run,
                    "Have the server check every write as a real one and store nothing; print what would change "
                    "and whether Postgres would need a restart (Secrets are not sent)");
  command->footer("The namespace is each document's metadata.namespace (default: default).");
  command->callback([options, command, &status] {
    const ManifestInput input = read_manifests(options->files);
    const std::size_t errors = print_diagnostics(input.validation.diagnostics);
    if (errors > 0) {
      std::cerr << fmt::format("{} error{} found; nothing was applied\n", errors, errors == 1 ? "" : "s");
      status.code = 1;
      return;
    }
    const ApiClient client = api_client_for(*command);
    status.code = 0;
    // Secrets first: the resources after them may refer to them. Their values cannot be compared
    // without revealing them, so an existing Secret is replaced ("configured").
    for (const auto& document : input.secrets) {
      if (options->dry_run) {
        std::cout << fmt::format("secret/{} not sent (dry run: Secrets have no server dry run)\n", document.name());
        continue;
      }
      const std::string ns = document.namespace_name();
      auto created = client.create_secret(ns, document.body);
      if (!created && created.error().code == ErrorCode::kAlreadyExists) {
        auto replaced = client.replace_secret(ns, document.name(), document.body);
        if (replaced) {
          std::cout << fmt::format("secret/{} configured\n", document.name());
          continue;
        }
        created = replaced.error();
      }
      if (!created) {
        status.code =
            report_error("apply", Error{created.error().code, fmt::format("{}: Secret/{}: {}", document.source,
                                                                          document.name(), created.error().message)});
        continue;
      }
      std::cout << fmt::format("secret/{} created\n", document.name());
    }
    for (const auto& document : input.validation.documents) {
      const model::KindInfo* kind = model::find_kind(document.kind());
      if (kind == nullptr) continue;  // validation rejects unknown kinds
      auto outcome = apply_document(client, *kind, document, options->dry_run);
      if (!outcome) {
        // The API names the body "request"; the user knows it by its file.
        std::string message = outcome.error().message;
        for (std::size_t at = message.find("\n  request: "); at != std::string::npos;
             at = message.find("\n  request: ", at + 1))
          message.replace(at + 3, std::string_view("request").size(), document.source);
        const int code = report_error(
            "apply",
            make_error(outcome.error().code, fmt::format("{}: {}: {}", document.source, document.label(), message)));
        if (status.code == 0) status.code = code;
        // Unreachable API: every other document would fail the same way.
        if (outcome.error().code == ErrorCode::kUnavailable) return;
        continue;
      }
      const char* word = outcome->outcome == ApplyOutcome::kCreated      ? "created"
                         : outcome->outcome == ApplyOutcome::kConfigured ? "configured"
                                                                         : "unchanged";
      std::cout << fmt::format("{} {}{}\n", qualified_name(*kind, document.name()), word,
                               options->dry_run ? " (server dry run)" : "");
      print_dry_run_changes(outcome->dry_run);
      std::cout << std::flush;
    }
  });
}

}  // namespace pgstack::cli
