// Users' Secrets on the command line: `create secret`'s arguments into a Secret document, and what
// get/describe print of one (key names only: the API never sends values unless asked). Pure.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "cli/output.h"
#include "common/error.h"
#include "model/document.h"

namespace pgstack::cli {

// "secret" and "secrets" (any case): the kind get/describe/delete route to the Secrets API.
bool is_secret_kind(std::string_view kind);

// --from-literal KEY=VALUE and --from-file KEY=PATH (or PATH: the key is the file's name), read with
// `read_file`. Errors name the argument by its key or path, never by its value.
Result<std::map<std::string, std::string>> secret_data_from_arguments(
    const std::vector<std::string>& literals, const std::vector<std::string>& files,
    const std::function<Result<std::string>(const std::string&)>& read_file);

// {"apiVersion":"v1","kind":"Secret","metadata":{"name","namespace"},"stringData":{...}}
model::Json secret_document(std::string_view name, std::string_view namespace_name,
                            const std::map<std::string, std::string>& data);

// `get secrets`: NAME TYPE KEYS (NAMESPACE first with -A), from the API's summaries.
Table secret_table(const std::vector<model::Json>& items, bool with_namespace);
// `describe secret`: name, namespace, type and the key names.
std::string describe_secret(const model::Json& secret);

}  // namespace pgstack::cli
