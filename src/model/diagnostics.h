// Validation findings, each naming the file, the document and the field path, e.g.
//   cluster.yaml: SGCluster/demo spec.instances: expected an integer >= 1, got "three"
#pragma once

#include <string>
#include <vector>

namespace pgstack::model {

enum class Severity {
  kError,     // the document is rejected
  kDeferred,  // a check that needs something not in the input (e.g. a referenced resource)
  kWarning,   // accepted, but likely to fail at run time (e.g. a pool limit above what Postgres takes)
  kNote,      // accepted, but worth knowing (e.g. which installed version a request resolved to)
};

struct Diagnostic {
  Severity severity = Severity::kError;
  std::string source;    // file name
  std::string document;  // "SGCluster/demo" or "document 2"
  std::string path;      // "spec.instances"; empty for the whole document
  std::string message;

  std::string to_string() const;
};

class Diagnostics {
 public:
  void add(Diagnostic diagnostic) { items_.push_back(std::move(diagnostic)); }
  void append(const Diagnostics& other);
  bool has_errors() const;
  std::size_t error_count() const;
  const std::vector<Diagnostic>& items() const { return items_; }

 private:
  std::vector<Diagnostic> items_;
};

}  // namespace pgstack::model
