// Reading manifest files named on the command line and validating them against this host.
#pragma once

#include <string>
#include <vector>

#include "model/validator.h"

namespace pgstack::cli {

struct ManifestInput {
  model::ValidationResult validation;  // documents with defaults, and every finding
  // Kubernetes v1 Secrets among the documents (an SGObjectStorage's credentials), checked locally and
  // kept apart: they are not stackgres.io resources and go to the secrets API.
  std::vector<model::Document> secrets;
};

// Reads each file ("-" is standard input; a directory stands for its manifests, as with kubectl),
// parses and validates all documents together, so that references between files are checked. A file
// that cannot be read or holds no document is an error.
ManifestInput read_manifests(const std::vector<std::string>& arguments);

// Of the names of a directory's entries, the manifests (*.yaml, *.yml, *.json) in the order they are
// read: by name, as `kubectl apply -f DIR` does.
std::vector<std::string> manifest_files_of_directory(std::vector<std::string> names);

// Prints findings to stderr, one per line; returns the number of errors.
std::size_t print_diagnostics(const model::Diagnostics& diagnostics);

}  // namespace pgstack::cli
