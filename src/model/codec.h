// Manifest text <-> documents. YAML (one or many documents per file) or JSON (an object, an array
// of objects, or a `kind: List` with `items`); JSON is read by the same YAML 1.2 parser.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "model/diagnostics.h"
#include "model/document.h"

namespace pgstack::model {

struct LoadResult {
  std::vector<Document> documents;
  Diagnostics diagnostics;  // syntax errors, documents that are not mappings
};

LoadResult load_documents(std::string_view text, const std::string& source);

// YAML 1.2 core-schema value of a plain (unquoted) scalar: null, bool, integer, float or string.
Json resolve_plain_scalar(const std::string& text);

std::string documents_to_yaml(const std::vector<Document>& documents);
// One document: the object; several: a `kind: List`.
std::string documents_to_json(const std::vector<Document>& documents, int indent = 2);
std::string json_to_yaml(const Json& value);

}  // namespace pgstack::model
