// A manifest document as read from a file: kind, apiVersion, metadata and the rest of the body.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace pgstack::model {

using Json = nlohmann::ordered_json;  // ordered: `validate -o yaml` keeps the user's field order

struct Document {
  std::string source;  // file name as given, or "<stdin>"
  int index = 0;       // 0-based position in the source
  Json body;           // the whole document (apiVersion, kind, metadata, spec, status)

  std::string kind() const;
  std::string name() const;
  std::string namespace_name() const;  // "default" when not set
  // "SGCluster/demo", or "document 2" when kind or name is unusable.
  std::string label() const;
};

}  // namespace pgstack::model
