#include "cli/manifest_input.h"

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <iterator>

#include <fmt/format.h>

#include "common/files.h"
#include "host/host_context.h"
#include "model/codec.h"
#include "model/user_secret.h"

namespace pgstack::cli {

std::vector<std::string> manifest_files_of_directory(std::vector<std::string> names) {
  std::erase_if(names, [](const std::string& name) {
    const std::string extension = std::filesystem::path(name).extension().string();
    return extension != ".yaml" && extension != ".yml" && extension != ".json";
  });
  std::sort(names.begin(), names.end());
  return names;
}

namespace {

// read_file's message starts with the path; the diagnostic names the file itself.
std::string without_path(const std::string& message, const std::string& file) {
  const std::string prefix = file + ": ";
  return message.starts_with(prefix) ? message.substr(prefix.size()) : message;
}

// The files `-f NAME` stands for: NAME, or the manifests directly in the directory NAME.
std::vector<std::string> expand_argument(const std::string& argument, model::Diagnostics& diagnostics) {
  std::error_code error;
  if (argument == "-" || !std::filesystem::is_directory(argument, error)) return {argument};
  std::vector<std::string> names;
  for (std::filesystem::directory_iterator it(argument, error), end; !error && it != end; it.increment(error)) {
    if (!it->is_directory(error)) names.push_back(it->path().filename().string());
  }
  if (error) {
    diagnostics.add({model::Severity::kError, argument, "", "", fmt::format("cannot list: {}", error.message())});
    return {};
  }
  std::vector<std::string> files;
  for (const auto& name : manifest_files_of_directory(std::move(names)))
    files.push_back((std::filesystem::path(argument) / name).string());
  if (files.empty())
    diagnostics.add(
        {model::Severity::kError, argument, "", "", "no documents (no *.yaml, *.yml or *.json in the directory)"});
  return files;
}

}  // namespace

ManifestInput read_manifests(const std::vector<std::string>& arguments) {
  ManifestInput input;
  model::Diagnostics load_diagnostics;
  std::vector<model::Document> documents;
  std::vector<std::string> files;
  for (const auto& argument : arguments) {
    for (auto& file : expand_argument(argument, load_diagnostics)) files.push_back(std::move(file));
  }
  for (const auto& file : files) {
    std::string text;
    if (file == "-") {
      text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
    } else {
      auto content = read_file(file);
      if (!content.ok()) {
        load_diagnostics.add({model::Severity::kError, file, "", "", without_path(content.error().message, file)});
        continue;
      }
      text = std::move(content).value();
    }
    const std::string source = file == "-" ? "<stdin>" : file;
    auto loaded = model::load_documents(text, source);
    // An empty input is most likely the wrong file, not a wish to check nothing.
    if (loaded.documents.empty() && !loaded.diagnostics.has_errors())
      loaded.diagnostics.add({model::Severity::kError, source, "", "", "no documents"});
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
