// What a client sends to the REST API, checked before anything reaches etcd: path segments, the names
// in them, query parameters, the body's media type, and the small bodies read here. Pure (no I/O), so it
// is unit-tested and fuzzed (tests/fuzz/rest_request_fuzzer.cpp) without sockets.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/http_server.h"

namespace pgstack::controller {

// A refusal: the HTTP status, which part of the request and what is expected there.
struct InputProblem {
  int status = 400;
  std::string title;    // "Invalid path", "Invalid query", "Unsupported Media Type", ...
  std::string where;    // "path segment 5 (namespace)", "query parameter reveal", "header Content-Type"
  std::string message;  // what is wrong and what is expected; never more than a short excerpt of the input
};

// The path of `target` (what precedes '?') split at '/', each segment percent-decoded after the split so
// that "%2F" stays inside its segment. Empty segments are dropped; "." and ".." segments and invalid
// percent-encoding are refused.
std::optional<InputProblem> split_path(std::string_view target, std::vector<std::string>& segments);

// The query of `target` decoded ('+' is a space); invalid percent-encoding and a known parameter given
// twice are refused.
std::optional<InputProblem> parse_query(std::string_view target, std::map<std::string, std::string>& query);

// Known parameters must have one of their values (reveal: true, false, 1 or 0); others are ignored.
std::optional<InputProblem> check_query(const std::map<std::string, std::string>& query);

// Kubernetes' DNS-1123 label: [a-z0-9]([-a-z0-9]*[a-z0-9])?, at most 63 characters.
bool is_dns1123_label(std::string_view text);

// The namespace and name segments of a route (`name` null for a collection). Both are DNS-1123 labels;
// a namespace may be "_all" to list every namespace (GET on a collection). `ns_index` is the namespace's
// segment number (from 1), the name being the segment `name_index`.
std::optional<InputProblem> check_route_names(std::string_view method, const std::string& ns, std::size_t ns_index,
                                              const std::string* name, std::size_t name_index);

// A body is JSON or YAML: Content-Type application/json, application/yaml, application/x-yaml,
// text/yaml (parameters such as charset ignored) or none; anything else is 415.
std::optional<InputProblem> check_content_type(const std::map<std::string, std::string>& headers,
                                               std::string_view body);

// What every request goes through before it is routed: its path split into decoded `segments`
// (split_path), its query (parse_query, check_query) and its media type (check_content_type). The
// target as sent is used; `path` only when there is none (a request built in a test).
std::optional<InputProblem> check_request(const HttpRequest& request, std::vector<std::string>& segments);

// The RFC 7807 reply of a refusal, as the API's other problems: `detail` is "<where>: <message>" and the
// one entry of `errors` has path = where.
HttpReply problem_reply(const InputProblem& refused);

// The switchover body: empty or {"candidate": "<member>"} (JSON or YAML, read with the manifest reader
// and its limits).
std::optional<InputProblem> parse_switchover_body(std::string_view body, std::string& candidate);

}  // namespace pgstack::controller
