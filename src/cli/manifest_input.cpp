#include "cli/manifest_input.h"

#include <iostream>
#include <iterator>

#include <fmt/format.h>

#include "common/files.h"
#include "host/host_context.h"
#include "model/codec.h"
#include "model/user_secret.h"

namespace pgstack::cli {

ManifestInput read_manifests(const std::vector<std::string>& files) {
  ManifestInput input;
  model::Diagnostics load_diagnostics;
  std::vector<model::Document> documents;
  for (const auto& file : files) {
    std::string text;
    if (file == "-") {
      text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
    } else {
      auto content = read_file(file);
      if (!content.ok()) {
        load_diagnostics.add({model::Severity::kError, file, "", "", content.error().message});
        continue;
      }
      text = std::move(content).value();
    }
    auto loaded = model::load_documents(text, file == "-" ? "<stdin>" : file);
    load_diagnostics.append(loaded.diagnostics);
    for (auto& document : loaded.documents) documents.push_back(std::move(document));
  }
  // Secrets are checked by the same rules the API applies, and never echoed (their errors name fields only).
  model::Diagnostics secret_diagnostics;
  std::vector<model::Document> resources;
  for (auto& document : documents) {
    if (!(document.body.is_object() && document.body.value("kind", model::Json()) == model::Json("Secret"))) {
      resources.push_back(std::move(document));
      continue;
    }
    if (auto checked = model::secret_from_manifest(document.body, document.namespace_name()); !checked) {
      secret_diagnostics.add({model::Severity::kError, document.source, document.label(), "", checked.error().message});
      continue;
    }
    input.secrets.push_back(std::move(document));
  }
  host::HostValidationContext host_context;
  input.validation = model::validate_documents(resources, host_context.context());
  // Loader findings first: a syntax error explains why later documents are missing.
  model::Diagnostics all = load_diagnostics;
  all.append(secret_diagnostics);
  all.append(input.validation.diagnostics);
  if (!host_context.catalogue_problem().empty())
    all.add({model::Severity::kDeferred, "", "", "",
             fmt::format("Postgres parameter values were not checked: {}", host_context.catalogue_problem())});
  input.validation.diagnostics = all;
  return input;
}

std::size_t print_diagnostics(const model::Diagnostics& diagnostics) {
  for (const auto& diagnostic : diagnostics.items()) std::cerr << diagnostic.to_string() << "\n";
  return diagnostics.error_count();
}

}  // namespace pgstack::cli
