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

// Reads each file ("-" is standard input), parses and validates all documents together, so that
// references between files are checked.
ManifestInput read_manifests(const std::vector<std::string>& files);

// Prints findings to stderr, one per line; returns the number of errors.
std::size_t print_diagnostics(const model::Diagnostics& diagnostics);

}  // namespace pgstack::cli
