// libFuzzer target: a REST request (method, target, headers, body) through what the controller does
// with it before etcd: path, query and media-type checks, the route's names, and the bodies it decodes
// (manifests, Secrets, a switchover). Nothing may crash or hang, and every problem must be sendable
// (its text valid UTF-8, as the API's JSON needs).
//
// Input: "METHOD TARGET\n", header lines "Name: value\n", an empty line, then the body.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "controller/api_input.h"
#include "model/codec.h"
#include "model/user_secret.h"
#include "model/validator.h"

namespace {

using pgstack::controller::InputProblem;

std::string_view next_line(std::string_view& rest) {
  const auto end = rest.find('\n');
  const std::string_view line = rest.substr(0, end);
  rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
  return line;
}

void expect_sendable(const std::optional<InputProblem>& problem) {
  if (!problem) return;
  if (problem->status < 400 || problem->status > 499) std::abort();
  // nlohmann's dump throws on invalid UTF-8: the API would answer 500 instead of the problem.
  (void)pgstack::model::Json({problem->title, problem->where, problem->message}).dump();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace pgstack;
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  HttpRequest request;
  const std::string_view first = next_line(rest);
  const auto space = first.find(' ');
  request.method = std::string(first.substr(0, space));
  request.target = space == std::string_view::npos ? "/" : std::string(first.substr(space + 1));
  while (!rest.empty()) {
    const std::string_view line = next_line(rest);
    if (line.empty() || line == "\r") break;
    const auto colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string name(line.substr(0, colon));
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    request.headers[name] = std::string(line.substr(colon + 1));
  }
  request.body = std::string(rest);

  std::vector<std::string> segments;
  const auto refused = controller::check_request(request, segments);
  expect_sendable(refused);
  if (refused) return 0;
  for (const auto& segment : segments) {
    if (segment.empty() || segment == "." || segment == "..") std::abort();
  }
  // The routes' names: /api/v1/namespaces/{ns}/secrets/{name}, /apis/{group}/{v}/namespaces/{ns}/{plural}/{name}.
  const bool core = !segments.empty() && segments[0] == "api";
  const std::size_t ns_at = core ? 3 : 4;
  if (segments.size() > ns_at) {
    const std::string* name = segments.size() > ns_at + 2 ? &segments[ns_at + 2] : nullptr;
    expect_sendable(controller::check_route_names(request.method, segments[ns_at], ns_at + 1, name, ns_at + 3));
  }
  const model::LoadResult loaded = model::load_documents(request.body, "request");
  // The API answers with every diagnostic in a JSON problem: each must be text.
  for (const auto& diagnostic : loaded.diagnostics.items()) (void)model::Json(diagnostic.to_string()).dump();
  if (loaded.documents.size() == 1 && !loaded.diagnostics.has_errors()) {
    model::ValidationContext context;
    context.installed_postgres = {{16, "16.4"}};
    context.references_must_exist = true;
    const model::ValidationResult validated = model::validate_documents(loaded.documents, context);
    for (const auto& diagnostic : validated.diagnostics.items()) {
      (void)model::Json({diagnostic.path, diagnostic.message, diagnostic.to_string()}).dump();
    }
  }
  if (loaded.documents.size() == 1) {
    auto secret = model::secret_from_manifest(loaded.documents[0].body, "default");
    if (!secret.ok()) {
      (void)model::Json(secret.error().message).dump();
    } else {
      (void)model::secret_revealed(secret.value(), 1).dump();
    }
  }
  std::string candidate;
  expect_sendable(controller::parse_switchover_body(request.body, candidate));
  return 0;
}
